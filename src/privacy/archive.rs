//! The export's archive: a zip with `manifest.json` (what the archive holds), `retention.json` (what is kept
//! by law whatever the person asks) and one JSON file per part's file, `<part>/<name>.json`.
//!
//! Zip because people open it without tools, and `zip` was already in the build (utoipa-swagger-ui builds with
//! it), with deflate.

use std::io::{Cursor, Write};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;
use zip::write::SimpleFileOptions;

use super::parts::ExportFile;

pub const CONTENT_TYPE: &str = "application/zip";

pub struct Contents<'a> {
    pub request_id: Uuid,
    pub brand: &'a str,
    pub profile_id: Option<Uuid>,
    pub generated_at: DateTime<Utc>,
    /// Each part's name and files, in order.
    pub parts: &'a [(String, Vec<ExportFile>)],
}

#[derive(Serialize)]
struct Retained<'a> {
    file: String,
    records: usize,
    reason: &'a str,
}

/// The manifest's `parts`: every part with its files' paths and record counts.
pub fn manifest(contents: &Contents<'_>) -> Value {
    let parts: Vec<Value> = contents
        .parts
        .iter()
        .map(|(part, files)| {
            let files: Vec<Value> = files
                .iter()
                .map(|file| {
                    json!({
                        "path": path(part, file),
                        "records": file.records.len(),
                        "retained_by_law": file.retention.is_some(),
                    })
                })
                .collect();
            json!({ "name": part, "files": files })
        })
        .collect();
    json!({
        "request_id": contents.request_id,
        "brand": contents.brand,
        "profile_id": contents.profile_id,
        "generated_at": contents.generated_at,
        "parts": parts,
    })
}

fn path(part: &str, file: &ExportFile) -> String {
    format!("{part}/{}.json", file.name)
}

pub fn build(contents: &Contents<'_>) -> anyhow::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut write = |name: &str, value: &Value| -> anyhow::Result<()> {
        zip.start_file(name, options)?;
        zip.write_all(&serde_json::to_vec_pretty(value)?)?;
        Ok(())
    };
    write("manifest.json", &manifest(contents))?;
    let retained: Vec<Retained<'_>> = contents
        .parts
        .iter()
        .flat_map(|(part, files)| {
            files.iter().filter_map(move |file| {
                file.retention.as_deref().map(|reason| Retained {
                    file: path(part, file),
                    records: file.records.len(),
                    reason,
                })
            })
        })
        .collect();
    write(
        "retention.json",
        &json!({
            "about": "Records kept whatever is asked, because the law requires it; an erasure removes their personal fields where the law allows.",
            "retained": retained,
        }),
    )?;
    for (part, files) in contents.parts {
        for file in files {
            write(&path(part, file), &Value::Array(file.records.clone()))?;
        }
    }
    Ok(zip.finish()?.into_inner())
}
