//! The PKI endpoints' decoders: RFC 3161 TimeStampReq (`/tsa`, `TimeStampAuthority::respond`)
//! and RFC 6960 OCSPRequest (`/ocsp`, `EmbeddedCa::ocsp_response`), each run end to end with
//! the fuzz PKI so that the answer to every input is checked; and certificate parsing, as
//! the mutual-TLS handshake (rustls' client certificate verifier with the client CA), the
//! certificate summaries, trust anchors and chain validation read them.

use der::{Decode, Encode};
use rustls::pki_types::{CertificateDer, UnixTime};
use signet_pki::{RevocationStatus, TimeStampRequestInfo};
use signet_validation::trust::TrustAnchors;
use signet_validation::x509::{ChainContext, validate_chain};
use x509_cert::Certificate;
use x509_ocsp::{BasicOcspResponse, OcspRequest, OcspResponse, OcspResponseStatus};
use x509_tsp::TimeStampResp;

use crate::fixture::pki;

pub fn tsp_request(data: &[u8]) {
    let pki = pki();
    let info = TimeStampRequestInfo::parse(data);
    let reply = pki.tsa.respond(&pki.service, data);
    let resp = TimeStampResp::from_der(&reply).expect("the TSA's reply is a TimeStampResp");
    let granted = resp.time_stamp_token.is_some();
    match info {
        Ok(info) => {
            let ours = info
                .policy
                .as_deref()
                .is_none_or(|p| p == pki.tsa.policy_oid);
            assert_eq!(
                granted, ours,
                "a readable request with our policy is granted"
            );
            // What Signet sends to an external TSA is read back the same.
            if let Ok(der) = info.to_der() {
                assert_eq!(
                    TimeStampRequestInfo::parse(&der).expect("own request"),
                    info
                );
            }
            if granted {
                let token = resp
                    .time_stamp_token
                    .expect("granted")
                    .to_der()
                    .expect("DER");
                if info.cert_req {
                    // The client side's reading of the reply (Signet asks external TSAs
                    // with certReq): status, imprint and nonce match.
                    let read = info
                        .token_from_response(&reply)
                        .expect("the reply answers the request");
                    assert_eq!(read, token);
                }
                let read = signet_pki::tsa::verify_token(&token, Some(&pki.tsa.certificate))
                    .expect("the token verifies");
                assert_eq!(read.hash, info.hash);
                assert_eq!(read.message_imprint, info.message_imprint);
                assert_eq!(read.nonce, info.nonce);
            }
        }
        Err(_) => assert!(!granted, "an unreadable request is rejected"),
    }
}

pub fn ocsp_request(data: &[u8]) {
    let pki = pki();
    let revoked = signet_pki::certificate_serial(&pki.signer.certificate).expect("serial");
    let status_of = |serial: &[u8]| {
        if serial == revoked.as_slice() {
            RevocationStatus::Revoked {
                at: pki.created,
                reason: Some(1),
            }
        } else {
            RevocationStatus::Good
        }
    };
    // An Err is a key-module failure (internalError); the fuzz PKI's key never fails.
    let answer = pki
        .ca
        .ocsp_response(&pki.service, data, &status_of)
        .expect("every request gets an OCSP response");
    let resp = OcspResponse::from_der(&answer).expect("the answer is an OCSPResponse");
    let Ok(request) = OcspRequest::from_der(data) else {
        assert_eq!(resp.response_status, OcspResponseStatus::MalformedRequest);
        return;
    };
    if resp.response_status != OcspResponseStatus::Successful {
        return;
    }
    let bytes = resp
        .response_bytes
        .expect("a successful response has bytes");
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).expect("basic response");
    let asked = &request.tbs_request.request_list;
    let answered = &basic.tbs_response_data.responses;
    assert_eq!(asked.len(), answered.len());
    for (q, a) in asked.iter().zip(answered) {
        assert_eq!(q.req_cert, a.cert_id, "each CertID is echoed");
    }
}

pub fn certificate(data: &[u8]) {
    let pki = pki();
    let parsed = Certificate::from_der(data);
    let summary = signet_pki::summarize(data);
    let serial = signet_pki::certificate_serial(data);
    assert_eq!(parsed.is_ok(), serial.is_ok());
    if summary.is_ok() {
        assert!(parsed.is_ok());
    }
    let _ = signet_pki::certificate_public_key(data);
    // Mutual TLS: the handshake verifies the client's certificate against the client CA.
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(pki.ca.certificate.clone()))
        .expect("fixture CA");
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
            .build()
            .expect("client verifier");
    let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(pki.created + 3600).unwrap_or_default(),
    ));
    let _ = verifier.verify_client_cert(&CertificateDer::from(data), &[], now);
    // Trust anchors (PEM or DER files) and chain validation read certificates too.
    let _ = TrustAnchors::default().add_file(data, "fuzz");
    let ctx = ChainContext {
        pool: &[],
        anchors: &pki.anchors,
        crls: &[],
        ocsp: &[],
        fetcher: None,
        at: pki.validation_time(),
    };
    let _ = validate_chain(data, &ctx);
}
