//! A profile's person across merges: its current (surviving) profile and every profile merged into it. An
//! enrollment keeps the profile id it started with, so after a merge the person's events (which land on the
//! survivor) must still reach it (exit rules), and the re-entry policy counts the person's enrollments,
//! not only the survivor's.

use sqlx::PgConnection;
use uuid::Uuid;

/// The person of `profile_id`: its current profile first, then the profiles merged into it (empty when the
/// profile is not the brand's).
pub async fn person(
    conn: &mut PgConnection,
    brand_id: Uuid,
    profile_id: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"WITH RECURSIVE up (id, merged_into, depth) AS (
               SELECT id, merged_into, 0 FROM crm_profiles WHERE id = $2 AND brand_id = $1
               UNION ALL
               SELECT p.id, p.merged_into, up.depth + 1 FROM crm_profiles p JOIN up ON p.id = up.merged_into
               WHERE p.brand_id = $1 AND up.depth < 100
           ), person (id, depth) AS (
               SELECT id, 0 FROM up WHERE merged_into IS NULL
               UNION ALL
               SELECT p.id, person.depth + 1 FROM crm_profiles p JOIN person ON p.merged_into = person.id
               WHERE p.brand_id = $1 AND person.depth < 100
           )
           SELECT id AS "id!" FROM person ORDER BY depth, id"#,
        brand_id,
        profile_id
    )
    .fetch_all(conn)
    .await
}
