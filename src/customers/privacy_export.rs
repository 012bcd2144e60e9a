//! The portal customer's records in WHMCS and Salesforce, for their privacy export: read through our clients
//! with the links this context keeps. What each system answers is exported as the system holds it (it is the
//! person's data); only WHMCS's envelope (`result`) and Salesforce's `attributes` are dropped.
//!
//! A customer still being linked fails the part (it is retried until linking is done); one who never
//! verified their email has nothing linked, so the part is empty.

use anyhow::Context;
use serde_json::Value;
use uuid::Uuid;

use super::Customers;
use super::links::{LinkLookupError, links_for};
use crate::integrations::whmcs::param;
use crate::privacy::ExportFile;

const INVOICES_RETENTION: &str = "Invoices are kept for 10 years (tax law); an erasure closes and anonymises the billing account, not the invoices.";
/// WHMCS pages invoices; past this many pages the export stops (a page is 100).
const MAX_INVOICE_PAGES: u64 = 100;

async fn links(
    customers: &Customers,
    user_id: Uuid,
) -> anyhow::Result<Option<super::CustomerLinks>> {
    match links_for(&customers.db, user_id).await {
        Ok(links) => Ok(Some(links)),
        Err(LinkLookupError::Unverified | LinkLookupError::NotACustomer) => Ok(None),
        Err(error) => Err(error).context("the customer's links"),
    }
}

fn without(mut value: Value, key: &str) -> Value {
    if let Some(object) = value.as_object_mut() {
        object.remove(key);
    }
    value
}

/// The list under `outer.inner` of a WHMCS answer (`{"invoices": {"invoice": [...]}}`), empty when absent.
fn listed(value: &Value, outer: &str, inner: &str) -> Vec<Value> {
    value
        .get(outer)
        .and_then(|list| list.get(inner))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The WHMCS client, its invoices (kept by law) and its services.
pub async fn whmcs(customers: Customers, user_id: Uuid) -> anyhow::Result<Vec<ExportFile>> {
    let Some(links) = links(&customers, user_id).await? else {
        return Ok(vec![
            ExportFile::new("client", Vec::new()),
            ExportFile::new("invoices", Vec::new()).retained(INVOICES_RETENTION),
            ExportFile::new("services", Vec::new()),
        ]);
    };
    let client_id = links.whmcs_client_id;
    let whmcs = &customers.whmcs;
    let client: Value = whmcs
        .call(
            "GetClientsDetails",
            &[param("clientid", client_id), param("stats", "true")],
        )
        .await?;
    let mut invoices = Vec::new();
    for page in 0..MAX_INVOICE_PAGES {
        let answer: Value = whmcs
            .call(
                "GetInvoices",
                &[
                    param("userid", client_id),
                    param("limitstart", page * 100),
                    param("limitnum", 100),
                ],
            )
            .await?;
        let batch = listed(&answer, "invoices", "invoice");
        let total = answer
            .get("totalresults")
            .and_then(|total| match total {
                Value::String(text) => text.parse::<u64>().ok(),
                other => other.as_u64(),
            })
            .unwrap_or(0);
        let empty = batch.is_empty();
        invoices.extend(batch);
        if empty || invoices.len() as u64 >= total {
            break;
        }
    }
    let products: Value = whmcs
        .call("GetClientsProducts", &[param("clientid", client_id)])
        .await?;
    Ok(vec![
        // `users` and `contacts` are other people with access to the account: theirs, not the customer's.
        ExportFile::new(
            "client",
            vec![without(
                without(without(client, "result"), "users"),
                "contacts",
            )],
        ),
        ExportFile::new("invoices", invoices).retained(INVOICES_RETENTION),
        ExportFile::new("services", listed(&products, "products", "product")),
    ])
}

/// The Salesforce Contact and its Account, every field.
pub async fn salesforce(customers: Customers, user_id: Uuid) -> anyhow::Result<Vec<ExportFile>> {
    let Some(links) = links(&customers, user_id).await? else {
        return Ok(vec![
            ExportFile::new("contact", Vec::new()),
            ExportFile::new("account", Vec::new()),
        ]);
    };
    let salesforce = &customers.salesforce;
    let contact: Value = salesforce
        .get("Contact", &links.salesforce_contact_id, None)
        .await?;
    let account: Value = salesforce
        .get("Account", &links.salesforce_account_id, None)
        .await?;
    Ok(vec![
        ExportFile::new("contact", vec![without(contact, "attributes")]),
        ExportFile::new("account", vec![without(account, "attributes")]),
    ])
}
