use serde_json::{Value, json};

use super::{
    PASSWORD, access, admin, get_with, login_response, refresh, refresh_token, register, signed_in,
};
use crate::helpers::{DEAD_REDIS_URL, TestOptions, problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn registration_validates_every_field() {
    let app = spawn_app().await;
    let cases = [
        json!({ "email": "not-an-email", "password": PASSWORD, "first_name": "A", "last_name": "B" }),
        json!({ "email": "a@example.com", "password": "short", "first_name": "A", "last_name": "B" }),
        json!({ "email": "a@example.com", "password": "password123", "first_name": "A", "last_name": "B" }),
        json!({ "email": "a@example.com", "password": "x".repeat(129), "first_name": "A", "last_name": "B" }),
        json!({ "email": "a@example.com", "password": PASSWORD, "first_name": " ", "last_name": "B" }),
        json!({ "email": "a@example.com", "password": PASSWORD, "first_name": "A", "last_name": "B", "role": "admin" }),
        json!({ "email": "a@example.com", "password": PASSWORD }),
    ];
    for body in cases {
        let response = app
            .client
            .post(app.url("/api/v1/auth/register"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{body}");
        problem(response).await;
    }
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(users, 0, "nothing was created");
}

#[tokio::test]
async fn emails_are_unique_case_insensitively() {
    let app = spawn_app().await;
    register(&app, "Jane.Doe@Example.com").await;

    let again = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({ "email": "JANE.DOE@example.COM", "password": "another-unusual-passphrase", "first_name": "J", "last_name": "D" }))
        .send()
        .await
        .unwrap();

    assert_eq!(again.status(), 202, "the same answer as for a new address");
    let emails: Vec<String> = sqlx::query_scalar("SELECT email FROM users")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(emails, ["jane.doe@example.com"]);
    assert_eq!(
        login_response(&app, "  jane.doe@EXAMPLE.com ", PASSWORD)
            .await
            .status(),
        200
    );
    assert_eq!(
        login_response(&app, "jane.doe@example.com", "another-unusual-passphrase")
            .await
            .status(),
        401,
        "the second registration changed nothing"
    );
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    register(&app, "known@example.com").await;

    let unknown = login_response(&app, "nobody@example.com", PASSWORD).await;
    let wrong = login_response(&app, "known@example.com", "not-the-right-passphrase").await;

    assert_eq!(unknown.status(), 401);
    assert_eq!(wrong.status(), 401);
    let strip = |mut body: Value| {
        body.as_object_mut().unwrap().remove("request_id");
        body
    };
    assert_eq!(strip(problem(unknown).await), strip(problem(wrong).await));
}

#[tokio::test]
async fn repeated_failures_lock_the_account_with_retry_after() {
    let app = spawn_app_with(TestOptions {
        configure: Box::new(|s| {
            s.auth.login_failures_per_account = 3;
            s.auth.lockout_base_secs = 30;
        }),
        ..Default::default()
    })
    .await;
    register(&app, "target@example.com").await;
    for _ in 0..3 {
        assert_eq!(
            login_response(&app, "target@example.com", "wrong-passphrase-123")
                .await
                .status(),
            401
        );
    }

    let locked = login_response(&app, "target@example.com", PASSWORD).await;

    assert_eq!(locked.status(), 429, "even the right password waits");
    let retry_after: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert_eq!(problem(locked).await["code"], "rate-limited");
    assert_eq!(
        login_response(&app, "other@example.com", PASSWORD)
            .await
            .status(),
        401,
        "other accounts unaffected"
    );
}

#[tokio::test]
async fn logins_keep_working_and_stay_limited_when_redis_is_down() {
    let app = spawn_app_with(TestOptions {
        configure: Box::new(|s| {
            s.redis.url = DEAD_REDIS_URL.to_owned().into();
            s.auth.login_failures_per_account = 2;
            s.auth.lockout_base_secs = 30;
        }),
        ..Default::default()
    })
    .await;
    register(&app, "offline@example.com").await;
    assert_eq!(
        login_response(&app, "offline@example.com", PASSWORD)
            .await
            .status(),
        200
    );
    for _ in 0..2 {
        login_response(&app, "offline@example.com", "wrong-passphrase-123").await;
    }
    assert_eq!(
        login_response(&app, "offline@example.com", PASSWORD)
            .await
            .status(),
        429
    );
}

#[tokio::test]
async fn sessions_are_listed_and_one_can_be_revoked_without_touching_the_others() {
    let app = spawn_app().await;
    let first = signed_in(&app, "devices@example.com").await;
    let second = signed_in(&app, "devices@example.com").await;

    let sessions: Vec<Value> = get_with(&app, "/api/v1/auth/sessions", &access(&first))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let other = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let revoked = app
        .client
        .delete(app.url(&format!("/api/v1/auth/sessions/{other}")))
        .bearer_auth(access(&first))
        .send()
        .await
        .unwrap();

    assert_eq!(revoked.status(), 204);
    assert_eq!(
        get_with(&app, "/api/v1/auth/me", &access(&second))
            .await
            .status(),
        401,
        "at once"
    );
    assert_eq!(refresh(&app, &refresh_token(&second)).await.status(), 401);
    assert_eq!(
        get_with(&app, "/api/v1/auth/me", &access(&first))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn another_users_session_is_unreachable() {
    let app = spawn_app().await;
    let mine = signed_in(&app, "mine@example.com").await;
    let theirs = signed_in(&app, "theirs@example.com").await;
    let their_sessions: Vec<Value> = get_with(&app, "/api/v1/auth/sessions", &access(&theirs))
        .await
        .json()
        .await
        .unwrap();
    let their_id = their_sessions[0]["id"].as_str().unwrap();

    let attempt = app
        .client
        .delete(app.url(&format!("/api/v1/auth/sessions/{their_id}")))
        .bearer_auth(access(&mine))
        .send()
        .await
        .unwrap();

    assert_eq!(attempt.status(), 404);
    assert_eq!(
        get_with(&app, "/api/v1/auth/me", &access(&theirs))
            .await
            .status(),
        200
    );
    let bad_id = app
        .client
        .delete(app.url("/api/v1/auth/sessions/nope"))
        .bearer_auth(access(&mine))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_id.status(), 400);
}

#[tokio::test]
async fn logout_all_ends_every_session() {
    let app = spawn_app().await;
    let first = signed_in(&app, "everywhere@example.com").await;
    let second = signed_in(&app, "everywhere@example.com").await;

    let response = app
        .client
        .post(app.url("/api/v1/auth/logout-all"))
        .bearer_auth(access(&first))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 204);
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    for session in [&first, &second] {
        assert_eq!(
            get_with(&app, "/api/v1/auth/me", &access(session))
                .await
                .status(),
            401
        );
        assert_eq!(refresh(&app, &refresh_token(session)).await.status(), 401);
    }
}

#[tokio::test]
async fn protected_routes_need_a_token_and_customers_cannot_reach_staff_routes() {
    let app = spawn_app().await;
    let customer = signed_in(&app, "customer@example.com").await;

    assert_eq!(app.get("/api/v1/auth/me").await.status(), 401);
    let forbidden = get_with(&app, "/api/v1/admin/users", &access(&customer)).await;
    assert_eq!(forbidden.status(), 403);
    problem(forbidden).await;
}

#[tokio::test]
async fn admins_create_list_and_disable_staff_and_a_disabled_user_is_locked_out_at_once() {
    let app = spawn_app().await;
    let admin = admin(&app, "root@example.com").await;
    let created = app
        .client
        .post(app.url("/api/v1/admin/users"))
        .bearer_auth(access(&admin))
        .json(&json!({ "email": "advisor@maison.example", "password": PASSWORD, "first_name": "Claire",
                        "last_name": "Martin", "roles": ["client_advisor"], "brand_id": "maison",
                        "store_ids": ["paris-1"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let advisor: Value = created.json().await.unwrap();
    assert_eq!(advisor["kind"], "staff");
    assert_eq!(advisor["roles"], json!(["client_advisor"]));
    let session = signed_in(&app, "advisor@maison.example").await;
    assert_eq!(
        get_with(&app, "/api/v1/admin/users", &access(&session))
            .await
            .status(),
        403,
        "advisors are not admins"
    );

    let page: Value = get_with(
        &app,
        "/api/v1/admin/users?kind=staff&limit=1",
        &access(&admin),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next: Value = get_with(
        &app,
        &format!("/api/v1/admin/users?kind=staff&limit=1&cursor={cursor}"),
        &access(&admin),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(next["items"].as_array().unwrap().len(), 1);
    assert_ne!(next["items"][0]["id"], page["items"][0]["id"]);

    let disabled = app
        .client
        .patch(app.url(&format!(
            "/api/v1/admin/users/{}",
            advisor["id"].as_str().unwrap()
        )))
        .bearer_auth(access(&admin))
        .json(&json!({ "disabled": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 200);
    assert_eq!(
        get_with(&app, "/api/v1/auth/me", &access(&session))
            .await
            .status(),
        401
    );
    assert_eq!(refresh(&app, &refresh_token(&session)).await.status(), 401);
    assert_eq!(
        login_response(&app, "advisor@maison.example", PASSWORD)
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn staff_administration_validates_its_input() {
    let app = spawn_app().await;
    let admin = admin(&app, "root2@example.com").await;
    for body in [
        json!({ "email": "x@example.com", "password": PASSWORD, "first_name": "X", "last_name": "Y", "roles": [] }),
        json!({ "email": "x@example.com", "password": PASSWORD, "first_name": "X", "last_name": "Y", "roles": ["customer"] }),
        json!({ "email": "x@example.com", "password": PASSWORD, "first_name": "X", "last_name": "Y", "roles": ["wizard"] }),
    ] {
        let response = app
            .client
            .post(app.url("/api/v1/admin/users"))
            .bearer_auth(access(&admin))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{body}");
    }
    let me = app
        .client
        .patch(app.url(&format!(
            "/api/v1/admin/users/{}",
            admin["user"]["id"].as_str().unwrap()
        )))
        .bearer_auth(access(&admin))
        .json(&json!({ "disabled": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 422, "an admin cannot lock themselves out");
    let unknown = app
        .client
        .patch(app.url(&format!("/api/v1/admin/users/{}", uuid::Uuid::new_v4())))
        .bearer_auth(access(&admin))
        .json(&json!({ "roles": ["manager"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let bad_query = get_with(&app, "/api/v1/admin/users?limit=0", &access(&admin)).await;
    assert_eq!(bad_query.status(), 422);
    let bad_cursor = get_with(&app, "/api/v1/admin/users?cursor=%%%", &access(&admin)).await;
    assert_eq!(bad_cursor.status(), 400);
}

#[tokio::test]
async fn every_auth_event_is_audited_without_secrets() {
    let app = spawn_app().await;
    let login = signed_in(&app, "audited@example.com").await;
    login_response(&app, "audited@example.com", "wrong-passphrase-123").await;
    refresh(&app, &refresh_token(&login)).await;

    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT event, details::text FROM auth_audit_log ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    let events: Vec<&str> = rows.iter().map(|(event, _)| event.as_str()).collect();
    for expected in [
        "user_registered",
        "login_failed",
        "login_succeeded",
        "refresh",
    ] {
        assert!(
            events.contains(&expected),
            "{expected} missing from {events:?}"
        );
    }
    let everything = format!("{rows:?}");
    assert!(!everything.contains(PASSWORD) && !everything.contains(&refresh_token(&login)));
}

#[tokio::test]
async fn a_demotion_or_scope_change_applies_on_the_next_request_not_when_the_token_expires() {
    let app = spawn_app().await;
    let root = admin(&app, "root@example.com").await;
    let second = admin(&app, "second@example.com").await;
    let second_id = get_with(&app, "/api/v1/auth/me", &access(&second))
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        get_with(&app, "/api/v1/admin/users", &access(&second))
            .await
            .status(),
        200
    );

    let demoted = app
        .client
        .patch(app.url(&format!("/api/v1/admin/users/{second_id}")))
        .bearer_auth(access(&root))
        .json(&json!({ "roles": ["manager"], "brand_id": "maison", "store_ids": ["paris-1"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(demoted.status(), 200);

    // The same, still-valid access token (its claims still say admin) is refused at once.
    let refused = get_with(&app, "/api/v1/admin/users", &access(&second)).await;
    assert_eq!(
        refused.status(),
        403,
        "the demotion applies on the next request"
    );
    problem(refused).await;
    let me: Value = get_with(&app, "/api/v1/auth/me", &access(&second))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["roles"], json!(["manager"]));
    assert_eq!(me["brand_id"], "maison");
    assert_eq!(me["store_ids"], json!(["paris-1"]));

    // And a promotion made in the database likewise applies to the token already issued.
    sqlx::query("UPDATE users SET roles = ARRAY['admin'] WHERE id = $1::uuid")
        .bind(&second_id)
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(
        get_with(&app, "/api/v1/admin/users", &access(&second))
            .await
            .status(),
        200
    );
}
