use secrecy::SecretString;
use serde::Deserialize;

use super::Amount;
use crate::integrations::whmcs::de;
use crate::telemetry::redact::Pii;

/// ValidateLogin. The password hash WHMCS also returns is deliberately not read.
#[derive(Debug, Clone, Deserialize)]
pub struct ValidatedLogin {
    #[serde(deserialize_with = "de::string_or_number")]
    pub userid: u64,
    #[serde(rename = "twoFactorEnabled", default, deserialize_with = "de::flag")]
    pub two_factor_enabled: bool,
}

/// AddClient.
#[derive(Debug, Clone, Deserialize)]
pub struct AddedClient {
    #[serde(deserialize_with = "de::string_or_number")]
    pub clientid: u64,
}

/// UpdateClient.
#[derive(Debug, Clone, Deserialize)]
pub struct UpdatedClient {
    #[serde(deserialize_with = "de::string_or_number")]
    pub clientid: u64,
}

/// GetClientsDetails. WHMCS repeats the client's fields at the top level and under `client`; the top level is
/// read, and `client` only for what exists nowhere else (the users). The id is `id`, `client_id` or `userid`
/// depending on the WHMCS version: [`ClientDetails::client_id`] picks whichever came. The person's name, contact
/// details and address are [`Pii`].
#[derive(Debug, Clone, Deserialize)]
pub struct ClientDetails {
    #[serde(default, deserialize_with = "de::opt_id")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub client_id: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub userid: Option<u64>,
    #[serde(default, deserialize_with = "de::text")]
    pub firstname: Pii<String>,
    #[serde(default, deserialize_with = "de::text")]
    pub lastname: Pii<String>,
    #[serde(default, deserialize_with = "de::text")]
    pub companyname: Pii<String>,
    #[serde(default, deserialize_with = "de::text")]
    pub email: Pii<String>,
    #[serde(default, deserialize_with = "de::text")]
    pub address1: Pii<String>,
    #[serde(default, deserialize_with = "de::text")]
    pub address2: Pii<String>,
    #[serde(default, deserialize_with = "de::text")]
    pub city: Pii<String>,
    #[serde(default, deserialize_with = "de::text")]
    pub state: Pii<String>,
    #[serde(default, deserialize_with = "de::text")]
    pub postcode: Pii<String>,
    #[serde(default, deserialize_with = "de::text")]
    pub countrycode: String,
    #[serde(default, deserialize_with = "de::text")]
    pub phonenumber: Pii<String>,
    #[serde(default, deserialize_with = "de::text")]
    pub status: String,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub currency: Option<u64>,
    #[serde(default, deserialize_with = "de::text")]
    pub currency_code: String,
    #[serde(default)]
    pub credit: Amount,
    #[serde(default, deserialize_with = "de::text")]
    pub language: String,
    #[serde(default)]
    pub client: Option<NestedClient>,
    #[serde(default)]
    pub stats: Option<ClientStats>,
}

impl ClientDetails {
    pub fn client_id(&self) -> Option<u64> {
        self.id.or(self.client_id).or(self.userid)
    }

    pub fn users(&self) -> &[ClientUser] {
        self.client.as_ref().map_or(&[], |client| &client.users)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct NestedClient {
    #[serde(default, deserialize_with = "de::list_or_empty")]
    pub users: Vec<ClientUser>,
}

/// A login (WHMCS 8 "user") attached to the client account.
#[derive(Debug, Clone, Deserialize)]
pub struct ClientUser {
    #[serde(deserialize_with = "de::string_or_number")]
    pub id: u64,
    #[serde(default, deserialize_with = "de::text")]
    pub name: Pii<String>,
    #[serde(default, deserialize_with = "de::text")]
    pub email: Pii<String>,
    #[serde(default, deserialize_with = "de::flag")]
    pub is_owner: bool,
}

/// `stats=true`: counts, and amounts WHMCS formats for display (`"$0.00 USD"`), read as [`Amount`]s.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClientStats {
    #[serde(default, deserialize_with = "de::string_or_number")]
    pub numdueinvoices: u64,
    #[serde(default)]
    pub dueinvoicesbalance: Amount,
    #[serde(default, deserialize_with = "de::string_or_number")]
    pub numoverdueinvoices: u64,
    #[serde(default)]
    pub overdueinvoicesbalance: Amount,
    #[serde(default, deserialize_with = "de::string_or_number")]
    pub numpaidinvoices: u64,
    #[serde(default)]
    pub paidinvoicesamount: Amount,
    #[serde(default, deserialize_with = "de::string_or_number")]
    pub numunpaidinvoices: u64,
    #[serde(default)]
    pub unpaidinvoicesamount: Amount,
    #[serde(default, deserialize_with = "de::string_or_number")]
    pub numcancelledinvoices: u64,
    #[serde(default, deserialize_with = "de::string_or_number")]
    pub productsnumactive: u64,
    #[serde(default, deserialize_with = "de::string_or_number")]
    pub productsnumtotal: u64,
    #[serde(default)]
    pub creditbalance: Amount,
    #[serde(default)]
    pub income: Amount,
}

/// CreateSsoToken. The token (and the URL carrying it) log in as the customer: kept secret.
#[derive(Debug, Clone, Deserialize)]
pub struct SsoToken {
    pub access_token: SecretString,
    pub redirect_url: SecretString,
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERSONAL: [&str; 11] = [
        "Hanako",
        "Yamada",
        "Yamada Design",
        "hanako@example.jp",
        "1-2-3 Shibuya",
        "Room 405",
        "Shibuya-ku",
        "Tokyo",
        "1500002",
        "+81.9012345678",
        "Hanako Yamada",
    ];

    fn details() -> ClientDetails {
        serde_json::from_value(serde_json::json!({
            "result": "success", "userid": 7, "id": "7",
            "firstname": PERSONAL[0], "lastname": PERSONAL[1], "companyname": PERSONAL[2],
            "email": PERSONAL[3], "address1": PERSONAL[4], "address2": PERSONAL[5], "city": PERSONAL[6],
            "state": PERSONAL[7], "postcode": PERSONAL[8], "countrycode": "JP", "phonenumber": PERSONAL[9],
            "status": "Active", "currency": "1", "currency_code": "JPY", "credit": "0.00", "language": "",
            "client": { "users": { "user": [
                { "id": 3, "name": PERSONAL[10], "email": PERSONAL[3], "is_owner": true }
            ] } }
        }))
        .unwrap_or_else(|error| panic!("fixture: {error}"))
    }

    #[test]
    fn debug_shows_none_of_the_clients_personal_data() {
        let printed = format!("{:?} {:#?}", details(), details());
        for value in PERSONAL {
            assert!(!printed.contains(value), "{value:?} in {printed}");
        }
        assert!(printed.contains("Pii(***)"), "{printed}");
        assert!(
            printed.contains("JPY"),
            "non-personal fields still print: {printed}"
        );
    }

    #[test]
    fn personal_fields_read_exactly_what_whmcs_sent() {
        let details = details();
        let read = [
            &details.firstname,
            &details.lastname,
            &details.companyname,
            &details.email,
            &details.address1,
            &details.address2,
            &details.city,
            &details.state,
            &details.postcode,
            &details.phonenumber,
            &details.users()[0].name,
        ];
        for (field, sent) in read.into_iter().zip(PERSONAL) {
            assert_eq!(field.as_str(), sent);
        }
        assert_eq!(details.users()[0].email, PERSONAL[3]);
        let absent: ClientDetails =
            serde_json::from_value(serde_json::json!({ "id": 8, "email": null }))
                .unwrap_or_else(|error| panic!("fixture: {error}"));
        assert_eq!(absent.email, "");
    }
}
