//! `?limit=…&cursor=…`, the same on every list. A list's query type flattens a [`Pagination`] next to its
//! filters (`#[serde(flatten)] #[param(ignore)] pub page: Pagination<ThisList>`) and its `#[utoipa::path]`
//! lists both (`params(ThisListQuery, Pagination<ThisList>)`); the handler validates it with the request's
//! other fields (`page.validate()`, see `errors::validation`).
//!
//! - `limit`: 1–[`MAX_LIMIT`], the list's [`Listing::DEFAULT_LIMIT`] when absent. Not a number that fits
//!   `u16` (`abc`, `-1`, `70000`): 400 `invalid-query-parameter`; out of range (`0`, `101`): 422
//!   `validation-failed` with a `limit` field error.
//! - `cursor`: opaque to clients, the `next_cursor` of the previous page; each list decodes (and signs, for
//!   invoices) its own and answers a bad one.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::IntoParams;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use validator::{Validate, ValidationError};

use crate::errors::rule;

pub const MAX_LIMIT: u16 = 100;

/// What differs between lists: the default page size and what the cursor is bound to.
pub trait Listing {
    const DEFAULT_LIMIT: u16;
    const CURSOR_DESCRIPTION: &'static str = "`next_cursor` of the previous page.";
    /// What every cursor the list issues looks like (URL-safe base64 without padding, parts joined by
    /// dots); a string of any other shape cannot decode, so the list refuses it.
    const CURSOR_PATTERN: &'static str = "^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$";
}

/// A page size as sent; [`Limit::check`] is its range rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Limit(u16);

impl Limit {
    pub fn get(self) -> u16 {
        self.0
    }

    /// The `validator` rule: 1–[`MAX_LIMIT`], else `out_of_range`.
    pub fn check(limit: &Limit) -> Result<(), ValidationError> {
        if (1..=MAX_LIMIT).contains(&limit.0) {
            Ok(())
        } else {
            Err(rule("out_of_range", format!("Use 1–{MAX_LIMIT}.")))
        }
    }

    fn default_for<L: Listing>() -> Limit {
        Limit(L::DEFAULT_LIMIT)
    }
}

/// Query strings arrive as text, and a flattened field reaches us as text too: both a number and its
/// decimal digits are accepted, within `u16`.
impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LimitVisitor;

        impl Visitor<'_> for LimitVisitor {
            type Value = Limit;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number from 1 to 100")
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Limit, E> {
                u16::try_from(value)
                    .map(Limit)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(value), &self))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Limit, E> {
                u16::try_from(value)
                    .map(Limit)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(value), &self))
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Limit, E> {
                value
                    .parse::<u16>()
                    .map(Limit)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(value), &self))
            }
        }

        deserializer.deserialize_any(LimitVisitor)
    }
}

/// The opaque `next_cursor` of a previous page, as sent. The list it came from decodes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `limit` and `cursor` of the list `L`.
#[derive(Deserialize, Validate)]
#[serde(bound = "")]
pub struct Pagination<L: Listing> {
    #[serde(default = "Limit::default_for::<L>")]
    #[validate(custom(function = "Limit::check"))]
    pub limit: Limit,
    pub cursor: Option<Cursor>,
    #[serde(skip)]
    listing: PhantomData<L>,
}

impl<L: Listing> fmt::Debug for Pagination<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pagination")
            .field("limit", &self.limit)
            .field("cursor", &self.cursor)
            .finish()
    }
}

impl<L: Listing> Pagination<L> {
    /// The page size, once validated.
    pub fn size(&self) -> u16 {
        self.limit.get()
    }
}

impl<L: Listing> IntoParams for Pagination<L> {
    fn into_params(parameter_in: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let place = || parameter_in().unwrap_or(ParameterIn::Query);
        let limit = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
            .minimum(Some(1))
            .maximum(Some(MAX_LIMIT))
            .default(Some(serde_json::Value::from(L::DEFAULT_LIMIT)));
        let cursor = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .pattern(Some(L::CURSOR_PATTERN));
        vec![
            ParameterBuilder::new()
                .name("limit")
                .parameter_in(place())
                .required(Required::False)
                .description(Some(format!(
                    "1–{MAX_LIMIT}, default {}.",
                    L::DEFAULT_LIMIT
                )))
                .schema(Some(limit))
                .build(),
            ParameterBuilder::new()
                .name("cursor")
                .parameter_in(place())
                .required(Required::False)
                .description(Some(L::CURSOR_DESCRIPTION))
                .schema(Some(cursor))
                .build(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Twenty;

    impl Listing for Twenty {
        const DEFAULT_LIMIT: u16 = 20;
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Query {
        status: Option<String>,
        #[serde(flatten)]
        page: Pagination<Twenty>,
    }

    fn query(text: &str) -> Result<Query, serde_urlencoded::de::Error> {
        serde_urlencoded::from_str(text)
    }

    #[test]
    fn absent_parameters_take_the_lists_defaults() {
        let parsed = query("").map(|q| (q.status, q.page.size(), q.page.cursor));
        assert_eq!(parsed.ok(), Some((None, 20, None)));
    }

    #[test]
    fn limit_and_cursor_flatten_next_to_filters() {
        let parsed = query("status=open&limit=5&cursor=abc%2E")
            .map(|q| (q.status, q.page.size(), q.page.cursor.map(|c| c.0)));
        assert_eq!(
            parsed.ok(),
            Some((Some("open".into()), 5, Some("abc.".into())))
        );
    }

    #[test]
    fn a_limit_that_is_no_u16_does_not_parse_and_one_out_of_range_fails_validation() {
        for bad in [
            "limit=abc",
            "limit=-1",
            "limit=70000",
            "limit=",
            "limit=%E2%91%A0",
            "colour=red",
        ] {
            assert!(query(bad).is_err(), "{bad}");
        }
        for (text, valid) in [
            ("limit=0", false),
            ("limit=1", true),
            ("limit=100", true),
            ("limit=101", false),
        ] {
            let page = query(text).map(|q| q.page.validate().is_ok());
            assert_eq!(page.ok(), Some(valid), "{text}");
        }
    }

    #[test]
    fn numbers_deserialise_too() {
        let limit: Result<Limit, _> = serde_json::from_str("42");
        assert_eq!(limit.ok(), Some(Limit(42)));
        assert!(serde_json::from_str::<Limit>("-1").is_err());
        assert!(serde_json::from_str::<Limit>("65536").is_err());
    }
}
