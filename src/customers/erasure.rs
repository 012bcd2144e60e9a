//! Erasure in the systems a customer is linked to: the Salesforce Contact and the WHMCS client. Each call
//! is idempotent (a second run finds the work done and says so) and answers a [`Receipt`] with the
//! system's reference and what it answered, or a [`StepError`]: retryable when the system was down, timed
//! out, answered 5xx or 429 (`ProviderError::is_transient`) or refused our credentials (an operator fixes
//! them, the step then completes), permanent when it refused the request itself.
//!
//! What goes in their place (no personal value is sent, only placeholders):
//! - Salesforce, `anonymise` (default): `PATCH /services/data/vXX.X/sobjects/Contact/{id}` with the names,
//!   e-mail, phone, mailing address and `Portal_User_Id__c` cleared and `LastName` = `Erased` (required by
//!   Salesforce); the Contact stays, with its Cases and the Orders billed to it. `delete`: `DELETE …/{id}`;
//!   a 404 (`NOT_FOUND`, `ENTITY_IS_DELETED`) counts as done.
//! - WHMCS: `UpdateClient` with placeholders (`erased+{id}@erased.invalid`: WHMCS wants a unique, valid
//!   address; names `Erased`/`Client {id}`; address, company and notes `-`, phone `0` (an empty value would
//!   leave the field as it was); a random password,
//!   so ValidateLogin cannot succeed) then `CloseClient`, which cancels their products and unpaid
//!   invoices. Invoices stay in WHMCS (kept for the tax authorities) under the anonymised client.

use rand::distr::{Alphanumeric, SampleString};
use serde_json::json;

use crate::config::ContactErasure;
use crate::integrations::ProviderError;
use crate::integrations::salesforce::SalesforceClient;
use crate::integrations::whmcs::{WhmcsClient, param};
use crate::types::{Receipt, ReceiptStatus, StepError};

fn step_error(error: ProviderError) -> StepError {
    StepError::from_provider(error)
}

fn is_not_found(error: &ProviderError) -> bool {
    matches!(
        error,
        ProviderError::Rejected {
            status: Some(404),
            ..
        }
    )
}

/// Anonymises or deletes the Contact `contact_id`.
pub async fn erase_salesforce_contact(
    salesforce: &SalesforceClient,
    contact_id: &str,
    mode: ContactErasure,
) -> Result<Receipt, StepError> {
    let receipt =
        |status, detail: &str| Receipt::new("salesforce", contact_id, status).with_detail(detail);
    match mode {
        ContactErasure::Delete => match salesforce.delete("Contact", contact_id).await {
            Ok(()) => Ok(receipt(ReceiptStatus::Done, "DELETE Contact: HTTP 204")),
            Err(error) if is_not_found(&error) => Ok(receipt(
                ReceiptStatus::AlreadyDone,
                "DELETE Contact: HTTP 404 (already gone)",
            )),
            Err(error) => Err(step_error(error)),
        },
        ContactErasure::Anonymise => {
            let body = json!({
                "FirstName": null,
                "LastName": "Erased",
                "Email": null,
                "Phone": null,
                "MailingStreet": null,
                "MailingCity": null,
                "MailingState": null,
                "MailingPostalCode": null,
                "Portal_User_Id__c": null,
            });
            match salesforce.update("Contact", contact_id, &body).await {
                Ok(()) => Ok(receipt(
                    ReceiptStatus::Done,
                    "PATCH Contact (anonymised): HTTP 204",
                )),
                // Deleted in Salesforce meanwhile: nothing of the person is left there.
                Err(error) if is_not_found(&error) => Ok(receipt(
                    ReceiptStatus::AlreadyDone,
                    "PATCH Contact: HTTP 404 (no longer exists)",
                )),
                Err(error) => Err(step_error(error)),
            }
        }
    }
}

/// The portal side of a customer's erasure in this context: the profile changes waiting to be written to
/// WHMCS and Salesforce (they hold the new address, phone, names) emptied and never sent (`skipped`), and
/// the links' last error cleared. The links stay: they hold only the ids of the anonymised records, and
/// their unique keys keep those records from ever being linked to another account.
pub async fn forget_customer(db: &sqlx::PgPool, user_id: uuid::Uuid) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let changed = sqlx::query!(
        "UPDATE profile_updates SET changes = '{}',
                whmcs_status = CASE WHEN whmcs_status = 'pending' THEN 'skipped' ELSE whmcs_status END,
                salesforce_status = CASE WHEN salesforce_status = 'pending' THEN 'skipped'
                                         ELSE salesforce_status END,
                last_error = NULL
         WHERE user_id = $1 AND (changes <> '{}' OR last_error IS NOT NULL
                                 OR 'pending' IN (whmcs_status, salesforce_status))",
        user_id
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query!(
        "UPDATE customer_links SET last_error = NULL WHERE user_id = $1 AND last_error IS NOT NULL",
        user_id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(changed)
}

/// The WHMCS fields an erasure writes over the client's.
fn anonymised_fields(client_id: u64) -> Vec<(String, String)> {
    let password = Alphanumeric.sample_string(&mut rand::rng(), 40);
    // Placeholders rather than empty values: UpdateClient leaves a field alone when its value is empty.
    vec![
        param("firstname", "Erased"),
        param("lastname", format!("Client {client_id}")),
        param("companyname", "-"),
        param("email", format!("erased+{client_id}@erased.invalid")),
        param("address1", "-"),
        param("address2", "-"),
        param("city", "-"),
        param("state", "-"),
        param("postcode", "-"),
        param("phonenumber", "0"),
        param("notes", "-"),
        param("password2", password),
    ]
}

/// Anonymises the WHMCS client `client_id` (`UpdateClient`) and closes it (`CloseClient`).
pub async fn erase_whmcs_client(whmcs: &WhmcsClient, client_id: u64) -> Result<Receipt, StepError> {
    let receipt = |status, detail: &str| {
        Receipt::new("whmcs", client_id.to_string(), status).with_detail(detail)
    };
    match whmcs
        .update_client(client_id, &anonymised_fields(client_id))
        .await
    {
        Ok(_) => {}
        Err(ProviderError::Rejected { code, .. }) if code.contains("not_found") => {
            return Ok(receipt(
                ReceiptStatus::AlreadyDone,
                "UpdateClient: Client ID Not Found (nothing held)",
            ));
        }
        Err(error) => return Err(step_error(error)),
    }
    whmcs.close_client(client_id).await.map_err(step_error)?;
    Ok(receipt(
        ReceiptStatus::Done,
        "UpdateClient (anonymised): result=success; CloseClient: result=success",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anonymised_whmcs_fields_hold_placeholders_only() {
        let fields = anonymised_fields(42);
        let get = |name: &str| {
            fields
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        assert_eq!(get("email").as_deref(), Some("erased+42@erased.invalid"));
        assert_eq!(get("phonenumber").as_deref(), Some("0"));
        assert_eq!(get("password2").map(|p| p.len()), Some(40));
        assert_ne!(
            get("password2"),
            anonymised_fields(42)
                .iter()
                .find(|(k, _)| k == "password2")
                .map(|(_, v)| v.clone())
        );
    }

    #[test]
    fn transient_and_credential_failures_are_retryable_refusals_are_not() {
        let down = ProviderError::Unavailable {
            system: "whmcs",
            reason: "503".into(),
        };
        assert!(step_error(down).is_retryable());
        let auth = ProviderError::Auth {
            system: "whmcs",
            message: "Authentication Failed".into(),
        };
        assert!(step_error(auth).is_retryable());
        let refused = ProviderError::rejected("salesforce", Some(400), "INVALID_FIELD", "no");
        assert!(!step_error(refused).is_retryable());
    }
}
