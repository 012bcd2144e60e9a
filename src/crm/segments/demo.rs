//! The demo segment for `concierge seed`: maison's gold and platinum clients, the audience of the seeded
//! draft campaign (`crm::campaigns::ensure_demo_campaign`). Created once and refreshed, so its members are
//! there at once; an existing segment of the same slug is left alone.

use chrono::Utc;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::repo::{self, Kind, New};
use super::{Reason, rule};

pub const SLUG: &str = "winter-audience";

/// The segment's id, created (and refreshed) when the brand has none of that slug.
pub async fn ensure_demo_segment(
    db: &PgPool,
    brand_id: Uuid,
    timeout_ms: u64,
) -> anyhow::Result<(Uuid, bool)> {
    let mut tx = db.begin().await?;
    repo::lock_graph(&mut tx, brand_id).await?;
    if let Some(existing) = repo::list(&mut tx, brand_id)
        .await?
        .into_iter()
        .find(|s| s.slug == SLUG)
    {
        return Ok((existing.id, false));
    }
    let rule = json!({ "attribute": "tier", "op": "in", "value": ["gold", "platinum"] });
    let catalogue = repo::catalogue(&mut tx, brand_id).await?;
    let (node, deps) = rule::parse(&rule, &catalogue)
        .map_err(|errors| anyhow::anyhow!("the demo segment's rule is invalid: {errors:?}"))?;
    let id = Uuid::now_v7();
    let new = New {
        brand_id,
        slug: SLUG,
        name: "Winter collection audience",
        description: Some("Gold and platinum clients: the audience of the seeded winter campaign."),
        kind: Kind::Dynamic,
        rule: Some((&rule, &node, &deps)),
        actor: "seed",
    };
    anyhow::ensure!(
        repo::insert(&mut tx, id, &new).await?,
        "segment {SLUG} exists"
    );
    tx.commit().await?;
    super::refresh_with_dependents(db, brand_id, &[id], Utc::now(), Reason::Refresh, timeout_ms)
        .await?;
    Ok((id, true))
}
