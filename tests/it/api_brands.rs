//! `/api/v1/brands`: Okta's Brands and Themes API for the org's one brand, and the
//! stylesheet and images the hosted pages load from Gatehouse itself.

use serde_json::json;

use crate::support::*;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR-a-logo";

fn multipart(part_name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "gatehouse-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{part_name}\"; filename=\"logo.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(api: &Api, path: &str, part_name: &str, bytes: &[u8]) -> (u16, serde_json::Value) {
    let (content_type, body) = multipart(part_name, bytes);
    let response = api
        .http
        .post(format!("{}{path}", api.base))
        .header("Authorization", format!("SSWS {}", api.token))
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_brand_and_its_theme_in_oktas_shape() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let (status, list) = api.get("/api/v1/brands").await;
    assert_eq!(status, 200);
    let brand = &list[0];
    assert_eq!(
        (brand["name"].as_str(), brand["isDefault"].as_bool()),
        (Some("Gatehouse"), Some(true))
    );
    let id = brand["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("bnd"));

    let (status, renamed) = api
        .put(
            &format!("/api/v1/brands/{id}"),
            json!({ "name": " Acme Corp " }),
        )
        .await;
    assert_eq!((status, renamed["name"].as_str()), (200, Some("Acme Corp")));
    let (status, error) = api
        .put(&format!("/api/v1/brands/{id}"), json!({ "name": "  " }))
        .await;
    assert_eq!(status, 400);
    assert_eq!(okta_error(&error).0, "E0000001");
    assert!(okta_error(&error).1[0].starts_with("name: "));
    let (status, error) = api.get("/api/v1/brands/bndOther").await;
    assert_eq!((status, okta_error(&error).0.as_str()), (404, "E0000007"));

    let (status, themes) = api.get(&format!("/api/v1/brands/{id}/themes")).await;
    assert_eq!(status, 200);
    let theme_id = themes[0]["id"].as_str().unwrap().to_string();
    assert_eq!(themes[0]["primaryColorHex"], "#1662dd");
    let theme_path = format!("/api/v1/brands/{id}/themes/{theme_id}");
    let (status, theme) = api
        .put(
            &theme_path,
            json!({ "primaryColorHex": "#FFD400", "secondaryColorHex": "#ebebed" }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            theme["primaryColorHex"].as_str(),
            theme["primaryColorContrastHex"].as_str()
        ),
        (Some("#ffd400"), Some("#000000")),
        "a light primary colour takes dark text"
    );
    for bad in ["ffd400", "#ffd40", "red", "#ffd400;}body{"] {
        let (status, error) = api
            .put(
                &theme_path,
                json!({ "primaryColorHex": bad, "secondaryColorHex": "#ebebed" }),
            )
            .await;
        assert_eq!(status, 400, "{bad}");
        assert!(
            okta_error(&error).1[0].starts_with("primaryColorHex: "),
            "{bad}"
        );
    }
    let (status, error) = api
        .put(&theme_path, json!({ "primaryColorHex": "#000000" }))
        .await;
    assert_eq!(
        (status, okta_error(&error).0.as_str()),
        (400, "E0000003"),
        "both colours are required"
    );

    // The pages' stylesheet carries the colours.
    let css = reqwest::get(format!("{}/brand/theme.css", t.base))
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let css = css.text().await.unwrap();
    assert!(
        css.contains("--brand: #ffd400;") && css.contains("--on-brand: #000000;"),
        "{css}"
    );

    // Without a token: 401.
    let anonymous = reqwest::get(format!("{}/api/v1/brands", t.base))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logo_is_uploaded_served_and_removed() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    let (_, list) = api.get("/api/v1/brands").await;
    let id = list[0]["id"].as_str().unwrap().to_string();
    let (_, themes) = api.get(&format!("/api/v1/brands/{id}/themes")).await;
    let theme_id = themes[0]["id"].as_str().unwrap().to_string();
    let logo_path = format!("/api/v1/brands/{id}/themes/{theme_id}/logo");

    let (status, created) = upload(&api, &logo_path, "file", PNG).await;
    assert_eq!(
        status, 200,
        "Okta answers a logo upload with 200: {created}"
    );
    let url = created["url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with(&format!("{}/brand/logo?v=", t.base)),
        "{url}"
    );
    let served = reqwest::get(&url).await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.headers()["x-content-type-options"], "nosniff");
    assert!(
        served.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(served.bytes().await.unwrap().as_ref(), PNG);
    let (_, theme) = api
        .get(&format!("/api/v1/brands/{id}/themes/{theme_id}"))
        .await;
    assert_eq!(theme["logo"].as_str(), Some(url.as_str()));

    // An image near the 100 kB cap gets through the body limit (larger than the JSON one).
    let mut large = PNG.to_vec();
    large.resize(99 * 1024, 0);
    let (status, created) = upload(&api, &logo_path, "file", &large).await;
    assert_eq!(status, 200, "{created}");
    let url = created["url"].as_str().unwrap().to_string();
    assert_eq!(
        reqwest::get(&url)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .len(),
        99 * 1024
    );

    // What is not a PNG, JPEG or GIF is refused by its bytes, whatever it is called.
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>";
    let (status, error) = upload(&api, &logo_path, "file", svg).await;
    assert_eq!(status, 400);
    assert!(okta_error(&error).1[0].starts_with("logo: "), "{error}");
    let (status, error) = upload(&api, &logo_path, "file", &vec![0x89; 101 * 1024]).await;
    assert_eq!(status, 400, "{error}");
    let (status, error) = upload(&api, &logo_path, "image", PNG).await;
    assert_eq!(status, 400);
    assert!(okta_error(&error).1[0].starts_with("file: "), "{error}");

    assert_eq!(api.delete(&logo_path).await, 204);
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 404);
    let (_, theme) = api
        .get(&format!("/api/v1/brands/{id}/themes/{theme_id}"))
        .await;
    assert_eq!(theme["logo"], serde_json::Value::Null);

    // Every change is in the System Log.
    let (_, events) = api
        .get("/api/v1/logs?filter=eventType+eq+%22brand.update%22")
        .await;
    assert_eq!(events.as_array().unwrap().len(), 3, "{events}");
}
