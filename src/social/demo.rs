//! The demo brand's social accounts: the sandbox's demo Page, Instagram account and X user, connected to
//! `maison` with the tokens the stand-ins accept (`concierge_sandbox::demo::social`; `tests/api/social`
//! checks they agree). Reseeding reconnects them, so a restarted sandbox and the stored tokens agree again.

use std::time::Duration;

use secrecy::SecretString;
use sqlx::PgPool;

use super::{Network, Social, connect_account};
use crate::config::Settings;

pub const DEMO_BRAND: &str = "maison";
pub const FACEBOOK_PAGE_ID: &str = "104000000000001";
pub const FACEBOOK_PAGE_TOKEN: &str = "sandbox-facebook-page-token";
pub const INSTAGRAM_USER_ID: &str = "17841400000000001";
pub const INSTAGRAM_TOKEN: &str = "sandbox-instagram-token";
pub const X_USER_ID: &str = "1500000000000000001";
pub const X_ACCESS_TOKEN: &str = "sandbox-x-access-token";
pub const X_REFRESH_TOKEN: &str = "sandbox-x-refresh-token";

pub async fn demo_accounts(pool: &PgPool, settings: &Settings) -> anyhow::Result<Vec<String>> {
    let Some(brand) = crate::brands::find(pool, DEMO_BRAND).await? else {
        return Ok(vec![]);
    };
    let social = Social::new(
        pool.clone(),
        settings.jobs.clone(),
        settings.social.clone(),
        &settings.providers,
    )?;
    let secret = |s: &str| SecretString::from(s.to_owned());
    let accounts = [
        (
            Network::Facebook,
            FACEBOOK_PAGE_ID,
            "Maison Demo (Facebook)",
            FACEBOOK_PAGE_TOKEN,
            None,
        ),
        (
            Network::Instagram,
            INSTAGRAM_USER_ID,
            "maison.demo (Instagram)",
            INSTAGRAM_TOKEN,
            None,
        ),
        (
            Network::X,
            X_USER_ID,
            "@maisondemo (X)",
            X_ACCESS_TOKEN,
            Some(X_REFRESH_TOKEN),
        ),
    ];
    let mut lines = Vec::new();
    for (network, id, name, token, refresh) in accounts {
        let account = connect_account(
            &social,
            brand.id,
            network,
            id,
            name,
            secret(token),
            refresh.map(secret),
            Some(Duration::from_secs(7200)),
        )
        .await?;
        lines.push(format!(
            "social account {} {name} ({account}) for {DEMO_BRAND}",
            network.as_str()
        ));
    }
    Ok(lines)
}
