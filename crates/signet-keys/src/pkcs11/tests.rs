//! Tests against SoftHSMv2.
//!
//! SoftHSM reads its configuration (where the tokens live) from `SOFTHSM2_CONF` when the
//! library is initialized, once per process, and C_Initialize/C_Finalize act on the whole
//! process. So every SoftHSM test re-runs itself in a child process of this test binary, with
//! `SOFTHSM2_CONF` pointing at a fresh token directory: tests share no token state, nothing
//! mutates the environment of a multi-threaded process, and the reset test may finalize the
//! library without pulling it from under its neighbours.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::UnparsedPublicKey;

use crate::test_support::{check_spki, mechanisms, verifier};

use signet_core::PssSalt;

use super::*;

const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// Set in the child process that runs a test's body.
const CHILD: &str = "SIGNET_PKCS11_TEST_CHILD";
const SKIP: &str = "SIGNET_SKIP_PKCS11_TESTS";
const SO_PIN: &str = "so-pin-8642";
const USER_PIN: &str = "user-pin-1357";
const MESSAGE: &[u8] = b"hello";

/// A token of the test's own, initialized in the child process.
struct Token {
    module: PathBuf,
    label: String,
}

impl Token {
    fn config(&self, sessions: usize) -> Pkcs11Config {
        Pkcs11Config {
            module: self.module.clone(),
            token_label: self.label.clone(),
            user_pin: Zeroizing::new(USER_PIN.to_owned()),
            sessions,
        }
    }

    fn open(&self, sessions: usize) -> Pkcs11KeyModule {
        Pkcs11KeyModule::open(self.config(sessions)).unwrap()
    }
}

fn skipping() -> bool {
    std::env::var(SKIP).is_ok_and(|v| v == "1")
}

/// Runs `body` in a child process with a SoftHSM token directory of its own (see the module
/// documentation). `name` is the calling test's function name.
fn in_softhsm(name: &str, body: impl FnOnce(Token)) {
    if std::env::var_os(CHILD).is_some() {
        // Token labels are at most 32 bytes.
        let label: String = format!("t-{name}").chars().take(MAX_TOKEN_LABEL).collect();
        Pkcs11KeyModule::init_token(Path::new(SOFTHSM), &label, SO_PIN, USER_PIN).unwrap();
        body(Token {
            module: SOFTHSM.into(),
            label,
        });
        return;
    }
    if skipping() {
        eprintln!("{SKIP}=1: skipping {name}");
        return;
    }
    if !Path::new(SOFTHSM).exists() {
        panic!(
            "{SOFTHSM} not found: install softhsm2 (the test command does this), \
             or set {SKIP}=1 to skip the PKCS#11 tests"
        );
    }
    let dir = tempfile::Builder::new()
        .prefix("signet-softhsm-")
        .tempdir()
        .unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    // libtest names tests by their path inside the crate.
    let (_crate, path) = module_path!().split_once("::").unwrap();
    let test = format!("{path}::{name}");
    let output = Command::new(std::env::current_exe().unwrap())
        .args([&test, "--exact", "--nocapture", "--include-ignored"])
        .arg("--test-threads=1")
        .env(CHILD, "1")
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{test} failed in its SoftHSM child process ({}): see the output above",
        output.status
    );
}

fn verify(key_type: KeyType, mechanism: SignMechanism, spki: &[u8], msg: &[u8], sig: &[u8]) {
    UnparsedPublicKey::new(verifier(key_type, mechanism), spki)
        .verify(msg, sig)
        .unwrap_or_else(|_| panic!("{key_type} {} does not verify", mechanism.name()));
}

fn sign_and_verify_all(module: &dyn KeyModule, key_type: KeyType, key: &GeneratedKey) {
    let raw_public = check_spki(key_type, &key.public_key_der);
    for mechanism in mechanisms(key_type) {
        let hash = mechanism.hash();
        let digests = vec![hash.digest(MESSAGE), hash.digest(b"second")];
        let sigs = module
            .sign_digests(&key.key_ref, key_type, mechanism, &digests)
            .unwrap();
        assert_eq!(sigs.len(), 2);
        for (sig, msg) in sigs.iter().zip([MESSAGE, b"second"]) {
            if key_type.is_rsa() {
                assert_eq!(sig.len(), key_type.bits() as usize / 8);
            } else {
                assert_eq!(sig[0], 0x30, "ECDSA signature must be DER");
            }
            for public in [&raw_public, &key.public_key_der] {
                verify(key_type, mechanism, public, msg, sig);
            }
            assert!(
                UnparsedPublicKey::new(verifier(key_type, mechanism), &raw_public)
                    .verify(b"other", sig)
                    .is_err()
            );
        }
    }
}

const P256_SHA256: SignMechanism = SignMechanism::Ecdsa {
    hash: HashAlgorithm::Sha256,
};

/// One ECDSA P-256 signature over MESSAGE, verified.
fn sign_once(module: &Pkcs11KeyModule, key: &GeneratedKey) -> Result<(), KeyError> {
    let digest = HashAlgorithm::Sha256.digest(MESSAGE);
    let sig = module
        .sign_digests(&key.key_ref, KeyType::EcP256, P256_SHA256, &[digest])?
        .remove(0);
    verify(
        KeyType::EcP256,
        P256_SHA256,
        &key.public_key_der,
        MESSAGE,
        &sig,
    );
    Ok(())
}

/// `threads` threads signing `each` times at once; every result.
fn sign_concurrently(
    module: &Arc<Pkcs11KeyModule>,
    key: &GeneratedKey,
    threads: usize,
    each: usize,
) -> Vec<Result<(), KeyError>> {
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let module = Arc::clone(module);
            let key = key.clone();
            std::thread::spawn(move || {
                (0..each)
                    .map(|_| sign_once(&module, &key))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect()
}

fn assert_all_ok(results: &[Result<(), KeyError>]) {
    for result in results {
        if let Err(err) = result {
            panic!("signing failed: {err}");
        }
    }
}

/// A private-key handle looked up on a session of our own (not through the cache).
fn find(module: &Pkcs11KeyModule, key: &KeyRef, class: ObjectClass) -> Vec<ObjectHandle> {
    let id = parse_key_ref(key).unwrap();
    let pooled = module.checkout(false).unwrap();
    let found = pooled
        .session
        .find_objects(&[Attribute::Class(class), Attribute::Id(id.to_vec())])
        .unwrap();
    module.release(pooled);
    found
}

fn session_failures(module: &Pkcs11KeyModule) -> u64 {
    module.session_failures.load(Ordering::Relaxed)
}

fn pool_counts(module: &Pkcs11KeyModule) -> (usize, usize) {
    let pool = module.pool.lock();
    (pool.idle.len(), pool.open)
}

#[test]
fn every_key_type_signs_every_mechanism() {
    in_softhsm("every_key_type_signs_every_mechanism", |token| {
        let module = token.open(2);
        assert_eq!(module.backend(), "pkcs11");
        for key_type in KeyType::ALL {
            let started = Instant::now();
            let key = module.generate(key_type, "alice/cred-1").unwrap();
            println!("{key_type}: generated in {:?}", started.elapsed());
            assert_eq!(key.key_ref.0.len(), 1 + ID_LEN);
            assert_eq!(key.key_ref.0[0], KEY_REF_VERSION);
            sign_and_verify_all(&module, key_type, &key);
            // From the handle alone, as after a restart: a second module, fresh sessions.
            let fresh = token.open(1);
            sign_and_verify_all(&fresh, key_type, &key);
        }
    });
}

#[test]
fn key_objects_are_sensitive_never_extractable_and_sign_only() {
    in_softhsm(
        "key_objects_are_sensitive_never_extractable_and_sign_only",
        |token| {
            let module = token.open(1);
            for (key_type, label) in [(KeyType::EcP256, "bob/ec"), (KeyType::Rsa2048, "bob/rsa")] {
                let key = module.generate(key_type, label).unwrap();
                let id = parse_key_ref(&key.key_ref).unwrap();
                let [private] = find(&module, &key.key_ref, ObjectClass::PRIVATE_KEY)[..] else {
                    panic!("one private key expected");
                };
                let [public] = find(&module, &key.key_ref, ObjectClass::PUBLIC_KEY)[..] else {
                    panic!("one public key expected");
                };
                let pooled = module.checkout(false).unwrap();
                let attributes = pooled
                    .session
                    .get_attributes(
                        private,
                        &[
                            AttributeType::Token,
                            AttributeType::Private,
                            AttributeType::Sensitive,
                            AttributeType::AlwaysSensitive,
                            AttributeType::Extractable,
                            AttributeType::NeverExtractable,
                            AttributeType::Local,
                            AttributeType::Sign,
                            AttributeType::SignRecover,
                            AttributeType::Decrypt,
                            AttributeType::Unwrap,
                            AttributeType::Derive,
                            AttributeType::Id,
                            AttributeType::Label,
                        ],
                    )
                    .unwrap();
                let expected = [
                    Attribute::Token(true),
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::AlwaysSensitive(true),
                    Attribute::Extractable(false),
                    Attribute::NeverExtractable(true),
                    Attribute::Local(true),
                    Attribute::Sign(true),
                    Attribute::SignRecover(false),
                    Attribute::Decrypt(false),
                    Attribute::Unwrap(false),
                    Attribute::Derive(false),
                    Attribute::Id(id.to_vec()),
                    Attribute::Label(label.as_bytes().to_vec()),
                ];
                assert_eq!(attributes, expected, "{key_type} private key");
                // The private value cannot be read.
                let secret = if key_type.is_rsa() {
                    AttributeType::PrivateExponent
                } else {
                    AttributeType::Value
                };
                assert!(
                    pooled
                        .session
                        .get_attributes(private, &[secret])
                        .is_ok_and(|values| values.is_empty()),
                    "{key_type}: the private value must be unavailable"
                );
                let attributes = pooled
                    .session
                    .get_attributes(
                        public,
                        &[
                            AttributeType::Token,
                            AttributeType::Verify,
                            AttributeType::Encrypt,
                            AttributeType::Wrap,
                            AttributeType::Label,
                        ],
                    )
                    .unwrap();
                assert_eq!(
                    attributes,
                    [
                        Attribute::Token(true),
                        Attribute::Verify(true),
                        Attribute::Encrypt(false),
                        Attribute::Wrap(false),
                        Attribute::Label(label.as_bytes().to_vec()),
                    ]
                );
                module.release(pooled);
            }

            // What an auditor sees with OpenSC's tool, in another process.
            let output = Command::new("pkcs11-tool")
                .args(["--module", SOFTHSM, "--token-label", &token.label])
                .args(["--login", "--pin", USER_PIN, "--list-objects"])
                .output()
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot run pkcs11-tool ({e}): install opensc (the test command does this)"
                    )
                });
            let listing = String::from_utf8_lossy(&output.stdout);
            assert!(output.status.success(), "pkcs11-tool failed: {listing}");
            println!("{listing}");
            // Objects are blocks that start at an unindented line.
            let mut blocks: Vec<String> = Vec::new();
            for line in listing.lines() {
                if !line.starts_with(' ') || blocks.is_empty() {
                    blocks.push(String::new());
                }
                let block = blocks.last_mut().unwrap();
                block.push_str(line);
                block.push('\n');
            }
            for label in ["bob/ec", "bob/rsa"] {
                let private: Vec<&String> = blocks
                    .iter()
                    .filter(|b| b.starts_with("Private Key Object"))
                    .filter(|b| b.contains(&format!("label:      {label}\n")))
                    .collect();
                assert_eq!(private.len(), 1, "private key {label} in:\n{listing}");
                let block = private[0];
                assert!(
                    block.contains(
                        "Access:     sensitive, always sensitive, never extractable, local\n"
                    ),
                    "{block}"
                );
                assert!(block.contains("Usage:      sign\n"), "{block}");
            }
        },
    );
}

#[test]
fn close_all_sessions_under_concurrent_signing() {
    in_softhsm("close_all_sessions_under_concurrent_signing", |token| {
        let module = Arc::new(token.open(4));
        let key = module.generate(KeyType::EcP256, "carol").unwrap();

        // Idle pool: every session closes, the token forgets the login, the next call opens
        // a session and logs in again.
        module.close_all_sessions();
        assert_eq!(pool_counts(&module), (0, 0));
        sign_once(&module, &key).unwrap();
        assert_eq!(pool_counts(&module), (1, 1));

        // Under load from four threads.
        let stop = Arc::new(AtomicBool::new(false));
        let closer = {
            let module = Arc::clone(&module);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut closes = 0;
                while !stop.load(Ordering::Relaxed) {
                    module.close_all_sessions();
                    closes += 1;
                    std::thread::sleep(Duration::from_millis(3));
                }
                closes
            })
        };
        let results = sign_concurrently(&module, &key, 4, 150);
        stop.store(true, Ordering::Relaxed);
        let closes = closer.join().unwrap();
        let unavailable = results
            .iter()
            .filter(|r| matches!(r, Err(KeyError::Unavailable(_))))
            .count();
        for result in &results {
            assert!(
                matches!(result, Ok(()) | Err(KeyError::Unavailable(_))),
                "{result:?}"
            );
        }
        println!(
            "{} calls during {closes} close_all_sessions: {} ok, {unavailable} unavailable",
            results.len(),
            results.len() - unavailable
        );

        // And afterwards everything works, without a restart.
        assert_all_ok(&sign_concurrently(&module, &key, 4, 20));
        let (idle, open) = pool_counts(&module);
        assert!(idle == open && open <= 4, "idle {idle}, open {open}");
    });
}

#[test]
fn recovers_when_the_token_logs_out() {
    in_softhsm("recovers_when_the_token_logs_out", |token| {
        let module = Arc::new(token.open(4));
        let key = module.generate(KeyType::EcP256, "dave").unwrap();
        // Every session has the key handle cached.
        assert_all_ok(&sign_concurrently(&module, &key, 4, 10));

        // Logging out one session logs the whole application out: every cached private key
        // handle is now invalid and the key is invisible until someone logs in again.
        let pooled = module.checkout(false).unwrap();
        pooled.session.logout().unwrap();
        module.release(pooled);

        assert_eq!(session_failures(&module), 0);
        assert_all_ok(&sign_concurrently(&module, &key, 4, 10));
        // At least the first call found its session logged out and retried.
        assert!(session_failures(&module) >= 1);
        println!("after logout: {module:?}");
        // Destroy must not mistake "not logged in" for "nothing to destroy" either.
        let pooled = module.checkout(false).unwrap();
        pooled.session.logout().unwrap();
        module.release(pooled);
        module.destroy(&key.key_ref).unwrap();
        assert!(find(&module, &key.key_ref, ObjectClass::PRIVATE_KEY).is_empty());
        assert!(matches!(sign_once(&module, &key), Err(KeyError::NotFound)));
    });
}

#[test]
fn token_failure_is_unavailable_then_recovers() {
    in_softhsm("token_failure_is_unavailable_then_recovers", |token| {
        // SoftHSM numbers sessions and objects from one counter that restarts with
        // C_Initialize. Move it on first, so the stale handles in the pool cannot collide
        // with the ones handed out after the reset.
        {
            let ctx = context(&token.module).unwrap();
            let slot = find_token(&ctx, &token.module, &token.label).unwrap();
            for _ in 0..200 {
                drop(ctx.open_ro_session(slot).unwrap());
            }
        }
        let module = Arc::new(token.open(4));
        let key = module.generate(KeyType::EcP256, "erin").unwrap();
        assert_all_ok(&sign_concurrently(&module, &key, 4, 5));

        // The library goes away under the pool, like a crashed HSM client or a restarted
        // appliance: the call fails cleanly, with the reason.
        module.ctx.clone().finalize().unwrap();
        match sign_once(&module, &key) {
            Err(KeyError::Unavailable(reason)) => {
                println!("while down: {reason}");
                assert!(reason.contains("CKR_CRYPTOKI_NOT_INITIALIZED"), "{reason}");
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }

        // It comes back: every pooled session is now an invalid handle
        // (CKR_SESSION_HANDLE_INVALID) and the token has forgotten the login. Each call drops
        // its dead session, opens a new one, logs in, looks the key up again and succeeds.
        module
            .ctx
            .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .unwrap();
        let before = session_failures(&module);
        assert_all_ok(&sign_concurrently(&module, &key, 4, 10));
        // Stale sessions failed and were replaced (those still idle are replaced when used).
        assert!(session_failures(&module) > before, "{module:?}");
        println!("after the reset: {module:?}");
        let (idle, open) = pool_counts(&module);
        assert!(idle == open && open <= 4, "idle {idle}, open {open}");
        let other = module.generate(KeyType::Rsa2048, "erin/2").unwrap();
        sign_and_verify_all(module.as_ref(), KeyType::Rsa2048, &other);
        assert_all_ok(&sign_concurrently(&module, &key, 4, 20));
    });
}

#[test]
fn destroyed_keys_are_not_found() {
    in_softhsm("destroyed_keys_are_not_found", |token| {
        let module = Arc::new(token.open(4));
        let key = module.generate(KeyType::EcP256, "frank").unwrap();
        let kept = module.generate(KeyType::EcP256, "frank/kept").unwrap();
        // Cache the handle in every session.
        assert_all_ok(&sign_concurrently(&module, &key, 4, 10));

        module.destroy(&key.key_ref).unwrap();
        assert!(find(&module, &key.key_ref, ObjectClass::PRIVATE_KEY).is_empty());
        assert!(find(&module, &key.key_ref, ObjectClass::PUBLIC_KEY).is_empty());
        for result in sign_concurrently(&module, &key, 4, 5) {
            assert!(matches!(result, Err(KeyError::NotFound)), "{result:?}");
        }
        // Another module (fresh caches) does not find it either.
        assert!(matches!(
            sign_once(&token.open(1), &key),
            Err(KeyError::NotFound)
        ));
        // Destroying again is not an error; the other key is untouched.
        module.destroy(&key.key_ref).unwrap();
        sign_once(&module, &kept).unwrap();
        assert_eq!(
            find(&module, &kept.key_ref, ObjectClass::PRIVATE_KEY).len(),
            1
        );
        let rsa = module.generate(KeyType::Rsa2048, "frank/rsa").unwrap();
        module.destroy(&rsa.key_ref).unwrap();
        let mechanism = SignMechanism::RsaPss {
            hash: HashAlgorithm::Sha256,
            salt: PssSalt::DigestLength,
        };
        assert!(matches!(
            module.sign_digests(&rsa.key_ref, KeyType::Rsa2048, mechanism, &[vec![1; 32]]),
            Err(KeyError::NotFound)
        ));
    });
}

#[test]
fn service_keys_are_told_apart_by_their_token_label() {
    in_softhsm(
        "service_keys_are_told_apart_by_their_token_label",
        |token| {
            use crate::{KeyAccess, ServiceKey};
            let module = Arc::new(token.open(2));
            let access = KeyAccess::new(Arc::clone(&module) as Arc<dyn KeyModule>);
            let ca = access
                .service_keys()
                .generate(ServiceKey::Ca, KeyType::EcP256)
                .unwrap();
            let signer = access
                .provisioning()
                .generate_signer_key(KeyType::EcP256, "signet-ca")
                .unwrap();
            // CKA_LABEL as the token keeps it.
            assert_eq!(module.key_label(&ca.key_ref).unwrap(), "signet-ca");
            assert_eq!(
                module.key_label(&signer.key_ref).unwrap(),
                "signet:signet-ca"
            );
            let ecdsa = SignMechanism::Ecdsa {
                hash: HashAlgorithm::Sha256,
            };
            let digest = [vec![5u8; 32]];
            // A fresh capability (nothing cached) asks the token.
            let service = KeyAccess::new(Arc::new(token.open(1))).service_keys();
            service
                .sign_digests(ServiceKey::Ca, &ca.key_ref, KeyType::EcP256, ecdsa, &digest)
                .unwrap();
            for purpose in [ServiceKey::Ca, ServiceKey::Tsa, ServiceKey::Audit] {
                assert!(matches!(
                    service.sign_digests(purpose, &signer.key_ref, KeyType::EcP256, ecdsa, &digest),
                    Err(KeyError::NotFound)
                ));
            }
            assert!(matches!(
                service.sign_digests(
                    ServiceKey::Tsa,
                    &ca.key_ref,
                    KeyType::EcP256,
                    ecdsa,
                    &digest
                ),
                Err(KeyError::NotFound)
            ));
            module.destroy(&ca.key_ref).unwrap();
            assert!(matches!(
                module.key_label(&ca.key_ref),
                Err(KeyError::NotFound)
            ));
        },
    );
}

#[test]
fn open_reports_wrong_label_pin_and_module() {
    in_softhsm("open_reports_wrong_label_pin_and_module", |token| {
        // Wrong PIN first: nobody in this process is logged in yet.
        let mut config = token.config(2);
        let wrong_pin = "wrong-pin-24680";
        config.user_pin = Zeroizing::new(wrong_pin.to_owned());
        assert!(!format!("{config:?}").contains(wrong_pin));
        match Pkcs11KeyModule::open(config) {
            Err(err @ KeyError::Unavailable(_)) => {
                let message = err.to_string();
                println!("wrong PIN: {message}");
                assert!(message.contains("rejected the user PIN"), "{message}");
                assert!(message.contains(&token.label), "{message}");
                assert!(!message.contains(wrong_pin) && !message.contains(USER_PIN));
                assert!(!format!("{err:?}").contains(wrong_pin));
            }
            other => panic!("expected a PIN error, got {other:?}"),
        }

        let mut config = token.config(2);
        config.token_label = "no-such-token".into();
        match Pkcs11KeyModule::open(config) {
            Err(err @ KeyError::Unavailable(_)) => {
                let message = err.to_string();
                println!("wrong label: {message}");
                assert!(message.contains("no PKCS#11 token labelled \"no-such-token\""));
                assert!(message.contains(&format!("{:?}", token.label)), "{message}");
                assert!(!message.contains(USER_PIN));
            }
            other => panic!("expected a token error, got {other:?}"),
        }

        let mut config = token.config(2);
        config.module = "/nonexistent/libpkcs11.so".into();
        match Pkcs11KeyModule::open(config) {
            Err(err @ KeyError::Internal(_)) => {
                assert!(
                    err.to_string().contains("/nonexistent/libpkcs11.so"),
                    "{err}"
                );
            }
            other => panic!("expected a module error, got {other:?}"),
        }

        // The right PIN still works, and nothing shows it.
        let module = token.open(2);
        assert!(!format!("{module:?}").contains(USER_PIN));
        assert!(format!("{:?}", token.config(2)).contains("<redacted>"));
        let key = module.generate(KeyType::EcP384, "grace").unwrap();
        sign_and_verify_all(&module, KeyType::EcP384, &key);
    });
}

#[test]
fn refuses_wrong_digests_mechanisms_and_key_refs() {
    in_softhsm("refuses_wrong_digests_mechanisms_and_key_refs", |token| {
        let module = token.open(1);
        let ec = module.generate(KeyType::EcP384, "heidi").unwrap();
        let rsa = module.generate(KeyType::Rsa2048, "heidi/rsa").unwrap();
        let ecdsa = SignMechanism::Ecdsa {
            hash: HashAlgorithm::Sha384,
        };
        let err = module
            .sign_digests(
                &ec.key_ref,
                KeyType::EcP384,
                ecdsa,
                &[vec![0; 48], vec![0; 32]],
            )
            .unwrap_err();
        assert!(
            matches!(
                err,
                KeyError::DigestLength {
                    got: 32,
                    expected: 48,
                    hash: "SHA-384"
                }
            ),
            "{err:?}"
        );
        let err = module
            .sign_digests(&rsa.key_ref, KeyType::Rsa2048, ecdsa, &[vec![0; 48]])
            .unwrap_err();
        assert!(
            matches!(
                err,
                KeyError::Mechanism {
                    mechanism: "ecdsa-sha384",
                    key_type: KeyType::Rsa2048
                }
            ),
            "{err:?}"
        );
        // A key of another type, curve or size than the caller recorded is not found.
        let sign = |key: &KeyRef, key_type: KeyType, mechanism: SignMechanism| {
            let digest = vec![1; mechanism.hash().len()];
            module.sign_digests(key, key_type, mechanism, &[digest])
        };
        let pkcs1 = SignMechanism::RsaPkcs1 {
            hash: HashAlgorithm::Sha256,
        };
        assert!(matches!(
            sign(&ec.key_ref, KeyType::EcP256, P256_SHA256),
            Err(KeyError::NotFound)
        ));
        assert!(matches!(
            sign(&rsa.key_ref, KeyType::Rsa3072, pkcs1),
            Err(KeyError::NotFound)
        ));
        assert!(matches!(
            sign(&ec.key_ref, KeyType::Rsa2048, pkcs1),
            Err(KeyError::NotFound)
        ));
        assert!(sign(&ec.key_ref, KeyType::EcP384, ecdsa).is_ok());
        assert!(sign(&rsa.key_ref, KeyType::Rsa2048, pkcs1).is_ok());
        // Handles of another backend, unknown IDs, garbage.
        let mut unknown = ec.key_ref.clone();
        unknown.0[5] ^= 1;
        let soft_style = KeyRef([&[1u8, 2, 0, 1, b'x'][..], &[0; 40]].concat());
        for bad in [
            unknown,
            soft_style,
            KeyRef(vec![]),
            KeyRef(vec![2; 16]),
            KeyRef(vec![2; 18]),
        ] {
            assert!(
                matches!(sign(&bad, KeyType::EcP384, ecdsa), Err(KeyError::NotFound)),
                "{bad:?}"
            );
            if bad.0.len() != 1 + ID_LEN {
                assert!(matches!(module.destroy(&bad), Err(KeyError::NotFound)));
            }
        }
        // No digests: nothing to sign, but the key is still checked.
        assert!(
            module
                .sign_digests(&ec.key_ref, KeyType::EcP384, ecdsa, &[])
                .unwrap()
                .is_empty()
        );
        let mut unknown = ec.key_ref.clone();
        unknown.0[1] ^= 1;
        assert!(matches!(
            module.sign_digests(&unknown, KeyType::EcP384, ecdsa, &[]),
            Err(KeyError::NotFound)
        ));
    });
}

#[test]
fn init_token_is_idempotent_and_checks_labels() {
    in_softhsm("init_token_is_idempotent_and_checks_labels", |token| {
        // Already there (the harness made it): nothing happens, the PINs are not even tried.
        Pkcs11KeyModule::init_token(&token.module, &token.label, "x", "y").unwrap();
        // A second token next to it.
        Pkcs11KeyModule::init_token(&token.module, "second", SO_PIN, USER_PIN).unwrap();
        let mut config = token.config(1);
        config.token_label = "second".into();
        let second = Pkcs11KeyModule::open(config).unwrap();
        let key = second.generate(KeyType::EcP256, "ivan").unwrap();
        sign_once(&second, &key).unwrap();
        // Keys live in their own token.
        assert!(matches!(
            sign_once(&token.open(1), &key),
            Err(KeyError::NotFound)
        ));
        for bad in ["", &"x".repeat(33), "trailing "] {
            assert!(matches!(
                Pkcs11KeyModule::init_token(&token.module, bad, SO_PIN, USER_PIN),
                Err(KeyError::Internal(_))
            ));
        }
    });
}

/// Raw signing rate of SoftHSM through cryptoki on 2 threads (one session each; env
/// `SIGNET_RATE_THREADS` to change), next to the rate through `Pkcs11KeyModule`. A
/// measurement, not a test: run with
/// `cargo test -p signet-keys --release raw_signing_rate -- --ignored --nocapture`.
#[test]
#[ignore = "measurement; prints signing rates"]
fn raw_signing_rate() {
    in_softhsm("raw_signing_rate", |token| {
        const WINDOW: Duration = Duration::from_secs(3);
        let threads: usize = std::env::var("SIGNET_RATE_THREADS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(2);
        let module = Arc::new(token.open(threads));
        for (key_type, mechanism) in [
            (KeyType::EcP256, P256_SHA256),
            (
                KeyType::Rsa2048,
                SignMechanism::RsaPkcs1 {
                    hash: HashAlgorithm::Sha256,
                },
            ),
        ] {
            let key = module.generate(key_type, "bench").unwrap();
            let id = parse_key_ref(&key.key_ref).unwrap();
            let digest = HashAlgorithm::Sha256.digest(MESSAGE);

            // Raw: C_SignInit + C_Sign on a session per thread, nothing else.
            let raw: usize = (0..threads)
                .map(|_| {
                    let module = Arc::clone(&module);
                    let digest = digest.clone();
                    std::thread::spawn(move || {
                        let ctx = module.ctx.clone();
                        let session = ctx.open_rw_session(*module.slot.lock()).unwrap();
                        let handle = session
                            .find_objects(&[
                                Attribute::Class(ObjectClass::PRIVATE_KEY),
                                Attribute::Id(id.to_vec()),
                            ])
                            .unwrap()[0];
                        let (ck, input) = if key_type.is_rsa() {
                            (
                                Mechanism::RsaPkcs,
                                HashAlgorithm::Sha256.digest_info(&digest),
                            )
                        } else {
                            (Mechanism::Ecdsa, digest)
                        };
                        let start = Instant::now();
                        let mut n = 0;
                        while start.elapsed() < WINDOW {
                            session.sign(&ck, handle, &input).unwrap();
                            n += 1;
                        }
                        n
                    })
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|h| h.join().unwrap())
                .sum();
            let raw_rate = raw as f64 / WINDOW.as_secs_f64();

            for batch in [1usize, 32] {
                let digests = vec![digest.clone(); batch];
                let signed: usize = (0..threads)
                    .map(|_| {
                        let module = Arc::clone(&module);
                        let key = key.key_ref.clone();
                        let digests = digests.clone();
                        std::thread::spawn(move || {
                            let start = Instant::now();
                            let mut n = 0;
                            while start.elapsed() < WINDOW {
                                n += module
                                    .sign_digests(&key, key_type, mechanism, &digests)
                                    .unwrap()
                                    .len();
                            }
                            n
                        })
                    })
                    .collect::<Vec<_>>()
                    .into_iter()
                    .map(|h| h.join().unwrap())
                    .sum();
                let rate = signed as f64 / WINDOW.as_secs_f64();
                println!(
                    "{key_type}: raw cryptoki {raw_rate:.0}/s, Pkcs11KeyModule batch {batch}: \
                     {rate:.0}/s ({:.0}% of raw), {threads} threads",
                    100.0 * rate / raw_rate
                );
            }
        }
    });
}

#[test]
fn key_refs_and_error_names() {
    let id = [7u8; ID_LEN];
    let key = KeyRef([&[KEY_REF_VERSION][..], &id].concat());
    assert_eq!(parse_key_ref(&key).unwrap(), id);
    assert!(parse_key_ref(&KeyRef(vec![1; 17])).is_err());
    assert_eq!(
        ckr_name(&RvError::SessionHandleInvalid),
        "CKR_SESSION_HANDLE_INVALID"
    );
    assert_eq!(
        describe(&CkError::Pkcs11(
            RvError::PinIncorrect,
            cryptoki::context::Function::Login
        )),
        "C_Login returned CKR_PIN_INCORRECT"
    );
    assert!(matches!(
        fail(CkError::Pkcs11(
            RvError::SessionHandleInvalid,
            cryptoki::context::Function::Sign
        )),
        Fail::Session { alive: false, .. }
    ));
    assert!(matches!(
        fail(CkError::Pkcs11(
            RvError::UserNotLoggedIn,
            cryptoki::context::Function::SignInit
        )),
        Fail::Session { alive: true, .. }
    ));
    assert!(matches!(
        fail(CkError::Pkcs11(
            RvError::MechanismInvalid,
            cryptoki::context::Function::SignInit
        )),
        Fail::Key(KeyError::Internal(_))
    ));
    let params = pss_params(HashAlgorithm::Sha384, 48);
    assert_eq!(params.hash_alg, MechanismType::SHA384);
    assert_eq!(params.mgf, PkcsMgfType::MGF1_SHA384);
    assert_eq!(u64::from(params.s_len), 48);
    let config = Pkcs11Config {
        module: SOFTHSM.into(),
        token_label: "t".into(),
        user_pin: Zeroizing::new("123456".into()),
        sessions: 0,
    };
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("123456") && shown.contains("<redacted>"),
        "{shown}"
    );
}
