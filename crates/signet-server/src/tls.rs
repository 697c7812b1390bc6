//! HTTPS for the front: rustls 0.23 with the aws-lc-rs provider (the one crypto backend of
//! Signet, never ring), TLS 1.3 and 1.2 only, and optional client certificates (mutual TLS).
//!
//! Handlers get a [`Peer`] per connection: the remote address and, over mutual TLS, the
//! SHA-256 of the verified client certificate, which the CSC front maps to a registered client
//! (CSC `authType` "TLS", see [`crate::auth`]).
//!
//! The handshake runs in the connection's own task, never in the accept loop, within
//! `[http] header_timeout_seconds` and under the connection caps (see [`crate::net`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

/// The rustls server configuration, for callers that do not depend on rustls themselves.
pub use rustls::ServerConfig as TlsServerConfig;
use tokio_rustls::server::TlsStream;

/// The verified TLS client certificate of the connection (mutual TLS), in the request
/// extensions (set by the router's observer; read by CSC and DSS-X authentication).
#[derive(Debug, Clone, Copy)]
pub struct ClientCertificate(pub CertificateFingerprint);

/// SHA-256 of a certificate's DER encoding: how a client certificate is registered and found.
pub type CertificateFingerprint = [u8; 32];

/// The TLS files of `[tls]`.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM: the server certificate first, then its intermediates.
    pub certificate: PathBuf,
    /// PEM private key (PKCS#8, SEC1 or PKCS#1) of the certificate.
    pub key: PathBuf,
    /// PEM bundle of the CAs whose client certificates are accepted; `None` = no client
    /// certificates are requested.
    pub client_ca: Option<PathBuf>,
    /// Refuse the handshake without a client certificate (else Bearer tokens still work).
    pub require_client_certificate: bool,
}

/// Why TLS could not be set up. Every message names the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS {what} {}: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("TLS {what} {}: {reason}", path.display())]
    Invalid {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("TLS configuration: {0}")]
    Config(String),
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

/// Every certificate of a PEM file, in order; an empty file or a PEM error is refused.
pub fn load_certificates(
    path: &Path,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path, what)?;
    let invalid = |reason: String| TlsError::Invalid {
        what,
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("not a PEM certificate file ({e})")))?;
    if certs.is_empty() {
        return Err(invalid("contains no CERTIFICATE block".into()));
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = zeroize::Zeroizing::new(read(path, "key")?);
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| TlsError::Invalid {
        what: "key",
        path: path.to_owned(),
        reason: format!("no PEM private key found ({e})"),
    })
}

/// SHA-256 of the DER of the first certificate in a PEM file (`admin client add
/// --tls-certificate`).
pub fn certificate_fingerprint_file(path: &Path) -> Result<CertificateFingerprint, TlsError> {
    let certs = load_certificates(path, "client certificate")?;
    Ok(fingerprint(&certs[0]))
}

/// SHA-256 of a certificate's DER.
pub fn fingerprint(cert: &[u8]) -> CertificateFingerprint {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, cert);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// The rustls server configuration: aws-lc-rs, TLS 1.3 and 1.2, HTTP/1.1 over ALPN, and a
/// client certificate verifier when `client_ca` is set.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let certs = load_certificates(&files.certificate, "certificate")?;
    let key = load_key(&files.key)?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in load_certificates(ca, "client CA")? {
                roots.add(cert).map_err(|e| TlsError::Invalid {
                    what: "client CA",
                    path: ca.clone(),
                    reason: e.to_string(),
                })?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
            let verifier = if files.require_client_certificate {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| TlsError::Invalid {
                what: "client CA",
                path: ca.clone(),
                reason: e.to_string(),
            })?)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Invalid {
            what: "key",
            path: files.key.clone(),
            reason: format!(
                "does not fit the certificate {} ({e})",
                files.certificate.display()
            ),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Who is at the other end of a connection.
#[derive(Debug, Clone)]
pub struct Peer {
    pub remote: SocketAddr,
    /// SHA-256 of the client certificate the TLS handshake verified against `client_ca`.
    pub client_certificate: Option<CertificateFingerprint>,
}

/// The peer of a connection whose TLS handshake succeeded: its address, and the fingerprint of
/// the client certificate the handshake verified, if any.
pub(crate) fn peer_of<I>(tls: &TlsStream<I>, remote: SocketAddr) -> Peer {
    let client_certificate = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|cert| fingerprint(cert));
    Peer {
        remote,
        client_certificate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_malformed_files_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope.pem");
        let files = TlsFiles {
            certificate: missing.clone(),
            key: missing.clone(),
            client_ca: None,
            require_client_certificate: false,
        };
        let err = server_config(&files).expect_err("missing file").to_string();
        assert!(
            err.contains("certificate") && err.contains("nope.pem"),
            "{err}"
        );

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "hello\n").expect("write");
        let err = load_certificates(&empty, "certificate")
            .expect_err("no PEM")
            .to_string();
        assert!(
            err.contains("empty.pem") && err.contains("no CERTIFICATE"),
            "{err}"
        );
        let err = load_key(&empty).expect_err("no key").to_string();
        assert!(
            err.contains("empty.pem") && err.contains("private key"),
            "{err}"
        );
    }
}
