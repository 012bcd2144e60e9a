//! Instagram professional accounts: a media container (`POST /{ig-user-id}/media` with `image_url`,
//! `caption`), its `status_code` until `FINISHED`, `POST /{ig-user-id}/media_publish?creation_id=`, the
//! account's `content_publishing_limit`, and its media for finding a post whose answer we never read.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::graph::{self, plausible_id};
use super::same_text;
use crate::config::ProviderSettings;
use crate::integrations::{ProviderClient, ProviderError};

const SYSTEM: &str = "instagram";

#[derive(Clone)]
pub struct InstagramClient {
    transport: ProviderClient,
    base: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerStatus {
    InProgress,
    Finished,
    Published,
    /// `ERROR` or `EXPIRED`: this container will never publish.
    Failed(String),
}

#[derive(Debug, Clone, Copy)]
pub struct PublishingQuota {
    pub usage: u32,
    /// Absent when the answer names no quota.
    pub total: Option<u32>,
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    status_code: String,
}

#[derive(Deserialize)]
struct Limits {
    #[serde(default)]
    data: Vec<Limit>,
}

#[derive(Deserialize)]
struct Limit {
    #[serde(default)]
    quota_usage: u32,
    #[serde(default)]
    config: Option<LimitConfig>,
}

#[derive(Deserialize)]
struct LimitConfig {
    #[serde(default)]
    quota_total: u32,
}

#[derive(Deserialize)]
struct MediaList {
    #[serde(default)]
    data: Vec<Media>,
}

#[derive(Deserialize)]
struct Media {
    id: String,
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
}

#[derive(Deserialize)]
struct Permalink {
    #[serde(default)]
    permalink: Option<String>,
}

/// The portal links to the permalink: only an https address on Instagram itself is kept, never a
/// `javascript:` one or another site's.
fn instagram_address(link: &str) -> bool {
    link.len() <= 2048
        && !link.chars().any(|c| c.is_whitespace() || c.is_control())
        && reqwest::Url::parse(link).is_ok_and(|url| {
            url.scheme() == "https"
                && url.username().is_empty()
                && url.password().is_none()
                && url.port().is_none()
                && matches!(url.host_str(), Some("www.instagram.com" | "instagram.com"))
        })
}

fn check(id: &str) -> Result<(), ProviderError> {
    if plausible_id(id) {
        Ok(())
    } else {
        Err(ProviderError::rejected(
            SYSTEM,
            None,
            "invalid_request",
            "not an Instagram id",
        ))
    }
}

impl InstagramClient {
    pub fn new(settings: &ProviderSettings) -> anyhow::Result<Self> {
        let graph = &settings.instagram;
        Ok(Self {
            transport: ProviderClient::new(SYSTEM, settings)?.without_retries(),
            base: format!(
                "{}/{}",
                graph.base_url.trim_end_matches('/'),
                graph.graph_version
            ),
        })
    }

    #[tracing::instrument(skip_all, fields(system = SYSTEM))]
    pub async fn create_container(
        &self,
        user_id: &str,
        token: &SecretString,
        image_url: &str,
        caption: &str,
    ) -> Result<String, ProviderError> {
        check(user_id)?;
        let url = format!("{}/{user_id}/media", self.base);
        let form = [("image_url", image_url), ("caption", caption)];
        let response = self
            .transport
            .execute(
                "media.create",
                |http| {
                    http.post(&url)
                        .bearer_auth(token.expose_secret())
                        .form(&form)
                },
                |r| graph::classify(SYSTEM, r),
            )
            .await?;
        Ok(response.json::<Id>(SYSTEM)?.id)
    }

    #[tracing::instrument(skip_all, fields(system = SYSTEM))]
    pub async fn container_status(
        &self,
        container_id: &str,
        token: &SecretString,
    ) -> Result<ContainerStatus, ProviderError> {
        check(container_id)?;
        let url = format!("{}/{container_id}", self.base);
        let response = self
            .transport
            .execute(
                "container.status",
                |http| {
                    http.get(&url)
                        .bearer_auth(token.expose_secret())
                        .query(&[("fields", "status_code")])
                },
                |r| graph::classify(SYSTEM, r),
            )
            .await?;
        let status: Status = response.json(SYSTEM)?;
        Ok(match status.status_code.as_str() {
            "IN_PROGRESS" => ContainerStatus::InProgress,
            "FINISHED" => ContainerStatus::Finished,
            "PUBLISHED" => ContainerStatus::Published,
            "ERROR" | "EXPIRED" => ContainerStatus::Failed(status.status_code),
            other => {
                return Err(ProviderError::malformed(
                    SYSTEM,
                    format!("unknown container status {other:?}"),
                ));
            }
        })
    }

    #[tracing::instrument(skip_all, fields(system = SYSTEM))]
    pub async fn publishing_quota(
        &self,
        user_id: &str,
        token: &SecretString,
    ) -> Result<PublishingQuota, ProviderError> {
        check(user_id)?;
        let url = format!("{}/{user_id}/content_publishing_limit", self.base);
        let response = self
            .transport
            .execute(
                "content_publishing_limit",
                |http| {
                    http.get(&url)
                        .bearer_auth(token.expose_secret())
                        .query(&[("fields", "quota_usage,config")])
                },
                |r| graph::classify(SYSTEM, r),
            )
            .await?;
        let limits: Limits = response.json(SYSTEM)?;
        let limit =
            limits.data.into_iter().next().ok_or_else(|| {
                ProviderError::malformed(SYSTEM, "no publishing limit in the answer")
            })?;
        Ok(PublishingQuota {
            usage: limit.quota_usage,
            total: limit.config.map(|c| c.quota_total),
        })
    }

    #[tracing::instrument(skip_all, fields(system = SYSTEM))]
    pub async fn publish(
        &self,
        user_id: &str,
        token: &SecretString,
        container_id: &str,
    ) -> Result<String, ProviderError> {
        check(user_id)?;
        check(container_id)?;
        let url = format!("{}/{user_id}/media_publish", self.base);
        let response = self
            .transport
            .execute(
                "media_publish",
                |http| {
                    http.post(&url)
                        .bearer_auth(token.expose_secret())
                        .query(&[("creation_id", container_id)])
                },
                |r| graph::classify(SYSTEM, r),
            )
            .await?;
        Ok(response.json::<Id>(SYSTEM)?.id)
    }

    #[tracing::instrument(skip_all, fields(system = SYSTEM))]
    pub async fn permalink(
        &self,
        media_id: &str,
        token: &SecretString,
    ) -> Result<Option<String>, ProviderError> {
        check(media_id)?;
        let url = format!("{}/{media_id}", self.base);
        let response = self
            .transport
            .execute(
                "media.permalink",
                |http| {
                    http.get(&url)
                        .bearer_auth(token.expose_secret())
                        .query(&[("fields", "permalink")])
                },
                |r| graph::classify(SYSTEM, r),
            )
            .await?;
        Ok(response
            .json::<Permalink>(SYSTEM)?
            .permalink
            .filter(|link| instagram_address(link)))
    }

    /// The account's media with this caption published at or after `since`, if any.
    #[tracing::instrument(skip_all, fields(system = SYSTEM))]
    pub async fn find(
        &self,
        user_id: &str,
        token: &SecretString,
        caption: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<String>, ProviderError> {
        check(user_id)?;
        let url = format!("{}/{user_id}/media", self.base);
        let response = self
            .transport
            .execute(
                "media.list",
                |http| {
                    http.get(&url)
                        .bearer_auth(token.expose_secret())
                        .query(&[("fields", "id,caption,timestamp")])
                },
                |r| graph::classify(SYSTEM, r),
            )
            .await?;
        let media: MediaList = response.json(SYSTEM)?;
        Ok(media.data.into_iter().find_map(|item| {
            let at = item
                .timestamp
                .as_deref()
                .and_then(|t| DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%z").ok())
                .map(|t| t.with_timezone(&Utc));
            let recent = at.is_none_or(|t| t >= since - chrono::Duration::seconds(60));
            (recent && same_text(caption, item.caption.as_deref().unwrap_or_default()))
                .then_some(item.id)
        }))
    }
}
