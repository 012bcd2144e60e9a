//! Every documented path answers a method it does not document with 405 and an `Allow` header naming the
//! documented ones, and never answers a documented method with 405.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;

use super::operations;
use crate::helpers::spawn_app;

const PROBED: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

#[tokio::test]
async fn undocumented_methods_answer_405_with_the_documented_ones_in_allow() {
    let app = spawn_app().await;
    let mut documented: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (template, method, _) in operations() {
        documented.entry(template).or_default().insert(method);
    }
    let mut findings = Vec::new();

    for (template, methods) in &documented {
        // Route matching does not look at the values, so any segment will do.
        let path: String = template
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "1"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in PROBED {
            let response = app
                .client
                .request(
                    Method::from_bytes(method.as_bytes()).expect("method"),
                    app.url(&path),
                )
                .send()
                .await
                .expect("request");
            let status = response.status().as_u16();
            if methods.contains(method) {
                if status == 405 {
                    findings.push(format!("{method} {template} is documented but answers 405"));
                }
                continue;
            }
            let allow: BTreeSet<String> = response
                .headers()
                .get("allow")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .split(',')
                .map(|method| method.trim().to_owned())
                .filter(|method| !method.is_empty())
                .collect();
            if status != 405 || &allow != methods {
                findings.push(format!(
                    "{method} {template}: {status} with Allow {allow:?}, expected 405 with {methods:?}"
                ));
            }
        }
    }

    assert!(findings.is_empty(), "{}", findings.join("\n"));
}
