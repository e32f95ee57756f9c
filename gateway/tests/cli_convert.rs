//! `keygate kmip convert`, run as the built binary: round trips over the OASIS test
//! vectors, a message checked byte for byte against the specification, and the
//! error behaviour (exit status 1, one stderr line naming the offset).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;

const KEYGATE: &str = env!("CARGO_BIN_EXE_keygate");

/// Runs `keygate kmip convert --from FROM --to TO [file]` with `stdin` as input.
fn convert(from: &str, to: &str, file: Option<&PathBuf>, stdin: &[u8]) -> Output {
    let mut cmd = Command::new(KEYGATE);
    cmd.args(["kmip", "convert", "--from", from, "--to", to]);
    if let Some(f) = file {
        cmd.arg(f);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn keygate");
    let mut pipe = child.stdin.take().expect("stdin pipe");
    let input = stdin.to_vec();
    // Write from another thread so a large output cannot deadlock the pipes.
    let writer = thread::spawn(move || {
        // The tool may exit before reading everything (bad input): ignore EPIPE.
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for keygate");
    writer.join().expect("stdin writer");
    out
}

/// Output of a conversion that must succeed.
fn ok(from: &str, to: &str, file: Option<&PathBuf>, stdin: &[u8]) -> Result<Vec<u8>, String> {
    let out = convert(from, to, file, stdin);
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "--from {from} --to {to} exited {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Asserts a failed run: exit status 1, exactly one stderr line, which contains `needle`.
fn assert_fails(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "one stderr line expected: {stderr:?}"
    );
    assert!(stderr.starts_with("error: "), "{stderr:?}");
    assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr:?}");
    assert!(out.stdout.is_empty(), "no output on failure");
}

fn vectors_dir() -> PathBuf {
    let dir = std::env::var_os("KEYGATE_OASIS_VECTORS").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/kmip/vectors"
            ))
        },
        PathBuf::from,
    );
    assert!(
        dir.is_dir(),
        "OASIS KMIP test vectors not found at {}: set KEYGATE_OASIS_VECTORS to the \
         vectors folder (shared/kmip/vectors)",
        dir.display()
    );
    dir
}

fn vector_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read vectors folder") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "xml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// xml -> ttlv -> xml -> json -> xml over every vector file: the two XML renderings
/// must be identical, the binary of the last must equal the first binary, and every
/// message of the file must survive (hex gives one line per message).
#[test]
fn oasis_vectors_round_trip_xml_ttlv_xml_json_xml() {
    let files = vector_files(&vectors_dir());
    assert!(!files.is_empty(), "no .xml vector files found");
    let mut failures = Vec::new();
    for file in &files {
        if let Err(e) = round_trip(file) {
            failures.push(format!("{}: {e}", file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vector files failed the round trip:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

fn round_trip(file: &PathBuf) -> Result<(), String> {
    let source = without_comments(&std::fs::read_to_string(file).map_err(|e| e.to_string())?);
    let expected_messages =
        source.matches("<RequestMessage").count() + source.matches("<ResponseMessage").count();

    let ttlv = ok("xml", "ttlv", Some(file), b"")?;
    let hex = ok("ttlv", "hex", None, &ttlv)?;
    let messages = String::from_utf8_lossy(&hex).lines().count();
    if messages != expected_messages {
        return Err(format!(
            "{messages} messages converted, {expected_messages} in the file"
        ));
    }
    let xml1 = ok("ttlv", "xml", None, &ttlv)?;
    let json = ok("xml", "json", None, &xml1)?;
    let xml2 = ok("json", "xml", None, &json)?;
    if xml1 != xml2 {
        return Err("XML after the JSON round trip differs".into());
    }
    let ttlv2 = ok("xml", "ttlv", None, &xml2)?;
    if ttlv2 != ttlv {
        return Err("binary after the round trip differs".into());
    }
    Ok(())
}

/// `text` without its `<!-- -->` comments (some vectors comment whole messages out).
fn without_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .find("-->")
            .map_or("", |end| &rest[start + end + 3..]);
    }
    out.push_str(rest);
    out
}

/// A Query request, written out by hand from KMIP 1.4 §9.1 (encoding) and the tag and
/// enumeration tables of §9.1.3: Request Message 420078, Request Header 420077,
/// Protocol Version 420069 (Major 42006A, Minor 42006B), Batch Count 42000D,
/// Batch Item 42000F, Operation 42005C (Query = 0x18), Request Payload 420079,
/// Query Function 420074 (Query Operations = 1).
const QUERY_XML: &str = r#"<RequestMessage>
  <RequestHeader>
    <ProtocolVersion>
      <ProtocolVersionMajor type="Integer" value="1"/>
      <ProtocolVersionMinor type="Integer" value="4"/>
    </ProtocolVersion>
    <BatchCount type="Integer" value="1"/>
  </RequestHeader>
  <BatchItem>
    <Operation type="Enumeration" value="Query"/>
    <RequestPayload>
      <QueryFunction type="Enumeration" value="QueryOperations"/>
    </RequestPayload>
  </BatchItem>
</RequestMessage>
"#;

const QUERY_HEX: &str = concat!(
    "42007801", "00000070", // Request Message, 112 bytes
    "42007701", "00000038", //   Request Header, 56
    "42006901", "00000020", //     Protocol Version, 32
    "42006a02", "00000004", "00000001", "00000000", //       Major 1
    "42006b02", "00000004", "00000004", "00000000", //       Minor 4
    "42000d02", "00000004", "00000001", "00000000", //     Batch Count 1
    "42000f01", "00000028", //   Batch Item, 40
    "42005c05", "00000004", "00000018", "00000000", //     Operation Query
    "42007901", "00000010", //     Request Payload, 16
    "42007405", "00000004", "00000001", "00000000", //       Query Operations
);

#[test]
fn hex_of_a_known_message_matches_the_spec() {
    let hex = ok("xml", "hex", None, QUERY_XML.as_bytes()).expect("xml -> hex");
    assert_eq!(
        String::from_utf8(hex).expect("utf-8"),
        format!("{QUERY_HEX}\n")
    );

    // And back: hex (spaced, across lines) -> binary -> XML -> hex again.
    let spaced: String = QUERY_HEX
        .as_bytes()
        .chunks(16)
        .map(|c| format!("{}\n", String::from_utf8_lossy(c)))
        .collect();
    let ttlv = ok("hex", "ttlv", None, spaced.as_bytes()).expect("hex -> ttlv");
    assert_eq!(ttlv.len(), 120);
    let xml = ok("ttlv", "xml", None, &ttlv).expect("ttlv -> xml");
    let hex = ok("xml", "hex", None, &xml).expect("xml -> hex");
    assert_eq!(String::from_utf8(hex).expect("utf-8").trim(), QUERY_HEX);
}

#[test]
fn concatenated_binary_messages_are_split() {
    let one = ok("hex", "ttlv", None, QUERY_HEX.as_bytes()).expect("hex -> ttlv");
    let three = [one.as_slice(), &one, &one].concat();
    let hex = ok("ttlv", "hex", None, &three).expect("ttlv -> hex");
    let hex = String::from_utf8(hex).expect("utf-8");
    assert_eq!(hex.lines().collect::<Vec<_>>(), vec![QUERY_HEX; 3]);
    // Several messages in XML come out wrapped, and read back the same.
    let xml = ok("ttlv", "xml", None, &three).expect("ttlv -> xml");
    assert!(String::from_utf8_lossy(&xml).starts_with("<KMIP>"));
    assert_eq!(ok("xml", "ttlv", None, &xml).expect("xml -> ttlv"), three);
    let json = ok("ttlv", "json", None, &three).expect("ttlv -> json");
    assert_eq!(
        ok("json", "ttlv", None, &json).expect("json -> ttlv"),
        three
    );
}

#[test]
fn bad_input_exits_1_with_one_line_naming_the_offset() {
    // Item type 0x0c does not exist (KMIP 1.4 §9.1.1.2): offset 3 of the header.
    let bad = "4200200c000000040000000000000000";
    assert_fails(
        &convert("hex", "xml", None, bad.as_bytes()),
        "at offset 3: unknown item type 0x0c",
    );
    // The same inside the second message of a binary stream: the offset is absolute.
    let mut bytes = ok("hex", "ttlv", None, QUERY_HEX.as_bytes()).expect("hex -> ttlv");
    let second = bytes.len();
    bytes.extend_from_slice(&bytes.clone());
    bytes[second + 8 + 3] = 0x0c;
    assert_fails(
        &convert("ttlv", "hex", None, &bytes),
        &format!("at offset {}: unknown item type 0x0c", second + 11),
    );
    // Truncated message, bad hex digit, malformed XML and JSON.
    assert_fails(&convert("ttlv", "xml", None, &bytes[..50]), "offset");
    assert_fails(&convert("hex", "ttlv", None, b"42 00 7g"), "offset");
    assert_fails(
        &convert(
            "xml",
            "ttlv",
            None,
            b"<RequestMessage><Oops></RequestMessage>",
        ),
        "offset",
    );
    assert_fails(&convert("json", "ttlv", None, b"{\"tag\": "), "offset");
}

#[test]
fn empty_input_is_a_clear_error() {
    for from in ["ttlv", "hex", "xml", "json"] {
        assert_fails(&convert(from, "hex", None, b""), "empty input");
    }
    assert_fails(&convert("hex", "ttlv", None, b"  \n\t "), "empty input");
}

#[test]
fn missing_file_is_a_clear_error() {
    let path = PathBuf::from("/nonexistent/keygate-input.ttlv");
    assert_fails(
        &convert("ttlv", "hex", Some(&path), b""),
        "cannot read /nonexistent/keygate-input.ttlv",
    );
}
