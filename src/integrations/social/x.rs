//! X API v2: `POST /2/tweets {"text"}` → `{"data":{"id","text"}}`; `GET /2/users/{id}/tweets` to find a
//! post whose answer we never read; the OAuth 2.0 refresh-token grant (`POST /2/oauth2/token`, the client's
//! basic credentials; the refresh token rotates). A 429 carries `x-rate-limit-reset` (epoch seconds), never
//! `Retry-After`; a 403 "duplicate content" is permanent.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{Accepted, same_text};
use crate::config::ProviderSettings;
use crate::integrations::{ProviderClient, ProviderError, RawResponse};

const SYSTEM: &str = "x";

#[derive(Clone)]
pub struct XClient {
    transport: ProviderClient,
    base: String,
    client_id: String,
    client_secret: SecretString,
}

/// A refreshed token pair.
pub struct XTokens {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_in: Option<Duration>,
}

#[derive(Deserialize)]
struct Created {
    data: Tweet,
}

#[derive(Deserialize)]
struct Tweet {
    id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct Timeline {
    #[serde(default)]
    data: Vec<Tweet>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct Problem {
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

/// How long until `x-rate-limit-reset` (at least a second; a reset in the past means "now, try again").
fn until_reset(headers: &HeaderMap) -> Option<Duration> {
    let reset = headers
        .get("x-rate-limit-reset")?
        .to_str()
        .ok()?
        .trim()
        .parse::<i64>()
        .ok()?;
    let wait = reset
        .saturating_sub(Utc::now().timestamp())
        .clamp(1, 24 * 3600);
    Some(Duration::from_secs(wait.unsigned_abs()))
}

fn classify(response: RawResponse) -> Result<RawResponse, ProviderError> {
    let status = response.status.as_u16();
    if response.status.is_success() {
        return Ok(response);
    }
    let problem = response.json::<Problem>(SYSTEM).ok();
    let detail = problem
        .as_ref()
        .and_then(|p| p.detail.clone().or_else(|| p.title.clone()))
        .unwrap_or_else(|| format!("HTTP {status}"));
    let detail: String = detail.chars().take(300).collect();
    Err(match status {
        429 => ProviderError::RateLimited {
            system: SYSTEM,
            retry_after: until_reset(&response.headers).or(Some(Duration::from_secs(60))),
        },
        401 => ProviderError::Auth {
            system: SYSTEM,
            message: detail,
        },
        403 if detail.to_ascii_lowercase().contains("duplicate") => {
            ProviderError::rejected(SYSTEM, Some(403), "duplicate_content", detail)
        }
        400..=499 => {
            ProviderError::rejected(SYSTEM, Some(status), format!("HTTP {status}"), detail)
        }
        _ => ProviderError::Unavailable {
            system: SYSTEM,
            reason: format!("HTTP {status}"),
        },
    })
}

fn plausible_user(id: &str) -> bool {
    !id.is_empty() && id.len() <= 30 && id.bytes().all(|b| b.is_ascii_digit())
}

impl XClient {
    pub fn new(settings: &ProviderSettings) -> anyhow::Result<Self> {
        let x = &settings.x;
        Ok(Self {
            transport: ProviderClient::new(SYSTEM, settings)?.without_retries(),
            base: format!("{}/2", x.base_url.trim_end_matches('/')),
            client_id: x.client_id.clone(),
            client_secret: x.client_secret.clone(),
        })
    }

    #[tracing::instrument(skip_all, fields(system = SYSTEM))]
    pub async fn post(&self, token: &SecretString, text: &str) -> Result<Accepted, ProviderError> {
        let url = format!("{}/tweets", self.base);
        let body = serde_json::json!({ "text": text });
        let response = self
            .transport
            .execute(
                "tweets.create",
                |http| {
                    http.post(&url)
                        .bearer_auth(token.expose_secret())
                        .json(&body)
                },
                classify,
            )
            .await?;
        let created: Created = response.json(SYSTEM)?;
        let exhausted = response
            .headers
            .get("x-rate-limit-remaining")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "0");
        Ok(Accepted {
            id: created.data.id,
            pause_for: exhausted.then(|| until_reset(&response.headers)).flatten(),
        })
    }

    /// The user's post with this text created at or after `since`, if any.
    #[tracing::instrument(skip_all, fields(system = SYSTEM))]
    pub async fn find(
        &self,
        user_id: &str,
        token: &SecretString,
        text: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<String>, ProviderError> {
        if !plausible_user(user_id) {
            return Err(ProviderError::rejected(
                SYSTEM,
                None,
                "invalid_request",
                "not a user id",
            ));
        }
        let url = format!("{}/users/{user_id}/tweets", self.base);
        let start = (since - chrono::Duration::seconds(60))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let response = self
            .transport
            .execute(
                "users.tweets",
                |http| {
                    http.get(&url).bearer_auth(token.expose_secret()).query(&[
                        ("max_results", "100"),
                        ("start_time", start.as_str()),
                        ("tweet.fields", "created_at"),
                    ])
                },
                classify,
            )
            .await?;
        let timeline: Timeline = response.json(SYSTEM)?;
        Ok(timeline.data.into_iter().find_map(|tweet| {
            let recent = tweet
                .created_at
                .is_none_or(|at| at >= since - chrono::Duration::seconds(60));
            (recent && same_text(text, &tweet.text)).then_some(tweet.id)
        }))
    }

    /// Trades the refresh token for a new pair. A refused refresh token is `Auth`: the user must connect again.
    #[tracing::instrument(skip_all, fields(system = SYSTEM))]
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<XTokens, ProviderError> {
        let url = format!("{}/oauth2/token", self.base);
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
            ("client_id", self.client_id.as_str()),
        ];
        let response = self
            .transport
            .execute(
                "oauth2.token",
                |http| {
                    http.post(&url)
                        .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
                        .form(&form)
                },
                |response| {
                    // OAuth errors are 400/401 `{"error","error_description"}`: the grant is gone.
                    let status = response.status.as_u16();
                    if matches!(status, 400 | 401) {
                        return Err(ProviderError::Auth {
                            system: SYSTEM,
                            message: "the refresh token was refused".into(),
                        });
                    }
                    classify(response)
                },
            )
            .await?;
        let answer: TokenAnswer = response.json(SYSTEM)?;
        Ok(XTokens {
            access_token: SecretString::from(answer.access_token),
            refresh_token: answer.refresh_token.map(SecretString::from),
            expires_in: answer.expires_in.map(Duration::from_secs),
        })
    }

    pub fn permalink(post_id: &str) -> String {
        format!("https://x.com/i/web/status/{post_id}")
    }
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;
    use reqwest::header::HeaderValue;

    use super::*;

    fn response(status: u16, body: &str, reset: Option<i64>) -> RawResponse {
        let mut headers = HeaderMap::new();
        if let Some(reset) = reset
            && let Ok(value) = HeaderValue::from_str(&reset.to_string())
        {
            headers.insert("x-rate-limit-reset", value);
        }
        RawResponse {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            headers,
            body: bytes::Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn a_429_waits_until_the_reset_it_names() {
        let reset = Utc::now().timestamp() + 90;
        let outcome = classify(response(
            429,
            r#"{"title":"Too Many Requests"}"#,
            Some(reset),
        ));
        assert!(
            matches!(outcome, Err(ProviderError::RateLimited { retry_after: Some(wait), .. }) if (88..=90).contains(&wait.as_secs())),
            "{outcome:?}"
        );
        // A reset in the past (clock skew) still waits a second; a hostile far-future one at most a day.
        let past = classify(response(429, "{}", Some(0)));
        assert!(
            matches!(past, Err(ProviderError::RateLimited { retry_after: Some(wait), .. }) if wait.as_secs() == 1)
        );
        let far = classify(response(429, "{}", Some(i64::MAX)));
        assert!(
            matches!(far, Err(ProviderError::RateLimited { retry_after: Some(wait), .. }) if wait.as_secs() == 86_400)
        );
    }

    #[test]
    fn duplicate_content_is_its_own_rejection_and_401_is_auth() {
        let duplicate = r#"{"detail":"You are not allowed to create a Tweet with duplicate content.","status":403}"#;
        assert!(
            matches!(classify(response(403, duplicate, None)), Err(ProviderError::Rejected { code, .. }) if code == "duplicate_content")
        );
        assert!(matches!(
            classify(response(401, "{}", None)),
            Err(ProviderError::Auth { .. })
        ));
        assert!(matches!(
            classify(response(503, "", None)),
            Err(ProviderError::Unavailable { .. })
        ));
    }
}
