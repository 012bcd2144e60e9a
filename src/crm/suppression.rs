//! The suppression list: identifiers of erased people, kept only as keyed digests, that never identify
//! anyone again. Resolution ([`super::resolve`]), `POST …/identifiers` and [`super::links`] refuse them.
//!
//! The digest is HMAC-SHA256 under `[crm.identity] suppression_key` of `brand id ‖ 0 ‖ kind ‖ 0 ‖ normalised
//! value`, in hex. Keyed rather than a bare SHA-256: a leaked table of bare hashes of emails is reversed by
//! hashing any list of addresses; these are worthless without the server's key. The key must therefore never
//! rotate without re-keying the table (a digest under an old key no longer matches).

use aws_lc_rs::hmac;
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgConnection;
use uuid::Uuid;

use super::identifiers::Identifier;

/// Computes suppression digests with the server's key.
#[derive(Clone)]
pub struct Hasher {
    key: hmac::Key,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hasher(..)")
    }
}

impl Hasher {
    pub fn new(key: &SecretString) -> Result<Hasher, String> {
        let key = key.expose_secret().trim();
        if key.len() < 32 {
            return Err(
                "`suppression_key` must be at least 32 characters of a random secret".into(),
            );
        }
        Ok(Hasher {
            key: hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()),
        })
    }

    /// The digest of a normalised identifier in the brand.
    pub fn digest(&self, brand_id: Uuid, identifier: &Identifier) -> String {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(brand_id.as_bytes());
        context.update(&[0]);
        context.update(identifier.kind.as_bytes());
        context.update(&[0]);
        context.update(identifier.value.as_bytes());
        context
            .sign()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Which of `identifiers` are suppressed in the brand.
pub async fn suppressed(
    conn: &mut PgConnection,
    hasher: &Hasher,
    brand_id: Uuid,
    identifiers: &[Identifier],
) -> Result<Vec<Identifier>, sqlx::Error> {
    if identifiers.is_empty() {
        return Ok(Vec::new());
    }
    let kinds: Vec<String> = identifiers.iter().map(|i| i.kind.clone()).collect();
    let digests: Vec<String> = identifiers
        .iter()
        .map(|i| hasher.digest(brand_id, i))
        .collect();
    let found = sqlx::query!(
        r#"SELECT s.kind AS "kind!", s.digest AS "digest!" FROM crm_suppressions s
           JOIN unnest($2::text[], $3::text[]) AS wanted (kind, digest)
             ON s.kind = wanted.kind AND s.digest = wanted.digest
           WHERE s.brand_id = $1"#,
        brand_id,
        &kinds,
        &digests
    )
    .fetch_all(conn)
    .await?;
    Ok(identifiers
        .iter()
        .zip(&digests)
        .filter(|(identifier, digest)| {
            found
                .iter()
                .any(|row| row.kind == identifier.kind && &row.digest == *digest)
        })
        .map(|(identifier, _)| identifier.clone())
        .collect())
}

/// Puts `identifiers` on the brand's list (already there: nothing changes); answers how many were new.
pub async fn suppress(
    conn: &mut PgConnection,
    hasher: &Hasher,
    brand_id: Uuid,
    profile_id: Uuid,
    identifiers: &[Identifier],
) -> Result<u64, sqlx::Error> {
    let kinds: Vec<String> = identifiers.iter().map(|i| i.kind.clone()).collect();
    let digests: Vec<String> = identifiers
        .iter()
        .map(|i| hasher.digest(brand_id, i))
        .collect();
    let done = sqlx::query!(
        "INSERT INTO crm_suppressions (brand_id, kind, digest, profile_id)
         SELECT $1, kind, digest, $2 FROM unnest($3::text[], $4::text[]) AS s (kind, digest)
         ON CONFLICT DO NOTHING",
        brand_id,
        profile_id,
        &kinds,
        &digests
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn hasher(key: &str) -> Hasher {
        Hasher::new(&SecretString::from(key.to_owned())).unwrap()
    }

    #[test]
    fn digests_depend_on_the_key_the_brand_the_kind_and_the_value() {
        let brand = Uuid::from_u128(1);
        let email = Identifier::parse("email", "Jane@Example.com").unwrap();
        let a = hasher("0123456789abcdef0123456789abcdef");
        let b = hasher("fedcba9876543210fedcba9876543210");
        let digest = a.digest(brand, &email);
        assert_eq!(digest.len(), 64);
        assert_eq!(
            digest,
            a.digest(
                brand,
                &Identifier::parse("email", " jane@example.COM").unwrap()
            )
        );
        assert_ne!(digest, b.digest(brand, &email));
        assert_ne!(digest, a.digest(Uuid::from_u128(2), &email));
        let other_kind = Identifier {
            kind: "scl_member".into(),
            value: email.value.clone(),
        };
        assert_ne!(digest, a.digest(brand, &other_kind));
        assert!(!digest.contains("jane"));
    }

    #[test]
    fn a_short_key_is_refused() {
        assert!(Hasher::new(&SecretString::from("short".to_owned())).is_err());
    }
}
