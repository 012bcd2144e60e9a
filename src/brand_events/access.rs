//! Who sees what. Marketers (and admins) run the brand's events and see every guest. Advisors and managers
//! see the published events (not drafts); of the guests, an event's hosts — staff whose scope covers the
//! event's store, or the whole brand — see the whole list (they run the door), anyone else the guests they
//! invited. Acting for a guest (an RSVP, a check-in) also takes a client of the caller's book.

use sqlx::PgConnection;
use uuid::Uuid;

use super::guests::GuestRow;
use super::repo::EventRow;
use crate::auth::Role;
use crate::brands::{BrandRoles, InBrand};
use crate::clienteling::scope::Scope;

/// The brand's marketers and its clienteling staff (admins always pass).
pub struct EventStaff;

impl BrandRoles for EventStaff {
    const ROLES: &'static [Role] = &[Role::Marketer, Role::ClientAdvisor, Role::Manager];
}

/// How the caller sees the brand's events.
pub enum Viewer {
    /// Marketers and admins: everything.
    Marketing,
    /// Advisors and managers, within their clienteling scope.
    Staff(Scope),
}

impl Viewer {
    pub async fn of(
        conn: &mut PgConnection,
        in_brand: &InBrand<EventStaff>,
    ) -> Result<Viewer, sqlx::Error> {
        if in_brand.is_admin() || in_brand.user.has_role(Role::Marketer) {
            return Ok(Viewer::Marketing);
        }
        Ok(Viewer::Staff(
            Scope::of_user(conn, in_brand.brand.id, &in_brand.user).await?,
        ))
    }

    /// Drafts are the marketers' own.
    pub fn sees_drafts(&self) -> bool {
        matches!(self, Viewer::Marketing)
    }

    pub fn sees_event(&self, event: &EventRow) -> bool {
        self.sees_drafts() || event.status != "draft"
    }

    /// Whether the caller sees every guest of the event; otherwise only those they invited.
    pub fn sees_all_guests(&self, event: &EventRow) -> bool {
        match self {
            Viewer::Marketing => true,
            Viewer::Staff(scope) => {
                scope.brand_wide
                    || event
                        .store_code
                        .as_deref()
                        .is_some_and(|store| scope.covers_store(store))
            }
        }
    }

    /// The invitations the caller is limited to (`None`: all of them).
    pub fn invited_by_filter(&self, event: &EventRow) -> Option<Uuid> {
        match self {
            Viewer::Staff(scope) if !self.sees_all_guests(event) => Some(scope.user_id),
            _ => None,
        }
    }

    /// Whether the caller may act for this guest: one they see, or a client of their book.
    pub async fn may_act_for(
        &self,
        conn: &mut PgConnection,
        event: &EventRow,
        guest: &GuestRow,
    ) -> Result<bool, sqlx::Error> {
        let Viewer::Staff(scope) = self else {
            return Ok(true);
        };
        if self.sees_all_guests(event) || guest.invited_by == Some(scope.user_id) {
            return Ok(true);
        }
        Ok(
            crate::clienteling::client_in_scope(conn, scope, guest.profile_id)
                .await?
                .is_some(),
        )
    }
}
