//! The master key: the one secret that protects every software-held signing key at rest.
//!
//! Sealed private keys live in the database; without this key they are useless. It comes from
//! `SIGNET_MASTER_KEY` (for deployments with a secret manager) or from a 0600 file that is
//! created on first start. It never appears in errors, logs or `Debug` output.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use data_encoding::{BASE64, BASE64_NOPAD, HEXLOWER_PERMISSIVE};
use zeroize::Zeroizing;

use crate::KeyError;

/// Length of the master key in bytes (AES-256).
const KEY_LEN: usize = 32;
/// Format byte in front of every sealed blob, so the format can change without guessing.
const SEAL_VERSION: u8 = 1;
const TAG_LEN: usize = 16;
/// HKDF salt: separates our derived keys from any other use of the same key material.
const HKDF_SALT: &[u8] = b"signet-master-v1";

/// 32 secret bytes, zeroized on drop.
#[derive(Clone)]
pub struct MasterKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// A fresh random key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, KeyError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| KeyError::Internal("random number generator failed".into()))?;
        Ok(Self { bytes })
    }

    /// Wraps exactly 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let bytes: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| KeyError::Internal("master key must be 32 bytes".into()))?;
        Ok(Self {
            bytes: Zeroizing::new(bytes),
        })
    }

    /// Parses the value of `SIGNET_MASTER_KEY`: 64 hex characters, or base64 (standard
    /// alphabet, padded or not) of 32 bytes. Surrounding whitespace is ignored because secret
    /// files and `echo` tend to add a newline.
    pub fn from_env_value(text: &str) -> Result<Self, KeyError> {
        let text = text.trim().as_bytes();
        let decoded = if text.len() == 2 * KEY_LEN && text.iter().all(u8::is_ascii_hexdigit) {
            HEXLOWER_PERMISSIVE.decode(text)
        } else if text.ends_with(b"=") {
            BASE64.decode(text)
        } else {
            BASE64_NOPAD.decode(text)
        };
        // The decoder error could quote the offending input; drop it.
        let bytes = Zeroizing::new(decoded.map_err(|_| bad_env_value())?);
        Self::from_bytes(&bytes).map_err(|_| bad_env_value())
    }

    /// Loads the raw 32-byte key file at `path`, or creates it when absent.
    ///
    /// A new file is created exclusively (`create_new`) with mode 0600 from the start, so there
    /// is no window where another user could read it, and it is fsynced (with its directory)
    /// before we seal anything under it: losing the key loses every sealed signing key. An
    /// existing file that grants any access to group or others is refused rather than silently
    /// trusted or "fixed".
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        match File::open(path) {
            Ok(file) => Self::load(path, file),
            Err(e) if e.kind() == ErrorKind::NotFound => match Self::create(path) {
                // Another process created it between our open and create_new: use theirs.
                Err(CreateError::Exists) => {
                    let file = File::open(path).map_err(|e| io_error("open", path, &e))?;
                    Self::load(path, file)
                }
                Err(CreateError::Key(e)) => Err(e),
                Ok(key) => Ok(key),
            },
            Err(e) => Err(io_error("open", path, &e)),
        }
    }

    fn load(path: &Path, mut file: File) -> Result<Self, KeyError> {
        // Check the permissions of the file we actually opened, not of whatever the path
        // points to by now.
        let meta = file.metadata().map_err(|e| io_error("stat", path, &e))?;
        if !meta.is_file() {
            return Err(KeyError::Internal(format!(
                "master key file {} is not a regular file",
                path.display()
            )));
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Internal(format!(
                "master key file {} has mode {mode:04o}: it must not be accessible to group or \
                 others (chmod 600 it)",
                path.display()
            )));
        }
        let mut bytes = Zeroizing::new(Vec::with_capacity(KEY_LEN + 1));
        // Read one byte more than needed so that an oversized file is noticed.
        (&mut file)
            .take(KEY_LEN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io_error("read", path, &e))?;
        if bytes.len() != KEY_LEN {
            return Err(KeyError::Internal(format!(
                "master key file {} must hold exactly 32 raw bytes",
                path.display()
            )));
        }
        Self::from_bytes(&bytes)
    }

    fn create(path: &Path) -> Result<Self, CreateError> {
        let key = Self::generate()?;
        let mut file = match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => return Err(CreateError::Exists),
            Err(e) => return Err(io_error("create", path, &e).into()),
        };
        let written = file
            .write_all(key.bytes.as_ref())
            .and_then(|()| file.sync_all());
        if let Err(e) = written {
            // A truncated key file would be refused at the next start; do not leave one.
            drop(file);
            let _ = std::fs::remove_file(path);
            return Err(io_error("write", path, &e).into());
        }
        // Persist the directory entry too, or a crash could lose the file after we used it.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io_error("sync directory of", path, &e))?;
        }
        tracing::info!(path = %path.display(), "created new master key file");
        Ok(key)
    }

    /// AES-256-GCM under a random 96-bit nonce, `context` as associated data.
    ///
    /// Output: version byte (1) || 12-byte nonce || ciphertext || 16-byte tag. Random nonces
    /// are safe here: far fewer than 2^32 blobs are ever sealed under one master key.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| KeyError::Internal("random number generator failed".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(SEAL_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self
            .aead_key()?
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut out[1 + NONCE_LEN..],
            )
            .map_err(|_| KeyError::Internal("sealing failed".into()))?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Inverse of [`seal`](Self::seal). Any failure (wrong key, wrong context, tampering,
    /// unknown version) is [`KeyError::NotFound`]: callers cannot and need not tell them apart.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let Some((&SEAL_VERSION, rest)) = sealed.split_first() else {
            return Err(KeyError::NotFound);
        };
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(KeyError::NotFound);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::NotFound)?;
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let len = self
            .aead_key()?
            .open_in_place(nonce, Aad::from(context), buf.as_mut_slice())
            .map_err(|_| KeyError::NotFound)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }

    /// HKDF-SHA256 (RFC 5869) with salt `signet-master-v1` and `label` as info, 32 bytes out:
    /// a separate key per purpose (e.g. the PIN HMAC key), so no two uses share key material.
    pub fn derive(&self, label: &str) -> Zeroizing<[u8; 32]> {
        // For L = HashLen, HKDF is exactly two HMACs: PRK = HMAC(salt, IKM) and
        // OKM = T(1) = HMAC(PRK, info || 0x01). Spelled out because aws-lc-rs' HKDF API is
        // fallible (for lengths we never ask for) and this signature is not.
        let prk = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, HKDF_SALT),
            self.bytes.as_ref(),
        );
        let prk_key = hmac::Key::new(hmac::HMAC_SHA256, prk.as_ref());
        let mut ctx = hmac::Context::with_key(&prk_key);
        ctx.update(label.as_bytes());
        ctx.update(&[1]);
        let okm = ctx.sign();
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(okm.as_ref());
        out
    }

    fn aead_key(&self) -> Result<LessSafeKey, KeyError> {
        UnboundKey::new(&AES_256_GCM, self.bytes.as_ref())
            .map(LessSafeKey::new)
            .map_err(|_| KeyError::Internal("AES-256-GCM key setup failed".into()))
    }
}

/// `create` lost the race against another process, or failed.
enum CreateError {
    Exists,
    Key(KeyError),
}

impl From<KeyError> for CreateError {
    fn from(e: KeyError) -> Self {
        Self::Key(e)
    }
}

fn bad_env_value() -> KeyError {
    KeyError::Internal("SIGNET_MASTER_KEY must be 64 hex characters or base64 of 32 bytes".into())
}

fn io_error(action: &str, path: &Path, e: &std::io::Error) -> KeyError {
    KeyError::Internal(format!(
        "cannot {action} master key file {}: {e}",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip() {
        let key = MasterKey::generate().unwrap();
        let sealed = key.seal(b"ctx", b"secret").unwrap();
        assert_eq!(sealed.len(), 1 + 12 + 6 + 16);
        assert_eq!(sealed[0], 1);
        assert_eq!(key.open(b"ctx", &sealed).unwrap().as_slice(), b"secret");
        // Random nonces: sealing twice differs.
        assert_ne!(sealed, key.seal(b"ctx", b"secret").unwrap());
        // Empty plaintext works too.
        let empty = key.seal(b"", b"").unwrap();
        assert!(key.open(b"", &empty).unwrap().is_empty());
    }

    #[test]
    fn open_refuses_wrong_context_key_and_tampering() {
        let key = MasterKey::generate().unwrap();
        let sealed = key.seal(b"ctx", b"secret").unwrap();
        assert!(matches!(
            key.open(b"other", &sealed),
            Err(KeyError::NotFound)
        ));
        let other = MasterKey::generate().unwrap();
        assert!(matches!(
            other.open(b"ctx", &sealed),
            Err(KeyError::NotFound)
        ));
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(
                matches!(key.open(b"ctx", &bad), Err(KeyError::NotFound)),
                "byte {i}"
            );
        }
        assert!(matches!(
            key.open(b"ctx", &sealed[..20]),
            Err(KeyError::NotFound)
        ));
        assert!(matches!(key.open(b"ctx", &[]), Err(KeyError::NotFound)));
    }

    #[test]
    fn from_bytes_checks_length() {
        assert!(MasterKey::from_bytes(&[7; 32]).is_ok());
        let err = MasterKey::from_bytes(&[7; 31]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "key module failure: master key must be 32 bytes"
        );
    }

    #[test]
    fn from_env_value_hex_and_base64() {
        let raw: Vec<u8> = (0u8..32).collect();
        let expected = MasterKey::from_bytes(&raw).unwrap();
        let sealed = expected.seal(b"c", b"x").unwrap();
        let inputs = [
            data_encoding::HEXLOWER.encode(&raw),
            data_encoding::HEXUPPER.encode(&raw),
            BASE64.encode(&raw),
            BASE64_NOPAD.encode(&raw),
            format!("{}\n", BASE64.encode(&raw)),
        ];
        for text in inputs {
            let key = MasterKey::from_env_value(&text).unwrap();
            assert_eq!(key.open(b"c", &sealed).unwrap().as_slice(), b"x", "{text}");
        }
        for bad in ["", "abcd", &"zz".repeat(32), &BASE64.encode(&[1; 31])] {
            let err = MasterKey::from_env_value(bad).unwrap_err().to_string();
            assert!(err.contains("SIGNET_MASTER_KEY"), "{err}");
        }
    }

    #[test]
    fn load_or_create_creates_0600_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let first = MasterKey::load_or_create(&path).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), 32);
        let sealed = first.seal(b"c", b"x").unwrap();
        for _ in 0..2 {
            let again = MasterKey::load_or_create(&path).unwrap();
            assert_eq!(again.open(b"c", &sealed).unwrap().as_slice(), b"x");
        }
    }

    #[test]
    fn load_or_create_refuses_readable_or_malformed_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        std::fs::write(&path, [9u8; 32]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = MasterKey::load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("0644"), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(MasterKey::load_or_create(&path).is_ok());

        std::fs::write(&path, [9u8; 33]).unwrap();
        let err = MasterKey::load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("exactly 32"), "{err}");
    }

    #[test]
    fn derive_is_hkdf_sha256() {
        let key = MasterKey::from_bytes(&[42; 32]).unwrap();
        let ours = key.derive("pin-hmac");

        struct Len32;
        impl aws_lc_rs::hkdf::KeyType for Len32 {
            fn len(&self) -> usize {
                32
            }
        }
        let mut expected = [0u8; 32];
        aws_lc_rs::hkdf::Salt::new(aws_lc_rs::hkdf::HKDF_SHA256, HKDF_SALT)
            .extract(&[42; 32])
            .expand(&[b"pin-hmac"], Len32)
            .unwrap()
            .fill(&mut expected)
            .unwrap();
        assert_eq!(*ours, expected);
        assert_ne!(*key.derive("other"), expected);
    }

    #[test]
    fn debug_is_redacted() {
        let key = MasterKey::from_bytes(&[0xab; 32]).unwrap();
        assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
        assert_eq!(format!("{:?}", key.clone()), "MasterKey(<redacted>)");
    }
}
