//! The three networks' records: accounts and their tokens, what was published, and the knobs tests turn.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::demo::social as demo;

/// A published post on any of the networks, as the control API lists it.
#[derive(Debug, Clone, Serialize)]
pub struct PublishedPost {
    pub network: &'static str,
    pub id: String,
    /// The page, IG user or X user it was published as.
    pub account: String,
    pub text: String,
    pub link: Option<String>,
    pub image_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Container {
    pub id: String,
    pub user: String,
    pub image_url: String,
    pub caption: String,
    pub ready_at: DateTime<Utc>,
    /// `IN_PROGRESS` until `ready_at`, then this (`FINISHED`, `ERROR`, `EXPIRED`); `PUBLISHED` once used.
    pub settles_to: String,
    pub published: bool,
}

impl Container {
    pub fn status(&self, now: DateTime<Utc>) -> &str {
        if self.published {
            "PUBLISHED"
        } else if now < self.ready_at {
            "IN_PROGRESS"
        } else {
            &self.settles_to
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct InstagramConfig {
    pub container_delay_ms: u64,
    /// Media an account may publish per 24 hours (Instagram's `quota_total`).
    pub quota_total: u32,
    /// The status the next container settles to instead of `FINISHED`.
    pub next_container_status: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RateWindow {
    pub limit: u32,
    pub remaining: u32,
    pub reset_at: DateTime<Utc>,
}

impl RateWindow {
    fn fresh(now: DateTime<Utc>) -> Self {
        Self {
            limit: 100,
            remaining: 100,
            reset_at: now + Duration::minutes(15),
        }
    }

    /// Rolls the window over once its reset has passed.
    pub fn current(&mut self, now: DateTime<Utc>) -> &mut Self {
        if now >= self.reset_at {
            let limit = self.limit;
            *self = Self::fresh(now);
            self.limit = limit;
            self.remaining = limit;
        }
        self
    }
}

pub struct XToken {
    pub user: String,
    pub expires_at: Option<DateTime<Utc>>,
}

pub struct Store {
    /// Page id → (page access token, name).
    pub pages: HashMap<String, (String, String)>,
    /// IG user id → token.
    pub ig_users: HashMap<String, String>,
    pub x_tokens: HashMap<String, XToken>,
    /// Refresh token → user; a refresh token works once (X rotates them).
    pub x_refresh: HashMap<String, String>,
    pub posts: Vec<PublishedPost>,
    pub containers: Vec<Container>,
    /// Media id → container id it came from.
    pub media_containers: HashMap<String, String>,
    pub instagram: InstagramConfig,
    pub x_windows: HashMap<String, RateWindow>,
    pub facebook_app_usage: serde_json::Value,
    pub facebook_business_usage: serde_json::Value,
    next_id: u64,
}

impl Store {
    pub fn seeded() -> Self {
        let mut pages = HashMap::new();
        pages.insert(
            demo::FACEBOOK_PAGE_ID.to_owned(),
            (
                demo::FACEBOOK_PAGE_TOKEN.to_owned(),
                demo::FACEBOOK_PAGE_NAME.to_owned(),
            ),
        );
        let mut ig_users = HashMap::new();
        ig_users.insert(
            demo::INSTAGRAM_USER_ID.to_owned(),
            demo::INSTAGRAM_TOKEN.to_owned(),
        );
        let mut x_tokens = HashMap::new();
        x_tokens.insert(
            demo::X_ACCESS_TOKEN.to_owned(),
            XToken {
                user: demo::X_USER_ID.to_owned(),
                expires_at: None,
            },
        );
        let mut x_refresh = HashMap::new();
        x_refresh.insert(demo::X_REFRESH_TOKEN.to_owned(), demo::X_USER_ID.to_owned());
        Self {
            pages,
            ig_users,
            x_tokens,
            x_refresh,
            posts: Vec::new(),
            containers: Vec::new(),
            media_containers: HashMap::new(),
            instagram: InstagramConfig {
                container_delay_ms: 0,
                quota_total: 25,
                next_container_status: None,
            },
            x_windows: HashMap::new(),
            facebook_app_usage: serde_json::json!({"call_count": 1, "total_cputime": 1, "total_time": 1}),
            facebook_business_usage: serde_json::json!({}),
            next_id: 1,
        }
    }

    /// A numeric id like the networks' own, unique within the store.
    pub fn next_id(&mut self, base: u64) -> String {
        self.next_id += 1;
        (base + self.next_id).to_string()
    }

    pub fn published(&self, network: Option<&str>) -> Vec<PublishedPost> {
        self.posts
            .iter()
            .filter(|post| network.is_none_or(|n| post.network == n))
            .cloned()
            .collect()
    }

    pub fn x_window(&mut self, user: &str, now: DateTime<Utc>) -> &mut RateWindow {
        self.x_windows
            .entry(user.to_owned())
            .or_insert_with(|| RateWindow::fresh(now))
            .current(now)
    }
}
