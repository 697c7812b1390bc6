//! Checkpoints as signed notes: the C2SP tlog-checkpoint body, signed per C2SP signed-note.
//!
//! ```text
//! signet/audit/5f0c…                  origin: the log's identity
//! 1042                                tree size
//! 9m8A…=                              root hash, base64
//! time 1733350000123                  extension lines (ignored by generic witnesses):
//! previous Xk3…=                        SHA-256 of the previous signed note
//! chain legacy 812 q1w…=                each chain's head: name, position, record hash
//! chain node-a/0 230 Zz0…=
//!
//! — signet/audit/5f0c… AbCd…          key name, base64(key ID || ECDSA signature, DER)
//! ```
//!
//! The signature type is C2SP's `0x02` (ECDSA, as the transparency-dev witness implements it):
//! ECDSA P-256 with SHA-256 over the note text, the key ID being the first four bytes of
//! SHA-256 of the key's DER SubjectPublicKeyInfo. Existing checkpoint tools can thus parse the
//! first three lines and check the signature with the audit certificate's public key.

use data_encoding::BASE64;
use signet_core::{HashAlgorithm, SignMechanism};
use signet_store::ChainHead;

use crate::merkle::Hash;

/// The mechanism checkpoints are signed with.
pub const MECHANISM: SignMechanism = SignMechanism::Ecdsa {
    hash: HashAlgorithm::Sha256,
};

/// Why a checkpoint or note does not parse or verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
    #[error("the checkpoint is not signed by a known audit key (key ID {0})")]
    UnknownKey(String),
    #[error("the checkpoint signature does not verify with the audit certificate")]
    BadSignature,
}

/// What a checkpoint says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub tree_size: u64,
    pub root: Hash,
    /// When it was made, Unix milliseconds.
    pub time_ms: i64,
    /// SHA-256 of the previous checkpoint's signed note; `None` for the first.
    pub previous: Option<Hash>,
    /// Every chain's head at this checkpoint, by name.
    pub chains: Vec<ChainHead>,
}

fn malformed(what: impl Into<String>) -> NoteError {
    NoteError::Malformed(what.into())
}

fn hash32(b64: &str, what: &str) -> Result<Hash, NoteError> {
    BASE64
        .decode(b64.as_bytes())
        .ok()
        .and_then(|v| Hash::try_from(v.as_slice()).ok())
        .ok_or_else(|| malformed(format!("{what} is not a base64 SHA-256 hash")))
}

impl Checkpoint {
    /// The note text (the part that is signed), ending in a newline.
    pub fn body(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\ntime {}\n",
            self.origin,
            self.tree_size,
            BASE64.encode(&self.root),
            self.time_ms
        );
        if let Some(previous) = &self.previous {
            out += &format!("previous {}\n", BASE64.encode(previous));
        }
        for head in &self.chains {
            out += &format!(
                "chain {} {} {}\n",
                head.chain,
                head.seq,
                BASE64.encode(&head.hash)
            );
        }
        out
    }

    /// Parses a note text as [`Checkpoint::body`] writes it; anything else is refused.
    pub fn parse(body: &str) -> Result<Self, NoteError> {
        let mut lines = body
            .strip_suffix('\n')
            .ok_or_else(|| malformed("the text does not end in a newline"))?
            .split('\n');
        let mut next = |what: &str| {
            lines
                .next()
                .ok_or_else(|| malformed(format!("no {what} line")))
        };
        let origin = next("origin")?.to_owned();
        if origin.is_empty() || origin.contains(char::is_whitespace) {
            return Err(malformed("bad origin line"));
        }
        let size = next("tree size")?;
        let tree_size = size
            .parse::<u64>()
            .ok()
            .filter(|_| {
                size.bytes().all(|b| b.is_ascii_digit()) && (size == "0" || !size.starts_with('0'))
            })
            .ok_or_else(|| malformed("bad tree size line"))?;
        let root = hash32(next("root hash")?, "the root hash")?;
        let time = next("time")?;
        let time_ms = time
            .strip_prefix("time ")
            .and_then(|t| t.parse::<i64>().ok())
            .ok_or_else(|| malformed("bad time line"))?;
        let mut previous = None;
        let mut chains: Vec<ChainHead> = Vec::new();
        for (i, line) in lines.enumerate() {
            if let Some(p) = line.strip_prefix("previous ") {
                if i != 0 {
                    return Err(malformed("the previous line is out of place"));
                }
                previous = Some(hash32(p, "previous")?);
            } else if let Some(c) = line.strip_prefix("chain ") {
                let parts: Vec<&str> = c.split(' ').collect();
                let [name, seq, hash] = parts.as_slice() else {
                    return Err(malformed("bad chain line"));
                };
                let seq = seq
                    .parse::<i64>()
                    .ok()
                    .filter(|s| *s >= 1)
                    .ok_or_else(|| malformed("bad chain position"))?;
                if !signet_store::audit::valid_chain_name(name) {
                    return Err(malformed("bad chain name"));
                }
                if chains
                    .last()
                    .is_some_and(|last| last.chain.as_str() >= *name)
                {
                    return Err(malformed("chain lines out of order or repeated"));
                }
                chains.push(ChainHead {
                    chain: (*name).to_owned(),
                    seq,
                    hash: hash32(hash, "a chain head")?,
                });
            } else {
                return Err(malformed(format!("unknown line {line:?}")));
            }
        }
        Ok(Self {
            origin,
            tree_size,
            root,
            time_ms,
            previous,
            chains,
        })
    }

    /// The head of `chain` at this checkpoint (position 0: not yet in the log).
    pub fn head(&self, chain: &str) -> (i64, Hash) {
        self.chains
            .iter()
            .find(|h| h.chain == chain)
            .map_or((0, signet_store::audit::GENESIS), |h| (h.seq, h.hash))
    }
}

/// The C2SP key ID of an ECDSA key (signature type 0x02): SHA-256 of its DER
/// SubjectPublicKeyInfo, first four bytes.
pub fn key_id(spki_der: &[u8]) -> [u8; 4] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, spki_der);
    let mut id = [0u8; 4];
    id.copy_from_slice(&digest.as_ref()[..4]);
    id
}

/// A signed note: the text and one signature line.
pub fn signed_note(body: &str, key_name: &str, key_id: [u8; 4], signature: &[u8]) -> String {
    let mut sig = key_id.to_vec();
    sig.extend_from_slice(signature);
    format!("{body}\n\u{2014} {key_name} {}\n", BASE64.encode(&sig))
}

/// A signed note taken apart: its text and its signatures (key name, key ID, signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedNote {
    pub body: String,
    pub signatures: Vec<(String, [u8; 4], Vec<u8>)>,
}

/// Splits a signed note (C2SP signed-note) into text and signature lines.
pub fn open_note(note: &str) -> Result<OpenedNote, NoteError> {
    if note.len() > 1 << 20 {
        return Err(malformed("the note is larger than 1 MiB"));
    }
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(malformed("control characters in the note"));
    }
    let split = note
        .rfind("\n\n")
        .ok_or_else(|| malformed("no blank line before the signatures"))?;
    let body = &note[..split + 1];
    let mut signatures = Vec::new();
    let sig_text = note[split + 2..]
        .strip_suffix('\n')
        .ok_or_else(|| malformed("the note does not end in a newline"))?;
    for line in sig_text.split('\n') {
        let rest = line
            .strip_prefix("\u{2014} ")
            .ok_or_else(|| malformed("a signature line does not start with an em dash"))?;
        let (name, b64) = rest
            .rsplit_once(' ')
            .ok_or_else(|| malformed("bad signature line"))?;
        let raw = BASE64
            .decode(b64.as_bytes())
            .map_err(|_| malformed("a signature is not base64"))?;
        if raw.len() < 5 {
            return Err(malformed("a signature is too short"));
        }
        let mut id = [0u8; 4];
        id.copy_from_slice(&raw[..4]);
        signatures.push((name.to_owned(), id, raw[4..].to_vec()));
    }
    if signatures.is_empty() || signatures.len() > 16 {
        return Err(malformed("a note needs 1 to 16 signatures"));
    }
    Ok(OpenedNote {
        body: body.to_owned(),
        signatures,
    })
}

/// An audit certificate a verifier trusts, with what it needs to check signatures.
#[derive(Debug, Clone)]
pub struct AuditCertificate {
    pub certificate: Vec<u8>,
    pub spki: Vec<u8>,
    pub key_id: [u8; 4],
}

impl AuditCertificate {
    pub fn from_der(certificate: &[u8]) -> Result<Self, signet_pki::PkiError> {
        let spki = signet_pki::certificate_public_key(certificate)?;
        Ok(Self {
            certificate: certificate.to_vec(),
            key_id: key_id(&spki),
            spki,
        })
    }
}

/// Checks a signed checkpoint's signature with one of `trusted` (matched by key name = origin
/// and key ID) and parses it. The certificate that verified is returned too.
pub fn verify_note<'a>(
    note: &str,
    trusted: &'a [AuditCertificate],
) -> Result<(Checkpoint, &'a AuditCertificate), NoteError> {
    let opened = open_note(note)?;
    let checkpoint = Checkpoint::parse(&opened.body)?;
    let mut last_id = None;
    for (name, id, signature) in &opened.signatures {
        if *name != checkpoint.origin {
            continue;
        }
        last_id = Some(*id);
        if let Some(cert) = trusted.iter().find(|c| c.key_id == *id) {
            return match signet_pki::verify_message(
                &cert.spki,
                MECHANISM,
                opened.body.as_bytes(),
                signature,
            ) {
                Ok(()) => Ok((checkpoint, cert)),
                Err(_) => Err(NoteError::BadSignature),
            };
        }
    }
    Err(NoteError::UnknownKey(last_id.map_or("none".into(), |id| {
        data_encoding::HEXLOWER.encode(&id)
    })))
}

/// SHA-256 of a signed note: what the next checkpoint names as `previous` and what its
/// time-stamp covers.
pub fn note_hash(note: &str) -> Hash {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, note.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        Checkpoint {
            origin: "signet/audit/abc".into(),
            tree_size: 12,
            root: [1; 32],
            time_ms: 1_733_350_000_123,
            previous: Some([2; 32]),
            chains: vec![
                ChainHead {
                    chain: "a/0".into(),
                    seq: 3,
                    hash: [3; 32],
                },
                ChainHead {
                    chain: "legacy".into(),
                    seq: 9,
                    hash: [4; 32],
                },
            ],
        }
    }

    #[test]
    fn body_round_trips_and_is_tlog_checkpoint_shaped() {
        let cp = sample();
        let body = cp.body();
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines[0], "signet/audit/abc");
        assert_eq!(lines[1], "12");
        assert_eq!(lines[2], BASE64.encode(&[1; 32]));
        assert_eq!(lines[3], "time 1733350000123");
        assert_eq!(Checkpoint::parse(&body), Ok(cp.clone()));
        let mut first = cp;
        first.previous = None;
        assert_eq!(Checkpoint::parse(&first.body()), Ok(first));
    }

    #[test]
    fn bad_bodies_are_refused() {
        let body = sample().body();
        for bad in [
            body.trim_end().to_owned(),
            body.replace("\n12\n", "\n012\n"),
            body.replace("\n12\n", "\n-1\n"),
            body.replace("time ", "tim "),
            body.replace("chain a/0", "chain a 0"),
            body.replace("chain legacy", "chain 0legacy"),
            body + "extra\n",
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn notes_open_and_verify() {
        let spki = [5u8; 10];
        let note = signed_note(
            &sample().body(),
            "signet/audit/abc",
            key_id(&spki),
            &[9; 70],
        );
        let opened = open_note(&note).unwrap();
        assert_eq!(opened.body, sample().body());
        assert_eq!(
            opened.signatures,
            vec![("signet/audit/abc".into(), key_id(&spki), vec![9; 70])]
        );
        assert!(note.contains("\n\n\u{2014} signet/audit/abc "));
        assert!(open_note(&note.replace('\u{2014}', "-")).is_err());
        assert!(open_note(note.trim_end()).is_err());
        assert!(matches!(
            verify_note(&note, &[]),
            Err(NoteError::UnknownKey(_))
        ));
    }
}
