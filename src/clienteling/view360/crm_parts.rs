//! The parts the CRM answers through its published functions: scores (with their reasons) and consent
//! (every channel × purpose, with the rule `crm::may_contact` applies).

use std::collections::HashMap;

use chrono::Utc;

use super::gate::Gate;
use super::model::{ConsentData, ConsentEntry};
use super::parts::{PageDb, PartError};
use crate::crm::consent::{self, Channel, Purpose};
use crate::crm::profile;
use crate::crm::scores::{Scores, store};

pub async fn scores(db: &PageDb<'_>, gate: &Gate) -> Result<Scores, PartError> {
    let mut part = db.conn().await?;
    let brand_id = gate.scope.brand_id;
    let Some(live) = profile::current_id(&mut part.conn, brand_id, gate.client_id).await? else {
        return Ok(Scores::default());
    };
    Ok(store::current(&mut part.conn, brand_id, live).await?)
}

pub async fn consent(db: &PageDb<'_>, gate: &Gate) -> Result<ConsentData, PartError> {
    let mut part = db.conn().await?;
    let brand_id = gate.scope.brand_id;
    let records = match profile::current_id(&mut part.conn, brand_id, gate.client_id).await? {
        Some(live) => consent::records(&mut part.conn, brand_id, live).await?,
        None => Vec::new(),
    };
    let by_pair: HashMap<(Channel, Purpose), consent::Record> = records
        .into_iter()
        .map(|(channel, purpose, record)| ((channel, purpose), record))
        .collect();
    let now = Utc::now();
    let mut items = Vec::with_capacity(Channel::ALL.len() * Purpose::ALL.len());
    for channel in Channel::ALL {
        for purpose in Purpose::ALL {
            let record = by_pair.get(&(*channel, *purpose));
            let status = consent::effective(record, now);
            let (may_contact, reason) = consent::decide(status, *purpose);
            items.push(ConsentEntry {
                channel: *channel,
                purpose: *purpose,
                status,
                may_contact,
                reason,
                source: record.map(|r| r.source.clone()),
                captured_at: record.map(|r| r.captured_at),
                expires_at: record.and_then(|r| r.expires_at),
            });
        }
    }
    Ok(ConsentData { items })
}
