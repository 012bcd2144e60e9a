//! Reassignment (`POST …/clienteling/clients/{id}/assignments`) and the advisors' history (`GET` on the
//! same path). The client's history stays: ended assignments are kept, and what belongs to the advisor who
//! looked after the client (open tasks, upcoming appointments) is moved by the [`OnReassign`] hooks that
//! those contexts register, inside the same transaction.

use std::sync::{Arc, RwLock};

use actix_web::{HttpResponse, web};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::client::Assignment;
use super::repo;
use super::routes_clients::client_id;
use super::scope::Scope;
use crate::auth::{self, AuthError};
use crate::brands::{Clienteling, InBrand};
use crate::errors::{ApiError, FieldError};
use crate::outbox::{self, NewEvent};
use crate::state::AppState;

/// A client changing hands, as the hooks see it.
#[derive(Debug, Clone)]
pub struct Reassignment {
    pub brand_id: Uuid,
    pub client_id: Uuid,
    /// The primary advisor before (none for an unassigned client).
    pub from: Option<Uuid>,
    pub to: Uuid,
}

/// Moves what the previous primary advisor held for the client; runs inside the reassignment's transaction.
pub trait OnReassign: Send + Sync + 'static {
    fn name(&self) -> &'static str;

    fn moved<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        change: &'a Reassignment,
    ) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// The registered hooks, run in registration order.
#[derive(Clone, Default)]
pub struct ReassignHooks(Arc<RwLock<Vec<Arc<dyn OnReassign>>>>);

impl ReassignHooks {
    pub fn register(&self, hook: Arc<dyn OnReassign>) {
        match self.0.write() {
            Ok(mut hooks) => hooks.push(hook),
            Err(poisoned) => poisoned.into_inner().push(hook),
        }
    }

    async fn run(&self, conn: &mut PgConnection, change: &Reassignment) -> anyhow::Result<()> {
        let hooks = match self.0.read() {
            Ok(hooks) => hooks.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        for hook in hooks {
            hook.moved(conn, change).await.map_err(|error| {
                error.context(format!("the {} reassign hook failed", hook.name()))
            })?;
        }
        Ok(())
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ClientelingReassign)]
pub struct ReassignRequest {
    /// The new primary advisor: a client advisor or manager of the brand.
    pub primary: Uuid,
    /// Replaces the secondary advisors (at most 5); absent keeps them.
    #[serde(default)]
    pub secondary: Option<Vec<Uuid>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ClientelingAssignments)]
pub struct Assignments {
    /// Current and past, current first.
    pub items: Vec<Assignment>,
}

/// Checks `id` on the request's own connection (its transaction): taking a second pool connection while
/// holding one is the pattern that starved the pool in booking, every request holding one and waiting.
async fn check_advisor(
    conn: &mut PgConnection,
    in_brand: &InBrand<Clienteling>,
    field: String,
    id: Uuid,
    errors: &mut Vec<FieldError>,
) -> Result<(), sqlx::Error> {
    let staff = auth::active_staff_on(conn, id).await?;
    let fits = staff.is_some_and(|staff| {
        staff.brand_id.as_deref() == Some(in_brand.brand.slug.as_str())
            && staff
                .roles
                .iter()
                .any(|role| role == "client_advisor" || role == "manager")
    });
    if !fits {
        errors.push(FieldError::new(
            field,
            "not_an_advisor",
            "A client advisor or manager of the brand.",
        ));
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/brands/{brand}/clienteling/clients/{id}/assignments", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Client (CRM profile) id")),
    request_body = ReassignRequest,
    responses(
        (status = 200, description = "The client's advisors, current and past", body = Assignments),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a manager of the brand (advisors do not reassign)", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such client in the caller's stores", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`client-erased`: the client's data was erased", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::errors::responses::ValidationFailed)
    ))]
pub async fn reassign(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
    body: web::Json<ReassignRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = client_id(&path.1)?;
    let brand_id = in_brand.brand.id;
    let mut tx = state.db.begin().await?;
    let scope = Scope::of(&mut tx, &in_brand).await?;
    let client = repo::visible(&mut tx, &scope, id, true)
        .await?
        .ok_or_else(super::routes_clients::client_not_found)?
        .writable()?;
    // A manager reassigns within the stores they manage, not a client merely assigned to them.
    if !scope.manages || !scope.covers_store(&client.store_code) {
        return Err(AuthError::NotAllowed.into());
    }
    let mut errors = Vec::new();
    check_advisor(
        &mut tx,
        &in_brand,
        "primary".into(),
        body.primary,
        &mut errors,
    )
    .await?;
    let secondary = body.secondary.clone();
    if let Some(secondary) = &secondary {
        if secondary.len() > 5 {
            errors.push(FieldError::new(
                "secondary",
                "too_many",
                "At most 5 secondary advisors.",
            ));
        }
        for (index, advisor) in secondary.iter().enumerate() {
            if *advisor == body.primary || secondary[..index].contains(advisor) {
                errors.push(FieldError::new(
                    format!("secondary[{index}]"),
                    "duplicate",
                    "Each advisor once, and not the primary.",
                ));
            } else {
                check_advisor(
                    &mut tx,
                    &in_brand,
                    format!("secondary[{index}]"),
                    *advisor,
                    &mut errors,
                )
                .await?;
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let current = repo::assignments(&mut tx, brand_id, id, false).await?;
    let from = current
        .iter()
        .find(|a| a.role == "primary")
        .map(|a| a.advisor_id);
    let keep_secondary: Vec<Uuid> = match &secondary {
        Some(list) => list.clone(),
        None => current
            .iter()
            .filter(|a| a.role == "secondary" && a.advisor_id != body.primary)
            .map(|a| a.advisor_id)
            .collect(),
    };
    for assignment in &current {
        let stays = match assignment.role.as_str() {
            "primary" => assignment.advisor_id == body.primary,
            _ => keep_secondary.contains(&assignment.advisor_id),
        };
        if !stays {
            repo::end_assignment(&mut tx, brand_id, id, assignment.advisor_id).await?;
        }
    }
    let actor = in_brand.user.user_id;
    if from != Some(body.primary) {
        repo::assign(&mut tx, brand_id, id, body.primary, "primary", actor).await?;
    }
    for advisor in &keep_secondary {
        let already = current
            .iter()
            .any(|a| a.role == "secondary" && a.advisor_id == *advisor);
        if !already {
            repo::assign(&mut tx, brand_id, id, *advisor, "secondary", actor).await?;
        }
    }
    if from != Some(body.primary) {
        let change = Reassignment {
            brand_id,
            client_id: id,
            from,
            to: body.primary,
        };
        state
            .clienteling
            .reassign_hooks()
            .run(&mut tx, &change)
            .await
            .map_err(ApiError::internal)?;
    }
    outbox::record(
        &mut tx,
        NewEvent {
            topic: "clienteling.client.reassigned",
            aggregate_type: "clienteling_client",
            aggregate_id: id.to_string(),
            payload: json!({
                "client_id": id,
                "brand": in_brand.brand.slug,
                "from": from,
                "to": body.primary,
                "secondary": keep_secondary,
                "actor": in_brand.actor(),
            }),
        },
    )
    .await?;
    let items = repo::assignments(&mut tx, brand_id, id, true).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(Assignments { items }))
}

#[utoipa::path(get, path = "/api/v1/brands/{brand}/clienteling/clients/{id}/assignments", tag = "clienteling", security(("bearer" = [])),
    params(("brand" = String, Path, description = "Brand slug"), ("id" = Uuid, Path, description = "Client (CRM profile) id")),
    responses(
        (status = 200, description = "The client's advisors, current and past", body = Assignments),
        (status = 401, response = crate::errors::responses::Unauthorized),
        (status = 403, description = "Not a client advisor or manager of the brand", body = crate::errors::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such brand, or no such client in the caller's book", body = crate::errors::Problem, content_type = "application/problem+json")
    ))]
pub async fn list_assignments(
    state: web::Data<AppState>,
    in_brand: InBrand<Clienteling>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = client_id(&path.1)?;
    let mut conn = state.db.acquire().await?;
    let scope = Scope::of(&mut conn, &in_brand).await?;
    repo::visible(&mut conn, &scope, id, false)
        .await?
        .ok_or_else(super::routes_clients::client_not_found)?;
    let items = repo::assignments(&mut conn, in_brand.brand.id, id, true).await?;
    Ok(HttpResponse::Ok().json(Assignments { items }))
}
