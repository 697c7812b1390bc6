//! CSC API v2 (`/csc/v2/`) end to end against the real server: info, auth/login + auth/revoke,
//! credentials/list + credentials/info, credentials/authorize + signatures/signHash for every key
//! type, signature algorithm and digest (each signature verified over the original message with
//! the certificate's key), batches in input order, and credentials/extendTransaction.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value, json};

const ECDSA_SHA512: &str = "1.2.840.10045.4.3.4";
const RSA_SHA384: &str = "1.2.840.113549.1.1.12";
const RSA_SHA512: &str = "1.2.840.113549.1.1.13";
const CURVE_P256: &str = "1.2.840.10045.3.1.7";
const CURVE_P384: &str = "1.3.132.0.34";

const EC_ALGOS: [&str; 3] = [ECDSA_SHA256, ECDSA_SHA384, ECDSA_SHA512];
const RSA_ALGOS: [&str; 5] = [
    RSA_SHA256,
    RSA_SHA384,
    RSA_SHA512,
    RSA_ENCRYPTION,
    RSASSA_PSS,
];

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("array expected, got {v}"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("string expected in {v}"))
                .to_string()
        })
        .collect()
}

fn set(v: &Value) -> BTreeSet<String> {
    strings(v).into_iter().collect()
}

fn set_of(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn info_has_every_v2_field_and_lists_exactly_the_implemented_methods() {
    let server = Server::start();
    let (status, info) = server.post("/csc/v2/info", None, &json!({})).await;
    assert_eq!(status, 200, "{info}");
    assert!(
        info["specs"].as_str().unwrap().starts_with("2."),
        "v2 specs: {info}"
    );
    for field in ["name", "logo", "region", "lang", "description"] {
        let text = info[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} missing: {info}"));
        assert!(!text.is_empty(), "{field} empty");
    }
    assert!(info["name"].as_str().unwrap().len() <= 255);
    assert!(info["description"].as_str().unwrap().len() <= 255);
    // The logo is served by Signet under the address it actually bound (not port 0).
    assert_eq!(
        info["logo"].as_str().unwrap(),
        format!("{}/logo.png", server.url)
    );
    assert_eq!(
        info["region"].as_str().unwrap().len(),
        2,
        "ISO 3166-1 alpha-2 region"
    );
    assert_eq!(
        strings(&info["authType"]),
        ["basic", "oauth2code", "oauth2client"]
    );
    assert_eq!(
        info["oauth2Issuer"].as_str(),
        Some(server.url.as_str()),
        "RFC 8414 issuer"
    );
    assert!(
        info.get("oauth2").is_none(),
        "oauth2 and oauth2Issuer are exclusive: {info}"
    );

    // Exactly the implemented methods ("info" itself may or may not be listed).
    let mut methods = set(&info["methods"]);
    methods.remove("info");
    let implemented = set_of(&[
        "auth/login",
        "auth/revoke",
        "credentials/list",
        "credentials/info",
        "credentials/authorize",
        "credentials/authorizeCheck",
        "credentials/extendTransaction",
        "signatures/signHash",
        "signatures/signDoc",
        "signatures/timestamp",
    ]);
    assert_eq!(methods, implemented);

    let algos = set(&info["signAlgorithms"]["algos"]);
    for oid in EC_ALGOS.iter().chain(RSA_ALGOS.iter()) {
        assert!(
            algos.contains(*oid),
            "signAlgorithms.algos lacks {oid}: {info}"
        );
    }
    if let Some(params) = info["signAlgorithms"].get("algoParams") {
        assert_eq!(
            params.as_array().unwrap().len(),
            algos.len(),
            "algoParams parallel to algos"
        );
    }
    let formats = &info["signature_formats"];
    let n_formats = formats["formats"]
        .as_array()
        .expect("signature_formats.formats")
        .len();
    if let Some(env) = formats.get("envelope_properties") {
        assert_eq!(
            env.as_array().expect("envelope_properties array").len(),
            n_formats
        );
    }
    assert!(
        info["conformance_levels"].is_array(),
        "conformance_levels: {info}"
    );

    // Never authenticated; GET and a `lang` body give the same document.
    let get = server
        .raw(
            "GET",
            "/csc/v2/info",
            &[("Authorization", "Bearer not-a-token")],
            vec![],
        )
        .await;
    assert_eq!(get.status, 200);
    assert_eq!(get.json(), info);
    let (status, with_lang) = server
        .post("/csc/v2/info", Some("junk"), &json!({ "lang": "en-US" }))
        .await;
    assert_eq!(status, 200);
    assert_eq!(with_lang, info);

    // The logo Signet serves itself is a PNG.
    let logo = server.raw("GET", "/logo.png", &[], vec![]).await;
    assert_eq!(logo.status, 200);
    assert!(logo.body.starts_with(b"\x89PNG\r\n\x1a\n"));
}

/// Every listed method is routed (never 404/501) and the unimplemented CSC methods are not listed.
#[tokio::test]
async fn listed_methods_are_served_and_unlisted_ones_are_not() {
    let server = Server::start();
    let user = server.add_user("mira");
    let token = server.login(&user).await;
    let (_, info) = server.post("/csc/v2/info", None, &json!({})).await;
    for m in strings(&info["methods"]) {
        let (status, body) = server
            .post(&format!("/csc/v2/{m}"), Some(&token), &json!({}))
            .await;
        assert!(
            ![404, 405, 500, 501].contains(&status),
            "{m}: {status} {body}"
        );
    }
    let listed = set(&info["methods"]);
    for m in ["signatures/signPolling", "credentials/getChallenge"] {
        assert!(!listed.contains(m));
        let reply = server
            .post(&format!("/csc/v2/{m}"), Some(&token), &json!({}))
            .await;
        assert_eq!(reply.0, 501, "{m}: {}", reply.1);
    }
}

async fn login_reply(server: &Server, user: &TestUser, body: Value) -> Value {
    let resp = server
        .http
        .post(format!("{}/csc/v2/auth/login", server.url))
        .basic_auth(&user.username, Some(&user.password))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

async fn revoke(server: &Server, with: &str, token: &str, hint: Option<&str>) -> u16 {
    let mut body = json!({ "token": token });
    if let Some(h) = hint {
        body["token_type_hint"] = json!(h);
    }
    let resp = server
        .raw(
            "POST",
            "/csc/v2/auth/revoke",
            &[
                ("Authorization", &format!("Bearer {with}")),
                ("Content-Type", "application/json"),
            ],
            serde_json::to_vec(&body).unwrap(),
        )
        .await;
    if resp.status == 204 {
        assert!(resp.body.is_empty(), "204 has no body");
    }
    resp.status
}

async fn refresh_login(server: &Server, refresh: &str) -> (u16, Value) {
    server
        .post(
            "/csc/v2/auth/login",
            None,
            &json!({ "refresh_token": refresh }),
        )
        .await
}

async fn list_status(server: &Server, token: &str) -> (u16, Value) {
    server
        .post("/csc/v2/credentials/list", Some(token), &json!({}))
        .await
}

#[tokio::test]
async fn login_remember_me_refresh_and_revoke() {
    let server = Server::start();
    let user = server.add_user("rosa");
    let other = server.add_user("sam");

    // Plain login: an access token, its lifetime, no refresh token.
    let plain = login_reply(&server, &user, json!({})).await;
    assert_eq!(plain["expires_in"], 3600);
    assert!(
        plain.get("refresh_token").is_none(),
        "no rememberMe, no refresh token: {plain}"
    );
    let plain = plain["access_token"].as_str().unwrap().to_string();

    // rememberMe: access + refresh token.
    let remembered = login_reply(&server, &user, json!({ "rememberMe": true })).await;
    let acc1 = remembered["access_token"].as_str().unwrap().to_string();
    let refresh = remembered["refresh_token"]
        .as_str()
        .expect("refresh_token with rememberMe")
        .to_string();
    assert_ne!(acc1, plain);
    assert_ne!(refresh, acc1);
    assert_eq!(list_status(&server, &acc1).await.0, 200);

    // A refresh token is not an access token.
    let reply = list_status(&server, &refresh).await;
    expect_error(&reply, 401, "invalid_token");

    // Login with the refresh token in the body (no Basic header) gives a new access token.
    let (status, body) = refresh_login(&server, &refresh).await;
    assert_eq!(status, 200, "{body}");
    let acc2 = body["access_token"].as_str().unwrap().to_string();
    assert!(![&plain, &acc1, &refresh].contains(&&acc2));
    assert_eq!(list_status(&server, &acc2).await.0, 200);

    // Revoking an access token kills it (and only it); the refresh token keeps working.
    assert_eq!(
        revoke(&server, &acc1, &acc2, Some("access_token")).await,
        204
    );
    expect_error(&list_status(&server, &acc2).await, 401, "invalid_token");
    assert_eq!(list_status(&server, &acc1).await.0, 200);
    let (status, body) = refresh_login(&server, &refresh).await;
    assert_eq!(
        status, 200,
        "refresh token survives revoking an access token: {body}"
    );
    let acc3 = body["access_token"].as_str().unwrap().to_string();

    // Another user cannot revoke this user's tokens, and learns nothing.
    let other_token = server.login(&other).await;
    assert_eq!(revoke(&server, &other_token, &acc1, None).await, 400);
    assert_eq!(revoke(&server, &other_token, &refresh, None).await, 400);
    assert_eq!(list_status(&server, &acc1).await.0, 200);

    // Revoking the refresh token kills every access token issued from it, not the others.
    assert_eq!(
        revoke(&server, &plain, &refresh, Some("refresh_token")).await,
        204
    );
    expect_error(&list_status(&server, &acc1).await, 401, "invalid_token");
    expect_error(&list_status(&server, &acc3).await, 401, "invalid_token");
    expect_error(
        &refresh_login(&server, &refresh).await,
        400,
        "invalid_request",
    );
    assert_eq!(list_status(&server, &plain).await.0, 200);
    assert_eq!(list_status(&server, &other_token).await.0, 200);

    // A token can revoke itself.
    assert_eq!(revoke(&server, &plain, &plain, None).await, 204);
    expect_error(&list_status(&server, &plain).await, 401, "invalid_token");
}

/// GeneralizedTime text of an X.509 time, as CSC certInfo carries it.
fn generalized(t: &x509_cert::time::Time) -> String {
    let d = t.to_date_time();
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        d.year(),
        d.month(),
        d.day(),
        d.hour(),
        d.minutes(),
        d.seconds()
    )
}

fn is_generalized_time(s: &str) -> bool {
    s.len() == 15 && s[..14].bytes().all(|b| b.is_ascii_digit()) && s.ends_with('Z')
}

fn cert_count(info: &Value) -> usize {
    info["cert"]
        .get("certificates")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

async fn list_ok(server: &Server, token: &str, body: Value) -> Value {
    let (status, v) = server
        .post("/csc/v2/credentials/list", Some(token), &body)
        .await;
    assert_eq!(status, 200, "{v}");
    v
}

#[tokio::test]
async fn credentials_list_and_info_describe_each_credential() {
    use x509_cert::der::Decode;
    let server = Server::start();
    let user = server.add_user("lena");
    let created = |extra: &[&str]| {
        let mut args = vec!["admin", "credential", "create", "--user", "lena", "--json"];
        args.extend_from_slice(extra);
        let v: Value =
            serde_json::from_str(&server.cli_ok(&args, &[("SIGNET_PIN", "1234")])).unwrap();
        (
            v["credential_id"].as_str().unwrap().to_string(),
            unb64(v["certificate"].as_str().unwrap()),
            unb64(v["ca_certificate"].as_str().unwrap()),
        )
    };
    let (p256, p256_cert, ca) = created(&[]);
    let (p384, _, _) = created(&["--key", "ec-p384", "--scal", "1", "--multisign", "2"]);
    let (rsa, _, _) = created(&["--key", "rsa-2048", "--scal", "1", "--multisign", "4"]);
    let all = set_of(&[&p256, &p384, &rsa]);
    let token = server.login(&user).await;
    let list = |body: Value| list_ok(&server, &token, body);

    let ids_only = list(json!({})).await;
    assert_eq!(set(&ids_only["credentialIDs"]), all);
    assert!(
        ids_only.get("credentialInfos").is_none(),
        "credentialInfos only when asked: {ids_only}"
    );

    // credentialInfo with certificates none | single (default) | chain.
    for (certificates, expected) in [
        (Some("none"), 0),
        (None, 1),
        (Some("single"), 1),
        (Some("chain"), 2),
    ] {
        let v = list(json!({ "credentialInfo": true, "certificates": certificates })).await;
        let infos = v["credentialInfos"].as_array().expect("credentialInfos");
        assert_eq!(infos.len(), 3);
        let ids: BTreeSet<String> = infos
            .iter()
            .map(|i| i["credentialID"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids, all);
        for i in infos {
            assert_eq!(
                cert_count(i),
                expected,
                "certificates={certificates:?}: {i}"
            );
            assert!(
                i["key"]["algo"].is_array() && i["auth"]["mode"] == "explicit",
                "{i}"
            );
        }
        if expected == 2 {
            let mine = infos
                .iter()
                .find(|i| i["credentialID"] == p256.as_str())
                .unwrap();
            let chain: Vec<Vec<u8>> = strings(&mine["cert"]["certificates"])
                .iter()
                .map(|c| unb64(c))
                .collect();
            assert_eq!(chain[0], p256_cert, "end-entity first");
            assert_eq!(chain[1], ca, "then the CA");
        }
    }

    // certInfo: DNs, serial (uppercase hex), validity as GeneralizedTime, matching the certificate.
    let v = list(json!({ "credentialInfo": true, "certInfo": true, "authInfo": true })).await;
    let mine = v["credentialInfos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["credentialID"] == p256.as_str())
        .unwrap();
    let parsed = x509_cert::Certificate::from_der(&p256_cert).unwrap();
    let tbs = &parsed.tbs_certificate;
    let c = &mine["cert"];
    assert_eq!(c["subjectDN"].as_str().unwrap(), tbs.subject.to_string());
    assert!(c["subjectDN"].as_str().unwrap().contains("CN=lena"), "{c}");
    assert_eq!(c["issuerDN"].as_str().unwrap(), tbs.issuer.to_string());
    let serial = tbs.serial_number.as_bytes();
    let serial = if serial.len() > 1 && serial[0] == 0 {
        &serial[1..]
    } else {
        serial
    };
    assert_eq!(
        c["serialNumber"].as_str().unwrap(),
        data_encoding::HEXUPPER.encode(serial)
    );
    let (from, to) = (
        c["validFrom"].as_str().unwrap(),
        c["validTo"].as_str().unwrap(),
    );
    assert!(is_generalized_time(from) && is_generalized_time(to), "{c}");
    assert_eq!(from, generalized(&tbs.validity.not_before));
    assert_eq!(to, generalized(&tbs.validity.not_after));
    assert_eq!(c["status"], "valid");
    // Without certInfo, none of those fields.
    let (_, plain) = server
        .post(
            "/csc/v2/credentials/info",
            Some(&token),
            &json!({ "credentialID": p256 }),
        )
        .await;
    for f in [
        "issuerDN",
        "subjectDN",
        "serialNumber",
        "validFrom",
        "validTo",
    ] {
        assert!(
            plain["cert"].get(f).is_none(),
            "{f} without certInfo: {plain}"
        );
    }

    // onlyValid leaves out a disabled credential and says it filtered.
    server.cli_ok(&["admin", "credential", "disable", &p384], &[]);
    let v = list(json!({ "onlyValid": true })).await;
    assert_eq!(set(&v["credentialIDs"]), set_of(&[&p256, &rsa]));
    assert_eq!(v["onlyValid"], true);
    assert_eq!(
        set(&list(json!({ "onlyValid": false })).await["credentialIDs"]),
        all
    );
    let (_, disabled) = server
        .post(
            "/csc/v2/credentials/info",
            Some(&token),
            &json!({ "credentialID": p384 }),
        )
        .await;
    assert_eq!(disabled["key"]["status"], "disabled");
    server.cli_ok(&["admin", "credential", "enable", &p384], &[]);
    assert_eq!(
        set(&list(json!({ "onlyValid": true })).await["credentialIDs"]),
        all
    );

    // userID must be null with user-specific (Basic) service authorization.
    let reply = server
        .post(
            "/csc/v2/credentials/list",
            Some(&token),
            &json!({ "userID": "lena" }),
        )
        .await;
    assert_eq!(
        expect_error(&reply, 400, "invalid_request"),
        "userID parameter MUST be null"
    );
    assert_eq!(
        set(&list(json!({ "userID": null })).await["credentialIDs"]),
        all
    );

    // credentials/info per key type.
    for (id, algos, len, curve, scal, multisign) in [
        (&p256, &EC_ALGOS[..], 256, Some(CURVE_P256), "2", 1),
        (&p384, &EC_ALGOS[..], 384, Some(CURVE_P384), "1", 2),
        (&rsa, &RSA_ALGOS[..], 2048, None, "1", 4),
    ] {
        let (status, info) = server
            .post(
                "/csc/v2/credentials/info",
                Some(&token),
                &json!({ "credentialID": id, "certificates": "chain" }),
            )
            .await;
        assert_eq!(status, 200, "{info}");
        assert_eq!(set(&info["key"]["algo"]), set_of(algos), "{info}");
        assert_eq!(info["key"]["len"], len);
        assert_eq!(info["key"]["status"], "enabled");
        match curve {
            Some(c) => assert_eq!(info["key"]["curve"], c),
            None => assert!(
                info["key"].get("curve").is_none_or(Value::is_null),
                "{info}"
            ),
        }
        assert_eq!(info["SCAL"], scal, "SCAL is a string");
        assert_eq!(info["multisign"], multisign);
        assert_eq!(cert_count(&info), 2);
        let auth = &info["auth"];
        assert_eq!(auth["mode"], "explicit");
        let objects = auth["objects"].as_array().unwrap();
        let ids: Vec<&str> = objects.iter().map(|o| o["id"].as_str().unwrap()).collect();
        if scal == "2" {
            assert_eq!(auth["expression"], "PIN AND OTP");
            assert_eq!(ids, ["PIN", "OTP"]);
            assert_eq!(objects[1]["type"], "Password");
            assert_eq!(objects[1]["generator"], "totp");
        } else {
            assert_eq!(auth["expression"], "PIN");
            assert_eq!(ids, ["PIN"]);
        }
        assert_eq!(objects[0]["type"], "Password");
        for v1_only in ["authMode", "PIN", "OTP"] {
            assert!(info.get(v1_only).is_none(), "{v1_only} is v1 only: {info}");
        }
        // The certificate carries the credential's key type.
        let cert = unb64(info["cert"]["certificates"][0].as_str().unwrap());
        let (key_oid, key_curve, _) = public_key(&cert);
        assert_eq!(
            key_oid,
            if curve.is_some() {
                "1.2.840.10045.2.1"
            } else {
                RSA_ENCRYPTION
            }
        );
        assert_eq!(key_curve.as_deref(), curve);
    }
}

/// Authorizes one hash (SCAL1, hash bound anyway), signs it and verifies the value.
async fn sign_one(
    server: &Server,
    token: &str,
    cred: &str,
    cert: &[u8],
    sign_algo: &str,
    hash_oid: &str,
    extra: Value,
) -> Vec<u8> {
    let message = format!("message for {sign_algo} over {hash_oid} with {extra}").into_bytes();
    let d = digest(hash_oid, &message);
    let sad = server
        .sad(
            token,
            cred,
            1,
            Some(std::slice::from_ref(&d)),
            Some(hash_oid),
            "2468",
            None,
        )
        .await;
    let reply = server
        .sign_hash(token, cred, &sad, &[d], sign_algo, extra.clone())
        .await;
    let sigs = signatures(&reply);
    assert_eq!(sigs.len(), 1);
    verify(cert, sign_algo, hash_oid, &message, &sigs[0])
        .unwrap_or_else(|e| panic!("{sign_algo}/{hash_oid}/{extra}: {e}"));
    assert!(verify(cert, sign_algo, hash_oid, b"another message", &sigs[0]).is_err());
    sigs[0].clone()
}

#[tokio::test]
async fn ecdsa_p256_and_p384_with_every_digest() {
    let server = Server::start();
    let user = server.add_user("ella");
    let p256 = server.create_credential(&user, "2468", &["--scal", "1"]);
    let p384 = server.create_credential(&user, "2468", &["--key", "ec-p384", "--scal", "1"]);
    let token = server.login(&user).await;
    for cred in [&p256, &p384] {
        let cert = server.certificate(&token, cred).await;
        for (algo, hash) in [
            (ECDSA_SHA256, SHA256),
            (ECDSA_SHA384, SHA384),
            (ECDSA_SHA512, SHA512),
        ] {
            let sig = sign_one(&server, &token, cred, &cert, algo, hash, json!({})).await;
            assert_eq!(sig[0], 0x30, "ECDSA values are DER SEQUENCE {{r, s}}");
            // The same with the (redundant, consistent) hashAlgorithmOID that pyHanko sends.
            sign_one(
                &server,
                &token,
                cred,
                &cert,
                algo,
                hash,
                json!({ "hashAlgorithmOID": hash }),
            )
            .await;
        }
    }
}

#[tokio::test]
async fn rsa_2048_pkcs1_rsa_encryption_and_pss() {
    let server = Server::start();
    let user = server.add_user("rune");
    let rsa = server.create_credential(&user, "2468", &["--key", "rsa-2048", "--scal", "1"]);
    let token = server.login(&user).await;
    let cert = server.certificate(&token, &rsa).await;
    for (algo, hash) in [
        (RSA_SHA256, SHA256),
        (RSA_SHA384, SHA384),
        (RSA_SHA512, SHA512),
    ] {
        let sig = sign_one(&server, &token, &rsa, &cert, algo, hash, json!({})).await;
        assert_eq!(sig.len(), 256);
    }
    // rsaEncryption: the hash comes from hashAlgorithmOID.
    for hash in [SHA256, SHA384, SHA512] {
        sign_one(
            &server,
            &token,
            &rsa,
            &cert,
            RSA_ENCRYPTION,
            hash,
            json!({ "hashAlgorithmOID": hash }),
        )
        .await;
    }
    // RSASSA-PSS with DER parameters (MGF1 same hash, salt = digest length), with and without a
    // matching hashAlgorithmOID, and with only hashAlgorithmOID.
    for hash in [SHA256, SHA384, SHA512] {
        let params = b64(&pss_params(hash));
        sign_one(
            &server,
            &token,
            &rsa,
            &cert,
            RSASSA_PSS,
            hash,
            json!({ "signAlgoParams": params }),
        )
        .await;
    }
    let params = b64(&pss_params(SHA256));
    sign_one(
        &server,
        &token,
        &rsa,
        &cert,
        RSASSA_PSS,
        SHA256,
        json!({ "signAlgoParams": params, "hashAlgorithmOID": SHA256 }),
    )
    .await;
    sign_one(
        &server,
        &token,
        &rsa,
        &cert,
        RSASSA_PSS,
        SHA256,
        json!({ "hashAlgorithmOID": SHA256 }),
    )
    .await;
    // RSASSA-PSS with the maximum salt (emLen - hLen - 2), as pyHanko signs.
    for (hash, hlen) in [(SHA256, 32u16), (SHA512, 64)] {
        let message = format!("max salt {hash}").into_bytes();
        let d = digest(hash, &message);
        let sad = server
            .sad(
                &token,
                &rsa,
                1,
                Some(std::slice::from_ref(&d)),
                Some(hash),
                "2468",
                None,
            )
            .await;
        let params = b64(&pss_params_with_salt(hash, 256 - hlen - 2));
        let reply = server
            .sign_hash(
                &token,
                &rsa,
                &sad,
                &[d],
                RSASSA_PSS,
                json!({ "signAlgoParams": params }),
            )
            .await;
        let sig = &signatures(&reply)[0];
        verify_pss_max_salt(&cert, hash, &message, sig).unwrap();
        assert!(
            verify(&cert, RSASSA_PSS, hash, &message, sig).is_err(),
            "not a digest-length salt"
        );
    }
    // Any other salt length is refused.
    let d = sha256(b"odd salt");
    let sad = server
        .sad(
            &token,
            &rsa,
            1,
            Some(std::slice::from_ref(&d)),
            Some(SHA256),
            "2468",
            None,
        )
        .await;
    let params = b64(&pss_params_with_salt(SHA256, 20));
    let reply = server
        .sign_hash(
            &token,
            &rsa,
            &sad,
            &[d],
            RSASSA_PSS,
            json!({ "signAlgoParams": params }),
        )
        .await;
    expect_error(&reply, 400, "invalid_request");
    // The hand-built parameters are the well-known DER for SHA-256.
    assert_eq!(
        data_encoding::HEXLOWER.encode(&pss_params(SHA256)),
        "3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120"
    );
}

#[tokio::test]
async fn scal2_batch_signatures_come_back_in_input_order() {
    let server = Server::start();
    let user = server.add_user("bea");
    let ec = server.create_credential(&user, "2468", &["--multisign", "4"]);
    let rsa = server.create_credential(&user, "2468", &["--key", "rsa-2048", "--multisign", "4"]);
    let token = server.login(&user).await;
    let messages: Vec<Vec<u8>> = (0..4)
        .map(|i| format!("document #{i}").into_bytes())
        .collect();
    let digests: Vec<Vec<u8>> = messages.iter().map(|m| sha256(m)).collect();
    let order = [2usize, 0, 3, 1];
    let presented: Vec<Vec<u8>> = order.iter().map(|&i| digests[i].clone()).collect();

    for (cred, algo) in [(&ec, ECDSA_SHA256), (&rsa, RSA_SHA256)] {
        let cert = server.certificate(&token, cred).await;
        let otp = server.fresh_otp(&user);
        let (status, body) = server
            .authorize(
                &token,
                cred,
                4,
                Some(&digests),
                Some(SHA256),
                "2468",
                Some(&otp),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["expiresIn"], 300);
        let sad = body["SAD"].as_str().unwrap().to_string();
        // At least 128 bits of randomness: 22+ characters of Base64, and unique.
        assert!(sad.len() >= 22, "SAD {sad:?} too short");
        let sigs = signatures(
            &server
                .sign_hash(&token, cred, &sad, &presented, algo, json!({}))
                .await,
        );
        assert_eq!(sigs.len(), 4);
        for (pos, &i) in order.iter().enumerate() {
            verify(&cert, algo, SHA256, &messages[i], &sigs[pos])
                .unwrap_or_else(|e| panic!("position {pos}: {e}"));
            let other = order[(pos + 1) % 4];
            assert!(
                verify(&cert, algo, SHA256, &messages[other], &sigs[pos]).is_err(),
                "position {pos}"
            );
        }
        // All four were spent.
        let reply = server
            .sign_hash(&token, cred, &sad, &digests[..1], algo, json!({}))
            .await;
        expect_error(&reply, 400, "invalid_request");
    }

    // Several signHash calls share one SAD until its count is used up.
    let cert = server.certificate(&token, &ec).await;
    let otp = server.fresh_otp(&user);
    let sad = server
        .sad(
            &token,
            &ec,
            4,
            Some(&digests),
            Some(SHA256),
            "2468",
            Some(&otp),
        )
        .await;
    let first = signatures(
        &server
            .sign_hash(&token, &ec, &sad, &digests[3..4], ECDSA_SHA256, json!({}))
            .await,
    );
    verify(&cert, ECDSA_SHA256, SHA256, &messages[3], &first[0]).unwrap();
    let rest = signatures(
        &server
            .sign_hash(&token, &ec, &sad, &digests[..3], ECDSA_SHA256, json!({}))
            .await,
    );
    for i in 0..3 {
        verify(&cert, ECDSA_SHA256, SHA256, &messages[i], &rest[i]).unwrap();
    }
    let reply = server
        .sign_hash(&token, &ec, &sad, &digests[..1], ECDSA_SHA256, json!({}))
        .await;
    assert_eq!(expect_error(&reply, 400, "invalid_request"), "Invalid SAD");
}

async fn extend(
    server: &Server,
    token: &str,
    cred: &str,
    sad: &str,
    hashes: Option<&[Vec<u8>]>,
) -> (u16, Value) {
    let mut body = json!({ "credentialID": cred, "SAD": sad });
    if let Some(h) = hashes {
        body["hashes"] = json!(h.iter().map(|d| b64(d)).collect::<Vec<_>>());
        body["hashAlgorithmOID"] = json!(SHA256);
    }
    server
        .post("/csc/v2/credentials/extendTransaction", Some(token), &body)
        .await
}

/// A SCAL2 SAD for `h[..3]` (PIN 2468 and a fresh code) of which `h[0]` is already signed.
async fn three_authorized_one_signed(
    server: &Server,
    user: &TestUser,
    token: &str,
    cred: &str,
    h: &[Vec<u8>],
) -> String {
    let otp = server.fresh_otp(user);
    let sad = server
        .sad(
            token,
            cred,
            3,
            Some(&h[..3]),
            Some(SHA256),
            "2468",
            Some(&otp),
        )
        .await;
    signatures(
        &server
            .sign_hash(token, cred, &sad, &h[..1], ECDSA_SHA256, json!({}))
            .await,
    );
    sad
}

/// By default an extension keeps a SCAL2 SAD bound to the hashes the signer authorized: the
/// named hashes must be among them, and a refusal leaves the old SAD as it was.
#[tokio::test]
async fn extend_transaction_keeps_the_authorized_hashes() {
    let server = Server::start();
    let user = server.add_user("jens");
    let scal2 = server.create_credential(&user, "2468", &["--multisign", "3"]);
    let token = server.login(&user).await;
    let cert = server.certificate(&token, &scal2).await;
    let messages: Vec<Vec<u8>> = (0..4).map(|i| format!("leaf {i}").into_bytes()).collect();
    let h: Vec<Vec<u8>> = messages.iter().map(|m| sha256(m)).collect();
    let old = three_authorized_one_signed(&server, &user, &token, &scal2, &h).await;
    // A hash the signer never authorized, one already signed, more than remain: refused,
    // nothing spent.
    for (named, want) in [
        (&h[3..4], "Hash is not authorized by the SAD"),
        (&h[..1], "Hash is not authorized by the SAD"),
        (&h[1..4], "Numbers of signatures is too high for the SAD"),
    ] {
        let reply = extend(&server, &token, &scal2, &old, Some(named)).await;
        assert_eq!(expect_error(&reply, 400, "invalid_request"), want);
    }
    // The next batch among the authorized ones: the new SAD keeps both remaining hashes.
    let (status, body) = extend(&server, &token, &scal2, &old, Some(&h[2..3])).await;
    assert_eq!(status, 200, "{body}");
    let new = body["SAD"].as_str().unwrap().to_string();
    let reply = server
        .sign_hash(&token, &scal2, &old, &h[1..2], ECDSA_SHA256, json!({}))
        .await;
    assert_eq!(expect_error(&reply, 400, "invalid_request"), "Invalid SAD");
    let sigs = signatures(
        &server
            .sign_hash(&token, &scal2, &new, &h[1..3], ECDSA_SHA256, json!({}))
            .await,
    );
    verify(&cert, ECDSA_SHA256, SHA256, &messages[1], &sigs[0]).unwrap();
    verify(&cert, ECDSA_SHA256, SHA256, &messages[2], &sigs[1]).unwrap();
    // The refusals were audited with their reason.
    let reasons: Vec<String> = server
        .audit_export()
        .iter()
        .filter(|r| r["kind"] == "credential.extend")
        .map(|r| {
            let detail: Value = serde_json::from_str(r["detail"].as_str().unwrap()).unwrap();
            detail["reason"].as_str().unwrap_or("-").to_string()
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "hash_not_authorized",
            "hash_not_authorized",
            "too_many_signatures",
            "-"
        ]
    );
}

/// With `sam.extend_rebinds_hashes` (CSC multi-call for nested signatures) the new SAD is bound
/// to the hashes the extension names, for the remaining count.
#[tokio::test]
async fn extend_transaction_rolls_the_sad_for_the_remaining_count() {
    let server = Server::start_with_env(&[("SIGNET_SAM__EXTEND_REBINDS_HASHES", "true")]);
    let user = server.add_user("ines");
    let scal2 = server.create_credential(&user, "2468", &["--multisign", "3"]);
    let scal1 = server.create_credential(&user, "2468", &["--scal", "1", "--multisign", "3"]);
    let token = server.login(&user).await;
    let cert = server.certificate(&token, &scal2).await;
    let messages: Vec<Vec<u8>> = (0..5).map(|i| format!("page {i}").into_bytes()).collect();
    let h: Vec<Vec<u8>> = messages.iter().map(|m| sha256(m)).collect();

    // SCAL2: three signatures authorized for h0..h2; one spent; the rest moved to h3, h4.
    let old = three_authorized_one_signed(&server, &user, &token, &scal2, &h).await;
    // More hashes than signatures remain: refused.
    let reply = extend(&server, &token, &scal2, &old, Some(&h[1..5])).await;
    expect_error(&reply, 400, "invalid_request");
    let (status, body) = extend(&server, &token, &scal2, &old, Some(&h[3..5])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expiresIn"], 300);
    let new = body["SAD"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    // The old SAD is dead after the extension.
    let reply = server
        .sign_hash(&token, &scal2, &old, &h[1..2], ECDSA_SHA256, json!({}))
        .await;
    assert_eq!(expect_error(&reply, 400, "invalid_request"), "Invalid SAD");
    let reply = extend(&server, &token, &scal2, &old, Some(&h[3..5])).await;
    assert_eq!(expect_error(&reply, 400, "invalid_request"), "Invalid SAD");
    // The new one is bound to the new hashes only.
    let reply = server
        .sign_hash(&token, &scal2, &new, &h[1..2], ECDSA_SHA256, json!({}))
        .await;
    assert_eq!(
        expect_error(&reply, 400, "invalid_request"),
        "Hash is not authorized by the SAD"
    );
    let sigs = signatures(
        &server
            .sign_hash(&token, &scal2, &new, &h[3..5], ECDSA_SHA256, json!({}))
            .await,
    );
    verify(&cert, ECDSA_SHA256, SHA256, &messages[3], &sigs[0]).unwrap();
    verify(&cert, ECDSA_SHA256, SHA256, &messages[4], &sigs[1]).unwrap();
    // Count used up: nothing left to sign or extend.
    let reply = server
        .sign_hash(&token, &scal2, &new, &h[3..4], ECDSA_SHA256, json!({}))
        .await;
    expect_error(&reply, 400, "invalid_request");
    expect_error(
        &extend(&server, &token, &scal2, &new, Some(&h[3..4])).await,
        400,
        "invalid_request",
    );

    // SCAL2 extension must bind hashes.
    let otp = server.fresh_otp(&user);
    let sad = server
        .sad(
            &token,
            &scal2,
            2,
            Some(&h[..2]),
            Some(SHA256),
            "2468",
            Some(&otp),
        )
        .await;
    expect_error(
        &extend(&server, &token, &scal2, &sad, None).await,
        400,
        "invalid_request",
    );

    // SCAL1 (no hashes bound): the new SAD carries the remaining count.
    let cert1 = server.certificate(&token, &scal1).await;
    let old = server
        .sad(&token, &scal1, 3, None, None, "2468", None)
        .await;
    signatures(
        &server
            .sign_hash(&token, &scal1, &old, &h[..1], ECDSA_SHA256, json!({}))
            .await,
    );
    let (status, body) = extend(&server, &token, &scal1, &old, None).await;
    assert_eq!(status, 200, "{body}");
    let new = body["SAD"].as_str().unwrap().to_string();
    let reply = server
        .sign_hash(&token, &scal1, &old, &h[1..2], ECDSA_SHA256, json!({}))
        .await;
    expect_error(&reply, 400, "invalid_request");
    // Two remain: three at once is too many, two succeed, then it is spent.
    let reply = server
        .sign_hash(&token, &scal1, &new, &h[1..4], ECDSA_SHA256, json!({}))
        .await;
    expect_error(&reply, 400, "invalid_request");
    let sigs = signatures(
        &server
            .sign_hash(&token, &scal1, &new, &h[1..3], ECDSA_SHA256, json!({}))
            .await,
    );
    verify(&cert1, ECDSA_SHA256, SHA256, &messages[1], &sigs[0]).unwrap();
    verify(&cert1, ECDSA_SHA256, SHA256, &messages[2], &sigs[1]).unwrap();
    let reply = server
        .sign_hash(&token, &scal1, &new, &h[3..4], ECDSA_SHA256, json!({}))
        .await;
    expect_error(&reply, 400, "invalid_request");
}
