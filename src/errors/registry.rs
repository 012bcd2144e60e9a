//! The one table of error codes the API can answer with. Each code has a stable slug (the last segment of the
//! problem `type` URI), an HTTP status and a human title. Clients switch on the slug, never on the title.
//!
//! Adding a code is one row in the `error_codes!` table below: the enum variant, its slug (also its serialized
//! form: the variant's name in kebab-case), its status and its title. `ALL`, `spec()` and `from_slug()` are
//! generated from the table, so `GET /problems/{slug}` describes every code.

use actix_web::http::StatusCode;

pub struct ErrorSpec {
    pub slug: &'static str,
    pub status: StatusCode,
    pub title: &'static str,
}

macro_rules! error_codes {
    ($($variant:ident => $slug:literal, $status:ident, $title:literal;)+) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
        #[serde(rename_all = "kebab-case")]
        pub enum ErrorCode {
            $($variant,)+
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: [ErrorCode; [$($slug),+].len()] = [$(ErrorCode::$variant),+];

            pub const fn spec(self) -> ErrorSpec {
                match self {
                    $(
                        ErrorCode::$variant => ErrorSpec {
                            slug: $slug,
                            status: StatusCode::$status,
                            title: $title,
                        },
                    )+
                }
            }

            pub fn from_slug(slug: &str) -> Option<ErrorCode> {
                match slug {
                    $($slug => Some(ErrorCode::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    BadRequest => "bad-request", BAD_REQUEST, "The request is not valid";
    MalformedJson => "malformed-json", BAD_REQUEST, "The request body is not valid JSON for this endpoint";
    UnsupportedMediaType => "unsupported-media-type", UNSUPPORTED_MEDIA_TYPE,
        "The request body has an unsupported content type";
    PayloadTooLarge => "payload-too-large", PAYLOAD_TOO_LARGE, "The request body is too large";
    InvalidPathParameter => "invalid-path-parameter", BAD_REQUEST, "The resource identifier is not valid";
    InvalidQueryParameter => "invalid-query-parameter", BAD_REQUEST, "A query parameter is not valid";
    InvalidResetToken => "invalid-reset-token", BAD_REQUEST,
        "The password reset link is unknown, already used or expired; ask for a new one";
    InvalidVerificationToken => "invalid-verification-token", BAD_REQUEST,
        "The email verification link is unknown, already used, expired or not this account's; ask for a new one";
    ValidationFailed => "validation-failed", UNPROCESSABLE_ENTITY, "The request did not pass validation";
    Unauthorized => "unauthorized", UNAUTHORIZED, "Authentication is required";
    InvalidCredentials => "invalid-credentials", UNAUTHORIZED, "The email or password is incorrect";
    WebhookSignatureInvalid => "webhook-signature-invalid", UNAUTHORIZED,
        "The webhook's signature is missing, wrong or outside the accepted time window";
    Forbidden => "forbidden", FORBIDDEN, "You are not allowed to do this";
    NotFound => "not-found", NOT_FOUND, "The resource was not found";
    MergeNotFound => "merge-not-found", NOT_FOUND, "No such merge in this brand";
    MethodNotAllowed => "method-not-allowed", METHOD_NOT_ALLOWED, "The method is not allowed on this resource";
    Conflict => "conflict", CONFLICT, "The request conflicts with the current state";
    EmailTaken => "email-taken", CONFLICT, "An account with this email already exists";
    BrandExists => "brand-exists", CONFLICT, "A brand with this slug already exists";
    StoreExists => "store-exists", CONFLICT, "The brand already has a store with this code";
    EmailUnverified => "email-unverified", CONFLICT,
        "The account's email is not verified yet; use the link sent to it (or ask for a new one) first";
    EmailAlreadyVerified => "email-already-verified", CONFLICT, "The account's email is already verified";
    AccountLinking => "account-linking", CONFLICT,
        "The account's billing and CRM records are still being set up; retry after Retry-After";
    RequestInProgress => "request-in-progress", CONFLICT,
        "A request with this Idempotency-Key is still being processed; retry after Retry-After";
    InvoiceNotPayable => "invoice-not-payable", CONFLICT,
        "The invoice is paid, cancelled, refunded, in collections or awaiting a payment confirmation";
    PaymentLinkExpired => "payment-link-expired", CONFLICT,
        "The payment link this request created has expired; request a new one with a new Idempotency-Key";
    NoPaymentMethod => "no-payment-method", CONFLICT, "The account has no payment method to charge";
    SubscriptionClosed => "subscription-closed", CONFLICT,
        "The subscription is cancelled or terminated and takes no changes";
    SubscriptionNotActive => "subscription-not-active", CONFLICT,
        "The subscription is pending or suspended in billing and takes no changes until it is active";
    SimSuspendedByOperator => "sim-suspended-by-operator", CONFLICT,
        "The SIM line was not suspended by the customer; only support can lift the suspension";
    TopUpLimitReached => "top-up-limit-reached", CONFLICT,
        "The line's monthly top-up limit would be exceeded";
    SimAlreadySuspended => "sim-already-suspended", CONFLICT, "The SIM line is already suspended";
    SimNotSuspended => "sim-not-suspended", CONFLICT, "The SIM line is not suspended";
    SimActivating => "sim-activating", CONFLICT,
        "The SIM line is still being activated; retry once it is active";
    SimNotInService => "sim-not-in-service", CONFLICT,
        "The SIM line is not in service (cancelled, or in a state that takes no changes)";
    MergeConflict => "merge-conflict", CONFLICT,
        "A profile named in the merge was already merged into another; merge its survivor instead";
    AlreadyUnmerged => "already-unmerged", CONFLICT, "The merge was already undone";
    UnmergeBlocked => "unmerge-blocked", CONFLICT,
        "A later merge over these profiles still stands (unmerge it first), or an identifier moved to another profile";
    CaseClosed => "case-closed", CONFLICT, "The support case is closed; open a new case to continue";
    PrivacyLinkInvalid => "privacy-link-invalid", FORBIDDEN,
        "The download link is not one we issued (edited or cut short); use the link shown on the request";
    PrivacyLinkExpired => "privacy-link-expired", GONE,
        "The download link has expired and the archive is gone; ask for a new export";
    ErasureInProgress => "erasure-in-progress", CONFLICT,
        "The person's erasure is in progress; nothing of theirs is exported from now on";
    PrivacyRequestNotResumable => "privacy-request-not-resumable", CONFLICT,
        "Only a failed erasure is resumed; a completed one is done, and a failed export is asked for again";
    SocialPostNotEditable => "social-post-not-editable", CONFLICT,
        "The post is no longer scheduled (publishing started or finished): it can no longer be changed or deleted";
    ProfileMerged => "profile-merged", CONFLICT,
        "The profile was merged into another; change the survivor (its id is in the detail) instead";
    ProfileErased => "profile-erased", CONFLICT,
        "The person's data was erased: the profile takes no new personal data, identifiers or consent";
    ClientErased => "client-erased", CONFLICT,
        "The client's data was erased: nothing new is recorded about them";
    ClientExists => "client-exists", CONFLICT,
        "The person is already a client of the brand's book";
    InteractionStale => "interaction-stale", PRECONDITION_FAILED,
        "The interaction changed since you read it; read it again (its ETag) and retry";
    IfMatchRequired => "if-match-required", PRECONDITION_REQUIRED,
        "Send If-Match with the ETag of the interaction as you read it";
    AppointmentConflict => "appointment-conflict", CONFLICT,
        "The advisor already has an appointment at that time; pick a free slot (see their availability)";
    AppointmentStale => "appointment-stale", PRECONDITION_FAILED,
        "The appointment changed since you read it; read it again (its ETag) and retry";
    AppointmentClosed => "appointment-closed", CONFLICT,
        "The appointment was cancelled or completed; it can no longer change";
    AppointmentNotStarted => "appointment-not-started", CONFLICT,
        "The appointment has not started yet; it can be completed once it has";
    ConsentRequired => "consent-required", CONFLICT,
        "The client has not consented to outreach on this channel; nothing was sent";
    FrequencyCapped => "frequency-capped", CONFLICT,
        "The client already had as many messages on this channel as the brand's frequency cap allows; nothing was sent";
    TaskClosed => "task-closed", CONFLICT, "The task was completed or cancelled; it can no longer change";
    IdentifierTaken => "identifier-taken", CONFLICT,
        "Another profile of the brand holds this identifier; merge the profiles to bring them together";
    IdentifierLimit => "identifier-limit", CONFLICT,
        "The profile already holds the most identifiers of this kind it may";
    IdentifierBlocked => "identifier-blocked", UNPROCESSABLE_ENTITY,
        "The identifier is a placeholder value that never identifies anyone";
    AttributeExists => "attribute-exists", CONFLICT, "The brand already declares a custom attribute of this name";
    AttributeLimit => "attribute-limit", CONFLICT, "The brand declares the most custom attributes it may";
    ConsentStale => "consent-stale", CONFLICT,
        "The current consent was captured after this one; the latest capture stands";
    JourneyLimit => "journey-limit", CONFLICT, "The brand keeps the most journeys it may";
    JourneyPublished => "journey-published", CONFLICT,
        "A published journey is not deleted: its enrollments keep its versions; pause it instead";
    JourneyNotPublished => "journey-not-published", CONFLICT,
        "The journey has no published version yet; publish it first";
    SegmentExists => "segment-exists", CONFLICT, "The brand already has a segment with this slug";
    TemplateLimit => "template-limit", CONFLICT, "The brand keeps the most message templates it may";
    CampaignTransitionInvalid => "campaign-transition-invalid", CONFLICT,
        "The campaign's status does not allow this change (see the transition table)";
    CampaignNotDraft => "campaign-not-draft", CONFLICT, "Only a draft campaign may be edited or deleted";
    CampaignLimit => "campaign-limit", CONFLICT, "The brand keeps the most campaigns it may";
    SegmentLimit => "segment-limit", CONFLICT, "The brand keeps the most segments it may";
    SegmentInUse => "segment-in-use", CONFLICT,
        "Another segment's rule names this segment; change or delete that one first";
    SegmentKindMismatch => "segment-kind-mismatch", CONFLICT,
        "Not for this kind of segment: a dynamic segment's members come from its rule, a static one has no rule";
    SegmentPreviewTimeout => "segment-preview-timeout", UNPROCESSABLE_ENTITY,
        "The rule takes longer than the preview's time budget; narrow it";
    SegmentRefreshTimeout => "segment-refresh-timeout", SERVICE_UNAVAILABLE,
        "The segment's refresh took longer than its time budget; nothing was written";
    EventTransitionInvalid => "event-transition-invalid", CONFLICT,
        "The event's status does not allow this change (draft → open → closed, any but cancelled → cancelled)";
    EventNotEditable => "event-not-editable", CONFLICT,
        "A cancelled event takes no changes, and only a draft is deleted";
    EventNotOpen => "event-not-open", CONFLICT, "Guests are invited to an open event only";
    RsvpClosed => "rsvp-closed", CONFLICT,
        "The event takes no RSVPs: it is not open, or its RSVP deadline has passed; nothing changed";
    EventCancelled => "event-cancelled", CONFLICT, "The event was cancelled; nothing changed";
    GuestNotConfirmed => "guest-not-confirmed", CONFLICT,
        "Only a confirmed guest is checked in (a waitlisted, declined or invited guest is not)";
    GuestCheckedIn => "guest-checked-in", CONFLICT, "The guest was checked in already; the RSVP stands";
    RsvpLinkInvalid => "rsvp-link-invalid", BAD_REQUEST,
        "The RSVP link is not one we issued for this event (mistyped, altered or for another event); nothing changed";
    RsvpLinkExpired => "rsvp-link-expired", GONE,
        "The RSVP link has expired; ask the brand for a new invitation; nothing changed";
    IdempotencyKeyReused => "idempotency-key-reused", UNPROCESSABLE_ENTITY,
        "The idempotency key was already used with a different request";
    PaymentDeclined => "payment-declined", PAYMENT_REQUIRED, "The payment was declined";
    RateLimited => "rate-limited", TOO_MANY_REQUESTS, "Too many requests";
    TooManyStreams => "too-many-streams", TOO_MANY_REQUESTS,
        "Too many status streams are open for this account; close one before opening another";
    RequestTimeout => "request-timeout", GATEWAY_TIMEOUT, "The request took too long to process";
    ProviderError => "provider-error", BAD_GATEWAY, "An upstream system answered with an error";
    ProviderUnavailable => "provider-unavailable", SERVICE_UNAVAILABLE, "An upstream system is unavailable";
    ChangeInProgress => "change-in-progress", SERVICE_UNAVAILABLE,
        "The top-up or plan change is still being processed; repeat the request with the same Idempotency-Key";
    ServiceUnavailable => "service-unavailable", SERVICE_UNAVAILABLE, "The service is temporarily unavailable";
    Internal => "internal", INTERNAL_SERVER_ERROR, "An unexpected error occurred";
}

impl ErrorCode {
    /// The code for a bare status produced outside our handlers (a resource's 405, a library's 404).
    pub fn for_status(status: StatusCode) -> ErrorCode {
        match status.as_u16() {
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            405 => ErrorCode::MethodNotAllowed,
            409 => ErrorCode::Conflict,
            413 => ErrorCode::PayloadTooLarge,
            415 => ErrorCode::UnsupportedMediaType,
            429 => ErrorCode::RateLimited,
            503 => ErrorCode::ServiceUnavailable,
            504 => ErrorCode::RequestTimeout,
            400..=499 => ErrorCode::BadRequest,
            _ => ErrorCode::Internal,
        }
    }

    pub fn type_uri(self) -> String {
        format!("{PROBLEM_TYPE_BASE}{}", self.spec().slug)
    }
}

/// Problem types are relative references resolved against the API's own origin, where
/// `GET /problems/{slug}` describes each of them.
pub const PROBLEM_TYPE_BASE: &str = "/problems/";

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_code_serializes_as_its_slug_and_is_found_by_it() {
        for code in ErrorCode::ALL {
            let slug = code.spec().slug;
            assert_eq!(
                serde_json::to_value(code).ok(),
                Some(serde_json::Value::from(slug)),
                "{code:?}"
            );
            assert_eq!(ErrorCode::from_slug(slug), Some(code), "{slug}");
        }
    }

    #[test]
    fn every_slug_is_its_variant_name_in_kebab_case() {
        for code in ErrorCode::ALL {
            let mut kebab = String::new();
            for (index, c) in format!("{code:?}").chars().enumerate() {
                if c.is_ascii_uppercase() && index > 0 {
                    kebab.push('-');
                }
                kebab.push(c.to_ascii_lowercase());
            }
            assert_eq!(code.spec().slug, kebab, "{code:?}");
        }
    }

    #[test]
    fn slugs_are_unique_kebab_case() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let slug = code.spec().slug;
            assert!(seen.insert(slug), "{slug} is used twice");
            assert!(
                !slug.is_empty()
                    && slug.split('-').all(
                        |word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase())
                    ),
                "{slug} is not kebab-case"
            );
        }
    }
}
