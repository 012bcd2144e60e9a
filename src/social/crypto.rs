//! Account tokens at rest: AES-256-GCM (aws-lc-rs, already the TLS and JWT library) with a random 96-bit
//! nonce per encryption. The additional data binds each ciphertext to its account and role, so a token
//! copied into another row or into the refresh column does not decrypt.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

#[derive(Clone, Copy)]
pub enum TokenRole {
    Access,
    Refresh,
}

impl TokenRole {
    fn label(self) -> &'static [u8] {
        match self {
            TokenRole::Access => b"access",
            TokenRole::Refresh => b"refresh",
        }
    }
}

#[derive(Clone)]
pub struct TokenCipher {
    key: std::sync::Arc<LessSafeKey>,
}

impl TokenCipher {
    /// `key` is base64 of exactly 32 bytes.
    pub fn new(key: &SecretString) -> Result<Self, &'static str> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key.expose_secret().trim())
            .map_err(|_| "not base64")?;
        if bytes.len() != 32 {
            return Err("not 32 bytes");
        }
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| "unusable key")?;
        Ok(Self {
            key: std::sync::Arc::new(LessSafeKey::new(unbound)),
        })
    }

    fn aad(account: Uuid, role: TokenRole) -> Vec<u8> {
        let mut aad = account.as_bytes().to_vec();
        aad.extend_from_slice(role.label());
        aad
    }

    pub fn seal(
        &self,
        account: Uuid,
        role: TokenRole,
        token: &SecretString,
    ) -> anyhow::Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("no randomness for a token nonce"))?;
        let mut sealed = token.expose_secret().as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(Self::aad(account, role)),
                &mut sealed,
            )
            .map_err(|_| anyhow::anyhow!("token encryption failed"))?;
        let mut out = nonce.to_vec();
        out.append(&mut sealed);
        Ok(out)
    }

    pub fn open(
        &self,
        account: Uuid,
        role: TokenRole,
        sealed: &[u8],
    ) -> anyhow::Result<SecretString> {
        if sealed.len() <= NONCE_LEN {
            anyhow::bail!("no token stored");
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| anyhow::anyhow!("bad token nonce"))?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(Self::aad(account, role)), &mut buffer)
            .map_err(|_| {
                anyhow::anyhow!("a stored token does not decrypt with social.token_key")
            })?;
        let text = String::from_utf8(plain.to_vec())
            .map_err(|_| anyhow::anyhow!("a stored token is not text"))?;
        Ok(SecretString::from(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> TokenCipher {
        TokenCipher::new(&SecretString::from(
            "o4V2UKE8sxU92hO6YDbT3MZ4ILz63/BlOFjjl9wFr7M=".to_owned(),
        ))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_sealed_token_opens_only_for_its_account_and_role() {
        let cipher = cipher();
        let account = Uuid::now_v7();
        let token = SecretString::from("page-token-123".to_owned());
        let sealed = cipher
            .seal(account, TokenRole::Access, &token)
            .unwrap_or_default();
        assert!(
            !sealed.windows(5).any(|w| w == b"page-"),
            "ciphertext holds the clear token"
        );
        let opened = cipher
            .open(account, TokenRole::Access, &sealed)
            .map(|t| t.expose_secret().to_owned());
        assert_eq!(opened.ok().as_deref(), Some("page-token-123"));
        assert!(
            cipher
                .open(Uuid::now_v7(), TokenRole::Access, &sealed)
                .is_err()
        );
        assert!(cipher.open(account, TokenRole::Refresh, &sealed).is_err());
        let mut tampered = sealed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert!(cipher.open(account, TokenRole::Access, &tampered).is_err());
    }

    #[test]
    fn two_seals_of_one_token_differ() {
        let cipher = cipher();
        let account = Uuid::now_v7();
        let token = SecretString::from("same".to_owned());
        let a = cipher
            .seal(account, TokenRole::Access, &token)
            .unwrap_or_default();
        let b = cipher
            .seal(account, TokenRole::Access, &token)
            .unwrap_or_default();
        assert_ne!(a, b);
    }
}
