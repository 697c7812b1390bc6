//! OAuth2 for CSC: the authorization code flow with PKCE (RFC 7636), optionally pushed (PAR,
//! RFC 9126) and with rich authorization requests (RAR, RFC 9396, type `credential`), the
//! native-app loopback redirect (RFC 8252 §7.3), and `client_credentials` for e-seals.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use signet_core::HashAlgorithm;
use zeroize::Zeroizing;

use crate::ClientError;
use crate::http::{json_answer, printable};
use crate::types::ServiceInfo;

/// The authorization server's endpoints.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub authorize: String,
    pub token: String,
    /// RFC 9126 PAR, when the server has it.
    pub pushed_authorize: Option<String>,
}

impl Endpoints {
    /// From `info.oauth2` (a base URI: `<base>/oauth2/authorize`, …) or the RFC 8414 metadata
    /// of `info.oauth2Issuer`.
    pub fn discover(
        http: &reqwest::blocking::Client,
        info: &ServiceInfo,
    ) -> Result<Self, ClientError> {
        if let Some(issuer) = &info.oauth2_issuer {
            const M: &str = "OAuth2 metadata";
            let url = format!(
                "{}/.well-known/oauth-authorization-server",
                issuer.trim_end_matches('/')
            );
            let (_, v) = json_answer(M, http.get(&url).send())?;
            let text = |name: &str| v.get(name).and_then(Value::as_str).map(str::to_owned);
            return Ok(Self {
                authorize: text("authorization_endpoint")
                    .ok_or_else(|| ClientError::malformed(M, "no authorization_endpoint"))?,
                token: text("token_endpoint")
                    .ok_or_else(|| ClientError::malformed(M, "no token_endpoint"))?,
                pushed_authorize: text("pushed_authorization_request_endpoint"),
            });
        }
        let Some(base) = &info.oauth2 else {
            return Err(ClientError::Unsupported(
                "the server names no OAuth2 authorization server (info has neither oauth2 nor oauth2Issuer)".into(),
            ));
        };
        let base = base.trim_end_matches('/');
        Ok(Self {
            authorize: format!("{base}/oauth2/authorize"),
            token: format!("{base}/oauth2/token"),
            pushed_authorize: info
                .offers("oauth2/pushed_authorize")
                .then(|| format!("{base}/oauth2/pushed_authorize")),
        })
    }
}

/// A PKCE verifier and its S256 challenge.
pub struct Pkce {
    pub verifier: Zeroizing<String>,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Result<Self, ClientError> {
        let verifier = Zeroizing::new(random_token(32)?);
        let challenge = data_encoding::BASE64URL_NOPAD.encode(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref(),
        );
        Ok(Self {
            verifier,
            challenge,
        })
    }
}

/// `n` random bytes, base64url: PKCE verifiers and `state` values.
pub fn random_token(n: usize) -> Result<String, ClientError> {
    let mut bytes = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| ClientError::Other("no randomness from the system".into()))?;
    Ok(data_encoding::BASE64URL_NOPAD.encode(&bytes))
}

/// What is asked for.
pub enum Scope<'a> {
    /// Service authorization: an access token for the API.
    Service,
    /// Credential authorization for `num_signatures` signatures of `hashes` (SCAL2: bound).
    Credential {
        credential_id: &'a str,
        num_signatures: u32,
        hashes: &'a [Vec<u8>],
        hash: HashAlgorithm,
        /// Send the request as RAR `authorization_details` (v2) instead of `scope=credential`.
        rich: bool,
        description: Option<&'a str>,
    },
}

/// One authorization code flow in progress.
pub struct CodeFlow {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: String,
    pub pkce: Pkce,
    /// The RAR details sent, to be repeated at the token endpoint.
    authorization_details: Option<String>,
}

/// The token endpoint's answer.
pub struct TokenAnswer {
    pub access_token: Zeroizing<String>,
    pub expires_in: Option<u64>,
    /// v2: the credential the server chose or confirmed.
    pub credential_id: Option<String>,
}

impl CodeFlow {
    /// Starts a flow and returns the URL to open in the signer's browser. Uses PAR when the
    /// server offers it, so that hashes and details do not travel in the address bar.
    pub fn start(
        http: &reqwest::blocking::Client,
        endpoints: &Endpoints,
        client_id: &str,
        redirect_uri: &str,
        scope: &Scope<'_>,
    ) -> Result<(Self, String), ClientError> {
        let pkce = Pkce::new()?;
        let state = random_token(16)?;
        let mut params: Vec<(&str, String)> = vec![
            ("response_type", "code".into()),
            ("client_id", client_id.into()),
            ("redirect_uri", redirect_uri.into()),
            ("code_challenge", pkce.challenge.clone()),
            ("code_challenge_method", "S256".into()),
            ("state", state.clone()),
        ];
        let mut authorization_details = None;
        match scope {
            Scope::Service => params.push(("scope", "service".into())),
            Scope::Credential {
                credential_id,
                num_signatures,
                hashes,
                hash,
                rich,
                description,
            } => {
                if *rich && !hashes.is_empty() {
                    let digests: Vec<Value> = hashes
                        .iter()
                        .enumerate()
                        .map(|(i, h)| {
                            json!({ "hash": data_encoding::BASE64.encode(h), "label": format!("Document {}", i + 1) })
                        })
                        .collect();
                    let details = json!([{
                        "type": "credential", "credentialID": credential_id,
                        "documentDigests": digests, "hashAlgorithmOID": hash.oid(),
                    }])
                    .to_string();
                    params.push(("authorization_details", details.clone()));
                    authorization_details = Some(details);
                } else {
                    params.push(("scope", "credential".into()));
                    params.push(("credentialID", (*credential_id).into()));
                    params.push(("numSignatures", num_signatures.to_string()));
                    if !hashes.is_empty() {
                        let list: Vec<String> = hashes
                            .iter()
                            .map(|h| data_encoding::BASE64URL_NOPAD.encode(h))
                            .collect();
                        params.push(("hashes", list.join(",")));
                        params.push(("hashAlgorithmOID", hash.oid().into()));
                    }
                }
                if let Some(d) = description {
                    params.push(("description", (*d).into()));
                }
            }
        }
        let url = match &endpoints.pushed_authorize {
            Some(par) => {
                const M: &str = "oauth2/pushed_authorize";
                let (_, v) = json_answer(M, http.post(par).form(&params).send())?;
                let request_uri = v
                    .get("request_uri")
                    .and_then(Value::as_str)
                    .ok_or_else(|| ClientError::malformed(M, "no request_uri"))?;
                with_query(
                    &endpoints.authorize,
                    &[("client_id", client_id), ("request_uri", request_uri)],
                )?
            }
            None => {
                let pairs: Vec<(&str, &str)> =
                    params.iter().map(|(k, v)| (*k, v.as_str())).collect();
                with_query(&endpoints.authorize, &pairs)?
            }
        };
        Ok((
            Self {
                client_id: client_id.into(),
                redirect_uri: redirect_uri.into(),
                state,
                pkce,
                authorization_details,
            },
            url,
        ))
    }

    /// Exchanges the code for a token.
    pub fn exchange(
        &self,
        http: &reqwest::blocking::Client,
        endpoints: &Endpoints,
        code: &str,
    ) -> Result<TokenAnswer, ClientError> {
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("code_verifier", &self.pkce.verifier),
        ];
        if let Some(d) = &self.authorization_details {
            form.push(("authorization_details", d));
        }
        token_request(http, &endpoints.token, &form, None)
    }
}

/// `client_credentials`: a service token for a confidential client (e-seals).
pub fn client_credentials(
    http: &reqwest::blocking::Client,
    endpoints: &Endpoints,
    client_id: &str,
    client_secret: &str,
) -> Result<TokenAnswer, ClientError> {
    token_request(
        http,
        &endpoints.token,
        &[("grant_type", "client_credentials"), ("scope", "service")],
        Some((client_id, client_secret)),
    )
}

fn token_request(
    http: &reqwest::blocking::Client,
    url: &str,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Result<TokenAnswer, ClientError> {
    const M: &str = "oauth2/token";
    let mut request = http.post(url).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(url_form(id), Some(url_form(secret)));
    }
    let (_, v) = json_answer(M, request.send())?;
    let token = v
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ClientError::malformed(M, "no access_token"))?;
    let credential_id = v
        .get("credentialID")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            v.get("authorization_details")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(|d| d.get("credentialID"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    Ok(TokenAnswer {
        access_token: Zeroizing::new(token.to_owned()),
        expires_in: v.get("expires_in").and_then(Value::as_u64),
        credential_id,
    })
}

/// RFC 6749 §2.3.1: client credentials in Basic are form-urlencoded first.
fn url_form(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> Result<String, ClientError> {
    let mut url = url::Url::parse(base)
        .map_err(|e| ClientError::Other(format!("authorization endpoint {base:?}: {e}")))?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    Ok(url.into())
}

/// A loopback redirect listener (RFC 8252 §7.3): `http://127.0.0.1:<port>/callback` on a
/// port the system picks. The server must allow any port for a loopback redirect URI.
pub struct LoopbackRedirect {
    listener: TcpListener,
    pub redirect_uri: String,
}

impl LoopbackRedirect {
    pub fn bind() -> Result<Self, ClientError> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| {
            ClientError::Other(format!(
                "cannot listen on 127.0.0.1 for the OAuth2 redirect: {e}"
            ))
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| ClientError::Other(format!("loopback listener: {e}")))?
            .port();
        Ok(Self {
            listener,
            redirect_uri: format!("http://127.0.0.1:{port}/callback"),
        })
    }

    /// Waits for the browser to come back with `code` for `state`; answers the browser with a
    /// short page. Requests that are not the redirect (a favicon, a probe) are answered 404 and
    /// waiting goes on; a redirect with `error` or the wrong `state` ends the flow.
    pub fn wait_for_code(
        &self,
        state: &str,
        timeout: Duration,
    ) -> Result<Zeroizing<String>, ClientError> {
        let deadline = Instant::now() + timeout;
        self.listener
            .set_nonblocking(true)
            .map_err(|e| ClientError::Other(format!("loopback listener: {e}")))?;
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if let Some(result) = handle_redirect(stream, state) {
                        return result;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(ClientError::Other(format!(
                            "no answer from the browser within {} s (the authorization was not completed)",
                            timeout.as_secs()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(ClientError::Other(format!("loopback listener: {e}"))),
            }
        }
    }
}

/// `None`: not the redirect, keep waiting.
fn handle_redirect(
    mut stream: TcpStream,
    state: &str,
) -> Option<Result<Zeroizing<String>, ClientError>> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut line = String::new();
    {
        let mut reader = BufReader::new((&stream).take_limited());
        if reader.read_line(&mut line).is_err() {
            return None;
        }
    }
    let target = line.split_whitespace().nth(1).unwrap_or("");
    let Ok(url) = url::Url::parse(&format!("http://127.0.0.1{target}")) else {
        respond(&mut stream, 400, "Bad request.");
        return None;
    };
    if url.path() != "/callback" {
        respond(&mut stream, 404, "Not found.");
        return None;
    }
    let get = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let result = if get("state").as_deref() != Some(state) {
        Err(ClientError::Other(
            "the OAuth2 redirect carries the wrong state (not the flow this client started)".into(),
        ))
    } else if let Some(error) = get("error") {
        let description = get("error_description").unwrap_or_default();
        Err(ClientError::Server {
            method: "oauth2/authorize".into(),
            status: 302,
            error: printable(&error, 100),
            description: printable(&description, 300),
        })
    } else if let Some(code) = get("code").filter(|c| !c.is_empty()) {
        Ok(Zeroizing::new(code))
    } else {
        Err(ClientError::malformed(
            "oauth2/authorize",
            "redirect without code",
        ))
    };
    let page = match &result {
        Ok(_) => {
            "Signet: authorization received. You can close this tab and return to the terminal."
        }
        Err(_) => "Signet: the authorization did not succeed. See the terminal for details.",
    };
    respond(&mut stream, 200, page);
    Some(result)
}

trait TakeLimited {
    fn take_limited(self) -> std::io::Take<Self>
    where
        Self: Sized + std::io::Read,
    {
        std::io::Read::take(self, 8 * 1024)
    }
}
impl TakeLimited for &TcpStream {}

fn respond(stream: &mut TcpStream, status: u16, text: &str) {
    let reason = if status == 200 {
        "OK"
    } else if status == 404 {
        "Not Found"
    } else {
        "Bad Request"
    };
    let body = format!("<!doctype html><meta charset=utf-8><title>Signet</title><p>{text}</p>");
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_s256_of_the_verifier() {
        let p = Pkce::new().unwrap();
        assert_eq!(p.verifier.len(), 43);
        let expected = data_encoding::BASE64URL_NOPAD.encode(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, p.verifier.as_bytes()).as_ref(),
        );
        assert_eq!(p.challenge, expected);
    }

    fn get(uri: &str, path: &str) -> String {
        let addr = uri
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let mut s = TcpStream::connect(addr).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        std::io::Read::read_to_string(&mut s, &mut out).unwrap();
        out
    }

    #[test]
    fn loopback_takes_the_code_for_its_state_only() {
        let lb = LoopbackRedirect::bind().unwrap();
        let uri = lb.redirect_uri.clone();
        let t = std::thread::spawn(move || {
            assert!(get(&uri, "/favicon.ico").starts_with("HTTP/1.1 404"));
            assert!(get(&uri, "/callback?code=abc&state=s1").starts_with("HTTP/1.1 200"));
        });
        let code = lb.wait_for_code("s1", Duration::from_secs(10)).unwrap();
        assert_eq!(code.as_str(), "abc");
        t.join().unwrap();

        let lb = LoopbackRedirect::bind().unwrap();
        let uri = lb.redirect_uri.clone();
        let t = std::thread::spawn(move || get(&uri, "/callback?code=abc&state=other"));
        let e = lb.wait_for_code("s1", Duration::from_secs(10)).unwrap_err();
        assert!(e.to_string().contains("wrong state"), "{e}");
        t.join().unwrap();

        let lb = LoopbackRedirect::bind().unwrap();
        let uri = lb.redirect_uri.clone();
        let t = std::thread::spawn(move || {
            get(
                &uri,
                "/callback?error=access_denied&error_description=The+signer+declined&state=s1",
            )
        });
        let e = lb.wait_for_code("s1", Duration::from_secs(10)).unwrap_err();
        assert_eq!(e.server_error(), Some("access_denied"));
        assert!(e.to_string().contains("The signer declined"), "{e}");
        t.join().unwrap();
    }

    #[test]
    fn loopback_gives_up_after_its_timeout() {
        let lb = LoopbackRedirect::bind().unwrap();
        let e = lb
            .wait_for_code("s", Duration::from_millis(200))
            .unwrap_err();
        assert!(e.to_string().contains("no answer from the browser"), "{e}");
    }
}
