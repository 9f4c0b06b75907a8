//! `/api/v1/groups`: CRUD, membership, and the `groups` claim that uses them.

use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_and_their_members() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let user = t.user("alice@example.com").await;
    let (status, group) = api
        .post(
            "/api/v1/groups",
            json!({ "profile": { "name": "Engineering", "description": "Builders" } }),
        )
        .await;
    assert_eq!((status, group["type"].as_str()), (200, Some("OKTA_GROUP")));
    let id = group["id"].as_str().unwrap();
    assert!(id.starts_with("00g"));
    let (status, error) = api
        .post(
            "/api/v1/groups",
            json!({ "profile": { "name": "engineering" } }),
        )
        .await;
    assert_eq!(
        (
            status,
            okta_error(&error).1[0].starts_with("profile.name: ")
        ),
        (400, true),
        "names are unique without regard to case"
    );
    let (status, error) = api.post("/api/v1/groups", json!({ "profile": {} })).await;
    assert_eq!(
        (
            status,
            okta_error(&error).1[0].starts_with("profile.name: ")
        ),
        (400, true)
    );

    assert_eq!(
        api.put(&format!("/api/v1/groups/{id}/users/{}", user.id), json!({}))
            .await
            .0,
        204
    );
    let (_, members) = api.get(&format!("/api/v1/groups/{id}/users")).await;
    assert_eq!(members[0]["id"], user.id.as_str());
    // The `groups` claim of `default` lists it.
    let app = t.web_app().await;
    let tokens = t
        .tokens("default", &app, "alice@example.com", "openid groups")
        .await;
    let claims = crate::code_flow::jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["groups"], json!(["Engineering", "Everyone"]));

    let (status, renamed) = api
        .put(
            &format!("/api/v1/groups/{id}"),
            json!({ "profile": { "name": "Eng", "description": "" } }),
        )
        .await;
    assert_eq!(
        (status, renamed["profile"]["name"].as_str()),
        (200, Some("Eng"))
    );
    assert_eq!(
        api.get(&format!("/api/v1/groups/{id}")).await.1["profile"]["name"],
        "Eng"
    );
    for name in ["Ops", "Sales", "Support"] {
        api.post("/api/v1/groups", json!({ "profile": { "name": name } }))
            .await;
    }
    let (all, pages) = api.all_pages("/api/v1/groups?limit=3").await;
    assert_eq!((all.len(), pages), (5, 2), "and Everyone");
    assert_eq!(
        api.get("/api/v1/groups?q=s")
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        2
    );

    assert_eq!(
        api.delete(&format!("/api/v1/groups/{id}/users/{}", user.id))
            .await,
        204
    );
    assert_eq!(
        api.delete(&format!("/api/v1/groups/{id}/users/{}", user.id))
            .await,
        404
    );
    assert_eq!(api.delete(&format!("/api/v1/groups/{id}")).await, 204);
    assert_eq!(api.get(&format!("/api/v1/groups/{id}")).await.0, 404);
    assert_eq!(
        api.get(&format!("/api/v1/users/{}", user.id)).await.0,
        200,
        "members stay"
    );
}
