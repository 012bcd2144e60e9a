//! Facebook Pages: `POST /{page-id}/feed` (`message`, `link`) → `{"id":"{page_id}_{post_id}"}`, and the
//! page's feed for finding a post whose answer we never read.

use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::graph::{self, plausible_id};
use super::{Accepted, same_text};
use crate::config::ProviderSettings;
use crate::integrations::{ProviderClient, ProviderError};

const SYSTEM: &str = "facebook";

#[derive(Clone)]
pub struct FacebookClient {
    transport: ProviderClient,
    base: String,
    pause_percent: u8,
    pause_for: Duration,
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

#[derive(Deserialize)]
struct Feed {
    #[serde(default)]
    data: Vec<FeedPost>,
}

#[derive(Deserialize)]
struct FeedPost {
    id: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    created_time: Option<String>,
}

impl FacebookClient {
    /// `pause_percent`: usage at or above it pauses the page for the network's estimate, or `pause_for`.
    pub fn new(
        settings: &ProviderSettings,
        pause_percent: u8,
        pause_for: Duration,
    ) -> anyhow::Result<Self> {
        let graph = &settings.facebook;
        Ok(Self {
            transport: ProviderClient::new(SYSTEM, settings)?.without_retries(),
            base: format!(
                "{}/{}",
                graph.base_url.trim_end_matches('/'),
                graph.graph_version
            ),
            pause_percent,
            pause_for,
        })
    }

    #[tracing::instrument(skip_all, fields(system = SYSTEM))]
    pub async fn publish(
        &self,
        page_id: &str,
        token: &SecretString,
        message: Option<&str>,
        link: Option<&str>,
    ) -> Result<Accepted, ProviderError> {
        if !plausible_id(page_id) {
            return Err(ProviderError::rejected(
                SYSTEM,
                None,
                "invalid_request",
                "not a page id",
            ));
        }
        let url = format!("{}/{page_id}/feed", self.base);
        let mut form: Vec<(&str, &str)> = Vec::new();
        if let Some(message) = message {
            form.push(("message", message));
        }
        if let Some(link) = link {
            form.push(("link", link));
        }
        let response = self
            .transport
            .execute(
                "feed.create",
                |http| {
                    http.post(&url)
                        .bearer_auth(token.expose_secret())
                        .form(&form)
                },
                |r| graph::classify(SYSTEM, r),
            )
            .await?;
        let created: Created = response.json(SYSTEM)?;
        let (percent, regain) = graph::usage(&response.headers);
        let pause_for = (percent >= self.pause_percent).then(|| regain.unwrap_or(self.pause_for));
        Ok(Accepted {
            id: created.id,
            pause_for,
        })
    }

    /// The page's post with this message and link created at or after `since`, if any.
    #[tracing::instrument(skip_all, fields(system = SYSTEM))]
    pub async fn find(
        &self,
        page_id: &str,
        token: &SecretString,
        message: Option<&str>,
        link: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<Option<String>, ProviderError> {
        if !plausible_id(page_id) {
            return Err(ProviderError::rejected(
                SYSTEM,
                None,
                "invalid_request",
                "not a page id",
            ));
        }
        let url = format!("{}/{page_id}/feed", self.base);
        let since_param = (since.timestamp() - 60).to_string();
        let response = self
            .transport
            .execute(
                "feed.list",
                |http| {
                    http.get(&url).bearer_auth(token.expose_secret()).query(&[
                        ("fields", "id,message,link,created_time"),
                        ("since", since_param.as_str()),
                    ])
                },
                |r| graph::classify(SYSTEM, r),
            )
            .await?;
        let feed: Feed = response.json(SYSTEM)?;
        Ok(feed.data.into_iter().find_map(|post| {
            let created = post
                .created_time
                .as_deref()
                .and_then(|t| DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%z").ok())
                .map(|t| t.with_timezone(&Utc));
            let recent = created.is_none_or(|t| t >= since - chrono::Duration::seconds(60));
            let text_matches = same_text(
                message.unwrap_or_default(),
                post.message.as_deref().unwrap_or_default(),
            );
            let link_matches = link.is_none() || post.link.as_deref() == link;
            (recent && text_matches && link_matches).then_some(post.id)
        }))
    }

    /// The post's address: the id's second half after the page's.
    pub fn permalink(post_id: &str) -> String {
        match post_id.split_once('_') {
            Some((page, post)) => format!("https://www.facebook.com/{page}/posts/{post}"),
            None => format!("https://www.facebook.com/{post_id}"),
        }
    }
}
