//! Identity resolution: which profile a set of identifiers belongs to — an existing one (matched), a new
//! one (created), or several that the identifiers prove are one person (merged).
//!
//! Callers (the profiles API, event ingest, internal sources) run it inside their transaction, so the
//! profile, its identifiers and whatever the caller writes next land together or not at all.
//!
//! The rules, in order:
//! - blocked values (`Policy::is_blocked`) never match and never attach: refused `blocked_value`;
//! - a merge-triggering identifier on the suppression list (an erased person's, see `suppression`), given
//!   or in the traits (`email`), refuses the whole resolution with [`ResolveError::Erased`]: nothing is
//!   created, matched or attached, so a replayed event cannot recreate the person, nor its other identifiers
//!   and traits re-link them to a new profile. A suppressed weak identifier (`phone`: shared by families,
//!   and numbers are recycled) is only left out — refused `erased`, and the phone trait dropped — unless
//!   nothing else is left to resolve by, which refuses the resolution too;
//! - identifiers of merge-triggering kinds decide: none matched → look at the weak kinds; one profile →
//!   matched; several → they are merged into the **oldest** (`first_seen_at`, then id) — the profile that has
//!   been known longest keeps its id, so links handed out earliest keep working;
//! - weak kinds (`phone`) match only when no merge-triggering identifier did (the oldest such profile), and
//!   never merge: a weak identifier held by another profile is reported `held_by_other` and left there;
//! - identifiers the profile lacks are attached up to `Policy::max_per_kind` per kind; the rest are refused
//!   `limit_exceeded`. Nothing is skipped silently: every identifier gets an outcome.
//!
//! Concurrency: before reading, resolve takes transaction-scoped advisory locks on each `(brand, kind, value)`
//! it was given, in the order of their lock keys. Two resolves sharing an identifier therefore run one after
//! the other, and the second (a new statement, a new snapshot) sees the profile the first created — one
//! profile, no wasted insert, no retry loop; the unique key stays as a backstop. The matched profiles are then
//! locked `FOR NO KEY UPDATE` in id order, the same order and the same lock merges, unmerges and PATCH take;
//! a profile found merged away once its lock is held (a merge committed meanwhile) sends resolve back to read
//! the owners again, so an event resolving during a merge lands on the survivor. `FOR NO KEY UPDATE`, not
//! `FOR UPDATE`: nothing deletes a profile or changes its id, and the stronger lock blocks the key-share lock
//! a segment refresh's member insert takes on the profile (its foreign key), so a resolution waiting for that
//! refresh's segment lock in its after-event hooks deadlocked with it.
//!
//! A batch of events ([`lock_batch`]) takes every lock its events need up front, in one sorted statement,
//! reads who holds all its identifiers in one query and locks the profiles they lead to in id order; each
//! event then resolves with [`resolve_locked`], reading holders from that [`KnownOwners`] and keeping it up
//! to date with what it attaches. Two batches therefore never wait on each other in a cycle, whatever order
//! their events name identifiers (or the profiles behind them) in. The profiles the batch holds locked and
//! found live are kept too, so an event matching them resolves without a statement.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{Acquire, PgConnection};
use utoipa::ToSchema;
use uuid::Uuid;

use super::identifiers::{EMAIL, Identifier, PHONE, Policy, Refusal};
use super::merge::{self, Cause};
use super::profile::{self, Attributes};

/// What to resolve: normalised identifiers, and the attributes (traits) to apply to the result.
pub struct ResolveInput<'a> {
    pub identifiers: &'a [Identifier],
    pub attributes: &'a Attributes,
    /// When the information was true (an event's `occurred_at`, or now).
    pub at: DateTime<Utc>,
    /// What is resolving: `api`, `event`, `portal` … (recorded on new identifiers).
    pub source: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Created,
    Matched,
    Merged,
}

/// What became of one identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CrmIdentifierStatus)]
pub enum IdentifierStatus {
    /// It was already held by a profile it led to (`profile_id`).
    Matched,
    /// It was new and now belongs to the resolved profile.
    Attached,
    /// A weak identifier (`phone`) held by another profile (`profile_id`): weak kinds never merge, so it
    /// stays there.
    HeldByOther,
    /// Not used at all; see `refusal`.
    Refused,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CrmIdentifierOutcome)]
pub struct IdentifierOutcome {
    pub kind: String,
    pub value: String,
    pub status: IdentifierStatus,
    /// The profile that held it when resolution started (matched, held by other).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
}

#[derive(Debug, Clone)]
pub struct Resolution {
    pub profile_id: Uuid,
    pub outcome: OutcomeKind,
    /// The merge that resolution made (outcome `merged`).
    pub merge_id: Option<Uuid>,
    /// The live profiles the merge-triggering (or, failing those, weak) identifiers led to, by id.
    pub matched_profiles: Vec<Uuid>,
    /// One per distinct identifier given, in `(kind, value)` order.
    pub identifiers: Vec<IdentifierOutcome>,
}

impl Resolution {
    pub fn refusals(&self) -> impl Iterator<Item = &IdentifierOutcome> {
        self.identifiers.iter().filter(|i| i.refusal.is_some())
    }
}

/// Why a resolution did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// These identifiers belonged to an erased person (refusal `erased`): nothing was written.
    #[error("identifiers of an erased person")]
    Erased(Vec<Identifier>),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl ResolveError {
    /// For callers that cannot answer a refusal (seeding): the refusal as a database error.
    pub fn into_sqlx(self) -> sqlx::Error {
        match self {
            ResolveError::Db(error) => error,
            ResolveError::Erased(_) => {
                sqlx::Error::Protocol("identity resolution refused an erased identifier".into())
            }
        }
    }
}

static POLICY: RwLock<Option<Arc<Policy>>> = RwLock::new(None);

/// Makes `policy` the one [`resolve`] applies (the process's `[crm.identity]`; done by `Crm::new`).
pub fn install_policy(policy: Arc<Policy>) {
    if let Ok(mut slot) = POLICY.write() {
        *slot = Some(policy);
    }
}

pub(crate) fn installed_policy() -> Result<Arc<Policy>, sqlx::Error> {
    POLICY
        .read()
        .ok()
        .and_then(|slot| slot.clone())
        .ok_or_else(|| {
            sqlx::Error::Configuration("the CRM identity policy is not installed".into())
        })
}

/// Resolves `input` in the brand with the process's identity policy, creating, matching or merging the
/// profile, attaching the identifiers it did not have and applying the attributes.
pub async fn resolve(
    conn: &mut PgConnection,
    brand_id: Uuid,
    input: &ResolveInput<'_>,
) -> Result<Resolution, ResolveError> {
    let policy = installed_policy()?;
    resolve_with(conn, brand_id, input, &policy).await
}

/// The identifiers that would take part in a resolution (distinct, not blocked).
/// The traits' email and phone in identifier form (the suppression list knows them so).
pub fn trait_identifiers(attributes: &Attributes) -> Vec<Identifier> {
    [
        attributes
            .email
            .as_deref()
            .and_then(|v| Identifier::parse(EMAIL, v).ok()),
        attributes
            .phone
            .as_deref()
            .and_then(|v| Identifier::parse(PHONE, v).ok()),
    ]
    .into_iter()
    .flatten()
    .collect()
}

pub fn usable(policy: &Policy, identifiers: &[Identifier]) -> Vec<Identifier> {
    let distinct: BTreeSet<&Identifier> = identifiers.iter().collect();
    distinct
        .into_iter()
        .filter(|identifier| !policy.is_blocked(identifier))
        .cloned()
        .collect()
}

struct Owner {
    kind: String,
    value: String,
    profile_id: Uuid,
    current: Uuid,
}

/// What a batch knows of its identifiers: which ones it holds the advisory locks of, and who holds each
/// of them (`None`: nobody), as read once for the batch and then kept up to date by its own resolutions.
///
/// With the identifier locks held, only writers that do not take them can change a holder: a merge (which
/// re-points the absorbed profiles' identifiers, and is caught by the live check once the profile lock is
/// held, which then reads the holders again) and nothing else (adding or removing an identifier by hand
/// takes the lock too).
#[derive(Debug, Default)]
pub struct KnownOwners {
    locked: HashSet<Identifier>,
    holders: HashMap<Identifier, Option<(Uuid, Uuid)>>,
    /// Profiles this transaction holds locked and found live once locked, with their first-seen times: a
    /// resolution whose candidates are all here needs no lock statement of its own.
    live: HashMap<Uuid, DateTime<Utc>>,
    /// Profiles are locked without a savepoint, and a matched profile found merged away once locked fails
    /// the resolution instead of retrying (its stale lock could only be released with the transaction):
    /// for a batch's first attempt, which is rolled back and run again with a savepoint per event.
    optimistic: bool,
}

impl KnownOwners {
    /// Forgets every holder and live profile (the advisory locks stay): after a merge, or an event rolled
    /// back to its savepoint (which released the row locks taken inside it).
    pub fn forget(&mut self) {
        self.holders.clear();
        self.live.clear();
    }

    /// Whether resolving `identifiers` could merge profiles: some usable identifier's holder is not known
    /// yet, or the known holders of merge-triggering kinds lead to more than one profile. A batch writes the
    /// activities it has put off before such an event (a merge moves activities and sums counters).
    pub fn may_merge(&self, identifiers: &[Identifier]) -> bool {
        let Ok(policy) = installed_policy() else {
            return true;
        };
        let mut strong = BTreeSet::new();
        for identifier in usable(&policy, identifiers) {
            match self.holders.get(&identifier) {
                None => return true,
                Some(Some((_, current))) if policy.merges(&identifier.kind) => {
                    strong.insert(*current);
                }
                Some(_) => {}
            }
        }
        strong.len() > 1
    }
}

/// Takes the advisory locks of every usable identifier of a batch's events in one sorted statement, and
/// reads who holds them in one query, then locks the live profiles they lead to in id order.
/// `optimistic`: see [`KnownOwners`].
pub async fn lock_batch<'a>(
    conn: &mut PgConnection,
    brand_id: Uuid,
    events: impl IntoIterator<Item = (&'a [Identifier], &'a Attributes)>,
    optimistic: bool,
) -> Result<KnownOwners, sqlx::Error> {
    let policy = installed_policy()?;
    let mut all: BTreeSet<Identifier> = BTreeSet::new();
    let mut traits: BTreeSet<Identifier> = BTreeSet::new();
    for (identifiers, attributes) in events {
        all.extend(usable(&policy, identifiers));
        traits.extend(trait_identifiers(attributes));
    }
    // The traits' email and phone are locked too (resolution checks them against the suppression list),
    // in the same sorted statement; only the identifiers given lead to profiles.
    let locked: Vec<Identifier> = all.union(&traits).cloned().collect();
    let all: Vec<Identifier> = all.into_iter().collect();
    lock_identifiers(conn, brand_id, &locked).await?;
    let mut known = KnownOwners {
        locked: locked.into_iter().collect(),
        holders: all.iter().map(|i| (i.clone(), None)).collect(),
        live: HashMap::new(),
        optimistic,
    };
    let mut live = BTreeSet::new();
    for owner in read_owners(conn, brand_id, &all).await? {
        live.insert(owner.current);
        known.holders.insert(
            Identifier {
                kind: owner.kind,
                value: owner.value,
            },
            Some((owner.profile_id, owner.current)),
        );
    }
    // Every profile those identifiers lead to, locked now in id order (held to the end of the batch, as
    // each event's own lock would be): two batches reaching the same profiles through different identifiers
    // (one by email, the other by member number, in opposite orders) would otherwise each hold one and wait
    // for the other's. A profile merged away meanwhile is left to the event's own check.
    let live: Vec<Uuid> = live.into_iter().collect();
    if !live.is_empty() {
        for row in lock_profiles(conn, brand_id, &live).await? {
            if row.merged_into.is_none() {
                known.live.insert(row.id, row.first_seen_at);
            }
        }
    }
    Ok(known)
}

/// [`resolve`] inside a batch that took its locks with [`lock_batch`].
pub async fn resolve_locked(
    conn: &mut PgConnection,
    brand_id: Uuid,
    input: &ResolveInput<'_>,
    known: &mut KnownOwners,
) -> Result<Resolution, ResolveError> {
    let policy = installed_policy()?;
    resolve_known(conn, brand_id, input, &policy, known).await
}

/// [`resolve`] with an explicit policy.
pub async fn resolve_with(
    conn: &mut PgConnection,
    brand_id: Uuid,
    input: &ResolveInput<'_>,
    policy: &Policy,
) -> Result<Resolution, ResolveError> {
    resolve_known(conn, brand_id, input, policy, &mut KnownOwners::default()).await
}

async fn resolve_known(
    conn: &mut PgConnection,
    brand_id: Uuid,
    input: &ResolveInput<'_>,
    policy: &Policy,
    known: &mut KnownOwners,
) -> Result<Resolution, ResolveError> {
    let distinct: BTreeSet<&Identifier> = input.identifiers.iter().collect();
    let mut usable = usable(policy, input.identifiers);
    // The traits' email and phone are checked too: a replay that names the person by a new identifier
    // must not bring their address back as an attribute.
    let from_traits = trait_identifiers(input.attributes);
    let checked: Vec<Identifier> = usable
        .iter()
        .chain(from_traits.iter().filter(|i| !usable.contains(i)))
        .cloned()
        .collect();
    // A batch took these locks up front, in key order (`lock_batch`), traits' included; a single
    // resolution takes them here, in one sorted statement.
    let unlocked: Vec<Identifier> = checked
        .iter()
        .filter(|i| !known.locked.contains(*i))
        .cloned()
        .collect();
    lock_identifiers(conn, brand_id, &unlocked).await?;
    known.locked.extend(unlocked);
    // Checked with the identifiers' locks held: an erasure takes them too, so it is either committed and
    // seen here, or waits for this resolution and then removes what it attached.
    let suppressed =
        super::suppression::suppressed(conn, policy.suppression(), brand_id, &checked).await?;
    // A merge-triggering identifier names the person: the whole resolution is refused. A weak one (a
    // family's or a recycled phone number) is only left out, and the rest resolve as if it was not given.
    let (refused, dropped): (Vec<Identifier>, Vec<Identifier>) = suppressed
        .into_iter()
        .partition(|identifier| policy.merges(&identifier.kind));
    usable.retain(|identifier| !dropped.contains(identifier));
    if !refused.is_empty() || (usable.is_empty() && !dropped.is_empty()) {
        return Err(ResolveError::Erased(
            refused.into_iter().chain(dropped).collect(),
        ));
    }
    let trimmed;
    let attributes = match &input.attributes.phone {
        Some(phone)
            if Identifier::parse(PHONE, phone).is_ok_and(|phone| dropped.contains(&phone)) =>
        {
            trimmed = Attributes {
                phone: None,
                ..input.attributes.clone()
            };
            &trimmed
        }
        _ => input.attributes,
    };

    let mut attempts = 0;
    let (owners, locked) = loop {
        attempts += 1;
        if attempts > 1 {
            // A holder was merged away meanwhile: what the batch read is stale.
            known.forget();
        }
        let owners = owners(conn, brand_id, &usable, known).await?;
        let strong: BTreeSet<Uuid> = owners
            .iter()
            .filter(|o| policy.merges(&o.kind))
            .map(|o| o.current)
            .collect();
        let candidates = if strong.is_empty() {
            owners.iter().map(|o| o.current).collect()
        } else {
            strong
        };
        // Held since the batch locked them (and live then: only a merge in this transaction, which
        // forgets them, could have changed that).
        let held: Option<Vec<(Uuid, DateTime<Utc>)>> = candidates
            .iter()
            .map(|id| known.live.get(id).map(|first_seen| (*id, *first_seen)))
            .collect();
        if let Some(locked) = held {
            break (owners, locked);
        }
        if let Some(locked) = lock_live(conn, brand_id, &candidates, !known.optimistic).await? {
            known.live.extend(locked.iter().copied());
            break (owners, locked);
        }
        if known.optimistic {
            return Err(sqlx::Error::Protocol(
                "identity resolution: a matched profile was merged meanwhile".into(),
            )
            .into());
        }
        if attempts >= 10 {
            return Err(sqlx::Error::Protocol(
                "identity resolution: the matched profiles kept being merged away".into(),
            )
            .into());
        }
    };
    let strong_matched = owners.iter().any(|o| policy.merges(&o.kind));
    let matched_profiles: Vec<Uuid> = locked.iter().map(|(id, _)| *id).collect();
    // The oldest profile: first seen earliest, then the smallest id.
    let oldest = locked
        .iter()
        .min_by_key(|(id, first_seen)| (*first_seen, *id))
        .map(|(id, _)| *id);

    let (profile_id, outcome, merge_id) = match oldest {
        None => {
            let id = profile::insert(conn, brand_id, input.at).await?;
            record_created(conn, brand_id, id, input.source).await?;
            (id, OutcomeKind::Created, None)
        }
        Some(survivor) if strong_matched && locked.len() > 1 => {
            let absorbed: Vec<Uuid> = matched_profiles
                .iter()
                .copied()
                .filter(|id| *id != survivor)
                .collect();
            let merged = merge::merge(
                conn,
                brand_id,
                &merge::MergeRequest {
                    survivor,
                    absorbed: &absorbed,
                    cause: Cause::Resolution,
                    actor: input.source,
                },
            )
            .await
            .map_err(merge::MergeError::into_sqlx)?;
            (survivor, OutcomeKind::Merged, Some(merged))
        }
        Some(id) => (id, OutcomeKind::Matched, None),
    };

    let held: BTreeMap<(&str, &str), &Owner> = owners
        .iter()
        .map(|o| ((o.kind.as_str(), o.value.as_str()), o))
        .collect();
    // Read only when an identifier is to be attached (a new profile holds none yet).
    let mut counts: Option<BTreeMap<String, i64>> =
        (outcome == OutcomeKind::Created).then(BTreeMap::new);
    let mut identifiers = Vec::with_capacity(distinct.len());
    for identifier in distinct {
        let mut outcome = IdentifierOutcome {
            kind: identifier.kind.clone(),
            value: identifier.value.clone(),
            status: IdentifierStatus::Refused,
            profile_id: None,
            refusal: None,
        };
        if policy.is_blocked(identifier) {
            outcome.refusal = Some(Refusal::BlockedValue);
        } else if dropped.contains(identifier) {
            outcome.refusal = Some(Refusal::Erased);
        } else if let Some(owner) = held.get(&(identifier.kind.as_str(), identifier.value.as_str()))
        {
            outcome.profile_id = Some(owner.profile_id);
            // After a merge every strong owner's identifiers are the survivor's.
            let ours = owner.current == profile_id
                || (merge_id.is_some() && matched_profiles.contains(&owner.current));
            outcome.status = if ours {
                IdentifierStatus::Matched
            } else {
                IdentifierStatus::HeldByOther
            };
        } else {
            let counts = match &mut counts {
                Some(counts) => counts,
                None => counts.insert(kind_counts(conn, brand_id, profile_id).await?),
            };
            let count = counts.entry(identifier.kind.clone()).or_insert(0);
            if *count >= i64::from(policy.max_per_kind(&identifier.kind)) {
                outcome.refusal = Some(Refusal::LimitExceeded);
            } else if attach(conn, brand_id, profile_id, identifier, input.source).await? {
                *count += 1;
                outcome.status = IdentifierStatus::Attached;
                known
                    .holders
                    .insert(identifier.clone(), Some((profile_id, profile_id)));
            } else {
                // Taken meanwhile by a writer that does not resolve (an identifier added by hand).
                outcome.status = IdentifierStatus::HeldByOther;
                known.holders.remove(identifier);
            }
        }
        identifiers.push(outcome);
    }
    if merge_id.is_some() {
        // The merge re-pointed the absorbed profiles' identifiers.
        known.forget();
    }
    if *attributes != Attributes::default() {
        profile::apply_attributes(conn, brand_id, profile_id, attributes, input.at).await?;
    }
    Ok(Resolution {
        profile_id,
        outcome,
        merge_id,
        matched_profiles,
        identifiers,
    })
}

/// Advisory locks on each `(brand, kind, value)`, taken in key order so two resolves never wait on each
/// other in a cycle. An unmerge takes them too for the identifiers it gives back, before its profile locks
/// (the order resolve takes them in), so a resolve of one of them waits and then reads the new owner.
pub(crate) async fn lock_identifiers(
    conn: &mut PgConnection,
    brand_id: Uuid,
    identifiers: &[Identifier],
) -> Result<(), sqlx::Error> {
    if identifiers.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = identifiers
        .iter()
        .map(|i| format!("crm-identifier/{brand_id}/{}/{}", i.kind, i.value))
        .collect();
    sqlx::query!(
        r#"SELECT pg_advisory_xact_lock(key)::text AS "locked"
           FROM (SELECT DISTINCT hashtextextended(k, 0) AS key FROM unnest($1::text[]) AS k
                 ORDER BY 1 OFFSET 0) AS keys"#,
        &keys
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(())
}

/// Who holds each identifier, and the live profile that holder resolves to: from what the batch knows,
/// the rest read (and then known).
async fn owners(
    conn: &mut PgConnection,
    brand_id: Uuid,
    identifiers: &[Identifier],
    known: &mut KnownOwners,
) -> Result<Vec<Owner>, sqlx::Error> {
    let unknown: Vec<Identifier> = identifiers
        .iter()
        .filter(|i| !known.holders.contains_key(*i))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        let read = read_owners(conn, brand_id, &unknown).await?;
        for identifier in unknown {
            known.holders.insert(identifier, None);
        }
        for owner in read {
            known.holders.insert(
                Identifier {
                    kind: owner.kind,
                    value: owner.value,
                },
                Some((owner.profile_id, owner.current)),
            );
        }
    }
    Ok(identifiers
        .iter()
        .filter_map(|identifier| {
            let (profile_id, current) = known.holders.get(identifier).copied().flatten()?;
            Some(Owner {
                kind: identifier.kind.clone(),
                value: identifier.value.clone(),
                profile_id,
                current,
            })
        })
        .collect())
}

/// Who holds each identifier and the live profile that holder resolves to (following merges), in one
/// statement; identifiers nobody holds are left out.
async fn read_owners(
    conn: &mut PgConnection,
    brand_id: Uuid,
    identifiers: &[Identifier],
) -> Result<Vec<Owner>, sqlx::Error> {
    if identifiers.is_empty() {
        return Ok(Vec::new());
    }
    let kinds: Vec<String> = identifiers.iter().map(|i| i.kind.clone()).collect();
    let values: Vec<String> = identifiers.iter().map(|i| i.value.clone()).collect();
    sqlx::query_as!(
        Owner,
        r#"WITH RECURSIVE held AS (
               SELECT i.kind, i.value, i.profile_id
               FROM crm_identifiers i
               JOIN unnest($2::text[], $3::text[]) AS wanted (kind, value)
                 ON i.kind = wanted.kind AND i.value = wanted.value
               WHERE i.brand_id = $1
           ), chain (holder, id, merged_into, depth) AS (
               SELECT p.id, p.id, p.merged_into, 0 FROM crm_profiles p
               WHERE p.brand_id = $1 AND p.id IN (SELECT profile_id FROM held)
               UNION ALL
               SELECT c.holder, p.id, p.merged_into, c.depth + 1
               FROM crm_profiles p JOIN chain c ON p.id = c.merged_into
               WHERE p.brand_id = $1 AND c.depth < 100
           )
           SELECT h.kind AS "kind!", h.value AS "value!", h.profile_id AS "profile_id!",
                  COALESCE(c.id, h.profile_id) AS "current!"
           FROM held h LEFT JOIN chain c ON c.holder = h.profile_id AND c.merged_into IS NULL
           ORDER BY h.kind, h.value"#,
        brand_id,
        &kinds,
        &values
    )
    .fetch_all(conn)
    .await
}

/// Locks the profiles in id order; `None` when one turns out merged away once locked, with the locks
/// released when `release` (a savepoint around them), else held until the transaction ends.
async fn lock_live(
    conn: &mut PgConnection,
    brand_id: Uuid,
    ids: &BTreeSet<Uuid>,
    release: bool,
) -> Result<Option<Vec<(Uuid, DateTime<Utc>)>>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let ids: Vec<Uuid> = ids.iter().copied().collect();
    if !release {
        return lock_rows(conn, brand_id, &ids).await;
    }
    // A savepoint, so that locks on profiles found merged away are released before trying again.
    let mut savepoint = conn.begin().await?;
    let locked = lock_rows(&mut savepoint, brand_id, &ids).await?;
    if locked.is_none() {
        savepoint.rollback().await?;
    } else {
        savepoint.commit().await?;
    }
    Ok(locked)
}

struct LockedProfile {
    id: Uuid,
    merged_into: Option<Uuid>,
    first_seen_at: DateTime<Utc>,
}

/// `FOR NO KEY UPDATE` on the profiles in id order (see the module's documentation for why not
/// `FOR UPDATE`).
async fn lock_profiles(
    conn: &mut PgConnection,
    brand_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<LockedProfile>, sqlx::Error> {
    sqlx::query_as!(
        LockedProfile,
        "SELECT id, merged_into, first_seen_at FROM crm_profiles
         WHERE brand_id = $1 AND id = ANY($2) ORDER BY id FOR NO KEY UPDATE",
        brand_id,
        ids
    )
    .fetch_all(conn)
    .await
}

/// [`lock_profiles`], with their first-seen times; `None` when one is missing or merged away.
async fn lock_rows(
    conn: &mut PgConnection,
    brand_id: Uuid,
    ids: &[Uuid],
) -> Result<Option<Vec<(Uuid, DateTime<Utc>)>>, sqlx::Error> {
    let rows = lock_profiles(conn, brand_id, ids).await?;
    if rows.len() != ids.len() || rows.iter().any(|row| row.merged_into.is_some()) {
        return Ok(None);
    }
    Ok(Some(
        rows.into_iter()
            .map(|row| (row.id, row.first_seen_at))
            .collect(),
    ))
}

async fn kind_counts(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
) -> Result<BTreeMap<String, i64>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT kind, count(*) AS "count!" FROM crm_identifiers
           WHERE brand_id = $1 AND profile_id = $2 GROUP BY kind"#,
        brand_id,
        profile_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|row| (row.kind, row.count)).collect())
}

async fn attach(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
    identifier: &Identifier,
    source: &str,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        "INSERT INTO crm_identifiers (brand_id, kind, value, profile_id, source)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (brand_id, kind, value) DO NOTHING",
        brand_id,
        identifier.kind,
        identifier.value,
        profile_id,
        source
    )
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

#[derive(Serialize)]
struct ProfileCreated {
    brand_id: Uuid,
    profile_id: Uuid,
    source: String,
}

async fn record_created(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
    source: &str,
) -> Result<(), sqlx::Error> {
    crate::outbox::record(
        conn,
        crate::outbox::NewEvent {
            topic: "crm.profile.created",
            aggregate_type: "crm_profile",
            aggregate_id: profile_id.to_string(),
            payload: ProfileCreated {
                brand_id,
                profile_id,
                source: source.to_owned(),
            },
        },
    )
    .await
    .map(drop)
    .map_err(outbox_error)
}

/// The outbox answers `anyhow`; resolution's callers expect database errors.
pub(crate) fn outbox_error(error: anyhow::Error) -> sqlx::Error {
    match error.downcast::<sqlx::Error>() {
        Ok(error) => error,
        Err(other) => sqlx::Error::Protocol(format!("outbox: {other}")),
    }
}
