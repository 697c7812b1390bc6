//! The report as a short text for people: the file's verdict on the first line, then the
//! document, and one block per signature with its level and indication first. No colours.
//! Text taken from the input (names, messages) has its control and bidirectional-override
//! characters escaped, so that a hostile certificate cannot forge or hide report lines.

use std::fmt::Write as _;

use super::{kind_name, passed, signature_level, signer, utc};
use crate::{Indication, SignatureReport, SubIndication, ValidationReport};

pub(super) fn write(report: &ValidationReport) -> String {
    let mut out = String::new();
    let total = report.signatures.len();
    if total == 0 {
        line(
            &mut out,
            &format!("{}: no signature found", report.indication()),
        );
    } else {
        let noun = if total == 1 {
            "signature"
        } else {
            "signatures"
        };
        line(
            &mut out,
            &format!(
                "{}: {} of {total} {noun} valid",
                report.indication(),
                passed(report)
            ),
        );
    }
    match &report.document_name {
        Some(name) => line(
            &mut out,
            &format!(
                "Document: {}  SHA-256 {}",
                clean(name),
                clean(&report.document_sha256)
            ),
        ),
        None => line(
            &mut out,
            &format!("Document: SHA-256 {}", clean(&report.document_sha256)),
        ),
    }
    line(
        &mut out,
        &format!("Validation time: {}", utc(report.validation_time)),
    );
    line(&mut out, &format!("Policy: {}", clean(&report.policy)));
    for list in &report.trusted_lists {
        line(
            &mut out,
            &format!(
                "Trusted list: {} #{} issued {} from {}",
                clean(&list.territory),
                list.sequence_number,
                utc(list.issued),
                clean(&list.source)
            ),
        );
    }
    for sig in &report.signatures {
        out.push('\n');
        signature(&mut out, sig);
    }
    out
}

fn signature(out: &mut String, sig: &SignatureReport) {
    line(
        out,
        &format!(
            "Signature {}  {}  {}",
            clean(&sig.evidence.id),
            signature_level(sig),
            verdict(sig.indication, sig.sub_indication)
        ),
    );
    if let Some(subject) = signer(sig) {
        line(out, &format!("  Signer: {}", clean(subject)));
    }
    if let Some(time) = sig.evidence.claimed_signing_time {
        line(out, &format!("  Claimed signing time: {}", utc(time)));
    }
    line(
        out,
        &format!("  Best signature time: {}", utc(sig.best_signature_time)),
    );
    for ts in &sig.timestamps {
        let mut text = format!("  Time-stamp ({})", kind_name(ts.kind));
        if let Some(time) = ts.time {
            let _ = write!(text, " {}", utc(time));
        }
        let _ = write!(text, "  {}", verdict(ts.indication, ts.sub_indication));
        if let Some(tsa) = &ts.tsa {
            let _ = write!(text, "  TSA: {}", clean(tsa));
        }
        line(out, &text);
        for error in &ts.errors {
            line(out, &format!("    Error: {}", clean(error)));
        }
    }
    for cert in &sig.chain {
        if let Some(at) = cert.revoked_at {
            line(
                out,
                &format!(
                    "  Revoked: {} at {} ({})",
                    clean(&cert.subject),
                    utc(at),
                    clean(&cert.revocation_source)
                ),
            );
        }
    }
    for (prefix, list) in [
        ("Error", &sig.errors),
        ("Warning", &sig.warnings),
        ("Info", &sig.infos),
    ] {
        for message in list {
            line(out, &format!("  {prefix}: {}", clean(message)));
        }
    }
}

/// `TOTAL-PASSED`, or `TOTAL-FAILED (HASH_FAILURE)` with the sub-indication.
fn verdict(indication: Indication, sub: Option<SubIndication>) -> String {
    match sub {
        Some(sub) => format!("{indication} ({sub})"),
        None => indication.to_string(),
    }
}

fn line(out: &mut String, text: &str) {
    out.push_str(text);
    out.push('\n');
}

/// Control characters and bidirectional overrides as Rust escapes (`\n`, `\u{1b}`).
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    #[test]
    fn passed_lta_in_full() {
        let id = fixtures::signature_id(b"value-1");
        assert_eq!(
            write(&fixtures::passed_lta()),
            format!(
                "TOTAL-PASSED: 1 of 1 signature valid
Document: contract.pdf  SHA-256 ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789
Validation time: 2025-06-01T12:00:00Z
Policy: Signet default (EN 319 102-1, baseline constraints)
Trusted list: EU #342 issued 2025-05-20T08:00:00Z from https://ec.europa.eu/tools/lotl/eu-lotl.xml

Signature {id}  PAdES-BASELINE-LTA  TOTAL-PASSED
  Signer: CN=Alice,O=Example
  Claimed signing time: 2025-05-31T10:00:00Z
  Best signature time: 2025-05-31T10:00:05.25Z
  Time-stamp (signature) 2025-05-31T10:00:05.25Z  TOTAL-PASSED  TSA: CN=Example TSA
  Time-stamp (archive) 2025-05-31T10:01:00Z  TOTAL-PASSED  TSA: CN=Example TSA
  Info: OCSP response fetched for CN=Alice,O=Example
"
            )
        );
    }

    #[test]
    fn failed_keeps_special_characters_as_they_are() {
        let id = fixtures::signature_id(b"value-2");
        assert_eq!(
            write(&fixtures::failed_hash()),
            format!(
                "TOTAL-FAILED: 0 of 1 signature valid
Document: R&D <draft> \"v2\".p7m  SHA-256 0000000000000000000000000000000000000000000000000000000000000000
Validation time: 2025-06-01T12:00:00Z
Policy: policy <&>

Signature {id}  CAdES-BASELINE-B  TOTAL-FAILED (HASH_FAILURE)
  Signer: CN=Bob & <Partners>,O=\"Quote's\"
  Best signature time: 2025-06-01T12:00:00Z
  Error: message-digest <a> & \"b\" 'c' does not match the content
  Warning: content type is <text/plain> & not id-data
"
            )
        );
    }

    #[test]
    fn indeterminate_shows_revocation_and_failed_timestamp() {
        let text = write(&fixtures::indeterminate_revoked());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "INDETERMINATE: 0 of 1 signature valid");
        assert_eq!(
            lines[1],
            "Document: SHA-256 1111111111111111111111111111111111111111111111111111111111111111"
        );
        assert_eq!(
            lines[5],
            format!(
                "Signature {}  XAdES-BASELINE-B  INDETERMINATE (REVOKED_NO_POE)",
                fixtures::signature_id(b"value-3")
            )
        );
        assert_eq!(
            &lines[6..],
            [
                "  Signer: CN=Carol",
                "  Claimed signing time: 2025-04-01T09:00:00Z",
                "  Best signature time: 2025-06-01T12:00:00Z",
                "  Time-stamp (signature) 2025-04-02T09:00:00Z  TOTAL-FAILED (HASH_FAILURE)  TSA: CN=Other TSA",
                "    Error: message imprint does not match the signature value",
                "  Revoked: CN=Carol at 2025-03-15T00:00:00Z (CRL)",
                "  Error: the signing certificate was revoked at 2025-03-15T00:00:00Z",
                "  Warning: the signature time-stamp failed; B-T not reached",
            ]
        );
    }

    #[test]
    fn no_signatures() {
        let text = write(&fixtures::no_signatures());
        assert_eq!(
            text.lines().next(),
            Some("TOTAL-FAILED: no signature found")
        );
        assert_eq!(text.lines().count(), 5);
    }

    #[test]
    fn hostile_text_cannot_add_lines() {
        let text = write(&fixtures::two_signatures());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "TOTAL-FAILED: 1 of 2 signatures valid");
        assert_eq!(
            &lines[lines.len() - 3..],
            [
                "Signature not an id <x>  JAdES  TOTAL-FAILED (FORMAT_FAILURE)",
                "  Best signature time: 2025-06-01T12:00:00Z",
                "  Error: not a JWS:\\nline two\\u{1b}[31m\\u{0}",
            ]
        );
        assert_eq!(clean("a\u{202e}b\r"), "a\\u{202e}b\\r");
    }
}
