//! The parts of an export. Each context publishes one function that reads its own tables (or its provider)
//! for one person; the registry here names them, so a new context adds its part with one line in
//! [`standard`]. A part answers files (`<part>/<name>.json` in the archive), each a list of records.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// Whom an export is about.
#[derive(Debug, Clone)]
pub struct Subject {
    pub request_id: Uuid,
    pub brand_id: Uuid,
    /// The CRM profile, when the CRM knows the person.
    pub profile_id: Option<Uuid>,
    /// The portal account, when the person has one.
    pub portal_user: Option<Uuid>,
}

/// One JSON file of the archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportFile {
    pub name: String,
    pub records: Vec<Value>,
    /// Why these records are kept whatever the person asks (a legal retention), when they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<String>,
}

impl ExportFile {
    pub fn new(name: &str, records: Vec<Value>) -> Self {
        Self {
            name: name.to_owned(),
            records,
            retention: None,
        }
    }

    /// Marks the file's records as kept by law, with the reason shown in `retention.json`.
    pub fn retained(mut self, why: &str) -> Self {
        self.retention = Some(why.to_owned());
        self
    }
}

/// Which people a part has something about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everyone with a CRM profile in the brand.
    Profile,
    /// Portal customers (their account, orders, billing and CRM records in WHMCS and Salesforce).
    Portal,
}

pub trait ExportPart: Send + Sync {
    /// The step's name and the archive folder: stable, lower-case (`crm`, `portal_whmcs`).
    fn name(&self) -> &'static str;
    fn scope(&self) -> Scope;
    fn export<'a>(&'a self, subject: &'a Subject)
    -> BoxFuture<'a, anyhow::Result<Vec<ExportFile>>>;
}

/// A part read by a context's `async fn(PgPool, brand id, profile id)`.
pub struct ProfilePart<F> {
    name: &'static str,
    db: PgPool,
    run: F,
}

impl<F, Fut> ExportPart for ProfilePart<F>
where
    F: Fn(PgPool, Uuid, Uuid) -> Fut + Send + Sync,
    Fut: Future<Output = anyhow::Result<Vec<ExportFile>>> + Send + 'static,
{
    fn name(&self) -> &'static str {
        self.name
    }

    fn scope(&self) -> Scope {
        Scope::Profile
    }

    fn export<'a>(
        &'a self,
        subject: &'a Subject,
    ) -> BoxFuture<'a, anyhow::Result<Vec<ExportFile>>> {
        match subject.profile_id {
            Some(profile_id) => Box::pin((self.run)(self.db.clone(), subject.brand_id, profile_id)),
            None => Box::pin(async { Ok(Vec::new()) }),
        }
    }
}

/// A part read by a context's `async fn(handle, portal user id)`.
pub struct PortalPart<H, F> {
    name: &'static str,
    handle: H,
    run: F,
}

impl<H, F, Fut> ExportPart for PortalPart<H, F>
where
    H: Clone + Send + Sync,
    F: Fn(H, Uuid) -> Fut + Send + Sync,
    Fut: Future<Output = anyhow::Result<Vec<ExportFile>>> + Send + 'static,
{
    fn name(&self) -> &'static str {
        self.name
    }

    fn scope(&self) -> Scope {
        Scope::Portal
    }

    fn export<'a>(
        &'a self,
        subject: &'a Subject,
    ) -> BoxFuture<'a, anyhow::Result<Vec<ExportFile>>> {
        match subject.portal_user {
            Some(user_id) => Box::pin((self.run)(self.handle.clone(), user_id)),
            None => Box::pin(async { Ok(Vec::new()) }),
        }
    }
}

/// The registered parts, in archive order.
#[derive(Clone, Default)]
pub struct Parts {
    parts: Vec<Arc<dyn ExportPart>>,
}

impl Parts {
    pub fn register(&mut self, part: Arc<dyn ExportPart>) -> &mut Self {
        self.parts.push(part);
        self
    }

    /// Adds a part read by `run(db, brand id, profile id)`.
    pub fn profile<F, Fut>(&mut self, name: &'static str, db: &PgPool, run: F) -> &mut Self
    where
        F: Fn(PgPool, Uuid, Uuid) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<Vec<ExportFile>>> + Send + 'static,
    {
        self.register(Arc::new(ProfilePart {
            name,
            db: db.clone(),
            run,
        }))
    }

    /// Adds a part read by `run(handle, portal user id)`.
    pub fn portal<H, F, Fut>(&mut self, name: &'static str, handle: H, run: F) -> &mut Self
    where
        H: Clone + Send + Sync + 'static,
        F: Fn(H, Uuid) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<Vec<ExportFile>>> + Send + 'static,
    {
        self.register(Arc::new(PortalPart { name, handle, run }))
    }

    /// The parts that have something about a person with (or without) a profile and a portal account.
    pub fn applicable(&self, has_profile: bool, has_portal: bool) -> Vec<&'static str> {
        self.parts
            .iter()
            .filter(|part| match part.scope() {
                Scope::Profile => has_profile,
                Scope::Portal => has_portal,
            })
            .map(|part| part.name())
            .collect()
    }

    pub fn find(&self, name: &str) -> Option<&Arc<dyn ExportPart>> {
        self.parts.iter().find(|part| part.name() == name)
    }
}

/// Every context's part. A new context adds one line here.
pub fn standard(db: &PgPool, customers: &crate::customers::Customers) -> Parts {
    let mut parts = Parts::default();
    parts
        .profile("crm", db, crate::crm::privacy_export::export)
        .profile(
            "clienteling",
            db,
            crate::clienteling::privacy_export::export,
        )
        .profile(
            "brand_events",
            db,
            crate::brand_events::privacy_export::export,
        )
        .portal("portal_account", db.clone(), crate::auth::privacy_export)
        .portal(
            "portal_orders",
            db.clone(),
            crate::orders::privacy_export::export,
        )
        .portal(
            "portal_subscriptions",
            db.clone(),
            crate::subscriptions::privacy_export::export,
        )
        .portal(
            "portal_whmcs",
            customers.clone(),
            crate::customers::privacy_export::whmcs,
        )
        .portal(
            "portal_salesforce",
            customers.clone(),
            crate::customers::privacy_export::salesforce,
        );
    parts
}
