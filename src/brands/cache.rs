//! Brands by slug, kept in the process for a short while: every `/api/v1/brands/{brand}/…` request needs
//! its brand, and brands change rarely (the API creates them and never changes or deletes one).
//!
//! Only brands found are kept (an unknown slug is asked again every time, so a brand created on another
//! replica is reachable at once), for [`TTL`] at most, so a brand changed by hand in the database is seen
//! within that time on every replica without any signalling between them. Entries are keyed by the
//! database too: one process may talk to several (the tests run many apps, each with its own database).

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use sqlx::PgPool;

use super::domain::Brand;
use super::repo;

/// How long a brand is served from memory before it is read again.
pub const TTL: Duration = Duration::from_secs(30);

/// More entries than any deployment has brands; past it the cache starts over rather than grow.
const MAX_ENTRIES: usize = 10_000;

type Key = (String, String);

static BRANDS: RwLock<Option<HashMap<Key, (Brand, Instant)>>> = RwLock::new(None);

fn key(db: &PgPool, slug: &str) -> Key {
    let options = db.connect_options();
    let database = format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    );
    (database, slug.to_owned())
}

fn cached(key: &Key) -> Option<Brand> {
    let slot = BRANDS.read().ok()?;
    let (brand, at) = slot.as_ref()?.get(key)?;
    (at.elapsed() < TTL).then(|| brand.clone())
}

fn keep(key: Key, brand: &Brand) {
    if let Ok(mut slot) = BRANDS.write() {
        let map = slot.get_or_insert_with(HashMap::new);
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, (brand.clone(), Instant::now()));
    }
}

/// The brand with this slug, from memory when it was read less than [`TTL`] ago.
pub async fn brand_by_slug(db: &PgPool, slug: &str) -> Result<Option<Brand>, sqlx::Error> {
    let key = key(db, slug);
    if let Some(brand) = cached(&key) {
        return Ok(Some(brand));
    }
    let brand = repo::brand_by_slug(db, slug).await?;
    if let Some(brand) = &brand {
        keep(key, brand);
    }
    Ok(brand)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use uuid::Uuid;

    fn brand(slug: &str) -> Brand {
        Brand {
            id: Uuid::now_v7(),
            slug: slug.to_owned(),
            name: "Maison".into(),
            timezone: "Europe/Paris".into(),
            default_locale: "fr-FR".into(),
            currency: "EUR".into(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn entries_are_per_database_and_expire() {
        let one = ("h:5432/one".to_owned(), "maison".to_owned());
        let two = ("h:5432/two".to_owned(), "maison".to_owned());
        let kept = brand("maison");
        keep(one.clone(), &kept);
        assert_eq!(cached(&one).map(|b| b.id), Some(kept.id));
        assert!(
            cached(&two).is_none(),
            "another database's brand of the same slug"
        );
        if let Ok(mut slot) = BRANDS.write()
            && let Some(entry) = slot.as_mut().and_then(|map| map.get_mut(&one))
            && let Some(old) = Instant::now().checked_sub(TTL)
        {
            entry.1 = old;
        }
        assert!(cached(&one).is_none(), "read again once older than the TTL");
    }
}
