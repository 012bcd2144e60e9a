use actix_web::HttpResponse;
pub async fn endpoint() -> HttpResponse {
    HttpResponse::Ok().finish()
}
