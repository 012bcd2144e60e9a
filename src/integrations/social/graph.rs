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

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;
    use reqwest::header::{HeaderMap, HeaderValue};

    use super::*;

    fn response(status: u16, body: &str, headers: &[(&'static str, &str)]) -> RawResponse {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                map.insert(*name, value);
            }
        }
        RawResponse {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            headers: map,
            body: bytes::Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn the_graph_rate_limit_codes_are_rate_limits_with_the_regain_estimate() {
        for code in [4, 17, 32, 613] {
            let body =
                format!(r#"{{"error":{{"message":"limit","code":{code},"fbtrace_id":"x"}}}}"#);
            let usage =
                r#"{"1":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":7}]}"#;
            let outcome = classify(
                "facebook",
                response(400, &body, &[("x-business-use-case-usage", usage)]),
            );
            assert!(
                matches!(outcome, Err(ProviderError::RateLimited { retry_after: Some(wait), .. }) if wait == Duration::from_secs(420)),
                "{code}: {outcome:?}"
            );
        }
        let quota = r#"{"error":{"message":"quota","code":9,"error_subcode":2207042}}"#;
        assert!(matches!(
            classify("instagram", response(400, quota, &[])),
            Err(ProviderError::RateLimited { .. })
        ));
    }

    #[test]
    fn a_bad_token_is_auth_and_other_errors_keep_their_code() {
        let bad = r#"{"error":{"message":"Invalid OAuth access token","type":"OAuthException","code":190}}"#;
        assert!(matches!(
            classify("facebook", response(400, bad, &[])),
            Err(ProviderError::Auth { .. })
        ));
        let param = r#"{"error":{"message":"bad","code":100}}"#;
        assert!(
            matches!(classify("facebook", response(400, param, &[])), Err(ProviderError::Rejected { code, .. }) if code == "100")
        );
        assert!(matches!(
            classify("facebook", response(502, "<html>", &[])),
            Err(ProviderError::Unavailable { .. })
        ));
        assert!(matches!(
            classify("facebook", response(400, "not json", &[])),
            Err(ProviderError::Rejected { .. })
        ));
    }

    #[test]
    fn usage_is_the_highest_percentage_of_either_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-app-usage",
            HeaderValue::from_static(r#"{"call_count":12,"total_cputime":91,"total_time":3}"#),
        );
        assert_eq!(usage(&headers), (91, None));
        headers.insert("x-app-usage", HeaderValue::from_static("garbage"));
        assert_eq!(usage(&headers), (0, None));
        headers.insert(
            "x-app-usage",
            HeaderValue::from_static(r#"{"call_count":1e9}"#),
        );
        assert_eq!(usage(&headers).0, 100, "a hostile value is clamped");
    }
}
