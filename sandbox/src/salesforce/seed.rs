//! The seeded org, from the sandbox's shared demo data: an Account and a Contact per demo customer, every demo
//! product with its Standard Price Book entry, the integration user, and the demo support case with a comment.
//! Deterministic: the same ids and values on every start and reset.

use serde_json::{Value, json};

use super::schema;
use super::store::{Record, Store};
use crate::demo;

/// The user every API write is attributed to (`CreatedById`, Task `OwnerId`).
pub const INTEGRATION_USER_ID: &str = "005SB0000000001AAA";
#[cfg(test)]
pub const STANDARD_PRICEBOOK_ID: &str = "01sSB0000000001AAA";
pub(super) const SEEDED_AT: &str = "2026-01-15T09:00:00.000+0000";

pub fn seeded_store() -> Store {
    let mut store = Store::default();
    let user_id = store.next_id("005");
    insert(
        &mut store,
        "User",
        &user_id,
        json!({
            "Name": "Concierge Integration",
            "Username": "integration@concierge.sandbox",
            "Email": "integration@concierge.sandbox",
            "IsActive": true,
        }),
    );
    for customer in &demo::CUSTOMERS {
        seed_customer(&mut store, customer);
    }
    let pricebook_id = store.next_id("01s");
    insert(
        &mut store,
        "Pricebook2",
        &pricebook_id,
        json!({ "Name": "Standard Price Book", "IsActive": true, "IsStandard": true }),
    );
    for product in &demo::PRODUCTS {
        seed_product(&mut store, product, &pricebook_id);
    }
    super::luxury::seed(&mut store, &pricebook_id);
    seed_case(&mut store);
    super::luxury_clients::seed(&mut store);
    store
}

fn seed_customer(store: &mut Store, customer: &demo::DemoCustomer) {
    let name = format!("{} {}", customer.first_name, customer.last_name);
    insert(
        store,
        "Account",
        customer.account_id,
        json!({
            "Name": name,
            "Phone": customer.phone,
            "BillingStreet": customer.address1,
            "BillingCity": customer.city,
            "BillingState": customer.state,
            "BillingPostalCode": customer.postcode,
            "BillingCountry": customer.country,
            "Customer_Number__c": customer.customer_number,
        }),
    );
    insert(
        store,
        "Contact",
        customer.contact_id,
        json!({
            "AccountId": customer.account_id,
            "FirstName": customer.first_name,
            "LastName": customer.last_name,
            "Name": name,
            "Email": customer.email,
            "Phone": customer.phone,
            "MailingStreet": customer.address1,
            "MailingCity": customer.city,
            "MailingState": customer.state,
            "MailingPostalCode": customer.postcode,
            "MailingCountry": customer.country,
        }),
    );
}

fn seed_product(store: &mut Store, product: &demo::DemoProduct, pricebook_id: &str) {
    let product_id = store.next_id("01t");
    let data_size = product.plan_code.map(data_size_of_plan);
    insert(
        store,
        "Product2",
        &product_id,
        json!({
            "Name": product.name,
            "ProductCode": product.sku,
            "Description": product.name,
            "IsActive": product.active,
            "Family": product.family,
            "StockKeepingUnit": product.sku,
            "SKU__c": product.sku,
            "Portal_Catalog__c": product.portal,
            "Portal_Accessible__c": true,
            "Item_Class__c": item_class_of_family(product.family),
            "Billing_Cycle__c": product.billing_cycle,
            "WH_Product_ID__c": f64::from(product.whmcs_pid),
            "SIM_Data_Size__c": data_size,
            "SIM_Plan_Type__c": product.plan_code,
        }),
    );
    let entry_id = store.next_id("01u");
    insert(
        store,
        "PricebookEntry",
        &entry_id,
        json!({
            "Pricebook2Id": pricebook_id,
            "Product2Id": product_id,
            "Name": product.name,
            "ProductCode": product.sku,
            "UnitPrice": f64::from(product.price),
            "IsActive": product.active,
            "CurrencyIsoCode": "JPY",
        }),
    );
}

fn seed_case(store: &mut Store) {
    let (case_id, subject, description) = demo::DEMO_CASE;
    let customer = &demo::CUSTOMERS[0];
    let case_number = store.next_case_number();
    insert(
        store,
        "Case",
        case_id,
        json!({
            "CaseNumber": case_number,
            "AccountId": customer.account_id,
            "ContactId": customer.contact_id,
            "Subject": subject,
            "Description": description,
            "Status": "New",
            "Priority": "Medium",
            "Origin": "Web",
            "Type": "Problem",
            "IsClosed": false,
        }),
    );
    let comment_id = store.next_id("00a");
    insert(
        store,
        "CaseComment",
        &comment_id,
        json!({
            "ParentId": case_id,
            "CommentBody": "Thank you for contacting us. Please check that data roaming is enabled on your device; we are checking your line in the meantime.",
            "IsPublished": true,
        }),
    );
}

/// `DATA_20GB` → `20GB`, `VOICE_UNLIMITED` → `Unlimited`.
fn data_size_of_plan(plan_code: &str) -> String {
    match plan_code.rsplit_once('_') {
        Some((_, "UNLIMITED")) => "Unlimited".into(),
        Some((_, size)) => size.to_owned(),
        None => plan_code.to_owned(),
    }
}

fn item_class_of_family(family: &str) -> &'static str {
    match family {
        "SIM" | "Internet" => "Plan",
        "Options" => "Add-on",
        _ => "Service",
    }
}

fn insert(store: &mut Store, object_name: &str, id: &str, fields: Value) {
    insert_at(store, object_name, id, SEEDED_AT, fields);
}

/// Inserts a seeded record created and last modified at `at` (Salesforce's `+0000` spelling).
pub(super) fn insert_at(store: &mut Store, object_name: &str, id: &str, at: &str, fields: Value) {
    let Some(object) = schema::object(object_name) else {
        return;
    };
    let mut record = system_fields(id, at);
    if let Value::Object(fields) = fields {
        for (name, value) in fields {
            if !value.is_null() {
                record.insert(name, value);
            }
        }
    }
    store.insert(object, record);
}

fn system_fields(id: &str, at: &str) -> Record {
    let mut record = Record::new();
    record.insert("Id".into(), id.into());
    record.insert("CreatedDate".into(), at.into());
    record.insert("LastModifiedDate".into(), at.into());
    record.insert("CreatedById".into(), INTEGRATION_USER_ID.into());
    record
}
