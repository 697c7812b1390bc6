//! A server with one signer, a logged-in token and an SCAL1 credential that signs up to 100
//! documents per authorization: what the signDoc and DSS-X tests start from.

use serde_json::{Value, json};

use super::{SHA256, Server, TestUser};

/// The credential PIN.
pub const PIN: &str = "20481024";

pub struct DocSigner {
    pub server: Server,
    pub user: TestUser,
    pub token: String,
    pub cred: String,
    /// Where a test writes outputs for the validators.
    pub dir: tempfile::TempDir,
}

impl DocSigner {
    /// A fresh server (with `env`) and a `key` credential (e.g. `ec-p256`, `rsa-2048`).
    pub async fn start(key: &str, env: &[(&str, &str)]) -> DocSigner {
        let server = Server::start_with_env(env);
        let user = server.add_user("signer");
        let cred = server.create_credential(
            &user,
            PIN,
            &["--key", key, "--scal", "1", "--multisign", "100"],
        );
        let token = server.login(&user).await;
        DocSigner {
            server,
            user,
            token,
            cred,
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// A SAD for `n` signatures, bound to `hashes` (SHA-256) when given.
    pub async fn sad(&self, n: u32, hashes: Option<&[Vec<u8>]>) -> String {
        self.server
            .sad(&self.token, &self.cred, n, hashes, Some(SHA256), PIN, None)
            .await
    }

    /// signDoc with this credential and `sad` added to `body`.
    pub async fn sign_doc(&self, sad: &str, body: Value) -> (u16, Value) {
        let mut body = body;
        body["credentialID"] = json!(self.cred);
        body["SAD"] = json!(sad);
        self.server
            .post("/csc/v2/signatures/signDoc", Some(&self.token), &body)
            .await
    }
}

/// A one-page PDF with a classic cross-reference table, written by hand.
pub fn minimal_pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ];
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(b"xref\n0 4\n0000000000 65535 f \n");
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}
