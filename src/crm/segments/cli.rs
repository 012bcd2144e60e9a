//! `concierge segments refresh`: full refreshes from the command line, with a progress bar over the
//! segments (each one a transaction, in dependency order).

use std::collections::HashSet;
use std::time::Instant;

use chrono::Utc;
use uuid::Uuid;

use super::membership::{self, Reason};
use super::repo::{self, Kind};
use crate::config::Settings;
use crate::db;

#[derive(Debug, clap::Args)]
pub struct RefreshArgs {
    /// The brand's slug.
    #[arg(long)]
    pub brand: String,
    /// Only this segment (by slug) and the segments naming it; every dynamic segment when absent.
    #[arg(long)]
    pub segment: Option<String>,
}

pub async fn refresh(settings: &Settings, args: RefreshArgs) -> anyhow::Result<()> {
    let pool = db::pool(&settings.database)?;
    let mut conn = pool.acquire().await?;
    let brand_id = sqlx::query_scalar!("SELECT id FROM brands WHERE slug = $1", args.brand)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no brand `{}`", args.brand))?;
    let catalogue = repo::catalogue(&mut conn, brand_id).await?;
    let graph = repo::graph(&mut conn, brand_id).await?;
    let roots: Vec<Uuid> = match &args.segment {
        Some(slug) => vec![
            *catalogue
                .segments
                .get(slug)
                .ok_or_else(|| anyhow::anyhow!("no segment `{slug}` in `{}`", args.brand))?,
        ],
        None => graph.keys().copied().collect(),
    };
    let include: HashSet<Uuid> = repo::with_dependents(&graph, &roots);
    let order = repo::dependency_order(&graph, &include);
    drop(conn);
    let slugs: std::collections::HashMap<Uuid, String> = catalogue
        .segments
        .into_iter()
        .map(|(slug, id)| (id, slug))
        .collect();
    let progress = indicatif::ProgressBar::new(order.len() as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} segments {msg}",
        )?
        .progress_chars("=> "),
    );
    let started = Instant::now();
    let (mut entered, mut exited) = (0, 0);
    for id in order {
        let slug = slugs.get(&id).cloned().unwrap_or_else(|| id.to_string());
        progress.set_message(slug.clone());
        let mut tx = pool.begin().await?;
        if let Some(segment) = repo::stored(&mut tx, brand_id, id).await?
            && segment.kind == Kind::Dynamic
        {
            let (_, report) = membership::refresh(
                &mut tx,
                brand_id,
                &segment,
                Utc::now(),
                Reason::Refresh,
                settings.crm.segments.refresh_timeout_ms,
            )
            .await?;
            tx.commit().await?;
            entered += report.entered;
            exited += report.exited;
            progress.println(format!(
                "{slug}: {} entered, {} exited in {} ms",
                report.entered, report.exited, report.took_ms
            ));
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    eprintln!(
        "{} segments refreshed: {entered} entered, {exited} exited in {:.1}s",
        progress.length().unwrap_or(0),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
