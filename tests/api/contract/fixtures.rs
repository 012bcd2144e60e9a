//! The sweep's world: accounts that own one resource of every kind, the intruders who must not reach them,
//! and how to name each kind of resource in a path. A path parameter is resolved by the collection it follows
//! (`/orders/{id}` → `orders`, `/brands/{brand}` → `brands`); a new kind of resource is one arm in
//! [`Fixtures::resolve`] (a customer's record with [`Fixtures::customers`], a brand's with
//! [`Fixtures::brand_scoped`], a store's with [`Fixtures::store_scoped`]), and a new operation with a body is
//! one arm in [`body_for`].

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::helpers::{TestApp, customer_linked_to, get_as, get_json_as, token_of};

/// The accounts of the sweep. The owners hold the records; everyone else is an intruder to some of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The portal's demo customer: owns an invoice, a subscription with a SIM, an order, a case, a session.
    Customer,
    /// Another linked customer.
    OtherCustomer,
    /// Brand `maison`, store `paris-1`: owns the store-scoped records of the sweep.
    ParisAdvisor,
    /// Brand `maison`, store `tokyo-1`: another store of the same brand.
    TokyoAdvisor,
    /// Brand `maison`: owns the brand-scoped records of the sweep.
    MaisonMarketer,
    /// Brand `atelier`: another brand.
    AtelierMarketer,
    /// Brand `atelier`, store `milan-1`.
    AtelierAdvisor,
    /// Reaches every brand; the owner of what only admins read.
    Admin,
}

impl Actor {
    pub fn describe(self) -> &'static str {
        match self {
            Actor::Customer => "the demo customer",
            Actor::OtherCustomer => "another customer",
            Actor::ParisAdvisor => "maison's Paris advisor",
            Actor::TokyoAdvisor => "an advisor of another store (maison, tokyo-1)",
            Actor::MaisonMarketer => "maison's marketer",
            Actor::AtelierMarketer => "a marketer of another brand (atelier)",
            Actor::AtelierAdvisor => "an advisor of another brand (atelier, milan-1)",
            Actor::Admin => "an admin",
        }
    }
}

/// How a path parameter names a record.
pub enum Resolution {
    /// A record of `owner`'s: every one of `intruders` must get 404 (or a documented 403).
    Owned {
        value: String,
        owner: Actor,
        intruders: &'static [Actor],
    },
    /// Not owned by anyone (a catalog product, a problem type): the same for every caller, nothing to sweep.
    Public,
    /// A secret in the path is the only key (a guest's RSVP link): whoever holds it gets the same answer,
    /// signed in or not, so the path has no owner to sweep for.
    Capability,
    /// The sweep does not know this kind of resource yet.
    Unknown,
}

pub struct Fixtures {
    tokens: HashMap<Actor, String>,
    user_id: String,
    session_id: String,
    invoice_id: String,
    subscription_id: String,
    order_id: String,
    case_id: String,
    profile_id: String,
    merge_id: String,
    social_account_id: String,
    social_post_id: String,
    client_id: String,
    interaction_id: String,
    segment_id: String,
    product_id: String,
    catalogue_run_id: String,
    template_id: String,
    campaign_id: String,
    appointment_id: String,
    task_id: String,
    paris_advisor_id: String,
    journey_id: String,
    enrollment_id: String,
    privacy_request_id: String,
    my_privacy_request_id: String,
    event_id: String,
    guest_id: String,
}

impl Fixtures {
    pub async fn build(app: &TestApp) -> Fixtures {
        let login = customer_linked_to(app, 0).await;
        let customer = token_of(&login);
        let user_id = login["user"]["id"].as_str().expect("user id").to_owned();
        let session_id = first_id(&get_json_as(app, &customer, "/api/v1/auth/sessions").await);
        let invoice_id = first_id(&get_json_as(app, &customer, "/api/v1/billing/invoices").await);
        let subscription_id = subscription_with_sim(app, &customer).await;
        let order_id = place_order(app, &customer).await;
        let case_id = first_id(&get_json_as(app, &customer, "/api/v1/support/cases").await);
        crate::helpers::demo_brands(app).await;
        let mut tokens = HashMap::from([
            (Actor::Customer, customer),
            (
                Actor::OtherCustomer,
                token_of(&customer_linked_to(app, 1).await),
            ),
        ]);
        for (actor, email, role, brand, stores) in [
            (
                Actor::ParisAdvisor,
                "sweep.paris@concierge.test",
                "client_advisor",
                Some("maison"),
                &["paris-1"][..],
            ),
            (
                Actor::TokyoAdvisor,
                "sweep.tokyo@concierge.test",
                "client_advisor",
                Some("maison"),
                &["tokyo-1"][..],
            ),
            (
                Actor::MaisonMarketer,
                "sweep.maison@concierge.test",
                "marketer",
                Some("maison"),
                &[][..],
            ),
            (
                Actor::AtelierMarketer,
                "sweep.atelier@concierge.test",
                "marketer",
                Some("atelier"),
                &[][..],
            ),
            (
                Actor::AtelierAdvisor,
                "sweep.milan@concierge.test",
                "client_advisor",
                Some("atelier"),
                &["milan-1"][..],
            ),
            (
                Actor::Admin,
                "sweep.admin@concierge.test",
                "admin",
                None,
                &[][..],
            ),
        ] {
            tokens.insert(
                actor,
                token_of(&crate::helpers::staff(app, email, role, brand, stores).await),
            );
        }
        let marketer = tokens[&Actor::MaisonMarketer].clone();
        let profile_id = crm_profile(app, &marketer, PROFILE_EMAIL).await;
        let survivor = crm_profile(app, &marketer, "sweep.survivor@example.com").await;
        let absorbed = crm_profile(app, &marketer, "sweep.absorbed@example.com").await;
        let merge_id = crm_merge(app, &marketer, &survivor, &absorbed).await;
        let (social_account_id, social_post_id) = social_post(app, &marketer).await;
        let client_id = clienteling_client(app, &tokens[&Actor::ParisAdvisor]).await;
        let interaction_id =
            clienteling_interaction(app, &tokens[&Actor::ParisAdvisor], &client_id).await;
        let segment_id = crm_segment(app, &marketer).await;
        let (product_id, catalogue_run_id) = catalogue_product(app).await;
        let template_id = crm_template(app, &marketer).await;
        let campaign_id = crm_campaign(app, &marketer, &segment_id, &template_id).await;
        let (appointment_id, paris_advisor_id) =
            clienteling_appointment(app, &tokens[&Actor::ParisAdvisor], &client_id).await;
        let (journey_id, enrollment_id) =
            crm_journey(app, &marketer, &template_id, &profile_id).await;
        let task_id = clienteling_task(app, &tokens[&Actor::ParisAdvisor], &client_id).await;
        let privacy_request_id = privacy_export(app, &marketer, &profile_id).await;
        let my_privacy_request_id = my_privacy_export(app, &tokens[&Actor::Customer]).await;
        let (event_id, guest_id) =
            brand_event(app, &marketer, &tokens[&Actor::ParisAdvisor], &client_id).await;
        Fixtures {
            tokens,
            user_id,
            session_id,
            invoice_id,
            subscription_id,
            order_id,
            case_id,
            profile_id,
            merge_id,
            social_account_id,
            social_post_id,
            client_id,
            interaction_id,
            segment_id,
            product_id,
            catalogue_run_id,
            template_id,
            campaign_id,
            appointment_id,
            task_id,
            paris_advisor_id,
            journey_id,
            enrollment_id,
            privacy_request_id,
            my_privacy_request_id,
            event_id,
            guest_id,
        }
    }

    pub fn token(&self, actor: Actor) -> &str {
        self.tokens
            .get(&actor)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no token for {actor:?}"))
    }

    /// [`body_for`], with the records a body must name filled in (the swept profile, for a preview).
    pub fn body(&self, method: &str, template: &str) -> Option<Value> {
        let mut body = body_for(method, template)?;
        if template == "/api/v1/brands/{brand}/crm/templates/{id}/preview"
            || template == "/api/v1/brands/{brand}/crm/journeys/{id}/dry-run"
        {
            body["profile_id"] = json!(self.profile_id);
        }
        Some(body)
    }

    /// The value of `parameter`, which follows `collection` in a path (`/orders/{id}`: `orders`, `id`).
    pub fn resolve(&self, collection: &str, parameter: &str) -> Resolution {
        match (collection, parameter) {
            ("users", "id") => Self::customers(&self.user_id),
            ("sessions", "id") => Self::customers(&self.session_id),
            ("invoices", "id") => Self::customers(&self.invoice_id),
            ("subscriptions", "id") => Self::customers(&self.subscription_id),
            ("orders", "id") => Self::customers(&self.order_id),
            ("cases", "id") => Self::customers(&self.case_id),
            ("brands", "brand") => Self::brand_scoped("maison"),
            ("profiles", "id") => Self::brand_scoped(&self.profile_id),
            ("merges", "id") => Self::brand_scoped(&self.merge_id),
            ("accounts", "id") => Self::brand_scoped(&self.social_account_id),
            ("posts", "id") => Self::brand_scoped(&self.social_post_id),
            ("segments", "id") => Self::brand_scoped(&self.segment_id),
            ("templates", "id") => Self::brand_scoped(&self.template_id),
            ("campaigns", "id") => Self::brand_scoped(&self.campaign_id),
            ("versions", "version") => Self::brand_scoped("1"),
            ("journeys", "id") => Self::brand_scoped(&self.journey_id),
            ("enrollments", "id") => Self::brand_scoped(&self.enrollment_id),
            ("requests", "id") => Self::brand_scoped(&self.privacy_request_id),
            // `/me/…`: the caller's own records (see `ownership::build`).
            ("me/requests", "id") => Self::customers(&self.my_privacy_request_id),
            // A download link is its own authorisation (signed, expiring): no account owns it.
            ("downloads", "token") => Resolution::Public,
            // The swept profile's own identifier and a consent slot of it.
            ("identifiers", "kind") => Self::brand_scoped("email"),
            ("{kind}", "value") => Self::brand_scoped(PROFILE_EMAIL),
            ("consents", "channel") => Self::brand_scoped("email"),
            ("{channel}", "purpose") => Self::brand_scoped("marketing"),
            ("clients", "id") => Self::store_scoped(&self.client_id),
            ("stores", "store") => Self::store_scoped("paris-1"),
            ("interactions", "id") => Self::store_scoped(&self.interaction_id),
            ("appointments", "id") => Self::store_scoped(&self.appointment_id),
            ("tasks", "id") => Self::store_scoped(&self.task_id),
            ("advisors", "id") => Self::store_scoped(&self.paris_advisor_id),
            // maison's catalogue: any of its advisors reads it, no other brand does.
            ("products", "id") => Self::brand_scoped(&self.product_id),
            ("sync", "run") => Self::brand_scoped(&self.catalogue_run_id),
            ("events", "id") => Self::brand_scoped(&self.event_id),
            ("guests", "guest") => Self::brand_scoped(&self.guest_id),
            ("rsvp", "token") => Resolution::Capability,
            ("products", "sku") | ("problems", "slug") => Resolution::Public,
            _ => Resolution::Unknown,
        }
    }

    /// A record of the demo customer's: other customers and staff must not reach it.
    pub fn customers(value: &str) -> Resolution {
        Resolution::Owned {
            value: value.to_owned(),
            owner: Actor::Customer,
            intruders: &[
                Actor::OtherCustomer,
                Actor::TokyoAdvisor,
                Actor::AtelierMarketer,
            ],
        }
    }

    /// A record of brand `maison` as a whole: another brand's staff and customers must not reach it.
    pub fn brand_scoped(value: &str) -> Resolution {
        Resolution::Owned {
            value: value.to_owned(),
            owner: Actor::MaisonMarketer,
            intruders: &[
                Actor::AtelierMarketer,
                Actor::AtelierAdvisor,
                Actor::Customer,
            ],
        }
    }

    /// A record of maison's Paris store: another store's advisor, another brand and customers must not reach it.
    pub fn store_scoped(value: &str) -> Resolution {
        Resolution::Owned {
            value: value.to_owned(),
            owner: Actor::ParisAdvisor,
            intruders: &[
                Actor::TokyoAdvisor,
                Actor::AtelierAdvisor,
                Actor::AtelierMarketer,
                Actor::Customer,
            ],
        }
    }
}

/// A valid body for an operation that takes one, so that an answer is about ownership, not about the body.
pub fn body_for(method: &str, template: &str) -> Option<Value> {
    let today = chrono::Utc::now().date_naive().to_string();
    Some(match (method, template) {
        ("PATCH", "/api/v1/admin/users/{id}") => json!({ "disabled": false }),
        ("POST", "/api/v1/brands/{brand}/clienteling/clients") => json!({
            "attributes": { "first_name": "Intruder" }, "store": "paris-1"
        }),
        ("PATCH", "/api/v1/brands/{brand}/clienteling/clients/{id}") => {
            json!({ "notes": "intruder" })
        }
        ("POST", "/api/v1/brands/{brand}/clienteling/clients/{id}/interactions") => {
            json!({ "channel": "call", "context": "generic" })
        }
        ("PATCH", "/api/v1/brands/{brand}/clienteling/interactions/{id}") => {
            json!({ "note": "intruder" })
        }
        ("POST", "/api/v1/brands/{brand}/clienteling/appointments") => json!({
            "client_id": uuid::Uuid::now_v7(), "store": "paris-1", "kind": "phone",
            "starts_at": chrono::Utc::now() + chrono::Duration::days(3),
            "ends_at": chrono::Utc::now() + chrono::Duration::days(3) + chrono::Duration::hours(1),
        }),
        ("PATCH", "/api/v1/brands/{brand}/clienteling/appointments/{id}") => {
            json!({ "notes": "x" })
        }
        ("POST", "/api/v1/brands/{brand}/clienteling/appointments/{id}/cancel")
        | ("POST", "/api/v1/brands/{brand}/clienteling/appointments/{id}/complete") => json!({}),
        ("POST", "/api/v1/brands/{brand}/clienteling/tasks") => json!({
            "client_id": uuid::Uuid::now_v7(), "title": "Intruder",
            "due_at": chrono::Utc::now() + chrono::Duration::days(1),
        }),
        ("POST", "/api/v1/brands/{brand}/clienteling/tasks/{id}/reassign") => {
            json!({ "assignee_id": uuid::Uuid::now_v7() })
        }
        ("POST", "/api/v1/brands/{brand}/clienteling/clients/{id}/outreach") => {
            json!({ "channel": "sms", "text": "Hello from an intruder" })
        }
        ("POST", "/api/v1/brands/{brand}/clienteling/clients/{id}/outreach/preview") => {
            json!({ "template_id": uuid::Uuid::now_v7() })
        }
        ("PUT", "/api/v1/brands/{brand}/clienteling/stores/{store}/opening-hours") => {
            json!({ "intervals": [{ "weekday": "monday", "opens": "10:00", "closes": "18:00" }] })
        }
        ("POST", "/api/v1/brands/{brand}/clienteling/clients/{id}/assignments") => {
            json!({ "primary": uuid::Uuid::now_v7() })
        }
        ("POST", "/api/v1/brands/{brand}/crm/attributes") => {
            json!({ "name": "intruder_note", "type": "string" })
        }
        ("POST", "/api/v1/brands/{brand}/crm/events") => json!([{
            "id": "intruder-1", "type": "page_view", "occurred_at": "2026-11-01T10:00:00Z",
            "identifiers": [{ "kind": "email", "value": "intruder@example.com" }],
            "properties": { "url": "https://maison.example/bags" }
        }]),
        ("POST", "/api/v1/brands/{brand}/crm/merges") => json!({
            "survivor_id": uuid::Uuid::now_v7(), "absorbed_ids": [uuid::Uuid::now_v7()], "dry_run": true
        }),
        ("POST", "/api/v1/brands/{brand}/crm/profiles") => json!({
            "identifiers": [{ "kind": "email", "value": "intruder@example.com" }],
            "attributes": { "first_name": "Intruder" }
        }),
        ("PATCH", "/api/v1/brands/{brand}/crm/profiles/{id}") => {
            json!({ "attributes": { "city": "Intruderville" } })
        }
        ("POST", "/api/v1/brands/{brand}/crm/profiles/{id}/identifiers") => {
            json!({ "kind": "scl_member", "value": "intruder-1" })
        }
        ("PUT", "/api/v1/brands/{brand}/crm/profiles/{id}/consents/{channel}/{purpose}") => {
            json!({ "status": "granted", "source": "intruder" })
        }
        ("POST", "/api/v1/brands/{brand}/crm/merges/{id}/unmerge") => json!({ "dry_run": false }),
        ("PUT", "/api/v1/brands/{brand}/crm/score-rules") => {
            serde_json::to_value(concierge::crm::scores::rules::Rules::default()).ok()?
        }
        (
            "POST" | "PUT",
            "/api/v1/brands/{brand}/crm/templates" | "/api/v1/brands/{brand}/crm/templates/{id}",
        ) => {
            json!({ "name": "Intruder", "channel": "sms", "purpose": "marketing",
                    "fallback_language": "en", "variants": [{ "language": "en", "body": "Hi" }] })
        }
        ("POST", "/api/v1/brands/{brand}/crm/templates/{id}/preview") => {
            json!({ "profile_id": uuid::Uuid::now_v7() })
        }
        (
            "POST" | "PUT",
            "/api/v1/brands/{brand}/crm/campaigns" | "/api/v1/brands/{brand}/crm/campaigns/{id}",
        ) => json!({ "name": "Intruder", "segment_id": uuid::Uuid::now_v7(), "channel": "sms",
                     "purpose": "marketing", "template_id": uuid::Uuid::now_v7() }),
        ("PUT", "/api/v1/brands/{brand}/crm/message-caps") => json!({ "caps": [] }),
        (
            "POST" | "PUT",
            "/api/v1/brands/{brand}/events" | "/api/v1/brands/{brand}/events/{id}",
        ) => brand_event_body(),
        ("POST", "/api/v1/brands/{brand}/events/{id}/invitations/segment") => json!({
            "segment_id": uuid::Uuid::now_v7(), "channel": "sms", "template_id": uuid::Uuid::now_v7()
        }),
        ("POST", "/api/v1/brands/{brand}/events/{id}/invitations") => {
            json!({ "client_id": uuid::Uuid::now_v7() })
        }
        ("POST", "/api/v1/brands/{brand}/events/{id}/guests/{guest}/rsvp") => {
            json!({ "response": "accept" })
        }
        (
            "POST" | "PUT",
            "/api/v1/brands/{brand}/crm/journeys" | "/api/v1/brands/{brand}/crm/journeys/{id}",
        ) => journey_body(&uuid::Uuid::now_v7().to_string()),
        ("POST", "/api/v1/brands/{brand}/crm/journeys/{id}/dry-run") => {
            json!({ "profile_id": uuid::Uuid::now_v7() })
        }
        ("POST", "/api/v1/brands/{brand}/crm/segments") => {
            json!({ "slug": "intruder", "name": "Intruder", "kind": "static" })
        }
        ("POST", "/api/v1/brands/{brand}/crm/segments/preview") => {
            json!({ "rule": { "attribute": "tier", "op": "exists" } })
        }
        ("PATCH", "/api/v1/brands/{brand}/crm/segments/{id}") => json!({ "name": "Intruded" }),
        // Sent as JSON: the owner's answer is a 415, never a 404, which is all the sweep asks of it.
        ("POST", "/api/v1/brands/{brand}/crm/segments/{id}/members/csv") => json!("profile_id\n"),
        ("POST", "/api/v1/brands/{brand}/crm/segments/{id}/members") => {
            json!({ "add": [uuid::Uuid::now_v7()] })
        }
        ("POST", "/api/v1/admin/brands/{brand}/stores") => {
            json!({ "code": "sweep-1", "name": "Sweep", "country": "FR" })
        }
        ("POST", "/api/v1/billing/invoices/{id}/payments") => json!({ "method": "link" }),
        ("POST", "/api/v1/subscriptions/{id}/sim/plan-changes") => {
            json!({ "plan_code": "DATA_50GB", "effective_date": today })
        }
        ("POST", "/api/v1/subscriptions/{id}/sim/top-ups") => json!({ "quota_mb": 1024 }),
        ("POST", "/api/v1/support/cases/{id}/comments") => json!({ "body": "Let me in." }),
        ("PATCH", "/api/v1/brands/{brand}/social/posts/{id}") => json!({ "text": "Hijacked" }),
        ("POST", "/api/v1/brands/{brand}/social/accounts") => json!({
            "network": "facebook", "external_id": "104000000000009", "name": "Intruder",
            "access_token": "intruder-token"
        }),
        ("POST", "/api/v1/brands/{brand}/social/posts") => {
            json!({ "text": "Intruder", "targets": [] })
        }
        _ => return None,
    })
}

/// The email identifier of the swept CRM profile.
const PROFILE_EMAIL: &str = "sweep.profile@example.com";

/// A maison CRM profile identified by `email`, created by its marketer.
/// An export of the swept profile, asked for by maison's marketer.
async fn privacy_export(app: &TestApp, marketer: &str, profile: &str) -> String {
    let response = app
        .client
        .post(app.url(&format!(
            "/api/v1/brands/maison/crm/profiles/{profile}/privacy/export"
        )))
        .bearer_auth(marketer)
        .send()
        .await
        .expect("privacy export");
    assert_eq!(response.status(), 202, "the sweep's privacy export");
    let body: Value = response.json().await.expect("privacy request json");
    body["id"].as_str().expect("request id").to_owned()
}

/// The demo customer's own export (they type their password again).
async fn my_privacy_export(app: &TestApp, customer: &str) -> String {
    let response = app
        .client
        .post(app.url("/api/v1/me/privacy/export"))
        .bearer_auth(customer)
        .json(&json!({ "password": "a-long-and-unusual-passphrase" }))
        .send()
        .await
        .expect("my privacy export");
    assert_eq!(response.status(), 202, "the sweep's own privacy export");
    let body: Value = response.json().await.expect("privacy request json");
    body["id"].as_str().expect("request id").to_owned()
}

async fn crm_profile(app: &TestApp, marketer: &str, email: &str) -> String {
    let response = app
        .client
        .post(app.url("/api/v1/brands/maison/crm/profiles"))
        .bearer_auth(marketer)
        .json(
            &json!({ "identifiers": [{ "kind": "email", "value": email }],
                       "attributes": { "first_name": "Sweep" } }),
        )
        .send()
        .await
        .expect("profile");
    assert_eq!(response.status(), 201, "the sweep's CRM profile");
    let body: Value = response.json().await.expect("profile json");
    body["profile"]["id"]
        .as_str()
        .expect("profile id")
        .to_owned()
}

/// A client of maison's Paris book, made by its advisor.
/// maison's catalogue synced from the sandbox: one of its products and the run.
async fn catalogue_product(app: &TestApp) -> (String, String) {
    use concierge::clienteling::catalogue::{Trigger, sync_now};
    let brand = concierge::brands::find(&app.db, "maison")
        .await
        .expect("brand")
        .expect("maison");
    let catalogue = app.state.clienteling.catalogue().expect("catalogue");
    let run = sync_now(catalogue, brand.id, "maison", Trigger::Request)
        .await
        .expect("the sweep's catalogue sync");
    let product: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM clienteling_products WHERE brand_id = $1 LIMIT 1")
            .bind(brand.id)
            .fetch_one(&app.db)
            .await
            .expect("a product");
    (product.to_string(), run.id.to_string())
}

async fn clienteling_client(app: &TestApp, advisor: &str) -> String {
    let response = app
        .client
        .post(app.url("/api/v1/brands/maison/clienteling/clients"))
        .bearer_auth(advisor)
        .json(&json!({
            "attributes": { "first_name": "Sweep", "email": "sweep.client@example.com" },
            "store": "paris-1"
        }))
        .send()
        .await
        .expect("client");
    assert_eq!(response.status(), 201, "the sweep's clienteling client");
    let body: Value = response.json().await.expect("client json");
    body["id"].as_str().expect("client id").to_owned()
}

/// A phone appointment of the sweep's client with the Paris advisor; returns it and the advisor's id.
async fn clienteling_appointment(app: &TestApp, advisor: &str, client: &str) -> (String, String) {
    let starts_at = chrono::Utc::now() + chrono::Duration::days(2);
    let response = app
        .client
        .post(app.url("/api/v1/brands/maison/clienteling/appointments"))
        .bearer_auth(advisor)
        .json(&json!({
            "client_id": client, "store": "paris-1", "kind": "phone",
            "starts_at": starts_at, "ends_at": starts_at + chrono::Duration::hours(1),
        }))
        .send()
        .await
        .expect("appointment");
    assert_eq!(response.status(), 201, "the sweep's appointment");
    let body: Value = response.json().await.expect("appointment json");
    (
        body["id"].as_str().expect("appointment id").to_owned(),
        body["advisor_id"].as_str().expect("advisor id").to_owned(),
    )
}

/// A task of the sweep's client for the Paris advisor.
async fn clienteling_task(app: &TestApp, advisor: &str, client: &str) -> String {
    let response = app
        .client
        .post(app.url("/api/v1/brands/maison/clienteling/tasks"))
        .bearer_auth(advisor)
        .json(&json!({
            "client_id": client, "title": "Call back",
            "due_at": chrono::Utc::now() + chrono::Duration::days(1),
        }))
        .send()
        .await
        .expect("task");
    assert_eq!(response.status(), 201, "the sweep's task");
    let body: Value = response.json().await.expect("task json");
    body["id"].as_str().expect("task id").to_owned()
}

/// An interaction with the sweep's client, logged by the Paris advisor.
async fn clienteling_interaction(app: &TestApp, advisor: &str, client: &str) -> String {
    let response = app
        .client
        .post(app.url(&format!(
            "/api/v1/brands/maison/clienteling/clients/{client}/interactions"
        )))
        .bearer_auth(advisor)
        .json(&json!({ "channel": "call", "context": "generic" }))
        .send()
        .await
        .expect("interaction");
    assert_eq!(response.status(), 201, "the sweep's interaction");
    let body: Value = response.json().await.expect("interaction json");
    body["id"].as_str().expect("interaction id").to_owned()
}

/// A merge of two maison profiles, made by its marketer.
async fn crm_merge(app: &TestApp, marketer: &str, survivor: &str, absorbed: &str) -> String {
    let response = app
        .client
        .post(app.url("/api/v1/brands/maison/crm/merges"))
        .bearer_auth(marketer)
        .json(&json!({ "survivor_id": survivor, "absorbed_ids": [absorbed], "dry_run": false }))
        .send()
        .await
        .expect("merge");
    assert!(
        response.status().is_success(),
        "the sweep's merge: {}",
        response.status()
    );
    let body: Value = response.json().await.expect("merge json");
    body["merge"]["id"].as_str().expect("merge id").to_owned()
}

/// A maison social account and a post scheduled to it an hour ahead.
async fn social_post(app: &TestApp, marketer: &str) -> (String, String) {
    let account: Value = app
        .client
        .post(app.url("/api/v1/brands/maison/social/accounts"))
        .bearer_auth(marketer)
        .json(
            &json!({ "network": "facebook", "external_id": "104000000000001", "name": "Sweep",
                       "access_token": "sweep-token" }),
        )
        .send()
        .await
        .expect("social account")
        .json()
        .await
        .expect("account json");
    let account_id = account["id"].as_str().expect("account id").to_owned();
    let publish_at = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let post: Value = app
        .client
        .post(app.url("/api/v1/brands/maison/social/posts"))
        .bearer_auth(marketer)
        .header("Idempotency-Key", "sweep-social-post")
        .json(&json!({ "text": "Sweep", "targets": [account_id], "publish_at": publish_at }))
        .send()
        .await
        .expect("social post")
        .json()
        .await
        .expect("post json");
    (account_id, post["id"].as_str().expect("post id").to_owned())
}

/// A static maison segment, named by a dynamic one so that its owner's own DELETE (swept before the other
/// writes) is refused (`segment-in-use`) and the writes after it still find it.
async fn crm_segment(app: &TestApp, marketer: &str) -> String {
    let mut ids = Vec::new();
    for body in [
        json!({ "slug": "sweep-static", "name": "Sweep", "kind": "static" }),
        json!({ "slug": "sweep-nested", "name": "Sweep nested",
                "rule": { "segment": "sweep-static", "is": "member" } }),
    ] {
        let response = app
            .client
            .post(app.url("/api/v1/brands/maison/crm/segments"))
            .bearer_auth(marketer)
            .json(&body)
            .send()
            .await
            .expect("segment");
        assert_eq!(response.status(), 201, "the sweep's segment");
        let body: Value = response.json().await.expect("segment json");
        ids.push(body["id"].as_str().expect("segment id").to_owned());
    }
    ids.swap_remove(0)
}

async fn crm_template(app: &TestApp, marketer: &str) -> String {
    let response = app
        .client
        .post(app.url("/api/v1/brands/maison/crm/templates"))
        .bearer_auth(marketer)
        .json(&json!({ "name": "Sweep", "channel": "sms", "purpose": "marketing",
                       "fallback_language": "en", "variants": [{ "language": "en", "body": "Hi" }] }))
        .send()
        .await
        .expect("template");
    assert_eq!(response.status(), 201, "the sweep's template");
    let body: Value = response.json().await.expect("template json");
    body["id"].as_str().expect("template id").to_owned()
}

/// A launched maison campaign: the owner's own DELETE and PUT are refused (`campaign-not-draft`), so the
/// writes swept after them still find it.
async fn crm_campaign(app: &TestApp, marketer: &str, segment: &str, template: &str) -> String {
    let response = app
        .client
        .post(app.url("/api/v1/brands/maison/crm/campaigns"))
        .bearer_auth(marketer)
        .json(
            &json!({ "name": "Sweep", "segment_id": segment, "channel": "sms",
                       "purpose": "marketing", "template_id": template }),
        )
        .send()
        .await
        .expect("campaign");
    assert_eq!(response.status(), 201, "the sweep's campaign");
    let body: Value = response.json().await.expect("campaign json");
    let id = body["id"].as_str().expect("campaign id").to_owned();
    let launched = app
        .client
        .post(app.url(&format!("/api/v1/brands/maison/crm/campaigns/{id}/launch")))
        .bearer_auth(marketer)
        .header("Idempotency-Key", format!("sweep-{id}"))
        .send()
        .await
        .expect("launch");
    assert_eq!(launched.status(), 200, "the sweep's campaign launched");
    id
}

fn brand_event_body() -> Value {
    let starts = chrono::Utc::now() + chrono::Duration::days(20);
    json!({ "name": "Sweep soirée", "store": "paris-1", "starts_at": starts,
            "ends_at": starts + chrono::Duration::hours(2), "capacity": 10 })
}

/// An open maison event at paris-1 with the sweep's client invited in person by the Paris advisor; the
/// event and the guest (invitation) ids.
async fn brand_event(
    app: &TestApp,
    marketer: &str,
    advisor: &str,
    client: &str,
) -> (String, String) {
    let response = app
        .client
        .post(app.url("/api/v1/brands/maison/events"))
        .bearer_auth(marketer)
        .json(&brand_event_body())
        .send()
        .await
        .expect("event");
    assert_eq!(response.status(), 201, "the sweep's event");
    let body: Value = response.json().await.expect("event json");
    let id = body["id"].as_str().expect("event id").to_owned();
    let opened = app
        .client
        .post(app.url(&format!("/api/v1/brands/maison/events/{id}/open")))
        .bearer_auth(marketer)
        .send()
        .await
        .expect("open");
    assert_eq!(opened.status(), 200, "the sweep's event opened");
    let invited = app
        .client
        .post(app.url(&format!("/api/v1/brands/maison/events/{id}/invitations")))
        .bearer_auth(advisor)
        .json(&json!({ "client_id": client }))
        .send()
        .await
        .expect("invitation");
    assert_eq!(invited.status(), 201, "the sweep's guest");
    let guest: Value = invited.json().await.expect("guest json");
    (id, guest["id"].as_str().expect("guest id").to_owned())
}

fn journey_body(template: &str) -> Value {
    json!({ "name": "Sweep", "definition": {
        "trigger": { "type": "event", "event": "sweep_never_sent" }, "start": "hello",
        "steps": [{ "type": "send", "id": "hello", "template_id": template, "channel": "sms",
                    "purpose": "marketing", "next": null }] } })
}

/// A published maison journey (so its owner's own DELETE is refused and the writes after it find it) and an
/// enrollment of the swept profile in it.
async fn crm_journey(
    app: &TestApp,
    marketer: &str,
    template: &str,
    profile: &str,
) -> (String, String) {
    let response = app
        .client
        .post(app.url("/api/v1/brands/maison/crm/journeys"))
        .bearer_auth(marketer)
        .json(&journey_body(template))
        .send()
        .await
        .expect("journey");
    assert_eq!(response.status(), 201, "the sweep's journey");
    let body: Value = response.json().await.expect("journey json");
    let id = body["id"].as_str().expect("journey id").to_owned();
    let response = app
        .client
        .post(app.url(&format!("/api/v1/brands/maison/crm/journeys/{id}/publish")))
        .bearer_auth(marketer)
        .send()
        .await
        .expect("publish");
    assert_eq!(response.status(), 200, "the sweep's journey published");
    let brand = concierge::brands::find(&app.db, "maison")
        .await
        .expect("brand")
        .expect("maison");
    let job = concierge::crm::journeys::EnrollProfile {
        brand_id: brand.id,
        journey_id: id.parse().expect("uuid"),
        profile_id: profile.parse().expect("uuid"),
        trigger_ref: "sweep".into(),
    };
    let enrollment =
        concierge::crm::journeys::enroll_now(&app.state.crm, &app.state.settings, &job)
            .await
            .expect("enroll")
            .expect("enrolled");
    (id, enrollment.to_string())
}

/// The id of the first record of a list answer (a page's `items`, or a bare array).
fn first_id(page: &Value) -> String {
    let id = &page.get("items").unwrap_or(page)[0]["id"];
    id.as_str()
        .map(str::to_owned)
        .or_else(|| id.as_u64().map(|id| id.to_string()))
        .unwrap_or_else(|| panic!("the owner has no record to sweep with: {page}"))
}

async fn subscription_with_sim(app: &TestApp, token: &str) -> String {
    let page = get_json_as(app, token, "/api/v1/subscriptions").await;
    for item in page["items"].as_array().into_iter().flatten() {
        let Some(id) = item["id"].as_u64() else {
            continue;
        };
        let sim = get_as(app, token, &format!("/api/v1/subscriptions/{id}/sim")).await;
        if sim.status() == 200 {
            return id.to_string();
        }
    }
    panic!("the demo customer has no subscription with a SIM: {page}");
}

async fn place_order(app: &TestApp, token: &str) -> String {
    let response = app
        .client
        .post(app.url("/api/v1/orders"))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&json!({
            "items": [{"sku": "SIM-DATA-20GB", "quantity": 1}],
            "activation": {"type": "immediate"},
            "sim": {"type": "physical"}
        }))
        .send()
        .await
        .expect("order");
    assert_eq!(response.status(), 201, "the demo customer's order");
    let order: Value = response.json().await.expect("order json");
    order["id"].as_str().expect("order id").to_owned()
}
