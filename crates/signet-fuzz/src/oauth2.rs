//! The OAuth2 inputs: the authorization request's query string, the token form and the pushed
//! authorization request form, through the pure functions the endpoints call
//! (`signet_server::oauth2`, `signet_server::form`).
//!
//! Token and PAR inputs: the first line is the `Authorization` header value (empty: none),
//! the rest the form body.

use axum::http::{HeaderMap, HeaderValue, header};
use signet_server::error::ApiError;
use signet_server::form::Params;
use signet_server::oauth2::request::{self, AuthorizationRequest, RequestError, RequestedScope};
use signet_server::oauth2::{client_auth, par, pkce, redirect_target, token};
use signet_store::OAuthClient;

/// The registered clients requests may name: a public native app with a loopback redirect,
/// and a confidential web client with two redirect URIs.
fn clients() -> [OAuthClient; 2] {
    let client = |id: &str, secret: bool, uris: &[&str]| OAuthClient {
        client_id: id.into(),
        name: format!("Client {id}"),
        secret_hash: secret.then_some([7; 32]),
        redirect_uris: uris.iter().map(|u| (*u).to_owned()).collect(),
        user_id: None,
        tls_certificate_sha256: None,
        created_at: 0,
    };
    [
        client("app", false, &["http://127.0.0.1/callback"]),
        client(
            "web",
            true,
            &["https://c.example/cb", "com.example.app:/cb?x=1"],
        ),
    ]
}

fn client(id: &str) -> Option<OAuthClient> {
    clients().into_iter().find(|c| c.client_id == id)
}

pub fn oauth2_authorize(data: &[u8]) {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(params) = Params::parse(query) else {
        return;
    };
    authorize(&params);
}

/// Validates `params` as the authorization endpoint does and checks the outcome.
fn authorize(params: &Params) -> Option<Result<AuthorizationRequest, RequestError>> {
    let client = client(request::client_id(params).ok()?)?;
    let outcome = request::validate(&client, params);
    match &outcome {
        Ok(req) => check_request(&client, params, req),
        Err(RequestError::Redirect {
            redirect_uri,
            state,
            ..
        }) => {
            // An error sent back to the client goes to one of its own redirect URIs, and the
            // redirect can be built.
            assert!(registered(&client, redirect_uri), "{redirect_uri}");
            let state = state.as_deref().unwrap_or("");
            assert!(
                redirect_target(redirect_uri, "https://as.example", &[("state", state)]).is_some()
            );
        }
        Err(RequestError::NoRedirect { .. }) => {}
    }
    Some(outcome)
}

/// A redirect URI of the client: registered exactly, or a loopback IP literal on another port.
fn registered(client: &OAuthClient, uri: &str) -> bool {
    client.redirect_uris.iter().any(|r| r == uri)
        || (uri.starts_with("http://127.0.0.1") || uri.starts_with("http://[::1]"))
            && client
                .redirect_uris
                .iter()
                .any(|r| r.starts_with("http://127.0.0.1") || r.starts_with("http://[::1]"))
}

fn check_request(client: &OAuthClient, params: &Params, req: &AuthorizationRequest) {
    assert_eq!(req.client_id, client.client_id);
    assert!(
        registered(client, &req.redirect_uri),
        "{}",
        req.redirect_uri
    );
    assert_eq!(req.redirect_uri_given, params.get("redirect_uri").is_some());
    assert!(pkce::valid_challenge(&req.code_challenge));
    assert!(req.state.as_ref().is_none_or(|s| s.len() <= 512));
    assert!(redirect_target(&req.redirect_uri, "https://as.example", &[("code", "c")]).is_some());
    if let RequestedScope::Credential(c) = &req.scope {
        assert!(!c.credential_id.is_empty() && c.credential_id.len() <= 256);
        assert!(c.documents.len() <= 256);
        assert!(c.num_signatures >= 1 || c.documents.is_empty());
        if !c.documents.is_empty() {
            assert_eq!(c.num_signatures as usize, c.documents.len());
            let hashes = c.hashes().expect("bound digests decode");
            assert!(hashes.iter().all(|h| !h.is_empty()));
        }
        if let Some(d) = &c.description {
            assert!(d.chars().count() <= 500 && !d.chars().any(char::is_control));
        }
    }
    // The request is kept in the browser session as JSON until the signer decides.
    let kept = serde_json::to_string(req).expect("serializable");
    let back: AuthorizationRequest = serde_json::from_str(&kept).expect("deserializable");
    assert_eq!(&back, req);
}

/// Splits a token or PAR input into its headers and form parameters.
fn form(data: &[u8]) -> Option<(HeaderMap, Params)> {
    let (line, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&[][..], data),
    };
    let mut headers = HeaderMap::new();
    if !line.is_empty() {
        headers.insert(header::AUTHORIZATION, HeaderValue::from_bytes(line).ok()?);
    }
    // read_form: the body must be UTF-8, then it is parsed.
    let text = std::str::from_utf8(body).ok()?;
    Some((headers, Params::parse(text).ok()?))
}

fn client_error(e: &ApiError) {
    assert!(
        e.status.is_client_error(),
        "{} {:?}",
        e.status,
        e.description
    );
}

pub fn oauth2_token(data: &[u8]) {
    let Some((headers, params)) = form(data) else {
        return;
    };
    if let Err(e) = token::grant_type(&params) {
        return client_error(&e);
    }
    if let Err(e) = client_auth::presented(&headers, &params) {
        return client_error(&e);
    }
    match token::decode_grant(&params) {
        Ok(token::Grant::AuthorizationCode { verifier, .. }) => {
            // The PKCE check against a stored S256 challenge.
            let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
            let ok = pkce::verify(verifier, challenge);
            assert_eq!(
                ok,
                verifier == "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
            );
        }
        Ok(token::Grant::RefreshToken(t)) => assert!(!t.is_empty()),
        Ok(token::Grant::ClientCredentials) => {}
        Err(e) => client_error(&e),
    }
}

pub fn oauth2_par(data: &[u8]) {
    let Some((headers, params)) = form(data) else {
        return;
    };
    let client_id = match client_auth::presented(&headers, &params) {
        Ok((id, _)) => id,
        Err(e) => return client_error(&e),
    };
    // Authentication itself compares a secret hash with the store: the fixture clients
    // stand for any client that authenticated.
    let Some(client) = client(&client_id) else {
        return;
    };
    let kept = match par::pushed_params(&params, &client.client_id) {
        Ok(k) => k,
        Err(e) => return client_error(&e),
    };
    assert!(kept.get("client_secret").is_none() && kept.get("request_uri").is_none());
    assert_eq!(kept.get("client_id"), Some(client.client_id.as_str()));
    let pushed = request::validate(&client, &kept);
    // What the authorization endpoint gets back from the store is the same request.
    let restored = par::restore_params(&par::stored_params(&kept)).expect("stored params");
    let mut a: Vec<_> = kept.iter().collect();
    let mut b: Vec<_> = restored.iter().collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    let taken = authorize(&restored).expect("the client is known");
    match (pushed, taken) {
        (Ok(mut p), Ok(t)) => {
            p.id.clone_from(&t.id);
            assert_eq!(p, t);
        }
        (Err(p), Err(t)) => assert_eq!(p, t),
        (p, t) => panic!("pushed {p:?} but taken {t:?}"),
    }
}
