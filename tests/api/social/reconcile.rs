//! A crash between the network's acceptance and our record (the answer lost after the effect) is
//! reconciled by looking the post up, never by sending it again: counted on the stand-ins.

use serde_json::json;

use super::support::*;
use crate::helpers::System;

#[tokio::test]
async fn a_lost_answer_after_each_network_accepted_never_posts_twice() {
    let app = app().await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    let sandbox = app.sandbox();
    sandbox.inject_fault(
        System::X,
        json!({"operation": "/2/tweets", "phase": "after", "status": 500, "times": 1}),
    );
    sandbox.inject_fault(
        System::Facebook,
        json!({"operation": "/feed", "phase": "after", "status": 500, "times": 1}),
    );
    sandbox.inject_fault(System::Instagram, json!({"operation": "media_publish", "phase": "after", "hang": false, "status": 500, "times": 1}));
    let post = created(&app, &token, json!({
        "text": "Exactly once", "media": [IMAGE], "targets": [accounts.facebook, accounts.instagram, accounts.x],
    })).await;

    let post = until(
        &app,
        &token,
        post["id"].as_str().unwrap(),
        "published",
        |p| p["status"] == "published",
    )
    .await;

    for network in ["facebook", "instagram", "x"] {
        let on_network = published(&app, network);
        assert_eq!(
            on_network.len(),
            1,
            "{network} got the post once: {on_network:?}"
        );
        assert_eq!(
            target(&post, network)["network_post_id"].as_str(),
            Some(on_network[0].id.as_str()),
            "{network}"
        );
        assert_eq!(target(&post, network)["attempts"], 1, "{network}");
    }
    assert_eq!(
        sandbox.count(System::X, |r| r.method == "POST"
            && r.path.ends_with("/2/tweets")),
        1
    );
    assert_eq!(sandbox.count(System::Facebook, |r| r.method == "POST"), 1);
    assert_eq!(sandbox.count_path(System::Instagram, "/media_publish"), 1);
    assert!(
        sandbox.count_path(System::X, "/users/1500000000000000001/tweets") >= 1,
        "looked up before any resend"
    );
}

#[tokio::test]
async fn an_unreadable_answer_after_x_accepted_is_looked_up_not_resent() {
    let app = app().await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    app.sandbox().inject_fault(
        System::X,
        json!({"operation": "/2/tweets", "phase": "after", "malformed": true, "times": 1}),
    );
    let post = created(
        &app,
        &token,
        json!({"text": "Garbled answer", "targets": [accounts.x]}),
    )
    .await;
    let post = until(
        &app,
        &token,
        post["id"].as_str().unwrap(),
        "published",
        |p| p["status"] == "published",
    )
    .await;
    let on_x = published(&app, "x");
    assert_eq!(on_x.len(), 1, "{on_x:?}");
    assert_eq!(
        target(&post, "x")["network_post_id"].as_str(),
        Some(on_x[0].id.as_str())
    );
}

#[tokio::test]
async fn a_post_deleted_before_its_time_never_reaches_a_network() {
    let app = app().await;
    let (token, accounts) = marketer_with_accounts(&app).await;
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let post = created(&app, &token, json!({"text": "Withdrawn", "targets": [accounts.x, accounts.facebook], "publish_at": soon})).await;
    let url = app.url(&format!(
        "/api/v1/brands/maison/social/posts/{}",
        post["id"].as_str().unwrap()
    ));
    assert_eq!(
        app.client
            .delete(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    assert!(published(&app, "x").is_empty() && published(&app, "facebook").is_empty());
}
