//! The sweep's world: a victim who owns one resource of every kind, the intruders who must not reach them,
//! and how to name each kind of resource in a path. A path parameter is resolved by the collection it follows
//! (`/orders/{id}` → `orders`); a new kind of resource is one arm in [`Fixtures::resolve`], and a new
//! operation with a body is one arm in [`body_for`].

use concierge::auth::{self, NewUser, UserKind};
use serde_json::{Value, json};

use crate::helpers::{TestApp, customer_linked_to, get_json_as, token_of};

const STAFF_PASSWORD: &str = "a-long-and-unusual-passphrase";

/// Who tries to reach the victim's resources.
pub struct Intruder {
    pub who: &'static str,
    pub token: String,
}

/// How a path parameter names the victim's resource.
pub enum Resolution {
    /// The victim's own resource: intruders must get 404 (or a documented 403).
    Owned(String),
    /// Not owned by anyone (a catalog product, a problem type): the same for every caller, nothing to sweep.
    Public,
    /// The sweep does not know this kind of resource yet.
    Unknown,
}

pub struct Fixtures {
    pub victim: String,
    pub intruders: Vec<Intruder>,
    user_id: String,
    session_id: String,
    invoice_id: String,
    subscription_id: String,
    order_id: String,
    case_id: String,
}

impl Fixtures {
    /// The sandbox's demo customer owns one of everything; another linked customer and staff of another brand
    /// and store are the intruders.
    pub async fn build(app: &TestApp) -> Fixtures {
        let login = customer_linked_to(app, 0).await;
        let victim = token_of(&login);
        let user_id = login["user"]["id"].as_str().expect("user id").to_owned();
        let session_id = first_id(&get_json_as(app, &victim, "/api/v1/auth/sessions").await);
        let invoice_id = first_id(&get_json_as(app, &victim, "/api/v1/billing/invoices").await);
        let subscription_id = subscription_with_sim(app, &victim).await;
        let order_id = place_order(app, &victim).await;
        let case_id = first_id(&get_json_as(app, &victim, "/api/v1/support/cases").await);
        let intruders = vec![
            Intruder {
                who: "another customer",
                token: token_of(&customer_linked_to(app, 1).await),
            },
            Intruder {
                who: "an advisor of another store",
                token: staff(
                    app,
                    "sweep.advisor@concierge.test",
                    "client_advisor",
                    "maison",
                    &["tokyo-1"],
                )
                .await,
            },
            Intruder {
                who: "a marketer of another brand",
                token: staff(
                    app,
                    "sweep.marketer@concierge.test",
                    "marketer",
                    "atelier",
                    &[],
                )
                .await,
            },
        ];
        Fixtures {
            victim,
            intruders,
            user_id,
            session_id,
            invoice_id,
            subscription_id,
            order_id,
            case_id,
        }
    }

    /// The value of `parameter`, which follows `collection` in a path (`/orders/{id}`: `orders`, `id`).
    pub fn resolve(&self, collection: &str, parameter: &str) -> Resolution {
        use Resolution::*;
        match (collection, parameter) {
            ("users", "id") => Owned(self.user_id.clone()),
            ("sessions", "id") => Owned(self.session_id.clone()),
            ("invoices", "id") => Owned(self.invoice_id.clone()),
            ("subscriptions", "id") => Owned(self.subscription_id.clone()),
            ("orders", "id") => Owned(self.order_id.clone()),
            ("cases", "id") => Owned(self.case_id.clone()),
            ("products", "sku") | ("problems", "slug") => Public,
            _ => Unknown,
        }
    }
}

/// A valid body for an operation that takes one, so that an answer is about ownership, not about the body.
pub fn body_for(method: &str, template: &str) -> Option<Value> {
    let today = chrono::Utc::now().date_naive().to_string();
    Some(match (method, template) {
        ("PATCH", "/api/v1/admin/users/{id}") => json!({ "disabled": false }),
        ("POST", "/api/v1/billing/invoices/{id}/payments") => json!({ "method": "link" }),
        ("POST", "/api/v1/subscriptions/{id}/sim/plan-changes") => {
            json!({ "plan_code": "DATA_50GB", "effective_date": today })
        }
        ("POST", "/api/v1/subscriptions/{id}/sim/top-ups") => json!({ "quota_mb": 1024 }),
        ("POST", "/api/v1/support/cases/{id}/comments") => json!({ "body": "Let me in." }),
        _ => return None,
    })
}

/// The id of the first record of a list answer (a page's `items`, or a bare array).
fn first_id(page: &Value) -> String {
    let id = &page.get("items").unwrap_or(page)[0]["id"];
    id.as_str()
        .map(str::to_owned)
        .or_else(|| id.as_u64().map(|id| id.to_string()))
        .unwrap_or_else(|| panic!("the victim has no record to sweep with: {page}"))
}

async fn subscription_with_sim(app: &TestApp, token: &str) -> String {
    let page = get_json_as(app, token, "/api/v1/subscriptions").await;
    for item in page["items"].as_array().into_iter().flatten() {
        let Some(id) = item["id"].as_u64() else {
            continue;
        };
        let sim =
            crate::helpers::get_as(app, token, &format!("/api/v1/subscriptions/{id}/sim")).await;
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
    assert_eq!(response.status(), 201, "the victim's order");
    let order: Value = response.json().await.expect("order json");
    order["id"].as_str().expect("order id").to_owned()
}

/// A staff member of `brand` (and `stores`) with one role, signed in.
async fn staff(app: &TestApp, email: &str, role: &str, brand: &str, stores: &[&str]) -> String {
    let hash = app
        .state
        .auth
        .passwords
        .hash(&STAFF_PASSWORD.to_owned().into())
        .await
        .expect("hash");
    let stores: Vec<String> = stores.iter().map(|store| (*store).to_owned()).collect();
    let mut conn = app.db.acquire().await.expect("connection");
    auth::create_user(
        &mut conn,
        NewUser {
            id: uuid::Uuid::now_v7(),
            email,
            password_hash: &hash,
            first_name: "Sweep",
            last_name: "Intruder",
            kind: UserKind::Staff,
            roles: &[role.to_owned()],
            brand_id: Some(brand),
            store_ids: &stores,
        },
    )
    .await
    .expect("staff user")
    .expect("a new staff user");
    let login = crate::auth::login_response(app, email, STAFF_PASSWORD).await;
    assert_eq!(login.status(), 200, "staff login {email}");
    token_of(&login.json().await.expect("login body"))
}
