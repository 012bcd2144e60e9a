//! Where a message to a profile goes, per channel (docs/crm/messages.md): e-mail to the `email` attribute
//! (else an `email` identifier), SMS and WhatsApp to the `phone` attribute (else a `phone` identifier, both
//! E.164), LINE to a `line_user` identifier (the LINE user id the brand's official account knows), push to
//! the `portal_user` identifier (the messaging service maps a portal user to their devices).

use super::templates::MessageChannel;
use crate::crm::identifiers::{EMAIL, PHONE, PORTAL_USER};
use crate::crm::profile::Profile;
use crate::types::{Email, is_e164};

/// The external identifier kind LINE messages go to.
pub const LINE_USER: &str = "line_user";

pub fn resolve(profile: &Profile, channel: MessageChannel) -> Option<String> {
    let identifier = |kind: &str| {
        profile
            .identifiers
            .iter()
            .find(|identifier| identifier.kind == kind)
            .map(|identifier| identifier.value.clone())
    };
    let attribute = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    match channel {
        MessageChannel::Email => attribute(&profile.attributes.email)
            .filter(|email| Email::parse(email).is_ok())
            .or_else(|| identifier(EMAIL)),
        MessageChannel::Sms | MessageChannel::Whatsapp => attribute(&profile.attributes.phone)
            .filter(|phone| is_e164(phone))
            .or_else(|| identifier(PHONE)),
        MessageChannel::Line => identifier(LINE_USER),
        MessageChannel::Push => identifier(PORTAL_USER),
    }
}
