//! The PKCS#11 key module: keys are generated inside an HSM token and never leave it.
//!
//! Private keys are created with `CKA_TOKEN`, `CKA_PRIVATE`, `CKA_SENSITIVE`, not
//! `CKA_EXTRACTABLE`, and `CKA_SIGN` as their only usage. Both halves carry a random 16-byte
//! `CKA_ID` and the caller's label as `CKA_LABEL`. A [`KeyRef`] issued here is just that ID:
//!
//! ```text
//! 0x02 || CKA_ID (16 bytes)
//! ```
//!
//! (0x01 is the software backend's layout), so the database holds nothing secret for these
//! keys: the handle and the public key.
//!
//! Signing works on precomputed digests with the raw mechanisms every token has: CKM_ECDSA
//! (its `r || s` output converted to DER), CKM_RSA_PKCS over the DigestInfo, and
//! CKM_RSA_PKCS_PSS with MGF1 over the same hash and the requested salt length (the digest
//! length, or the maximum that pyHanko uses).
//!
//! # Sessions
//!
//! A cryptoki session serves one thread at a time, so the module keeps a pool of R/W sessions
//! (by default one per CPU, the worker count). A call checks one out, uses it and puts it back;
//! when all are busy it waits. Login state belongs to the application and token, not to a
//! session: the first login covers every session, and a new session opened later is
//! already logged in. Each session caches the object handles of the keys it has used.
//!
//! When a call fails because the session or the token failed (closed or invalid session, user
//! no longer logged in, device error, token removed, library not initialized...), the session
//! is dropped and the call is retried once on a newly opened session, logging in again if the
//! token forgot the login. If that fails too the call returns [`KeyError::Unavailable`], which
//! the server answers with 503; the next call starts over, so the module recovers by itself
//! once the token is back. A rejected PIN is different: the module stops logging in (so it
//! cannot lock the token by retrying) and every call reports the PIN until a restart.

mod encoding;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType as CkKeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use parking_lot::{Condvar, Mutex};
use signet_core::{HashAlgorithm, KeyType, SignMechanism};
use zeroize::Zeroizing;

use crate::{GeneratedKey, KeyError, KeyModule, KeyRef};

/// First byte of every PKCS#11 [`KeyRef`] (the software backend uses 1).
const KEY_REF_VERSION: u8 = 2;
/// Length of the random CKA_ID given to each key pair.
const ID_LEN: usize = 16;
/// How long a call waits for a free session before giving up with `Unavailable`.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);
/// Object handles cached per session; past this the cache starts over (a lookup is one
/// C_FindObjects round trip).
const HANDLE_CACHE_CAPACITY: usize = 4096;
/// Token labels are a fixed 32-byte field.
const MAX_TOKEN_LABEL: usize = 32;

/// Where the token is and how to log in to it.
#[derive(Clone)]
pub struct Pkcs11Config {
    /// The PKCS#11 library, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// The token is found by its label, never by slot index (slot numbers move).
    pub token_label: String,
    /// The normal user's PIN. Never logged, echoed or shown by `Debug`.
    pub user_pin: Zeroizing<String>,
    /// Session pool size: how many calls can use the token at once. 0 = number of CPUs.
    pub sessions: usize,
}

impl std::fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("user_pin", &"<redacted>")
            .field("sessions", &self.sessions)
            .finish()
    }
}

/// Keys generated and used inside a PKCS#11 token.
pub struct Pkcs11KeyModule {
    ctx: Pkcs11,
    module: PathBuf,
    token_label: String,
    /// `SecretString`: zeroized on drop, no `Display`.
    user_pin: AuthPin,
    /// Found by label at start-up, checked before each new session, looked up again if the
    /// token is no longer there.
    slot: Mutex<Slot>,
    /// Most sessions open at once.
    capacity: usize,
    pool: Mutex<Pool>,
    /// Signalled when a session is returned or a pool place frees up.
    released: Condvar,
    /// Bumped when a key is destroyed: sessions then forget their cached object handles, so a
    /// token that reuses handle numbers cannot make us sign with another key.
    key_epoch: AtomicU64,
    /// Set when the token rejected the PIN: no more login attempts (they could lock the PIN).
    pin_rejected: AtomicBool,
    /// Attempts that failed because the session or token failed (each one retried or
    /// reported as unavailable). Shown by `Debug`.
    session_failures: AtomicU64,
}

struct Pool {
    idle: Vec<PooledSession>,
    /// Sessions open now, idle or checked out (or being opened).
    open: usize,
    /// Bumped by [`Pkcs11KeyModule::close_all_sessions`]; sessions of an older generation are
    /// closed when they come back.
    generation: u64,
}

/// A session and what it has learnt: the private key handles it already looked up, with the
/// key type each was verified to have.
struct PooledSession {
    /// Opened "no close on drop": dropping a session whose handle is dead must not call
    /// C_CloseSession on a number the token may have handed out again.
    session: Session,
    generation: u64,
    keys: HashMap<[u8; ID_LEN], (ObjectHandle, KeyType)>,
    key_epoch: u64,
}

/// Why an attempt at an operation stopped.
enum Fail {
    /// The answer, good news or not; the session is fine and goes back to the pool.
    Key(KeyError),
    /// The session or the token failed: drop the session and retry once on a new one.
    /// `alive`: the handle is still ours and should be closed; otherwise it is dead.
    Session { reason: String, alive: bool },
}

impl std::fmt::Debug for Pkcs11KeyModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (idle, open) = {
            let pool = self.pool.lock();
            (pool.idle.len(), pool.open)
        };
        f.debug_struct("Pkcs11KeyModule")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("slot", &self.slot.lock().id())
            .field("sessions", &self.capacity)
            .field("open", &open)
            .field("idle", &idle)
            .field(
                "session_failures",
                &self.session_failures.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}

impl Pkcs11KeyModule {
    /// Loads the module, finds the token, opens `sessions` R/W sessions and logs in as user.
    pub fn open(config: Pkcs11Config) -> Result<Self, KeyError> {
        let Pkcs11Config {
            module,
            token_label,
            user_pin,
            sessions,
        } = config;
        let capacity = match sessions {
            0 => std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
            n => n,
        };
        let ctx = context(&module)?;
        let slot = find_token(&ctx, &module, &token_label)?;
        let this = Self {
            ctx,
            module,
            token_label,
            user_pin: AuthPin::new(user_pin.as_str().into()),
            slot: Mutex::new(slot),
            capacity,
            pool: Mutex::new(Pool {
                idle: Vec::with_capacity(capacity),
                open: 0,
                generation: 0,
            }),
            released: Condvar::new(),
            key_epoch: AtomicU64::new(0),
            pin_rejected: AtomicBool::new(false),
            session_failures: AtomicU64::new(0),
        };
        // Open the whole pool now: a wrong PIN or an unusable token shows at start-up, not on
        // the first request. On error, `Drop` closes what was opened.
        for _ in 0..capacity {
            let session = this.open_session(0)?;
            let mut pool = this.pool.lock();
            pool.open += 1;
            pool.idle.push(session);
        }
        tracing::info!(
            module = %this.module.display(),
            token = %this.token_label,
            slot = slot.id(),
            sessions = capacity,
            "PKCS#11 key module ready"
        );
        Ok(this)
    }

    /// Initializes a fresh SoftHSM-style token in slot found by free-slot search, for `demo --hsm` and tests:
    /// C_InitToken(so_pin, label) + init user PIN. Returns Ok(()) if a token with that label already exists.
    pub fn init_token(
        module: &Path,
        label: &str,
        so_pin: &str,
        user_pin: &str,
    ) -> Result<(), KeyError> {
        // Two threads must not pick the same free slot: the second C_InitToken would wipe the
        // token the first one just made.
        static SERIAL: Mutex<()> = parking_lot::const_mutex(());
        let _serial = SERIAL.lock();

        if label.is_empty() || label.len() > MAX_TOKEN_LABEL || label.ends_with(' ') {
            return Err(KeyError::Internal(format!(
                "token label {label:?} must be 1 to {MAX_TOKEN_LABEL} bytes without trailing spaces"
            )));
        }
        let ctx = context(module)?;
        let fail = |what: &str, err: &CkError| {
            KeyError::Internal(format!(
                "cannot initialize PKCS#11 token {label:?}: {what}: {}",
                describe(err)
            ))
        };
        if !tokens_labelled(&ctx, label)
            .map_err(|e| fail("listing slots", &e))?
            .is_empty()
        {
            return Ok(());
        }
        let free = ctx
            .get_slots_with_token()
            .map_err(|e| fail("listing slots", &e))?
            .into_iter()
            .find(|slot| {
                ctx.get_token_info(*slot)
                    .is_ok_and(|info| !info.token_initialized())
            })
            .ok_or_else(|| {
                KeyError::Unavailable(format!(
                    "cannot initialize PKCS#11 token {label:?}: {} has no free slot",
                    module.display()
                ))
            })?;
        let so_pin = AuthPin::new(so_pin.into());
        let user_pin = AuthPin::new(user_pin.into());
        ctx.init_token(free, &so_pin, label)
            .map_err(|e| fail("C_InitToken", &e))?;
        // SoftHSM moves a freshly initialized token to a new slot: look it up by label.
        let slot = match tokens_labelled(&ctx, label)
            .map_err(|e| fail("listing slots", &e))?
            .as_slice()
        {
            [slot] => *slot,
            other => {
                return Err(KeyError::Internal(format!(
                    "initialized PKCS#11 token {label:?} but then found it in {} slots",
                    other.len()
                )));
            }
        };
        // Closed (and so logged out) when dropped.
        let session = ctx
            .open_rw_session(slot)
            .map_err(|e| fail("opening a session", &e))?;
        session
            .login(UserType::So, Some(&so_pin))
            .map_err(|e| fail("SO login", &e))?;
        session
            .init_pin(&user_pin)
            .map_err(|e| fail("setting the user PIN", &e))?;
        if let Err(e) = session.logout() {
            tracing::debug!(error = %describe(&e), "SO logout after token initialization");
        }
        tracing::info!(module = %module.display(), token = label, "initialized PKCS#11 token");
        Ok(())
    }

    /// Closes every pooled session: the operator's "reconnect" (SIGHUP on `signet serve`) and the
    /// way tests simulate a token/session failure.
    ///
    /// Idle sessions are closed now, sessions in use when they are returned; the next calls
    /// open new sessions and log in again (the token forgets the login when an application's
    /// last session on it closes).
    pub fn close_all_sessions(&self) {
        let idle = {
            let mut pool = self.pool.lock();
            pool.generation += 1;
            let idle = std::mem::take(&mut pool.idle);
            pool.open -= idle.len();
            idle
        };
        self.released.notify_all();
        let closed = idle.len();
        for session in idle {
            close_quietly(session.session);
        }
        tracing::warn!(
            token = %self.token_label,
            closed,
            "closed all idle PKCS#11 sessions; sessions in use close when released"
        );
    }

    /// Opens a session on the token and makes sure the user is logged in.
    fn open_session(&self, generation: u64) -> Result<PooledSession, KeyError> {
        if self.pin_rejected.load(Ordering::Acquire) {
            return Err(self.pin_rejected_error());
        }
        let slot = self.current_slot()?;
        let session = self.ctx.open_rw_session_no_drop(slot).map_err(|e| {
            KeyError::Unavailable(format!(
                "cannot open a session on PKCS#11 token {:?}: {}",
                self.token_label,
                describe(&e)
            ))
        })?;
        match session.login(UserType::User, Some(&self.user_pin)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(err) => {
                close_quietly(session);
                if is_pin_rejection(&err) {
                    self.pin_rejected.store(true, Ordering::Release);
                    tracing::error!(
                        token = %self.token_label,
                        error = %describe(&err),
                        "PKCS#11 token rejected the user PIN; no further login attempts"
                    );
                    return Err(self.pin_rejected_error());
                }
                return Err(KeyError::Unavailable(format!(
                    "cannot log in to PKCS#11 token {:?}: {}",
                    self.token_label,
                    describe(&err)
                )));
            }
        }
        Ok(PooledSession {
            session,
            generation,
            keys: HashMap::new(),
            key_epoch: self.key_epoch.load(Ordering::Acquire),
        })
    }

    /// The slot of our token. Slot numbers move (SoftHSM renumbers its slots when the library
    /// is initialized again, a card can come back in another reader), so before logging in the
    /// cached slot is checked to still hold the token with our label, else looked up again.
    fn current_slot(&self) -> Result<Slot, KeyError> {
        let slot = *self.slot.lock();
        let ours = self
            .ctx
            .get_token_info(slot)
            .is_ok_and(|info| info.token_initialized() && info.label() == self.token_label);
        if ours {
            return Ok(slot);
        }
        let found = find_token(&self.ctx, &self.module, &self.token_label)?;
        if found != slot {
            tracing::warn!(
                token = %self.token_label,
                from = slot.id(),
                to = found.id(),
                "PKCS#11 token moved to another slot"
            );
        }
        *self.slot.lock() = found;
        Ok(found)
    }

    fn pin_rejected_error(&self) -> KeyError {
        KeyError::Unavailable(format!(
            "PKCS#11 token {:?} rejected the user PIN (wrong, locked or expired); \
             fix the configured PIN and restart",
            self.token_label
        ))
    }

    /// Runs `op` on a pooled session; if the session or token fails, once more on a newly
    /// opened session. `op` learns whether it is the retry.
    fn with_session<T>(
        &self,
        mut op: impl FnMut(&mut PooledSession, bool) -> Result<T, Fail>,
    ) -> Result<T, KeyError> {
        let mut session = self.checkout(false)?;
        let reason = match op(&mut session, false) {
            Ok(value) => {
                self.release(session);
                return Ok(value);
            }
            Err(Fail::Key(err)) => {
                self.release(session);
                return Err(err);
            }
            Err(Fail::Session { reason, alive }) => {
                self.discard(session, alive);
                reason
            }
        };
        tracing::warn!(
            token = %self.token_label,
            %reason,
            "PKCS#11 session failed; retrying once on a new session"
        );
        let mut session = self.checkout(true)?;
        match op(&mut session, true) {
            Ok(value) => {
                self.release(session);
                Ok(value)
            }
            Err(Fail::Key(err)) => {
                self.release(session);
                Err(err)
            }
            Err(Fail::Session { reason, alive }) => {
                self.discard(session, alive);
                tracing::error!(token = %self.token_label, %reason, "PKCS#11 token unavailable");
                Err(KeyError::Unavailable(format!(
                    "PKCS#11 token {:?}: {reason}",
                    self.token_label
                )))
            }
        }
    }

    /// An idle session, or a new one if the pool has room. `fresh` prefers a new session (for
    /// the retry: idle sessions probably failed with the one we just dropped).
    fn checkout(&self, fresh: bool) -> Result<PooledSession, KeyError> {
        let deadline = Instant::now() + CHECKOUT_TIMEOUT;
        let mut pool = self.pool.lock();
        loop {
            let room = pool.open < self.capacity;
            if !(fresh && room)
                && let Some(session) = pool.idle.pop()
            {
                return Ok(session);
            }
            if room {
                pool.open += 1;
                let generation = pool.generation;
                drop(pool);
                return self
                    .open_session(generation)
                    .inspect_err(|_| self.forget_one());
            }
            if self.released.wait_until(&mut pool, deadline).timed_out()
                && pool.idle.is_empty()
                && pool.open >= self.capacity
            {
                return Err(KeyError::Unavailable(format!(
                    "all {} sessions on PKCS#11 token {:?} stayed busy for {} s",
                    self.capacity,
                    self.token_label,
                    CHECKOUT_TIMEOUT.as_secs()
                )));
            }
        }
    }

    /// Puts a working session back (or closes it if `close_all_sessions` ran meanwhile).
    fn release(&self, session: PooledSession) {
        let mut pool = self.pool.lock();
        if session.generation == pool.generation {
            pool.idle.push(session);
            drop(pool);
            self.released.notify_one();
        } else {
            pool.open -= 1;
            drop(pool);
            self.released.notify_one();
            close_quietly(session.session);
        }
    }

    /// Gives up a failed session: closed if its handle is still ours, else just forgotten.
    fn discard(&self, session: PooledSession, alive: bool) {
        self.session_failures.fetch_add(1, Ordering::Relaxed);
        self.forget_one();
        if alive {
            close_quietly(session.session);
        }
    }

    fn forget_one(&self) {
        self.pool.lock().open -= 1;
        self.released.notify_one();
    }

    /// The handle of the private key `id` of type `key_type`, cached per session. A key of
    /// another type (or curve, or size) than the caller recorded is not found.
    fn find_private_key(
        &self,
        pooled: &mut PooledSession,
        id: &[u8; ID_LEN],
        key_type: KeyType,
    ) -> Result<ObjectHandle, Fail> {
        let epoch = self.key_epoch.load(Ordering::Acquire);
        if pooled.key_epoch != epoch {
            pooled.keys.clear();
            pooled.key_epoch = epoch;
        }
        match pooled.keys.get(id) {
            Some(&(handle, known)) if known == key_type => return Ok(handle),
            Some(_) => return Err(Fail::Key(KeyError::NotFound)),
            None => {}
        }
        let mut template = vec![
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Token(true),
            Attribute::Id(id.to_vec()),
        ];
        if key_type.is_rsa() {
            template.push(Attribute::KeyType(CkKeyType::RSA));
        } else {
            template.push(Attribute::KeyType(CkKeyType::EC));
            template.push(Attribute::EcParams(
                encoding::ec_params(key_type).map_err(Fail::Key)?,
            ));
        }
        let mut found = pooled.session.find_objects(&template).map_err(fail)?;
        if found.is_empty() {
            // Private objects are invisible to a session that is not logged in, so an empty
            // search means "no such key" only once we know the login is there; and it may
            // have come back (another thread logged in) since the search ran: search again.
            require_login(&pooled.session)?;
            found = pooled.session.find_objects(&template).map_err(fail)?;
        }
        let handle = match found.as_slice() {
            [] => return Err(Fail::Key(KeyError::NotFound)),
            [handle] => *handle,
            more => {
                return Err(Fail::Key(KeyError::Internal(format!(
                    "{} private keys in the token share one CKA_ID",
                    more.len()
                ))));
            }
        };
        if key_type.is_rsa() {
            let modulus = pooled
                .session
                .get_attributes(handle, &[AttributeType::Modulus])
                .map_err(fail)?
                .into_iter()
                .find_map(|attribute| match attribute {
                    Attribute::Modulus(modulus) => Some(modulus),
                    _ => None,
                })
                .unwrap_or_default();
            if encoding::bit_len(&modulus) != key_type.bits() as usize {
                return Err(Fail::Key(KeyError::NotFound));
            }
        }
        if pooled.keys.len() >= HANDLE_CACHE_CAPACITY {
            pooled.keys.clear();
        }
        pooled.keys.insert(*id, (handle, key_type));
        Ok(handle)
    }
}

impl Drop for Pkcs11KeyModule {
    /// Closes the idle sessions (all of them: a checked-out session borrows the module). The
    /// library stays initialized for other modules of this process.
    fn drop(&mut self) {
        for pooled in std::mem::take(&mut self.pool.get_mut().idle) {
            close_quietly(pooled.session);
        }
    }
}

impl KeyModule for Pkcs11KeyModule {
    fn backend(&self) -> &'static str {
        "pkcs11"
    }

    /// One call per pooled session: more would only wait for a session.
    fn concurrency(&self) -> Option<usize> {
        Some(self.capacity)
    }

    fn reset_sessions(&self) {
        self.close_all_sessions();
    }

    /// C_GetSessionInfo on a pooled session, which must still be logged in: this reaches the
    /// token (over the network for a network HSM) without touching any key. A failed session
    /// is replaced once, as for signing, so a ping after HSM maintenance also heals the pool.
    fn ping(&self) -> Result<(), KeyError> {
        self.with_session(|pooled, _| require_login(&pooled.session))
    }

    fn generate(&self, key_type: KeyType, label: &str) -> Result<GeneratedKey, KeyError> {
        let mut id = [0u8; ID_LEN];
        aws_lc_rs::rand::fill(&mut id)
            .map_err(|_| KeyError::Internal("cannot draw a random CKA_ID".into()))?;
        let (mechanism, public_template, private_template) =
            key_pair_templates(key_type, &id, label)?;

        let public_key_der = self.with_session(|pooled, retry| {
            if retry {
                // The first attempt may have created the pair before its session failed.
                destroy_objects(pooled, &id)?;
            } else {
                // Keys are also created by other processes (`signet admin credential create`
                // while the server runs). SoftHSM 2.6 re-reads the token directory only when
                // its generation counter moved since this process last looked, and its write
                // path takes the counter over without re-reading: a process that writes
                // right after another one wrote would never see the other's keys. A search
                // first makes it look (and costs one lookup per key generation).
                pooled
                    .session
                    .find_objects(&[Attribute::Token(true), Attribute::Id(id.to_vec())])
                    .map_err(fail)?;
            }
            let (public, private) = pooled
                .session
                .generate_key_pair(&mechanism, &public_template, &private_template)
                .map_err(fail)?;
            match public_key_der(&pooled.session, key_type, public) {
                Ok(der) => {
                    pooled.keys.insert(id, (private, key_type));
                    Ok(der)
                }
                Err(failure) => {
                    // Do not leave an unusable pair behind.
                    let _ = pooled.session.destroy_object(private);
                    let _ = pooled.session.destroy_object(public);
                    Err(failure)
                }
            }
        })?;

        let mut key_ref = Vec::with_capacity(1 + ID_LEN);
        key_ref.push(KEY_REF_VERSION);
        key_ref.extend_from_slice(&id);
        tracing::debug!(%key_type, token = %self.token_label, "generated key pair in PKCS#11 token");
        Ok(GeneratedKey {
            key_ref: KeyRef(key_ref),
            public_key_der,
        })
    }

    fn sign_digests(
        &self,
        key: &KeyRef,
        key_type: KeyType,
        mechanism: SignMechanism,
        digests: &[Vec<u8>],
    ) -> Result<Vec<Vec<u8>>, KeyError> {
        let id = parse_key_ref(key)?;
        crate::check_sign_request(key_type, mechanism, digests)?;

        // What the token signs: the (cut) digest, the DigestInfo, or the digest for PSS.
        let (ck_mechanism, inputs) = match mechanism {
            SignMechanism::Ecdsa { .. } => (
                Mechanism::Ecdsa,
                digests
                    .iter()
                    .map(|d| crate::ecdsa_input(key_type, d))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            SignMechanism::RsaPkcs1 { hash } => (
                Mechanism::RsaPkcs,
                digests.iter().map(|d| hash.digest_info(d)).collect(),
            ),
            SignMechanism::RsaPss { hash, salt } => (
                Mechanism::RsaPkcsPss(pss_params(hash, salt.len(hash, key_type))),
                digests.to_vec(),
            ),
        };

        self.with_session(|pooled, _| {
            let mut key = self.find_private_key(pooled, &id, key_type)?;
            let mut looked_up_again = false;
            let mut signatures = Vec::with_capacity(inputs.len());
            for input in &inputs {
                let raw = loop {
                    match pooled.session.sign(&ck_mechanism, key, input) {
                        Ok(raw) => break raw,
                        // A cached handle went stale (token logout, key destroyed elsewhere):
                        // look the key up again, once.
                        Err(CkError::Pkcs11(
                            RvError::KeyHandleInvalid | RvError::ObjectHandleInvalid,
                            _,
                        )) if !looked_up_again => {
                            looked_up_again = true;
                            pooled.keys.remove(&id);
                            key = self.find_private_key(pooled, &id, key_type)?;
                        }
                        Err(err) => return Err(fail(err)),
                    }
                };
                signatures.push(finish_signature(key_type, raw).map_err(Fail::Key)?);
            }
            Ok(signatures)
        })
    }

    /// CKA_LABEL of the private key object with this key's CKA_ID.
    fn key_label(&self, key: &KeyRef) -> Result<String, KeyError> {
        let id = parse_key_ref(key)?;
        self.with_session(|pooled, _| {
            let template = [
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Token(true),
                Attribute::Id(id.to_vec()),
            ];
            let mut found = pooled.session.find_objects(&template).map_err(fail)?;
            if found.is_empty() {
                require_login(&pooled.session)?;
                found = pooled.session.find_objects(&template).map_err(fail)?;
            }
            let [handle] = found.as_slice() else {
                return Err(Fail::Key(KeyError::NotFound));
            };
            let attributes = pooled
                .session
                .get_attributes(*handle, &[AttributeType::Label])
                .map_err(fail)?;
            match attributes.as_slice() {
                [Attribute::Label(label)] => Ok(String::from_utf8_lossy(label).into_owned()),
                _ => Err(Fail::Key(KeyError::NotFound)),
            }
        })
    }

    /// Destroys the private and public key objects. Idempotent: a key that is already gone
    /// is not an error (it is logged).
    fn destroy(&self, key: &KeyRef) -> Result<(), KeyError> {
        let id = parse_key_ref(key)?;
        let destroyed = self.with_session(|pooled, _| destroy_objects(pooled, &id))?;
        // Every session forgets its cached handles before it signs again.
        self.key_epoch.fetch_add(1, Ordering::AcqRel);
        if destroyed == 0 {
            tracing::warn!(token = %self.token_label, "no PKCS#11 key objects to destroy for this key (already destroyed?)");
        } else {
            tracing::info!(token = %self.token_label, objects = destroyed, "destroyed PKCS#11 key");
        }
        Ok(())
    }
}

/// The one PKCS#11 context per library in this process. C_Initialize and C_Finalize act on the
/// whole process, so modules (and `init_token`) share it and it is never finalized.
fn context(module: &Path) -> Result<Pkcs11, KeyError> {
    static CONTEXTS: Mutex<BTreeMap<PathBuf, Pkcs11>> = parking_lot::const_mutex(BTreeMap::new());
    let mut contexts = CONTEXTS.lock();
    if let Some(ctx) = contexts.get(module) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(module).map_err(|e| {
        KeyError::Internal(format!(
            "cannot load PKCS#11 module {}: {e}",
            module.display()
        ))
    })?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => {
            return Err(KeyError::Internal(format!(
                "cannot initialize PKCS#11 module {}: {}",
                module.display(),
                describe(&e)
            )));
        }
    }
    contexts.insert(module.to_path_buf(), ctx.clone());
    Ok(ctx)
}

/// Slots holding an initialized token with this label.
fn tokens_labelled(ctx: &Pkcs11, label: &str) -> Result<Vec<Slot>, CkError> {
    Ok(ctx
        .get_slots_with_token()?
        .into_iter()
        .filter(|slot| {
            ctx.get_token_info(*slot)
                .is_ok_and(|info| info.token_initialized() && info.label() == label)
        })
        .collect())
}

/// The slot of the one token labelled `label`.
fn find_token(ctx: &Pkcs11, module: &Path, label: &str) -> Result<Slot, KeyError> {
    let slots = tokens_labelled(ctx, label).map_err(|e| {
        KeyError::Unavailable(format!(
            "cannot list the slots of PKCS#11 module {}: {}",
            module.display(),
            describe(&e)
        ))
    })?;
    match slots.as_slice() {
        [slot] => Ok(*slot),
        [] => {
            let present: Vec<String> = ctx
                .get_slots_with_token()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|slot| ctx.get_token_info(slot).ok())
                .filter(|info| info.token_initialized())
                .map(|info| format!("{:?}", info.label()))
                .collect();
            Err(KeyError::Unavailable(format!(
                "no PKCS#11 token labelled {label:?} in {} (tokens present: {})",
                module.display(),
                if present.is_empty() {
                    "none".to_owned()
                } else {
                    present.join(", ")
                }
            )))
        }
        more => Err(KeyError::Unavailable(format!(
            "{} PKCS#11 tokens are labelled {label:?} in {}; labels must be unique",
            more.len(),
            module.display()
        ))),
    }
}

fn key_pair_templates(
    key_type: KeyType,
    id: &[u8; ID_LEN],
    label: &str,
) -> Result<(Mechanism<'static>, Vec<Attribute>, Vec<Attribute>), KeyError> {
    let private = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::SignRecover(false),
        Attribute::Decrypt(false),
        Attribute::Unwrap(false),
        Attribute::Derive(false),
        Attribute::Id(id.to_vec()),
        Attribute::Label(label.as_bytes().to_vec()),
    ];
    let mut public = vec![
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::VerifyRecover(false),
        Attribute::Encrypt(false),
        Attribute::Wrap(false),
        Attribute::Derive(false),
        Attribute::Id(id.to_vec()),
        Attribute::Label(label.as_bytes().to_vec()),
    ];
    let mechanism = if key_type.is_rsa() {
        public.push(Attribute::ModulusBits(u64::from(key_type.bits()).into()));
        public.push(Attribute::PublicExponent(vec![0x01, 0x00, 0x01]));
        Mechanism::RsaPkcsKeyPairGen
    } else {
        public.push(Attribute::EcParams(encoding::ec_params(key_type)?));
        Mechanism::EccKeyPairGen
    };
    Ok((mechanism, public, private))
}

/// SubjectPublicKeyInfo DER of a freshly generated public key object.
fn public_key_der(
    session: &Session,
    key_type: KeyType,
    public: ObjectHandle,
) -> Result<Vec<u8>, Fail> {
    let wanted: &[AttributeType] = if key_type.is_rsa() {
        &[AttributeType::Modulus, AttributeType::PublicExponent]
    } else {
        &[AttributeType::EcPoint]
    };
    let (mut modulus, mut exponent, mut point) = (None, None, None);
    for attribute in session.get_attributes(public, wanted).map_err(fail)? {
        match attribute {
            Attribute::Modulus(v) => modulus = Some(v),
            Attribute::PublicExponent(v) => exponent = Some(v),
            Attribute::EcPoint(v) => point = Some(v),
            _ => {}
        }
    }
    let missing = || {
        Fail::Key(KeyError::Internal(format!(
            "token did not return the {key_type} public key"
        )))
    };
    if key_type.is_rsa() {
        let (modulus, exponent) = modulus.zip(exponent).ok_or_else(missing)?;
        if encoding::bit_len(&modulus) != key_type.bits() as usize {
            return Err(Fail::Key(KeyError::Internal(format!(
                "token generated a {}-bit modulus for {key_type}",
                encoding::bit_len(&modulus)
            ))));
        }
        encoding::rsa_spki(&modulus, &exponent).map_err(Fail::Key)
    } else {
        let point =
            encoding::unwrap_ec_point(key_type, &point.ok_or_else(missing)?).map_err(Fail::Key)?;
        encoding::ec_spki(key_type, &point).map_err(Fail::Key)
    }
}

/// Destroys the key objects with CKA_ID `id`; how many there were.
fn destroy_objects(pooled: &mut PooledSession, id: &[u8; ID_LEN]) -> Result<usize, Fail> {
    // A session that is not logged in sees no private objects: it would "destroy" only the
    // public half and report success. So the login must hold before and after the search.
    require_login(&pooled.session)?;
    pooled.keys.remove(id);
    let mut destroyed = 0;
    for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
        let template = [
            Attribute::Class(class),
            Attribute::Token(true),
            Attribute::Id(id.to_vec()),
        ];
        for handle in pooled.session.find_objects(&template).map_err(fail)? {
            match pooled.session.destroy_object(handle) {
                Ok(()) => destroyed += 1,
                // Destroyed by someone else in the meantime.
                Err(CkError::Pkcs11(RvError::ObjectHandleInvalid, _)) => {}
                Err(err) => return Err(fail(err)),
            }
        }
    }
    require_login(&pooled.session)?;
    Ok(destroyed)
}

/// Fails with a session failure (retried on a new session, which logs in) unless the user is
/// logged in on `session`.
fn require_login(session: &Session) -> Result<(), Fail> {
    let info = session.get_session_info().map_err(|err| match fail(err) {
        Fail::Key(_) => Fail::Session {
            reason: "cannot read the session state".into(),
            alive: true,
        },
        session_failure => session_failure,
    })?;
    match info.session_state() {
        SessionState::RwUser | SessionState::RoUser => Ok(()),
        _ => Err(Fail::Session {
            reason: "the session is no longer logged in".into(),
            alive: true,
        }),
    }
}

/// The token's signature as the trait promises it: DER for ECDSA, as is for RSA.
fn finish_signature(key_type: KeyType, raw: Vec<u8>) -> Result<Vec<u8>, KeyError> {
    if key_type.is_rsa() {
        if raw.len() * 8 != key_type.bits() as usize {
            return Err(KeyError::Internal(format!(
                "token returned a {}-byte signature for {key_type}",
                raw.len()
            )));
        }
        Ok(raw)
    } else {
        encoding::ecdsa_to_der(key_type, &raw)
    }
}

/// CK_RSA_PKCS_PSS_PARAMS: MGF1 over the same hash, `salt_len` bytes of salt.
fn pss_params(hash: HashAlgorithm, salt_len: usize) -> PkcsPssParams {
    let (hash_alg, mgf) = match hash {
        HashAlgorithm::Sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
        HashAlgorithm::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
        HashAlgorithm::Sha512 => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
    };
    PkcsPssParams {
        hash_alg,
        mgf,
        s_len: (salt_len as u64).into(),
    }
}

/// The CKA_ID inside a PKCS#11 [`KeyRef`]. Anything else is a key we do not have.
fn parse_key_ref(key: &KeyRef) -> Result<[u8; ID_LEN], KeyError> {
    match key.0.split_first() {
        Some((&KEY_REF_VERSION, id)) => id.try_into().map_err(|_| KeyError::NotFound),
        _ => Err(KeyError::NotFound),
    }
}

/// Sorts a cryptoki error into "retry on a new session" and "that is the answer".
fn fail(err: CkError) -> Fail {
    let reason = describe(&err);
    let CkError::Pkcs11(rv, _) = &err else {
        return Fail::Key(KeyError::Internal(reason));
    };
    match rv {
        // The session handle is gone, or the whole token/library with it.
        RvError::SessionHandleInvalid
        | RvError::SessionClosed
        | RvError::CryptokiNotInitialized
        | RvError::DeviceRemoved
        | RvError::TokenNotPresent
        | RvError::TokenNotRecognized
        | RvError::SlotIdInvalid => Fail::Session {
            reason,
            alive: false,
        },
        // The session may still exist but is not usable as it is.
        RvError::UserNotLoggedIn
        | RvError::DeviceError
        | RvError::DeviceMemory
        | RvError::GeneralError
        | RvError::FunctionFailed
        | RvError::FunctionCanceled
        | RvError::OperationActive
        | RvError::OperationNotInitialized => Fail::Session {
            reason,
            alive: true,
        },
        RvError::KeyHandleInvalid | RvError::ObjectHandleInvalid => Fail::Key(KeyError::NotFound),
        _ => Fail::Key(KeyError::Internal(reason)),
    }
}

fn is_pin_rejection(err: &CkError) -> bool {
    matches!(
        err,
        CkError::Pkcs11(
            RvError::PinIncorrect
                | RvError::PinInvalid
                | RvError::PinLenRange
                | RvError::PinLocked
                | RvError::PinExpired
                | RvError::UserPinNotInitialized,
            _
        )
    )
}

/// `C_Sign returned CKR_SESSION_HANDLE_INVALID`: short, greppable, and in the spec's words
/// (cryptoki's own `Display` quotes a paragraph of the standard).
fn describe(err: &CkError) -> String {
    match err {
        CkError::Pkcs11(rv, function) => format!("C_{function:?} returned {}", ckr_name(rv)),
        other => other.to_string(),
    }
}

fn ckr_name(rv: &RvError) -> String {
    let camel = format!("{rv:?}");
    let mut name = String::from("CKR");
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

fn close_quietly(session: Session) {
    if let Err(err) = session.close() {
        tracing::debug!(error = %describe(&err), "closing PKCS#11 session");
    }
}
