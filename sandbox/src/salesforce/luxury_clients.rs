//! The luxury brands' demo clients as the org holds them: a person Account and a Contact each, with the ids
//! Concierge's demo data links its clienteling clients to (`salesforce_contact`), and one open Case so an
//! advisor's 360 shows live service history. Deterministic: the same ids on every start and reset.

use serde_json::json;

use super::store::Store;

pub struct LuxuryClient {
    pub brand: &'static str,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub email: &'static str,
    pub phone: &'static str,
    pub city: &'static str,
    pub country: &'static str,
    pub account_id: &'static str,
    pub contact_id: &'static str,
    pub client_number: &'static str,
}

const fn client(
    brand: &'static str,
    (first_name, last_name): (&'static str, &'static str),
    (email, phone): (&'static str, &'static str),
    (city, country): (&'static str, &'static str),
    (account_id, contact_id, client_number): (&'static str, &'static str, &'static str),
) -> LuxuryClient {
    LuxuryClient {
        brand,
        first_name,
        last_name,
        email,
        phone,
        city,
        country,
        account_id,
        contact_id,
        client_number,
    }
}

/// Concierge's `clienteling::seed` names the same contact ids.
pub const CLIENTS: [LuxuryClient; 5] = [
    client(
        "maison",
        ("Élodie", "Dupont"),
        ("elodie.dupont@example.com", "+33612345001"),
        ("Paris", "FR"),
        ("001SBLUX0000001AAA", "003SBLUX0000001AAA", "MC-200001"),
    ),
    client(
        "maison",
        ("Marc", "Lefèvre"),
        ("marc.lefevre@example.com", "+33612345002"),
        ("Paris", "FR"),
        ("001SBLUX0000002AAA", "003SBLUX0000002AAA", "MC-200002"),
    ),
    client(
        "maison",
        ("Aiko", "Tanaka"),
        ("aiko.tanaka@example.com", "+81901234003"),
        ("Tokyo", "JP"),
        ("001SBLUX0000003AAA", "003SBLUX0000003AAA", "MC-200003"),
    ),
    client(
        "atelier",
        ("Marco", "Bianchi"),
        ("marco.bianchi@example.com", "+393471234004"),
        ("Milan", "IT"),
        ("001SBLUX0000004AAA", "003SBLUX0000004AAA", "AT-300004"),
    ),
    client(
        "atelier",
        ("Sofia", "Ricci"),
        ("sofia.ricci@example.com", "+393471234005"),
        ("Milan", "IT"),
        ("001SBLUX0000005AAA", "003SBLUX0000005AAA", "AT-300005"),
    ),
];

/// Élodie's open after-sales case.
pub const CLIENT_CASE: (&str, &str) = (
    "500SBLUX0000001AAA",
    "Strap replacement for her Heritage watch",
);

pub fn seed(store: &mut Store) {
    for client in &CLIENTS {
        let name = format!("{} {}", client.first_name, client.last_name);
        super::seed::insert_at(
            store,
            "Account",
            client.account_id,
            super::seed::SEEDED_AT,
            json!({
                "Name": name,
                "Phone": client.phone,
                "BillingCity": client.city,
                "BillingCountry": client.country,
                "Customer_Number__c": client.client_number,
            }),
        );
        super::seed::insert_at(
            store,
            "Contact",
            client.contact_id,
            super::seed::SEEDED_AT,
            json!({
                "AccountId": client.account_id,
                "FirstName": client.first_name,
                "LastName": client.last_name,
                "Name": name,
                "Email": client.email,
                "Phone": client.phone,
                "MailingCity": client.city,
                "MailingCountry": client.country,
            }),
        );
    }
    let (case_id, subject) = CLIENT_CASE;
    let elodie = &CLIENTS[0];
    let case_number = store.next_case_number();
    super::seed::insert_at(
        store,
        "Case",
        case_id,
        super::seed::SEEDED_AT,
        json!({
            "CaseNumber": case_number,
            "AccountId": elodie.account_id,
            "ContactId": elodie.contact_id,
            "Subject": subject,
            "Description": "The client asked for a navy alligator strap; the workshop quoted three weeks.",
            "Status": "Working",
            "Priority": "Medium",
            "Origin": "In Store",
            "Type": "Service",
            "IsClosed": false,
        }),
    );
}
