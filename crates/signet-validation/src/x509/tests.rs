//! Path building and revocation over a hand-built hierarchy Root → Int → Leaf (see
//! `test_pki`), and one over Signet's embedded CA.

use std::sync::Mutex;

use signet_ades::{AdesError, Revocation, ValidationData};

use super::test_pki::{self as pki, CA, Issued, LEAF, NOW, RESPONDER, Status, at};
use super::*;
use crate::trust::TrustAnchors;

struct Pki {
    root: Issued,
    int: Issued,
    leaf: Issued,
    anchors: TrustAnchors,
}

fn pki() -> Pki {
    let root = pki::root("Root");
    let int = pki::issue(&root, "Int", 2, CA);
    let leaf = pki::issue(&int, "Leaf", 3, LEAF);
    Pki {
        anchors: anchors(&root),
        root,
        int,
        leaf,
    }
}

fn anchors(root: &Issued) -> TrustAnchors {
    let mut anchors = TrustAnchors::default();
    anchors.add_der(root.der.clone(), "test").unwrap();
    anchors
}

fn context<'a>(
    anchors: &'a TrustAnchors,
    pool: &'a [Vec<u8>],
    crls: &'a [Vec<u8>],
    ocsp: &'a [Vec<u8>],
) -> ChainContext<'a> {
    ChainContext {
        pool,
        anchors,
        crls,
        ocsp,
        fetcher: None,
        at: at(NOW),
    }
}

fn good(source: RevocationSource, this_update: i64, fetched: bool) -> RevocationStatus {
    let next = match source {
        RevocationSource::Crl => this_update + 7 * 86_400,
        RevocationSource::Ocsp => this_update + 86_400,
    };
    RevocationStatus::Good {
        source,
        this_update: at(this_update),
        next_update: Some(at(next)),
        produced_at: at(this_update),
        fetched,
    }
}

fn statuses(v: &ChainValidation) -> Vec<RevocationStatus> {
    v.chain.iter().map(|c| c.revocation.clone()).collect()
}

#[test]
fn chain_root_intermediate_leaf_with_ocsp_and_crl() {
    let p = pki();
    let pool = [p.int.der.clone()];
    let crls = [pki::crl(&p.root, &[], NOW - 50)];
    let ocsp = [pki::ocsp(
        &p.int,
        &p.leaf,
        Status::Good,
        NOW - 10,
        &p.int,
        &[],
    )];
    let v = validate_chain(&p.leaf.der, &context(&p.anchors, &pool, &crls, &ocsp));
    assert_eq!(v.error, None);
    let names: Vec<(&str, &str, &str, bool)> = v
        .chain
        .iter()
        .map(|c| {
            (
                c.subject.as_str(),
                c.issuer.as_str(),
                c.serial.as_str(),
                c.is_anchor,
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("CN=Leaf", "CN=Int", "03", false),
            ("CN=Int", "CN=Root", "02", false),
            ("CN=Root", "CN=Root", "01", true),
        ]
    );
    assert_eq!(v.chain[0].der, p.leaf.der);
    assert_eq!(v.chain[0].not_before, at(NOW - 365 * 86_400));
    assert_eq!(v.chain[0].not_after, at(NOW + 365 * 86_400));
    assert_eq!(
        statuses(&v),
        [
            good(RevocationSource::Ocsp, NOW - 10, false),
            good(RevocationSource::Crl, NOW - 50, false),
            RevocationStatus::Anchor,
        ]
    );
    assert!(v.fetched_certificates.is_empty() && v.fetched_crls.is_empty());
}

#[test]
fn self_signed_anchor_is_a_one_element_chain() {
    let p = pki();
    let v = validate_chain(&p.root.der, &context(&p.anchors, &[], &[], &[]));
    assert_eq!(v.error, None);
    assert_eq!(v.chain.len(), 1);
    assert!(v.chain[0].is_anchor);
    assert_eq!(v.chain[0].revocation, RevocationStatus::Anchor);
}

#[test]
fn untrusted_root_is_no_chain() {
    let p = pki();
    let other = anchors(&pki::root("Other Root"));
    let pool = [p.int.der.clone(), p.root.der.clone()];
    let v = validate_chain(&p.leaf.der, &context(&other, &pool, &[], &[]));
    assert_eq!(
        v.error,
        Some(ChainError::NoChain(
            "CN=Root is self-issued and not a trust anchor".into()
        ))
    );
    assert_eq!(v.chain.len(), 3);
    assert_eq!(
        v.chain[0].revocation,
        RevocationStatus::Unknown("no certificate chain to a trust anchor".into())
    );
}

#[test]
fn missing_intermediate_is_no_chain() {
    let p = pki();
    let v = validate_chain(&p.leaf.der, &context(&p.anchors, &[], &[], &[]));
    assert_eq!(
        v.error,
        Some(ChainError::NoChain(
            "no certificate of the issuer CN=Int of CN=Leaf among the trust anchors and the certificates available".into()
        ))
    );
    assert_eq!(v.chain.len(), 1);
}

#[test]
fn a_namesake_of_the_issuer_gives_no_chain() {
    let p = pki();
    // Same name as Int, another key: the leaf's signature cannot verify with Int's key.
    let impostor = pki::issue(&p.root, "Int", 9, CA);
    let leaf = pki::issue(&impostor, "Leaf", 3, LEAF);
    let pool = [p.int.der.clone()];
    let v = validate_chain(&leaf.der, &context(&p.anchors, &pool, &[], &[]));
    assert_eq!(
        v.error,
        Some(ChainError::NoChain(
            "the signature of CN=Leaf does not verify with the key of CN=Int (a namesake, not its issuer): the signature value does not verify with the public key".into()
        ))
    );
    assert_eq!(v.chain.len(), 1);
    // With the right intermediate also at hand, the clean path wins.
    let pool = [p.int.der.clone(), impostor.der.clone()];
    let v = validate_chain(&leaf.der, &context(&p.anchors, &pool, &[], &[]));
    assert_eq!(v.error, None);
    assert_eq!(v.chain[1].serial, "09");
}

#[test]
fn issuer_that_may_not_issue_is_a_constraints_failure() {
    let root = pki::root("Root");
    let cases = [
        (
            LEAF,
            "CN=Int is not a CA certificate (basicConstraints cA is not set)",
        ),
        (
            pki::Profile {
                key_usage: Some(&[0x07, 0x80]),
                ..CA
            },
            "CN=Int may not sign certificates (keyUsage without keyCertSign)",
        ),
    ];
    for (profile, expected) in cases {
        let int = pki::issue(&root, "Int", 2, profile);
        let leaf = pki::issue(&int, "Leaf", 3, LEAF);
        let pool = [int.der.clone()];
        let v = validate_chain(&leaf.der, &context(&anchors(&root), &pool, &[], &[]));
        assert_eq!(v.error, Some(ChainError::Constraints(expected.into())));
    }
}

#[test]
fn path_length_constraint_is_enforced() {
    let root = pki::root("Root");
    let strict = pki::issue(
        &root,
        "Int",
        2,
        pki::Profile {
            ca: Some((true, Some(0))),
            ..CA
        },
    );
    let sub = pki::issue(&strict, "Sub", 4, CA);
    let leaf = pki::issue(&sub, "Leaf", 3, LEAF);
    let pool = [strict.der.clone(), sub.der.clone()];
    let v = validate_chain(&leaf.der, &context(&anchors(&root), &pool, &[], &[]));
    assert_eq!(
        v.error,
        Some(ChainError::Constraints(
            "CN=Int allows 0 intermediate CA certificates below it, the path has 1".into()
        ))
    );
}

#[test]
fn crl_revocation_with_exact_time_and_reason() {
    let p = pki();
    let pool = [p.int.der.clone()];
    let crls = [
        pki::crl(
            &p.int,
            &[(7, NOW - 500, None), (3, NOW - 300, Some(1))],
            NOW - 100,
        ),
        pki::crl(&p.root, &[], NOW - 50),
    ];
    let v = validate_chain(&p.leaf.der, &context(&p.anchors, &pool, &crls, &[]));
    assert_eq!(v.error, None);
    assert_eq!(
        v.chain[0].revocation,
        RevocationStatus::Revoked {
            source: RevocationSource::Crl,
            time: at(NOW - 300),
            reason: Some("keyCompromise".into()),
            produced_at: at(NOW - 100),
            fetched: false,
        }
    );
    assert_eq!(
        v.chain[1].revocation,
        good(RevocationSource::Crl, NOW - 50, false)
    );
}

#[test]
fn ocsp_revoked_good_and_unknown() {
    let p = pki();
    let pool = [p.int.der.clone()];
    let revoked = pki::ocsp(
        &p.int,
        &p.leaf,
        Status::Revoked(NOW - 700, Some(4)),
        NOW,
        &p.int,
        &[],
    );
    let v = validate_chain(&p.leaf.der, &context(&p.anchors, &pool, &[], &[revoked]));
    assert_eq!(
        v.chain[0].revocation,
        RevocationStatus::Revoked {
            source: RevocationSource::Ocsp,
            time: at(NOW - 700),
            reason: Some("superseded".into()),
            produced_at: at(NOW),
            fetched: false,
        }
    );
    // No data for Int: said so.
    assert_eq!(
        v.chain[1].revocation,
        RevocationStatus::Unknown(
            "no CRL or OCSP response covers CN=Int; fetching not allowed".into()
        )
    );
    let unknown = pki::ocsp(&p.int, &p.leaf, Status::Unknown, NOW, &p.int, &[]);
    let v = validate_chain(&p.leaf.der, &context(&p.anchors, &pool, &[], &[unknown]));
    assert_eq!(
        v.chain[0].revocation,
        RevocationStatus::Unknown(
            "the OCSP responder does not know the certificate CN=Leaf; fetching not allowed".into()
        )
    );
}

#[test]
fn ocsp_signed_by_a_delegated_responder() {
    let p = pki();
    let pool = [p.int.der.clone()];
    let responder = pki::issue(&p.int, "Responder", 20, RESPONDER);
    let ocsp = [pki::ocsp(
        &p.int,
        &p.leaf,
        Status::Good,
        NOW - 5,
        &responder,
        &[&responder.der],
    )];
    let v = validate_chain(&p.leaf.der, &context(&p.anchors, &pool, &[], &ocsp));
    assert_eq!(
        v.chain[0].revocation,
        good(RevocationSource::Ocsp, NOW - 5, false)
    );

    // A responder without id-kp-OCSPSigning is not delegated.
    let plain = pki::issue(&p.int, "Plain", 21, LEAF);
    let ocsp = [pki::ocsp(
        &p.int,
        &p.leaf,
        Status::Good,
        NOW - 5,
        &plain,
        &[&plain.der],
    )];
    let v = validate_chain(&p.leaf.der, &context(&p.anchors, &pool, &[], &ocsp));
    let RevocationStatus::Unknown(why) = &v.chain[0].revocation else {
        panic!("{:?}", v.chain[0].revocation);
    };
    assert!(why.contains("CN=Plain lacks id-kp-OCSPSigning"), "{why}");
    // Nor is one issued by another CA.
    let stranger = pki::issue(&p.root, "Stranger", 22, RESPONDER);
    let ocsp = [pki::ocsp(
        &p.int,
        &p.leaf,
        Status::Good,
        NOW - 5,
        &stranger,
        &[&stranger.der],
    )];
    let v = validate_chain(&p.leaf.der, &context(&p.anchors, &pool, &[], &ocsp));
    let RevocationStatus::Unknown(why) = &v.chain[0].revocation else {
        panic!("{:?}", v.chain[0].revocation);
    };
    assert!(why.contains("CN=Stranger is another CA's"), "{why}");
}

#[test]
fn tampered_crl_is_unknown_with_the_reason() {
    let p = pki();
    let pool = [p.int.der.clone()];
    let mut crl = pki::crl(&p.int, &[], NOW - 100);
    // Move nextUpdate by a day inside the signed bytes.
    let next = pki::time(NOW - 100 + 7 * 86_400);
    let later = pki::time(NOW - 100 + 8 * 86_400);
    let pos = crl.windows(next.len()).position(|w| w == next).unwrap();
    crl[pos..pos + later.len()].copy_from_slice(&later);
    let v = validate_chain(&p.leaf.der, &context(&p.anchors, &pool, &[crl], &[]));
    assert_eq!(
        v.chain[0].revocation,
        RevocationStatus::Unknown(
            "the CRL signature of CN=Int: the signature value does not verify with the public key; fetching not allowed".into()
        )
    );
}

#[test]
fn the_revoked_then_ocsp_then_newest_answer_wins() {
    let p = pki();
    let pool = [p.int.der.clone()];
    let old = pki::ocsp(&p.int, &p.leaf, Status::Good, NOW - 1000, &p.int, &[]);
    let new = pki::ocsp(&p.int, &p.leaf, Status::Good, NOW - 10, &p.int, &[]);
    let crl = pki::crl(&p.int, &[], NOW);
    let v = validate_chain(
        &p.leaf.der,
        &context(&p.anchors, &pool, &[crl], &[old.clone(), new, old]),
    );
    assert_eq!(
        v.chain[0].revocation,
        good(RevocationSource::Ocsp, NOW - 10, false)
    );
    let revoking = pki::crl(&p.int, &[(3, NOW - 2000, None)], NOW - 1500);
    let good_ocsp = pki::ocsp(&p.int, &p.leaf, Status::Good, NOW - 10, &p.int, &[]);
    let v = validate_chain(
        &p.leaf.der,
        &context(&p.anchors, &pool, &[revoking], &[good_ocsp]),
    );
    assert!(matches!(
        v.chain[0].revocation,
        RevocationStatus::Revoked { source: RevocationSource::Crl, time, .. } if time == at(NOW - 2000)
    ));
}

#[test]
fn no_data_and_no_fetcher() {
    let p = pki();
    let pool = [p.int.der.clone()];
    let v = validate_chain(&p.leaf.der, &context(&p.anchors, &pool, &[], &[]));
    let unknown = RevocationStatus::Unknown(revocation::NO_DATA.into());
    assert_eq!(
        statuses(&v),
        [unknown.clone(), unknown, RevocationStatus::Anchor]
    );
}

/// Answers every question with `data`, or fails; remembers what it was asked.
struct TestFetcher {
    data: Result<Revocation, String>,
    asked: Mutex<Vec<Vec<u8>>>,
}

impl ValidationData for TestFetcher {
    fn chain_and_revocation(&self, certificate: &[u8]) -> Result<Revocation, AdesError> {
        self.asked.lock().unwrap().push(certificate.to_vec());
        self.data.clone().map_err(AdesError::ValidationData)
    }
}

#[test]
fn fetcher_supplies_the_issuer_and_revocation_data() {
    let p = pki();
    let crl = pki::crl(&p.root, &[], NOW - 50);
    let ocsp = pki::ocsp(&p.int, &p.leaf, Status::Good, NOW - 10, &p.int, &[]);
    let fetcher = TestFetcher {
        data: Ok(Revocation {
            certificates: vec![p.int.der.clone(), p.root.der.clone()],
            crls: vec![crl.clone()],
            ocsp: vec![ocsp.clone()],
        }),
        asked: Mutex::new(Vec::new()),
    };
    let mut ctx = context(&p.anchors, &[], &[], &[]);
    ctx.fetcher = Some(&fetcher);
    let v = validate_chain(&p.leaf.der, &ctx);
    assert_eq!(v.error, None);
    assert_eq!(
        statuses(&v),
        [
            good(RevocationSource::Ocsp, NOW - 10, true),
            good(RevocationSource::Crl, NOW - 50, true),
            RevocationStatus::Anchor,
        ]
    );
    assert_eq!(
        v.fetched_certificates,
        [p.int.der.clone(), p.root.der.clone()]
    );
    assert_eq!(v.fetched_crls, [crl]);
    assert_eq!(v.fetched_ocsp, [ocsp]);
    // Asked once, about the leaf (whose issuer was missing); that answer covered Int too.
    assert_eq!(
        *fetcher.asked.lock().unwrap(),
        std::slice::from_ref(&p.leaf.der)
    );
}

#[test]
fn fetcher_failure_is_unknown() {
    let p = pki();
    let pool = [p.int.der.clone()];
    let fetcher = TestFetcher {
        data: Err("responder unreachable".into()),
        asked: Mutex::new(Vec::new()),
    };
    let mut ctx = context(&p.anchors, &pool, &[], &[]);
    ctx.fetcher = Some(&fetcher);
    let v = validate_chain(&p.leaf.der, &ctx);
    assert_eq!(v.error, None);
    let RevocationStatus::Unknown(why) = &v.chain[0].revocation else {
        panic!("{:?}", v.chain[0].revocation);
    };
    assert!(
        why.starts_with("fetching validation data failed: "),
        "{why}"
    );
    assert!(why.contains("responder unreachable"), "{why}");
    assert!(v.fetched_crls.is_empty() && v.fetched_ocsp.is_empty());
    assert_eq!(fetcher.asked.lock().unwrap().len(), 2);
}

#[test]
fn hostile_input_never_panics() {
    let p = pki();
    let mut garbage: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x30],
        vec![0x30, 0x80, 0x00, 0x00],
        vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
        vec![0x30, 0x03, 0x02, 0x01, 0x00],
        vec![0x30, 0x03, 0x0a, 0x01, 0x00],
        vec![0x30, 0x03, 0x0a, 0x01, 0x03],
        [0x30u8, 0x7f].repeat(64),
        vec![0xff; 300],
    ];
    for valid in [&p.int.der, &p.leaf.der] {
        for cut in [1, 10, valid.len() / 2, valid.len() - 1] {
            garbage.push(valid[..cut].to_vec());
        }
    }
    let crl = pki::crl(&p.int, &[(3, NOW, Some(1))], NOW);
    let ocsp = pki::ocsp(&p.int, &p.leaf, Status::Good, NOW, &p.int, &[]);
    for good in [&crl, &ocsp] {
        for cut in (0..good.len()).step_by(7) {
            garbage.push(good[..cut].to_vec());
            let mut flipped = good.clone();
            flipped[cut] ^= 0x55;
            garbage.push(flipped);
        }
    }
    let mut pool = garbage.clone();
    pool.push(p.int.der.clone());
    let v = validate_chain(&p.leaf.der, &context(&p.anchors, &pool, &garbage, &garbage));
    assert_eq!(v.error, None);
    // A flipped CRL never verifies; a flip in the OCSP response's unsigned `certs` leaves a
    // valid "good".
    assert!(
        matches!(
            v.chain[0].revocation,
            RevocationStatus::Unknown(_)
                | RevocationStatus::Good {
                    source: RevocationSource::Ocsp,
                    ..
                }
        ),
        "{:?}",
        v.chain[0].revocation
    );
    for bad in &garbage {
        let v = validate_chain(bad, &context(&p.anchors, &garbage, &garbage, &garbage));
        assert!(matches!(v.error, Some(ChainError::Malformed(_))), "{bad:?}");
    }
}

#[test]
fn search_is_bounded() {
    // Fifty CAs named "Int" with other keys, and two CAs certifying each other: the search
    // ends, and says why.
    let root = pki::root("Root");
    let int = pki::issue(&root, "Int", 2, CA);
    let leaf = pki::issue(&int, "Leaf", 3, LEAF);
    let mut pool: Vec<Vec<u8>> = (0..50)
        .map(|i| pki::issue(&root, "Int", 100 + i, CA).der)
        .collect();
    let a = pki::root("A");
    let b = pki::issue(&a, "B", 5, CA);
    let a_by_b = pki::issue(&b, "A", 6, CA);
    pool.extend([b.der.clone(), a_by_b.der.clone()]);
    let other = anchors(&pki::root("Other"));
    let v = validate_chain(&leaf.der, &context(&other, &pool, &[], &[]));
    assert!(
        matches!(v.error, Some(ChainError::NoChain(_))),
        "{:?}",
        v.error
    );
    let v = validate_chain(&b.der, &context(&other, &pool, &[], &[]));
    assert!(
        matches!(v.error, Some(ChainError::NoChain(_))),
        "{:?}",
        v.error
    );
    assert!(v.chain.len() <= path::MAX_DEPTH);
}

#[test]
fn embedded_ca_certificates_crls_and_ocsp() {
    use signet_core::KeyType;
    use signet_keys::{KeyAccess, MasterKey, SoftKeyModule};
    use signet_pki::{EmbeddedCa, RevocationStatus as PkiStatus, RevokedCertificate, SubjectName};

    let access = KeyAccess::new(std::sync::Arc::new(SoftKeyModule::new(
        MasterKey::generate().unwrap(),
    )));
    let keys = access.service_keys();
    let ca = EmbeddedCa::create(&keys, KeyType::EcP256, "Embedded CA", Some("Signet"), 30).unwrap();
    let key = access
        .provisioning()
        .generate_signer_key(KeyType::EcP256, "alice")
        .unwrap();
    let subject = SubjectName {
        common_name: "alice".into(),
        organization: None,
        country: Some("FR".into()),
    };
    let cert = ca
        .issue_signer_certificate(&keys, &subject, &key.public_key_der, 10)
        .unwrap();
    let serial = signet_pki::certificate_serial(&cert).unwrap();
    let mut anchors = TrustAnchors::default();
    anchors.add_der(ca.certificate.clone(), "embedded").unwrap();
    let ocsp = ca.ocsp_response_for(&keys, &cert, PkiStatus::Good).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let ctx = ChainContext {
        at: now,
        ..context(&anchors, &[], &[], std::slice::from_ref(&ocsp))
    };
    let v = validate_chain(&cert, &ctx);
    assert_eq!(v.error, None);
    assert_eq!(v.chain[0].subject, "CN=alice,C=FR");
    assert_eq!(v.chain[0].issuer, "CN=Embedded CA,O=Signet");
    assert_eq!(v.chain[0].serial, data_encoding::HEXLOWER.encode(&serial));
    assert!(matches!(
        v.chain[0].revocation,
        RevocationStatus::Good {
            source: RevocationSource::Ocsp,
            fetched: false,
            ..
        }
    ));
    let revoked_at = now.unix_timestamp() - 60;
    let crl = ca
        .crl(
            &keys,
            &[RevokedCertificate {
                serial,
                revoked_at,
                reason: Some(1),
            }],
            1,
            24,
        )
        .unwrap();
    let ctx = ChainContext {
        at: now,
        ..context(&anchors, &[], std::slice::from_ref(&crl), &[])
    };
    let v = validate_chain(&cert, &ctx);
    assert!(matches!(
        &v.chain[0].revocation,
        RevocationStatus::Revoked { source: RevocationSource::Crl, time, reason: Some(r), .. }
            if time.unix_timestamp() == revoked_at && r == "keyCompromise"
    ));
}
