//! The trigger of provisioning: Salesforce's `OrderProvisionRequested__e` platform event (published by the
//! approval Flow). Every replica may run this subscriber; each event enqueues [`ProvisionOrder`] at most
//! once, because the enqueue happens in the transaction that sets the order's `provision_requested_at`
//! (only the first delivery finds it empty), together with the durable replay id.

use std::time::Duration;

use opentelemetry::KeyValue;
use tokio::sync::watch;
use tracing::Instrument;

use super::ProvisionOrder;
use super::domain::OrderStatus;
use super::repo;
use crate::integrations::salesforce::replay::store_replay_id;
use crate::integrations::salesforce::{
    CometdSubscriber, PlatformEvent, PlatformEventSubscriber, ReplayFrom,
};
use crate::orders::Orders;
use crate::telemetry;
use crate::{db, jobs};

pub const CHANNEL: &str = "/event/OrderProvisionRequested__e";
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Subscribes until `shutdown` reads `true`. A failure to handle an event resubscribes from the last stored
/// replay id, so no event is lost.
pub async fn subscribe(orders: Orders, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        let mut subscriber = match open(&orders).await {
            Ok(subscriber) => subscriber,
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "order events: cannot subscribe"
                );
                if pause(&mut shutdown).await {
                    return;
                }
                continue;
            }
        };
        loop {
            let events = tokio::select! {
                _ = shutdown.changed() => {
                    subscriber.close().await;
                    return;
                }
                events = subscriber.next_events() => events,
            };
            let events = match events {
                Ok(events) => events,
                Err(error) => {
                    tracing::warn!(%error, "order events: polling failed");
                    if pause(&mut shutdown).await {
                        return;
                    }
                    continue;
                }
            };
            let mut handled = true;
            for event in &events {
                if let Err(error) = handle(&orders, event).await {
                    tracing::error!(
                        replay_id = event.replay_id,
                        error = format!("{error:#}"),
                        "order events: an event could not be handled; resubscribing"
                    );
                    handled = false;
                    break;
                }
            }
            if !handled {
                subscriber.close().await;
                if pause(&mut shutdown).await {
                    return;
                }
                break;
            }
        }
    }
}

/// Resumes after the stored replay id; the first time ever, from every retained event (enqueues are
/// de-duplicated, so replaying old events is harmless, while starting from new ones could miss some).
async fn open(orders: &Orders) -> anyhow::Result<CometdSubscriber> {
    let subscriber =
        CometdSubscriber::resume(orders.salesforce.clone(), CHANNEL, &orders.db).await?;
    if subscriber.replay_from() == ReplayFrom::New {
        return Ok(CometdSubscriber::new(
            orders.salesforce.clone(),
            CHANNEL,
            ReplayFrom::AllRetained,
        )?);
    }
    Ok(subscriber)
}

/// Waits before reconnecting; `true` when shutting down.
async fn pause(shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = shutdown.changed() => true,
        () = tokio::time::sleep(RECONNECT_DELAY) => *shutdown.borrow(),
    }
}

/// One event: the order is marked approved and its job enqueued (first delivery only), and the replay id
/// stored, in one transaction.
/// Each event is the root of a trace (Salesforce carries no trace context): the provisioning job it enqueues,
/// and everything that job does, are in it.
pub async fn handle(orders: &Orders, event: &PlatformEvent) -> anyhow::Result<()> {
    let span = tracing::info_span!(
        "platform_event",
        otel.kind = "consumer",
        otel.name = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        channel = %event.channel,
        replay_id = event.replay_id,
    );
    if telemetry::enabled() {
        span.record("otel.name", format!("{} process", event.channel));
        telemetry::set_attributes(&span, || {
            [
                KeyValue::new("messaging.system", "salesforce"),
                KeyValue::new("messaging.operation.type", "process"),
                KeyValue::new("messaging.destination.name", event.channel.clone()),
                KeyValue::new("messaging.message.id", event.replay_id.to_string()),
            ]
        });
    }
    let transaction = span.in_scope(|| db::transaction_span(&orders.db, "orders approve"));
    let result = approve(orders, event)
        .instrument(transaction)
        .instrument(span.clone())
        .await;
    if result.is_err() {
        span.record("otel.status_code", "error");
    }
    result
}

async fn approve(orders: &Orders, event: &PlatformEvent) -> anyhow::Result<()> {
    let salesforce_order_id = event
        .payload
        .get("OrderId__c")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    let mut tx = orders.db.begin().await?;
    let claimed = repo::claim_provision_request(&mut tx, salesforce_order_id).await?;
    match claimed {
        Some(order_id) => {
            repo::set_status(&mut tx, order_id, OrderStatus::Approved, None).await?;
            jobs::enqueue(&mut tx, &orders.jobs, &ProvisionOrder { order_id }, None).await?;
            tracing::info!(%order_id, salesforce_order_id, "order approved; provisioning enqueued");
        }
        None => {
            let known = repo::find_by_salesforce_id(&mut tx, salesforce_order_id)
                .await?
                .is_some();
            if known {
                tracing::info!(
                    salesforce_order_id,
                    "order events: provisioning already requested"
                );
            } else {
                tracing::warn!(
                    salesforce_order_id,
                    "order events: not a portal order; ignored"
                );
            }
        }
    }
    store_replay_id(&mut tx, &event.channel, event.replay_id).await?;
    tx.commit().await?;
    Ok(())
}
