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
    signet_ades::test_pki::pdf_of(&[
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ])
}
