//! Round trips of every message in the OASIS KMIP test vectors through the three
//! encodings: XML → TTLV → XML, TTLV → JSON → TTLV and TTLV → binary → TTLV must all
//! give back the same tree.
//!
//! The vectors are read from `$KEYGATE_OASIS_VECTORS`, by default the shared copy
//! next to the workspace.

use kmip::ttlv::xml::{self, PlaceholderPolicy, Placeholders, XmlOptions};
use kmip::ttlv::{binary, json, Ttlv};
use kmip::Limits;
use std::path::{Path, PathBuf};

const VECTORS_VAR: &str = "KEYGATE_OASIS_VECTORS";
const DEFAULT_VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/kmip/vectors");

fn vectors_dir() -> PathBuf {
    let dir = std::env::var_os(VECTORS_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_VECTORS));
    assert!(
        dir.is_dir(),
        "OASIS test vectors not found at {}; set {VECTORS_VAR} to the folder holding them",
        dir.display()
    );
    dir
}

/// Every `*.xml` under `dir`, sorted, so failures are reported in a stable order.
fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|x| x == "xml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn check_message(m: &Ttlv, opts: &XmlOptions, limits: &Limits) -> Result<(), String> {
    let text = xml::to_xml(m);
    match xml::from_xml(&text, opts) {
        Ok(back) if &back == m => {}
        Ok(_) => return Err(format!("XML round trip differs:\n{text}")),
        Err(e) => return Err(format!("XML round trip: {e}\n{text}")),
    }
    let text = json::to_json(m);
    match json::from_json(&text, opts) {
        Ok(back) if &back == m => {}
        Ok(_) => return Err(format!("JSON round trip differs:\n{text}")),
        Err(e) => return Err(format!("JSON round trip: {e}\n{text}")),
    }
    match binary::decode(&binary::encode(m), limits) {
        Ok(back) if &back == m => Ok(()),
        Ok(_) => Err("binary round trip differs".into()),
        Err(e) => Err(format!("binary round trip: {e}")),
    }
}

#[test]
fn every_vector_message_round_trips_through_all_encodings() {
    let dir = vectors_dir();
    let files = xml_files(&dir);
    assert!(!files.is_empty(), "no *.xml under {}", dir.display());
    let opts = XmlOptions {
        placeholders: Placeholders {
            policy: PlaceholderPolicy::Literal,
            ..Placeholders::default()
        },
        ..XmlOptions::default()
    };
    let limits = Limits::DEFAULT;
    let mut messages = 0;
    let mut failures = Vec::new();
    for file in &files {
        let name = file
            .strip_prefix(&dir)
            .unwrap_or(file)
            .display()
            .to_string();
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{name}: {e}"));
        let conversation = match xml::parse_conversation(&text, &opts) {
            Ok(c) => c,
            Err(e) => {
                let at = e.offset.map(|o| line_of(&text, o)).unwrap_or_default();
                failures.push(format!("{name}{at}: {e}"));
                continue;
            }
        };
        if conversation.is_empty() {
            failures.push(format!("{name}: no messages"));
        }
        for (i, m) in conversation.iter().enumerate() {
            messages += 1;
            if let Err(e) = check_message(m, &opts, &limits) {
                failures.push(format!("{name} message {i}: {e}"));
            }
        }
    }
    println!(
        "checked {messages} messages in {} files under {}",
        files.len(),
        dir.display()
    );
    assert!(
        failures.is_empty(),
        "{} failures, first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
}

/// ` line N` for a byte offset, to point into the vector file.
fn line_of(text: &str, offset: usize) -> String {
    let upto = text.get(..offset).unwrap_or(text);
    format!(" line {}", upto.matches('\n').count() + 1)
}
