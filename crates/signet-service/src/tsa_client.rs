//! An RFC 3161 client for an external time-stamping authority: HTTP POST of a
//! `TimeStampReq` (RFC 3161 §3.4), over TLS (rustls, aws-lc-rs) for `https` URLs, with a
//! timeout and a size limit on the answer.

use std::sync::Arc;
use std::time::Duration;

use hyper::StatusCode;
use hyper::header;
use signet_pki::TimeStampRequestInfo;

use crate::pki::PkiServiceError;

/// How long an external TSA may take to answer.
const EXTERNAL_TSA_TIMEOUT: Duration = Duration::from_secs(20);
/// Largest answer read from an external TSA.
const MAX_EXTERNAL_RESPONSE_BYTES: usize = 1 << 20;

/// POSTs the request to an external TSA (RFC 3161 §3.4: `application/timestamp-query` →
/// `application/timestamp-reply`) and takes the token out of its answer.
pub(crate) async fn external_timestamp(
    url: &str,
    request: &TimeStampRequestInfo,
) -> Result<Vec<u8>, PkiServiceError> {
    let fail = |reason: String| PkiServiceError::ExternalTsa {
        url: url.to_owned(),
        reason,
    };
    let body = request.to_der()?;
    let answer = tokio::time::timeout(EXTERNAL_TSA_TIMEOUT, http_post(url, body))
        .await
        .map_err(|_| fail(format!("no answer within {EXTERNAL_TSA_TIMEOUT:?}")))?
        .map_err(fail)?;
    request
        .token_from_response(&answer)
        .map_err(|e| fail(e.to_string()))
}

/// Where the trust anchors for `https://` TSA URLs come from: `SSL_CERT_FILE`, else the
/// operating system's bundle (Debian, Ubuntu, Alpine; Fedora, RHEL).
const SYSTEM_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

/// A rustls client configuration (aws-lc-rs, TLS 1.2/1.3) trusting the system CA bundle.
fn tls_client_config() -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let bundle = std::env::var_os("SSL_CERT_FILE")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(SYSTEM_CA_BUNDLES.iter().map(std::path::PathBuf::from))
        .find(|p| p.exists())
        .ok_or("no CA bundle to verify the TSA's TLS certificate (set SSL_CERT_FILE)")?;
    let certs = CertificateDer::pem_file_iter(&bundle)
        .map_err(|e| format!("reading {}: {e}", bundle.display()))?
        .filter_map(Result::ok);
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!("no CA certificate in {}", bundle.display()));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Opens an HTTP/1.1 connection to `host:port`, over TLS for `https`.
async fn connect(
    https: bool,
    host: &str,
    port: u16,
) -> Result<hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>, String> {
    use hyper_util::rt::TokioIo;

    let tcp = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    if !https {
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        return Ok(send);
    }
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| format!("{host:?} is not a TLS server name: {e}"))?;
    let tls = tokio_rustls::TlsConnector::from(tls_client_config()?)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake: {e}"))?;
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}

/// A minimal HTTP/1.1 POST (hyper's connection API, rustls for `https`); returns the body of
/// a 200 `application/timestamp-reply` answer.
async fn http_post(url: &str, body: Vec<u8>) -> Result<Vec<u8>, String> {
    use http_body_util::{BodyExt, Full, Limited};

    let parsed = url::Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
    let https = match parsed.scheme() {
        "http" => false,
        "https" => true,
        other => return Err(format!("unsupported URL scheme {other}")),
    };
    let host = parsed.host_str().ok_or("the URL has no host")?.to_owned();
    let port = parsed
        .port_or_known_default()
        .unwrap_or(if https { 443 } else { 80 });
    let mut send = connect(https, host.trim_matches(['[', ']']), port).await?;
    let path = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_owned(),
    };
    let authority = match parsed.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let request = hyper::Request::post(path)
        .header(header::HOST, authority)
        .header(header::CONTENT_TYPE, "application/timestamp-query")
        .header(header::ACCEPT, "application/timestamp-reply")
        .body(Full::new(bytes::Bytes::from(body)))
        .map_err(|e| format!("building the request: {e}"))?;
    let response = send
        .send_request(request)
        .await
        .map_err(|e| format!("sending the request: {e}"))?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = Limited::new(response.into_body(), MAX_EXTERNAL_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| format!("reading the answer: {e}"))?
        .to_bytes();
    if status != StatusCode::OK {
        return Err(format!("HTTP status {status}"));
    }
    if !media_type_is(&content_type, "application/timestamp-reply") {
        return Err(format!(
            "answer of type {content_type:?}, not application/timestamp-reply"
        ));
    }
    Ok(bytes.to_vec())
}

pub(crate) fn media_type_is(value: &str, expected: &str) -> bool {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_ignore_parameters_and_case() {
        assert!(media_type_is(
            "Application/Timestamp-Query; charset=x",
            "application/timestamp-query"
        ));
        assert!(!media_type_is(
            "application/json",
            "application/timestamp-query"
        ));
        assert!(!media_type_is("", "application/ocsp-request"));
    }
}
