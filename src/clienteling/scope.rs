//! Who sees which clients. An advisor sees the books of their stores and the clients assigned to them; a
//! manager the same, or the whole brand once granted (`clienteling_brand_grants`); an admin the whole brand.
//! Every query of the book carries the scope in its `WHERE` clause ([`Scope`]'s fields are its parameters),
//! so a client outside it is simply not found.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::auth::{AuthUser, Role};
use crate::brands::{Clienteling, InBrand};

#[derive(Debug, Clone)]
pub struct Scope {
    pub brand_id: Uuid,
    pub user_id: Uuid,
    pub stores: Vec<String>,
    /// Every client of the brand.
    pub brand_wide: bool,
    /// May reassign clients (managers and admins) within the stores it covers.
    pub manages: bool,
}

impl Scope {
    pub async fn of(
        conn: &mut PgConnection,
        in_brand: &InBrand<Clienteling>,
    ) -> Result<Scope, sqlx::Error> {
        Scope::of_user(conn, in_brand.brand.id, &in_brand.user).await
    }

    /// The scope of a staff member of the brand `brand_id` admitted by another context's extractor (brand
    /// events admit marketers and advisors alike): the same rules as [`Scope::of`].
    pub async fn of_user(
        conn: &mut PgConnection,
        brand_id: Uuid,
        user: &AuthUser,
    ) -> Result<Scope, sqlx::Error> {
        let admin = user.has_role(Role::Admin);
        let manager = user.has_role(Role::Manager);
        let granted = manager
            && sqlx::query_scalar!(
                "SELECT EXISTS (SELECT 1 FROM clienteling_brand_grants WHERE brand_id = $1 AND user_id = $2)",
                brand_id,
                user.user_id
            )
            .fetch_one(conn)
            .await?
            .unwrap_or(false);
        Ok(Scope {
            brand_id,
            user_id: user.user_id,
            stores: user.store_ids.clone(),
            brand_wide: admin || granted,
            manages: admin || manager,
        })
    }

    /// Whether the store's book is within reach.
    pub fn covers_store(&self, code: &str) -> bool {
        self.brand_wide || self.stores.iter().any(|store| store == code)
    }
}

/// Grants a manager the whole brand's book (demo data and admin tooling).
pub async fn grant_brand_wide(
    conn: &mut PgConnection,
    brand_id: Uuid,
    user_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO clienteling_brand_grants (brand_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        brand_id,
        user_id
    )
    .execute(conn)
    .await?;
    Ok(())
}
