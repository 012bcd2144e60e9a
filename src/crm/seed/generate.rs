//! The synthetic population as `COPY` text rows. Every value derives from the run's seed and the profile's
//! index (one small generator per profile), so a seed gives the same people and activities whatever the chunk
//! size; only the ids (fresh UUIDv7s) and the serial number in emails, phones, loyalty ids and order ids
//! change from one run to the next. Counters (activity counts, first/last activity, lifetime value) are
//! computed here from the very activities written, so they agree by construction.

use std::fmt::Write;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use super::dist::{self, Weighted};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// What to generate.
pub struct Population {
    pub seed: u64,
    pub profiles: u64,
    pub activities: u64,
    /// The serial number of profile 0 (the run's reserved range starts there).
    pub first_serial: u64,
    pub brand_id: Uuid,
    pub currency: String,
    /// The brand's store codes (`online` when it has none).
    pub stores: Vec<String>,
    /// Activities fall in the two years before this instant.
    pub now: DateTime<Utc>,
}

/// One chunk's rows, in the column order of [`super::COPY_STATEMENTS`].
#[derive(Debug, Default)]
pub struct Chunk {
    pub profiles: u64,
    pub identifiers: u64,
    pub consents: u64,
    pub activities: u64,
    pub profile_rows: String,
    pub identifier_rows: String,
    pub consent_rows: String,
    pub history_rows: String,
    pub activity_rows: String,
}

pub struct Generator {
    population: Population,
    brand: String,
    now_us: i64,
    total_weight: f64,
    next: u64,
    cumulative: f64,
    assigned: u64,
    new_id: Box<dyn FnMut() -> Uuid + Send>,
}

impl Generator {
    /// Fresh UUIDv7 ids.
    pub fn new(population: Population) -> Self {
        Self::with_ids(population, Box::new(Uuid::now_v7))
    }

    /// `new_id` makes every id (tests use a counter to compare two runs).
    pub fn with_ids(population: Population, new_id: Box<dyn FnMut() -> Uuid + Send>) -> Self {
        // Each profile's share of the activities is its weight over the total, so the total is exact.
        let total_weight = (0..population.profiles)
            .map(|index| weight(&mut rng_for(population.seed, index)))
            .sum();
        Self {
            brand: population.brand_id.to_string(),
            now_us: population.now.timestamp_micros(),
            population,
            total_weight,
            next: 0,
            cumulative: 0.0,
            assigned: 0,
            new_id,
        }
    }

    /// The next `size` profiles (fewer at the end), or `None` when every profile was generated.
    pub fn next_chunk(&mut self, size: u64) -> Option<Chunk> {
        if self.next >= self.population.profiles {
            return None;
        }
        let end = self
            .next
            .saturating_add(size.max(1))
            .min(self.population.profiles);
        let mut chunk = Chunk::default();
        for index in self.next..end {
            self.profile(index, &mut chunk);
        }
        self.next = end;
        Some(chunk)
    }

    fn activity_count(&mut self, weight: f64, index: u64) -> u64 {
        let total = self.population.activities;
        let target = if index + 1 == self.population.profiles {
            total
        } else {
            self.cumulative += weight;
            // Truncation is the point: profile i gets floor(C(i+1)) - floor(C(i)) activities.
            ((self.cumulative / self.total_weight) * total as f64).floor() as u64
        }
        .clamp(self.assigned, total);
        let count = target - self.assigned;
        self.assigned = target;
        count
    }

    fn profile(&mut self, index: u64, out: &mut Chunk) {
        let seed = self.population.seed;
        let mut rng = rng_for(seed, index);
        let activities = self.activity_count(weight(&mut rng), index);
        let serial = self.population.first_serial + index;
        let id = (self.new_id)();
        let country = pick(&mut rng, dist::COUNTRIES);
        let tier = *pick(&mut rng, dist::TIERS);
        let recent_buyer = rng.random_bool(dist::RECENT_BUYER_SHARE);
        let first = choose(&mut rng, country.first_names);
        let last = choose(&mut rng, country.last_names);
        let city = choose(&mut rng, country.cities);
        let email = format!(
            "{}.{}.{serial}@{}",
            first.to_ascii_lowercase(),
            last.to_ascii_lowercase(),
            choose(&mut rng, dist::EMAIL_DOMAINS)
        );
        let phone = per_mille(&mut rng, dist::PHONE_SHARE)
            .then(|| format!("+{}9{serial:09}", country.calling_code));
        let loyalty = per_mille(&mut rng, dist::LOYALTY_SHARE).then(|| format!("L{serial:010}"));
        let birthday = per_mille(&mut rng, dist::BIRTHDAY_SHARE).then(|| {
            let days = rng.random_range(0..57 * 365);
            NaiveDate::from_ymd_opt(1950, 1, 1)
                .and_then(|start| start.checked_add_days(chrono::Days::new(days)))
        });
        let tags: Vec<&str> = dist::TAGS
            .iter()
            .filter(|(_, share)| per_mille(&mut rng, *share))
            .map(|(tag, _)| *tag)
            .collect();

        let mut counts = [0u64; 8];
        let (mut first_at, mut last_at, mut lifetime_value) = (i64::MAX, i64::MIN, 0u64);
        for n in 0..activities {
            let (kind, ago) = if n == 0 && recent_buyer {
                (
                    dist::PURCHASE,
                    rng.random_range(0..dist::RECENT_DAYS * MICROS_PER_DAY),
                )
            } else {
                let kind = pick_index(&mut rng, dist::ACTIVITY_TYPES);
                let ago = if kind == dist::PURCHASE && !recent_buyer {
                    rng.random_range(
                        dist::RECENT_DAYS * MICROS_PER_DAY..dist::HISTORY_DAYS * MICROS_PER_DAY,
                    )
                } else {
                    rng.random_range(0..dist::HISTORY_DAYS * MICROS_PER_DAY)
                };
                (kind, ago)
            };
            let at = self.now_us - ago;
            counts[kind] += 1;
            first_at = first_at.min(at);
            last_at = last_at.max(at);
            let activity_id = (self.new_id)();
            let rows = &mut out.activity_rows;
            let _ = write!(
                rows,
                "{activity_id}\t{}\t{id}\t{}\t{}\t",
                self.brand,
                dist::ACTIVITY_TYPES[kind].0,
                Ts(at)
            );
            lifetime_value += self.properties(&mut rng, kind, serial, n, rows);
            let _ = writeln!(rows, "\tseed\t{}", Ts(at));
            out.activities += 1;
        }

        let first_seen = if activities > 0 {
            first_at
        } else {
            self.now_us - rng.random_range(0..dist::HISTORY_DAYS * MICROS_PER_DAY)
        } - rng.random_range(0..30 * MICROS_PER_DAY);
        self.profile_row(
            out,
            id,
            [first, last, &email],
            phone.as_deref(),
            birthday.flatten(),
            country,
            city,
            tier,
            &tags,
            (&counts, first_at, last_at, lifetime_value, activities),
            first_seen,
        );
        let seen = Ts(first_seen);
        let mut identifier = |kind: &str, value: &str| {
            let _ = writeln!(
                out.identifier_rows,
                "{}\t{kind}\t{value}\t{id}\tseed\t{seen}",
                self.brand
            );
            out.identifiers += 1;
        };
        identifier("email", &email);
        if let Some(phone) = &phone {
            identifier("phone", phone);
        }
        if let Some(loyalty) = &loyalty {
            identifier(dist::LOYALTY_KIND, loyalty);
        }
        let span = (self.now_us - first_seen).max(1);
        let mut consent =
            |rng: &mut SmallRng, channel: &str, purpose: &str, (yes, no): (u32, u32)| {
                let draw = rng.random_range(0..1000);
                let status = if draw < yes {
                    "granted"
                } else if draw < yes + no {
                    "denied"
                } else {
                    return;
                };
                let at = Ts(first_seen + rng.random_range(0..span));
                let brand = &self.brand;
                let _ = writeln!(
                    out.consent_rows,
                    "{brand}\t{id}\t{channel}\t{purpose}\t{status}\tseed\t{at}"
                );
                let _ = writeln!(
                    out.history_rows,
                    "{brand}\t{id}\t{channel}\t{purpose}\t{status}\tseed\t{at}\tset\t{at}"
                );
                out.consents += 1;
            };
        consent(&mut rng, "email", "marketing", dist::EMAIL_MARKETING);
        if phone.is_some() {
            consent(&mut rng, "sms", "marketing", dist::SMS_MARKETING);
            consent(&mut rng, "whatsapp", "outreach", dist::WHATSAPP_OUTREACH);
        }
        out.profiles += 1;
    }

    /// Writes the activity's properties (JSON) and returns its purchase amount (0 for other types).
    fn properties(
        &self,
        rng: &mut SmallRng,
        kind: usize,
        serial: u64,
        n: u64,
        out: &mut String,
    ) -> u64 {
        let store = choose(rng, &self.population.stores);
        match dist::ACTIVITY_TYPES[kind].0 {
            "purchase" => {
                let items = *pick(rng, dist::ITEM_COUNTS);
                let mut amount = 0u64;
                let _ = write!(out, r#"{{"order_id":"S{serial}-{n}","items":["#);
                for item in 0..items {
                    let (sku, price) = *pick(rng, dist::CATALOG);
                    let quantity = if sku.starts_with("FRA") && rng.random_bool(0.2) {
                        2
                    } else {
                        1
                    };
                    amount += u64::from(price) * quantity;
                    let comma = if item > 0 { "," } else { "" };
                    let _ = write!(
                        out,
                        r#"{comma}{{"sku":"{sku}","quantity":{quantity},"price":"{price}.00"}}"#
                    );
                }
                let _ = write!(
                    out,
                    r#"],"amount":"{amount}.00","currency":"{}","store":"{store}"}}"#,
                    self.population.currency
                );
                amount
            }
            "booking" => {
                let service = choose(rng, dist::BOOKING_SERVICES);
                let _ = write!(out, r#"{{"store":"{store}","service":"{service}"}}"#);
                0
            }
            "store_visit" => {
                let _ = write!(out, r#"{{"store":"{store}"}}"#);
                0
            }
            "event_attended" => {
                let _ = write!(out, r#"{{"event":"{}"}}"#, choose(rng, dist::EVENTS));
                0
            }
            "email_opened" | "email_clicked" => {
                let campaign = rng.random_range(1..=dist::CAMPAIGNS);
                let _ = write!(out, r#"{{"campaign":"c{campaign:02}"}}"#);
                0
            }
            "page_view" => {
                let _ = write!(out, r#"{{"path":"{}"}}"#, choose(rng, dist::PAGES));
                0
            }
            _ => {
                let topic = choose(rng, dist::CASE_TOPICS);
                let _ = write!(out, r#"{{"case":"CS-{serial}-{n}","topic":"{topic}"}}"#);
                0
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn profile_row(
        &self,
        out: &mut Chunk,
        id: Uuid,
        [first, last, email]: [&str; 3],
        phone: Option<&str>,
        birthday: Option<NaiveDate>,
        country: &dist::Country,
        city: &str,
        tier: &str,
        tags: &[&str],
        (counts, first_at, last_at, lifetime_value, activities): (&[u64; 8], i64, i64, u64, u64),
        first_seen: i64,
    ) {
        let rows = &mut out.profile_rows;
        let seen = Ts(first_seen).rfc3339();
        let _ = write!(
            rows,
            "{id}\t{}\t{first}\t{last}\t{email}\t{}\t",
            self.brand,
            phone.unwrap_or("\\N")
        );
        match birthday {
            Some(day) => {
                let _ = write!(rows, "{day}\t");
            }
            None => rows.push_str("\\N\t"),
        }
        let _ = write!(
            rows,
            "{}\t{}\t{city}\t{tier}\t{{{}}}\t{{",
            country.locale,
            country.code,
            tags.join(",")
        );
        let mut names = vec![
            "first_name",
            "last_name",
            "email",
            "locale",
            "country",
            "city",
            "tier",
        ];
        if phone.is_some() {
            names.push("phone");
        }
        if birthday.is_some() {
            names.push("birthday");
        }
        for (n, name) in names.iter().enumerate() {
            let comma = if n > 0 { "," } else { "" };
            let _ = write!(rows, r#"{comma}"{name}":"{seen}""#);
        }
        rows.push_str("}\t{");
        let mut comma = "";
        for (count, (kind, _)) in counts.iter().zip(dist::ACTIVITY_TYPES) {
            if *count > 0 {
                let _ = write!(rows, r#"{comma}"{kind}":{count}"#);
                comma = ",";
            }
        }
        rows.push_str("}\t");
        if activities > 0 {
            let _ = write!(rows, "{}\t{}\t", Ts(first_at), Ts(last_at));
        } else {
            rows.push_str("\\N\t\\N\t");
        }
        let _ = writeln!(rows, "{lifetime_value}\t{}", Ts(first_seen));
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn rng_for(seed: u64, index: u64) -> SmallRng {
    SmallRng::seed_from_u64(splitmix(seed ^ splitmix(index)))
}

/// A profile's share of the activities: 0.3 + Exp(1), so every profile gets some and a few get many.
fn weight(rng: &mut SmallRng) -> f64 {
    0.3 - (1.0 - rng.random::<f64>()).ln()
}

fn per_mille(rng: &mut SmallRng, share: u32) -> bool {
    rng.random_range(0..1000) < share
}

fn pick_index<T>(rng: &mut SmallRng, table: Weighted<T>) -> usize {
    let mut draw = rng.random_range(0..1000);
    for (index, (_, weight)) in table.iter().enumerate() {
        if draw < *weight {
            return index;
        }
        draw -= weight;
    }
    table.len() - 1
}

fn pick<T>(rng: &mut SmallRng, table: Weighted<T>) -> &'static T {
    &table[pick_index(rng, table)].0
}

fn choose<'a, S: AsRef<str>>(rng: &mut SmallRng, items: &'a [S]) -> &'a str {
    items[rng.random_range(0..items.len())].as_ref()
}

/// A timestamp (microseconds since the epoch, UTC) in PostgreSQL's text form.
struct Ts(i64);

impl Ts {
    fn rfc3339(&self) -> String {
        DateTime::from_timestamp_micros(self.0)
            .unwrap_or_default()
            .to_rfc3339()
    }
}

impl std::fmt::Display for Ts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = DateTime::from_timestamp_micros(self.0).unwrap_or_default();
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.timestamp_subsec_micros()
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn population(seed: u64, profiles: u64, activities: u64, first_serial: u64) -> Population {
        Population {
            seed,
            profiles,
            activities,
            first_serial,
            brand_id: Uuid::from_u128(7),
            currency: "EUR".to_owned(),
            stores: vec!["paris-1".to_owned(), "tokyo-1".to_owned()],
            now: DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
        }
    }

    fn all(population: Population, chunk: u64) -> Chunk {
        let mut n = 0u128;
        let mut generator = Generator::with_ids(
            population,
            Box::new(move || {
                n += 1;
                Uuid::from_u128(n)
            }),
        );
        let mut all = Chunk::default();
        while let Some(part) = generator.next_chunk(chunk) {
            all.profiles += part.profiles;
            all.identifiers += part.identifiers;
            all.consents += part.consents;
            all.activities += part.activities;
            all.profile_rows += &part.profile_rows;
            all.identifier_rows += &part.identifier_rows;
            all.consent_rows += &part.consent_rows;
            all.history_rows += &part.history_rows;
            all.activity_rows += &part.activity_rows;
        }
        all
    }

    #[test]
    fn weighted_tables_sum_to_a_thousand() {
        fn total<T>(table: Weighted<T>) -> u32 {
            table.iter().map(|(_, weight)| weight).sum()
        }
        assert_eq!(total(dist::TIERS), 1000);
        assert_eq!(total(dist::COUNTRIES), 1000);
        assert_eq!(total(dist::ACTIVITY_TYPES), 1000);
        assert_eq!(total(dist::ITEM_COUNTS), 1000);
        assert_eq!(total(dist::CATALOG), 1000);
        assert_eq!(dist::ACTIVITY_TYPES[dist::PURCHASE].0, "purchase");
    }

    #[test]
    fn the_totals_are_exact_and_the_rows_do_not_depend_on_the_chunk_size() {
        let small = all(population(42, 1_000, 12_345, 0), 7);
        let large = all(population(42, 1_000, 12_345, 0), 10_000);
        assert_eq!(small.profiles, 1_000);
        assert_eq!(small.activities, 12_345);
        assert_eq!(small.activity_rows.lines().count(), 12_345);
        assert_eq!(small.profile_rows.lines().count(), 1_000);
        assert_eq!(
            small.identifier_rows.lines().count() as u64,
            small.identifiers
        );
        assert_eq!(small.consent_rows.lines().count() as u64, small.consents);
        assert_eq!(small.history_rows.lines().count() as u64, small.consents);
        assert_eq!(small.profile_rows, large.profile_rows);
        assert_eq!(small.activity_rows, large.activity_rows);
        assert_eq!(small.identifier_rows, large.identifier_rows);
    }

    #[test]
    fn a_seed_gives_the_same_people_and_another_run_fresh_identifiers() {
        let one = all(population(1, 200, 2_000, 0), 50);
        let again = all(population(1, 200, 2_000, 0), 50);
        let other_seed = all(population(2, 200, 2_000, 0), 50);
        let next_batch = all(population(1, 200, 2_000, 200), 50);
        assert_eq!(one.profile_rows, again.profile_rows);
        assert_ne!(one.profile_rows, other_seed.profile_rows);
        let values = |chunk: &Chunk| -> std::collections::HashSet<String> {
            chunk
                .identifier_rows
                .lines()
                .map(|line| line.split('\t').take(3).collect::<Vec<_>>().join(":"))
                .collect()
        };
        assert_eq!(values(&one).len() as u64, one.identifiers);
        assert!(values(&one).is_disjoint(&values(&next_batch)));
    }

    #[test]
    fn counters_agree_with_the_activities_written() {
        let chunk = all(population(9, 500, 6_000, 0), 100);
        let mut seen: HashMap<&str, (HashMap<&str, u64>, String, String, u64)> = HashMap::new();
        for line in chunk.activity_rows.lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 8, "{line}");
            let properties: serde_json::Value = serde_json::from_str(fields[5]).unwrap();
            let entry = seen.entry(fields[2]).or_insert_with(|| {
                (
                    HashMap::new(),
                    fields[4].to_owned(),
                    fields[4].to_owned(),
                    0,
                )
            });
            *entry.0.entry(fields[3]).or_default() += 1;
            entry.1 = entry.1.clone().min(fields[4].to_owned());
            entry.2 = entry.2.clone().max(fields[4].to_owned());
            if fields[3] == "purchase" {
                let amount = properties["amount"].as_str().unwrap();
                entry.3 += amount.trim_end_matches(".00").parse::<u64>().unwrap();
            }
        }
        for line in chunk.profile_rows.lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 18, "{line}");
            let counts: HashMap<String, u64> = serde_json::from_str(fields[13]).unwrap();
            let _: serde_json::Value = serde_json::from_str(fields[12]).unwrap();
            let (types, first, last, value) = &seen[fields[0]];
            assert_eq!(counts.len(), types.len());
            for (kind, count) in types {
                assert_eq!(counts[*kind], *count);
            }
            assert_eq!((fields[14], fields[15]), (first.as_str(), last.as_str()));
            assert_eq!(fields[16].parse::<u64>().unwrap(), *value);
            assert!(
                fields[17] <= fields[14],
                "first seen before the first activity"
            );
        }
    }

    #[test]
    fn the_reference_segment_holds_about_a_tenth_of_the_profiles() {
        let chunk = all(population(3, 20_000, 200_000, 0), 5_000);
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let since = Ts(now.timestamp_micros() - dist::RECENT_DAYS * MICROS_PER_DAY).to_string();
        let recent_buyers: std::collections::HashSet<&str> = chunk
            .activity_rows
            .lines()
            .map(|line| line.split('\t').collect::<Vec<_>>())
            .filter(|f| f[3] == "purchase" && f[4] > since.as_str())
            .map(|f| f[2])
            .collect();
        let members = chunk
            .profile_rows
            .lines()
            .map(|line| line.split('\t').collect::<Vec<_>>())
            .filter(|f| matches!(f[10], "gold" | "platinum") && f[8] == "FR")
            .filter(|f| recent_buyers.contains(f[0]))
            .count();
        // 10 % of 20,000, binomial standard deviation ≈ 42.
        assert!((1_800..=2_200).contains(&members), "{members} members");
        let share = recent_buyers.len() as f64 / 20_000.0;
        assert!((0.47..=0.53).contains(&share), "{share}");
    }
}
