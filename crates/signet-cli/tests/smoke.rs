//! The smallest end-to-end check: a v2 SCAL2 flow against the real binary, signature verified.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn v2_scal2_sign_hash_round_trip() {
    let server = Server::start();
    let alice = server.add_user("alice");
    let cred = server.create_credential(&alice, "4711", &[]);
    let token = server.login(&alice).await;
    let digest = sha256(b"hello");
    let (status, body) = server
        .post(
            "/csc/v2/credentials/authorize",
            Some(&token),
            &json!({
                "credentialID": cred, "numSignatures": 1, "hashes": [b64(&digest)],
                "hashAlgorithmOID": SHA256,
                "authData": [{"id": "PIN", "value": "4711"}, {"id": "OTP", "value": server.fresh_otp(&alice)}],
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let sad = body["SAD"].as_str().unwrap().to_string();
    assert_eq!(body["expiresIn"], 300);
    let (status, body) = server
        .post(
            "/csc/v2/signatures/signHash",
            Some(&token),
            &json!({ "credentialID": cred, "SAD": sad, "hashes": [b64(&digest)], "signAlgo": ECDSA_SHA256 }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let sig = data_encoding::BASE64
        .decode(body["signatures"][0].as_str().unwrap().as_bytes())
        .unwrap();
    let (_, info) = server
        .post(
            "/csc/v2/credentials/info",
            Some(&token),
            &json!({ "credentialID": cred, "certificates": "single" }),
        )
        .await;
    let cert = data_encoding::BASE64
        .decode(info["cert"]["certificates"][0].as_str().unwrap().as_bytes())
        .unwrap();
    let spki_point = ec_point_from_cert(&cert);
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
        spki_point,
    )
    .verify(b"hello", &sig)
    .expect("signature verifies over the original message");
    // The SAD was single-use.
    let (status, body) = server
        .post(
            "/csc/v2/signatures/signHash",
            Some(&token),
            &json!({ "credentialID": cred, "SAD": sad, "hashes": [b64(&digest)], "signAlgo": ECDSA_SHA256 }),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

/// The uncompressed EC point of a P-256 certificate: the 65 bytes starting 0x04 right after the
/// SubjectPublicKeyInfo BIT STRING header `03 42 00`.
fn ec_point_from_cert(cert: &[u8]) -> Vec<u8> {
    let pos = cert
        .windows(3)
        .position(|w| w == [0x03, 0x42, 0x00])
        .expect("BIT STRING of a P-256 key");
    cert[pos + 3..pos + 3 + 65].to_vec()
}
