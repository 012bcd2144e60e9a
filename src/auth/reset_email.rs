//! Sending the password-reset email. The token is re-derived from the reset row's id, so it never sits in
//! the job queue; the row's id is the messaging idempotency key, so a retried job sends one email.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::repo;
use super::secrets::Purpose;
use super::service::AuthService;
use crate::integrations::messaging::{Channel, OutgoingMessage};
use crate::jobs::{Job, JobContext};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendPasswordReset {
    pub reset_id: Uuid,
}

impl Job for SendPasswordReset {
    const QUEUE: &'static str = "concierge.auth.password_reset_email";
}

pub async fn send_password_reset(
    auth: Arc<AuthService>,
    job: SendPasswordReset,
    _ctx: JobContext,
) -> anyhow::Result<()> {
    let mut conn = auth.db.acquire().await?;
    let Some((email, first_name)) = repo::reset_recipient(&mut conn, job.reset_id).await? else {
        // Used or expired before we got to it: nothing to send.
        return Ok(());
    };
    drop(conn);
    let token = auth.secrets.token(Purpose::PasswordReset, job.reset_id);
    let link = format!("{}?token={token}", auth.settings.password_reset_url);
    let minutes = auth.settings.password_reset_ttl_secs / 60;
    let body = format!(
        "Hello {first_name},\n\nUse this link within {minutes} minutes to choose a new password:\n{link}\n\n\
         If you did not ask for this, ignore this email; your password stays as it is."
    );
    let message = OutgoingMessage::new(Channel::Email, email, body)
        .with_subject("Reset your password")
        .with_template("password_reset");
    auth.messaging
        .send(&message, &format!("password-reset-{}", job.reset_id))
        .await?;
    Ok(())
}
