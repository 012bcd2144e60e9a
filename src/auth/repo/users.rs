//! The `users` table: portal customers and staff.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::auth::model::{Role, User, UserKind};

pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub kind: String,
    pub roles: Vec<String>,
    pub brand_id: Option<String>,
    pub store_ids: Vec<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl UserRow {
    pub fn to_user(&self) -> User {
        User {
            id: self.id,
            email: self.email.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            kind: if self.kind == "staff" {
                UserKind::Staff
            } else {
                UserKind::Customer
            },
            roles: self
                .roles
                .iter()
                .filter_map(|role| Role::parse(role))
                .collect(),
            brand_id: self.brand_id.clone(),
            store_ids: self.store_ids.clone(),
            disabled: self.disabled_at.is_some(),
            created_at: self.created_at,
        }
    }
}

pub struct NewUser<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub kind: UserKind,
    pub roles: &'a [String],
    pub brand_id: Option<&'a str>,
    pub store_ids: &'a [String],
}

/// `None` when the email is taken.
pub async fn insert_user(
    conn: &mut PgConnection,
    user: NewUser<'_>,
) -> Result<Option<UserRow>, sqlx::Error> {
    let kind = match user.kind {
        UserKind::Customer => "customer",
        UserKind::Staff => "staff",
    };
    sqlx::query_as!(
        UserRow,
        r#"INSERT INTO users (id, email, password_hash, first_name, last_name, kind, roles, brand_id, store_ids)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT ON CONSTRAINT users_email_key DO NOTHING
           RETURNING id, email, password_hash, first_name, last_name, kind, roles, brand_id, store_ids,
                     disabled_at, created_at"#,
        user.id,
        user.email,
        user.password_hash,
        user.first_name,
        user.last_name,
        kind,
        user.roles,
        user.brand_id,
        user.store_ids,
    )
    .fetch_optional(conn)
    .await
}

pub async fn user_by_email(pool: &PgPool, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        r#"SELECT id, email, password_hash, first_name, last_name, kind, roles, brand_id, store_ids, disabled_at, created_at
           FROM users WHERE email = $1"#,
        email,
    )
    .fetch_optional(pool)
    .await
}

pub async fn user_by_id(conn: &mut PgConnection, id: Uuid) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        r#"SELECT id, email, password_hash, first_name, last_name, kind, roles, brand_id, store_ids, disabled_at, created_at
           FROM users WHERE id = $1"#,
        id,
    )
    .fetch_optional(conn)
    .await
}

/// Active staff of the brand holding `role` and working in `store`, oldest account first.
pub async fn staff_of_store(
    conn: &mut PgConnection,
    brand: &str,
    store: &str,
    role: &str,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT id FROM users
           WHERE kind = 'staff' AND disabled_at IS NULL AND brand_id = $1
             AND $2 = ANY(store_ids) AND $3 = ANY(roles)
           ORDER BY created_at, id"#,
        brand,
        store,
        role
    )
    .fetch_all(conn)
    .await
}

/// Staff and customers, newest first, after the `(created_at, id)` cursor.
pub async fn list_users(
    pool: &PgPool,
    kind: Option<&str>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<UserRow>, sqlx::Error> {
    let (after_at, after_id) = after.map_or((None, None), |(at, id)| (Some(at), Some(id)));
    sqlx::query_as!(
        UserRow,
        r#"SELECT id, email, password_hash, first_name, last_name, kind, roles, brand_id, store_ids, disabled_at, created_at
           FROM users
           WHERE ($1::text IS NULL OR kind = $1)
             AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
           ORDER BY created_at DESC, id DESC
           LIMIT $4"#,
        kind,
        after_at,
        after_id,
        limit,
    )
    .fetch_all(pool)
    .await
}

pub async fn update_staff(
    conn: &mut PgConnection,
    id: Uuid,
    roles: Option<&[String]>,
    disabled: Option<bool>,
    brand_id: Option<Option<&str>>,
    store_ids: Option<&[String]>,
) -> Result<Option<UserRow>, sqlx::Error> {
    let (set_brand, brand) = brand_id.map_or((false, None), |brand| (true, brand));
    sqlx::query_as!(
        UserRow,
        r#"UPDATE users SET
               roles = COALESCE($2, roles),
               disabled_at = CASE WHEN $3::bool IS NULL THEN disabled_at
                                  WHEN $3 THEN COALESCE(disabled_at, now())
                                  ELSE NULL END,
               brand_id = CASE WHEN $4 THEN $5 ELSE brand_id END,
               store_ids = COALESCE($6, store_ids)
           WHERE id = $1 AND kind = 'staff'
           RETURNING id, email, password_hash, first_name, last_name, kind, roles, brand_id, store_ids,
                     disabled_at, created_at"#,
        id,
        roles,
        disabled,
        set_brand,
        brand,
        store_ids,
    )
    .fetch_optional(conn)
    .await
}

pub async fn set_password(
    conn: &mut PgConnection,
    id: Uuid,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1",
        id,
        hash
    )
    .execute(conn)
    .await?;
    Ok(())
}
