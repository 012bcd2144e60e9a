//! A sandbox on a random port, configured like the product's tests configure theirs.

use std::path::PathBuf;

use concierge_sandbox::{Config, Sandbox};

pub struct TestSandbox {
    pub url: String,
}

/// The workspace's `config/` folder: the sandbox reads the same files as the product.
fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config")
}

pub async fn spawn_sandbox() -> TestSandbox {
    spawn_sandbox_with(|_| {}).await
}

/// Keeps serving for the rest of the test.
pub async fn spawn_sandbox_with(configure: impl FnOnce(&mut Config)) -> TestSandbox {
    let mut config = Config::from_files(&config_dir(), "test").expect("sandbox test config");
    configure(&mut config);
    let sandbox = Sandbox::build(config, "127.0.0.1:0").expect("sandbox");
    let url = format!("http://127.0.0.1:{}", sandbox.port());
    tokio::spawn(sandbox.run_until_stopped());
    TestSandbox { url }
}
