//! ValidateLogin, AddClient, GetClientsDetails, UpdateClient, CreateSsoToken.

use chrono::Duration;
use serde_json::{Value, json};

use super::Context;
use super::params::Params;
use super::reply::{self, Answer, CURRENCY_CODE, CURRENCY_ID, display_money, error, success};
use super::store::{Client, SsoToken, Store};

const CLIENT_NOT_FOUND: &str = "Client ID Not Found";
const DUPLICATE_EMAIL: &str = "A user already exists with that email address";

pub fn validate_login(params: &Params, store: &Store) -> Answer {
    let client = params
        .get("email")
        .and_then(|email| store.client_by_email(email))
        .filter(|client| {
            client.password.is_some() && client.password.as_deref() == params.get("password2")
        })
        .ok_or_else(|| error("Email or Password Invalid"))?;
    success(json!({
        "userid": client.id.to_string(),
        // Real WHMCS returns a hash usable to validate the session later; a stand-in value is enough here.
        "passwordhash": format!("sandbox-password-hash-{}", client.id),
        "twoFactorEnabled": "false",
    }))
}

/// Required fields and WHMCS's messages for them, checked in this order unless `skipvalidation` is set.
const REQUIRED: [(&str, &str); 8] = [
    ("firstname", "You did not enter your first name"),
    ("lastname", "You did not enter your last name"),
    ("email", "You did not enter your email address"),
    ("address1", "You did not enter your address (line 1)"),
    ("city", "You did not enter your city"),
    ("state", "You did not enter your state"),
    ("postcode", "You did not enter your postcode"),
    ("phonenumber", "You did not enter your phone number"),
];

pub fn add_client(params: &Params, store: &mut Store, context: &Context) -> Answer {
    let missing = REQUIRED.iter().find(|(name, _)| params.get(name).is_none());
    if let (false, Some((_, message))) = (params.flag("skipvalidation"), missing) {
        return Err(error(message));
    }
    let email = params.get("email").unwrap_or_default();
    if !is_email(email) {
        return Err(error("The email address you entered was not valid"));
    }
    if store.client_by_email(email).is_some() {
        return Err(error(DUPLICATE_EMAIL));
    }
    let text = |name: &str| params.get(name).unwrap_or_default().to_owned();
    let id = store.next_client_id();
    store.clients.push(Client {
        id,
        firstname: text("firstname"),
        lastname: text("lastname"),
        companyname: text("companyname"),
        email: email.to_owned(),
        password: params.get("password2").map(str::to_owned),
        address1: text("address1"),
        address2: text("address2"),
        city: text("city"),
        state: text("state"),
        postcode: text("postcode"),
        country: params.get("country").unwrap_or("US").to_ascii_uppercase(),
        phonenumber: text("phonenumber"),
        status: "Active".into(),
        language: text("language"),
        notes: text("notes"),
        datecreated: context.today,
    });
    success(json!({ "clientid": id.to_string() }))
}

pub fn get_clients_details(params: &Params, store: &Store, context: &Context) -> Answer {
    let client = match (params.get("clientid"), params.get("email")) {
        (Some(_), _) => params.id("clientid").and_then(|id| store.client(id)),
        (None, Some(email)) => store.client_by_email(email),
        (None, None) => None,
    }
    .ok_or_else(|| error("Client Not Found"))?;
    let fields = client_fields(client);
    let mut nested = fields.clone();
    nested["users"] = json!({ "user": [{
        "id": client.id,
        "name": client.fullname(),
        "email": client.email,
        "is_owner": true,
    }]});
    let mut body = fields;
    body["client"] = nested;
    if params.flag("stats") {
        body["stats"] = stats(client.id, store, context);
    }
    success(body)
}

/// The client's fields as GetClientsDetails repeats them at the top level and under `client`. Ids are
/// numbers here, unlike in most other actions.
fn client_fields(client: &Client) -> Value {
    json!({
        "userid": client.id,
        "client_id": client.id,
        "id": client.id,
        "uuid": format!("00000000-0000-4000-8000-{:012}", client.id),
        "firstname": client.firstname,
        "lastname": client.lastname,
        "fullname": client.fullname(),
        "companyname": client.companyname,
        "email": client.email,
        "address1": client.address1,
        "address2": client.address2,
        "city": client.city,
        "fullstate": client.state,
        "state": client.state,
        "postcode": client.postcode,
        "countrycode": client.country,
        "country": client.country,
        "phonenumber": client.phonenumber,
        "tax_id": "",
        "notes": client.notes,
        "currency": CURRENCY_ID,
        "currency_code": CURRENCY_CODE,
        "defaultgateway": "",
        "groupid": 0,
        "status": client.status,
        "credit": "0.00",
        "taxexempt": false,
        "latefeeoveride": false,
        "overideduenotices": false,
        "separateinvoices": false,
        "disableautocc": false,
        "emailoptout": false,
        "allowSingleSignOn": 1,
        "language": client.language,
        "datecreated": reply::date(client.datecreated),
        "lastlogin": "No Login Logged",
    })
}

fn stats(client_id: u64, store: &Store, context: &Context) -> Value {
    let invoices: Vec<_> = store
        .invoices
        .iter()
        .filter(|invoice| invoice.userid == client_id)
        .collect();
    let sum = |status: &str| -> (usize, i64) {
        let matching: Vec<_> = invoices.iter().filter(|i| i.status == status).collect();
        (matching.len(), matching.iter().map(|i| i.balance()).sum())
    };
    let (unpaid, unpaid_balance) = sum("Unpaid");
    let (cancelled, cancelled_total) = sum("Cancelled");
    let paid: Vec<_> = invoices.iter().filter(|i| i.status == "Paid").collect();
    let paid_total: i64 = paid.iter().map(|i| i.total()).sum();
    let overdue: Vec<_> = invoices
        .iter()
        .filter(|i| i.is_overdue(context.today))
        .collect();
    let overdue_balance: i64 = overdue.iter().map(|i| i.balance()).sum();
    let income: i64 = invoices
        .iter()
        .flat_map(|i| &i.transactions)
        .map(|t| t.amount)
        .sum();
    let services: Vec<_> = store
        .services
        .iter()
        .filter(|service| service.client_id == client_id)
        .collect();
    let count = |status: &str| services.iter().filter(|s| s.status == status).count();
    json!({
        "numdueinvoices": unpaid,
        "dueinvoicesbalance": display_money(unpaid_balance),
        "numoverdueinvoices": overdue.len(),
        "overdueinvoicesbalance": display_money(overdue_balance),
        "numunpaidinvoices": unpaid,
        "unpaidinvoicesamount": display_money(unpaid_balance),
        "numpaidinvoices": paid.len(),
        "paidinvoicesamount": display_money(paid_total),
        "numcancelledinvoices": cancelled,
        "cancelledinvoicesamount": display_money(cancelled_total),
        "numrefundedinvoices": 0,
        "refundedinvoicesamount": display_money(0),
        "creditbalance": display_money(0),
        "income": display_money(income),
        "productsnumactive": count("Active"),
        "productsnumpending": count("Pending"),
        "productsnumsuspended": count("Suspended"),
        "productsnumcancelled": count("Cancelled"),
        "productsnumtotal": services.len(),
        "numactivedomains": 0,
        "numdomains": 0,
        "numactivetickets": 0,
        "numtickets": 0,
    })
}

/// Fields UpdateClient changes; anything else is ignored.
const UPDATABLE: [&str; 13] = [
    "firstname",
    "lastname",
    "companyname",
    "address1",
    "address2",
    "city",
    "state",
    "postcode",
    "country",
    "phonenumber",
    "status",
    "language",
    "notes",
];

pub fn update_client(params: &Params, store: &mut Store) -> Answer {
    let id = match params.get("clientid") {
        Some(_) => params.id("clientid").and_then(|id| store.client(id)),
        None => params
            .get("clientemail")
            .and_then(|email| store.client_by_email(email)),
    }
    .map(|client| client.id)
    .ok_or_else(|| error(CLIENT_NOT_FOUND))?;
    if let Some(email) = params.get("email") {
        if !is_email(email) {
            return Err(error("The email address you entered was not valid"));
        }
        // Unverified: the message WHMCS gives when the new address belongs to someone else.
        if store
            .client_by_email(email)
            .is_some_and(|other| other.id != id)
        {
            return Err(error("Duplicate Email Address"));
        }
    }
    let Some(client) = store.clients.iter_mut().find(|client| client.id == id) else {
        return Err(error(CLIENT_NOT_FOUND));
    };
    if let Some(email) = params.get("email") {
        client.email = email.to_owned();
    }
    if let Some(password) = params.get("password2") {
        client.password = Some(password.to_owned());
    }
    for name in UPDATABLE {
        if let Some(value) = params.get(name) {
            let field = match name {
                "firstname" => &mut client.firstname,
                "lastname" => &mut client.lastname,
                "companyname" => &mut client.companyname,
                "address1" => &mut client.address1,
                "address2" => &mut client.address2,
                "city" => &mut client.city,
                "state" => &mut client.state,
                "postcode" => &mut client.postcode,
                "country" => &mut client.country,
                "phonenumber" => &mut client.phonenumber,
                "status" => &mut client.status,
                "language" => &mut client.language,
                _ => &mut client.notes,
            };
            *field = value.to_owned();
        }
    }
    success(json!({ "clientid": id.to_string() }))
}

/// CloseClient `clientid`: the client's status becomes Closed, their Active, Pending and Suspended services
/// Cancelled and their Unpaid invoices Cancelled (what WHMCS's "Close Client" does to products and
/// invoices). Answers `{"result":"success","clientid":"<id>"}`; a closed client closes again without error
/// (an unverified guess: it makes a retried erasure step safe).
pub fn close_client(params: &Params, store: &mut Store) -> Answer {
    let id = params
        .id("clientid")
        .and_then(|id| store.client(id))
        .map(|client| client.id)
        .ok_or_else(|| error(CLIENT_NOT_FOUND))?;
    if let Some(client) = store.clients.iter_mut().find(|client| client.id == id) {
        client.status = "Closed".to_owned();
    }
    for service in store.services.iter_mut().filter(|service| {
        service.client_id == id
            && matches!(service.status.as_str(), "Active" | "Pending" | "Suspended")
    }) {
        service.status = "Cancelled".to_owned();
    }
    for invoice in store
        .invoices
        .iter_mut()
        .filter(|invoice| invoice.userid == id && invoice.status == "Unpaid")
    {
        invoice.status = "Cancelled".to_owned();
    }
    success(json!({ "clientid": id.to_string() }))
}

/// Client-area destinations CreateSsoToken accepts.
const DESTINATIONS: [&str; 14] = [
    "clientarea:homepage",
    "clientarea:profile",
    "clientarea:billing_info",
    "clientarea:emails",
    "clientarea:announcements",
    "clientarea:downloads",
    "clientarea:services",
    "clientarea:product_details",
    "clientarea:domains",
    "clientarea:invoices",
    "clientarea:tickets",
    "clientarea:submit_ticket",
    "clientarea:shopping_cart",
    "clientarea:upgrade",
];

pub fn create_sso_token(params: &Params, store: &mut Store, context: &Context) -> Answer {
    let client_id = params
        .id("client_id")
        .filter(|id| store.client(*id).is_some())
        .ok_or_else(|| error(CLIENT_NOT_FOUND))?;
    let destination = params.get("destination").unwrap_or("clientarea:homepage");
    // `sso:custom_redirect` lands on any page of the WHMCS root named by `sso_redirect_path`
    // (`viewinvoice.php?id=…` to pay an invoice).
    let custom_path = (destination == "sso:custom_redirect")
        .then(|| params.get("sso_redirect_path").map(str::trim))
        .flatten()
        .filter(|path| is_relative_path(path));
    if destination == "sso:custom_redirect" && custom_path.is_none() {
        return Err(error("Invalid redirect path"));
    }
    if custom_path.is_none() && !DESTINATIONS.contains(&destination) {
        return Err(error("Invalid destination"));
    }
    let landing = custom_path.unwrap_or(destination);
    if destination == "clientarea:product_details" {
        let owned = params.id("service_id").is_some_and(|service_id| {
            store
                .services
                .iter()
                .any(|s| s.id == service_id && s.client_id == client_id)
        });
        if !owned {
            return Err(error("Invalid Service ID"));
        }
    }
    let token = format!("{:032x}", rand::random::<u128>());
    store
        .sso_tokens
        .retain(|t| !t.used && t.expires_at > context.now);
    store.sso_tokens.push(SsoToken {
        token: token.clone(),
        client_id,
        destination: landing.to_owned(),
        expires_at: context.now + Duration::seconds(60),
        used: false,
    });
    success(json!({
        "access_token": token,
        "redirect_url": format!("http://{}/oauth/singlesignon.php?access_token={token}", context.host),
    }))
}

/// A path under the WHMCS root: no scheme, no host, no way out.
fn is_relative_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 512
        && !path.starts_with('/')
        && !path.contains("://")
        && !path.contains("..")
        && !path.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn is_email(value: &str) -> bool {
    value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !value.contains(' ')
    })
}
