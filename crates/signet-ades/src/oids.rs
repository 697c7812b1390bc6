//! Object identifiers of CMS, ESS, CAdES and PAdES (dotted).

/// RFC 5652 §4: id-data.
pub const DATA: &str = "1.2.840.113549.1.7.1";
/// RFC 5652 §5: id-signedData.
pub const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
/// RFC 3161 §2.4.2: id-ct-TSTInfo.
pub const TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";

/// RFC 5652 §11.1.
pub const CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
/// RFC 5652 §11.2.
pub const MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
/// RFC 5652 §11.3.
pub const SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
/// RFC 5035 §3: id-aa-signingCertificateV2.
pub const SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";
/// RFC 2634 §2.9: id-aa-contentHints.
pub const CONTENT_HINTS: &str = "1.2.840.113549.1.9.16.2.4";
/// RFC 2634 §2.7: id-aa-contentIdentifier.
pub const CONTENT_IDENTIFIER: &str = "1.2.840.113549.1.9.16.2.7";
/// RFC 2634 §2.11: id-aa-contentReference.
pub const CONTENT_REFERENCE: &str = "1.2.840.113549.1.9.16.2.10";
/// EN 319 122-1 §5.2.9: id-aa-ets-sigPolicyId.
pub const SIGNATURE_POLICY_IDENTIFIER: &str = "1.2.840.113549.1.9.16.2.15";
/// EN 319 122-1 §5.2.3: id-aa-ets-commitmentType.
pub const COMMITMENT_TYPE_INDICATION: &str = "1.2.840.113549.1.9.16.2.16";
/// EN 319 122-1 §5.2.5: id-aa-ets-signerLocation.
pub const SIGNER_LOCATION: &str = "1.2.840.113549.1.9.16.2.17";
/// EN 319 122-1 §5.2.8: id-aa-ets-contentTimestamp.
pub const CONTENT_TIME_STAMP: &str = "1.2.840.113549.1.9.16.2.20";
/// EN 319 122-1 §5.2.2: id-aa-ets-mimeType.
pub const MIME_TYPE: &str = "0.4.0.1733.2.1";
/// EN 319 122-1 §5.2.6.1: id-aa-ets-signerAttrV2.
pub const SIGNER_ATTRIBUTES_V2: &str = "0.4.0.19122.1.1";
/// RFC 3126 / EN 319 122-1 §5.3: id-aa-signatureTimeStampToken.
pub const SIGNATURE_TIME_STAMP: &str = "1.2.840.113549.1.9.16.2.14";
/// EN 319 122-1 §5.5.3: id-aa-ets-archiveTimestampV3.
pub const ARCHIVE_TIME_STAMP_V3: &str = "0.4.0.1733.2.4";
/// EN 319 122-1 §5.5.2: id-aa-ATSHashIndex-v3.
pub const ATS_HASH_INDEX_V3: &str = "0.4.0.19122.1.5";
/// RFC 5940 §4.1: id-ri-ocsp-response, an OtherRevocationInfoFormat.
pub const RI_OCSP_RESPONSE: &str = "1.3.6.1.5.5.7.16.2";
/// X.520 name attribute: a claimed signer role in signer-attributes-v2, as EU DSS writes it
/// (a UTF8String under id-at-name).
pub const AT_NAME: &str = "2.5.4.41";
/// ETSI TS 101 733 / RFC 5126 commitment types (id-cti-ets-*).
pub const COMMITMENT_TYPES: &[(&str, &str)] = &[
    ("proofOfOrigin", "1.2.840.113549.1.9.16.6.1"),
    ("proofOfReceipt", "1.2.840.113549.1.9.16.6.2"),
    ("proofOfDelivery", "1.2.840.113549.1.9.16.6.3"),
    ("proofOfSender", "1.2.840.113549.1.9.16.6.4"),
    ("proofOfApproval", "1.2.840.113549.1.9.16.6.5"),
    ("proofOfCreation", "1.2.840.113549.1.9.16.6.6"),
];
