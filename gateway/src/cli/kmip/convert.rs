//! `keygate kmip convert`: re-encode KMIP messages between binary TTLV (KMIP 1.4
//! §9.1), hex, the KMIP XML encoding and the KMIP JSON encoding (KMIP Profiles §5.4,
//! §5.5).
//!
//! Every input may hold several messages: binary and hex as concatenated frames
//! (split by the length in each 8-byte header), XML as an OASIS test-vector file
//! (`<KMIP>` wrapping several messages), JSON as an array of messages. Output
//! follows the same conventions, so any conversion can be fed back in.

use crate::cli::CliError;
use clap::{Args, ValueEnum};
use kmip::ttlv::{binary, json, xml};
use kmip::{DecodeError, DecodeErrorKind, Limits, Ttlv};
use std::io::{self, Read, Write};
use std::path::PathBuf;

/// Arguments of `keygate kmip convert`.
#[derive(Debug, Args)]
#[command(
    after_help = "Offsets in error messages are byte offsets into the binary \
    message stream (for hex input, into the decoded bytes; a bad hex digit is reported \
    at its position in the text)."
)]
pub struct ConvertArgs {
    /// Input encoding.
    #[arg(long, value_enum)]
    from: Format,
    /// Output encoding.
    #[arg(long, value_enum)]
    to: Format,
    /// Input file; standard input when absent. Output goes to standard output.
    file: Option<PathBuf>,
}

/// A message encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Binary TTLV bytes; several messages are concatenated.
    Ttlv,
    /// Binary TTLV as hex text; whitespace is ignored on input, one message per line
    /// on output.
    Hex,
    /// KMIP XML; several messages are wrapped in `<KMIP>`.
    Xml,
    /// KMIP JSON; several messages form an array.
    Json,
}

/// Runs the conversion from the file or stdin to stdout.
pub fn run(args: &ConvertArgs) -> Result<(), CliError> {
    let input = match &args.file {
        Some(path) => std::fs::read(path).map_err(|source| CliError::Read {
            what: path.display().to_string(),
            source,
        })?,
        None => {
            let mut buf = Vec::new();
            io::stdin()
                .lock()
                .read_to_end(&mut buf)
                .map_err(|source| CliError::Read {
                    what: "stdin".into(),
                    source,
                })?;
            buf
        }
    };
    let output = convert(&input, args.from, args.to)?;
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(&output)
        .and_then(|()| stdout.flush())
        .map_err(CliError::Write)
}

/// Decodes every message of `input` in `from`, then encodes them all in `to`.
fn convert(input: &[u8], from: Format, to: Format) -> Result<Vec<u8>, CliError> {
    let messages = decode(input, from)?;
    if messages.is_empty() {
        return Err(CliError::EmptyInput);
    }
    Ok(encode(&messages, to))
}

fn decode(input: &[u8], from: Format) -> Result<Vec<Ttlv>, CliError> {
    let limits = Limits::DEFAULT;
    let messages = match from {
        Format::Ttlv => split_frames(input, &limits)?,
        Format::Hex => split_frames(&parse_hex(text(input)?)?, &limits)?,
        Format::Xml => {
            let text = text(input)?;
            if text.trim().is_empty() {
                return Err(CliError::EmptyInput);
            }
            xml::parse_conversation(text, &text_options())?
        }
        Format::Json => {
            let text = text(input)?;
            if text.trim().is_empty() {
                return Err(CliError::EmptyInput);
            }
            json_messages(text, &text_options())?
        }
    };
    Ok(messages)
}

/// Options for the text encodings. Test-vector placeholders are accepted, since
/// converting the OASIS vectors is a main use: `$NOW` becomes a fixed reference time
/// and a ByteString placeholder its own UTF-8 bytes (TextString ones stay as text).
fn text_options() -> xml::XmlOptions {
    let mut opts = xml::XmlOptions::default();
    opts.placeholders.policy = xml::PlaceholderPolicy::Literal;
    opts
}

/// One JSON message, or an array of messages. Error offsets are made absolute in
/// `text`.
fn json_messages(text: &str, opts: &json::JsonOptions) -> Result<Vec<Ttlv>, DecodeError> {
    if !text.trim_start().starts_with('[') {
        return Ok(vec![json::from_json(text, opts)?]);
    }
    let elements: Vec<&serde_json::value::RawValue> = serde_json::from_str(text).map_err(|e| {
        DecodeError::at(
            DecodeErrorKind::Syntax(e.to_string()),
            line_column_offset(text, e.line(), e.column()),
        )
    })?;
    elements
        .into_iter()
        .map(|raw| {
            // `raw` borrows from `text`: its distance from the start is its offset.
            let at = raw.get().as_ptr() as usize - text.as_ptr() as usize;
            json::from_json(raw.get(), opts).map_err(|e| shift(e, at))
        })
        .collect()
}

/// Byte offset of a 1-based line and column (as serde_json reports them).
fn line_column_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (line_start + column.saturating_sub(1)).min(text.len())
}

fn encode(messages: &[Ttlv], to: Format) -> Vec<u8> {
    match to {
        Format::Ttlv => {
            let mut out = Vec::new();
            for m in messages {
                binary::encode_into(m, &mut out);
            }
            out
        }
        Format::Hex => {
            let mut out = String::new();
            for m in messages {
                out.push_str(&hex::encode(binary::encode(m)));
                out.push('\n');
            }
            out.into_bytes()
        }
        Format::Xml => {
            let docs: Vec<String> = messages.iter().map(xml::to_xml).collect();
            wrap(docs, "<KMIP>\n", "\n", "</KMIP>\n")
        }
        Format::Json => {
            let docs: Vec<String> = messages.iter().map(json::to_json).collect();
            wrap(docs, "[\n", ",\n", "\n]\n")
        }
    }
}

/// One document alone, or several inside `open` .. `close` separated by `sep`; always
/// ending with a newline.
fn wrap(docs: Vec<String>, open: &str, sep: &str, close: &str) -> Vec<u8> {
    let mut out = String::new();
    if let [one] = docs.as_slice() {
        out.push_str(one.trim_end());
        out.push('\n');
        return out.into_bytes();
    }
    out.push_str(open);
    let n = docs.len();
    for (i, d) in docs.iter().enumerate() {
        out.push_str(d.trim_end());
        out.push_str(if i + 1 < n { sep } else { "\n" });
    }
    out.push_str(close);
    out.into_bytes()
}

/// Splits concatenated binary messages by the length in each header and decodes each.
/// Error offsets are made absolute in `bytes`.
fn split_frames(bytes: &[u8], limits: &Limits) -> Result<Vec<Ttlv>, DecodeError> {
    let mut messages = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        let Some(header) = rest.first_chunk::<{ binary::HEADER_LEN }>() else {
            return Err(DecodeError::at(
                DecodeErrorKind::Truncated {
                    needed: binary::HEADER_LEN - rest.len(),
                },
                pos,
            ));
        };
        let total = binary::frame_len(header, limits).map_err(|e| shift(e, pos))?;
        let end = pos + total.min(rest.len());
        messages.push(binary::decode(&bytes[pos..end], limits).map_err(|e| shift(e, pos))?);
        pos = end;
    }
    Ok(messages)
}

fn shift(mut e: DecodeError, by: usize) -> DecodeError {
    e.offset = e.offset.map(|o| o + by);
    e
}

fn text(input: &[u8]) -> Result<&str, DecodeError> {
    std::str::from_utf8(input).map_err(|e| {
        DecodeError::at(
            DecodeErrorKind::Syntax("input is not valid UTF-8".into()),
            e.valid_up_to(),
        )
    })
}

/// Hex digits with any whitespace between them. A bad character is reported at its
/// offset in the text.
fn parse_hex(text: &str) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut high: Option<u8> = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            continue;
        }
        let Some(d) = c.to_digit(16) else {
            return Err(DecodeError::at(
                DecodeErrorKind::Syntax(format!("invalid hex character {c:?}")),
                i,
            ));
        };
        // A hex digit is below 16, so it fits a byte.
        let d = u8::try_from(d).unwrap_or_default();
        match high.take() {
            None => high = Some(d),
            Some(h) => out.push(h << 4 | d),
        }
    }
    if high.is_some() {
        return Err(DecodeError::at(
            DecodeErrorKind::Syntax("odd number of hex digits".into()),
            text.trim_end().len().saturating_sub(1),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmip::{Tag, Value};

    fn msg(n: i32) -> Ttlv {
        Ttlv::structure(
            Tag(0x420078),
            vec![Ttlv::new(Tag(0x42000D), Value::Integer(n))],
        )
    }

    #[test]
    fn hex_ignores_whitespace_and_reports_bad_digits() {
        assert_eq!(parse_hex(" 42 00\n7 8\t").unwrap(), vec![0x42, 0x00, 0x78]);
        let e = parse_hex("4200zz").unwrap_err();
        assert_eq!(e.offset, Some(4));
        assert!(e.to_string().contains("invalid hex character 'z'"), "{e}");
        assert!(parse_hex("420").unwrap_err().to_string().contains("odd"));
    }

    #[test]
    fn concatenated_frames_split_and_offsets_are_absolute() {
        let mut bytes = binary::encode(&msg(1));
        let first = bytes.len();
        binary::encode_into(&msg(2), &mut bytes);
        assert_eq!(
            split_frames(&bytes, &Limits::DEFAULT).unwrap(),
            vec![msg(1), msg(2)]
        );
        // Corrupt the second message's child item type.
        bytes[first + 8 + 3] = 0x0c;
        let e = split_frames(&bytes, &Limits::DEFAULT).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::UnknownItemType(0x0c));
        assert_eq!(e.offset, Some(first + 8 + 3));
        // A short tail is a truncation at the tail's start.
        let e = split_frames(&bytes[..first + 5], &Limits::DEFAULT).unwrap_err();
        assert_eq!(e.offset, Some(first));
        assert!(matches!(e.kind, DecodeErrorKind::Truncated { needed: 3 }));
    }

    #[test]
    fn hex_output_is_one_line_per_message_and_reads_back() {
        let out = convert(
            &[binary::encode(&msg(1)), binary::encode(&msg(2))].concat(),
            Format::Ttlv,
            Format::Hex,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 2);
        let back = convert(text.as_bytes(), Format::Hex, Format::Ttlv).unwrap();
        assert_eq!(
            back,
            [binary::encode(&msg(1)), binary::encode(&msg(2))].concat()
        );
    }

    #[test]
    fn empty_input_is_an_error() {
        for f in [Format::Ttlv, Format::Hex, Format::Xml, Format::Json] {
            assert!(
                matches!(convert(b"", f, Format::Hex), Err(CliError::EmptyInput)),
                "{f:?}"
            );
        }
        assert!(matches!(
            convert(b" \n ", Format::Hex, Format::Ttlv),
            Err(CliError::EmptyInput)
        ));
    }
}
