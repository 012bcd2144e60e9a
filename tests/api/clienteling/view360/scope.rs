//! Exactly the client endpoints' scope: another store's or brand's advisor 404, managers of the store and
//! admins in, customers and marketers 403.

use super::{claire, ok, view};
use crate::clienteling::fixtures::{paris, person, tokyo};
use crate::helpers::{
    customer_token, marketer_token, problem, spawn_sandboxed_app, staff, token_of,
};

#[tokio::test]
async fn the_view_is_scoped_like_the_client_it_shows() {
    let app = spawn_sandboxed_app().await;
    let advisor = paris(&app).await;
    let ours = claire(&app, &advisor, None).await;
    let other_store = tokyo(&app).await;
    let other_brand = person(
        &app,
        "ca@atelier.example",
        "client_advisor",
        Some("atelier"),
        &["milan-1"],
    )
    .await;
    let manager = person(
        &app,
        "mgr@maison.example",
        "manager",
        Some("maison"),
        &["paris-1", "tokyo-1"],
    )
    .await;
    let tokyo_manager = person(
        &app,
        "mgr.tokyo@maison.example",
        "manager",
        Some("maison"),
        &["tokyo-1"],
    )
    .await;
    let admin = token_of(&staff(&app, "root@example.com", "admin", None, &[]).await);
    let marketer = marketer_token(&app, "mk@maison.example", "maison").await;
    let customer = customer_token(&app, "cleo@example.com").await;

    for token in [&advisor.token, &manager.token, &admin] {
        let (status, page) = view(&app, token, &ours, "?fields=header").await;
        assert_eq!(status, 200, "{page}");
        ok(&page, "header");
    }
    for (who, token) in [
        ("another store's advisor", &other_store.token),
        ("another store's manager", &tokyo_manager.token),
        ("another brand's advisor", &other_brand.token),
    ] {
        let (status, page) = view(&app, token, &ours, "").await;
        assert_eq!(status, 404, "{who}: {page}");
        assert_eq!(page["code"], "not-found", "{who}");
    }
    // Under their own brand's path, the other brand's advisor finds nothing either.
    let theirs = format!("/api/v1/brands/atelier/clienteling/clients/{ours}/360");
    let response = crate::helpers::get_as(&app, &other_brand.token, &theirs).await;
    assert_eq!(response.status(), 404);
    for (token, status) in [(Some(&marketer), 403), (Some(&customer), 403), (None, 401)] {
        let mut request = app.client.get(app.url(&super::view_path(&ours)));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{token:?}");
        problem(response).await;
    }
    for missing in [uuid::Uuid::now_v7().to_string(), "not-an-id".to_owned()] {
        let (status, _) = view(&app, &advisor.token, &missing, "").await;
        assert_eq!(status, 404, "{missing}");
    }
}
