//! Erasing a person from the CRM (a data subject's right to erasure): the profile and every profile merged
//! into it (the whole person) are emptied in one transaction, and their identifiers go on the suppression
//! list (`suppression`) so that nothing can recreate or re-link them.
//!
//! What happens, and what is kept (see `docs/erasure.md`):
//! - profile rows stay (activities, messages, consents and memberships point at them), with the personal
//!   attributes cleared: names, email, phone, birthday, city, tags and **every** custom attribute (a brand's
//!   custom attributes are free-form, so none can be assumed impersonal), and their per-attribute times.
//!   Kept: locale, country and tier (coarse, shared by thousands), counters and the lifetime value.
//!   `erased_at` marks them: segments never count them again and links refuse them;
//! - identifiers are deleted, their keyed digests kept on the suppression list — with the email and phone
//!   attributes' values and the identifiers the merge ledger names, which may differ from today's;
//! - activities are all kept (type, time, source: what aggregates, segments and reports count), their
//!   properties reduced to [`KEPT_PROPERTIES`] (amounts, currencies, ids of our own records): a property
//!   of any other name may carry what the sender knew of the person, so it goes. None is deleted;
//! - consent: every current consent becomes `denied` (source `erasure`), recorded in the history with cause
//!   `erasure`; the history keeps what was consented when, without the actor;
//! - messages: address, subject and body cleared (the body was rendered with the person's name); ones not
//!   yet sent are suppressed (`erased`), campaign recipients still queued cancelled, running journey
//!   enrollments exited;
//! - segments: the person exits each (history row with reason `erasure`, kept: it holds only ids);
//! - the merge ledger: snapshots scrubbed of personal values (the profile rows, identifiers' values,
//!   personal attributes' decisions, consent actors) and the merge marked erased: it can no longer be
//!   undone (an unmerge would restore what was scrubbed);
//! - `crm.profile.erased` in the outbox.
//!
//! Running it again finds nothing to do and answers `already_done`: a crash after the commit is harmless,
//! one before it left nothing written.

use std::collections::BTreeSet;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::identifiers::{EMAIL, Identifier, PHONE, PORTAL_USER, SALESFORCE_CONTACT, WHMCS_CLIENT};
use super::resolve::{installed_policy, lock_identifiers, outbox_error};
use super::segments::{Reason, membership, repo as segments_repo};
use super::suppression;
use crate::types::{Receipt, ReceiptStatus};

/// Activity properties an erasure keeps: amounts, currencies and references to our own records. Every
/// other property is dropped.
pub const KEPT_PROPERTIES: &[&str] = &[
    "amount",
    "currency",
    "quantity",
    "order_id",
    "invoice_id",
    "service_ids",
    "sku",
    "product_id",
    "category",
    "channel",
    "purpose",
    "status",
    "campaign_id",
    "journey_id",
    "segment_id",
    "message_id",
    "template_id",
    "store",
    "store_code",
    "interaction_id",
    "appointment_id",
    "task_id",
];

/// Profile columns (and ledger keys) that hold personal data.
const PERSONAL: &[&str] = &[
    "first_name",
    "last_name",
    "email",
    "phone",
    "birthday",
    "city",
    "custom",
    "attribute_times",
    "tags",
    "actor",
];

/// What the other erasure steps need of a person, read before the CRM forgets it: the profiles (the
/// clienteling layer is keyed by them) and the identifiers that name the person in Salesforce, WHMCS, the
/// messaging service and the portal. A privacy request keeps these until its provider steps are done.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    /// The live profile.
    pub profile_id: Uuid,
    /// It and every profile merged into it.
    pub profiles: Vec<Uuid>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub salesforce_contacts: Vec<String>,
    pub whmcs_clients: Vec<i64>,
    pub portal_users: Vec<Uuid>,
}

#[derive(Debug, Clone)]
pub struct Erased {
    pub receipt: Receipt,
    pub profile_id: Uuid,
    pub profiles: Vec<Uuid>,
    /// Digests put on the suppression list by this run.
    pub suppressed: u64,
}

/// The person's profiles: the live one `profile_id` leads to, then every profile merged into it, in id
/// order. `None` when the profile is not the brand's.
pub async fn person(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
) -> Result<Option<(Uuid, Vec<Uuid>)>, sqlx::Error> {
    let Some(live) = super::profile::current_id(conn, brand_id, profile_id).await? else {
        return Ok(None);
    };
    let profiles = sqlx::query_scalar!(
        r#"WITH RECURSIVE person (id, depth) AS (
               SELECT id, 0 FROM crm_profiles WHERE brand_id = $1 AND id = $2
               UNION ALL
               SELECT p.id, person.depth + 1 FROM crm_profiles p JOIN person ON p.merged_into = person.id
               WHERE p.brand_id = $1 AND person.depth < 100
           )
           SELECT id AS "id!" FROM person ORDER BY id"#,
        brand_id,
        live
    )
    .fetch_all(conn)
    .await?;
    Ok(Some((live, profiles)))
}

/// What the provider and portal steps need (see [`Targets`]); `None` when the profile is not the brand's.
pub async fn targets(
    db: &PgPool,
    brand_id: Uuid,
    profile_id: Uuid,
) -> Result<Option<Targets>, sqlx::Error> {
    let mut conn = db.acquire().await?;
    let Some((live, profiles)) = person(&mut conn, brand_id, profile_id).await? else {
        return Ok(None);
    };
    let identifiers = held(&mut conn, brand_id, &profiles).await?;
    let linked = linked_accounts(&mut conn, brand_id, &profiles).await?;
    let mut targets = Targets {
        profile_id: live,
        profiles,
        ..Targets::default()
    };
    for identifier in identifiers
        .into_iter()
        .chain(attribute_identifiers(&mut conn, brand_id, &targets.profiles).await?)
    {
        match identifier.kind.as_str() {
            EMAIL => targets.emails.push(identifier.value),
            PHONE => targets.phones.push(identifier.value),
            _ => {}
        }
    }
    for identifier in linked {
        match identifier.kind.as_str() {
            SALESFORCE_CONTACT => targets.salesforce_contacts.push(identifier.value),
            WHMCS_CLIENT => targets
                .whmcs_clients
                .extend(identifier.value.parse::<i64>().ok()),
            PORTAL_USER => targets
                .portal_users
                .extend(identifier.value.parse::<Uuid>().ok()),
            _ => {}
        }
    }
    for list in [
        &mut targets.emails,
        &mut targets.phones,
        &mut targets.salesforce_contacts,
    ] {
        list.sort();
        list.dedup();
    }
    targets.whmcs_clients.sort();
    targets.whmcs_clients.dedup();
    targets.portal_users.sort();
    targets.portal_users.dedup();
    Ok(Some(targets))
}

/// Erases the person `profile_id` belongs to (see the module's documentation). `None` when the profile is
/// not the brand's. `actor` is recorded in the outbox event.
pub async fn erase_profile(
    db: &PgPool,
    brand_id: Uuid,
    profile_id: Uuid,
    actor: &str,
) -> anyhow::Result<Option<Erased>> {
    let policy = installed_policy()?;
    let mut attempts = 0;
    let (mut tx, live, profiles, already) = loop {
        attempts += 1;
        let mut tx = db.begin().await?;
        let Some((live, profiles)) = person(&mut tx, brand_id, profile_id).await? else {
            return Ok(None);
        };
        // The identifiers' locks before the profiles', the order resolution takes them in: a resolution of
        // one of them waits for this erasure and then finds it suppressed.
        let identifiers = held(&mut tx, brand_id, &profiles).await?;
        lock_identifiers(&mut tx, brand_id, &identifiers).await?;
        let before = sqlx::query!(
            "SELECT id, erased_at FROM crm_profiles WHERE brand_id = $1 AND id = ANY($2)
             ORDER BY id FOR NO KEY UPDATE",
            brand_id,
            &profiles
        )
        .fetch_all(&mut *tx)
        .await?;
        let already = !before.is_empty() && before.iter().all(|row| row.erased_at.is_some());
        // A merge that committed while this waited for the locks changed who the person is: the live
        // profile was absorbed, or another profile joined it. Read again under the locks and start over
        // with the person as they now are, or a profile of theirs would escape the erasure.
        if person(&mut tx, brand_id, profile_id).await? == Some((live, profiles.clone())) {
            break (tx, live, profiles, already);
        }
        tx.rollback().await?;
        if attempts >= 5 {
            anyhow::bail!("the person kept being merged while being erased; retried later");
        }
    };
    // Read again under the locks: a resolution that held an identifier's lock may have attached it since.
    let mut identifiers: BTreeSet<Identifier> = held(&mut tx, brand_id, &profiles)
        .await?
        .into_iter()
        .collect();
    identifiers.extend(attribute_identifiers(&mut tx, brand_id, &profiles).await?);
    let merges = merges_over(&mut tx, brand_id, &profiles).await?;
    for merge in &merges {
        identifiers.extend(ledger_identifiers(merge));
    }
    let identifiers: Vec<Identifier> = identifiers.into_iter().collect();
    let suppressed =
        suppression::suppress(&mut tx, policy.suppression(), brand_id, live, &identifiers).await?;
    let removed = sqlx::query!(
        "DELETE FROM crm_identifiers WHERE brand_id = $1 AND profile_id = ANY($2)",
        brand_id,
        &profiles
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();

    sqlx::query!(
        "UPDATE crm_profiles SET first_name = NULL, last_name = NULL, email = NULL, phone = NULL,
                birthday = NULL, city = NULL, tags = '{}', custom = '{}', attribute_times = '{}',
                erased_at = coalesce(erased_at, now()), updated_at = now()
         WHERE brand_id = $1 AND id = ANY($2)",
        brand_id,
        &profiles
    )
    .execute(&mut *tx)
    .await?;
    let kept: Vec<String> = KEPT_PROPERTIES.iter().map(|k| (*k).to_owned()).collect();
    sqlx::query!(
        "UPDATE crm_activities a SET properties = (
             SELECT coalesce(jsonb_object_agg(p.key, p.value), '{}'::jsonb)
             FROM jsonb_each(a.properties) AS p WHERE p.key = ANY($3))
         WHERE a.brand_id = $1 AND a.profile_id = ANY($2)
           AND EXISTS (SELECT 1 FROM jsonb_object_keys(a.properties) AS k WHERE k <> ALL($3))",
        brand_id,
        &profiles,
        &kept
    )
    .execute(&mut *tx)
    .await?;
    withdraw_consents(&mut tx, brand_id, &profiles).await?;
    forget_messages(&mut tx, brand_id, &profiles).await?;
    exit_segments(&mut tx, brand_id, &profiles).await?;
    for merge in merges {
        scrub_merge(&mut tx, brand_id, merge).await?;
    }

    let status = if already && suppressed == 0 && removed == 0 {
        ReceiptStatus::AlreadyDone
    } else {
        crate::outbox::record(
            &mut tx,
            crate::outbox::NewEvent {
                topic: "crm.profile.erased",
                aggregate_type: "crm_profile",
                aggregate_id: live.to_string(),
                payload: json!({
                    "brand_id": brand_id,
                    "profile_id": live,
                    "profiles": profiles,
                    "identifiers_suppressed": suppressed,
                    "actor": actor,
                }),
            },
        )
        .await
        .map_err(outbox_error)?;
        ReceiptStatus::Done
    };
    tx.commit().await?;
    Ok(Some(Erased {
        receipt: Receipt::new("crm", live.to_string(), status)
            .with_detail(format!("{} profiles erased", profiles.len())),
        profile_id: live,
        profiles,
        suppressed,
    }))
}

async fn held(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profiles: &[Uuid],
) -> Result<Vec<Identifier>, sqlx::Error> {
    sqlx::query_as!(
        Identifier,
        "SELECT kind, value FROM crm_identifiers WHERE brand_id = $1 AND profile_id = ANY($2)
         ORDER BY kind, value",
        brand_id,
        profiles
    )
    .fetch_all(conn)
    .await
}

/// Who may name another system's account on a profile so that erasing the profile reaches it: the portal's
/// verified link (`customers`) and the demo seed. An identifier a marketer or an API event added could name a
/// stranger's WHMCS client or Salesforce contact (their ids are guessable), so it never selects what is
/// closed or anonymised there.
const TRUSTED_LINK_SOURCES: &[&str] = &["portal", "seed"];

async fn linked_accounts(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profiles: &[Uuid],
) -> Result<Vec<Identifier>, sqlx::Error> {
    let sources: Vec<String> = TRUSTED_LINK_SOURCES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let kinds: Vec<String> = [SALESFORCE_CONTACT, WHMCS_CLIENT, PORTAL_USER]
        .iter()
        .map(|k| (*k).to_owned())
        .collect();
    sqlx::query_as!(
        Identifier,
        "SELECT kind, value FROM crm_identifiers
         WHERE brand_id = $1 AND profile_id = ANY($2) AND kind = ANY($3) AND source = ANY($4)
         ORDER BY kind, value",
        brand_id,
        profiles,
        &kinds,
        &sources
    )
    .fetch_all(conn)
    .await
}

/// The email and phone attributes, as identifiers (they need not have been sent as ones).
async fn attribute_identifiers(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profiles: &[Uuid],
) -> Result<Vec<Identifier>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT email, phone FROM crm_profiles WHERE brand_id = $1 AND id = ANY($2)",
        brand_id,
        profiles
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .flat_map(|row| {
            [
                row.email.and_then(|v| Identifier::parse(EMAIL, &v).ok()),
                row.phone.and_then(|v| Identifier::parse(PHONE, &v).ok()),
            ]
        })
        .flatten()
        .collect())
}

async fn withdraw_consents(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profiles: &[Uuid],
) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    sqlx::query!(
        "WITH changed AS (
             UPDATE crm_consents SET status = 'denied', source = 'erasure', actor = NULL, captured_at = $3,
                    expires_at = NULL
             WHERE brand_id = $1 AND profile_id = ANY($2) AND (status <> 'denied' OR source <> 'erasure')
             RETURNING profile_id, channel, purpose)
         INSERT INTO crm_consent_history (brand_id, profile_id, channel, purpose, status, source, actor,
                                          captured_at, cause)
         SELECT $1, profile_id, channel, purpose, 'denied', 'erasure', NULL, $3, 'erasure' FROM changed",
        brand_id,
        profiles,
        now
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE crm_consent_history SET actor = NULL
         WHERE brand_id = $1 AND profile_id = ANY($2) AND actor IS NOT NULL",
        brand_id,
        profiles
    )
    .execute(conn)
    .await?;
    Ok(())
}

async fn forget_messages(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profiles: &[Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE crm_messages SET address = NULL, subject = NULL, body = NULL,
                status = CASE WHEN status IN ('reserved', 'deferred') THEN 'suppressed' ELSE status END,
                reason = CASE WHEN status IN ('reserved', 'deferred') THEN 'erased' ELSE reason END,
                deferred_until = NULL, updated_at = now()
         WHERE brand_id = $1 AND profile_id = ANY($2)
           AND (address IS NOT NULL OR subject IS NOT NULL OR body IS NOT NULL
                OR status IN ('reserved', 'deferred'))",
        brand_id,
        profiles
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE crm_campaign_recipients r SET status = 'cancelled', reason = 'erased', lease_token = NULL,
                lease_until = NULL, updated_at = now()
         FROM crm_campaigns c
         WHERE c.id = r.campaign_id AND c.brand_id = $1 AND r.profile_id = ANY($2)
           AND r.status IN ('queued', 'deferred')",
        brand_id,
        profiles
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE crm_journey_enrollments SET status = 'exited', reason = 'erased', wake_at = NULL,
                ended_at = now()
         WHERE brand_id = $1 AND profile_id = ANY($2) AND status IN ('active', 'waiting')",
        brand_id,
        profiles
    )
    .execute(conn)
    .await?;
    Ok(())
}

async fn exit_segments(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profiles: &[Uuid],
) -> anyhow::Result<()> {
    let segments = sqlx::query_scalar!(
        "SELECT DISTINCT segment_id FROM crm_segment_members
         WHERE brand_id = $1 AND profile_id = ANY($2) ORDER BY segment_id",
        brand_id,
        profiles
    )
    .fetch_all(&mut *conn)
    .await?;
    let now = Utc::now();
    for segment_id in segments {
        if let Some(segment) = segments_repo::stored(conn, brand_id, segment_id).await? {
            membership::set_members(
                conn,
                brand_id,
                &segment,
                profiles,
                false,
                Reason::Erasure,
                now,
            )
            .await?;
        } else {
            // A deleted segment's leftover rows: nothing evaluates it any more.
            sqlx::query!(
                "DELETE FROM crm_segment_members WHERE segment_id = $1 AND brand_id = $2
                 AND profile_id = ANY($3)",
                segment_id,
                brand_id,
                profiles
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

struct MergeRow {
    id: Uuid,
    survivor_before: Value,
    survivor_after: Value,
    survivor_consents: Value,
    absorbed_before: Value,
    identifiers_moved: Value,
    attribute_decisions: Value,
    consent_decisions: Value,
}

async fn merges_over(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profiles: &[Uuid],
) -> Result<Vec<MergeRow>, sqlx::Error> {
    sqlx::query_as!(
        MergeRow,
        "SELECT id, survivor_before, survivor_after, survivor_consents, absorbed_before, identifiers_moved,
                attribute_decisions, consent_decisions
         FROM crm_merges WHERE brand_id = $1 AND (survivor_id = ANY($2) OR absorbed_ids && $2)
         ORDER BY id FOR UPDATE",
        brand_id,
        profiles
    )
    .fetch_all(conn)
    .await
}

/// Every `{kind, value}` the ledger's snapshots hold.
fn ledger_identifiers(merge: &MergeRow) -> Vec<Identifier> {
    let mut found = Vec::new();
    for value in [&merge.identifiers_moved, &merge.absorbed_before] {
        collect_identifiers(value, &mut found);
    }
    found
}

fn collect_identifiers(value: &Value, found: &mut Vec<Identifier>) {
    match value {
        Value::Object(map) => {
            if let (Some(Value::String(kind)), Some(Value::String(raw))) =
                (map.get("kind"), map.get("value"))
                && let Ok(identifier) = Identifier::parse(kind, raw)
            {
                found.push(identifier);
            }
            map.values().for_each(|v| collect_identifiers(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_identifiers(v, found)),
        _ => {}
    }
}

fn is_personal_attribute(name: &str) -> bool {
    PERSONAL.contains(&name) || name.starts_with("custom")
}

/// Removes personal values from a ledger snapshot: personal columns emptied, identifiers' values and the
/// values of personal attributes' decisions nulled. Idempotent.
pub fn scrub(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.contains_key("kind") && map.contains_key("value") {
                map.insert("value".into(), Value::Null);
            }
            let personal_decision = map
                .get("attribute")
                .and_then(Value::as_str)
                .is_some_and(is_personal_attribute);
            if personal_decision {
                for key in ["chosen", "before", "after"] {
                    if map.contains_key(key) {
                        map.insert(key.into(), Value::Null);
                    }
                }
                if let Some(Value::Array(values)) = map.get_mut("values") {
                    for entry in values.iter_mut().filter_map(Value::as_object_mut) {
                        entry.insert("value".into(), Value::Null);
                    }
                }
            }
            for key in PERSONAL {
                if let Some(slot) = map.get_mut(*key) {
                    *slot = match *key {
                        "custom" | "attribute_times" => json!({}),
                        "tags" => json!([]),
                        _ => Value::Null,
                    };
                }
            }
            map.values_mut().for_each(scrub);
        }
        Value::Array(items) => items.iter_mut().for_each(scrub),
        _ => {}
    }
}

async fn scrub_merge(
    conn: &mut PgConnection,
    brand_id: Uuid,
    mut merge: MergeRow,
) -> Result<(), sqlx::Error> {
    for value in [
        &mut merge.survivor_before,
        &mut merge.survivor_after,
        &mut merge.survivor_consents,
        &mut merge.absorbed_before,
        &mut merge.identifiers_moved,
        &mut merge.attribute_decisions,
        &mut merge.consent_decisions,
    ] {
        scrub(value);
    }
    sqlx::query!(
        "UPDATE crm_merges SET survivor_before = $3, survivor_after = $4, survivor_consents = $5,
                absorbed_before = $6, identifiers_moved = $7, attribute_decisions = $8,
                consent_decisions = $9, erased_at = coalesce(erased_at, now())
         WHERE brand_id = $1 AND id = $2",
        brand_id,
        merge.id,
        merge.survivor_before,
        merge.survivor_after,
        merge.survivor_consents,
        merge.absorbed_before,
        merge.identifiers_moved,
        merge.attribute_decisions,
        merge.consent_decisions
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubbing_a_ledger_snapshot_removes_personal_values_and_keeps_the_rest() {
        let mut snapshot = json!({
            "survivor_before": {"id": "p1", "first_name": "Jane", "email": "jane@example.com",
                                "tier": "gold", "custom": {"size": "38"}, "tags": ["vip"]},
            "identifiers": [{"kind": "email", "value": "jane@example.com", "source": "api"}],
            "decisions": [
                {"attribute": "last_name", "values": [{"profile_id": "p1", "value": "Doe"}], "chosen": "Doe"},
                {"attribute": "tier", "values": [{"profile_id": "p1", "value": "gold"}], "chosen": "gold"},
                {"attribute": "custom.size", "values": [{"profile_id": "p1", "value": "38"}], "chosen": "38"}
            ],
            "consents": [{"channel": "email", "status": "granted", "actor": "jane@example.com"}]
        });
        scrub(&mut snapshot);
        let text = snapshot.to_string();
        for personal in ["Jane", "jane@example.com", "Doe", "38", "vip"] {
            assert!(!text.contains(personal), "{personal} left in {text}");
        }
        assert_eq!(snapshot["survivor_before"]["tier"], "gold");
        assert_eq!(snapshot["decisions"][1]["chosen"], "gold");
        assert_eq!(snapshot["identifiers"][0]["kind"], "email");
        let again = snapshot.clone();
        scrub(&mut snapshot);
        assert_eq!(snapshot, again);
    }

    #[test]
    fn the_ledger_names_its_identifiers() {
        let merge = MergeRow {
            id: Uuid::nil(),
            survivor_before: json!({}),
            survivor_after: json!({}),
            survivor_consents: json!([]),
            absorbed_before: json!([{"identifiers": [{"kind": "email", "value": "Old@Example.com"}]}]),
            identifiers_moved: json!([{"kind": "phone", "value": "+33612345678", "from_profile_id": "x"}]),
            attribute_decisions: json!([]),
            consent_decisions: json!([]),
        };
        let mut found: Vec<String> = ledger_identifiers(&merge)
            .into_iter()
            .map(|i| format!("{}:{}", i.kind, i.value))
            .collect();
        found.sort();
        assert_eq!(found, ["email:old@example.com", "phone:+33612345678"]);
    }
}
