//! Records of the authorization flows that sit in front of the SAM: OAuth2 clients,
//! authorization codes, pushed authorization requests (RFC 9126), browser sessions of the
//! consent pages, decoupled (out-of-band) approvals, and which client holds which OAuth2-issued
//! secret.
//!
//! As everywhere in the store, secrets (codes, tokens, request URIs, session cookies, handles,
//! client secrets) are kept only as their SHA-256. Each flow is a small state machine whose
//! transitions are compare-and-swap updates ([`AuthzStore::set_code_state`],
//! [`AuthzStore::set_oob_status`]): two requests racing on the same code or approval cannot
//! both win.

use async_trait::async_trait;
use signet_core::HashAlgorithm;

use crate::{NewAuditEvent, SadRecord, SecretHash, StoreError, Timestamp};

/// An OAuth2 client registered by the operator (`signet admin client add`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// Random, URL-safe.
    pub client_id: String,
    /// Shown to the signer on the consent page.
    pub name: String,
    /// SHA-256 of the client secret (256 random bits); `None` for a public client.
    pub secret_hash: Option<SecretHash>,
    /// Registered redirect URIs; a request must name one of them exactly.
    pub redirect_uris: Vec<String>,
    /// The user a `client_credentials` token acts for (e-seal clients); `None` otherwise.
    pub user_id: Option<i64>,
    /// SHA-256 of the DER of the client's TLS certificate: a request over mutual TLS with this
    /// certificate and no Bearer token acts for `user_id` (CSC `authType` "TLS"). Unique.
    pub tls_certificate_sha256: Option<SecretHash>,
    pub created_at: Timestamp,
}

impl OAuthClient {
    /// Confidential clients authenticate with their secret; public ones only name themselves.
    pub fn is_confidential(&self) -> bool {
        self.secret_hash.is_some()
    }
}

/// What an authorization code (or an approval) grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantScope {
    /// CSC scope `service`: access to the API as the signer.
    Service,
    /// CSC scope `credential` (or RAR `authorization_details`): exactly what a SAD binds.
    Credential(CredentialBinding),
}

/// The SAD binding a signer approved: credential, count, and (SCAL2) the exact hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialBinding {
    pub credential_id: String,
    pub num_signatures: u32,
    pub hash_algo: Option<HashAlgorithm>,
    /// The authorized digests (a multiset); `None` when no hashes were bound (SCAL1).
    pub hashes: Option<Vec<Vec<u8>>>,
}

/// Where an authorization code is in its life: Issued → Redeemed (once) or Burned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeState {
    Issued,
    /// Exchanged at the token endpoint for the secret whose hash is kept here, so that a
    /// replay of the code can revoke it (RFC 6749 §4.1.2).
    Redeemed {
        issued: SecretHash,
    },
    /// Refused at the token endpoint (wrong client, redirect URI or PKCE verifier) or replayed.
    Burned,
}

/// An authorization code, bound to its client, redirect URI, PKCE challenge and grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    pub code_hash: SecretHash,
    pub client_id: String,
    /// The `redirect_uri` of the authorization request; `None` when it was omitted (the
    /// client's single registered URI was used), in which case the token request may omit it.
    pub redirect_uri: Option<String>,
    /// PKCE S256 `code_challenge` (base64url of SHA-256 of the verifier).
    pub code_challenge: String,
    pub user_id: i64,
    pub scope: GrantScope,
    /// RAR `authorization_details` as approved (JSON text), echoed in the token response.
    pub authorization_details: Option<String>,
    pub state: CodeState,
    pub expires_at: Timestamp,
    /// For a credential-scoped code: the SAM's seal over the signer's approval of exactly this
    /// binding, made when it verified their factors on the consent page. The SAD is issued at
    /// the token endpoint only against it, so a code row written by anyone else (a database
    /// administrator, a bug in the front) yields no SAD.
    pub approval: Option<SecretHash>,
}

/// A pushed authorization request (RFC 9126): the authorize parameters, used once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRequest {
    /// SHA-256 of the random part of the `request_uri`.
    pub request_hash: SecretHash,
    pub client_id: String,
    /// The authorization request parameters as a JSON object of strings.
    pub params: String,
    pub expires_at: Timestamp,
}

/// A browser session of the consent and approval pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    /// SHA-256 of the session cookie.
    pub session_hash: SecretHash,
    /// The signed-in user; `None` before sign-in.
    pub user_id: Option<i64>,
    /// The anti-CSRF token every form of this session carries.
    pub csrf_token: String,
    /// The authorization request waiting for the signer's decision (JSON, owned by the front).
    pub pending: Option<String>,
    pub expires_at: Timestamp,
}

/// Where a decoupled approval is: Pending → Approved → Collected, or Denied, or Expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OobStatus {
    Pending,
    /// The signer approved with their factors; the SAD is issued when the client collects it,
    /// against `approval`: the SAM's seal over that approval of this request's binding (`None`
    /// only for a request approved before seals existed, which then yields no SAD).
    Approved {
        approval: Option<SecretHash>,
    },
    Denied,
    Expired,
    /// The client collected the SAD (whose hash is kept): it is handed out exactly once.
    Collected {
        sad_hash: SecretHash,
    },
}

/// A credentials/authorize request waiting for the signer's approval on Signet's own page
/// (CSC v2 asynchronous authorization: 202 + `handle` + credentials/authorizeCheck).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OobRequest {
    /// Public identifier used by the approval page's forms.
    pub id: String,
    /// SHA-256 of the `handle` the client polls with.
    pub handle_hash: SecretHash,
    pub user_id: i64,
    pub binding: CredentialBinding,
    pub description: Option<String>,
    pub status: OobStatus,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Which kind of secret an OAuth2 client was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuedKind {
    AccessToken,
    RefreshToken,
    /// A credential-scoped access token: a SAD in the sads table.
    CredentialToken,
}

/// A secret issued through OAuth2, and to which client (for revocation and refresh).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedSecret {
    pub secret_hash: SecretHash,
    pub client_id: String,
    pub kind: IssuedKind,
    pub expires_at: Timestamp,
}

/// Persistence of the authorization flows. Part of every [`crate::Store`].
#[async_trait]
pub trait AuthzStore: Send + Sync {
    // ---- SADs by hash (credential-scoped tokens are SADs)
    /// The SAD if it exists and has not expired at `now`.
    async fn sad(
        &self,
        sad_hash: &SecretHash,
        now: Timestamp,
    ) -> Result<Option<SadRecord>, StoreError>;
    /// Deletes the token (with its family for a refresh token) or SAD whose hash this is, and
    /// the record of which client held it. Appends `audit` when something was deleted.
    async fn revoke_secret(
        &self,
        secret_hash: &SecretHash,
        audit: NewAuditEvent,
    ) -> Result<bool, StoreError>;

    /// Resets the credential's failure counter after the signer's factors were verified
    /// outside credentials/authorize (consent page, approval page), appending `audit`.
    async fn record_verification_success(
        &self,
        credential_id: &str,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError>;

    // ---- clients
    /// Fails with `Conflict` when the client ID exists.
    async fn create_client(
        &self,
        client: OAuthClient,
        audit: NewAuditEvent,
    ) -> Result<(), StoreError>;
    async fn client(&self, client_id: &str) -> Result<Option<OAuthClient>, StoreError>;
    async fn list_clients(&self) -> Result<Vec<OAuthClient>, StoreError>;
    /// The client registered with this TLS certificate (SHA-256 of its DER), for mutual TLS.
    /// The default scans [`AuthzStore::list_clients`]; backends override it with an indexed
    /// lookup, as it runs on every mutual-TLS request without a Bearer token.
    async fn client_by_tls_certificate(
        &self,
        certificate_sha256: &SecretHash,
    ) -> Result<Option<OAuthClient>, StoreError> {
        Ok(self
            .list_clients()
            .await?
            .into_iter()
            .find(|c| c.tls_certificate_sha256.as_ref() == Some(certificate_sha256)))
    }

    // ---- authorization codes
    async fn insert_code(&self, code: AuthCode, audit: NewAuditEvent) -> Result<(), StoreError>;
    /// The code whatever its state or age: the caller judges.
    async fn code(&self, code_hash: &SecretHash) -> Result<Option<AuthCode>, StoreError>;
    /// Moves the code from `from` to `to` if it is still in `from`; appends `audit` when it
    /// moved. Returns whether it moved.
    async fn set_code_state(
        &self,
        code_hash: &SecretHash,
        from: CodeState,
        to: CodeState,
        audit: Option<NewAuditEvent>,
    ) -> Result<bool, StoreError>;

    // ---- pushed authorization requests
    async fn insert_pushed_request(&self, request: PushedRequest) -> Result<(), StoreError>;
    /// Removes and returns the request (expired or not) if `client_id` pushed it: a request
    /// URI works once, and only for its client — another client's attempt leaves it in place
    /// (the URI is in the browser's address bar; whoever sees it must not be able to spend it).
    async fn take_pushed_request(
        &self,
        request_hash: &SecretHash,
        client_id: &str,
    ) -> Result<Option<PushedRequest>, StoreError>;

    // ---- issued OAuth2 secrets
    async fn record_issued(&self, issued: IssuedSecret) -> Result<(), StoreError>;
    async fn issued(&self, secret_hash: &SecretHash) -> Result<Option<IssuedSecret>, StoreError>;

    // ---- browser sessions
    /// Inserts or replaces the session.
    async fn put_browser_session(&self, session: BrowserSession) -> Result<(), StoreError>;
    /// The session if it exists and has not expired at `now`.
    async fn browser_session(
        &self,
        session_hash: &SecretHash,
        now: Timestamp,
    ) -> Result<Option<BrowserSession>, StoreError>;
    async fn delete_browser_session(&self, session_hash: &SecretHash) -> Result<(), StoreError>;

    // ---- decoupled approvals
    async fn insert_oob(&self, request: OobRequest, audit: NewAuditEvent)
    -> Result<(), StoreError>;
    async fn oob_by_handle(
        &self,
        handle_hash: &SecretHash,
    ) -> Result<Option<OobRequest>, StoreError>;
    async fn oob_by_id(&self, id: &str) -> Result<Option<OobRequest>, StoreError>;
    /// The user's pending requests that have not expired at `now`, oldest first.
    async fn pending_oob(
        &self,
        user_id: i64,
        now: Timestamp,
    ) -> Result<Vec<OobRequest>, StoreError>;
    /// Moves the request from `from` to `to` if it is still in `from`; appends `audit` when it
    /// moved. Returns whether it moved.
    async fn set_oob_status(
        &self,
        id: &str,
        from: OobStatus,
        to: OobStatus,
        audit: Option<NewAuditEvent>,
    ) -> Result<bool, StoreError>;
}
