//! The request id and path of the request being served, visible to anything running inside its future
//! (error rendering, provider clients propagating the id) without threading it through every signature.

use std::future::Future;

#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub path: String,
}

tokio::task_local! {
    static CURRENT: RequestContext;
}

pub fn current() -> Option<RequestContext> {
    CURRENT.try_with(Clone::clone).ok()
}

pub fn current_request_id() -> Option<String> {
    CURRENT.try_with(|ctx| ctx.request_id.clone()).ok()
}

pub async fn scope<F: Future>(context: RequestContext, future: F) -> F::Output {
    CURRENT.scope(context, future).await
}
