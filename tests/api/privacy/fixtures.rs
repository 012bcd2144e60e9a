//! Requests, polling and archive reading shared by the privacy tests.

use std::collections::BTreeMap;
use std::io::Read;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, eventually, send};

pub fn export_path(brand: &str, profile: &str) -> String {
    format!("/api/v1/brands/{brand}/crm/profiles/{profile}/privacy/export")
}

pub fn request_path(brand: &str, id: &str) -> String {
    format!("/api/v1/brands/{brand}/crm/privacy/requests/{id}")
}

pub fn my_request_path(id: &str) -> String {
    format!("/api/v1/me/privacy/requests/{id}")
}

/// Asks for the export as `token`; asserts 202 and returns the request.
pub async fn ask_export(app: &TestApp, token: &str, brand: &str, profile: &str) -> Value {
    let response = send(
        app,
        Method::POST,
        Some(token),
        &export_path(brand, profile),
        None,
    )
    .await;
    assert_eq!(response.status(), 202, "export of {profile}");
    response.json().await.unwrap()
}

/// Polls the request at `path` until it is completed (or failed: then the test fails).
pub async fn completed(app: &TestApp, token: &str, path: &str) -> Value {
    eventually(30, "the export to complete", || async {
        let response = send(app, Method::GET, Some(token), path, None).await;
        assert_eq!(response.status(), 200, "GET {path}");
        let body: Value = response.json().await.unwrap();
        assert_ne!(body["status"], "failed", "the export failed: {body}");
        (body["status"] == "completed").then_some(body)
    })
    .await
}

/// The path of a request's download link (its host is the configured public URL).
pub fn download_path(request: &Value) -> String {
    let url = request["download"]["url"]
        .as_str()
        .expect("a download link");
    let at = url
        .find("/api/v1/privacy/downloads/")
        .expect("download path");
    url[at..].to_owned()
}

/// Downloads the archive anonymously (the link is the capability) and reads every JSON file in it.
pub async fn download(app: &TestApp, request: &Value) -> BTreeMap<String, Value> {
    let response = app.get(&download_path(request)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/zip"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let bytes = response.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut files = BTreeMap::new();
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        let name = file.name().unwrap().to_string();
        files.insert(name, serde_json::from_str(&text).unwrap());
    }
    files
}

/// The records of `path` in the archive.
pub fn records<'a>(files: &'a BTreeMap<String, Value>, path: &str) -> &'a Vec<Value> {
    files
        .get(path)
        .unwrap_or_else(|| panic!("{path} in the archive: {:?}", files.keys()))
        .as_array()
        .unwrap()
}

/// The manifest's record count of `path`.
pub fn manifest_count(files: &BTreeMap<String, Value>, path: &str) -> u64 {
    files["manifest.json"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|part| part["files"].as_array().unwrap().iter())
        .find(|file| file["path"] == path)
        .unwrap_or_else(|| panic!("{path} in the manifest"))["records"]
        .as_u64()
        .unwrap()
}

/// The `maison` request `id` as `token` reads it (asserting 200).
pub async fn maison_request(app: &TestApp, token: &str, id: &str) -> Value {
    let response = send(
        app,
        Method::GET,
        Some(token),
        &request_path("maison", id),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

pub fn step<'a>(request: &'a Value, part: &str) -> &'a Value {
    request["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|step| step["part"] == part)
        .unwrap_or_else(|| panic!("step {part} in {request}"))
}

pub fn password(password: &str) -> Option<Value> {
    Some(json!({ "password": password }))
}
