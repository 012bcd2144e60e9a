//! Creates are sent once and reconciled, never blindly repeated: when a create's outcome is unknown (no
//! answer, an unreadable one, or its unique external id already taken by an earlier attempt that committed
//! late), the record is looked up by its external id, and only when it is absent is the create sent again.

use std::future::Future;

use super::has_error_code;
use crate::integrations::ProviderError;
use crate::telemetry::redact;

/// Salesforce's answer when a unique (external id) field already holds the value.
const DUPLICATE_VALUE: &str = "DUPLICATE_VALUE";

/// Whether a create that failed this way may nevertheless have happened, or already had.
pub fn outcome_unknown(error: &ProviderError) -> bool {
    matches!(
        error,
        ProviderError::Unavailable { .. } | ProviderError::Malformed { .. }
    ) || has_error_code(error, DUPLICATE_VALUE)
}

/// Sends `create` at most `sends` times. After an unknown outcome `lookup` (by the record's external id)
/// decides: found is the result, absent allows the next send; a lookup that fails ends it with the create's
/// error (the caller's retry reconciles the same way).
pub async fn create_reconciled<T, C, CF, L, LF>(
    sends: usize,
    create: C,
    lookup: L,
) -> Result<T, ProviderError>
where
    C: Fn() -> CF,
    CF: Future<Output = Result<T, ProviderError>>,
    L: Fn() -> LF,
    LF: Future<Output = Result<Option<T>, ProviderError>>,
{
    let mut sent = 0;
    loop {
        sent += 1;
        let error = match create().await {
            Ok(created) => return Ok(created),
            Err(error) if outcome_unknown(&error) => error,
            Err(error) => return Err(error),
        };
        tracing::warn!(error = %redact::scrub(&error.to_string()), sent,
            "salesforce create outcome unknown; looking it up by its external id");
        match lookup().await {
            Ok(Some(found)) => return Ok(found),
            Ok(None) if sent < sends && !has_error_code(&error, DUPLICATE_VALUE) => {}
            Ok(None) => return Err(error),
            Err(lookup_error) => {
                tracing::warn!(error = %redact::scrub(&lookup_error.to_string()),
                    "salesforce lookup after an unknown create outcome failed");
                return Err(error);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn unavailable() -> ProviderError {
        ProviderError::Unavailable {
            system: "salesforce",
            reason: "timeout".into(),
        }
    }

    #[tokio::test]
    async fn a_lost_answer_is_found_by_the_lookup_without_a_second_send() {
        let sends = AtomicUsize::new(0);
        let found = create_reconciled(
            2,
            || async {
                sends.fetch_add(1, Ordering::SeqCst);
                Err::<&str, _>(unavailable())
            },
            || async { Ok(Some("801A")) },
        )
        .await;
        assert_eq!(found.ok(), Some("801A"));
        assert_eq!(sends.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn only_a_confirmed_absence_allows_another_send_and_rejections_are_final() {
        let sends = AtomicUsize::new(0);
        let created = create_reconciled(
            3,
            || async {
                match sends.fetch_add(1, Ordering::SeqCst) {
                    0 => Err(unavailable()),
                    _ => Ok("801B"),
                }
            },
            || async { Ok(None) },
        )
        .await;
        assert_eq!(created.ok(), Some("801B"));
        assert_eq!(sends.load(Ordering::SeqCst), 2);

        let sends = AtomicUsize::new(0);
        let lookup_down = create_reconciled(
            3,
            || async {
                sends.fetch_add(1, Ordering::SeqCst);
                Err::<&str, _>(unavailable())
            },
            || async { Err(unavailable()) },
        )
        .await;
        assert!(lookup_down.is_err());
        assert_eq!(sends.load(Ordering::SeqCst), 1, "no send without a lookup");

        let rejected = create_reconciled(
            3,
            || async {
                Err::<&str, _>(ProviderError::rejected(
                    "salesforce",
                    Some(400),
                    "REQUIRED_FIELD_MISSING",
                    "[]",
                ))
            },
            || async { panic!("a rejection needs no lookup") },
        )
        .await;
        assert!(rejected.is_err());
    }
}
