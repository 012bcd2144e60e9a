//! Auth's storage, one module per table group. Functions take a connection (or transaction) so callers
//! decide what commits together.

mod audit;
mod password_resets;
mod retention;
mod sessions;
mod users;
mod verifications;

pub use audit::{AuditEvent, audit};
pub use password_resets::{consume_reset, insert_reset, reset_owner, reset_recipient, void_resets};
pub use retention::{Pruned, Retention, prune};
pub use sessions::{
    NewSession, Rotation, active_sessions, check_session, create_session, lock_refresh, revoke_all,
    revoke_session, rotate, session_ends_at, touch_session,
};
pub use users::{
    NewUser, UserRow, insert_user, list_users, set_password, staff_of_store, update_staff,
    user_by_email, user_by_id,
};
pub use verifications::{
    claim_notice, consume_verification, insert_notice, insert_verification, is_verified,
    is_verified_locked, mark_verified, release_notice, user_id_by_email, verification_recipient,
    verified_email, verify_unverified, void_verifications,
};
