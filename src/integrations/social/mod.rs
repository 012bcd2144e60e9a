//! The social networks' clients: Facebook Pages and Instagram through the Graph API, X through API v2.
//! Transport only; tokens are passed in per call (each account has its own) and always travel in the
//! `Authorization` header, never in a URL, so no log or trace can carry them. None of the writes is
//! idempotent on the network's side, so no call here is retried: the publishing job decides, after looking.

mod facebook;
mod graph;
mod instagram;
mod x;

use std::time::Duration;

pub use facebook::FacebookClient;
pub use instagram::{ContainerStatus, InstagramClient, PublishingQuota};
pub use x::{XClient, XTokens};

/// A post the network accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub id: String,
    /// The network's usage headers say to pause the account this long before its next post.
    pub pause_for: Option<Duration>,
}

/// Whether a network's text matches ours: networks may trim or normalise line ends.
fn same_text(ours: &str, theirs: &str) -> bool {
    let norm = |text: &str| text.replace("\r\n", "\n").trim().to_owned();
    norm(ours) == norm(theirs)
}
