//! The demo campaign for `concierge seed`: maison's "Winter collection" e-mail to the demo segment, left in
//! draft so a marketer launches it (`scripts/demo/13-campaign.sh` does). Created once: an existing campaign
//! of the same name is left alone, whatever its state.

use sqlx::PgPool;
use uuid::Uuid;

use super::repo::{self, Fields};
use crate::crm::consent::Purpose;
use crate::crm::messages::MessageChannel;

pub const NAME: &str = "Winter collection (demo)";

/// Creates the draft when the brand has no campaign of that name; its id when created.
pub async fn ensure_demo_campaign(
    db: &PgPool,
    brand_id: Uuid,
    segment_id: Uuid,
    template_id: Uuid,
) -> anyhow::Result<Option<Uuid>> {
    let mut tx = db.begin().await?;
    repo::count_locked(&mut tx, brand_id).await?;
    // Paged by id (the list's keyset), so a brand with many campaigns is read whole.
    let mut before = None;
    let mut existing = false;
    loop {
        let page = repo::list(&mut tx, brand_id, None, before, 1000).await?;
        existing = existing || page.iter().any(|row| row.name == NAME);
        match page.last() {
            Some(last) if !existing && page.len() == 1000 => before = Some(last.id),
            _ => break,
        }
    }
    if existing {
        return Ok(None);
    }
    let id = Uuid::now_v7();
    let fields = Fields {
        name: NAME,
        segment_id,
        channel: MessageChannel::Email,
        purpose: Purpose::Marketing,
        template_id,
        send_at: None,
        throttle_per_sec: 10.0,
        retry_limit: 3,
    };
    repo::insert(&mut tx, brand_id, id, &fields, "seed").await?;
    tx.commit().await?;
    Ok(Some(id))
}
