//! The two messages register sends, each from a job enqueued in the registration transaction (so a message
//! goes out exactly when the request's effect committed, and a messaging outage only delays it): the
//! verification link for a new account, and "someone tried to register with your address" for a taken one.
//! As with password resets, the token is re-derived from the row id, so it never sits in the job queue, and
//! the row id is the messaging idempotency key, so a retried job sends one message.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::repo;
use super::secrets::Purpose;
use super::service::AuthService;
use crate::integrations::messaging::{Channel, OutgoingMessage};
use crate::jobs::{Job, JobContext};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendEmailVerification {
    pub verification_id: Uuid,
}

impl Job for SendEmailVerification {
    const QUEUE: &'static str = "concierge.auth.email_verification";
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendRegistrationNotice {
    pub notice_id: Uuid,
}

impl Job for SendRegistrationNotice {
    const QUEUE: &'static str = "concierge.auth.registration_notice";
}

pub async fn send_verification(
    auth: Arc<AuthService>,
    job: SendEmailVerification,
    _ctx: JobContext,
) -> anyhow::Result<()> {
    let mut conn = auth.db.acquire().await?;
    // No name in this email: whoever registered chose it, and may not be the person who reads this mailbox.
    let Some(email) = repo::verification_recipient(&mut conn, job.verification_id).await? else {
        // Used, replaced, expired or already verified before we got to it: nothing to send.
        return Ok(());
    };
    drop(conn);
    let token = auth
        .secrets
        .token(Purpose::EmailVerification, job.verification_id);
    let link = format!("{}?token={token}", auth.settings.email_verification_url);
    let hours = (auth.settings.email_verification_ttl_secs / 3600).max(1);
    let body = format!(
        "Hello,\n\nPlease confirm that this is your email address: sign in to the portal and \
         open this link within {hours} hours:\n{link}\n\n\
         If you did not create a portal account, ignore this email: nobody can use it without this link."
    );
    let message = OutgoingMessage::new(Channel::Email, email, body)
        .with_subject("Confirm your email address")
        .with_template("email_verification");
    auth.messaging
        .send(
            &message,
            &format!("email-verification-{}", job.verification_id),
        )
        .await?;
    Ok(())
}

pub async fn send_registration_notice(
    auth: Arc<AuthService>,
    job: SendRegistrationNotice,
    _ctx: JobContext,
) -> anyhow::Result<()> {
    let interval = auth.settings.registration_notice_interval_secs as f64;
    let mut tx = auth.db.begin().await?;
    let claimed = repo::claim_notice(&mut tx, job.notice_id, interval).await?;
    tx.commit().await?;
    let Some((email, first_name)) = claimed else {
        // Sent already, or the owner heard from us recently: one message per interval is enough.
        return Ok(());
    };
    let body = format!(
        "Hello {first_name},\n\nSomeone just tried to create a portal account with this email address, which \
         already has one. If it was you, sign in instead, or reset your password if you forgot it.\n\n\
         If it was not you, you need do nothing: no account was created and yours is unchanged."
    );
    let message = OutgoingMessage::new(Channel::Email, email, body)
        .with_subject("Someone tried to register with your address")
        .with_template("registration_attempt");
    if let Err(error) = auth
        .messaging
        .send(&message, &format!("registration-notice-{}", job.notice_id))
        .await
    {
        repo::release_notice(&auth.db, job.notice_id).await?;
        return Err(error.into());
    }
    Ok(())
}
