//! Erasure at the messaging service: it is told to forget every address the person was messaged at
//! ([`MessagingClient::forget_contact`]: the address travels only as its hash). One receipt per address,
//! referenced by that hash (the receipt must not carry the address); a second run answers `already_done`.
//! The ledger's own copy of the addresses is removed by `crm::erasure`.

use crate::integrations::messaging::{Forgotten, MessagingClient, contact_hash};
use crate::types::{Receipt, ReceiptStatus, StepError};

pub async fn forget_addresses(
    messaging: &MessagingClient,
    addresses: &[String],
) -> Result<Vec<Receipt>, StepError> {
    let mut receipts = Vec::with_capacity(addresses.len());
    for address in addresses {
        let (status, detail) = match messaging
            .forget_contact(address)
            .await
            .map_err(StepError::from_provider)?
        {
            Forgotten::Forgotten => (ReceiptStatus::Done, "delete-permanent: HTTP 204"),
            Forgotten::NotFound => (
                ReceiptStatus::AlreadyDone,
                "delete-permanent: HTTP 404 (nothing held)",
            ),
        };
        receipts.push(
            Receipt::new(
                "messaging",
                format!("sha256:{}", contact_hash(address)),
                status,
            )
            .with_detail(detail),
        );
    }
    Ok(receipts)
}
