//! The report as JSON, for scripts. The shape (names in camelCase, times RFC 3339 in UTC with
//! `Z`, absent values `null`):
//!
//! ```text
//! { "validator": "Signet 1.2.3",
//!   "validationTime": "2025-06-01T12:00:00Z",
//!   "document": { "name": "contract.pdf" | null, "sha256": "ABCD…" },
//!   "policy": "…",
//!   "indication": "TOTAL-PASSED" | "TOTAL-FAILED" | "INDETERMINATE",   (the file's)
//!   "trustedLists": [ { "source", "territory", "sequenceNumber", "issued", "nextUpdate",
//!                       "sha256" } ],
//!   "signatures": [ {
//!     "id": "S-…", "format": "PAdES", "level": "PAdES-BASELINE-LTA" | null,
//!     "indication": "TOTAL-PASSED", "subIndication": "HASH_FAILURE" | null,
//!     "bestSignatureTime", "claimedSigningTime" | null, "signer": "CN=…" | null,
//!     "chain": [ { "subject", "issuer", "serial", "notBefore", "notAfter", "trustAnchor",
//!                  "revokedAt" | null, "revocationSource" } ],          (signer first)
//!     "timestamps": [ { "id", "kind": "signature" | "content" | "archive", "time" | null,
//!                       "indication", "subIndication" | null, "tsa" | null, "errors": [] } ],
//!     "errors": [], "warnings": [], "infos": [] } ] }
//! ```

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{kind_name, level_name, signer, utc, validator};
use crate::{SignatureReport, SubIndication, ValidationReport};

pub(super) fn write(report: &ValidationReport) -> Value {
    json!({
        "validator": validator(),
        "validationTime": utc(report.validation_time),
        "document": {
            "name": report.document_name,
            "sha256": report.document_sha256,
        },
        "policy": report.policy,
        "indication": report.indication().name(),
        "trustedLists": report.trusted_lists.iter().map(|list| json!({
            "source": list.source,
            "territory": list.territory,
            "sequenceNumber": list.sequence_number,
            "issued": utc(list.issued),
            "nextUpdate": time(list.next_update),
            "sha256": list.sha256,
        })).collect::<Vec<_>>(),
        "signatures": report.signatures.iter().map(signature).collect::<Vec<_>>(),
    })
}

fn signature(sig: &SignatureReport) -> Value {
    json!({
        "id": sig.evidence.id,
        "format": sig.evidence.format.name(),
        "level": sig.level.map(|l| level_name(sig.evidence.format, l)),
        "indication": sig.indication.name(),
        "subIndication": sub(sig.sub_indication),
        "bestSignatureTime": utc(sig.best_signature_time),
        "claimedSigningTime": time(sig.evidence.claimed_signing_time),
        "signer": signer(sig),
        "chain": sig.chain.iter().map(|c| json!({
            "subject": c.subject,
            "issuer": c.issuer,
            "serial": c.serial,
            "notBefore": utc(c.not_before),
            "notAfter": utc(c.not_after),
            "trustAnchor": c.trust_anchor,
            "revokedAt": time(c.revoked_at),
            "revocationSource": c.revocation_source,
        })).collect::<Vec<_>>(),
        "timestamps": sig.timestamps.iter().map(|ts| json!({
            "id": ts.id,
            "kind": kind_name(ts.kind),
            "time": time(ts.time),
            "indication": ts.indication.name(),
            "subIndication": sub(ts.sub_indication),
            "tsa": ts.tsa,
            "errors": ts.errors,
        })).collect::<Vec<_>>(),
        "errors": sig.errors,
        "warnings": sig.warnings,
        "infos": sig.infos,
    })
}

fn time(t: Option<OffsetDateTime>) -> Option<String> {
    t.map(utc)
}

fn sub(s: Option<SubIndication>) -> Option<&'static str> {
    s.map(SubIndication::name)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures;
    use super::*;

    fn version() -> String {
        format!("Signet {}", env!("CARGO_PKG_VERSION"))
    }

    #[test]
    fn passed_lta_in_full() {
        let value = write(&fixtures::passed_lta());
        assert_eq!(
            value,
            json!({
                "validator": version(),
                "validationTime": "2025-06-01T12:00:00Z",
                "document": {
                    "name": "contract.pdf",
                    "sha256": "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
                },
                "policy": "Signet default (EN 319 102-1, baseline constraints)",
                "indication": "TOTAL-PASSED",
                "trustedLists": [{
                    "source": "https://ec.europa.eu/tools/lotl/eu-lotl.xml",
                    "territory": "EU",
                    "sequenceNumber": 342,
                    "issued": "2025-05-20T08:00:00Z",
                    "nextUpdate": "2025-11-20T08:00:00Z",
                    "sha256": "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF",
                }],
                "signatures": [{
                    "id": fixtures::signature_id(b"value-1"),
                    "format": "PAdES",
                    "level": "PAdES-BASELINE-LTA",
                    "indication": "TOTAL-PASSED",
                    "subIndication": null,
                    "bestSignatureTime": "2025-05-31T10:00:05.25Z",
                    "claimedSigningTime": "2025-05-31T10:00:00Z",
                    "signer": "CN=Alice,O=Example",
                    "chain": [
                        {
                            "subject": "CN=Alice,O=Example",
                            "issuer": "CN=Issuing CA",
                            "serial": "0b",
                            "notBefore": "2024-01-01T00:00:00Z",
                            "notAfter": "2027-01-01T00:00:00Z",
                            "trustAnchor": false,
                            "revokedAt": null,
                            "revocationSource": "OCSP",
                        },
                        {
                            "subject": "CN=Issuing CA",
                            "issuer": "CN=Root CA",
                            "serial": "07",
                            "notBefore": "2024-01-01T00:00:00Z",
                            "notAfter": "2027-01-01T00:00:00Z",
                            "trustAnchor": false,
                            "revokedAt": null,
                            "revocationSource": "OCSP",
                        },
                        {
                            "subject": "CN=Root CA",
                            "issuer": "CN=Root CA",
                            "serial": "09",
                            "notBefore": "2024-01-01T00:00:00Z",
                            "notAfter": "2027-01-01T00:00:00Z",
                            "trustAnchor": true,
                            "revokedAt": null,
                            "revocationSource": "trust anchor",
                        },
                    ],
                    "timestamps": [
                        {
                            "id": "T-1",
                            "kind": "signature",
                            "time": "2025-05-31T10:00:05.25Z",
                            "indication": "TOTAL-PASSED",
                            "subIndication": null,
                            "tsa": "CN=Example TSA",
                            "errors": [],
                        },
                        {
                            "id": "T-2",
                            "kind": "archive",
                            "time": "2025-05-31T10:01:00Z",
                            "indication": "TOTAL-PASSED",
                            "subIndication": null,
                            "tsa": "CN=Example TSA",
                            "errors": [],
                        },
                    ],
                    "errors": [],
                    "warnings": [],
                    "infos": ["OCSP response fetched for CN=Alice,O=Example"],
                }],
            })
        );
    }

    #[test]
    fn failed_and_indeterminate_carry_sub_indications_and_reasons() {
        let failed = write(&fixtures::failed_hash());
        assert_eq!(failed["indication"], "TOTAL-FAILED");
        assert_eq!(failed["document"]["name"], "R&D <draft> \"v2\".p7m");
        let sig = &failed["signatures"][0];
        assert_eq!(sig["subIndication"], "HASH_FAILURE");
        assert_eq!(sig["level"], "CAdES-BASELINE-B");
        assert_eq!(sig["claimedSigningTime"], Value::Null);
        assert_eq!(sig["signer"], "CN=Bob & <Partners>,O=\"Quote's\"");
        assert_eq!(
            sig["errors"],
            json!(["message-digest <a> & \"b\" 'c' does not match the content"])
        );
        assert_eq!(
            sig["warnings"],
            json!(["content type is <text/plain> & not id-data"])
        );
        assert_eq!(sig["timestamps"], json!([]));
        assert_eq!(failed["trustedLists"], json!([]));

        let indeterminate = write(&fixtures::indeterminate_revoked());
        assert_eq!(indeterminate["indication"], "INDETERMINATE");
        assert_eq!(indeterminate["document"]["name"], Value::Null);
        let sig = &indeterminate["signatures"][0];
        assert_eq!(sig["subIndication"], "REVOKED_NO_POE");
        assert_eq!(sig["chain"][0]["revokedAt"], "2025-03-15T00:00:00Z");
        assert_eq!(sig["chain"][0]["revocationSource"], "CRL");
        assert_eq!(
            sig["timestamps"][0],
            json!({
                "id": "T-3",
                "kind": "signature",
                "time": "2025-04-02T09:00:00Z",
                "indication": "TOTAL-FAILED",
                "subIndication": "HASH_FAILURE",
                "tsa": "CN=Other TSA",
                "errors": ["message imprint does not match the signature value"],
            })
        );
    }

    #[test]
    fn no_signatures_and_unreadable_signature() {
        let none = write(&fixtures::no_signatures());
        assert_eq!(none["indication"], "TOTAL-FAILED");
        assert_eq!(none["signatures"], json!([]));
        assert_eq!(none["trustedLists"][0]["territory"], "EU");

        let two = write(&fixtures::two_signatures());
        assert_eq!(two["indication"], "TOTAL-FAILED");
        let sig = &two["signatures"][1];
        assert_eq!(sig["id"], "not an id <x>");
        assert_eq!(sig["format"], "JAdES");
        assert_eq!(sig["level"], Value::Null);
        assert_eq!(sig["signer"], Value::Null);
        assert_eq!(sig["subIndication"], "FORMAT_FAILURE");
        assert_eq!(
            sig["errors"],
            json!(["not a JWS:\nline two\u{1b}[31m\u{0}"])
        );
        // serde_json escapes control characters, so the JSON text stays one line per value.
        let text = serde_json::to_string(&two).unwrap();
        assert!(text.contains(r#""not a JWS:\nline two\u001b[31m\u0000""#));
    }
}
