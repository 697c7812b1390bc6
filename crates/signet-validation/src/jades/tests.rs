//! JAdES made by signet-ades (every level and envelope, RSA and EC keys), by hand (for what
//! signet-ades does not write) and by jwcrypto, read back; tampered and hostile input.

use std::sync::OnceLock;

use data_encoding::BASE64;
use serde_json::{Value, json};
use signet_ades::test_pki::{self, SIGNING_TIME, TestPki};
use signet_ades::{Content, DocumentRequest, Envelope, Level, Signer, TimeStamper, asn1};
use signet_core::{KeyType, PssSalt, SignMechanism};
use signet_keys::KeyRef;

use super::*;
use crate::SignedDataObject;

/// The kinds of signer the tests use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Es256,
    Es384,
    Rs256,
    Ps256,
}

struct Fixture {
    pki: TestPki,
    signers: Vec<(Kind, KeyRef, Signer)>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let pki = TestPki::new();
        use HashAlgorithm::{Sha256, Sha384};
        let signers = [
            (
                Kind::Es256,
                KeyType::EcP256,
                SignMechanism::Ecdsa { hash: Sha256 },
            ),
            (
                Kind::Es384,
                KeyType::EcP384,
                SignMechanism::Ecdsa { hash: Sha384 },
            ),
            (
                Kind::Rs256,
                KeyType::Rsa2048,
                SignMechanism::RsaPkcs1 { hash: Sha256 },
            ),
            (
                Kind::Ps256,
                KeyType::Rsa2048,
                SignMechanism::RsaPss {
                    hash: Sha256,
                    salt: PssSalt::DigestLength,
                },
            ),
        ]
        .into_iter()
        .map(|(kind, key_type, mechanism)| {
            let (key, signer) = pki.signer(key_type, mechanism);
            (kind, key, signer)
        })
        .collect();
        Fixture { pki, signers }
    })
}

fn signer(kind: Kind) -> (&'static KeyRef, &'static Signer) {
    let (_, key, signer) = fixture()
        .signers
        .iter()
        .find(|(k, _, _)| *k == kind)
        .unwrap();
    (key, signer)
}

const DOC: &[u8] = b"{\"invoice\": 42, \"text\": \"caf\xc3\xa9\"}";

fn request(kind: Kind, level: Level, envelope: Envelope, content: Content) -> DocumentRequest {
    test_pki::request(signer(kind).1, Format::Jades, level, envelope, content)
}

/// A JAdES from signet-ades.
fn make(kind: Kind, level: Level, envelope: Envelope, content: Content) -> Vec<u8> {
    fixture()
        .pki
        .make_request(signer(kind).0, request(kind, level, envelope, content))
}

/// `(hash, digest)` of a time-stamp token's messageImprint, read here independently of
/// `timestamp::read_token`.
fn imprint_of(token: &[u8]) -> (HashAlgorithm, Vec<u8>) {
    fn kids(t: asn1::Tlv<'_>) -> Vec<asn1::Tlv<'_>> {
        t.children().unwrap()
    }
    let content_info = kids(asn1::read_all(token).unwrap());
    let signed_data = kids(kids(content_info[1])[0]);
    let encap = kids(signed_data[2]);
    let tst_info = kids(asn1::read_all(kids(encap[1])[0].content).unwrap());
    let imprint = kids(tst_info[2]);
    let alg = kids(imprint[0]);
    (
        HashAlgorithm::from_oid(&crypto::oid_text(alg[0].content)).unwrap(),
        imprint[1].content.to_vec(),
    )
}

/// Whether a time-stamp's imprint is the digest of what the reader says it covers.
fn imprint_matches(sig: &Signature<'_>, stamp: &Stamp) -> bool {
    let (hash, imprint) = imprint_of(&stamp.token);
    (0..sig.forms(stamp.cover)).any(|f| {
        sig.cover_parts(stamp.cover, f)
            .is_ok_and(|parts| digest(hash, &parts) == imprint)
    })
}

/// `read`, checking on the way that every time-stamp's imprint matches what it covers (and,
/// once `timestamp::read_token` reads tokens, that the evidence says so too).
fn read_checked(input: &[u8], detached: &[DetachedContent]) -> Vec<SignatureEvidence> {
    let jws = Jws::parse(input, &Limits::default()).unwrap();
    let mut budget = MAX_TIMESTAMPS;
    let out: Vec<SignatureEvidence> = jws
        .entries
        .iter()
        .map(|entry| {
            let sig = Signature::read(&jws, entry, detached);
            for stamp in &sig.stamps {
                assert!(imprint_matches(&sig, stamp), "{:?} imprint", stamp.kind);
            }
            let ev = sig.evidence(&mut budget);
            for ts in &ev.timestamps {
                if timestamp::read_token(&ts.token).is_ok() {
                    assert_eq!(ts.intact, Check::Passed, "{:?}", ts.kind);
                    assert_eq!(ts.signature_value, Check::Passed, "{:?}", ts.kind);
                }
            }
            ev
        })
        .collect();
    assert_eq!(read(input, detached, &Limits::default()).unwrap(), out);
    out
}

fn kinds(ev: &SignatureEvidence) -> Vec<TimestampKind> {
    ev.timestamps.iter().map(|t| t.kind).collect()
}

fn signature_value_of(jws: &Value) -> Vec<u8> {
    json::b64url(jws["signature"].as_str().unwrap()).unwrap()
}

/// What every good signature made here has, whatever its level.
fn assert_good(ev: &SignatureEvidence, kind: Kind, signed_data: &[(&str, Check, Check)]) {
    let (_, s) = signer(kind);
    assert_eq!(ev.format_error, None);
    assert_eq!(ev.format, Format::Jades);
    assert_eq!(ev.signature_value, Check::Passed);
    assert_eq!(ev.signing_certificate_reference, Check::Passed);
    assert_eq!(ev.signing_certificate.as_ref(), Some(&s.certificate));
    assert_eq!(ev.constraint_failures, Vec::<String>::new());
    assert_eq!(
        ev.claimed_signing_time,
        Some(OffsetDateTime::from_unix_timestamp(SIGNING_TIME).unwrap())
    );
    let (alg, hash) = match kind {
        Kind::Es256 => ("ES256", HashAlgorithm::Sha256),
        Kind::Es384 => ("ES384", HashAlgorithm::Sha384),
        Kind::Rs256 => ("RS256", HashAlgorithm::Sha256),
        Kind::Ps256 => ("PS256", HashAlgorithm::Sha256),
    };
    assert_eq!(ev.signature_algorithm.as_deref(), Some(alg));
    assert_eq!(ev.digest_algorithm, Some(hash));
    assert!(ev.certificates.contains(&s.certificate));
    assert!(ev.certificates.contains(&fixture().pki.ca.certificate));
    let got: Vec<(&str, Check, Check)> = ev
        .signed_data
        .iter()
        .map(|o| (o.name.as_str(), o.found.clone(), o.intact.clone()))
        .collect();
    assert_eq!(got, signed_data);
}

use time::OffsetDateTime;

fn payload_ok() -> [(&'static str, Check, Check); 1] {
    [("payload", Check::Passed, Check::Passed)]
}

#[test]
fn every_level_with_every_key_reads_back() {
    for kind in [Kind::Es256, Kind::Es384, Kind::Rs256, Kind::Ps256] {
        for level in [Level::BB, Level::BT, Level::BLt, Level::BLta] {
            let bytes = make(
                kind,
                level,
                Envelope::Attached,
                Content::Document(DOC.into()),
            );
            let evidence = read_checked(&bytes, &[]);
            let [ev] = evidence.as_slice() else {
                panic!("one signature")
            };
            assert_good(ev, kind, &payload_ok());
            let jws: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(ev.id, SignatureEvidence::id_for(&signature_value_of(&jws)));
            use TimestampKind::{Archive, Signature as Sig};
            let expected: &[TimestampKind] = match level {
                Level::BB => &[],
                Level::BT | Level::BLt => &[Sig],
                _ => &[Sig, Archive],
            };
            assert_eq!(kinds(ev), expected, "{kind:?} {level:?}");
            let lt = level >= Level::BLt;
            assert_eq!(ev.has_validation_data, lt, "{kind:?} {level:?}");
            assert_eq!(ev.crls.is_empty(), !lt);
            // The signer's and the TSA's OCSP responses.
            assert_eq!(ev.ocsp_responses.is_empty(), !lt);
        }
    }
}

#[test]
fn compact_and_detached_and_parallel() {
    // Compact: the B-B flattened JSON's three members.
    let bytes = make(
        Kind::Es256,
        Level::BB,
        Envelope::Attached,
        Content::Document(DOC.into()),
    );
    let jws: Value = serde_json::from_slice(&bytes).unwrap();
    let (p, s) = (
        jws["protected"].as_str().unwrap(),
        jws["signature"].as_str().unwrap(),
    );
    let compact = format!("{p}.{}.{s}\n", jws["payload"].as_str().unwrap());
    let [ev] = read_checked(compact.as_bytes(), &[]).try_into().unwrap();
    assert_good(&ev, Kind::Es256, &payload_ok());

    // Detached (RFC 7515 Appendix F), up to B-LTA: the archive time-stamp covers the
    // document given beside the signature.
    let doc = DetachedContent {
        name: Some("invoice.json".into()),
        bytes: DOC.to_vec(),
    };
    let other = DetachedContent {
        name: Some("other.txt".into()),
        bytes: b"other".to_vec(),
    };
    let bytes = make(
        Kind::Rs256,
        Level::BLta,
        Envelope::Detached,
        Content::Document(DOC.into()),
    );
    let [ev] = read_checked(&bytes, std::slice::from_ref(&doc))
        .try_into()
        .unwrap();
    assert_good(
        &ev,
        Kind::Rs256,
        &[("invoice.json", Check::Passed, Check::Passed)],
    );
    assert_eq!(
        kinds(&ev),
        [TimestampKind::Signature, TimestampKind::Archive]
    );
    // Of several documents, the one the signature verifies with.
    let [ev] = read_checked(&bytes, &[other.clone(), doc.clone()])
        .try_into()
        .unwrap();
    assert_good(
        &ev,
        Kind::Rs256,
        &[("invoice.json", Check::Passed, Check::Passed)],
    );
    // Compact detached: an empty payload part.
    let b_b = make(
        Kind::Es256,
        Level::BB,
        Envelope::Detached,
        Content::Document(DOC.into()),
    );
    let jws: Value = serde_json::from_slice(&b_b).unwrap();
    let compact = format!(
        "{}..{}",
        jws["protected"].as_str().unwrap(),
        jws["signature"].as_str().unwrap()
    );
    let [ev] = read_checked(compact.as_bytes(), std::slice::from_ref(&doc))
        .try_into()
        .unwrap();
    assert_good(
        &ev,
        Kind::Es256,
        &[("invoice.json", Check::Passed, Check::Passed)],
    );
    let [ev] = read_checked(compact.as_bytes(), &[]).try_into().unwrap();
    let why = "the detached payload was not given".to_string();
    assert_eq!(ev.signature_value, Check::NotChecked(why.clone()));
    assert_eq!(
        ev.signed_data[0].found,
        Check::Failed(why.clone()),
        "SIGNED_DATA_NOT_FOUND"
    );
    let [ev] = read_checked(compact.as_bytes(), std::slice::from_ref(&other))
        .try_into()
        .unwrap();
    assert!(matches!(ev.signature_value, Check::Failed(_)));

    // Parallel: RSA, then ECDSA P-384 joins at B-LTA; each is its own evidence.
    let first = make(
        Kind::Rs256,
        Level::BT,
        Envelope::Attached,
        Content::Document(DOC.into()),
    );
    let both = make(
        Kind::Es384,
        Level::BLta,
        Envelope::Parallel,
        Content::Document(first),
    );
    let general: Value = serde_json::from_slice(&both).unwrap();
    assert_eq!(general["signatures"].as_array().unwrap().len(), 2);
    let evidence = read_checked(&both, &[]);
    let [rsa, ec] = evidence.as_slice() else {
        panic!("two signatures")
    };
    assert_good(rsa, Kind::Rs256, &payload_ok());
    assert_good(ec, Kind::Es384, &payload_ok());
    assert_eq!(kinds(rsa), [TimestampKind::Signature]);
    assert_eq!(
        kinds(ec),
        [TimestampKind::Signature, TimestampKind::Archive]
    );
    assert!(!rsa.has_validation_data && ec.has_validation_data);
    assert_ne!(rsa.id, ec.id);
    // A copied entry keeps a distinct id.
    let mut copied = general.clone();
    let entry = copied["signatures"][0].clone();
    copied["signatures"].as_array_mut().unwrap().push(entry);
    let evidence = read(copied.to_string().as_bytes(), &[], &Limits::default()).unwrap();
    assert_eq!(evidence[2].id, format!("{}-2", evidence[0].id));
}

#[test]
fn sig_d_documents_are_found_and_their_digests_checked() {
    let digest = HashAlgorithm::Sha256.digest(DOC);
    let bytes = make(
        Kind::Es256,
        Level::BLt,
        Envelope::Detached,
        Content::Digest(digest),
    );
    let jws: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(jws.get("payload").is_none());
    let doc = DetachedContent {
        name: None,
        bytes: DOC.to_vec(),
    };
    let [ev] = read_checked(&bytes, std::slice::from_ref(&doc))
        .try_into()
        .unwrap();
    assert_good(
        &ev,
        Kind::Es256,
        &[("document", Check::Passed, Check::Passed)],
    );
    assert_eq!(kinds(&ev), [TimestampKind::Signature]);
    assert!(ev.has_validation_data);

    let [ev] = read_checked(&bytes, &[]).try_into().unwrap();
    let why = "the detached document \"document\" was not given".to_string();
    assert_eq!(
        ev.signed_data,
        [SignedDataObject {
            name: "document".into(),
            found: Check::Failed(why.clone()),
            intact: Check::NotChecked(why),
        }]
    );
    // The header carries the digest, so the signature value verifies without the document.
    assert_eq!(ev.signature_value, Check::Passed);

    let altered = DetachedContent {
        name: Some("document".into()),
        bytes: b"altered".to_vec(),
    };
    let [ev] = read_checked(&bytes, &[altered]).try_into().unwrap();
    assert_eq!(ev.signed_data[0].found, Check::Passed);
    assert_eq!(
        ev.signed_data[0].intact,
        Check::Failed(
            "the SHA-256 digest of the detached document \"document\" does not match sigD hashV"
                .into()
        )
    );
}

#[test]
fn tampering_is_seen() {
    let bytes = make(
        Kind::Es256,
        Level::BLta,
        Envelope::Attached,
        Content::Document(DOC.into()),
    );
    let jws: Value = serde_json::from_slice(&bytes).unwrap();

    // Another payload.
    let mut changed = jws.clone();
    changed["payload"] = json!(json::to_b64url(b"{\"invoice\": 43}"));
    let [ev] = read(changed.to_string().as_bytes(), &[], &Limits::default())
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(
        ev.signature_value,
        Check::Failed("the signature value does not verify with the public key".into())
    );
    assert_eq!(ev.signed_data[0].found, Check::Passed);
    assert!(matches!(ev.signed_data[0].intact, Check::NotChecked(_)));

    // A flipped bit in the signature value (the first character: the last one may only carry
    // padding bits).
    let mut flipped = jws.clone();
    let sig = jws["signature"].as_str().unwrap();
    let first = if sig.starts_with('A') { "B" } else { "A" };
    flipped["signature"] = json!(format!("{first}{}", &sig[1..]));
    let [ev] = read(flipped.to_string().as_bytes(), &[], &Limits::default())
        .unwrap()
        .try_into()
        .unwrap();
    assert!(matches!(ev.signature_value, Check::Failed(_)));

    // An etsiU element before the archive time-stamp changed: its imprint no longer matches.
    let mut grown = jws.clone();
    let etsi_u = grown["header"]["etsiU"].as_array_mut().unwrap();
    let r_vals = json::to_b64url(br#"{"rVals":{}}"#);
    etsi_u[2] = json!(r_vals);
    let text = grown.to_string();
    let parsed = Jws::parse(text.as_bytes(), &Limits::default()).unwrap();
    let sig = Signature::read(&parsed, &parsed.entries[0], &[]);
    assert_eq!(sig.evidence.format_error, None);
    assert!(imprint_matches(&sig, &sig.stamps[0]));
    assert!(!imprint_matches(&sig, &sig.stamps[1]));
}

/// A compact JWS over `payload` with `header`, signed by `kind`.
fn hand_made(kind: Kind, header: &Value, payload: &str) -> String {
    let (key, s) = signer(kind);
    let protected = json::to_b64url(header.to_string().as_bytes());
    let hash = SignatureAlgorithm::from_jose(header["alg"].as_str().unwrap())
        .unwrap()
        .hash();
    // The signature value as JWS wants it (ECDSA `r || s`).
    let der = fixture().pki.sign(
        key,
        s,
        &hash.digest(format!("{protected}.{payload}").as_bytes()),
    );
    let value = signet_ades::ecdsa::fixed_width(s.key_type, &der).unwrap();
    format!("{protected}.{payload}.{}", json::to_b64url(&value))
}

fn b_b_header(kind: Kind) -> Value {
    let (_, s) = signer(kind);
    json!({
        "alg": "ES256",
        "x5c": [BASE64.encode(&s.certificate), BASE64.encode(&fixture().pki.ca.certificate)],
        "x5t#S256": json::to_b64url(&HashAlgorithm::Sha256.digest(&s.certificate)),
        "sigT": "2026-09-21T14:13:20Z",
        "crit": ["sigT"],
    })
}

fn read_one(input: &str, detached: &[DetachedContent]) -> SignatureEvidence {
    let [ev] = read_checked(input.as_bytes(), detached).try_into().unwrap();
    ev
}

#[test]
fn headers_by_hand() {
    let payload = json::to_b64url(DOC);
    let good = hand_made(Kind::Es256, &b_b_header(Kind::Es256), &payload);
    assert_good(&read_one(&good, &[]), Kind::Es256, &payload_ok());

    // x5t#S256 of another certificate.
    let mut h = b_b_header(Kind::Es256);
    h["x5t#S256"] = json!(json::to_b64url(
        &HashAlgorithm::Sha256.digest(&fixture().pki.ca.certificate)
    ));
    let ev = read_one(&hand_made(Kind::Es256, &h, &payload), &[]);
    assert_eq!(ev.signature_value, Check::Passed);
    assert!(matches!(ev.signing_certificate_reference, Check::Failed(_)));

    // No sigT: a baseline constraint, not a broken signature.
    let mut h = b_b_header(Kind::Es256);
    h.as_object_mut().unwrap().remove("sigT");
    h.as_object_mut().unwrap().remove("crit");
    let ev = read_one(&hand_made(Kind::Es256, &h, &payload), &[]);
    assert_eq!(ev.signature_value, Check::Passed);
    assert_eq!(ev.claimed_signing_time, None);
    assert_eq!(
        ev.constraint_failures,
        ["the protected header has no claimed signing time (sigT; TS 119 182-1 §5.2.1)"]
    );

    // sigT present but not critical; iat instead of sigT is accepted.
    let mut h = b_b_header(Kind::Es256);
    h.as_object_mut().unwrap().remove("crit");
    let ev = read_one(&hand_made(Kind::Es256, &h, &payload), &[]);
    assert_eq!(
        ev.constraint_failures,
        ["sigT is not listed in crit (TS 119 182-1 requires it to be critical)"]
    );
    let mut h = b_b_header(Kind::Es256);
    h.as_object_mut().unwrap().remove("sigT");
    h.as_object_mut().unwrap().remove("crit");
    h["iat"] = json!(SIGNING_TIME);
    assert_good(
        &read_one(&hand_made(Kind::Es256, &h, &payload), &[]),
        Kind::Es256,
        &payload_ok(),
    );

    // x5t#o with SHA-512 and a chain where the signer is not first: found by the digest.
    let (_, s) = signer(Kind::Es256);
    let mut h = b_b_header(Kind::Es256);
    let o = h.as_object_mut().unwrap();
    o.remove("x5t#S256");
    o.remove("x5c");
    o.insert(
        "x5t#o".into(),
        json!({ "digAlg": "S512", "digVal": json::to_b64url(&HashAlgorithm::Sha512.digest(&s.certificate)) }),
    );
    o.insert("crit".into(), json!(["sigT", "x5t#o"]));
    let compact = hand_made(Kind::Es256, &h, &payload);
    let ev = read_one(&compact, &[]);
    assert_eq!(ev.signing_certificate, None);
    assert_eq!(
        ev.signature_value,
        Check::NotChecked("the signature has no signing certificate (x5c)".into())
    );
    // ... and the certificate in a clear xVals element of the JSON serialization.
    let parts: Vec<&str> = compact.split('.').collect();
    let flattened = json!({
        "payload": parts[1],
        "protected": parts[0],
        "header": { "etsiU": [{ "xVals": [{ "x509Cert": { "val": BASE64.encode(&s.certificate) } }] }] },
        "signature": parts[2],
    });
    let ev = read_one(&flattened.to_string(), &[]);
    assert_eq!(ev.signing_certificate.as_ref(), Some(&s.certificate));
    assert_eq!(ev.signing_certificate_reference, Check::Passed);
    assert_eq!(ev.signature_value, Check::Passed);
    assert!(!ev.has_validation_data);

    // RFC 7797 unencoded payload, in the JSON serialization.
    let mut h = b_b_header(Kind::Es256);
    h["b64"] = json!(false);
    h["crit"] = json!(["sigT", "b64"]);
    let raw = "caf\u{e9} . not base64url";
    let compact = hand_made(Kind::Es256, &h, raw);
    let (protected, rest) = compact.split_once('.').unwrap();
    let signature = rest.rsplit_once('.').unwrap().1;
    let flattened = json!({ "payload": raw, "protected": protected, "signature": signature });
    assert_good(
        &read_one(&flattened.to_string(), &[]),
        Kind::Es256,
        &payload_ok(),
    );
    // b64 without crit cannot be read safely.
    h["crit"] = json!(["sigT"]);
    let ev = read_one(&hand_made(Kind::Es256, &h, &payload), &[]);
    assert_eq!(
        ev.format_error.as_deref(),
        Some("b64 is not listed in crit (RFC 7797 §6)")
    );

    // Unknown critical extension.
    let mut h = b_b_header(Kind::Es256);
    h["exp"] = json!(1);
    h["crit"] = json!(["sigT", "exp"]);
    let ev = read_one(&hand_made(Kind::Es256, &h, &payload), &[]);
    assert!(ev.format_error.unwrap().contains("does not understand"));

    // The same name in both headers.
    let parts: Vec<&str> = good.split('.').collect();
    let both = json!({
        "payload": parts[1], "protected": parts[0], "signature": parts[2],
        "header": { "sigT": "2020-01-01T00:00:00Z" },
    });
    let ev = read_one(&both.to_string(), &[]);
    assert!(
        ev.format_error
            .unwrap()
            .contains("both in the protected and the unprotected")
    );
    let dup = format!(
        r#"{{"payload":"{}","protected":"{}","signature":"{}","signature":"{}"}}"#,
        parts[1], parts[0], parts[2], parts[2]
    );
    let ev = read_one(&dup, &[]);
    assert!(ev.format_error.unwrap().contains("duplicate member"));
    let dup_header = json::to_b64url(br#"{"alg":"ES256","alg":"none"}"#);
    let ev = read_one(&format!("{dup_header}.{}.{}", parts[1], parts[2]), &[]);
    assert!(ev.format_error.unwrap().contains("duplicate member"));
}

#[test]
fn object_id_by_uri_and_time_stamps_in_clear_elements() {
    let (_, s) = signer(Kind::Es256);
    let mut h = b_b_header(Kind::Es256);
    h["sigD"] = json!({ "mId": header::OBJECT_ID_BY_URI, "pars": ["a.txt", "dir/b%20c.txt"] });
    h["crit"] = json!(["sigT", "sigD"]);
    let payload = format!("{}{}", json::to_b64url(b"AAA"), json::to_b64url(b"B C"));
    let compact = hand_made(Kind::Es256, &h, &payload);
    let (protected, rest) = compact.split_once('.').unwrap();
    let signature = rest.rsplit_once('.').unwrap().1;
    let docs = [
        DetachedContent {
            name: Some("b c.txt".into()),
            bytes: b"B C".to_vec(),
        },
        DetachedContent {
            name: Some("a.txt".into()),
            bytes: b"AAA".to_vec(),
        },
    ];
    // A signature time-stamp and an archive time-stamp, as clear etsiU elements.
    let tsa = &fixture().pki;
    let sig_tst = tsa
        .timestamp(
            HashAlgorithm::Sha256,
            &HashAlgorithm::Sha256.digest(signature.as_bytes()),
        )
        .unwrap();
    let first = format!(
        r#"{{"sigTst":{{"tstTokens":[{{"val":"{}"}}]}}}}"#,
        BASE64.encode(&sig_tst)
    );
    let archived = format!("{payload}.{protected}.{signature}.{first}");
    let arc_tst = tsa
        .timestamp(
            HashAlgorithm::Sha384,
            &HashAlgorithm::Sha384.digest(archived.as_bytes()),
        )
        .unwrap();
    let second = format!(
        r#"{{"arcTst":{{"tstTokens":[{{"val":"{}"}}]}}}}"#,
        BASE64.encode(&arc_tst)
    );
    let text = format!(
        r#"{{"protected":"{protected}","header":{{"etsiU":[{first},{second}]}},"signature":"{signature}"}}"#
    );
    let ev = read_one(&text, &docs);
    assert_good(
        &ev,
        Kind::Es256,
        &[
            ("a.txt", Check::Passed, Check::Passed),
            ("dir/b%20c.txt", Check::Passed, Check::Passed),
        ],
    );
    assert_eq!(
        kinds(&ev),
        [TimestampKind::Signature, TimestampKind::Archive]
    );
    assert!(ev.certificates.contains(&s.certificate));

    // One document missing: not found, and nothing to verify the signature over.
    let [ev] = read(text.as_bytes(), &docs[..1], &Limits::default())
        .unwrap()
        .try_into()
        .unwrap();
    assert!(matches!(ev.signed_data[0].found, Check::Failed(_)));
    assert_eq!(ev.signed_data[1].found, Check::Passed);
    assert!(matches!(ev.signature_value, Check::NotChecked(_)));
    let parsed = Jws::parse(text.as_bytes(), &Limits::default()).unwrap();
    let sig = Signature::read(&parsed, &parsed.entries[0], &docs[..1]);
    assert!(imprint_matches(&sig, &sig.stamps[0]));
    assert!(sig.cover_parts(sig.stamps[1].cover, 0).is_err());
}

#[test]
fn hostile_input_never_panics() {
    let limits = Limits::default();
    let not = |input: &[u8]| {
        assert!(
            matches!(
                read(input, &[], &limits),
                Err(ValidationError::NotASignature(_))
            ),
            "{}",
            String::from_utf8_lossy(input)
        )
    };
    for garbage in [
        &b""[..],
        b"\xff\xfe",
        b"hello",
        b"a.b",
        b"a.b.c",
        b"a.b.c.d",
        b"[]",
        b"{}",
        b"{\"signatures\":[]}",
        b"{\"signatures\":5}",
        b"{\"payload\":\"x\"}",
        b"{\"signature\":",
        b"%%%.e30.AAAA",
    ] {
        not(garbage);
    }
    let big = vec![b'a'; 100];
    let small = Limits {
        max_document_bytes: 99,
        ..Limits::default()
    };
    assert!(matches!(
        read(&big, &[], &small),
        Err(ValidationError::TooLarge(_))
    ));
    let many = json!({ "payload": "", "signatures": vec![json!({}); MAX_SIGNATURES + 1] });
    assert!(matches!(
        read(many.to_string().as_bytes(), &[], &limits),
        Err(ValidationError::TooLarge(_))
    ));

    // Recognizably a JWS, but broken: a format failure, never a panic.
    for broken in [
        "e30.e30.AAAA",
        "eyJhbGciOiJFUzI1NiJ9.e30.%%",
        r#"{"signature":5}"#,
        r#"{"signature":"AAAA","protected":7}"#,
        r#"{"signatures":[1,{"protected":"e30"}]}"#,
        r#"{"signature":"AAAA","protected":"eyJhbGciOiJFUzI1NiJ9","header":[]}"#,
        r#"{"signature":"AAAA","protected":"eyJhbGciOiJFUzI1NiJ9","header":{"etsiU":{}}}"#,
        r#"{"signature":"AAAA","protected":"eyJhbGciOiJFUzI1NiJ9","signatures":[{}]}"#,
    ] {
        let out = read(broken.as_bytes(), &[], &limits).unwrap();
        assert!(!out.is_empty());
        assert!(
            out.iter().all(|e| e.format_error.is_some()),
            "{broken}: {out:?}"
        );
    }

    // Too many time-stamps for one file, too many certificates in x5c.
    let tokens = json!({ "tstTokens": vec![json!({ "val": "MAA=" }); 16] });
    let stamps = json!({
        "payload": "", "protected": "eyJhbGciOiJFUzI1NiJ9", "signature": "AAAA",
        "header": { "etsiU": vec![json!({ "sigTst": tokens }); 7] },
    });
    let [ev] = read(stamps.to_string().as_bytes(), &[], &limits)
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(
        ev.format_error.as_deref(),
        Some("the file holds more than 100 time-stamps")
    );
    let header = json!({ "alg": "ES256", "x5c": vec!["MAA="; 101] });
    let compact = format!(
        "{}.e30.AAAA",
        json::to_b64url(header.to_string().as_bytes())
    );
    let [ev] = read(compact.as_bytes(), &[], &limits)
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(
        ev.format_error.as_deref(),
        Some("x5c has 101 elements, more than the 100 accepted")
    );

    // Every prefix of a real B-LTA: an error or evidence, and no truncated one passes.
    let bytes = make(
        Kind::Es256,
        Level::BLta,
        Envelope::Attached,
        Content::Document(DOC.into()),
    );
    for cut in (0..bytes.len()).step_by(53) {
        if let Ok(evidence) = read(&bytes[..cut], &[], &limits) {
            assert!(
                evidence.iter().all(|e| e.signature_value != Check::Passed),
                "{cut}"
            );
        }
    }
}

/// jwcrypto signs a JWS with an `x5c` header and nothing of JAdES.
#[test]
fn a_jws_from_jwcrypto() {
    // INTEROP_VENV, else the venv in the (shared) target directory.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target")
        });
    let venv = std::env::var_os("INTEROP_VENV")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| target.join("interop-venv"));
    let python = venv.join("bin/python");
    if !python.exists() {
        assert!(
            std::env::var_os("SIGNET_REQUIRE_INTEROP").is_none(),
            "the interop venv is missing at {}",
            venv.display()
        );
        eprintln!("SKIPPED: no interop venv at {}", venv.display());
        return;
    }
    let script = r#"
import base64, datetime, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto import jwk, jws
from jwcrypto.common import json_encode
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jwcrypto")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(7)
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256()))
der = cert.public_bytes(serialization.Encoding.DER)
token = jws.JWS(b"hello from jwcrypto")
token.add_signature(jwk.JWK.from_pyca(key), None,
                    json_encode({"alg": "ES256", "x5c": [base64.b64encode(der).decode()]}))
print(token.serialize(compact=True))
print(token.serialize())
print(base64.b64encode(der).decode())
"#;
    let out = std::process::Command::new(&python)
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let [compact, flattened, cert] = lines.as_slice() else {
        panic!("{stdout}")
    };
    let cert = BASE64.decode(cert.as_bytes()).unwrap();
    for serialized in [compact, flattened] {
        let ev = read_one(serialized, &[]);
        assert_eq!(ev.format_error, None);
        assert_eq!(ev.signature_value, Check::Passed, "{serialized}");
        assert_eq!(ev.signing_certificate, Some(cert.clone()));
        assert!(matches!(
            ev.signing_certificate_reference,
            Check::NotChecked(_)
        ));
        assert_eq!(
            ev.signed_data,
            [SignedDataObject {
                name: "payload".into(),
                found: Check::Passed,
                intact: Check::Passed,
            }]
        );
        assert_eq!(
            ev.constraint_failures,
            [
                "the protected header has no signed reference to the signing certificate (x5t#S256, x5t#o or sigX5ts; TS 119 182-1 §6.3)",
                "the protected header has no claimed signing time (sigT; TS 119 182-1 §5.2.1)",
            ]
        );
    }
}
