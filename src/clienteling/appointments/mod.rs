//! Appointments (issue 16): store opening hours, booking with no advisor ever double-booked (a PostgreSQL
//! exclusion constraint decides), reschedule/cancel/complete, the advisors' availability, and the
//! reassignment hook that moves a client's upcoming appointments to their new primary advisor.
//!
//! Published: [`routes`], [`ApiDoc`], [`reassign::MoveAppointments`] (registered by `Clienteling::new`),
//! [`hours::ensure_demo`] for the seed.

pub mod availability;
pub mod hours;
mod lifecycle;
pub mod model;
pub mod reassign;
mod repo;
mod routes;
mod rules;

use actix_web::web;
use utoipa::OpenApi;

use crate::http::resource;

#[derive(OpenApi)]
#[openapi(
    paths(
        hours::get_opening_hours,
        hours::put_opening_hours,
        routes::book_appointment,
        routes::list_appointments,
        routes::get_appointment,
        routes::reschedule_appointment,
        lifecycle::cancel_appointment,
        lifecycle::complete_appointment,
        availability::advisor_availability,
    ),
    components(schemas(
        hours::Interval,
        hours::SetOpeningHours,
        hours::OpeningHours,
        model::Appointment,
        model::BookAppointment,
        model::Reschedule,
        model::Cancel,
        model::Complete,
        model::AppointmentPage,
        model::Slot,
        model::Availability,
    )),
    tags((name = "clienteling", description = "The client advisors' client book"))
)]
pub struct ApiDoc;

/// Mounted under `/api/v1` with the rest of clienteling.
pub fn routes(cfg: &mut web::ServiceConfig) {
    const BASE: &str = "/brands/{brand}/clienteling";
    cfg.service(
        resource(&format!("{BASE}/stores/{{store}}/opening-hours"))
            .route(web::get().to(hours::get_opening_hours))
            .route(web::put().to(hours::put_opening_hours)),
    )
    .service(
        resource(&format!("{BASE}/appointments"))
            .route(web::get().to(routes::list_appointments))
            .route(web::post().to(routes::book_appointment)),
    )
    .service(
        resource(&format!("{BASE}/appointments/{{id}}"))
            .route(web::get().to(routes::get_appointment))
            .route(web::patch().to(routes::reschedule_appointment)),
    )
    .service(
        resource(&format!("{BASE}/appointments/{{id}}/cancel"))
            .route(web::post().to(lifecycle::cancel_appointment)),
    )
    .service(
        resource(&format!("{BASE}/appointments/{{id}}/complete"))
            .route(web::post().to(lifecycle::complete_appointment)),
    )
    .service(
        resource(&format!("{BASE}/advisors/{{id}}/availability"))
            .route(web::get().to(availability::advisor_availability)),
    );
}

/// Erasure of a client (`clienteling::erasure`): their appointments keep time, store, advisor, kind and
/// status (the advisor's calendar and the store's history stay right), with the notes and the cancel
/// reason emptied; booked ones in the future are cancelled (`erased`). Answers how many changed; a second
/// run changes none.
pub async fn erase_for_clients(
    conn: &mut sqlx::PgConnection,
    brand_id: uuid::Uuid,
    profile_ids: &[uuid::Uuid],
) -> Result<u64, sqlx::Error> {
    let changed = sqlx::query!(
        "UPDATE clienteling_appointments SET notes = '',
                status = CASE WHEN status = 'booked' AND starts_at > now() THEN 'cancelled' ELSE status END,
                cancel_reason = CASE WHEN status = 'booked' AND starts_at > now() THEN 'erased' ELSE NULL END,
                version = version + 1, updated_at = now()
         WHERE brand_id = $1 AND profile_id = ANY($2)
           AND (notes <> '' OR (cancel_reason IS NOT NULL AND cancel_reason <> 'erased')
                OR (status = 'booked' AND starts_at > now()))",
        brand_id,
        profile_ids
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(changed)
}
