//! `loadgen`: constant-rate load for the benchmarks, over HTTP or straight to PostgreSQL (the bare query
//! an endpoint runs, at the same rate and measured the same way, so the two can be compared).
//!
//! ```text
//! loadgen http --rate 1000 --duration 15 --url http://127.0.0.1:18080 --targets paths.txt -H 'authorization: Bearer …'
//! loadgen sql  --rate 1000 --duration 15 --database-url postgres://… --query-file lookup.sql --params ids.txt
//! ```
//! A targets file has one request per line: a path, optionally a tab and a JSON body (sent with
//! `content-type: application/json`). A params file has one line per iteration, tab-separated text values
//! bound as `$1, $2, …` (cast them in the SQL: `$1::uuid`). Lines are used in order and cycled. The last
//! line printed is `RESULT key=value …` (milliseconds) for scripts.

mod schedule;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use sqlx::postgres::PgPoolOptions;

use schedule::{Outcome, Plan, Stats};

#[derive(Parser)]
#[command(
    name = "loadgen",
    about = "Constant-rate load, latency measured from each request's scheduled time"
)]
struct Cli {
    #[command(subcommand)]
    target: Target,
}

#[derive(Subcommand)]
enum Target {
    /// HTTP requests to `--url` + each line of `--targets`.
    Http(HttpArgs),
    /// The statements of `--query-file` (separated by lines holding only `;;`) on one connection per
    /// iteration, each bound to a line of `--params`.
    Sql(SqlArgs),
}

#[derive(Args)]
struct Common {
    /// Requests (or iterations) per second.
    #[arg(long)]
    rate: f64,
    /// Seconds recorded.
    #[arg(long, default_value_t = 15.0)]
    duration: f64,
    /// Seconds sent first and not recorded (connections, caches).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    #[arg(long, default_value_t = 512)]
    max_in_flight: usize,
    /// Runtime threads (1 leaves the most CPU to the target on a small machine).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Names the run in the RESULT line.
    #[arg(long, default_value = "run")]
    label: String,
}

#[derive(Args)]
struct HttpArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long)]
    url: String,
    #[arg(long)]
    targets: PathBuf,
    #[arg(long, default_value = "GET")]
    method: String,
    /// `name: value`, repeatable.
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
}

#[derive(Args)]
struct SqlArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, env = "LOADGEN_DATABASE_URL")]
    database_url: String,
    #[arg(long)]
    query_file: PathBuf,
    #[arg(long)]
    params: PathBuf,
    #[arg(long, default_value_t = 8)]
    connections: u32,
    /// Run each iteration's statements in one transaction.
    #[arg(long)]
    transaction: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let common = match &cli.target {
        Target::Http(args) => &args.common,
        Target::Sql(args) => &args.common,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(common.threads.max(1))
        .enable_all()
        .build()?;
    let plan = Plan {
        rate: common.rate,
        duration: Duration::from_secs_f64(common.duration),
        warmup: Duration::from_secs_f64(common.warmup),
        max_in_flight: common.max_in_flight,
    };
    let label = common.label.clone();
    let stats = runtime.block_on(async {
        match cli.target {
            Target::Http(args) => http(&plan, args).await,
            Target::Sql(args) => sql(&plan, args).await,
        }
    })?;
    print(&label, &plan, &stats);
    Ok(())
}

fn lines(path: &PathBuf) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let lines: Vec<String> = text
        .lines()
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    anyhow::ensure!(!lines.is_empty(), "{} is empty", path.display());
    Ok(lines)
}

async fn http(plan: &Plan, args: HttpArgs) -> anyhow::Result<Stats> {
    let mut headers = reqwest::header::HeaderMap::new();
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .with_context(|| format!("header `{header}` is not `name: value`"))?;
        headers.insert(
            reqwest::header::HeaderName::from_bytes(name.trim().as_bytes())?,
            reqwest::header::HeaderValue::from_str(value.trim())?,
        );
    }
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .pool_max_idle_per_host(plan.max_in_flight)
        .timeout(Duration::from_secs(30))
        .build()?;
    let method = reqwest::Method::from_bytes(args.method.to_uppercase().as_bytes())?;
    let base = args.url.trim_end_matches('/').to_owned();
    let targets: Arc<Vec<(String, Option<String>)>> = Arc::new(
        lines(&args.targets)?
            .into_iter()
            .map(|line| match line.split_once('\t') {
                Some((path, body)) => (format!("{base}{path}"), Some(body.to_owned())),
                None => (format!("{base}{line}"), None),
            })
            .collect(),
    );
    schedule::run(plan, move |i| {
        let client = client.clone();
        let method = method.clone();
        let targets = targets.clone();
        async move {
            let (url, body) = &targets[(i % targets.len() as u64) as usize];
            let mut request = client.request(method, url);
            if let Some(body) = body {
                request = request
                    .header("content-type", "application/json")
                    .body(body.clone());
            }
            match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    // Read the whole body: the answer is not there until its last byte is.
                    let read = response.bytes().await;
                    Outcome {
                        label: status.as_u16().to_string(),
                        ok: status.is_success() && read.is_ok(),
                    }
                }
                Err(error) => Outcome {
                    label: format!("error: {}", error_kind(&error)),
                    ok: false,
                },
            }
        }
    })
    .await
}

fn error_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else {
        "other"
    }
}

async fn sql(plan: &Plan, args: SqlArgs) -> anyhow::Result<Stats> {
    let text = std::fs::read_to_string(&args.query_file)
        .with_context(|| format!("reading {}", args.query_file.display()))?;
    let statements: Arc<Vec<(String, usize)>> = Arc::new(
        text.split("\n;;\n")
            .map(|statement| {
                // Comments out, so a `$n` they mention does not count.
                statement
                    .lines()
                    .filter(|line| !line.trim_start().starts_with("--"))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .map(|statement| statement.trim().to_owned())
            .filter(|statement| !statement.is_empty())
            .map(|statement| {
                let highest = highest_parameter(&statement);
                (statement, highest)
            })
            .collect(),
    );
    let params: Arc<Vec<Vec<String>>> = Arc::new(
        lines(&args.params)?
            .into_iter()
            .map(|line| line.split('\t').map(str::to_owned).collect())
            .collect(),
    );
    let pool = PgPoolOptions::new()
        .max_connections(args.connections)
        .min_connections(args.connections)
        .connect(&args.database_url)
        .await?;
    let transaction = args.transaction;
    schedule::run(plan, move |i| {
        let pool = pool.clone();
        let statements = statements.clone();
        let params = params.clone();
        async move {
            let values = &params[(i % params.len() as u64) as usize];
            match iteration(&pool, &statements, values, transaction).await {
                Ok(()) => Outcome {
                    label: "ok".to_owned(),
                    ok: true,
                },
                Err(error) => Outcome {
                    label: format!("error: {error}"),
                    ok: false,
                },
            }
        }
    })
    .await
}

async fn iteration(
    pool: &sqlx::PgPool,
    statements: &[(String, usize)],
    values: &[String],
    transaction: bool,
) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    if transaction {
        sqlx::raw_sql("BEGIN").execute(&mut *conn).await?;
    }
    for (statement, highest) in statements {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(statement.as_str()));
        for value in values.iter().take(*highest) {
            query = query.bind(value.as_str());
        }
        query.fetch_all(&mut *conn).await?;
    }
    if transaction {
        sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
    }
    Ok(())
}

/// The highest `$n` a statement uses: it is bound to the first `n` values of its line.
fn highest_parameter(statement: &str) -> usize {
    let bytes = statement.as_bytes();
    let mut highest = 0;
    for (at, byte) in bytes.iter().enumerate() {
        if *byte == b'$' {
            let digits: String = bytes[at + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .map(|b| char::from(*b))
                .collect();
            highest = highest.max(digits.parse().unwrap_or(0));
        }
    }
    highest
}

fn print(label: &str, plan: &Plan, stats: &Stats) {
    let ms = |h: &hdrhistogram::Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let rate = stats.recorded as f64 / stats.elapsed.as_secs_f64().max(1e-9);
    eprintln!(
        "{label}: {} requests at {:.0}/s scheduled ({rate:.0}/s achieved), {} ok",
        stats.recorded, plan.rate, stats.ok
    );
    for (outcome, count) in &stats.outcomes {
        eprintln!("  {outcome}: {count}");
    }
    for (name, h) in [
        ("latency (from scheduled time)", &stats.latency),
        ("service time (from actual send)", &stats.service),
    ] {
        eprintln!(
            "  {name}: p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
            ms(h, 0.5),
            ms(h, 0.9),
            ms(h, 0.99),
            ms(h, 0.999),
            h.max() as f64 / 1000.0
        );
    }
    eprintln!(
        "  sender lag max {:.3} ms",
        stats.max_send_lag.as_secs_f64() * 1000.0
    );
    println!(
        "RESULT label={label} requests={} ok={} rate={rate:.1} p50={:.3} p90={:.3} p99={:.3} p999={:.3} max={:.3} \
         service_p50={:.3} service_p99={:.3}",
        stats.recorded,
        stats.ok,
        ms(&stats.latency, 0.5),
        ms(&stats.latency, 0.9),
        ms(&stats.latency, 0.99),
        ms(&stats.latency, 0.999),
        stats.latency.max() as f64 / 1000.0,
        ms(&stats.service, 0.5),
        ms(&stats.service, 0.99),
    );
}

#[cfg(test)]
mod tests {
    use super::highest_parameter;

    #[test]
    fn statements_are_bound_to_as_many_values_as_their_highest_parameter() {
        assert_eq!(highest_parameter("SELECT 1"), 0);
        assert_eq!(
            highest_parameter("SELECT $1::uuid, $12, $3 FROM t WHERE a = $2"),
            12
        );
        assert_eq!(highest_parameter("SELECT '$' || $1"), 1);
    }
}
