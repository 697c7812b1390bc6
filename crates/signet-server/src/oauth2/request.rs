//! The authorization request (RFC 6749 §4.1.1 + PKCE RFC 7636 + CSC §8.4 parameters + RAR
//! RFC 9396), parsed and validated once for `/oauth2/authorize` and `/oauth2/pushed_authorize`.
//!
//! Validation runs in two phases because of RFC 6749 §4.1.2.1: until the client and its
//! redirect URI are known to match, an error must not be sent to the redirect URI
//! ([`RequestError::NoRedirect`]); after that, errors go back to the client
//! ([`RequestError::Redirect`]). What can only be checked once the signer is known (that the
//! credential is theirs, `multisign`, SCAL2 hashes) is checked on the consent page.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use signet_core::HashAlgorithm;
use signet_core::Untrusted;
use signet_sam::secrets;
use signet_store::OAuthClient;

use super::pkce;
use crate::AppState;
use crate::error::ApiError;
use crate::form::Params;

/// RAR types accepted for a credential authorization (CSC 2.0 and CSC 2.2 spellings).
pub const RAR_TYPES: [&str; 2] = [
    "credential",
    "https://cloudsignatureconsortium.org/2025/credential",
];

/// The most document digests one authorization may carry.
const MAX_DOCUMENTS: usize = 256;

/// A validated authorization request, kept in the browser session until the signer decides.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuthorizationRequest {
    /// Random: the consent form names the request it was rendered for.
    pub id: String,
    pub client_id: String,
    pub client_name: String,
    /// The redirect URI the response goes to (exactly a registered one).
    pub redirect_uri: String,
    /// Whether the request named `redirect_uri` (then the token request must repeat it).
    pub redirect_uri_given: bool,
    pub state: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// `prompt=login`: sign in again even with a live session.
    pub prompt_login: bool,
    pub scope: RequestedScope,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "scope", rename_all = "lowercase")]
pub enum RequestedScope {
    Service,
    Credential(CredentialRequest),
}

/// What a credential-scope request asks the signer to approve.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CredentialRequest {
    pub credential_id: String,
    pub num_signatures: u32,
    pub hash_algo: Option<HashAlgorithm>,
    /// The digests to be signed, with their labels; empty when no hashes are bound.
    pub documents: Vec<Document>,
    pub description: Option<String>,
    /// The RAR `authorization_details` as requested, echoed by the token endpoint.
    pub authorization_details: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Document {
    pub label: Option<String>,
    /// The digest, standard Base64.
    pub hash: String,
}

impl CredentialRequest {
    /// The bound digests, decoded; `None` when the request bound none.
    pub fn hashes(&self) -> Option<Vec<Vec<u8>>> {
        if self.documents.is_empty() {
            return None;
        }
        self.documents
            .iter()
            .map(|d| signet_core::b64::decode(&d.hash))
            .collect()
    }
}

/// Why an authorization request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// The client or redirect URI is unknown or does not match: shown on a page, never
    /// redirected (and at the PAR endpoint a JSON error).
    NoRedirect {
        error: &'static str,
        description: String,
    },
    /// Sent back to the client's redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

impl RequestError {
    /// The JSON error for the pushed authorization endpoint (RFC 9126 §2.3).
    pub fn into_api_error(self) -> ApiError {
        let (error, description) = match self {
            Self::NoRedirect { error, description }
            | Self::Redirect {
                error, description, ..
            } => (error, description),
        };
        super::oauth_error(error, description)
    }
}

fn no_redirect(error: &'static str, description: &str) -> RequestError {
    RequestError::NoRedirect {
        error,
        description: description.to_owned(),
    }
}

/// The `client_id` an authorization request names.
pub fn client_id(params: &Params) -> Result<&str, RequestError> {
    params
        .get("client_id")
        .ok_or_else(|| no_redirect("invalid_request", "Missing parameter client_id"))
}

/// Parses and validates an authorization request for a known client.
pub async fn parse(
    state: &AppState,
    params: &Params,
) -> Result<AuthorizationRequest, RequestError> {
    let client_id = client_id(params)?;
    let client = match state.store.client(client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return Err(no_redirect("invalid_client", "Unknown client_id")),
        Err(e) => {
            tracing::error!(error = %Untrusted(&e), "store failure");
            return Err(no_redirect(
                "temporarily_unavailable",
                "Storage unavailable, try again",
            ));
        }
    };
    validate(&client, params)
}

/// Validates an authorization request of `client` (the one its `client_id` names). Pure: the
/// endpoints and the fuzz target call it.
pub fn validate(
    client: &OAuthClient,
    params: &Params,
) -> Result<AuthorizationRequest, RequestError> {
    let (redirect_uri, redirect_uri_given) = redirect_uri(client, params.get("redirect_uri"))
        .ok_or_else(|| {
            no_redirect(
                "invalid_request",
                "The redirect_uri is not one registered for this client",
            )
        })?;
    let state_param = params.get("state").map(str::to_owned);
    let fail = |error: &'static str, description: String| RequestError::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state_param.clone(),
        error,
        description,
    };
    match params.get("response_type") {
        Some("code") => {}
        Some(_) => {
            return Err(fail(
                "unsupported_response_type",
                "response_type must be code".into(),
            ));
        }
        None => {
            return Err(fail(
                "invalid_request",
                "Missing parameter response_type".into(),
            ));
        }
    }
    if state_param.as_ref().is_some_and(|s| s.len() > 512) {
        return Err(fail("invalid_request", "state is too long".into()));
    }
    // PKCE (RFC 7636) is required of every client, with S256 only.
    let code_challenge = params.get("code_challenge").ok_or_else(|| {
        fail(
            "invalid_request",
            "Missing parameter code_challenge (PKCE is required)".into(),
        )
    })?;
    if params.get("code_challenge_method") != Some("S256") {
        return Err(fail(
            "invalid_request",
            "code_challenge_method must be S256".into(),
        ));
    }
    if !pkce::valid_challenge(code_challenge) {
        return Err(fail(
            "invalid_request",
            "Invalid parameter code_challenge".into(),
        ));
    }
    let scope = requested_scope(params).map_err(|(error, description)| fail(error, description))?;
    let id = secrets::random_id().map_err(|_| fail("server_error", "Internal error".into()))?;
    Ok(AuthorizationRequest {
        id,
        client_id: client.client_id.clone(),
        client_name: client.name.clone(),
        redirect_uri: redirect_uri.clone(),
        redirect_uri_given,
        state: state_param.clone(),
        code_challenge: code_challenge.to_owned(),
        prompt_login: params
            .get("prompt")
            .is_some_and(|p| p.split(' ').any(|v| v == "login")),
        scope,
    })
}

/// The redirect URI to use: the one given if it is registered (exact string match, RFC 9700
/// §4.1.3; for a loopback IP literal any port, RFC 8252 §7.3, since a native app such as
/// `signet sign` listens on a port the system picks), or the only registered one when none is
/// given.
fn redirect_uri(client: &OAuthClient, given: Option<&str>) -> Option<(String, bool)> {
    match given {
        Some(uri) => client
            .redirect_uris
            .iter()
            .any(|r| r == uri || same_loopback_redirect(r, uri))
            .then(|| (uri.to_owned(), true)),
        None => match client.redirect_uris.as_slice() {
            [only] => Some((only.clone(), false)),
            _ => None,
        },
    }
}

/// RFC 8252 §7.3: `http://127.0.0.1:<any port>/path` (or `[::1]`) matches a registered
/// loopback redirect URI with the same host, path and query. Not `localhost` (§8.3: a name
/// can be resolved elsewhere), and never another scheme. Only the port may differ: the given
/// URI must be written as the URL parser writes it (no surrounding spaces, upper-case scheme,
/// tabs or other spellings the parser would silently normalise).
fn same_loopback_redirect(registered: &str, given: &str) -> bool {
    let (Ok(r), Ok(g)) = (url::Url::parse(registered), url::Url::parse(given)) else {
        return false;
    };
    if g.as_str() != given {
        return false;
    }
    let loopback_ip = |u: &url::Url| {
        u.scheme() == "http" && matches!(u.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
            || u.scheme() == "http"
                && matches!(u.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
    };
    loopback_ip(&r)
        && loopback_ip(&g)
        && r.host() == g.host()
        && r.path() == g.path()
        && r.query() == g.query()
        && r.username().is_empty()
        && g.username().is_empty()
        && g.password().is_none()
        && g.fragment().is_none()
}

type ScopeError = (&'static str, String);

fn invalid(description: impl Into<String>) -> ScopeError {
    ("invalid_request", description.into())
}

fn requested_scope(params: &Params) -> Result<RequestedScope, ScopeError> {
    let scope = params.get("scope");
    if let Some(details) = params.get("authorization_details") {
        if scope.is_some_and(|s| s != "credential") {
            return Err((
                "invalid_scope",
                "authorization_details goes with scope credential or no scope".into(),
            ));
        }
        return rar(details).map(RequestedScope::Credential);
    }
    match scope.unwrap_or("service") {
        "service" => Ok(RequestedScope::Service),
        "credential" => credential_scope(params).map(RequestedScope::Credential),
        _ => Err((
            "invalid_scope",
            "scope must be service or credential".into(),
        )),
    }
}

fn description(text: Option<&str>) -> Result<Option<String>, ScopeError> {
    match text {
        Some(d) if d.chars().count() > 500 => {
            Err(invalid("description is longer than 500 characters"))
        }
        Some(d) if d.chars().any(char::is_control) => Err(invalid("Invalid parameter description")),
        other => Ok(other.map(str::to_owned)),
    }
}

fn hash_algorithm(oid: Option<&str>) -> Result<Option<HashAlgorithm>, ScopeError> {
    oid.map(|o| {
        HashAlgorithm::from_oid(o).map_err(|_| invalid("Invalid parameter hashAlgorithmOID"))
    })
    .transpose()
}

fn credential_id(id: Option<&str>, qualifier: Option<&str>) -> Result<String, ScopeError> {
    match (id, qualifier) {
        (Some(id), _) if !id.is_empty() && id.len() <= 256 => Ok(id.to_owned()),
        (None, Some(_)) => Err(invalid(
            "signatureQualifier is not supported: send credentialID",
        )),
        _ => Err(invalid("Missing or invalid parameter credentialID")),
    }
}

/// A digest from a URL (base64url per CSC, but be liberal: standard Base64 whose `+` became a
/// space in the query string is accepted too), re-encoded as standard Base64.
fn digest(text: &str) -> Result<String, ScopeError> {
    let text = text.trim().replace(' ', "+");
    match signet_core::b64::decode(&text) {
        Some(bytes) if !bytes.is_empty() => Ok(signet_core::b64::encode(&bytes)),
        _ => Err(invalid("Invalid Base64 hash in hashes")),
    }
}

fn count(num: Option<u32>, documents: &[Document]) -> Result<u32, ScopeError> {
    match (num, documents.len()) {
        (Some(n), 0) => Ok(n),
        (Some(n), d) if n as usize == d => Ok(n),
        (Some(_), _) => Err(invalid("numSignatures must equal the number of hashes")),
        (None, 0) => Err(invalid("Missing parameter numSignatures")),
        (None, d) => Ok(d as u32),
    }
}

/// `scope=credential` with CSC's extra query parameters.
fn credential_scope(params: &Params) -> Result<CredentialRequest, ScopeError> {
    let credential_id =
        credential_id(params.get("credentialID"), params.get("signatureQualifier"))?;
    let num = params
        .get("numSignatures")
        .map(|n| {
            n.parse::<u32>()
                .map_err(|_| invalid("Invalid parameter numSignatures"))
        })
        .transpose()?;
    let documents: Vec<Document> = match params.get("hashes").or_else(|| params.get("hash")) {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|h| {
                Ok(Document {
                    label: None,
                    hash: digest(h)?,
                })
            })
            .collect::<Result<_, ScopeError>>()?,
    };
    if documents.len() > MAX_DOCUMENTS {
        return Err(invalid("Too many hashes"));
    }
    Ok(CredentialRequest {
        credential_id,
        num_signatures: count(num, &documents)?,
        hash_algo: hash_algorithm(params.get("hashAlgorithmOID"))?,
        documents,
        description: description(params.get("description"))?,
        authorization_details: None,
    })
}

/// RAR `authorization_details`: exactly one entry of type `credential` (or the CSC 2.2 URI).
fn rar(text: &str) -> Result<CredentialRequest, ScopeError> {
    let details: Value =
        serde_json::from_str(text).map_err(|_| invalid("authorization_details is not JSON"))?;
    let entry = match details.as_array().map(Vec::as_slice) {
        Some([entry]) => entry,
        Some([]) | None => {
            return Err(invalid(
                "authorization_details must be an array with one entry",
            ));
        }
        Some(_) => {
            return Err(invalid(
                "Only one credential per authorization is supported",
            ));
        }
    };
    let text_field = |name: &str| -> Result<Option<&str>, ScopeError> {
        match entry.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(invalid(format!(
                "authorization_details: {name} must be a string"
            ))),
        }
    };
    match text_field("type")? {
        Some(t) if RAR_TYPES.contains(&t) => {}
        _ => {
            return Err((
                "invalid_authorization_details",
                "Unsupported authorization_details type".into(),
            ));
        }
    }
    let credential_id = credential_id(
        text_field("credentialID")?,
        text_field("signatureQualifier")?,
    )?;
    let digests = entry
        .get("documentDigests")
        .and_then(Value::as_array)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            invalid("authorization_details: documentDigests must be a non-empty array")
        })?;
    if digests.len() > MAX_DOCUMENTS {
        return Err(invalid("Too many documentDigests"));
    }
    let documents = digests
        .iter()
        .map(|d| {
            let hash = d
                .get("hash")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("documentDigests: missing hash"))?;
            let label = match d.get("label") {
                None | Some(Value::Null) => None,
                Some(Value::String(l))
                    if l.chars().count() <= 200 && !l.chars().any(char::is_control) =>
                {
                    Some(l.clone())
                }
                Some(_) => return Err(invalid("documentDigests: invalid label")),
            };
            Ok(Document {
                label,
                hash: digest(hash)?,
            })
        })
        .collect::<Result<Vec<_>, ScopeError>>()?;
    let num = match entry.get("numSignatures") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| invalid("authorization_details: invalid numSignatures"))?,
        ),
    };
    Ok(CredentialRequest {
        credential_id,
        num_signatures: count(num, &documents)?,
        hash_algo: hash_algorithm(text_field("hashAlgorithmOID")?)?,
        documents,
        description: description(text_field("description")?)?,
        authorization_details: Some(details),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> Params {
        Params::parse(q).unwrap()
    }

    #[test]
    fn loopback_redirects_match_on_any_port_only() {
        let reg = "http://127.0.0.1/callback";
        for (given, ok) in [
            ("http://127.0.0.1:53127/callback", true),
            ("http://127.0.0.1/callback", true),
            ("http://127.0.0.1:53127/other", false),
            ("http://127.0.0.1:53127/callback?x=1", false),
            ("http://127.0.0.2:53127/callback", false),
            ("http://localhost:53127/callback", false),
            ("https://127.0.0.1:53127/callback", false),
            ("http://u:p@127.0.0.1:53127/callback", false),
            (" http://127.0.0.1:53127/callback", false),
            ("httP://127.0.0.1:53127/callback", false),
            ("http://127.0.0.1:53127/call\tback", false),
        ] {
            assert_eq!(same_loopback_redirect(reg, given), ok, "{given}");
        }
        assert!(same_loopback_redirect(
            "http://[::1]:80/cb",
            "http://[::1]:4711/cb"
        ));
        assert!(!same_loopback_redirect(
            "https://c.example/cb",
            "https://c.example:444/cb"
        ));
        assert!(!same_loopback_redirect(
            "http://localhost/cb",
            "http://localhost:8/cb"
        ));
    }

    #[test]
    fn credential_scope_with_base64url_hashes() {
        let h1 = data_encoding::BASE64URL_NOPAD.encode(&[0xfb; 32]);
        let h2 = data_encoding::BASE64URL_NOPAD.encode(&[0x01; 32]);
        let q = format!(
            "scope=credential&credentialID=c1&hashes={h1},{h2}&hashAlgorithmOID=2.16.840.1.101.3.4.2.1"
        );
        let RequestedScope::Credential(c) = requested_scope(&params(&q)).unwrap() else {
            panic!()
        };
        assert_eq!(c.num_signatures, 2);
        assert_eq!(c.hashes().unwrap(), vec![vec![0xfb; 32], vec![0x01; 32]]);
        assert_eq!(c.hash_algo, Some(HashAlgorithm::Sha256));
        let bad = requested_scope(&params(
            "scope=credential&credentialID=c1&hashes=AA,BB&numSignatures=3",
        ));
        assert_eq!(bad.unwrap_err().0, "invalid_request");
    }

    #[test]
    fn rar_both_type_spellings() {
        for t in RAR_TYPES {
            let details = serde_json::json!([{
                "type": t, "credentialID": "c1", "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
                "documentDigests": [{"hash": signet_core::b64::encode(&[7; 32]), "label": "Contract"}],
            }]);
            let q = serde_urlencoded::to_string([("authorization_details", details.to_string())])
                .unwrap();
            let RequestedScope::Credential(c) = requested_scope(&params(&q)).unwrap() else {
                panic!()
            };
            assert_eq!(c.documents[0].label.as_deref(), Some("Contract"));
            assert_eq!(c.num_signatures, 1);
            assert_eq!(c.authorization_details, Some(details));
        }
        let q = serde_urlencoded::to_string([("authorization_details", r#"[{"type":"other"}]"#)])
            .unwrap();
        assert_eq!(
            requested_scope(&params(&q)).unwrap_err().0,
            "invalid_authorization_details"
        );
    }

    #[test]
    fn scopes() {
        assert_eq!(
            requested_scope(&params("")).unwrap(),
            RequestedScope::Service
        );
        assert_eq!(
            requested_scope(&params("scope=admin")).unwrap_err().0,
            "invalid_scope"
        );
        assert_eq!(
            requested_scope(&params("scope=credential&signatureQualifier=eu_eidas_qes"))
                .unwrap_err()
                .0,
            "invalid_request"
        );
    }
}
