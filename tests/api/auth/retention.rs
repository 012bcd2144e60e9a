use uuid::Uuid;

use super::{PASSWORD, login_response, refresh, refresh_token, signed_in};
use crate::helpers::spawn_app;

async fn session_ids(app: &crate::helpers::TestApp) -> Vec<Uuid> {
    sqlx::query_scalar!("SELECT id FROM sessions ORDER BY created_at, id")
        .fetch_all(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_prune_removes_what_ended_and_keeps_what_can_still_be_used_or_investigated() {
    let app = spawn_app().await;
    let email = "retention@example.com";
    let first = signed_in(&app, email).await;
    for _ in 0..5 {
        assert_eq!(login_response(&app, email, PASSWORD).await.status(), 200);
    }
    let sessions = session_ids(&app).await;
    assert_eq!(sessions.len(), 6);
    // The first session rotates once, so it holds a spent token: the record that detects its replay.
    let rotated = refresh(&app, &refresh_token(&first)).await;
    assert_eq!(rotated.status(), 200);

    // Age the sessions as time would (the idle timeout is the default 7 days, retention 7 days).
    let ages = [
        // active, used just now: kept
        "UPDATE sessions SET last_used_at = now() WHERE id = $1",
        // revoked 8 days ago: gone
        "UPDATE sessions SET revoked_at = now() - interval '8 days' WHERE id = $1",
        // expired 8 days ago: gone
        "UPDATE sessions SET expires_at = now() - interval '8 days' WHERE id = $1",
        // idle for 15 days, so ended 8 days ago: gone
        "UPDATE sessions SET last_used_at = now() - interval '15 days' WHERE id = $1",
        // revoked yesterday: kept for the retention period
        "UPDATE sessions SET revoked_at = now() - interval '1 day' WHERE id = $1",
        // expired yesterday: kept
        "UPDATE sessions SET expires_at = now() - interval '1 day' WHERE id = $1",
    ];
    for (sql, id) in ages.iter().zip(&sessions) {
        sqlx::query(*sql).bind(id).execute(&app.db).await.unwrap();
    }

    let user_id: Uuid = sqlx::query_scalar!("SELECT id FROM users WHERE email = $1", email)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let mut resets = Vec::new();
    // (used, minutes until expiry)
    for (used, expires_in) in [(false, 10.0), (true, 10.0), (false, -1.0)] {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO password_reset_tokens (id, user_id, token_hash, expires_at, used_at)
             VALUES ($1, $2, $3, now() + $4::float8 * interval '1 minute',
                     CASE WHEN $5::bool THEN now() - interval '1 minute' END)",
        )
        .bind(id)
        .bind(user_id)
        .bind(id.as_bytes().to_vec())
        .bind(expires_in)
        .bind(used)
        .execute(&app.db)
        .await
        .unwrap();
        resets.push(id);
    }

    // Verification links: one expired, one live; registration notices: one past the throttle, one within it.
    for (id, expires_in) in [(Uuid::now_v7(), -1.0), (Uuid::now_v7(), 10.0)] {
        sqlx::query(
            "INSERT INTO email_verification_tokens (id, user_id, email, token_hash, expires_at)
             VALUES ($1, $2, 'retention@example.com', $3, now() + $4::float8 * interval '1 minute')",
        )
        .bind(id)
        .bind(user_id)
        .bind(id.as_bytes().to_vec())
        .bind(expires_in)
        .execute(&app.db)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO registration_notices (id, user_id, sent_at, created_at) VALUES
         ($1, $3, now() - interval '2 days', now() - interval '2 days'), ($2, $3, now(), now())",
    )
    .bind(Uuid::now_v7())
    .bind(Uuid::now_v7())
    .bind(user_id)
    .execute(&app.db)
    .await
    .unwrap();

    sqlx::query(
        "INSERT INTO auth_audit_log (event, created_at) VALUES
         ('old', now() - interval '401 days'), ('recent', now() - interval '399 days')",
    )
    .execute(&app.db)
    .await
    .unwrap();

    let pruned = concierge::auth::prune_records(&app.state.auth)
        .await
        .unwrap();
    assert_eq!(pruned.sessions, 3, "{pruned:?}");
    assert_eq!(pruned.reset_tokens, 1, "{pruned:?}");
    assert_eq!(pruned.audit_rows, 1, "{pruned:?}");
    assert_eq!(pruned.registration_notices, 1, "{pruned:?}");
    assert_eq!(pruned.verification_tokens, 1, "{pruned:?}");

    assert_eq!(
        session_ids(&app).await,
        vec![sessions[0], sessions[4], sessions[5]]
    );
    let orphans: i64 = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM refresh_tokens WHERE session_id <> ALL($1)"#,
        &[sessions[0], sessions[4], sessions[5]][..]
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        orphans, 0,
        "the pruned sessions' refresh tokens went with them"
    );
    let remaining_resets: Vec<Uuid> =
        sqlx::query_scalar!("SELECT id FROM password_reset_tokens ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        remaining_resets,
        vec![resets[0], resets[1]],
        "only the expired link is gone; a used one stays until it expires (what says it was used)"
    );
    let events: Vec<String> = sqlx::query_scalar!(
        "SELECT event FROM auth_audit_log WHERE event IN ('old', 'recent') ORDER BY event"
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(events, vec!["recent".to_owned()]);

    // The live session's spent token is kept, so replaying it (past the two-tabs grace) still ends the session.
    sqlx::query("UPDATE refresh_tokens SET rotated_at = now() - interval '1 hour' WHERE rotated_at IS NOT NULL")
        .execute(&app.db)
        .await
        .unwrap();
    let replayed = refresh(&app, &refresh_token(&first)).await;
    assert_eq!(replayed.status(), 401);
    let revoked: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar!("SELECT revoked_at FROM sessions WHERE id = $1", sessions[0])
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(
        revoked.is_some(),
        "replay of a rotated token still revokes the family"
    );
}
