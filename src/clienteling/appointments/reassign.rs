//! Reassigning a client moves their upcoming appointments with the previous primary advisor to the new one.
//! An appointment the new advisor cannot take (they are booked then: the exclusion constraint refuses it,
//! tried under a savepoint) stays with the previous advisor, and a `clienteling.appointment.kept` event names
//! it, so a manager can settle it by hand; the reassignment itself goes through.

use futures::future::BoxFuture;
use serde_json::json;
use sqlx::{Acquire, PgConnection};

use super::model::Appointment;
use super::repo;
use super::rules;
use crate::clienteling::assign::{OnReassign, Reassignment};

pub struct MoveAppointments;

impl OnReassign for MoveAppointments {
    fn name(&self) -> &'static str {
        "appointments"
    }

    fn moved<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        change: &'a Reassignment,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(move_upcoming(conn, change))
    }
}

async fn move_upcoming(conn: &mut PgConnection, change: &Reassignment) -> anyhow::Result<()> {
    let Some(from) = change.from else {
        return Ok(());
    };
    let upcoming = repo::upcoming_of(conn, change.brand_id, change.client_id, from).await?;
    if upcoming.is_empty() {
        return Ok(());
    }
    let brand = crate::brands::slug_of(&mut *conn, change.brand_id)
        .await?
        .unwrap_or_default();
    let actor = "system:reassignment";
    for current in upcoming {
        let next = Appointment {
            advisor_id: change.to,
            ..current.clone()
        };
        let mut savepoint = conn.begin().await?;
        match repo::save(&mut savepoint, &next).await {
            Ok(saved) => {
                savepoint.commit().await?;
                let details = json!({"reason": "reassigned", "previous": {"advisor_id": from}});
                rules::record(conn, "rescheduled", &brand, &saved, actor, details)
                    .await
                    .map_err(|error| anyhow::anyhow!("{error}"))?;
            }
            Err(error) if repo::is_double_booking(&error) => {
                savepoint.rollback().await?;
                tracing::warn!(appointment = %current.id, to = %change.to, "appointment kept with the previous advisor: the new one is booked then");
                let details = json!({"reason": "new_advisor_booked", "new_advisor_id": change.to});
                rules::record(conn, "kept", &brand, &current, actor, details)
                    .await
                    .map_err(|error| anyhow::anyhow!("{error}"))?;
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}
