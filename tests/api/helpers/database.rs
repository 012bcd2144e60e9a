//! The test databases (one per app, cloned from a migrated template), Redis and the test settings.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

use concierge::config::{Environment, Settings};
use figment::Figment;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, PgPool};

pub fn admin_database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:55439/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:56379".into())
}

/// A Redis URL where nothing listens: connections are refused at once.
pub const DEAD_REDIS_URL: &str = "redis://127.0.0.1:1";
/// A PostgreSQL URL where nothing listens.
pub const DEAD_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:1/nothing";

pub fn database_url(name: &str) -> String {
    let admin = admin_database_url();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base)
        .to_owned();
    format!("{base}/{name}")
}

pub fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// The test environment's settings pointing at the given database, the real Redis and a fresh key prefix.
pub fn test_settings(database: &str) -> Settings {
    let figment: Figment = Settings::figment(&config_dir(), Environment::Test)
        .expect("config dir")
        .merge(("database.url", database_url(database)))
        .merge(("redis.url", redis_url()))
        .merge((
            "redis.key_prefix",
            format!("test:{}:", uuid::Uuid::new_v4().simple()),
        ));
    Settings::extract(figment).expect("test settings")
}

/// Creates a database from the migrated template and returns its name.
pub async fn fresh_database() -> String {
    let template = template_database().await;
    new_database(Some(&template)).await
}

/// An empty database (no migrations), for tests of migrating itself.
pub async fn empty_database() -> String {
    new_database(None).await
}

async fn new_database(template: Option<&str>) -> String {
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = connect_as_admin().await;
    let (sql, what) = match template {
        Some(template) => (
            format!(r#"CREATE DATABASE "{name}" TEMPLATE "{template}""#),
            "create test database",
        ),
        None => (format!(r#"CREATE DATABASE "{name}""#), "create database"),
    };
    run(&mut admin, sql, what).await;
    name
}

async fn connect_as_admin() -> PgConnection {
    PgConnection::connect(&admin_database_url())
        .await
        .expect("connect as admin")
}

/// Runs a statement naming databases, which cannot be bound parameters.
async fn run(admin: &mut PgConnection, sql: String, what: &str) {
    admin
        .execute(sqlx::raw_sql(AssertSqlSafe(sql)))
        .await
        .expect(what);
}

/// The template is named after a hash of every migration (ours and the job queue's), so a changed migration
/// gets a new template. Creation is serialised across test processes with an advisory lock.
async fn template_database() -> String {
    let mut hasher = DefaultHasher::new();
    for migration in concierge::db::MIGRATOR.iter() {
        migration.version.hash(&mut hasher);
        migration.checksum.hash(&mut hasher);
    }
    for migration in apalis_postgres::PostgresStorage::<()>::migrations().iter() {
        migration.version.hash(&mut hasher);
        migration.checksum.hash(&mut hasher);
    }
    let name = format!("concierge_template_{:016x}", hasher.finish());

    let mut admin = connect_as_admin().await;
    admin
        .execute("SELECT pg_advisory_lock(4242424242)")
        .await
        .expect("template lock");
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .expect("look up template");
    if !exists {
        let building = format!("{name}_building");
        let drop = format!(r#"DROP DATABASE IF EXISTS "{building}""#);
        run(&mut admin, drop, "drop").await;
        let create = format!(r#"CREATE DATABASE "{building}""#);
        run(&mut admin, create, "create template").await;
        let pool = PgPool::connect(&database_url(&building))
            .await
            .expect("connect to template");
        concierge::db::migrate(&pool)
            .await
            .expect("migrate template");
        pool.close().await;
        let publish = format!(r#"ALTER DATABASE "{building}" RENAME TO "{name}""#);
        run(&mut admin, publish, "publish template").await;
    }
    admin
        .execute("SELECT pg_advisory_unlock(4242424242)")
        .await
        .expect("template unlock");
    name
}
