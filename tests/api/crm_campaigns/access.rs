//! Who reaches campaigns: the brand's marketers and admins; an advisor or a customer is refused (403),
//! anonymous callers 401, another brand's marketer sees nothing (404), and a campaign id of another brand is
//! a 404 even for an admin on the wrong brand's path.

use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::helpers::{admin_token, customer_token, staff, token_of};

#[tokio::test]
async fn only_the_brands_marketers_and_admins_reach_its_campaigns() {
    let (app, token) = app().await;
    let template = template_id(&app, &token, "maison", &sms_template("marketing")).await;
    let audience = segment(&app, &token, "maison", &[]).await;
    let id = create(&app, &token, &body(audience, template)).await;
    let atelier = crate::helpers::marketer_token(&app, "mkt@atelier.example", "atelier").await;
    let advisor = token_of(
        &staff(
            &app,
            "ca@maison.example",
            "client_advisor",
            Some("maison"),
            &["paris-1"],
        )
        .await,
    );
    let customer = customer_token(&app, "someone@example.com").await;
    let admin = admin_token(&app, "admin@example.com").await;
    let base = "/api/v1/brands/maison/crm/campaigns";
    let paths: Vec<(Method, String)> = vec![
        (Method::GET, base.to_owned()),
        (Method::POST, base.to_owned()),
        (Method::GET, format!("{base}/{id}")),
        (Method::PUT, format!("{base}/{id}")),
        (Method::DELETE, format!("{base}/{id}")),
        (Method::GET, format!("{base}/{id}/recipients")),
        (Method::POST, format!("{base}/{id}/launch")),
        (Method::POST, format!("{base}/{id}/pause")),
        (Method::POST, format!("{base}/{id}/resume")),
        (Method::POST, format!("{base}/{id}/cancel")),
    ];
    for (method, path) in &paths {
        let call = |token: Option<&str>| {
            let mut request = app
                .client
                .request(method.clone(), app.url(path))
                .header("Idempotency-Key", format!("k-{}", Uuid::now_v7()));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if *method == Method::POST || *method == Method::PUT {
                request = request.json(&body(audience, template));
            }
            request.send()
        };
        assert_eq!(call(None).await.unwrap().status(), 401, "{method} {path}");
        assert_eq!(
            call(Some(&advisor)).await.unwrap().status(),
            403,
            "{method} {path}"
        );
        assert_eq!(
            call(Some(&customer)).await.unwrap().status(),
            403,
            "{method} {path}"
        );
        assert_eq!(
            call(Some(&atelier)).await.unwrap().status(),
            404,
            "{method} {path}"
        );
    }
    // An admin reaches it; on another brand's path it does not exist.
    assert_eq!(get(&app, &admin, id).await["id"], id.to_string());
    let elsewhere = crate::helpers::get_as(
        &app,
        &admin,
        &format!("/api/v1/brands/atelier/crm/campaigns/{id}"),
    )
    .await;
    assert_eq!(elsewhere.status(), 404);
    let elsewhere = app
        .client
        .post(app.url(&format!("/api/v1/brands/atelier/crm/campaigns/{id}/cancel")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 404);
    let listed =
        crate::helpers::get_json_as(&app, &atelier, "/api/v1/brands/atelier/crm/campaigns").await;
    assert_eq!(listed["items"], json!([]));
    for raw in ["not-a-uuid", &Uuid::now_v7().to_string()] {
        let response = crate::helpers::get_as(&app, &token, &format!("{base}/{raw}")).await;
        assert_eq!(response.status(), 404, "{raw}");
    }
    assert_eq!(
        get(&app, &token, id).await["status"],
        "draft",
        "nothing changed it"
    );
}
