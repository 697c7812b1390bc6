//! The JWS Protected Header of a JAdES signature (TS 119 182-1 §5.1, §5.2): the algorithm,
//! the certificates and the signed reference to the signing certificate, the claimed signing
//! time, `crit`, `b64`, `sigD`, and the baseline rules over them (§6.3).

use serde_json::{Map, Value};
use signet_core::HashAlgorithm;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::json;
use super::unsigned::tst_tokens;

/// The JAdES header parameters a signer must list in `crit` when it uses them, and `b64`
/// (RFC 7797 §6). Any other name in `crit` is not understood here: RFC 7515 §4.1.11 makes
/// such a JWS invalid.
const CRITICAL: [&str; 10] = [
    "sigT", "x5t#o", "sigX5ts", "srCms", "sigPl", "srAts", "adoTst", "sigPId", "sigD", "b64",
];

/// Names RFC 7515 and RFC 7518 define, which `crit` must not list (RFC 7515 §4.1.11).
const NEVER_CRITICAL: [&str; 20] = [
    "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit", "epk",
    "apu", "apv", "iv", "tag", "p2s", "p2c", "enc", "zip",
];

/// The most certificates an `x5c` header or a `sigX5ts` array may hold.
pub const MAX_CERTIFICATES: usize = 100;
/// The most data objects a `sigD` may name.
const MAX_SIG_D_OBJECTS: usize = 1000;

pub const HTTP_HEADERS: &str = "http://uri.etsi.org/19182/HttpHeaders";
pub const OBJECT_ID_BY_URI: &str = "http://uri.etsi.org/19182/ObjectIdByURI";
pub const OBJECT_ID_BY_URI_HASH: &str = "http://uri.etsi.org/19182/ObjectIdByURIHash";

/// How `sigD` references the detached data (TS 119 182-1 §5.2.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// The JWS Payload is built from HTTP header fields of a message this reader does not get.
    HttpHeaders,
    /// The JWS Payload is the concatenation of the referenced objects.
    ObjectIdByUri,
    /// The header carries a digest of every referenced object; the JWS Payload is empty.
    ObjectIdByUriHash,
}

/// A `sigD` header parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigD {
    pub mechanism: Mechanism,
    /// The `pars` member: URI references (or HTTP header names), in order.
    pub pars: Vec<String>,
    /// `hashM`, read only for ObjectIdByURIHash (an unsupported algorithm is kept as the
    /// reason, so that the digests are reported as not checked rather than failed).
    pub hash: Option<Result<HashAlgorithm, String>>,
    /// `hashV`, one digest per `pars` entry.
    pub hash_v: Vec<Vec<u8>>,
}

/// A signed digest of a certificate (`x5t#S256`, `x5t#o`, a `sigX5ts` element).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRef {
    pub hash: Result<HashAlgorithm, String>,
    pub digest: Vec<u8>,
}

impl CertRef {
    /// Whether it references `certificate` (DER).
    pub fn matches(&self, certificate: &[u8]) -> bool {
        self.hash
            .as_ref()
            .is_ok_and(|h| h.digest(certificate) == self.digest)
    }
}

/// What the reader takes from the headers of one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub alg: String,
    /// RFC 7797 `b64`: whether the JWS Payload is base64url-encoded in the signing input.
    pub b64: bool,
    pub sig_d: Option<SigD>,
    /// The `x5c` chain, signing certificate first, DER.
    pub x5c: Vec<Vec<u8>>,
    /// The signed references to the signing certificate.
    pub cert_refs: Vec<CertRef>,
    pub claimed_time: Option<OffsetDateTime>,
    /// `adoTst` time-stamp tokens (over the signed data, before signing), DER.
    pub content_stamps: Vec<Vec<u8>>,
    pub constraint_failures: Vec<String>,
}

/// A TS 119 182-1 Annex E digest algorithm identifier (`S256`), or an XML digest URI as
/// older producers wrote it.
pub fn digest_algorithm(id: &str) -> Result<HashAlgorithm, String> {
    match id {
        "S256" => Ok(HashAlgorithm::Sha256),
        "S384" => Ok(HashAlgorithm::Sha384),
        "S512" => Ok(HashAlgorithm::Sha512),
        other => signet_core::xmldsig::digest_from_uri(other)
            .ok_or_else(|| format!("unsupported digest algorithm {other:?}")),
    }
}

/// Reads the protected header (and the unprotected one, for what RFC 7515 lets it carry).
/// `Err` is a format failure: the signature cannot be read as a JWS.
pub fn read(
    protected: &Map<String, Value>,
    unprotected: &Map<String, Value>,
) -> Result<Header, String> {
    if let Some(name) = protected.keys().find(|k| unprotected.contains_key(*k)) {
        return Err(format!(
            "the header parameter {name:?} is both in the protected and the unprotected header (RFC 7515 §7.2.1)"
        ));
    }
    for name in ["crit", "b64", "alg"] {
        if unprotected.contains_key(name) {
            return Err(format!(
                "{name} is in the unprotected header; it must be integrity protected"
            ));
        }
    }
    let alg = match protected.get("alg") {
        Some(Value::String(a)) => a.clone(),
        Some(_) => return Err("alg is not a string".into()),
        None => return Err("the protected header has no alg".into()),
    };
    let b64 = match protected.get("b64") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("b64 is not a boolean (RFC 7797 §3)".into()),
    };
    let mut constraint_failures = check_crit(protected)?;
    for name in CRITICAL.iter().filter(|n| unprotected.contains_key(**n)) {
        constraint_failures.push(format!(
            "{name} is in the unprotected header, where it is not signed (TS 119 182-1 §5.2)"
        ));
    }
    let sig_d = protected.get("sigD").map(read_sig_d).transpose()?;
    if sig_d.is_some() && protected.contains_key("cty") {
        constraint_failures.push(
            "cty must not be present with sigD: each detached object has its own type".into(),
        );
    }
    let x5c = match protected.get("x5c").or_else(|| unprotected.get("x5c")) {
        None => Vec::new(),
        Some(v) => json::strings(v, "x5c", MAX_CERTIFICATES)?
            .into_iter()
            .map(|c| json::b64_std(c).map_err(|e| format!("an x5c certificate is {e}")))
            .collect::<Result<_, _>>()?,
    };
    let cert_refs = read_cert_refs(protected, &mut constraint_failures)?;
    let claimed_time = read_time(protected, &mut constraint_failures);
    let content_stamps = match protected.get("adoTst") {
        Some(v) => tst_tokens(v, "adoTst")?,
        None => Vec::new(),
    };
    Ok(Header {
        alg,
        b64,
        sig_d,
        x5c,
        cert_refs,
        claimed_time,
        content_stamps,
        constraint_failures,
    })
}

/// RFC 7515 §4.1.11 and TS 119 182-1: `crit` is a non-empty array of distinct names this
/// reader understands (else the JWS is invalid); JAdES parameters present must be listed, and
/// listed names must be present (baseline constraints).
fn check_crit(protected: &Map<String, Value>) -> Result<Vec<String>, String> {
    let mut failures = Vec::new();
    let listed: Vec<&str> = match protected.get("crit") {
        None => Vec::new(),
        Some(v) => {
            let names = json::strings(v, "crit", CRITICAL.len() + NEVER_CRITICAL.len())?;
            if names.is_empty() {
                return Err("crit is empty (RFC 7515 §4.1.11)".into());
            }
            for (i, name) in names.iter().enumerate() {
                if names[..i].contains(name) {
                    return Err(format!("crit lists {name:?} twice"));
                }
            }
            names
        }
    };
    for name in &listed {
        if NEVER_CRITICAL.contains(name) {
            failures.push(format!(
                "crit lists {name:?}, which RFC 7515 §4.1.11 does not allow"
            ));
        } else if !CRITICAL.contains(name) {
            return Err(format!(
                "crit lists {name:?}, an extension this validator does not understand (RFC 7515 §4.1.11)"
            ));
        } else if !protected.contains_key(*name) {
            failures.push(format!(
                "crit lists {name:?}, which the protected header does not have"
            ));
        }
    }
    for name in CRITICAL.iter().filter(|n| protected.contains_key(**n)) {
        if listed.contains(name) {
            continue;
        }
        if *name == "b64" {
            return Err("b64 is not listed in crit (RFC 7797 §6)".into());
        }
        failures.push(format!(
            "{name} is not listed in crit (TS 119 182-1 requires it to be critical)"
        ));
    }
    Ok(failures)
}

/// `x5t#S256`, `x5t#o` and `sigX5ts` (TS 119 182-1 §5.1.7, §5.2.2): exactly one of them
/// must be in a baseline signature.
fn read_cert_refs(
    protected: &Map<String, Value>,
    failures: &mut Vec<String>,
) -> Result<Vec<CertRef>, String> {
    let mut refs = Vec::new();
    let mut kinds = 0;
    if let Some(v) = protected.get("x5t#S256") {
        kinds += 1;
        let text = v.as_str().ok_or("x5t#S256 is not a string")?;
        refs.push(CertRef {
            hash: Ok(HashAlgorithm::Sha256),
            digest: json::b64url(text).map_err(|e| format!("x5t#S256 is {e}"))?,
        });
    }
    if let Some(v) = protected.get("x5t#o") {
        kinds += 1;
        refs.push(dig_alg_val(v, "x5t#o")?);
    }
    if let Some(v) = protected.get("sigX5ts") {
        kinds += 1;
        let items = json::array(v, "sigX5ts", MAX_CERTIFICATES)?;
        if items.is_empty() {
            return Err("sigX5ts is empty".into());
        }
        for item in items {
            refs.push(dig_alg_val(item, "a sigX5ts element")?);
        }
    }
    match kinds {
        0 => failures.push(
            "the protected header has no signed reference to the signing certificate (x5t#S256, x5t#o or sigX5ts; TS 119 182-1 §6.3)".into(),
        ),
        1 => {}
        _ => failures.push(
            "the protected header has more than one of x5t#S256, x5t#o and sigX5ts (TS 119 182-1 §6.3 allows one)".into(),
        ),
    }
    Ok(refs)
}

/// `{"digAlg": "S384", "digVal": base64url}`: the digest of a certificate.
fn dig_alg_val(v: &Value, what: &str) -> Result<CertRef, String> {
    let alg = v
        .get("digAlg")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{what} has no digAlg"))?;
    let val = v
        .get("digVal")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{what} has no digVal"))?;
    Ok(CertRef {
        hash: digest_algorithm(alg),
        digest: json::b64url(val).map_err(|e| format!("{what} digVal is {e}"))?,
    })
}

/// The claimed signing time: `sigT` (RFC 3339, §5.2.1) or, as later editions of TS 119 182-1
/// prefer, `iat` (a NumericDate). A baseline signature has exactly one.
fn read_time(protected: &Map<String, Value>, failures: &mut Vec<String>) -> Option<OffsetDateTime> {
    let sig_t = protected.get("sigT").map(|v| {
        v.as_str()
            .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
            .ok_or("sigT is not an RFC 3339 date and time")
    });
    let iat = protected.get("iat").map(|v| {
        v.as_i64()
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .ok_or("iat is not a NumericDate")
    });
    let mut time = None;
    for t in [sig_t, iat].into_iter().flatten() {
        match t {
            Ok(t) => time = time.or(Some(t)),
            Err(e) => failures.push(e.into()),
        }
    }
    match (sig_t, iat) {
        (None, None) => failures.push(
            "the protected header has no claimed signing time (sigT; TS 119 182-1 §5.2.1)".into(),
        ),
        (Some(_), Some(_)) => failures.push(
            "the protected header has both sigT and iat; a baseline signature has one".into(),
        ),
        _ => {}
    }
    time
}

/// `sigD` (TS 119 182-1 §5.2.8).
fn read_sig_d(v: &Value) -> Result<SigD, String> {
    let m_id = v
        .get("mId")
        .and_then(Value::as_str)
        .ok_or("sigD has no mId")?;
    let mechanism = match m_id {
        HTTP_HEADERS => Mechanism::HttpHeaders,
        OBJECT_ID_BY_URI => Mechanism::ObjectIdByUri,
        OBJECT_ID_BY_URI_HASH => Mechanism::ObjectIdByUriHash,
        other => return Err(format!("sigD names an unknown mechanism {other:?}")),
    };
    let pars: Vec<String> = json::strings(
        v.get("pars").ok_or("sigD has no pars")?,
        "sigD pars",
        MAX_SIG_D_OBJECTS,
    )?
    .into_iter()
    .map(str::to_owned)
    .collect();
    if pars.is_empty() {
        return Err("sigD pars is empty".into());
    }
    let (hash, hash_v) = if mechanism == Mechanism::ObjectIdByUriHash {
        let hash_m = v
            .get("hashM")
            .and_then(Value::as_str)
            .ok_or("sigD has no hashM")?;
        let hash_v = json::strings(
            v.get("hashV").ok_or("sigD has no hashV")?,
            "sigD hashV",
            MAX_SIG_D_OBJECTS,
        )?
        .into_iter()
        .map(|d| json::b64url(d).map_err(|e| format!("a sigD hashV digest is {e}")))
        .collect::<Result<Vec<_>, _>>()?;
        if hash_v.len() != pars.len() {
            return Err(format!(
                "sigD has {} pars but {} hashV digests",
                pars.len(),
                hash_v.len()
            ));
        }
        (Some(digest_algorithm(hash_m)), hash_v)
    } else {
        (None, Vec::new())
    };
    Ok(SigD {
        mechanism,
        pars,
        hash,
        hash_v,
    })
}
