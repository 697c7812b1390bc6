//! CSC API v1 (`/csc/v1/`) end to end with exactly the request shapes pyHanko's CSCSigner sends,
//! v1 error codes (`invalid_pin`, `invalid_otp`), and v1 member names accepted on v2 routes.

mod common;

use common::*;
use serde_json::{Value, json};

const RSA_SHA512: &str = "1.2.840.113549.1.1.13";

async fn v1_login(server: &Server, user: &TestUser) -> String {
    let resp = server
        .http
        .post(format!("{}/csc/v1/auth/login", server.url))
        .basic_auth(&user.username, Some(&user.password))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v: Value = resp.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

/// pyHanko's credentials/authorize (v1 names: `hash`, top-level `PIN`/`OTP`).
async fn v1_authorize(
    server: &Server,
    token: &str,
    cred: &str,
    hashes: &[Vec<u8>],
    pin: &str,
    otp: Option<&str>,
) -> (u16, Value) {
    let mut body = json!({
        "credentialID": cred,
        "numSignatures": hashes.len(),
        "hash": hashes.iter().map(|h| b64(h)).collect::<Vec<_>>(),
        "PIN": pin,
    });
    if let Some(otp) = otp {
        body["OTP"] = json!(otp);
    }
    server
        .post("/csc/v1/credentials/authorize", Some(token), &body)
        .await
}

/// pyHanko's signatures/signHash body, member for member.
#[allow(clippy::too_many_arguments)] // one per member of the request
async fn v1_sign(
    server: &Server,
    token: &str,
    cred: &str,
    sad: &str,
    hash_algo: &str,
    sign_algo: &str,
    hashes: &[Vec<u8>],
    params: Option<String>,
) -> (u16, Value) {
    let mut body = json!({
        "credentialID": cred,
        "SAD": sad,
        "hashAlgo": hash_algo,
        "signAlgo": sign_algo,
        "hash": hashes.iter().map(|h| b64(h)).collect::<Vec<_>>(),
    });
    if let Some(p) = params {
        body["signAlgoParams"] = json!(p);
    }
    server
        .post("/csc/v1/signatures/signHash", Some(token), &body)
        .await
}

#[tokio::test]
async fn info_is_v1() {
    let server = Server::start();
    let (status, info) = server.post("/csc/v1/info", None, &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(info["specs"], "1.0.4.0");
    for field in ["name", "logo", "region", "lang", "description"] {
        assert!(
            info[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field}: {info}"
        );
    }
    assert_eq!(
        info["authType"],
        json!(["basic", "oauth2code", "oauth2client"])
    );
    assert_eq!(
        info["oauth2"].as_str(),
        Some(server.url.as_str()),
        "v1 OAuth2 base URI"
    );
    let methods: Vec<&str> = info["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    for m in [
        "credentials/list",
        "credentials/info",
        "credentials/authorize",
        "signatures/signHash",
    ] {
        assert!(methods.contains(&m), "{m} in {methods:?}");
    }
    for v2_only in [
        "signAlgorithms",
        "signature_formats",
        "conformance_levels",
        "asynchronousOperationMode",
        "validationInfo",
        "oauth2Issuer",
    ] {
        assert!(info.get(v2_only).is_none(), "{v2_only} is v2 only: {info}");
    }
}

#[tokio::test]
async fn pyhanko_shaped_flows_sign_and_verify() {
    let server = Server::start();
    let user = server.add_user("pia");
    let ec = server.create_credential(&user, "13579", &[]);
    let rsa = server.create_credential(
        &user,
        "13579",
        &["--key", "rsa-2048", "--scal", "1", "--multisign", "2"],
    );
    let token = v1_login(&server, &user).await;

    let (status, list) = server
        .post(
            "/csc/v1/credentials/list",
            Some(&token),
            &json!({ "maxResults": 10 }),
        )
        .await;
    assert_eq!(status, 200, "{list}");
    let mut ids: Vec<&str> = list["credentialIDs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![ec.as_str(), rsa.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    assert!(
        list.get("credentialInfos").is_none(),
        "v1 list carries IDs only: {list}"
    );

    // credentials/info exactly as pyHanko asks.
    let info_of =
        |cred: &str| json!({ "credentialID": cred, "certificates": "chain", "certInfo": false });
    let (status, info) = server
        .post("/csc/v1/credentials/info", Some(&token), &info_of(&ec))
        .await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["authMode"], "explicit");
    assert_eq!(
        info["PIN"]["presence"], "true",
        "presence is the string \"true\""
    );
    assert_eq!(info["OTP"]["presence"], "true");
    assert_eq!(info["OTP"]["type"], "offline");
    assert!(
        info["OTP"]["ID"].as_str().is_some_and(|s| !s.is_empty()),
        "OTP.ID is required: {info}"
    );
    assert_eq!(info["SCAL"], "2");
    assert_eq!(info["multisign"], 1);
    assert!(info.get("auth").is_none(), "auth is v2 only: {info}");
    assert!(
        info["key"]["algo"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == ECDSA_SHA256),
        "{info}"
    );
    assert_eq!(info["cert"]["certificates"].as_array().unwrap().len(), 2);
    let ec_cert = unb64(info["cert"]["certificates"][0].as_str().unwrap());

    let (status, info) = server
        .post("/csc/v1/credentials/info", Some(&token), &info_of(&rsa))
        .await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["PIN"]["presence"], "true");
    assert!(info.get("OTP").is_none(), "no OTP object for SCAL1: {info}");
    assert_eq!(info["SCAL"], "1");
    assert_eq!(info["multisign"], 2);
    let algos = info["key"]["algo"].as_array().unwrap();
    for oid in [RSA_SHA256, RSASSA_PSS, RSA_SHA512] {
        assert!(algos.iter().any(|a| a == oid), "{oid} in {info}");
    }
    let rsa_cert = unb64(info["cert"]["certificates"][0].as_str().unwrap());

    // SCAL2 ECDSA: hash + PIN + OTP, then signHash with hashAlgo.
    let message = b"a PDF byte range";
    let d = sha256(message);
    let otp = server.fresh_otp(&user);
    let (status, auth) = v1_authorize(
        &server,
        &token,
        &ec,
        std::slice::from_ref(&d),
        "13579",
        Some(&otp),
    )
    .await;
    assert_eq!(status, 200, "{auth}");
    assert_eq!(auth["expiresIn"], 300);
    let sad = auth["SAD"].as_str().unwrap();
    let sigs = signatures(
        &v1_sign(
            &server,
            &token,
            &ec,
            sad,
            SHA256,
            ECDSA_SHA256,
            std::slice::from_ref(&d),
            None,
        )
        .await,
    );
    verify(&ec_cert, ECDSA_SHA256, SHA256, message, &sigs[0]).unwrap();
    expect_error(
        &v1_sign(&server, &token, &ec, sad, SHA256, ECDSA_SHA256, &[d], None).await,
        400,
        "invalid_request",
    );

    // SCAL1 RSA: PSS as pyHanko's prefer_pss sends it, then SHA-512 PKCS#1 (the hash algorithm
    // inferred from the digest length at authorization: v1 has no hashAlgorithmOID there).
    let d = sha256(message);
    let (status, auth) = v1_authorize(
        &server,
        &token,
        &rsa,
        std::slice::from_ref(&d),
        "13579",
        None,
    )
    .await;
    assert_eq!(status, 200, "{auth}");
    let params = Some(b64(&pss_params(SHA256)));
    let sigs = signatures(
        &v1_sign(
            &server,
            &token,
            &rsa,
            auth["SAD"].as_str().unwrap(),
            SHA256,
            RSASSA_PSS,
            &[d],
            params,
        )
        .await,
    );
    verify(&rsa_cert, RSASSA_PSS, SHA256, message, &sigs[0]).unwrap();
    let d512 = digest(SHA512, message);
    let (status, auth) = v1_authorize(
        &server,
        &token,
        &rsa,
        std::slice::from_ref(&d512),
        "13579",
        None,
    )
    .await;
    assert_eq!(status, 200, "{auth}");
    let sad = auth["SAD"].as_str().unwrap();
    // A SHA-256 request against the SHA-512 authorization is refused...
    let reply = v1_sign(
        &server,
        &token,
        &rsa,
        sad,
        SHA256,
        RSA_SHA256,
        &[sha256(message)],
        None,
    )
    .await;
    expect_error(&reply, 400, "invalid_request");
    // ...the authorized one is signed.
    let sigs = signatures(
        &v1_sign(
            &server,
            &token,
            &rsa,
            sad,
            SHA512,
            RSA_SHA512,
            &[d512],
            None,
        )
        .await,
    );
    verify(&rsa_cert, RSA_SHA512, SHA512, message, &sigs[0]).unwrap();

    // v1 extendTransaction uses `hash`.
    let (h1, h2) = (sha256(b"one"), sha256(b"two"));
    let (status, auth) = v1_authorize(
        &server,
        &token,
        &rsa,
        &[h1.clone(), h2.clone()],
        "13579",
        None,
    )
    .await;
    assert_eq!(status, 200, "{auth}");
    signatures(
        &v1_sign(
            &server,
            &token,
            &rsa,
            auth["SAD"].as_str().unwrap(),
            SHA256,
            RSA_SHA256,
            &[h1],
            None,
        )
        .await,
    );
    // A hash outside the authorization is refused; the authorized one carries over.
    let (status, ext) = server
        .post(
            "/csc/v1/credentials/extendTransaction",
            Some(&token),
            &json!({ "credentialID": rsa, "SAD": auth["SAD"], "hash": [b64(&sha256(b"three"))] }),
        )
        .await;
    assert_eq!(status, 400, "{ext}");
    assert_eq!(
        ext["error_description"],
        "Hash is not authorized by the SAD"
    );
    let (status, ext) = server
        .post(
            "/csc/v1/credentials/extendTransaction",
            Some(&token),
            &json!({ "credentialID": rsa, "SAD": auth["SAD"], "hash": [b64(&h2)] }),
        )
        .await;
    assert_eq!(status, 200, "{ext}");
    let sigs = signatures(
        &v1_sign(
            &server,
            &token,
            &rsa,
            ext["SAD"].as_str().unwrap(),
            SHA256,
            RSA_SHA256,
            &[h2],
            None,
        )
        .await,
    );
    verify(&rsa_cert, RSA_SHA256, SHA256, b"two", &sigs[0]).unwrap();
}

#[tokio::test]
async fn v1_wrong_pin_and_wrong_otp_have_their_own_codes() {
    let server = Server::start();
    let user = server.add_user("ole");
    let cred = server.create_credential(&user, "13579", &[]);
    let token = v1_login(&server, &user).await;
    let d = sha256(b"x");

    let otp = server.fresh_otp(&user);
    let reply = v1_authorize(
        &server,
        &token,
        &cred,
        std::slice::from_ref(&d),
        "97531",
        Some(&otp),
    )
    .await;
    assert_eq!(expect_error(&reply, 400, "invalid_pin"), "Invalid PIN");
    let reply = v1_authorize(
        &server,
        &token,
        &cred,
        std::slice::from_ref(&d),
        "13579",
        Some(&wrong_otp(&user)),
    )
    .await;
    assert_eq!(expect_error(&reply, 400, "invalid_otp"), "Invalid OTP");
    // A good code works once...
    let otp = server.fresh_otp(&user);
    let (status, body) = v1_authorize(
        &server,
        &token,
        &cred,
        std::slice::from_ref(&d),
        "13579",
        Some(&otp),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // ...and only once.
    let reply = v1_authorize(
        &server,
        &token,
        &cred,
        std::slice::from_ref(&d),
        "13579",
        Some(&otp),
    )
    .await;
    expect_error(&reply, 400, "invalid_otp");
    // SCAL2 without the OTP at all.
    let reply = v1_authorize(&server, &token, &cred, &[d], "13579", None).await;
    expect_error(&reply, 400, "invalid_request");
}

#[tokio::test]
async fn v1_member_names_work_on_v2_routes() {
    let server = Server::start();
    let user = server.add_user("vic");
    let cred = server.create_credential(&user, "13579", &[]);
    let token = server.login(&user).await;
    let cert = server.certificate(&token, &cred).await;
    let message = b"pyHanko with api_ver v2";
    let d = sha256(message);

    let otp = server.fresh_otp(&user);
    let (status, auth) = server
        .post(
            "/csc/v2/credentials/authorize",
            Some(&token),
            &json!({ "credentialID": cred, "numSignatures": 1, "hash": [b64(&d)], "PIN": "13579", "OTP": otp }),
        )
        .await;
    assert_eq!(status, 200, "{auth}");
    let reply = server
        .post(
            "/csc/v2/signatures/signHash",
            Some(&token),
            &json!({ "credentialID": cred, "SAD": auth["SAD"], "hashAlgo": SHA256, "signAlgo": ECDSA_SHA256, "hash": [b64(&d)] }),
        )
        .await;
    verify(&cert, ECDSA_SHA256, SHA256, message, &signatures(&reply)[0]).unwrap();

    // On v2, a wrong PIN or OTP is invalid_authentication_data, whichever names carried them.
    let otp = server.fresh_otp(&user);
    let reply = server
        .authorize(
            &token,
            &cred,
            1,
            Some(std::slice::from_ref(&d)),
            Some(SHA256),
            "00000",
            Some(&otp),
        )
        .await;
    expect_error(&reply, 400, "invalid_authentication_data");
    let reply = server
        .post(
            "/csc/v2/credentials/authorize",
            Some(&token),
            &json!({ "credentialID": cred, "numSignatures": 1, "hash": [b64(&d)], "PIN": "00000", "OTP": otp }),
        )
        .await;
    expect_error(&reply, 400, "invalid_authentication_data");
    let reply = server
        .authorize(
            &token,
            &cred,
            1,
            Some(std::slice::from_ref(&d)),
            Some(SHA256),
            "13579",
            Some(&wrong_otp(&user)),
        )
        .await;
    expect_error(&reply, 400, "invalid_authentication_data");
}

/// Every v1 answer of a whole signing session against the CSC API v1.0.3.0 JSON schema
/// (`tests/spec/csc/`), judged by Python's `jsonschema` (Draft 7). Two definitions of the
/// published schema contradict the specification's text (v1.0.4.0 §11.5, credentials/info
/// output table) and its own OpenAPI example (`"multisign": 5`): `multisign` is a Number ≥ 1, not
/// a Boolean, and `key/curve` an OID String, not an Integer. Signet and pyHanko follow the text,
/// so the judge corrects exactly those two and applies the rest unchanged (`PIN`, `OTP` and
/// `lang`, required by the schema, are all present for this credential).
#[tokio::test]
async fn v1_answers_match_the_csc_json_schema() {
    let Some(tools) = common::interop::interop() else {
        return;
    };
    let server = Server::start();
    let user = server.add_user("schema");
    let pin = "4711";
    let cred = server.create_credential(&user, pin, &["--key", "ec-p256", "--scal", "2"]);
    let token = v1_login(&server, &user).await;
    let hash = sha256(b"schema");
    let mut answers = Vec::new();
    let mut answer = |definition: &str, reply: (u16, Value)| {
        assert_eq!(reply.0, 200, "{definition}: {}", reply.1);
        answers.push(json!({ "definition": definition, "answer": reply.1 }));
        reply.1
    };
    answer(
        "output-info",
        server.post("/csc/v1/info", None, &json!({})).await,
    );
    let login = server
        .http
        .post(format!("{}/csc/v1/auth/login", server.url))
        .basic_auth(&user.username, Some(&user.password))
        .json(&json!({ "rememberMe": true }))
        .send()
        .await
        .expect("auth/login");
    let login_status = login.status().as_u16();
    answer(
        "output-auth-login",
        (login_status, login.json().await.expect("JSON")),
    );
    answer(
        "output-credentials-list",
        server
            .post("/csc/v1/credentials/list", Some(&token), &json!({}))
            .await,
    );
    let info = json!({ "credentialID": cred, "certificates": "chain", "certInfo": true, "authInfo": true });
    answer(
        "output-credentials-info",
        server
            .post("/csc/v1/credentials/info", Some(&token), &info)
            .await,
    );
    let otp = server.fresh_otp(&user);
    let sad = answer(
        "output-credentials-authorize",
        v1_authorize(
            &server,
            &token,
            &cred,
            std::slice::from_ref(&hash),
            pin,
            Some(&otp),
        )
        .await,
    );
    let sad = sad["SAD"].as_str().expect("SAD").to_string();
    answer(
        "output-signatures-signhash",
        v1_sign(
            &server,
            &token,
            &cred,
            &sad,
            "2.16.840.1.101.3.4.2.1",
            "1.2.840.10045.4.3.2",
            &[hash],
            None,
        )
        .await,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let answers_path = dir.path().join("answers.json");
    std::fs::write(&answers_path, serde_json::to_vec(&answers).expect("JSON")).expect("write");
    let schema =
        common::interop::workspace_root().join("tests/spec/csc/csc-json-schema-v1.0.3.0.json");
    let judge = r#"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
# The two corrections named in the test's documentation, from the specification's text.
schema['definitions']['multisign'] = {'type': 'integer', 'minimum': 1}
schema['definitions']['key']['properties']['curve'] = {'type': 'string', 'pattern': r'^[0-2](\.[0-9]+)+$'}
failed = 0
for item in json.load(open(sys.argv[2])):
    # The answer's definition, resolved inside the whole schema document.
    wrapper = dict(schema, **{'$ref': '#/definitions/' + item['definition']})
    wrapper.pop('required', None); wrapper.pop('properties', None); wrapper.pop('type', None)
    errors = list(jsonschema.Draft7Validator(wrapper).iter_errors(item['answer']))
    for e in errors:
        print(item['definition'], list(e.path), e.message)
    failed += len(errors)
    print(item['definition'], 'valid' if not errors else 'INVALID')
sys.exit(1 if failed else 0)
"#;
    let (ok, log) = common::interop::run(
        std::process::Command::new(tools.python())
            .args(["-c", judge])
            .arg(&schema)
            .arg(&answers_path),
    );
    assert!(
        ok,
        "CSC v1 answers do not match the CSC JSON schema:\n{log}"
    );
    assert_eq!(log.matches(" valid").count(), 6, "{log}");
}
