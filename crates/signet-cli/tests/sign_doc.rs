//! signatures/signDoc end to end: the real server builds CAdES and PAdES signatures at every
//! level and envelope, and software we did not write judges them (tests/interop/validate.sh:
//! pyHanko and poppler's pdfsig for PAdES, openssl cms and pyHanko for CAdES; pyHanko's AdES
//! validator with revocation checking for PAdES B-LT/B-LTA; openssl ts for the CAdES archive
//! time-stamp). One flipped byte must make them reject every output. Also: sole control over
//! the documents, hostile inputs, `info`.
//!
//! The interop tools follow interop_pyhanko.rs's rule: missing tools skip the validator part
//! unless SIGNET_REQUIRE_INTEROP is set.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::doc_signer::{DocSigner as Ctx, PIN, minimal_pdf};
use common::interop::{interop, run};
use common::*;
use serde_json::{Value, json};

impl common::interop::Interop {
    /// pyHanko's AdES validator (EN 319 102-1 with the LTA process) with revocation
    /// information required and the Signet CA as the only trust root.
    fn ades_verify(&self, pdf: &Path, ca: &Path) -> (bool, String) {
        let (ok, text) = run(Command::new(self.venv.join("bin/pyhanko")).args([
            "sign".as_ref(),
            "adesverify".as_ref(),
            "--trust".as_ref(),
            ca.as_os_str(),
            "--trust-replace".as_ref(),
            "--pretty-print".as_ref(),
            pdf.as_os_str(),
        ]));
        (ok && text.contains("judged VALID"), text)
    }

    /// pyHanko's PDF validator with a ValidationContext that fetches the CRL and OCSP
    /// responses the certificates point at (the test server) and fails hard without them.
    fn validate_online(&self, pdf: &Path, ca: &Path) -> (bool, String) {
        run(Command::new(self.python())
            .arg("-c")
            .arg(ONLINE_CHECK)
            .arg(pdf)
            .arg(ca))
    }

    /// The CAdES archive-time-stamp-v3 check below.
    fn check_ats_v3(&self, p7s: &Path, data: Option<&Path>, ca: &Path) -> (bool, String) {
        let mut cmd = Command::new(self.python());
        cmd.arg("-c").arg(ATS_V3_CHECK).arg(p7s).arg(ca);
        if let Some(d) = data {
            cmd.arg(d);
        }
        run(&mut cmd)
    }

    /// A PDF from pyHanko's writer: `pages` pages, a cross-reference stream or table, and an
    /// optional stream of `filler` random bytes (to reach a size).
    fn make_pdf(&self, out: &Path, pages: usize, xref_stream: bool, filler: usize) {
        let (ok, log) = run(Command::new(self.python())
            .arg("-c")
            .arg(MAKE_PDF)
            .arg(out)
            .arg(pages.to_string())
            .arg(if xref_stream { "1" } else { "0" })
            .arg(filler.to_string()));
        assert!(ok, "make_pdf failed: {log}");
    }
}

const MAKE_PDF: &str = r#"
import os, sys
from pyhanko.pdf_utils import generic, writer
out, pages, xs, filler = sys.argv[1], int(sys.argv[2]), sys.argv[3] == '1', int(sys.argv[4])
w = writer.PdfFileWriter(stream_xrefs=xs)
for i in range(pages):
    box = generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 595, 842)])
    content = generic.StreamObject(stream_data=b'BT /F1 12 Tf 72 720 Td (page %d) Tj ET' % i)
    page = writer.PageObject(contents=w.add_object(content), media_box=box)
    w.insert_page(page)
if filler:
    w.root['/SignetFiller'] = w.add_object(generic.StreamObject(stream_data=os.urandom(filler)))
with open(out, 'wb') as f:
    w.write(f)
"#;

const ONLINE_CHECK: &str = r#"
import sys
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
root = load_cert_from_pemder(sys.argv[2])
with open(sys.argv[1], 'rb') as f:
    r = PdfFileReader(f)
    for sig in r.embedded_regular_signatures:
        # The signer certificate points at the test server's OCSP responder and CRL, so
        # hard-fail checking really fetches them.
        cert = sig.signer_cert
        assert cert.ocsp_urls and cert.crl_distribution_points, 'no revocation URLs'
        vc = ValidationContext(trust_roots=[root], allow_fetching=True, revocation_mode='hard-fail')
        status = validate_pdf_signature(sig, vc)
        print(status.pretty_print_details())
        assert status.bottom_line, sig.field_name
        assert status.trusted, sig.field_name
print('online revocation check: VALID')
"#;

/// An independent recomputation of the CAdES archive-time-stamp-v3 (EN 319 122-1 §5.5.3)
/// with asn1crypto's DER parser, then `openssl ts -verify` of the token over that digest.
const ATS_V3_CHECK: &str = r#"
import hashlib, subprocess, sys, tempfile
from asn1crypto import cms, core, tsp
class Anys(core.SequenceOf):
    _child_spec = core.Any
class Octets(core.SequenceOf):
    _child_spec = core.OctetString
p7s, ca = sys.argv[1], sys.argv[2]
ci = cms.ContentInfo.load(open(p7s, 'rb').read())
sd = ci['content']
content = sd['encap_content_info']['content']
data = content.native if content.native is not None else open(sys.argv[3], 'rb').read()
found = 0
for si in sd['signer_infos']:
    attrs = si['unsigned_attrs']
    if isinstance(attrs, core.Void) or len(attrs) == 0:
        continue
    ats = [a for a in attrs if a['type'].dotted == '0.4.0.1733.2.4']
    if not ats:
        continue
    token = cms.ContentInfo.load(ats[0]['values'][0].dump())
    tsd = token['content']
    tst = tsp.TSTInfo.load(tsd['encap_content_info']['content'].parsed.dump())
    alg = tst['message_imprint']['hash_algorithm']['algorithm'].native
    h = lambda b: hashlib.new(alg, b).digest()
    index = [a for a in tsd['signer_infos'][0]['unsigned_attrs'] if a['type'].dotted == '0.4.0.19122.1.5'][0]['values'][0]
    parts = list(Anys.load(index.dump()))
    if len(parts) == 4:
        parts = parts[1:]
    assert len(parts) == 3, 'ATSHashIndexV3 has three indexes'
    certs, crls, attr_vals = [[o.native for o in Octets.load(p.dump())] for p in parts]
    have_certs = {h(c.dump()) for c in sd['certificates']}
    have_crls = set() if isinstance(sd['crls'], core.Void) else {h(c.dump()) for c in sd['crls']}
    # Values added after the time-stamp (a later parallel signer's) need not be indexed.
    assert set(certs) <= have_certs, 'certificatesHashIndex'
    assert set(crls) <= have_crls, 'crlsHashIndex'
    others = [a for a in attrs if a['type'].dotted != '0.4.0.1733.2.4']
    expected = {h(a['type'].dump() + v.dump()) for a in others for v in a['values']}
    assert set(attr_vals) == expected, 'unsignedAttrValuesHashIndex'
    fields = b''.join(si[k].dump() for k in ('version', 'sid', 'digest_algorithm', 'signed_attrs', 'signature_algorithm', 'signature'))
    message = sd['encap_content_info']['content_type'].dump() + h(data) + fields + index.dump()
    digest = h(message)
    assert digest == tst['message_imprint']['hashed_message'].native, 'messageImprint'
    with tempfile.NamedTemporaryFile() as t:
        t.write(token.dump()); t.flush()
        subprocess.run(['openssl', 'ts', '-verify', '-digest', digest.hex(), '-in', t.name, '-token_in', '-CAfile', ca], check=True)
    found += 1
assert found >= 1, 'no archive-time-stamp-v3 attribute'
print('archive-time-stamp-v3: imprint recomputed, token verified')
"#;

/// A server, a user with a token, and an SCAL1 credential good for many signatures.
async fn setup(key: &str) -> Ctx {
    setup_with(key, &[]).await
}

async fn setup_with(key: &str, env: &[(&str, &str)]) -> Ctx {
    Ctx::start(key, env).await
}

impl Ctx {
    /// signDoc of one document that must succeed: the output bytes and the whole reply.
    async fn sign_one(&self, doc: &[u8], opts: Value, sign_algo: &str) -> (Vec<u8>, Value) {
        let sad = self.sad(1, None).await;
        let mut entry = json!({ "document": b64(doc), "signAlgo": sign_algo });
        if let Value::Object(m) = opts {
            for (k, v) in m {
                entry[k] = v;
            }
        }
        let reply = self.sign_doc(&sad, json!({ "documents": [entry] })).await;
        assert_eq!(reply.0, 200, "signDoc failed: {}", reply.1);
        let out = reply.1["DocumentWithSignature"][0]
            .as_str()
            .or(reply.1["SignatureObject"][0].as_str())
            .expect("an output");
        (unb64(out), reply.1)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        p
    }
}

/// Flips one byte of a signed output where every validator must notice: for a PDF in the
/// original document (covered by every /ByteRange), for a CMS in the message-digest value.
fn tamper(bytes: &[u8], message_digest: Option<&[u8]>) -> Vec<u8> {
    let mut t = bytes.to_vec();
    let at = match message_digest {
        None => 12,
        Some(md) => {
            t.windows(md.len())
                .position(|w| w == md)
                .expect("message-digest in the CMS")
                + 3
        }
    };
    t[at] ^= 0x01;
    t
}

fn level_file(level: &str) -> String {
    level.to_ascii_lowercase().replace("ades-", "")
}

/// Every envelope at one level: signed by the real server, judged by the validators.
async fn matrix(level: &str) {
    let tools = interop();
    let ctx = setup("ec-p256").await;
    let ca = ctx.server.ca_pem();
    let lf = level_file(level);

    // PAdES: Certification and Revision, on a pyHanko PDF (classic xref table) and, for
    // Revision, one with a cross-reference stream.
    let pdf_path = ctx.dir.path().join("doc.pdf");
    let xs_path = ctx.dir.path().join("doc-xs.pdf");
    let (pdf, xs_pdf) = match &tools {
        Some(t) => {
            t.make_pdf(&pdf_path, 2, false, 0);
            t.make_pdf(&xs_path, 1, true, 0);
            (
                std::fs::read(&pdf_path).unwrap(),
                std::fs::read(&xs_path).unwrap(),
            )
        }
        None => (minimal_pdf(), minimal_pdf()),
    };
    for (envelope, doc, tag) in [
        ("Certification", &pdf, "table"),
        ("Revision", &pdf, "table"),
        ("Revision", &xs_pdf, "xrefstream"),
    ] {
        let (out, _) = ctx
            .sign_one(
                doc,
                json!({
                    "signature_format": "P",
                    "conformance_level": level,
                    "signed_envelope_property": envelope,
                    "signed_props": [
                        { "attribute_name": "Reason", "attribute_value": "Approved" },
                        { "attribute_name": "Location", "attribute_value": "Bruxelles / Brussel" },
                    ],
                }),
                ECDSA_SHA256,
            )
            .await;
        assert!(out.starts_with(doc), "PAdES must append, never rewrite");
        let file = ctx.write(&format!("pades-{lf}-{envelope}-{tag}.pdf"), &out);
        let Some(t) = &tools else { continue };
        let (ok, log) = t.validate(&["pades".as_ref(), &file, &ca]);
        assert!(
            ok,
            "validate.sh pades rejected {level} {envelope} {tag}:\n{log}"
        );
        if level.ends_with("LT") || level.ends_with("LTA") {
            let (ok, log) = t.ades_verify(&file, &ca);
            assert!(
                ok,
                "pyHanko adesverify (revocation required) rejected {level} {envelope}:\n{log}"
            );
        } else {
            let (ok, log) = t.validate_online(&file, &ca);
            assert!(
                ok,
                "pyHanko with online revocation checking rejected {level} {envelope}:\n{log}"
            );
        }
        let bad = ctx.write("tampered.pdf", &tamper(&out, None));
        let (ok, log) = t.validate(&["pades".as_ref(), &bad, &ca]);
        assert!(
            !ok,
            "a tampered PAdES {level} {envelope} was accepted:\n{log}"
        );
    }

    // CAdES: Attached, Detached, and Parallel on top of the attached one.
    let data = format!("CAdES {level} test document\n").into_bytes();
    let data_path = ctx.write("data.txt", &data);
    let md = sha256(&data);
    let (attached, _) = ctx
        .sign_one(
            &data,
            json!({
                "signature_format": "C",
                "conformance_level": level,
                "signed_props": [
                    { "attribute_name": "commitment-type-indication", "attribute_value": "proofOfApproval" },
                    { "attribute_name": "signer-location", "attribute_value": "Brussels" },
                    { "attribute_name": "content-hints", "attribute_value": "a test" },
                ],
            }),
            ECDSA_SHA256,
        )
        .await;
    let (detached, _) = ctx
        .sign_one(
            &data,
            json!({ "signature_format": "C", "conformance_level": level, "signed_envelope_property": "Detached" }),
            ECDSA_SHA256,
        )
        .await;
    let (parallel, _) = ctx
        .sign_one(
            &attached,
            json!({ "signature_format": "C", "conformance_level": level, "signed_envelope_property": "Parallel" }),
            ECDSA_SHA256,
        )
        .await;
    let Some(t) = &tools else { return };
    for (name, cms, detached_data) in [
        ("attached", &attached, None),
        ("detached", &detached, Some(&data_path)),
        ("parallel", &parallel, None),
    ] {
        let file = ctx.write(&format!("cades-{lf}-{name}.p7s"), cms);
        let content: &Path = detached_data.map_or("-".as_ref(), |p| p.as_path());
        let (ok, log) = t.validate(&["cades".as_ref(), &file, content, &ca]);
        assert!(ok, "validate.sh cades rejected {level} {name}:\n{log}");
        if level.ends_with("LTA") {
            let (ok, log) = t.check_ats_v3(&file, detached_data.map(|p| p.as_path()), &ca);
            assert!(ok, "archive-time-stamp-v3 check failed ({name}):\n{log}");
        }
        let bad = ctx.write("tampered.p7s", &tamper(cms, Some(&md)));
        let (ok, log) = t.validate(&["cades".as_ref(), &bad, content, &ca]);
        assert!(!ok, "a tampered CAdES {level} {name} was accepted:\n{log}");
    }
}

#[tokio::test]
async fn matrix_b_b() {
    matrix("Ades-B-B").await;
}

#[tokio::test]
async fn matrix_b_t() {
    matrix("AdES-B-T").await;
}

#[tokio::test]
async fn matrix_b_lt() {
    matrix("ADES_B_LT").await;
}

#[tokio::test]
async fn matrix_b_lta() {
    matrix("Ades-B-LTA").await;
}

#[tokio::test]
async fn rsa_pss_and_pkcs1() {
    let tools = interop();
    let ctx = setup("rsa-2048").await;
    let ca = ctx.server.ca_pem();
    let pss = b64(&pss_params(SHA256));
    let (pdf, _) = ctx
        .sign_one(
            &minimal_pdf(),
            json!({ "signature_format": "P", "conformance_level": "Ades-B-T", "signAlgoParams": pss }),
            RSASSA_PSS,
        )
        .await;
    let data = b"RSA PKCS#1 v1.5".to_vec();
    let (cms, _) = ctx
        .sign_one(
            &data,
            json!({ "signature_format": "C", "signed_envelope_property": "Detached", "hashAlgorithmOID": SHA256 }),
            RSA_ENCRYPTION,
        )
        .await;
    let Some(t) = tools else { return };
    let file = ctx.write("pss.pdf", &pdf);
    let (ok, log) = t.validate(&["pades".as_ref(), &file, &ca]);
    assert!(ok, "{log}");
    let (sig, data_path) = (ctx.write("rsa.p7s", &cms), ctx.write("rsa.txt", &data));
    let (ok, log) = t.validate(&["cades".as_ref(), &sig, &data_path, &ca]);
    assert!(ok, "{log}");
}

#[tokio::test]
async fn document_digests() {
    let tools = interop();
    let ctx = setup("ec-p256").await;
    let data = b"signed by digest".to_vec();
    let digest = sha256(&data);
    let sad = ctx.sad(1, Some(std::slice::from_ref(&digest))).await;
    let reply = ctx
        .sign_doc(
            &sad,
            json!({
                "documentDigests": [{
                    "hashes": [b64(&digest)], "hashAlgorithmOID": SHA256,
                    "signature_format": "C", "conformance_level": "Ades-B-LT",
                    "signAlgo": ECDSA_SHA256,
                }],
                "returnValidationInfo": true,
            }),
        )
        .await;
    assert_eq!(reply.0, 200, "{}", reply.1);
    let cms = unb64(
        reply.1["SignatureObject"][0]
            .as_str()
            .expect("SignatureObject"),
    );
    assert!(reply.1.get("DocumentWithSignature").is_none());
    let info = &reply.1["validationInfo"];
    for k in ["ocsp", "crl", "certificates"] {
        assert!(
            !info[k].as_array().expect(k).is_empty(),
            "validationInfo.{k}: {info}"
        );
    }
    // PAdES over a byte-range digest: the CMS for the client to embed (B-T at most).
    let sad = ctx.sad(1, Some(std::slice::from_ref(&digest))).await;
    let reply = ctx
        .sign_doc(
            &sad,
            json!({ "documentDigests": [{ "hashes": [b64(&digest)], "signature_format": "P",
                     "conformance_level": "Ades-B-T", "signAlgo": ECDSA_SHA256 }],
                    "returnValidationInformation": true }),
        )
        .await;
    assert_eq!(reply.0, 200, "{}", reply.1);
    assert!(reply.1["validationInfo"]["ocsp"].as_array().is_some());
    let reply = ctx
        .sign_doc(
            &sad,
            json!({ "documentDigests": [{ "hashes": [b64(&digest)], "signature_format": "P",
                     "conformance_level": "Ades-B-LT", "signAlgo": ECDSA_SHA256 }] }),
        )
        .await;
    let msg = expect_error(&reply, 400, "invalid_request");
    assert!(msg.contains("DSS"), "{msg}");
    let Some(t) = tools else { return };
    let (sig, data_path) = (ctx.write("d.p7s", &cms), ctx.write("d.txt", &data));
    let (ok, log) = t.validate(&["cades".as_ref(), &sig, &data_path, &ctx.server.ca_pem()]);
    assert!(ok, "{log}");
}

/// A TSA that is down when the request comes costs no authorization: the time-stamping source
/// is checked before the SAD is spent, so the client gets 503 and the same SAD signs once the
/// level needs no TSA (or the TSA is back).
#[tokio::test]
async fn tsa_down_before_signing_spends_no_sad() {
    // Port 9 on loopback: nothing listens, connections are refused at once.
    let ctx = setup_with("ec-p256", &[("SIGNET_TSA__URL", "http://127.0.0.1:9/tsa")]).await;
    let doc = b"a contract".to_vec();
    let sad = ctx.sad(1, Some(&[sha256(&doc)])).await;
    let entry = |level: &str| {
        json!({ "documents": [{ "document": b64(&doc), "signature_format": "C",
            "conformance_level": level, "signAlgo": ECDSA_SHA256 }] })
    };
    for level in ["Ades-B-T", "Ades-B-LTA"] {
        let reply = ctx.sign_doc(&sad, entry(level)).await;
        let msg = expect_error(&reply, 503, "temporarily_unavailable");
        assert!(
            msg.starts_with("documents[0]: time-stamping failed"),
            "{msg}"
        );
        assert!(!msg.contains(&sad), "{msg}");
    }
    let reply = ctx.sign_doc(&sad, entry("Ades-B-B")).await;
    assert_eq!(reply.0, 200, "{}", reply.1);
    assert_eq!(
        reply.1["DocumentWithSignature"].as_array().map(Vec::len),
        Some(1)
    );
    // Now spent.
    let reply = ctx.sign_doc(&sad, entry("Ades-B-B")).await;
    expect_error(&reply, 400, "invalid_request");
}

#[tokio::test]
async fn sole_control_binds_the_documents() {
    let server = Server::start();
    let user = server.add_user("alice");
    let cred = server.create_credential(&user, PIN, &["--multisign", "2"]);
    let token = server.login(&user).await;
    let (a, b) = (minimal_pdf(), b"another document".to_vec());
    let entry = |doc: &[u8], f: &str| json!({ "document": b64(doc), "signature_format": f, "signAlgo": ECDSA_SHA256 });
    let post = |sad: String, docs: Vec<Value>| {
        let body = json!({ "credentialID": cred, "SAD": sad, "documents": docs });
        let (server, token) = (&server, &token);
        async move {
            server
                .post("/csc/v2/signatures/signDoc", Some(token), &body)
                .await
        }
    };

    // A document outside the authorization: 403 invalid_hash, and the SAD is not spent.
    let otp = server.fresh_otp(&user);
    let sad = server
        .sad(
            &token,
            &cred,
            1,
            Some(&[sha256(&a)]),
            Some(SHA256),
            PIN,
            Some(&otp),
        )
        .await;
    let reply = post(sad.clone(), vec![entry(&b, "C")]).await;
    expect_error(&reply, 403, "invalid_hash");
    // Two documents with a SAD for one: 400.
    let reply = post(sad.clone(), vec![entry(&a, "P"), entry(&a, "P")]).await;
    let msg = expect_error(&reply, 400, "invalid_request");
    assert!(msg.contains("too high"), "{msg}");
    // The authorized document: signed, once.
    let reply = post(sad.clone(), vec![entry(&a, "P")]).await;
    assert_eq!(reply.0, 200, "{}", reply.1);
    // Replay: 400.
    let reply = post(sad, vec![entry(&a, "P")]).await;
    expect_error(&reply, 400, "invalid_request");

    // Two documents authorized together, signed together.
    let otp = server.fresh_otp(&user);
    let sad = server
        .sad(
            &token,
            &cred,
            2,
            Some(&[sha256(&a), sha256(&b)]),
            Some(SHA256),
            PIN,
            Some(&otp),
        )
        .await;
    let reply = post(sad, vec![entry(&b, "C"), entry(&a, "P")]).await;
    assert_eq!(reply.0, 200, "{}", reply.1);
    assert_eq!(
        reply.1["DocumentWithSignature"].as_array().unwrap().len(),
        2
    );

    // The audit log names the documents and the DTBS/R.
    let audit = server.audit_export();
    let created: Vec<&Value> = audit
        .iter()
        .filter(|r| r["kind"] == "signature.create")
        .collect();
    assert_eq!(created.len(), 2, "{audit:?}");
    let last = created[1].to_string();
    assert!(
        last.contains(&data_encoding::HEXLOWER.encode(&sha256(&b))),
        "{last}"
    );
    assert!(last.contains("documents"), "{last}");
}

/// Hostile and malformed requests: every one a 400 with a message, the SAD untouched, the
/// server alive.
#[tokio::test]
async fn hostile_inputs_are_refused() {
    let ctx = setup_with(
        "ec-p256",
        &[
            ("SIGNET_LIMITS__MAX_DOCUMENT_BYTES", "200000"),
            ("SIGNET_LIMITS__MAX_PDF_OBJECTS", "50"),
        ],
    )
    .await;
    let sad = ctx.sad(2, None).await;
    let pdf = minimal_pdf();
    let doc = |bytes: &[u8], f: &str| json!({ "document": b64(bytes), "signature_format": f, "signAlgo": ECDSA_SHA256 });

    let truncated = pdf[..pdf.len() - 30].to_vec();
    let mut broken_xref = pdf.clone();
    let at = broken_xref
        .windows(6)
        .rposition(|w| w == b"\nxref\n")
        .unwrap();
    // Corrupt the first in-use entry's offset.
    broken_xref[at + 35] = b'X';
    let bad_startxref = String::from_utf8_lossy(&pdf)
        .replace("startxref\n", "startxref\n9")
        .into_bytes();
    let encrypted = String::from_utf8_lossy(&pdf)
        .replace(
            "/Root 1 0 R",
            "/Root 1 0 R /Encrypt << /Filter /Standard /V 1 /R 2 /O <00> /U <00> /P -4 >>",
        )
        .into_bytes();
    let nested = {
        let deep = "[".repeat(5000) + &"]".repeat(5000);
        String::from_utf8_lossy(&pdf)
            .replace("/MediaBox", &format!("/Deep {deep} /MediaBox"))
            .into_bytes()
    };
    let no_pages = String::from_utf8_lossy(&pdf)
        .replace("/Kids [3 0 R]", "/Kids []")
        .into_bytes();
    let cyclic = String::from_utf8_lossy(&pdf)
        .replace("/Kids [3 0 R]", "/Kids [2 0 R]")
        .into_bytes();
    let huge = vec![b'%'; 300_000];
    let many_objects = {
        let mut p = b"%PDF-1.7\n".to_vec();
        let mut offsets = Vec::new();
        for i in 1..=60 {
            offsets.push(p.len());
            let body = match i {
                1 => "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
                2 => "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
                3 => "<< /Type /Page /Parent 2 0 R >>".to_string(),
                n => format!("{n}"),
            };
            p.extend_from_slice(format!("{i} 0 obj\n{body}\nendobj\n").as_bytes());
        }
        let xref = p.len();
        p.extend_from_slice(b"xref\n0 61\n0000000000 65535 f \n");
        for o in offsets {
            p.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        p.extend_from_slice(
            format!("trailer\n<< /Size 61 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
        );
        p
    };
    // A signed PDF cannot take a certification signature.
    let (signed, _) = ctx
        .sign_one(
            &pdf,
            json!({ "signature_format": "P", "signed_envelope_property": "Revision" }),
            ECDSA_SHA256,
        )
        .await;

    let cases: Vec<(&str, Value)> = vec![
        (
            "both",
            json!({ "documents": [doc(&pdf, "P")], "documentDigests": [{ "hashes": [b64(&sha256(&pdf))], "signature_format": "C", "signAlgo": ECDSA_SHA256 }] }),
        ),
        ("neither", json!({})),
        ("empty", json!({ "documents": [] })),
        (
            "not base64",
            json!({ "documents": [{ "document": "%%%", "signature_format": "P", "signAlgo": ECDSA_SHA256 }] }),
        ),
        (
            "no format",
            json!({ "documents": [{ "document": b64(&pdf), "signAlgo": ECDSA_SHA256 }] }),
        ),
        ("format Z", json!({ "documents": [doc(&pdf, "Z")] })),
        (
            "bad level",
            json!({ "documents": [{ "document": b64(&pdf), "signature_format": "P", "conformance_level": "Ades-B-Q", "signAlgo": ECDSA_SHA256 }] }),
        ),
        (
            "bad envelope",
            json!({ "documents": [{ "document": b64(&pdf), "signature_format": "P", "signed_envelope_property": "Attached", "signAlgo": ECDSA_SHA256 }] }),
        ),
        (
            "unknown prop",
            json!({ "documents": [{ "document": b64(&pdf), "signature_format": "P", "signed_props": [{ "attribute_name": "favourite-colour", "attribute_value": "blue" }], "signAlgo": ECDSA_SHA256 }] }),
        ),
        (
            "signing-time in PAdES",
            json!({ "documents": [{ "document": b64(&pdf), "signature_format": "P", "signed_props": [{ "attribute_name": "signing-time" }], "signAlgo": ECDSA_SHA256 }] }),
        ),
        (
            "RSA algo for EC key",
            json!({ "documents": [{ "document": b64(&pdf), "signature_format": "P", "signAlgo": RSA_SHA256 }] }),
        ),
        (
            "not a PDF",
            json!({ "documents": [doc(b"hello world", "P")] }),
        ),
        (
            "truncated PDF",
            json!({ "documents": [doc(&truncated, "P")] }),
        ),
        (
            "broken xref",
            json!({ "documents": [doc(&broken_xref, "P")] }),
        ),
        (
            "startxref past the end",
            json!({ "documents": [doc(&bad_startxref, "P")] }),
        ),
        (
            "encrypted PDF",
            json!({ "documents": [doc(&encrypted, "P")] }),
        ),
        (
            "deeply nested PDF",
            json!({ "documents": [doc(&nested, "P")] }),
        ),
        ("no pages", json!({ "documents": [doc(&no_pages, "P")] })),
        (
            "cyclic page tree",
            json!({ "documents": [doc(&cyclic, "P")] }),
        ),
        (
            "over the size limit",
            json!({ "documents": [doc(&huge, "P")] }),
        ),
        (
            "too many objects",
            json!({ "documents": [doc(&many_objects, "P")] }),
        ),
        (
            "certification of a signed PDF",
            json!({ "documents": [doc(&signed, "P")] }),
        ),
        (
            "parallel on garbage",
            json!({ "documents": [{ "document": b64(b"\x30\x80garbage"), "signature_format": "C", "signed_envelope_property": "Parallel", "signAlgo": ECDSA_SHA256 }] }),
        ),
        (
            "attached over a digest",
            json!({ "documentDigests": [{ "hashes": [b64(&sha256(&pdf))], "signature_format": "C", "signed_envelope_property": "Attached", "signAlgo": ECDSA_SHA256 }] }),
        ),
        (
            "digest of the wrong length",
            json!({ "documentDigests": [{ "hashes": [b64(&[1; 20])], "signature_format": "C", "signAlgo": ECDSA_SHA256 }] }),
        ),
        (
            "async",
            json!({ "operationMode": "A", "documents": [doc(&pdf, "P")] }),
        ),
        (
            "ASiC container",
            json!({ "documents": [{ "document": b64(&pdf), "signature_format": "C",
                                    "container": "ASiC-S", "signAlgo": ECDSA_SHA256 }] }),
        ),
    ];
    for (name, body) in cases {
        let reply = ctx.sign_doc(&sad, body).await;
        let msg = expect_error(&reply, 400, "invalid_request");
        assert!(!msg.is_empty(), "{name}: empty message");
        eprintln!("{name}: {msg}");
    }
    // Certification of the signed PDF says why.
    let reply = ctx
        .sign_doc(&sad, json!({ "documents": [doc(&signed, "P")] }))
        .await;
    assert!(
        reply.1["error_description"]
            .as_str()
            .unwrap()
            .contains("Revision")
    );
    // None of that spent the SAD: it still signs two documents.
    let reply = ctx
        .sign_doc(
            &sad,
            json!({ "documents": [doc(&pdf, "P"), doc(b"x", "C")] }),
        )
        .await;
    assert_eq!(reply.0, 200, "{}", reply.1);
    // v1 has no signDoc.
    let reply = ctx
        .server
        .post(
            "/csc/v1/signatures/signDoc",
            Some(&ctx.token),
            &json!({ "credentialID": ctx.cred }),
        )
        .await;
    expect_error(&reply, 404, "invalid_request");
}

#[tokio::test]
async fn info_lists_what_sign_doc_produces() {
    let server = Server::start();
    let (status, info) = server.post("/csc/v2/info", None, &json!({})).await;
    assert_eq!(status, 200);
    assert!(
        info["methods"]
            .as_array()
            .unwrap()
            .contains(&json!("signatures/signDoc"))
    );
    assert_eq!(
        info["signature_formats"]["formats"],
        json!(["C", "P", "X", "J"])
    );
    assert_eq!(
        info["signature_formats"]["envelope_properties"],
        json!([
            ["Attached", "Detached", "Parallel"],
            ["Certification", "Revision"],
            ["Enveloped", "Enveloping", "Detached"],
            ["Attached", "Detached", "Parallel"]
        ])
    );
    assert_eq!(
        info["conformance_levels"],
        json!(["Ades-B-B", "Ades-B-T", "Ades-B-LT", "Ades-B-LTA"])
    );
    assert_eq!(info["validationInfo"], json!(true));
    let (_, v1) = server.post("/csc/v1/info", None, &json!({})).await;
    assert!(
        !v1["methods"]
            .as_array()
            .unwrap()
            .contains(&json!("signatures/signDoc"))
    );
}
