//! Before any part starts: is the client in the caller's book? Exactly the check of `GET …/clients/{id}`
//! (out of reach reads like unknown: 404), on one connection given back before the parts take theirs.

use sqlx::PgPool;
use uuid::Uuid;

use crate::brands::{Clienteling, InBrand};
use crate::clienteling::repo::{self, Layer};
use crate::clienteling::routes_clients::client_not_found;
use crate::clienteling::scope::Scope;
use crate::errors::ApiError;

/// The client as the parts start from it.
pub struct Gate {
    pub scope: Scope,
    pub client_id: Uuid,
    pub layer: Layer,
    /// The book's clients a marketer merged into this one that the caller reaches: their interactions are
    /// this client's too (as on the interactions timeline).
    pub absorbed: Vec<Uuid>,
    pub brand_currency: String,
}

pub async fn open(
    pool: &PgPool,
    in_brand: &InBrand<Clienteling>,
    client_id: Uuid,
) -> Result<Gate, ApiError> {
    let mut conn = pool.acquire().await?;
    let scope = Scope::of(&mut conn, in_brand).await?;
    let layer = repo::visible(&mut conn, &scope, client_id, false)
        .await?
        .ok_or_else(client_not_found)?;
    let absorbed = repo::absorbed_visible(&mut conn, &scope, client_id).await?;
    Ok(Gate {
        scope,
        client_id,
        layer,
        absorbed,
        brand_currency: in_brand.brand.currency.clone(),
    })
}

impl Gate {
    /// This client and the absorbed ones.
    pub fn clients(&self) -> Vec<Uuid> {
        let mut clients = self.absorbed.clone();
        clients.push(self.client_id);
        clients
    }
}
