//! The Graph API's error object and usage headers, shared by Facebook and Instagram.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde::Deserialize;

use crate::integrations::{ProviderError, RawResponse};

#[derive(Deserialize)]
struct ErrorBody {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: i64,
    #[serde(default)]
    error_subcode: Option<i64>,
}

/// Codes the Graph API uses for throttling: application (4), user (17), page (32), custom (613); on
/// Instagram, 9 with subcode 2207042 is the content publishing limit.
pub fn is_rate_limit(code: i64, subcode: Option<i64>) -> bool {
    matches!(code, 4 | 17 | 32 | 613) || (code == 9 && subcode == Some(2_207_042))
}

/// The highest percentage in `X-App-Usage` / `X-Business-Use-Case-Usage`, and the longest
/// `estimated_time_to_regain_access` (minutes) the latter names.
pub fn usage(headers: &HeaderMap) -> (u8, Option<Duration>) {
    let mut highest = 0.0_f64;
    let mut regain: Option<Duration> = None;
    let mut visit = |object: &serde_json::Map<String, serde_json::Value>| {
        for key in ["call_count", "total_cputime", "total_time"] {
            if let Some(value) = object.get(key).and_then(serde_json::Value::as_f64) {
                highest = highest.max(value);
            }
        }
        if let Some(minutes) = object
            .get("estimated_time_to_regain_access")
            .and_then(serde_json::Value::as_u64)
            .filter(|m| *m > 0)
        {
            let wait = Duration::from_secs(minutes.min(24 * 60) * 60);
            regain = Some(regain.map_or(wait, |r| r.max(wait)));
        }
    };
    let parse = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok())
    };
    if let Some(serde_json::Value::Object(app)) = parse("x-app-usage") {
        visit(&app);
    }
    if let Some(serde_json::Value::Object(business)) = parse("x-business-use-case-usage") {
        for entries in business.values() {
            for entry in entries.as_array().into_iter().flatten() {
                if let Some(object) = entry.as_object() {
                    visit(object);
                }
            }
        }
    }
    (highest.clamp(0.0, 100.0) as u8, regain)
}

/// Success is 2xx without an error object; the error object decides the kind otherwise.
pub fn classify(system: &'static str, response: RawResponse) -> Result<RawResponse, ProviderError> {
    let status = response.status.as_u16();
    if response.status.is_success() {
        return Ok(response);
    }
    let Ok(ErrorBody { error }) = response.json::<ErrorBody>(system) else {
        return Err(match status {
            429 => ProviderError::RateLimited {
                system,
                retry_after: None,
            },
            400..=499 => ProviderError::rejected(
                system,
                Some(status),
                format!("HTTP {status}"),
                response.text_snippet(),
            ),
            _ => ProviderError::Unavailable {
                system,
                reason: format!("HTTP {status}"),
            },
        });
    };
    let message: String = error.message.chars().take(300).collect();
    if is_rate_limit(error.code, error.error_subcode) {
        return Err(ProviderError::RateLimited {
            system,
            retry_after: usage(&response.headers).1,
        });
    }
    Err(match error.code {
        // 190: the token is invalid or expired; 102: the session; 10/200-299: the permission was removed.
        190 | 102 | 10 | 200..=299 => ProviderError::Auth { system, message },
        // Unknown or temporary errors of the platform itself.
        1 | 2 => ProviderError::Unavailable {
            system,
            reason: message,
        },
        _ if status >= 500 => ProviderError::Unavailable {
            system,
            reason: message,
        },
        code => ProviderError::rejected(system, Some(status), code.to_string(), message),
    })
}

/// Ids go into paths: only the digits (and `_` of a page post id) a Graph id has.
pub fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_digit() || b == b'_')
}
