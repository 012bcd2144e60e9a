//! Finding profiles: by exact identifier, and by a prefix of a name, the email or the phone, optionally with a
//! tag — newest first (UUIDv7 ids), with the last id as the cursor. Merged-away profiles never appear.
//!
//! Prefixes are matched as byte ranges (`x ~>=~ 'jan' AND x ~<~ 'jao'`) rather than `LIKE $1 || '%'`: the
//! range stays index-usable in a prepared statement's generic plan, and needs no escaping of `%` and `_`.
//! The indexes are in `20261202500100_crm_profiles_read.sql`.

use sqlx::PgConnection;
use uuid::Uuid;

use super::identifiers::Identifier;
use super::profile::{Attributes, Counters, Profile};

/// The smallest string greater than every string starting with `prefix` (in byte order).
fn upper_bound(prefix: &str) -> String {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=0x10FFFF).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return chars.into_iter().collect();
        }
    }
    // Only U+10FFFF characters: nothing sorts after them but longer strings of the same.
    format!("{prefix}\u{10FFFF}")
}

/// The phone prefix a query means, if it looks like one (`+33 6`, `0033`-less digits are taken as is).
fn phone_prefix(q: &str) -> Option<String> {
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let phone_like = q
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')'));
    (phone_like && !digits.is_empty()).then(|| format!("+{digits}"))
}

/// What to search.
pub struct Search<'a> {
    /// Lower-cased, trimmed, non-empty.
    pub q: Option<&'a str>,
    pub tag: Option<&'a str>,
    /// Continue after this id (the cursor).
    pub before: Option<Uuid>,
    pub limit: i64,
}

/// The ids of the page, newest first.
pub async fn search(
    conn: &mut PgConnection,
    brand_id: Uuid,
    search: &Search<'_>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    match (search.q, search.tag) {
        (Some(q), tag) => {
            let (phone_low, phone_high) = match phone_prefix(q) {
                Some(phone) => {
                    let high = upper_bound(&phone);
                    (phone, high)
                }
                // An empty range: matches no phone.
                None => (String::new(), String::new()),
            };
            sqlx::query_scalar!(
                "SELECT id FROM crm_profiles
                 WHERE brand_id = $1 AND merged_into IS NULL
                   AND ((lower(first_name) ~>=~ $2 AND lower(first_name) ~<~ $3)
                        OR (lower(last_name) ~>=~ $2 AND lower(last_name) ~<~ $3)
                        OR (email ~>=~ $2 AND email ~<~ $3)
                        OR (phone ~>=~ $4 AND phone ~<~ $5))
                   AND ($6::text IS NULL OR tags @> ARRAY[$6::text])
                   AND ($7::uuid IS NULL OR id < $7)
                 ORDER BY id DESC LIMIT $8",
                brand_id,
                q,
                upper_bound(q),
                phone_low,
                phone_high,
                tag,
                search.before,
                search.limit
            )
            .fetch_all(conn)
            .await
        }
        (None, Some(tag)) => {
            sqlx::query_scalar!(
                "SELECT id FROM crm_profiles
                 WHERE brand_id = $1 AND merged_into IS NULL AND tags @> ARRAY[$2::text]
                   AND ($3::uuid IS NULL OR id < $3)
                 ORDER BY id DESC LIMIT $4",
                brand_id,
                tag,
                search.before,
                search.limit
            )
            .fetch_all(conn)
            .await
        }
        (None, None) => {
            sqlx::query_scalar!(
                "SELECT id FROM crm_profiles
                 WHERE brand_id = $1 AND merged_into IS NULL AND ($2::uuid IS NULL OR id < $2)
                 ORDER BY id DESC LIMIT $3",
                brand_id,
                search.before,
                search.limit
            )
            .fetch_all(conn)
            .await
        }
    }
}

/// The live profile holding the identifier, if any.
pub async fn by_identifier(
    conn: &mut PgConnection,
    brand_id: Uuid,
    identifier: &Identifier,
) -> Result<Option<Uuid>, sqlx::Error> {
    let holder = sqlx::query_scalar!(
        "SELECT profile_id FROM crm_identifiers WHERE brand_id = $1 AND kind = $2 AND value = $3",
        brand_id,
        identifier.kind,
        identifier.value
    )
    .fetch_optional(&mut *conn)
    .await?;
    match holder {
        Some(id) => super::profile::current_id(conn, brand_id, id).await,
        None => Ok(None),
    }
}

/// The profiles with these ids in the brand, in the order given (two queries, whatever the page size).
pub async fn profiles(
    conn: &mut PgConnection,
    brand_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<Profile>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT p.id, b.slug AS brand, p.first_name, p.last_name, p.email, p.phone, p.birthday,
                  p.locale, p.country, p.city, p.tier, p.tags, p.custom, p.activity_counts,
                  p.first_activity_at, p.last_activity_at, p.lifetime_value::text AS "lifetime_value!",
                  p.first_seen_at, p.created_at, p.updated_at
           FROM crm_profiles p JOIN brands b ON b.id = p.brand_id
           WHERE p.brand_id = $1 AND p.id = ANY($2)"#,
        brand_id,
        ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let identifiers = sqlx::query!(
        "SELECT profile_id, kind, value FROM crm_identifiers
         WHERE brand_id = $1 AND profile_id = ANY($2) ORDER BY kind, value",
        brand_id,
        ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut by_id: std::collections::HashMap<Uuid, Profile> = rows
        .into_iter()
        .map(|row| {
            let profile = Profile {
                id: row.id,
                brand: row.brand,
                attributes: Attributes {
                    first_name: row.first_name,
                    last_name: row.last_name,
                    email: row.email,
                    phone: row.phone,
                    birthday: row.birthday,
                    locale: row.locale,
                    country: row.country,
                    city: row.city,
                    tier: row.tier,
                    tags: Some(row.tags),
                },
                custom: row.custom,
                identifiers: Vec::new(),
                counters: Counters {
                    activity_counts: row.activity_counts,
                    first_activity_at: row.first_activity_at,
                    last_activity_at: row.last_activity_at,
                    lifetime_value: row.lifetime_value,
                },
                first_seen_at: row.first_seen_at,
                created_at: row.created_at,
                updated_at: row.updated_at,
            };
            (profile.id, profile)
        })
        .collect();
    for row in identifiers {
        if let Some(profile) = by_id.get_mut(&row.profile_id) {
            profile.identifiers.push(Identifier {
                kind: row.kind,
                value: row.value,
            });
        }
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upper_bound_is_the_next_prefix() {
        assert_eq!(upper_bound("jan"), "jao");
        assert_eq!(upper_bound("+336"), "+337");
        assert_eq!(upper_bound("é"), "ê");
        assert_eq!(upper_bound("a\u{10FFFF}"), "b");
        assert!(upper_bound("\u{D7FF}") > "\u{D7FF}".to_owned());
    }

    #[test]
    fn only_phone_like_queries_search_phones() {
        assert_eq!(phone_prefix("+33 6 12").as_deref(), Some("+33612"));
        assert_eq!(phone_prefix("0612").as_deref(), Some("+0612"));
        assert_eq!(phone_prefix("jane"), None);
        assert_eq!(phone_prefix("+"), None);
    }
}
