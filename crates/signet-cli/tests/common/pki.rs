//! Test certificates for HTTPS and mutual TLS, made with the `openssl` command line (an
//! independent implementation), and rustls clients (aws-lc-rs) that use them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use super::{Server, install_crypto_provider};

/// A server CA with a server certificate for 127.0.0.1 / localhost, a client CA, and a rogue CA
/// that Signet does not trust, all P-256, valid from now for two days.
pub struct TestPki {
    pub dir: tempfile::TempDir,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl TestPki {
    pub fn new() -> TestPki {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = TestPki { dir };
        pki.ca("server-ca", "Signet Test Server CA");
        pki.ca("client-ca", "Signet Test Client CA");
        pki.ca("rogue-ca", "Rogue CA");
        pki.leaf(
            "server-ca",
            "server",
            "localhost",
            "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
        );
        pki
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    fn ca(&self, name: &str, cn: &str) {
        openssl(
            self.dir.path(),
            &[
                "req",
                "-x509",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
                "-days",
                "2",
                "-subj",
                &format!("/CN={cn}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
    }

    /// `name.pem` / `name.key` issued by `ca` with the extensions `ext` (plus end-entity ones).
    fn leaf(&self, ca: &str, name: &str, cn: &str, ext: &str) {
        let ext_file = format!("{name}.ext");
        std::fs::write(
            self.path(&ext_file),
            format!(
                "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n{ext}"
            ),
        )
        .expect("write extensions");
        openssl(
            self.dir.path(),
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN={cn}"),
            ],
        );
        openssl(
            self.dir.path(),
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                &format!("{ca}.pem"),
                "-CAkey",
                &format!("{ca}.key"),
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &ext_file,
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }

    /// A client certificate issued by the trusted client CA: (certificate, key) paths.
    pub fn client(&self, name: &str) -> (PathBuf, PathBuf) {
        self.leaf("client-ca", name, name, "extendedKeyUsage=clientAuth\n");
        (
            self.path(&format!("{name}.pem")),
            self.path(&format!("{name}.key")),
        )
    }

    /// A client certificate from a CA Signet does not trust.
    pub fn rogue_client(&self, name: &str) -> (PathBuf, PathBuf) {
        let file = format!("rogue-{name}");
        self.leaf("rogue-ca", &file, name, "extendedKeyUsage=clientAuth\n");
        (
            self.path(&format!("{file}.pem")),
            self.path(&format!("{file}.key")),
        )
    }

    /// `signet serve` environment for HTTPS; `mutual` adds the client CA.
    pub fn server_env(&self, mutual: bool, require: bool) -> Vec<(String, String)> {
        let mut env = vec![
            (
                "SIGNET_TLS__CERTIFICATE".to_string(),
                self.path("server.pem").display().to_string(),
            ),
            (
                "SIGNET_TLS__KEY".to_string(),
                self.path("server.key").display().to_string(),
            ),
        ];
        if mutual {
            env.push((
                "SIGNET_TLS__CLIENT_CA".into(),
                self.path("client-ca.pem").display().to_string(),
            ));
        }
        if require {
            env.push((
                "SIGNET_TLS__REQUIRE_CLIENT_CERTIFICATE".into(),
                "true".into(),
            ));
        }
        env
    }

    /// A rustls client configuration trusting the server CA, limited to `versions`, presenting
    /// `identity` (certificate, key) when given.
    pub fn client_config(
        &self,
        versions: &[&'static rustls::SupportedProtocolVersion],
        identity: Option<&(PathBuf, PathBuf)>,
    ) -> rustls::ClientConfig {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        install_crypto_provider();
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(self.path("server-ca.pem")).expect("CA PEM") {
            roots.add(cert.expect("CA certificate")).expect("add root");
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots);
        match identity {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                    .expect("client certificate PEM")
                    .map(|c| c.expect("client certificate"))
                    .collect();
                let key = PrivateKeyDer::from_pem_file(key).expect("client key");
                builder
                    .with_client_auth_cert(chain, key)
                    .expect("client identity")
            }
        }
    }

    /// A reqwest client over [`TestPki::client_config`].
    pub fn http_client(
        &self,
        versions: &[&'static rustls::SupportedProtocolVersion],
        identity: Option<&(PathBuf, PathBuf)>,
    ) -> reqwest::Client {
        reqwest::Client::builder()
            .use_preconfigured_tls(self.client_config(versions, identity))
            .build()
            .expect("TLS client")
    }
}

/// TLS 1.3 and 1.2, what Signet offers.
pub const BOTH: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

impl Server {
    /// A server speaking HTTPS with `pki`'s server certificate (`mutual`: client certificates
    /// from its client CA are verified; `require`: and demanded). Its `http` client trusts the
    /// server CA and presents no certificate.
    pub fn start_tls(pki: &TestPki, mutual: bool, require: bool, env: &[(&str, &str)]) -> Server {
        let mut all = pki.server_env(mutual, require);
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut server = Server::start_with_env(&refs);
        assert!(server.url.starts_with("https://"), "{}", server.url);
        server.http = pki.http_client(BOTH, None);
        server
    }

    /// The `host:port` the server listens on.
    pub fn addr(&self) -> String {
        self.url
            .split("://")
            .nth(1)
            .expect("scheme")
            .trim_end_matches('/')
            .to_string()
    }
}
