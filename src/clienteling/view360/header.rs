//! The header: who the client is (the CRM profile), their tier, preferences, important dates and advisors.

use super::gate::Gate;
use super::model::{Advisor, Header};
use super::parts::{PageDb, PartError};
use crate::clienteling::repo;
use crate::crm::profile;

pub async fn fetch(db: &PageDb<'_>, pool: &sqlx::PgPool, gate: &Gate) -> Result<Header, PartError> {
    let brand_id = gate.scope.brand_id;
    let (profile, assignments) = {
        let mut part = db.conn().await?;
        let profile = profile::load(&mut part.conn, brand_id, gate.client_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the client's profile is gone"))?;
        let assignments =
            repo::assignments(&mut part.conn, brand_id, gate.client_id, false).await?;
        (profile, assignments)
        // The connection goes back here: the names below take their own.
    };
    let mut advisors = Vec::with_capacity(assignments.len());
    for assignment in assignments {
        let name = crate::auth::account(pool, assignment.advisor_id)
            .await?
            .map(|account| {
                format!("{} {}", account.first_name, account.last_name)
                    .trim()
                    .to_owned()
            });
        advisors.push(Advisor {
            advisor_id: assignment.advisor_id,
            role: assignment.role,
            name,
            assigned_at: assignment.assigned_at,
        });
    }
    let attributes = profile.attributes;
    Ok(Header {
        profile_id: profile.id,
        store: gate.layer.store_code.clone(),
        first_name: attributes.first_name,
        last_name: attributes.last_name,
        email: attributes.email,
        phone: attributes.phone,
        birthday: attributes.birthday,
        locale: attributes.locale,
        country: attributes.country,
        city: attributes.city,
        tier: attributes.tier,
        tags: attributes.tags.unwrap_or_default(),
        preferences: serde_json::from_value(gate.layer.preferences.clone()).unwrap_or_default(),
        important_dates: serde_json::from_value(gate.layer.important_dates.clone())
            .unwrap_or_default(),
        advisors,
        client_since: gate.layer.created_at,
    })
}
