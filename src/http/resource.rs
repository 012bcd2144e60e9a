use actix_web::web;

/// A resource whose unsupported methods answer 405 (not the app's 404). Every context builds its routes
/// with it.
pub fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(crate::errors::method_not_allowed))
}
