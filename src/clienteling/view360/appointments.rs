//! Upcoming appointments: the client's booked, not yet started, that the caller can see.

use super::gate::Gate;
use super::model::UpcomingAppointments;
use super::parts::{PageDb, PartError};
use super::repo;

/// At most this many are shown.
const UPCOMING: i64 = 10;

pub async fn fetch(db: &PageDb<'_>, gate: &Gate) -> Result<UpcomingAppointments, PartError> {
    let mut part = db.conn().await?;
    let items =
        repo::upcoming_appointments(&mut part.conn, &gate.scope, gate.client_id, UPCOMING).await?;
    Ok(UpcomingAppointments { items })
}
