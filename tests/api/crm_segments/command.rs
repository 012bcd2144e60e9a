//! `concierge segments refresh`.

use std::process::Command;

use serde_json::json;

use super::{brand_id, create, members, profile};
use crate::helpers::{
    TestOptions, config_dir, database_url, fresh_database, marketer_token, redis_url,
    spawn_app_with,
};

#[tokio::test]
async fn the_command_refreshes_a_segment_and_the_segments_naming_it() {
    let database = fresh_database().await;
    let app = spawn_app_with(TestOptions {
        database: Some(database.clone()),
        ..Default::default()
    })
    .await;
    let token = marketer_token(&app, "mkt@maison.example", "maison").await;
    let maison = brand_id(&app, "maison").await;
    let gold = profile(&app, maison, json!({"tier": "gold"})).await;
    profile(&app, maison, json!({"tier": "silver"})).await;
    let parent = create(&app, &token, "maison", &json!({
        "slug": "gold", "name": "Gold", "rule": {"attribute": "tier", "op": "eq", "value": "gold"}
    }))
    .await;
    let child = create(
        &app,
        &token,
        "maison",
        &json!({
            "slug": "gold-too", "name": "Gold too", "rule": {"segment": "gold", "is": "member"}
        }),
    )
    .await;
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_concierge"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CONCIERGE_CONFIG_DIR", config_dir())
            .env("CONCIERGE_ENV", "test")
            .env("CONCIERGE__DATABASE__URL", database_url(&database))
            .env("CONCIERGE__REDIS__URL", redis_url())
            .args(args)
            .output()
            .unwrap()
    };
    let output = run(&[
        "segments",
        "refresh",
        "--brand",
        "maison",
        "--segment",
        "gold",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("2 segments refreshed: 2 entered, 0 exited"),
        "{stderr}"
    );
    assert_eq!(
        members(&app, parent["id"].as_str().unwrap()).await,
        vec![gold]
    );
    assert_eq!(
        members(&app, child["id"].as_str().unwrap()).await,
        vec![gold]
    );
    let output = run(&["segments", "refresh", "--brand", "maison"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("2 segments refreshed: 0 entered, 0 exited"),
        "{stderr}"
    );
    let output = run(&["segments", "refresh", "--brand", "nowhere"]);
    assert!(!output.status.success());
    let output = run(&[
        "segments",
        "refresh",
        "--brand",
        "maison",
        "--segment",
        "nope",
    ]);
    assert!(!output.status.success());
}
