//! The identifiers that arrive in paths. Each parses itself (`FromStr`, and `Deserialize` through it). A
//! handler takes [`PathId<InvoiceId>`] and asks for the id once the caller is authenticated
//! (`path.get()?`): a malformed id is answered with the id's [`Rejection`], the same problem for every route,
//! but only after the session check, so a caller whose session has ended gets its 401 whatever the path.

use std::fmt;
use std::str::FromStr;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::{Deserialize, Deserializer};
use uuid::Uuid;

use crate::errors::{ApiError, ErrorCode};
use crate::integrations::salesforce::soql;

/// How a path segment that is not an id of its kind is answered. The deserialisation error carries the
/// detail, by which the path error handler finds the rejection again ([`Rejection::find`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    pub code: ErrorCode,
    pub detail: &'static str,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.detail)
    }
}

impl std::error::Error for Rejection {}

impl Rejection {
    /// Every id's rejection, for the path error handler.
    pub const ALL: [Rejection; 5] = [
        InvoiceId::REJECTION,
        SubscriptionId::REJECTION,
        OrderId::REJECTION,
        CaseId::REJECTION,
        Sku::REJECTION,
    ];

    /// The rejection whose detail is `message` (the text of a path deserialisation error).
    pub fn find(message: &str) -> Option<Rejection> {
        Self::ALL
            .into_iter()
            .find(|rejection| rejection.detail == message)
    }
}

/// A route's one path id, parsed when the handler asks for it ([`PathId::get`]) rather than while the
/// arguments are extracted. Extractors run side by side: a `web::Path<InvoiceId>` fails at once while the
/// authentication extractor still waits on the session check, so a malformed id would be answered before
/// (and instead of) an ended session's 401.
pub struct PathId<T>(Result<T, ApiError>);

impl<T> PathId<T> {
    /// The id, or the id's problem (400 `invalid-path-parameter`, or 404 for a case id).
    pub fn get(self) -> Result<T, ApiError> {
        self.0
    }
}

impl<T: FromStr<Err = Rejection> + 'static> FromRequest for PathId<T> {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // The segment as `web::Path` decodes it (percent-decoded); a route has exactly one id.
        let parsed = match req.match_info().load::<(String,)>() {
            Ok((raw,)) => raw
                .parse::<T>()
                .map_err(|rejection| ApiError::new(rejection.code).with_detail(rejection.detail)),
            Err(_) => Err(ApiError::new(ErrorCode::InvalidPathParameter)
                .with_detail("The path is not valid.")),
        };
        std::future::ready(Ok(PathId(parsed)))
    }
}

/// Deserialises through `FromStr`, so a path segment and a parsed string are checked alike.
fn via_from_str<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = Rejection>,
{
    let raw = String::deserialize(deserializer)?;
    raw.parse().map_err(serde::de::Error::custom)
}

/// Digits only (no sign, no spaces), at least 1, within `u64`.
fn positive_id(raw: &str) -> Option<u64> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse::<u64>().ok().filter(|id| *id > 0)
}

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident, $detail:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u64);

        impl $name {
            pub const REJECTION: Rejection = Rejection {
                code: ErrorCode::InvalidPathParameter,
                detail: $detail,
            };

            pub fn get(self) -> u64 {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = Rejection;

            fn from_str(raw: &str) -> Result<Self, Rejection> {
                positive_id(raw).map($name).ok_or(Self::REJECTION)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                via_from_str(deserializer)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

numeric_id!(
    /// A WHMCS invoice id: a positive whole number. Malformed: 400 `invalid-path-parameter`.
    InvoiceId,
    "An invoice id is a positive whole number."
);

numeric_id!(
    /// A WHMCS service (subscription) id: a positive whole number. Malformed: 400 `invalid-path-parameter`.
    SubscriptionId,
    "A subscription id is a positive whole number."
);

/// An order id: a UUID. Malformed: 400 `invalid-path-parameter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderId(Uuid);

impl OrderId {
    pub const REJECTION: Rejection = Rejection {
        code: ErrorCode::InvalidPathParameter,
        detail: "An order id is a UUID.",
    };

    pub fn get(self) -> Uuid {
        self.0
    }
}

impl FromStr for OrderId {
    type Err = Rejection;

    fn from_str(raw: &str) -> Result<Self, Rejection> {
        Uuid::parse_str(raw)
            .map(OrderId)
            .map_err(|_| Self::REJECTION)
    }
}

impl<'de> Deserialize<'de> for OrderId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        via_from_str(deserializer)
    }
}

/// A Salesforce Case id: 15 or 18 letters and digits. A path segment that cannot be one names no case of
/// the customer's, so it is a 404 `not-found` like any other unknown case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CaseId(String);

impl CaseId {
    pub const REJECTION: Rejection = Rejection {
        code: ErrorCode::NotFound,
        detail: "No such support case on your account.",
    };

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CaseId {
    type Err = Rejection;

    fn from_str(raw: &str) -> Result<Self, Rejection> {
        if soql::is_id(raw) {
            Ok(CaseId(raw.to_owned()))
        } else {
            Err(Self::REJECTION)
        }
    }
}

impl<'de> Deserialize<'de> for CaseId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        via_from_str(deserializer)
    }
}

/// A catalog product's stable identifier, e.g. `SIM-DATA-20GB`: 1–64 ASCII letters, digits, `.`, `-`, `_`.
/// Malformed in a path: 400 `invalid-path-parameter`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sku(String);

impl Sku {
    pub const MAX_LENGTH: usize = 64;
    pub const REJECTION: Rejection = Rejection {
        code: ErrorCode::InvalidPathParameter,
        detail: "A sku is 1–64 letters, digits, dots, dashes or underscores.",
    };

    pub fn is_valid(raw: &str) -> bool {
        (1..=Self::MAX_LENGTH).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Sku {
    type Err = Rejection;

    fn from_str(raw: &str) -> Result<Self, Rejection> {
        if Self::is_valid(raw) {
            Ok(Sku(raw.to_owned()))
        } else {
            Err(Self::REJECTION)
        }
    }
}

impl<'de> Deserialize<'de> for Sku {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        via_from_str(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_are_positive_digits_only() {
        assert_eq!("1001".parse::<InvoiceId>().map(InvoiceId::get), Ok(1001));
        assert_eq!(
            "18446744073709551615"
                .parse::<SubscriptionId>()
                .map(SubscriptionId::get),
            Ok(u64::MAX)
        );
        for bad in [
            "",
            "0",
            "000",
            "+5",
            "-5",
            " 5",
            "5 ",
            "1e3",
            "18446744073709551616",
            "１２３",
            "12é",
        ] {
            assert_eq!(
                bad.parse::<InvoiceId>(),
                Err(InvoiceId::REJECTION),
                "{bad:?}"
            );
            assert_eq!(
                bad.parse::<SubscriptionId>(),
                Err(SubscriptionId::REJECTION),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn order_ids_are_uuids() {
        let id = Uuid::now_v7();
        assert_eq!(id.to_string().parse::<OrderId>().map(OrderId::get), Ok(id));
        for bad in ["", "not-a-uuid", "ü", &"a".repeat(5000)] {
            assert_eq!(bad.parse::<OrderId>(), Err(OrderId::REJECTION));
        }
    }

    #[test]
    fn case_ids_and_skus_have_their_shapes() {
        assert!("500AAAAAAAAAAAA".parse::<CaseId>().is_ok());
        assert!("500AAAAAAAAAAAAAAA".parse::<CaseId>().is_ok());
        for bad in [
            "",
            "500",
            "500AAAAAAAAAAA-",
            "500AAAAAAAAAAAé",
            "５００AAAAAAAAAAAA",
        ] {
            assert_eq!(bad.parse::<CaseId>(), Err(CaseId::REJECTION), "{bad:?}");
        }
        assert!("SIM-DATA_20GB.v2".parse::<Sku>().is_ok());
        assert!("A".repeat(64).parse::<Sku>().is_ok());
        for bad in ["", "A B", "SIM/1", "é", "ＳＩＭ", &"A".repeat(65)] {
            assert_eq!(bad.parse::<Sku>(), Err(Sku::REJECTION), "{bad:?}");
        }
    }

    #[test]
    fn every_rejection_is_found_by_its_detail() {
        for rejection in Rejection::ALL {
            assert_eq!(Rejection::find(rejection.detail), Some(rejection));
        }
        assert_eq!(Rejection::find("something else"), None);
    }

    #[test]
    fn ids_deserialise_through_from_str() {
        let id: Result<InvoiceId, _> = serde_json::from_str("\"42\"");
        assert_eq!(id.map(InvoiceId::get).ok(), Some(42));
        let bad: Result<InvoiceId, _> = serde_json::from_str("\"x\"");
        assert!(bad.is_err_and(|error| error.to_string().starts_with(InvoiceId::REJECTION.detail)));
    }
}
