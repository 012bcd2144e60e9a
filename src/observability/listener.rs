//! `/metrics` on a listener of its own, apart from the public API (as Atuin and most Prometheus exporters
//! do): the API port never shows internals to the internet, and the metrics port can stay on loopback or a
//! private network. Gauges that need a query are refreshed by [`refresh_gauges`] on a timer, so a scrape
//! (however frequent, from however many scrapers) only renders what was last recorded.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::cache::Cache;

/// Serves `GET /metrics` and nothing else on `listener`.
pub fn metrics_server(listener: TcpListener, handle: PrometheusHandle) -> anyhow::Result<Server> {
    let handle = web::Data::new(handle);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(handle.clone())
            .route("/metrics", web::get().to(render))
            .default_service(web::to(HttpResponse::NotFound))
    })
    .listen(listener)?
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1);
    Ok(server.run())
}

async fn render(handle: web::Data<PrometheusHandle>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle.render())
}

/// Records the pool gauges, whether Redis answers, the job queue depths and the outbox backlog every
/// `every`, starting now, until `stop` turns true. A refresh that fails or hangs keeps the last values.
pub async fn refresh_gauges(
    pool: PgPool,
    cache: Cache,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        let idle = pool.num_idle() as f64;
        metrics::gauge!("db_pool_connections", "state" => "idle").set(idle);
        metrics::gauge!("db_pool_connections", "state" => "in_use")
            .set(f64::from(pool.size()) - idle);
        metrics::gauge!("db_pool_connections", "state" => "max")
            .set(f64::from(pool.options().get_max_connections()));
        cache.record_pool_metrics();
        // The ping has the cache's own deadline (`redis.timeout_ms`), so a hung Redis cannot stall the refresh.
        let redis_up = cache.ping().await.is_ok();
        metrics::gauge!("redis_up").set(if redis_up { 1.0 } else { 0.0 });
        let queries = async {
            crate::jobs::record_queue_depth(&pool).await?;
            crate::outbox::record_pending_gauge(&pool).await
        };
        match tokio::time::timeout(every.min(Duration::from_secs(10)), queries).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::debug!(error = %format!("{error:#}"), "metrics: queue figures unavailable")
            }
            Err(_) => tracing::debug!("metrics: queue figures timed out"),
        }
    }
}
