//! Open tasks: the client's tasks not yet done or cancelled that the caller reaches, read through the tasks
//! context.

use super::gate::Gate;
use super::model::OpenTasks;
use super::parts::{PageDb, PartError};
use crate::clienteling::tasks;

/// At most this many are shown.
const OPEN: i64 = 20;

pub async fn fetch(db: &PageDb<'_>, gate: &Gate) -> Result<OpenTasks, PartError> {
    let mut part = db.conn().await?;
    let items = tasks::open_visible(&mut part.conn, &gate.scope, &gate.clients(), OPEN).await?;
    Ok(OpenTasks { items })
}
