//! A superseded change's provider call that is still in flight cannot land after, and so overwrite, the
//! newer change that superseded it.

use concierge::integrations::whmcs::ClientRef;
use serde_json::{Value, json};

use super::{me, patch_me, token, whmcs_client};
use crate::helpers::{Sandboxed, System, demo_customer, eventually, spawn_sandboxed_app_with};

const CONTACT: &str = "003SBDEMO000001AAA";
const OLDER: &str = "+819011110000";
const NEWER: &str = "+819022220000";

async fn unsettled(app: &crate::helpers::TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM profile_updates WHERE whmcs_status = 'pending' OR salesforce_status = 'pending'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_older_changes_call_still_in_flight_does_not_overwrite_a_newer_change() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    let access = token(&demo_customer(&app).await);
    // The older change's UpdateClient reaches WHMCS, then is held before WHMCS applies it.
    app.sandbox().inject_fault(
        System::Whmcs,
        json!({ "latency_ms": 1500, "operation": "UpdateClient", "times": 1 }),
    );

    let older = patch_me(&app, &access, json!({ "phone": OLDER }));
    let newer = async {
        eventually(5, "the older change's call to reach WHMCS", || async {
            (app.sandbox().whmcs_calls("UpdateClient") == 1).then_some(())
        })
        .await;
        patch_me(&app, &access, json!({ "phone": NEWER })).await
    };
    let (older, newer) = tokio::join!(older, newer);

    assert_eq!(older.status(), 200, "the older change itself went through");
    let newer_status = newer.status();
    let body: Value = newer.json().await.unwrap();
    assert!(
        newer_status == 200 || newer_status == 202,
        "{newer_status}: {body}"
    );
    eventually(20, "every change to settle", || async {
        (unsettled(&app).await == 0).then_some(())
    })
    .await;
    assert_eq!(
        whmcs_client(&app, ClientRef::Id(1)).await.phonenumber,
        NEWER,
        "WHMCS ends with the newer change"
    );
    assert_eq!(
        app.sandbox().salesforce_record("Contact", CONTACT).await["Phone"],
        NEWER
    );
    let profile = me(&app, &access).await;
    assert_eq!(profile["phone"], NEWER);
    assert_eq!(profile["pending_update"], Value::Null);
    app.stop().await;
}

/// While the older change's attempt still holds its claim, the newer change is saved and answered as being
/// retried rather than written at once, and it is written as soon as the older call has ended.
#[tokio::test]
async fn a_newer_change_waits_for_the_older_call_then_is_written_once() {
    let app = spawn_sandboxed_app_with(Sandboxed::new().jobs()).await;
    let access = token(&demo_customer(&app).await);
    app.sandbox().inject_fault(
        System::Whmcs,
        json!({ "latency_ms": 1500, "operation": "UpdateClient", "times": 1 }),
    );

    let older = patch_me(&app, &access, json!({ "phone": OLDER }));
    let newer = async {
        eventually(5, "the older change's call to reach WHMCS", || async {
            (app.sandbox().whmcs_calls("UpdateClient") == 1).then_some(())
        })
        .await;
        patch_me(&app, &access, json!({ "first_name": "Hana" })).await
    };
    let (_, newer) = tokio::join!(older, newer);

    assert_eq!(newer.status(), 202);
    let body: Value = newer.json().await.unwrap();
    assert_eq!(
        body["systems"],
        json!({ "whmcs": "retrying", "salesforce": "retrying" })
    );
    eventually(20, "every change to settle", || async {
        (unsettled(&app).await == 0).then_some(())
    })
    .await;
    let client = whmcs_client(&app, ClientRef::Id(1)).await;
    assert_eq!(client.firstname, "Hana");
    assert_eq!(
        client.phonenumber, OLDER,
        "the newer change carries the older one"
    );
    assert_eq!(app.sandbox().whmcs_calls("UpdateClient"), 2);
    app.stop().await;
}
