//! The `signet-client` library's typed CSC calls against a real Signet, v1 and v2: what the
//! `signet sign` command does not exercise itself (extendTransaction, signDoc, timestamp, the
//! signed values checked against the certificate here).

mod common;

use common::doc_signer::minimal_pdf;
use common::*;
use signet_ades::{Format, Level};
use signet_client::{
    ApiVersion, Authorization, AuthorizeRequest, CredentialAuthorization, CscClient, HttpOptions,
    SignDocRequest, SignHashRequest, http_client,
};
use signet_core::HashAlgorithm;
use zeroize::Zeroizing;

const PIN: &str = "13579";

fn connect(server: &Server, user: &TestUser, version: ApiVersion) -> CscClient {
    let http = http_client(&HttpOptions::default()).unwrap();
    let mut client = CscClient::new(http, &server.url, version).unwrap();
    client.login(&user.username, &user.password).unwrap();
    client
}

fn sad(
    client: &CscClient,
    cred: &str,
    num_signatures: u32,
    hashes: &[Vec<u8>],
    otp: Option<String>,
) -> Zeroizing<String> {
    let mut factors = vec![("PIN".to_owned(), Some(Zeroizing::new(PIN.to_owned())))];
    if let Some(otp) = otp {
        factors.push(("OTP".to_owned(), Some(Zeroizing::new(otp))));
    }
    let answer = client
        .authorize(&AuthorizeRequest {
            credential_id: cred,
            num_signatures,
            hashes,
            hash: HashAlgorithm::Sha256,
            factors: &factors,
            description: None,
        })
        .unwrap();
    match answer {
        Authorization::Granted { sad, .. } => sad,
        Authorization::Pending { .. } => panic!("an explicit credential answered 202"),
    }
}

#[test]
fn typed_calls_on_v1_and_v2() {
    let server = Server::start();
    let user = server.add_user("vera");
    let cred = server.create_credential(&user, PIN, &["--scal", "2", "--multisign", "4"]);
    for version in [ApiVersion::V1, ApiVersion::V2] {
        let client = connect(&server, &user, version);
        let info = client.info().unwrap();
        assert!(info.offers("signatures/signHash"), "{:?}", info.methods);
        assert!(info.offers_auth("basic"));
        assert_eq!(client.list_credentials().unwrap(), vec![cred.clone()]);
        let c = client.credential_info(&cred).unwrap();
        assert_eq!((c.scal, c.multisign), (2, 4));
        assert_eq!(c.auth_expression.as_deref(), Some("PIN AND OTP"));
        assert_eq!(c.certificates.len(), 2, "signer and CA certificate");

        // Three hashes bound, one signed, the SAD traded through extendTransaction for one
        // that carries the other two: the SCAL2 chain of SADs.
        let h: Vec<Vec<u8>> = (0..5u8).map(|i| sha256(&[i])).collect();
        let first = sad(&client, &cred, 3, &h[..3], Some(server.fresh_otp(&user)));
        let (mechanism, sign_algo) = c.mechanism().unwrap();
        let sign = |sad: &Zeroizing<String>, hashes: &[Vec<u8>]| {
            client.sign_hash(&SignHashRequest {
                credential_id: &cred,
                authorization: &CredentialAuthorization::Sad(sad.clone()),
                hashes,
                hash: mechanism.hash(),
                sign_algo,
                sign_algo_params: None,
            })
        };
        let values = sign(&first, &h[..1]).unwrap();
        assert_eq!(values.len(), 1);
        for (i, value) in values.iter().enumerate() {
            // h[i] is SHA-256 of the one byte i: verified as a signature over that message.
            verify(&c.certificates[0], sign_algo, SHA256, &[i as u8], value)
                .unwrap_or_else(|e| panic!("{version:?}: {e}"));
        }
        // Hashes the signer did not authorize are refused with the server's words.
        let e = client
            .extend_transaction(&cred, &first, &h[3..], HashAlgorithm::Sha256)
            .unwrap_err();
        assert_eq!(e.server_error(), Some("invalid_request"), "{e}");
        let next = client
            .extend_transaction(&cred, &first, &h[1..3], HashAlgorithm::Sha256)
            .unwrap();
        // The old SAD is spent; the new one signs the authorized hashes.
        let e = sign(&first, &h[1..2]).unwrap_err();
        assert_eq!(e.server_error(), Some("invalid_request"), "{e}");
        assert_eq!(sign(&next, &h[1..3]).unwrap().len(), 2);

        // The server's time-stamps: an RFC 3161 token over the digest.
        let token = client.timestamp(HashAlgorithm::Sha256, &h[0]).unwrap();
        assert_eq!(token[0], 0x30);
    }
}

#[test]
fn sign_doc_over_a_document() {
    let server = Server::start();
    let user = server.add_user("wim");
    let cred = server.create_credential(&user, PIN, &["--scal", "1"]);
    let client = connect(&server, &user, ApiVersion::V2);
    let c = client.credential_info(&cred).unwrap();
    let (_, sign_algo) = c.mechanism().unwrap();
    let pdf = minimal_pdf();
    let sad = sad(&client, &cred, 1, &[], None);
    let answer = client
        .sign_doc(&SignDocRequest {
            credential_id: &cred,
            authorization: &CredentialAuthorization::Sad(sad),
            documents: std::slice::from_ref(&pdf),
            format: Format::Pades,
            level: Level::BT,
            envelope: None,
            sign_algo,
        })
        .unwrap();
    assert_eq!(answer.documents_with_signature.len(), 1);
    let signed = &answer.documents_with_signature[0];
    assert!(signed.starts_with(&pdf), "an incremental update of the PDF");
    assert!(signed.windows(10).any(|w| w == b"/ByteRange"));

    // A spent SAD: the server's error, not a panic or a guess.
    let sad2 = Zeroizing::new("not-a-sad".to_owned());
    let e = client
        .sign_doc(&SignDocRequest {
            credential_id: &cred,
            authorization: &CredentialAuthorization::Sad(sad2),
            documents: std::slice::from_ref(&pdf),
            format: Format::Pades,
            level: Level::BB,
            envelope: None,
            sign_algo,
        })
        .unwrap_err();
    assert_eq!(e.server_error(), Some("invalid_request"), "{e}");
}
