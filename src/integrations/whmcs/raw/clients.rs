use secrecy::SecretString;
use serde::Deserialize;

use super::Amount;
use crate::integrations::whmcs::de;

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
/// depending on the WHMCS version: [`ClientDetails::client_id`] picks whichever came.
#[derive(Debug, Clone, Deserialize)]
pub struct ClientDetails {
    #[serde(default, deserialize_with = "de::opt_id")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub client_id: Option<u64>,
    #[serde(default, deserialize_with = "de::opt_id")]
    pub userid: Option<u64>,
    #[serde(default, deserialize_with = "de::text")]
    pub firstname: String,
    #[serde(default, deserialize_with = "de::text")]
    pub lastname: String,
    #[serde(default, deserialize_with = "de::text")]
    pub companyname: String,
    #[serde(default, deserialize_with = "de::text")]
    pub email: String,
    #[serde(default, deserialize_with = "de::text")]
    pub address1: String,
    #[serde(default, deserialize_with = "de::text")]
    pub address2: String,
    #[serde(default, deserialize_with = "de::text")]
    pub city: String,
    #[serde(default, deserialize_with = "de::text")]
    pub state: String,
    #[serde(default, deserialize_with = "de::text")]
    pub postcode: String,
    #[serde(default, deserialize_with = "de::text")]
    pub countrycode: String,
    #[serde(default, deserialize_with = "de::text")]
    pub phonenumber: String,
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
    pub name: String,
    #[serde(default, deserialize_with = "de::text")]
    pub email: String,
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
