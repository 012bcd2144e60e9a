//! Linking a verified portal customer to WHMCS and Salesforce: find their records by the verified email,
//! create them where absent. Runs as a job enqueued when the email is verified, so a system that is down then
//! only delays the linking. Every step looks before it creates, so a retry after a crash never makes a second
//! client, account or contact. A record is taken only when its own email, as the system answered it, equals
//! the verified one: the lookup's filter is the provider's, and a record for someone else is never linked.
//! The Salesforce Account and Contact are upserted by the portal user id (`Portal_User_Id__c`), so even a
//! lost answer to their creation is not repeated into a second pair.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::Customers;
use super::domain::{CustomerLinks, LinkStatus};
use super::repo;
use crate::integrations::ProviderError;
use crate::integrations::salesforce::{SalesforceClient, composite_failure, soql};
use crate::integrations::whmcs::{ClientRef, NewClient, WhmcsClient};
use crate::jobs::{Job, JobContext};
use crate::types::Email;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkCustomer {
    pub user_id: Uuid,
}

impl Job for LinkCustomer {
    const QUEUE: &'static str = "concierge.customers.link";
}

struct Person {
    email: String,
    first_name: String,
    last_name: String,
}

/// Runs [`LinkCustomer`].
pub async fn run(customers: &Customers, job: LinkCustomer, ctx: JobContext) -> anyhow::Result<()> {
    if repo::link_status(&customers.db, job.user_id).await? == Some(LinkStatus::Linked) {
        return Ok(());
    }
    let Some(user) = crate::auth::account(&customers.db, job.user_id).await? else {
        return Ok(());
    };
    let Some(verified) = crate::auth::verified_email(&customers.db, job.user_id).await? else {
        tracing::warn!(user_id = %job.user_id, "not linking a customer whose email is not verified");
        return Ok(());
    };
    let person = Person {
        email: Email::normalize(&verified),
        first_name: user.first_name,
        last_name: user.last_name,
    };
    let result = async {
        let whmcs_client_id = whmcs_client(&customers.whmcs, &person).await?;
        let (salesforce_account_id, salesforce_contact_id) =
            salesforce_contact(&customers.salesforce, job.user_id, &person).await?;
        Ok::<_, anyhow::Error>(CustomerLinks {
            user_id: job.user_id,
            whmcs_client_id,
            salesforce_account_id,
            salesforce_contact_id,
        })
    }
    .await;
    match result {
        Ok(found) => {
            let mut tx = customers.db.begin().await?;
            super::record_links(&mut tx, &found).await?;
            tx.commit().await?;
            tracing::info!(user_id = %job.user_id, attempt = ctx.attempt, "customer linked");
            Ok(())
        }
        Err(error) => {
            let message = crate::telemetry::redact::scrub(&format!("{error:#}"));
            repo::record_failure(&customers.db, job.user_id, &message).await?;
            Err(error)
        }
    }
}

async fn whmcs_client(whmcs: &WhmcsClient, person: &Person) -> anyhow::Result<i64> {
    match whmcs
        .get_clients_details(ClientRef::Email(&person.email), false)
        .await
    {
        Ok(details) => {
            if Email::normalize(&details.email) != person.email {
                anyhow::bail!(
                    "WHMCS answered the lookup by email with a client whose email differs; not linking it"
                );
            }
            let id = details
                .client_id
                .or(details.id)
                .or(details.userid)
                .context("WHMCS client without an id")?;
            return Ok(i64::try_from(id)?);
        }
        Err(ProviderError::Rejected { message, .. })
            if message.to_lowercase().contains("not found") => {}
        Err(error) => return Err(error.into()),
    }
    let added = whmcs
        .add_client(&NewClient {
            firstname: person.first_name.clone(),
            lastname: person.last_name.clone(),
            email: person.email.clone(),
            address1: String::new(),
            city: String::new(),
            state: String::new(),
            postcode: String::new(),
            country: "JP".into(),
            phonenumber: String::new(),
            password: None,
            // The address comes later through PATCH /me; portal sign-up asks only for a name.
            extra: vec![
                ("skipvalidation".into(), "true".into()),
                ("noemail".into(), "true".into()),
            ],
        })
        .await?;
    Ok(i64::try_from(added.clientid)?)
}

/// The Account and Contact's external id field: the portal user id.
const PORTAL_USER_ID: &str = "Portal_User_Id__c";

async fn salesforce_contact(
    salesforce: &SalesforceClient,
    user_id: Uuid,
    person: &Person,
) -> anyhow::Result<(String, String)> {
    #[derive(Deserialize)]
    struct Contact {
        #[serde(rename = "Id")]
        id: String,
        #[serde(rename = "AccountId")]
        account_id: Option<String>,
        #[serde(rename = "Email", default)]
        email: Option<String>,
    }
    let found: Vec<Contact> = salesforce
        .query(&format!(
            "SELECT Id, AccountId, Email FROM Contact WHERE Email = {} ORDER BY CreatedDate LIMIT 1",
            soql::quote(&person.email)
        ))
        .await?;
    if let Some(contact) = found.into_iter().next() {
        if contact.email.as_deref().map(Email::normalize).as_deref() != Some(person.email.as_str())
        {
            anyhow::bail!(
                "Salesforce answered the lookup by email with a contact whose email differs; not linking it"
            );
        }
        if let Contact {
            id,
            account_id: Some(account_id),
            ..
        } = contact
        {
            return Ok((account_id, id));
        }
    }
    // Upserts by the portal user id: a repeat after a lost answer (or a crash before the links were
    // recorded) meets the records the first attempt made instead of making a second pair.
    let builder = salesforce.subrequests();
    let name = format!("{} {}", person.first_name, person.last_name);
    let user_key = user_id.to_string();
    let responses = salesforce
        .composite(
            true,
            vec![
                builder.upsert(
                    "account",
                    "Account",
                    PORTAL_USER_ID,
                    &user_key,
                    json!({ "Name": name }),
                )?,
                builder.upsert(
                    "contact",
                    "Contact",
                    PORTAL_USER_ID,
                    &user_key,
                    json!({ "AccountId": "@{account.id}", "FirstName": person.first_name,
                                "LastName": person.last_name, "Email": person.email }),
                )?,
            ],
        )
        .await?;
    if let Some(error) = composite_failure(&responses) {
        return Err(error.into());
    }
    let account = responses
        .first()
        .and_then(|r| r.id())
        .context("composite answered without an account id")?;
    let contact = responses
        .get(1)
        .and_then(|r| r.id())
        .context("composite answered without a contact id")?;
    Ok((account.to_owned(), contact.to_owned()))
}
