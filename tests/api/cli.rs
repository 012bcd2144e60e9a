//! The `concierge` binary itself: help, configuration failures, migrations, the OpenAPI printout, shutdown.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::{config_dir, database_url, empty_database, redis_url};

fn concierge() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_concierge"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CONCIERGE_CONFIG_DIR", config_dir())
        .env("CONCIERGE_ENV", "test");
    command
}

#[test]
fn every_command_has_help() {
    let output = concierge().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for command in ["serve", "worker", "migrate", "seed", "openapi", "segments"] {
        assert!(help.contains(command), "{command} missing from --help");
        let sub = concierge().args([command, "--help"]).output().unwrap();
        assert!(sub.status.success(), "{command} --help");
    }
    let serve = concierge().args(["serve", "--help"]).output().unwrap();
    assert!(
        String::from_utf8(serve.stdout)
            .unwrap()
            .contains("--no-jobs")
    );
}

#[test]
fn the_provider_sandbox_is_not_a_command_of_the_product() {
    let output = concierge().args(["sandbox", "--help"]).output().unwrap();
    assert!(!output.status.success());
    let help = String::from_utf8(concierge().arg("--help").output().unwrap().stdout).unwrap();
    assert!(!help.contains("sandbox"), "{help}");
}

#[test]
fn openapi_prints_the_committed_document() {
    let output = concierge().arg("openapi").output().unwrap();
    assert!(output.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(config_dir().join("../docs/openapi.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(printed, committed);
}

#[test]
fn an_invalid_setting_stops_startup_with_one_line_naming_the_key() {
    let output = concierge()
        .arg("serve")
        .env("CONCIERGE__SERVER__PORT", "eighty")
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("server.port"), "{stderr}");
}

#[test]
fn an_unknown_environment_variable_key_stops_startup() {
    let output = concierge()
        .arg("migrate")
        .env("CONCIERGE__DATABASE__URLL", "postgres://x")
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("database.urll"), "{stderr}");
}

#[test]
fn an_unknown_environment_name_stops_startup() {
    let output = concierge()
        .arg("migrate")
        .env("CONCIERGE_ENV", "staging")
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("staging")
    );
}

#[tokio::test]
async fn two_replicas_migrating_one_database_at_once_both_succeed() {
    let database = empty_database().await;
    let spawn = || {
        concierge()
            .arg("migrate")
            .env("CONCIERGE__DATABASE__URL", database_url(&database))
            .env("CONCIERGE__REDIS__URL", redis_url())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());

    for child in [first, second] {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let pool = sqlx::PgPool::connect(&database_url(&database))
        .await
        .unwrap();
    assert_eq!(
        concierge::db::migration_state(&pool).await.unwrap(),
        concierge::db::MigrationState::UpToDate
    );
}

#[tokio::test]
async fn serve_stops_gracefully_on_sigterm() {
    let database = empty_database().await;
    let port = free_port();
    let mut child = concierge()
        .arg("serve")
        .env("CONCIERGE__DATABASE__URL", database_url(&database))
        .env("CONCIERGE__REDIS__URL", redis_url())
        .env("CONCIERGE__SERVER__PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let ready = crate::helpers::eventually(30, "serve to become ready", || {
        let client = client.clone();
        async move {
            let response = client
                .get(format!("http://127.0.0.1:{port}/health/ready"))
                .send()
                .await
                .ok()?;
            (response.status() == 200).then_some(())
        }
    })
    .await;
    let () = ready;

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    let status = crate::helpers::eventually(30, "serve to exit", || {
        let status = child.try_wait().unwrap();
        async move { status }
    })
    .await;
    assert!(status.success(), "exit status {status:?}");
    let _ = Duration::ZERO;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
