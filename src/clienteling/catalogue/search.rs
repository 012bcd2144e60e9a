//! Product search: one query a page. With `q`, a product matches by SKU prefix, by full text with every word
//! a prefix (`sac cuir` → `sac:* & cuir:*`), or by trigram word similarity for typos (`capucnies`); it is
//! ranked by SKU prefix first, then text rank plus similarity, the SKU breaking ties, and the cursor is the
//! last (score, SKU). Without `q`, the brand's products in SKU order, the cursor the last SKU. Each match arm
//! has its own index (`clienteling_products_sku`, `_fts`, `_trgm`).
//!
//! A short `q` (no word of three characters: the first letters an advisor types) holds no whole trigram and
//! no typo to forgive, while as a word prefix it matches nearly every product (`a:*`), each then ranked: it
//! scored the whole catalogue. It is a prefix of the SKU or of the name instead, two ranges on the btree
//! indexes `clienteling_products_sku` and `_name`: SKU matches first, then names, in SKU order.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::store::ProductRow;

/// The trigram word similarity from which a word is a near match (set for the transaction, so `<%` keeps
/// using the index).
const SIMILARITY: &str = "0.4";
/// Words of `q` used at most.
pub const MAX_WORDS: usize = 8;
/// A `q` whose words are all shorter than this is a prefix search (see the module's notes).
const SHORT_WORD: usize = 3;

#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub q: Option<Text>,
    pub category: Option<String>,
    pub colour: Option<String>,
    pub material: Option<String>,
    /// `None`: active and inactive.
    pub active: Option<bool>,
    pub after: Option<After>,
}

/// `q` prepared for each arm of the match.
#[derive(Debug, Clone)]
pub struct Text {
    /// Lower-cased, for trigram similarity.
    pub lowered: String,
    /// A `LIKE` prefix pattern on the lower-cased SKU; none when `q` has spaces.
    pub sku_prefix: Option<String>,
    /// `word:* & word:*`, letters and digits only.
    pub tsquery: String,
    /// Every word shorter than three characters: matched as a prefix of the SKU or the name only.
    pub short: bool,
}

/// The range `[from, to)` of strings in byte ("C") order that start with `prefix`: bounds an index scan can
/// use whatever the plan (a `LIKE` on a parameter cannot, once the plan is generic).
fn prefix_range(prefix: &str) -> (String, String) {
    (prefix.to_owned(), format!("{prefix}\u{10FFFF}"))
}

impl Text {
    /// `None` when `q` has no letter or digit to search by.
    pub fn parse(q: &str) -> Option<Text> {
        let lowered = q.trim().to_lowercase();
        let words: Vec<&str> = lowered
            .split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
            .take(MAX_WORDS)
            .collect();
        if words.is_empty() {
            return None;
        }
        let short = words.iter().all(|word| word.chars().count() < SHORT_WORD);
        let words: Vec<String> = words.iter().map(|word| format!("{word}:*")).collect();
        let sku_prefix = (!lowered.contains(char::is_whitespace)).then(|| {
            let escaped = lowered
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("{escaped}%")
        });
        Some(Text {
            tsquery: words.join(" & "),
            sku_prefix,
            lowered,
            short,
        })
    }
}

/// Where the previous page ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct After {
    /// The score's bits (exact, so the next page starts exactly after it); absent without `q`.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u32>,
    /// The lower-cased SKU.
    #[serde(rename = "k")]
    pub sku: String,
}

impl After {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(cursor: &str) -> Option<After> {
        let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        // A SKU the catalogue could hold: a NUL (which PostgreSQL text refuses) or a long string is forged.
        serde_json::from_slice(&raw)
            .ok()
            .filter(|after: &After| after.sku.chars().count() <= 160 && !after.sku.contains('\0'))
    }
}

/// A page of matches, `limit` at most, and the cursor of the last when more may follow.
pub async fn page(
    conn: &mut PgConnection,
    brand_id: Uuid,
    filters: &Filters,
    limit: i64,
) -> Result<(Vec<ProductRow>, Option<After>), sqlx::Error> {
    let lower = |value: &Option<String>| value.as_deref().map(str::to_lowercase);
    let (category, colour, material) = (
        lower(&filters.category),
        lower(&filters.colour),
        lower(&filters.material),
    );
    let after_sku = filters.after.as_ref().map(|after| after.sku.clone());
    let mut items: Vec<(ProductRow, Option<f32>)> = match &filters.q {
        None => sqlx::query_as!(
            ProductRow,
            r#"SELECT id, sku, name, category, colour, material, description, image_url, price_hundredths,
                      currency, active, inactive_reason, source_modified_at, updated_at
               FROM clienteling_products
               WHERE brand_id = $1
                 AND ($2::bool IS NULL OR active = $2)
                 AND ($3::text IS NULL OR lower(category) = $3)
                 AND ($4::text IS NULL OR lower(colour) = $4)
                 AND ($5::text IS NULL OR lower(material) = $5)
                 AND ($6::text IS NULL OR lower(sku) COLLATE "C" > $6)
               ORDER BY lower(sku) COLLATE "C"
               LIMIT $7"#,
            brand_id,
            filters.active,
            category,
            colour,
            material,
            after_sku,
            limit + 1
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|row| (row, None))
        .collect(),
        Some(text) if text.short => {
            let after_score = filters
                .after
                .as_ref()
                .and_then(|after| after.score)
                .map(f32::from_bits);
            let (name_from, name_to) = prefix_range(&text.lowered);
            let (sku_from, sku_to) = match text.sku_prefix {
                Some(_) => {
                    let (from, to) = prefix_range(&text.lowered);
                    (Some(from), Some(to))
                }
                None => (None, None),
            };
            sqlx::query!(
                r#"SELECT id, sku, name, category, colour, material, description, image_url, price_hundredths,
                          currency, active, inactive_reason, source_modified_at, updated_at, score AS "score!"
                   FROM (
                       SELECT p.*,
                              (CASE WHEN lower(p.sku) COLLATE "C" >= $2 AND lower(p.sku) COLLATE "C" < $3
                                    THEN 2 ELSE 1 END)::real AS score
                       FROM clienteling_products p
                       WHERE p.brand_id = $1
                         AND ((lower(p.sku) COLLATE "C" >= $2 AND lower(p.sku) COLLATE "C" < $3)
                              OR (lower(p.name) COLLATE "C" >= $4 AND lower(p.name) COLLATE "C" < $5))
                         AND ($6::bool IS NULL OR p.active = $6)
                         AND ($7::text IS NULL OR lower(p.category) = $7)
                         AND ($8::text IS NULL OR lower(p.colour) = $8)
                         AND ($9::text IS NULL OR lower(p.material) = $9)
                   ) ranked
                   WHERE $10::real IS NULL OR score < $10
                         OR (score = $10 AND lower(sku) COLLATE "C" > $11)
                   ORDER BY score DESC, lower(sku) COLLATE "C"
                   LIMIT $12"#,
                brand_id,
                sku_from,
                sku_to,
                name_from,
                name_to,
                filters.active,
                category,
                colour,
                material,
                after_score,
                after_sku,
                limit + 1
            )
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|row| {
                (
                    ProductRow {
                        id: row.id,
                        sku: row.sku,
                        name: row.name,
                        category: row.category,
                        colour: row.colour,
                        material: row.material,
                        description: row.description,
                        image_url: row.image_url,
                        price_hundredths: row.price_hundredths,
                        currency: row.currency,
                        active: row.active,
                        inactive_reason: row.inactive_reason,
                        source_modified_at: row.source_modified_at,
                        updated_at: row.updated_at,
                    },
                    Some(row.score),
                )
            })
            .collect()
        }
        Some(text) => {
            sqlx::query_scalar!(
                "SELECT set_config('pg_trgm.word_similarity_threshold', $1, true)",
                SIMILARITY
            )
            .fetch_one(&mut *conn)
            .await?;
            let after_score = filters
                .after
                .as_ref()
                .and_then(|after| after.score)
                .map(f32::from_bits);
            sqlx::query!(
                r#"SELECT id, sku, name, category, colour, material, description, image_url, price_hundredths,
                          currency, active, inactive_reason, source_modified_at, updated_at, score AS "score!"
                   FROM (
                       SELECT p.*,
                              (CASE WHEN lower(p.sku) COLLATE "C" LIKE $2 THEN 2 ELSE 0 END
                               + ts_rank(p.search_vector, to_tsquery('simple', $3))
                               + word_similarity($4, p.search_text))::real AS score
                       FROM clienteling_products p
                       WHERE p.brand_id = $1
                         AND (lower(p.sku) COLLATE "C" LIKE $2
                              OR p.search_vector @@ to_tsquery('simple', $3)
                              OR $4 <% p.search_text)
                         AND ($5::bool IS NULL OR p.active = $5)
                         AND ($6::text IS NULL OR lower(p.category) = $6)
                         AND ($7::text IS NULL OR lower(p.colour) = $7)
                         AND ($8::text IS NULL OR lower(p.material) = $8)
                   ) ranked
                   WHERE $9::real IS NULL OR score < $9
                         OR (score = $9 AND lower(sku) COLLATE "C" > $10)
                   ORDER BY score DESC, lower(sku) COLLATE "C"
                   LIMIT $11"#,
                brand_id,
                text.sku_prefix,
                text.tsquery,
                text.lowered,
                filters.active,
                category,
                colour,
                material,
                after_score,
                after_sku,
                limit + 1
            )
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|row| {
                (
                    ProductRow {
                        id: row.id,
                        sku: row.sku,
                        name: row.name,
                        category: row.category,
                        colour: row.colour,
                        material: row.material,
                        description: row.description,
                        image_url: row.image_url,
                        price_hundredths: row.price_hundredths,
                        currency: row.currency,
                        active: row.active,
                        inactive_reason: row.inactive_reason,
                        source_modified_at: row.source_modified_at,
                        updated_at: row.updated_at,
                    },
                    Some(row.score),
                )
            })
            .collect()
        }
    };
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|(row, score)| After {
            score: score.map(f32::to_bits),
            sku: row.sku.to_lowercase(),
        })
    } else {
        None
    };
    Ok((items.into_iter().map(|(row, _)| row).collect(), next))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn words_become_prefixes_and_only_letters_and_digits_reach_the_tsquery() {
        let text = Text::parse("  Sac CUIR!  ").unwrap();
        assert_eq!(text.tsquery, "sac:* & cuir:*");
        assert_eq!(text.sku_prefix, None);
        let text = Text::parse("ma-cap_%").unwrap();
        assert_eq!(text.tsquery, "ma:* & cap:*");
        assert_eq!(text.sku_prefix.as_deref(), Some("ma-cap\\_\\%%"));
        let text = Text::parse("x' | !y & (z:*)").unwrap();
        assert_eq!(text.tsquery, "x:* & y:* & z:*");
        assert!(Text::parse(" -- !! ").is_none());
        let many = Text::parse(&"a ".repeat(50)).unwrap();
        assert_eq!(many.tsquery.matches(":*").count(), MAX_WORDS);
    }

    #[test]
    fn queries_without_a_word_of_three_characters_are_prefix_searches() {
        assert!(Text::parse("a").unwrap().short);
        assert!(Text::parse(" Ma ").unwrap().short);
        assert!(Text::parse("ma-c").unwrap().short);
        assert!(!Text::parse("sac").unwrap().short);
        assert!(!Text::parse("sa cuir").unwrap().short);
        let (from, to) = prefix_range("ma");
        assert!(from.as_str() <= "ma" && "ma-cap" < to.as_str() && "mz" > to.as_str());
    }

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let after = After {
            score: Some(1.25_f32.to_bits()),
            sku: "ma-cap".into(),
        };
        assert_eq!(After::decode(&after.encode()), Some(after));
        assert_eq!(After::decode("not base64 !"), None);
        assert_eq!(
            After::decode(&URL_SAFE_NO_PAD.encode(b"{\"k\":\"a\\u0000\"}")),
            None
        );
        assert_eq!(
            After::decode(&URL_SAFE_NO_PAD.encode(b"{\"s\":\"x\"}")),
            None
        );
    }
}
