//! signatures/signDoc with signature_format "J": JAdES baseline signatures (ETSI TS 119 182-1)
//! from the real server, judged by software we did not write: jwcrypto through
//! tests/interop/validate.sh (JWS signature, x5c chain to the Signet CA, crit headers
//! understood) and `openssl ts -verify` for the sigTst and arcTst time-stamp tokens over the
//! exact bytes TS 119 182-1 says they cover (recomputed here from the JWS, not taken from the
//! server). One changed byte in the payload or the signature must make jwcrypto reject.
//!
//! The interop tools follow interop_pyhanko.rs's rule: missing tools skip the validator part
//! unless SIGNET_REQUIRE_INTEROP is set.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::doc_signer::{DocSigner as Ctx, PIN};
use common::interop::{Interop, interop, run};
use common::*;
use data_encoding::BASE64URL_NOPAD;
use serde_json::{Value, json};

/// The nearest honest check of a `sigD` (ObjectIdByURIHash) signature over a document digest:
/// jwcrypto verifies the JWS over `BASE64URL(header).` (b64=false, empty detached payload, the
/// x5c key), then hashlib checks that the signed header commits to the document's SHA-256.
const SIGD_CHECK: &str = r#"
import base64, hashlib, json, sys
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jwcrypto import jwk, jws
from jwcrypto.common import JWSEHeaderParameter
tok = open(sys.argv[1]).read()
doc = open(sys.argv[2], 'rb').read()
reg = {n: JWSEHeaderParameter(n, False, True, None) for n in ['sigT', 'sigD', 'x5t#o']}
v = jws.JWS(header_registry=reg)
v.deserialize(tok)
hdr = v.jose_header
leaf = x509.load_der_x509_certificate(base64.b64decode(hdr['x5c'][0]))
key = jwk.JWK.from_pem(leaf.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
v.verify(key, detached_payload=b'')
d = hdr['sigD']
assert d['mId'] == 'http://uri.etsi.org/19182/ObjectIdByURIHash', d
assert d['hashM'] == 'S256', d
assert hdr['b64'] is False and 'sigD' in hdr['crit'] and 'b64' in hdr['crit'], hdr
want = base64.urlsafe_b64encode(hashlib.sha256(doc).digest()).rstrip(b'=').decode()
assert d['hashV'] == [want], (d['hashV'], want)
print('sigD: JWS verified, hashV is the document digest')
"#;

async fn setup_with(key: &str, env: &[(&str, &str)]) -> Ctx {
    Ctx::start(key, env).await
}

async fn setup(key: &str) -> Ctx {
    setup_with(key, &[]).await
}

impl Ctx {
    /// Another credential of the same user, under the same CA.
    fn add_credential(&self, key: &str) -> String {
        self.server.create_credential(
            &self.user,
            PIN,
            &["--key", key, "--scal", "1", "--multisign", "100"],
        )
    }

    async fn sad_for(&self, cred: &str, n: u32, hashes: Option<&[Vec<u8>]>) -> String {
        self.server
            .sad(&self.token, cred, n, hashes, Some(SHA256), PIN, None)
            .await
    }

    async fn sign_doc_with(&self, cred: &str, sad: &str, body: Value) -> (u16, Value) {
        let mut body = body;
        body["credentialID"] = json!(cred);
        body["SAD"] = json!(sad);
        self.server
            .post("/csc/v2/signatures/signDoc", Some(&self.token), &body)
            .await
    }

    /// signDoc of one document with `cred`: the reply.
    async fn try_sign(&self, cred: &str, doc: &[u8], opts: Value, algo: &str) -> (u16, Value) {
        self.try_sign_top(cred, doc, opts, algo, json!({})).await
    }

    /// As `try_sign`, with `top` merged into the request body (e.g. returnValidationInfo).
    async fn try_sign_top(
        &self,
        cred: &str,
        doc: &[u8],
        opts: Value,
        algo: &str,
        top: Value,
    ) -> (u16, Value) {
        let sad = self.sad_for(cred, 1, None).await;
        let mut entry = json!({ "document": b64(doc), "signAlgo": algo, "signature_format": "J" });
        if let Value::Object(m) = opts {
            for (k, v) in m {
                entry[k] = v;
            }
        }
        let mut body = json!({ "documents": [entry] });
        if let Value::Object(m) = top {
            for (k, v) in m {
                body[k] = v;
            }
        }
        self.sign_doc_with(cred, &sad, body).await
    }

    /// signDoc that must succeed: (output bytes, whether it came as SignatureObject).
    async fn sign(&self, cred: &str, doc: &[u8], opts: Value, algo: &str) -> (Vec<u8>, bool) {
        let reply = self.try_sign(cred, doc, opts, algo).await;
        assert_eq!(reply.0, 200, "signDoc failed: {}", reply.1);
        if let Some(s) = reply.1["SignatureObject"][0].as_str() {
            (unb64(s), true)
        } else {
            let d = reply.1["DocumentWithSignature"][0]
                .as_str()
                .expect("an output");
            (unb64(d), false)
        }
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        p
    }
}

fn unb64url(s: &str) -> Vec<u8> {
    BASE64URL_NOPAD.decode(s.as_bytes()).expect("base64url")
}

fn protected_header(entry: &Value) -> Value {
    serde_json::from_slice(&unb64url(entry["protected"].as_str().expect("protected")))
        .expect("protected header JSON")
}

/// The `etsiU` elements of one signature: (as written, decoded JSON).
fn etsi_u(entry: &Value) -> Vec<(String, Value)> {
    entry["header"]["etsiU"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    let s = e.as_str().expect("etsiU elements are base64url strings");
                    (
                        s.to_owned(),
                        serde_json::from_slice(&unb64url(s)).expect("etsiU JSON"),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Changes one character of a base64url string (staying in the alphabet).
fn flip_char(s: &str, at: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[at] = if b[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

fn level_file(level: &str) -> String {
    level.to_ascii_lowercase().replace("ades-", "")
}

/// Everything one JAdES signature entry must show at `level`, checked by jwcrypto and
/// openssl ts; `payload_b64` is the JWS Payload as it enters the signing input.
#[allow(clippy::too_many_arguments)]
fn check_signature(
    t: &Interop,
    ctx: &Ctx,
    tag: &str,
    level: &str,
    entry: &Value,
    payload_b64: &str,
    ca: &Path,
    expect_alg: &str,
) {
    let header = protected_header(entry);
    assert_eq!(header["alg"], expect_alg, "{tag}: {header}");
    assert!(header["sigT"].as_str().is_some_and(|s| s.ends_with('Z')));
    let crit = header["crit"].as_array().expect("crit");
    assert!(crit.contains(&json!("sigT")), "{tag}: {header}");
    let units = etsi_u(entry);
    let names: Vec<&str> = units
        .iter()
        .map(|(_, v)| {
            let m = v.as_object().expect("object");
            assert_eq!(m.len(), 1, "one property per etsiU element");
            m.keys().next().unwrap().as_str()
        })
        .collect();
    let expected: &[&str] = match level {
        "Ades-B-B" => &[],
        "Ades-B-T" => &["sigTst"],
        "Ades-B-LT" => &["sigTst", "xVals", "rVals"],
        _ => &["sigTst", "xVals", "rVals", "arcTst"],
    };
    assert_eq!(names, expected, "{tag}: etsiU");
    let signature = entry["signature"].as_str().expect("signature");
    for (i, (raw, v)) in units.iter().enumerate() {
        let token_of = |k: &str| unb64(v[k]["tstTokens"][0]["val"].as_str().expect("val"));
        match names[i] {
            "sigTst" => {
                // §5.3.4: over the base64url-encoded JWS Signature Value.
                let tok = ctx.write(&format!("{tag}-sigtst.der"), &token_of("sigTst"));
                let data = ctx.write(&format!("{tag}-sigtst.data"), signature.as_bytes());
                let (ok, log) = t.validate(&["tst".as_ref(), &tok, &data, ca]);
                assert!(ok, "{tag}: sigTst rejected by openssl ts:\n{log}");
                let other = ctx.write(
                    &format!("{tag}-sigtst.bad"),
                    flip_char(signature, 3).as_bytes(),
                );
                let (ok, _) = t.validate(&["tst".as_ref(), &tok, &other, ca]);
                assert!(!ok, "{tag}: sigTst accepted over other bytes");
            }
            "xVals" => {
                let certs = v["xVals"].as_array().expect("xVals");
                assert!(!certs.is_empty());
                for c in certs {
                    let der = unb64(c["x509Cert"]["val"].as_str().expect("x509Cert.val"));
                    assert_eq!(der[0], 0x30, "{tag}: a DER certificate");
                }
            }
            "rVals" => {
                let r = &v["rVals"];
                let ocsp = r["ocspVals"].as_array().map_or(0, Vec::len);
                let crl = r["crlVals"].as_array().map_or(0, Vec::len);
                assert!(ocsp + crl > 0, "{tag}: rVals without OCSP or CRL: {r}");
                for item in r["ocspVals"]
                    .as_array()
                    .into_iter()
                    .chain(r["crlVals"].as_array())
                    .flatten()
                {
                    assert_eq!(unb64(item["val"].as_str().expect("val"))[0], 0x30);
                }
            }
            "arcTst" => {
                // §5.3.6.3.1: payload '.' protected '.' signature '.' the etsiU strings
                // before arcTst.
                let mut input = format!(
                    "{payload_b64}.{}.{signature}.",
                    entry["protected"].as_str().unwrap()
                );
                for (s, _) in &units[..i] {
                    input.push_str(s);
                }
                let tok = ctx.write(&format!("{tag}-arctst.der"), &token_of("arcTst"));
                let data = ctx.write(&format!("{tag}-arctst.data"), input.as_bytes());
                let (ok, log) = t.validate(&["tst".as_ref(), &tok, &data, ca]);
                assert!(ok, "{tag}: arcTst rejected by openssl ts:\n{log}");
                assert!(!raw.is_empty());
            }
            other => panic!("unexpected {other}"),
        }
    }
}

/// Attached and Detached at one level with an ECDSA P-256 credential.
async fn matrix(level: &str) {
    let tools = interop();
    let ctx = setup("ec-p256").await;
    let ca = ctx.server.ca_pem();
    let lf = level_file(level);
    let data = format!("{{\"JAdES\": \"{level} test document\"}}").into_bytes();
    let data_path = ctx.write("data.json", &data);

    let reply = ctx
        .try_sign_top(
            &ctx.cred,
            &data,
            json!({
                "conformance_level": level,
                "signed_props": [
                    { "attribute_name": "commitment-type-indication", "attribute_value": "proofOfApproval" },
                    { "attribute_name": "signer-location", "attribute_value": "Brussels" },
                    { "attribute_name": "signer-role", "attribute_value": "Director" },
                    { "attribute_name": "mime-type", "attribute_value": "application/json" },
                ],
            }),
            ECDSA_SHA256,
            json!({ "returnValidationInfo": true }),
        )
        .await;
    assert_eq!(reply.0, 200, "{}", reply.1);
    assert!(reply.1.get("SignatureObject").is_none());
    let attached = unb64(
        reply.1["DocumentWithSignature"][0]
            .as_str()
            .expect("Attached comes as DocumentWithSignature"),
    );
    let info = &reply.1["validationInfo"];
    let (detached, detached_flag) = ctx
        .sign(
            &ctx.cred,
            &data,
            json!({ "conformance_level": level, "signed_envelope_property": "Detached" }),
            ECDSA_SHA256,
        )
        .await;
    assert!(detached_flag, "Detached comes as SignatureObject");

    let a: Value = serde_json::from_slice(&attached).expect("flattened JSON");
    let d: Value = serde_json::from_slice(&detached).expect("flattened JSON");
    let payload_b64 = BASE64URL_NOPAD.encode(&data);
    assert_eq!(a["payload"], json!(payload_b64));
    assert!(
        d.get("payload").is_none(),
        "RFC 7515 Appendix F: no payload"
    );
    let h = protected_header(&a);
    assert_eq!(h["cty"], "json");
    assert_eq!(
        h["srCms"],
        json!([{ "commId": { "id": "urn:oid:1.2.840.113549.1.9.16.6.5" } }])
    );
    assert_eq!(h["sigPl"]["addressLocality"], "Brussels");
    assert_eq!(h["srAts"]["claimed"][0]["qVals"], json!(["Director"]));
    assert_eq!(h["crit"], json!(["sigT", "srCms", "sigPl", "srAts"]));
    assert!(h["x5t#S256"].is_string());
    // B-LT and B-LTA embed exactly the validation data the reply lists: the certificates in
    // xVals, the CRLs and OCSP responses in rVals.
    if level.ends_with("LT") || level.ends_with("LTA") {
        let units = etsi_u(&a);
        let vals = |name: &str, pick: &dyn Fn(&Value) -> Option<&Vec<Value>>| -> Vec<String> {
            let mut out: Vec<String> = units
                .iter()
                .filter_map(|(_, v)| v.get(name))
                .filter_map(pick)
                .flatten()
                .map(|x| {
                    x.get("x509Cert")
                        .unwrap_or(x)
                        .get("val")
                        .and_then(Value::as_str)
                        .expect("val")
                        .to_owned()
                })
                .collect();
            out.sort();
            out
        };
        let listed = |k: &str| -> Vec<String> {
            let mut v: Vec<String> = info[k]
                .as_array()
                .expect(k)
                .iter()
                .map(|x| x.as_str().unwrap().to_owned())
                .collect();
            v.sort();
            v
        };
        assert!(
            !listed("ocsp").is_empty() || !listed("crl").is_empty(),
            "{info}"
        );
        assert_eq!(vals("xVals", &|v| v.as_array()), listed("certificates"));
        assert_eq!(vals("rVals", &|v| v["ocspVals"].as_array()), listed("ocsp"));
        assert_eq!(vals("rVals", &|v| v["crlVals"].as_array()), listed("crl"));
    }
    // ES256 is R || S: 64 bytes.
    assert_eq!(unb64url(a["signature"].as_str().unwrap()).len(), 64);

    let Some(t) = &tools else { return };
    for (name, jws, json_value, payload_file) in [
        ("attached", &attached, &a, None),
        ("detached", &detached, &d, Some(&data_path)),
    ] {
        let tag = format!("jades-{lf}-{name}");
        let file = ctx.write(&format!("{tag}.json"), jws);
        let mut args: Vec<&Path> = vec!["jades".as_ref(), &file, &ca];
        if let Some(p) = payload_file {
            args.push(p);
        }
        let (ok, log) = t.validate(&args);
        assert!(ok, "validate.sh jades rejected {level} {name}:\n{log}");
        check_signature(t, &ctx, &tag, level, json_value, &payload_b64, &ca, "ES256");

        // One changed byte in the payload, then in the signature.
        let (bad_file, bad_payload);
        let mut bad_args: Vec<&Path> = vec!["jades".as_ref()];
        match payload_file {
            None => {
                let mut v = json_value.clone();
                v["payload"] = json!(flip_char(&payload_b64, 0));
                bad_file = ctx.write("tampered.json", &serde_json::to_vec(&v).unwrap());
                bad_args.extend([bad_file.as_path(), ca.as_path()]);
            }
            Some(_) => {
                let mut bytes = data.clone();
                bytes[0] ^= 1;
                bad_payload = ctx.write("tampered.data", &bytes);
                bad_args.extend([file.as_path(), ca.as_path(), bad_payload.as_path()]);
            }
        }
        let (ok, log) = t.validate(&bad_args);
        assert!(
            !ok,
            "a tampered payload was accepted ({level} {name}):\n{log}"
        );
        let mut v = json_value.clone();
        v["signature"] = json!(flip_char(v["signature"].as_str().unwrap(), 5));
        let bad = ctx.write("tampered-sig.json", &serde_json::to_vec(&v).unwrap());
        let mut args: Vec<&Path> = vec!["jades".as_ref(), &bad, &ca];
        if let Some(p) = payload_file {
            args.push(p);
        }
        let (ok, log) = t.validate(&args);
        assert!(
            !ok,
            "a tampered signature was accepted ({level} {name}):\n{log}"
        );
    }
}

#[tokio::test]
async fn matrix_b_b() {
    matrix("Ades-B-B").await;
}

#[tokio::test]
async fn matrix_b_t() {
    matrix("Ades-B-T").await;
}

#[tokio::test]
async fn matrix_b_lt() {
    matrix("Ades-B-LT").await;
}

#[tokio::test]
async fn matrix_b_lta() {
    matrix("Ades-B-LTA").await;
}

/// RSA: RS256 at B-B and B-LTA, PS256 at B-B, RS384 (signing certificate by x5t#o); a PSS
/// salt JWS does not allow is refused.
#[tokio::test]
async fn rsa_pkcs1_and_pss() {
    let tools = interop();
    let ctx = setup("rsa-2048").await;
    let ca = ctx.server.ca_pem();
    let data = b"RSA JAdES".to_vec();
    let payload_b64 = BASE64URL_NOPAD.encode(&data);
    let pss = b64(&pss_params(SHA256));
    let mut outputs = Vec::new();
    for (tag, level, algo, opts, alg) in [
        ("rs256-bb", "Ades-B-B", RSA_SHA256, json!({}), "RS256"),
        ("rs256-blta", "Ades-B-LTA", RSA_SHA256, json!({}), "RS256"),
        (
            "ps256-bb",
            "Ades-B-B",
            RSASSA_PSS,
            json!({ "signAlgoParams": pss }),
            "PS256",
        ),
    ] {
        let mut opts = opts;
        opts["conformance_level"] = json!(level);
        let (out, _) = ctx.sign(&ctx.cred, &data, opts, algo).await;
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(protected_header(&v)["alg"], alg);
        assert_eq!(unb64url(v["signature"].as_str().unwrap()).len(), 256);
        outputs.push((tag, level, out, v, alg));
    }
    // The PSS salt of PS256 is the digest length (RFC 7518 §3.5): 222 is refused.
    let reply = ctx
        .try_sign(
            &ctx.cred,
            &data,
            json!({ "signAlgoParams": b64(&pss_params_with_salt(SHA256, 222)) }),
            RSASSA_PSS,
        )
        .await;
    let msg = expect_error(&reply, 400, "invalid_request");
    assert!(msg.contains("PS256") || msg.contains("salt"), "{msg}");

    let Some(t) = tools else { return };
    for (tag, level, out, v, alg) in &outputs {
        let file = ctx.write(&format!("{tag}.json"), out);
        let (ok, log) = t.validate(&["jades".as_ref(), &file, &ca]);
        assert!(ok, "validate.sh jades rejected {tag}:\n{log}");
        check_signature(&t, &ctx, tag, level, v, &payload_b64, &ca, alg);
        let mut bad = v.clone();
        bad["signature"] = json!(flip_char(v["signature"].as_str().unwrap(), 7));
        let file = ctx.write("bad.json", &serde_json::to_vec(&bad).unwrap());
        let (ok, _) = t.validate(&["jades".as_ref(), &file, &ca]);
        assert!(!ok, "{tag}: tampered signature accepted");
    }
}

/// A JAdES made by signDoc, signed again with Parallel by a second signer (another key under
/// the same CA): two entries in the general serialization, and each one verifies on its own.
#[tokio::test]
async fn parallel_adds_a_second_signature() {
    let tools = interop();
    let ctx = setup("ec-p256").await;
    let rsa = ctx.add_credential("rsa-2048");
    let ca = ctx.server.ca_pem();
    let data = b"signed twice".to_vec();
    let payload_b64 = BASE64URL_NOPAD.encode(&data);
    let (first, _) = ctx
        .sign(
            &ctx.cred,
            &data,
            json!({ "conformance_level": "Ades-B-T" }),
            ECDSA_SHA256,
        )
        .await;
    let (both, is_object) = ctx
        .sign(
            &rsa,
            &first,
            json!({ "conformance_level": "Ades-B-LTA", "signed_envelope_property": "Parallel" }),
            RSA_SHA256,
        )
        .await;
    assert!(!is_object);
    let f: Value = serde_json::from_slice(&first).unwrap();
    let g: Value = serde_json::from_slice(&both).unwrap();
    assert_eq!(g["payload"], json!(payload_b64));
    let sigs = g["signatures"].as_array().expect("general serialization");
    assert_eq!(sigs.len(), 2);
    // The first signature is carried over unchanged.
    assert_eq!(sigs[0]["protected"], f["protected"]);
    assert_eq!(sigs[0]["header"], f["header"]);
    assert_eq!(sigs[0]["signature"], f["signature"]);
    assert_eq!(protected_header(&sigs[1])["alg"], "RS256");

    // A third, ECDSA again, on top of the general serialization.
    let (three, _) = ctx
        .sign(
            &ctx.cred,
            &both,
            json!({ "signed_envelope_property": "Parallel" }),
            ECDSA_SHA256,
        )
        .await;
    let three: Value = serde_json::from_slice(&three).unwrap();
    assert_eq!(three["signatures"].as_array().unwrap().len(), 3);
    assert_eq!(three["signatures"][1], g["signatures"][1]);

    let Some(t) = tools else { return };
    let file = ctx.write("parallel.json", &both);
    let (ok, log) = t.validate(&["jades".as_ref(), &file, &ca]);
    assert!(
        ok,
        "validate.sh jades rejected the general serialization:\n{log}"
    );
    // jwcrypto accepts a general JWS when one signature verifies: check each one alone.
    for (i, (s, level, alg)) in [
        (&sigs[0], "Ades-B-T", "ES256"),
        (&sigs[1], "Ades-B-LTA", "RS256"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut flat = s.clone();
        flat["payload"] = g["payload"].clone();
        let file = ctx.write(
            &format!("parallel-{i}.json"),
            &serde_json::to_vec(&flat).unwrap(),
        );
        let (ok, log) = t.validate(&["jades".as_ref(), &file, &ca]);
        assert!(ok, "signature {i} of the parallel JWS rejected:\n{log}");
        check_signature(
            &t,
            &ctx,
            &format!("parallel-{i}"),
            level,
            &flat,
            &payload_b64,
            &ca,
            alg,
        );
        let mut bad = flat.clone();
        bad["signature"] = json!(flip_char(flat["signature"].as_str().unwrap(), 4));
        let file = ctx.write("bad.json", &serde_json::to_vec(&bad).unwrap());
        let (ok, _) = t.validate(&["jades".as_ref(), &file, &ca]);
        assert!(!ok, "signature {i}: tampered signature accepted");
    }
    let mut bad = g.clone();
    bad["payload"] = json!(flip_char(&payload_b64, 1));
    let file = ctx.write("bad-general.json", &serde_json::to_vec(&bad).unwrap());
    let (ok, log) = t.validate(&["jades".as_ref(), &file, &ca]);
    assert!(!ok, "a tampered parallel payload was accepted:\n{log}");
}

/// CSC documentDigests: Detached with sigD (ObjectIdByURIHash, b64=false); Attached and
/// B-LTA need the document and are refused.
#[tokio::test]
async fn document_digests_use_sig_d() {
    let tools = interop();
    let ctx = setup("ec-p256").await;
    let ca = ctx.server.ca_pem();
    let data = b"JAdES by digest".to_vec();
    let digest = sha256(&data);
    let body = |level: &str, envelope: Option<&str>| {
        let mut d = json!({
            "hashes": [b64(&digest)], "hashAlgorithmOID": SHA256,
            "signature_format": "J", "conformance_level": level, "signAlgo": ECDSA_SHA256,
        });
        if let Some(e) = envelope {
            d["signed_envelope_property"] = json!(e);
        }
        json!({ "documentDigests": [d] })
    };
    let sad = ctx
        .sad_for(&ctx.cred, 1, Some(std::slice::from_ref(&digest)))
        .await;
    let reply = ctx
        .sign_doc_with(&ctx.cred, &sad, body("Ades-B-LT", None))
        .await;
    assert_eq!(reply.0, 200, "{}", reply.1);
    assert!(reply.1.get("DocumentWithSignature").is_none());
    let jws = unb64(
        reply.1["SignatureObject"][0]
            .as_str()
            .expect("SignatureObject"),
    );
    let v: Value = serde_json::from_slice(&jws).unwrap();
    assert!(v.get("payload").is_none());
    let h = protected_header(&v);
    assert_eq!(
        h["sigD"],
        json!({
            "mId": "http://uri.etsi.org/19182/ObjectIdByURIHash",
            "pars": ["document"],
            "hashM": "S256",
            "hashV": [BASE64URL_NOPAD.encode(&digest)],
            "ctys": ["octet-stream"],
        })
    );
    assert_eq!(h["b64"], false);
    assert_eq!(h["crit"], json!(["sigT", "sigD", "b64"]));

    for (level, envelope, needle) in [
        ("Ades-B-B", Some("Attached"), "Detached"),
        ("Ades-B-LTA", None, "archive"),
    ] {
        let reply = ctx
            .sign_doc_with(&ctx.cred, &sad, body(level, envelope))
            .await;
        let msg = expect_error(&reply, 400, "invalid_request");
        assert!(msg.contains(needle), "{msg}");
    }

    let Some(t) = tools else { return };
    let file = ctx.write("sigd.json", &jws);
    let doc = ctx.write("sigd.data", &data);
    let (ok, log) = run(Command::new(t.python())
        .arg("-c")
        .arg(SIGD_CHECK)
        .arg(&file)
        .arg(&doc));
    assert!(ok, "sigD check failed:\n{log}");
    // The generic validator too: an empty detached payload (b64=false).
    let empty = ctx.write("empty", b"");
    let (ok, log) = t.validate(&["jades".as_ref(), &file, &ca, &empty]);
    assert!(ok, "validate.sh jades rejected the sigD signature:\n{log}");
    check_signature(&t, &ctx, "sigd", "Ades-B-LT", &v, "", &ca, "ES256");
    // Another document does not match hashV.
    let other = ctx.write("other.data", b"JAdES by digesT");
    let (ok, _) = run(Command::new(t.python())
        .arg("-c")
        .arg(SIGD_CHECK)
        .arg(&file)
        .arg(&other));
    assert!(!ok, "the sigD check accepted another document");
    let mut bad = v.clone();
    bad["signature"] = json!(flip_char(v["signature"].as_str().unwrap(), 2));
    let file = ctx.write("bad.json", &serde_json::to_vec(&bad).unwrap());
    let (ok, _) = t.validate(&["jades".as_ref(), &file, &ca, &empty]);
    assert!(!ok, "a tampered sigD signature was accepted");
}

/// Hostile documents and parameters: 400 invalid_request with a message, never 500; a
/// document outside the SAD: 403 invalid_hash.
#[tokio::test]
async fn hostile_inputs_are_refused() {
    let ctx = setup_with(
        "ec-p256",
        &[("SIGNET_LIMITS__MAX_DOCUMENT_BYTES", "200000")],
    )
    .await;
    let parallel = json!({ "signed_envelope_property": "Parallel" });
    let deep = format!(
        r#"{{"payload":"aGk","signatures":[{{"protected":"eyJhbGciOiJFUzI1NiJ9","signature":"AAAA","header":{}1{}}}]}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let detached = r#"{"protected":"eyJhbGciOiJFUzI1NiJ9","signature":"AAAA"}"#;
    let duplicate = r#"{"payload":"aGk","payload":"aGk","protected":"eyJhbGciOiJFUzI1NiJ9","signature":"AAAA"}"#;
    let not_object = r#"{"payload":"aGk","signatures":[1]}"#;
    for (what, doc, needle) in [
        ("text", "hello, world".to_string(), "compact"),
        ("deep", deep, "nested"),
        ("detached", detached.to_string(), "payload"),
        ("duplicate", duplicate.to_string(), "duplicate"),
        ("not an object", not_object.to_string(), "object"),
        (
            "truncated",
            r#"{"payload":"aGk","signatures":[{"#.to_string(),
            "JSON",
        ),
    ] {
        let reply = ctx
            .try_sign(&ctx.cred, doc.as_bytes(), parallel.clone(), ECDSA_SHA256)
            .await;
        let msg = expect_error(&reply, 400, "invalid_request");
        assert!(msg.contains(needle), "{what}: {msg}");
    }
    let huge = vec![b'a'; 300_000];
    let reply = ctx
        .try_sign(&ctx.cred, &huge, json!({}), ECDSA_SHA256)
        .await;
    let msg = expect_error(&reply, 400, "invalid_request");
    assert!(msg.contains("limit"), "{msg}");
    // P-256 with SHA-384 has no JWS algorithm (ES384 is P-384).
    let reply = ctx.try_sign(&ctx.cred, b"x", json!({}), ECDSA_SHA384).await;
    let msg = expect_error(&reply, 400, "invalid_request");
    assert!(msg.contains("JWS"), "{msg}");
    // A document outside the authorization.
    let sad = ctx
        .sad_for(&ctx.cred, 1, Some(&[sha256(b"authorized")]))
        .await;
    let reply = ctx
        .sign_doc_with(
            &ctx.cred,
            &sad,
            json!({ "documents": [{ "document": b64(b"another"), "signature_format": "J", "signAlgo": ECDSA_SHA256 }] }),
        )
        .await;
    expect_error(&reply, 403, "invalid_hash");
    // Still serving.
    let (out, _) = ctx.sign(&ctx.cred, b"after", json!({}), ECDSA_SHA256).await;
    assert!(serde_json::from_slice::<Value>(&out).is_ok());
}
