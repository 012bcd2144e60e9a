//! The authKey: obtained from `authOem` on first use, shared by every call and every clone of the client,
//! renewed once when Freebit stops accepting it. The write lock is held across the login, so calls that
//! find the key refused at the same moment wait for one login instead of each starting their own.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::{FreebitClient, OK, SYSTEM, codes, lenient, post};
use crate::integrations::{ProviderError, RawResponse, classify_by_status};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthOemResponse {
    #[serde(deserialize_with = "lenient::string")]
    auth_key: String,
}

impl FreebitClient {
    pub(super) async fn auth_key(&self) -> Result<SecretString, ProviderError> {
        if let Some(key) = self.auth_key.read().await.as_ref() {
            return Ok(key.clone());
        }
        self.login_unless_changed(None).await
    }

    /// A new key, unless another call already replaced `refused` while this one waited.
    pub(super) async fn renew_auth_key(
        &self,
        refused: &SecretString,
    ) -> Result<SecretString, ProviderError> {
        self.login_unless_changed(Some(refused)).await
    }

    async fn login_unless_changed(
        &self,
        refused: Option<&SecretString>,
    ) -> Result<SecretString, ProviderError> {
        let mut current = self.auth_key.write().await;
        if let Some(key) = current.as_ref() {
            let still_refused =
                refused.is_some_and(|refused| refused.expose_secret() == key.expose_secret());
            if !still_refused {
                return Ok(key.clone());
            }
        }
        *current = None;
        let key = self.login().await?;
        *current = Some(key.clone());
        Ok(key)
    }

    #[tracing::instrument(skip_all, fields(system = SYSTEM))]
    async fn login(&self) -> Result<SecretString, ProviderError> {
        let credentials = json!({
            "oemId": self.oem_id,
            "oemKey": self.oem_key.expose_secret(),
        });
        let response = post(
            &self.transport,
            &self.base_url,
            "authOem",
            "authOem",
            &credentials,
            classify_login,
        )
        .await?;
        let answer: AuthOemResponse = response.json(SYSTEM)?;
        if answer.auth_key.trim().is_empty() {
            return Err(ProviderError::malformed(
                SYSTEM,
                "authOem gave an empty authKey",
            ));
        }
        tracing::debug!("obtained a freebit authKey");
        Ok(SecretString::from(answer.auth_key))
    }
}

/// Any refusal of `authOem` means our OEM credentials are wrong: retrying or re-authenticating cannot help.
fn classify_login(response: RawResponse) -> Result<RawResponse, ProviderError> {
    let response = classify_by_status(SYSTEM, response)?;
    let (code, message) = codes::result_of(&response)?;
    if code == OK {
        Ok(response)
    } else {
        Err(ProviderError::Auth {
            system: SYSTEM,
            message: format!("{code}: {}", codes::describe(&code, message.as_deref())),
        })
    }
}
