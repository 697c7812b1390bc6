//! What `info` and `credentials/info` say, read into one shape for CSC v1 and v2.

use serde_json::Value;
use signet_core::{HashAlgorithm, KeyType, SignMechanism};

use crate::ClientError;

/// The CSC API version a server is spoken to with (its base path `/csc/v1` or `/csc/v2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    V1,
    V2,
}

impl ApiVersion {
    pub fn path(self) -> &'static str {
        match self {
            Self::V1 => "csc/v1",
            Self::V2 => "csc/v2",
        }
    }
}

/// The `info` answer: what the server offers.
#[derive(Debug, Clone)]
pub struct ServiceInfo {
    pub specs: String,
    pub name: String,
    /// `authType`: `basic`, `digest`, `oauth2code`, `oauth2client`, `TLS`, `external`.
    pub auth_types: Vec<String>,
    /// `oauth2` (v1, and v2 servers that use it): the authorization server's base URI.
    pub oauth2: Option<String>,
    /// `oauth2Issuer` (v2): an RFC 8414 issuer; endpoints come from its metadata.
    pub oauth2_issuer: Option<String>,
    pub methods: Vec<String>,
}

impl ServiceInfo {
    pub(crate) fn from_json(v: &Value) -> Result<Self, ClientError> {
        let strings = |name: &str| -> Vec<String> {
            v.get(name)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let text = |name: &str| v.get(name).and_then(Value::as_str).map(str::to_owned);
        let methods = strings("methods");
        if methods.is_empty() {
            return Err(ClientError::malformed("info", "no `methods` list"));
        }
        Ok(Self {
            specs: text("specs").unwrap_or_default(),
            name: text("name").unwrap_or_default(),
            auth_types: strings("authType"),
            oauth2: text("oauth2").filter(|s| !s.is_empty()),
            oauth2_issuer: text("oauth2Issuer").filter(|s| !s.is_empty()),
            methods,
        })
    }

    /// Whether `info.methods` lists `method` (e.g. `signatures/timestamp`).
    pub fn offers(&self, method: &str) -> bool {
        self.methods.iter().any(|m| m == method)
    }

    pub fn offers_auth(&self, auth_type: &str) -> bool {
        self.auth_types
            .iter()
            .any(|a| a.eq_ignore_ascii_case(auth_type))
    }
}

/// How a credential is authorized (v1 `authMode`, v2 `auth.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// The client collects the factors and sends them to `credentials/authorize` (v2 also:
    /// out-of-band objects, answered 202 and polled with `credentials/authorizeCheck`).
    Explicit,
    /// v1: the server talks to the signer itself; `credentials/authorize` with no factors.
    Implicit,
    /// The signer authorizes on the server's OAuth2 pages; the answer is a credential token.
    OAuth2Code,
}

impl AuthMode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Explicit => "explicit",
            Self::Implicit => "implicit",
            Self::OAuth2Code => "oauth2code",
        }
    }
}

/// A v2 authentication object (v1 `PIN` and `OTP` are read into the same shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthObject {
    pub kind: AuthObjectKind,
    pub id: String,
    pub label: Option<String>,
    /// `A` alphanumeric or `N` numeric.
    pub format: Option<String>,
    /// e.g. `totp`: a one-time code from an authenticator.
    pub generator: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthObjectKind {
    /// A secret typed into the client (PIN, password; a TOTP code with `generator`).
    Password,
    /// A secret entered out of band (on the signer's phone).
    PasswordOob,
    /// Needs `credentials/getChallenge` first.
    ChallengeResponse,
    /// Challenge and response both out of band (push, SMS link).
    ChallengeResponseOob,
    Other(String),
}

impl AuthObject {
    /// Entered somewhere else than this client: the client sends only the `id`.
    pub fn is_out_of_band(&self) -> bool {
        matches!(
            self.kind,
            AuthObjectKind::PasswordOob | AuthObjectKind::ChallengeResponseOob
        )
    }

    /// A one-time code rather than a PIN (asked for each authorization).
    pub fn is_one_time(&self) -> bool {
        self.generator.is_some() || self.id.eq_ignore_ascii_case("OTP")
    }
}

/// `credentials/info`, in one shape for v1 and v2.
#[derive(Debug, Clone)]
pub struct CredentialInfo {
    pub id: String,
    pub description: Option<String>,
    /// `key.status`: `enabled` or `disabled`.
    pub key_status: String,
    /// `key.algo`: signature algorithm OIDs the key accepts.
    pub key_algorithms: Vec<String>,
    /// `key.len`, bits.
    pub key_len: u32,
    /// `key.curve` (EC keys).
    pub key_curve: Option<String>,
    /// `cert.status`.
    pub cert_status: Option<String>,
    /// `cert.certificates`: DER, end-entity first.
    pub certificates: Vec<Vec<u8>>,
    pub subject_dn: Option<String>,
    pub issuer_dn: Option<String>,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
    pub auth_mode: AuthMode,
    /// v2 `auth.expression`, e.g. `PIN AND OTP`.
    pub auth_expression: Option<String>,
    pub auth_objects: Vec<AuthObject>,
    /// `SCAL`: 1, or 2 (the hashes are bound at authorization).
    pub scal: u8,
    /// `multisign`: how many signatures one authorization may produce.
    pub multisign: u32,
}

impl CredentialInfo {
    pub(crate) fn from_json(id: &str, v: &Value, version: ApiVersion) -> Result<Self, ClientError> {
        const M: &str = "credentials/info";
        let key = v
            .get("key")
            .ok_or_else(|| ClientError::malformed(M, "no `key` object"))?;
        let cert = v.get("cert").cloned().unwrap_or(Value::Null);
        let text = |v: &Value, name: &str| v.get(name).and_then(Value::as_str).map(str::to_owned);
        let certificates = cert
            .get("certificates")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|c| {
                        c.as_str()
                            .and_then(|s| decode_b64(s).ok())
                            .ok_or_else(|| ClientError::malformed(M, "a certificate is not Base64"))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let (auth_mode, auth_expression, auth_objects) = match version {
            ApiVersion::V2 => read_v2_auth(v)?,
            ApiVersion::V1 => read_v1_auth(v)?,
        };
        // SCAL is a string in the specification; some servers send a number.
        let scal = match v.get("SCAL") {
            None | Some(Value::Null) => 1,
            Some(Value::String(s)) => s.trim().parse().unwrap_or(1),
            Some(Value::Number(n)) => n.as_u64().unwrap_or(1) as u8,
            Some(_) => return Err(ClientError::malformed(M, "`SCAL` is not \"1\" or \"2\"")),
        };
        let multisign = match v.get("multisign") {
            None | Some(Value::Null) => 1,
            Some(n) => n
                .as_u64()
                .or_else(|| n.as_str().and_then(|s| s.parse().ok()))
                .filter(|n| *n >= 1)
                .ok_or_else(|| ClientError::malformed(M, "`multisign` is not a positive integer"))?
                .min(u32::MAX as u64) as u32,
        };
        Ok(Self {
            id: id.to_owned(),
            description: text(v, "description"),
            key_status: text(key, "status").unwrap_or_else(|| "enabled".into()),
            key_algorithms: key
                .get("algo")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            key_len: key
                .get("len")
                .and_then(|l| {
                    l.as_u64()
                        .or_else(|| l.as_str().and_then(|s| s.parse().ok()))
                })
                .unwrap_or(0) as u32,
            key_curve: text(key, "curve"),
            cert_status: text(&cert, "status"),
            certificates,
            subject_dn: text(&cert, "subjectDN"),
            issuer_dn: text(&cert, "issuerDN"),
            valid_from: text(&cert, "validFrom"),
            valid_to: text(&cert, "validTo"),
            auth_mode,
            auth_expression,
            auth_objects,
            scal,
            multisign,
        })
    }

    /// The key type, from `key.len` and `key.curve` (or the certificate's key when the server
    /// leaves those out).
    pub fn key_type(&self) -> Result<KeyType, ClientError> {
        let rsa = self
            .key_algorithms
            .iter()
            .any(|a| a.starts_with("1.2.840.113549.1.1."));
        let from_fields = match (self.key_curve.as_deref(), rsa, self.key_len) {
            (Some(signet_core::oid::CURVE_P256), _, _) => Some(KeyType::EcP256),
            (Some(signet_core::oid::CURVE_P384), _, _) => Some(KeyType::EcP384),
            (None, true, 2048) => Some(KeyType::Rsa2048),
            (None, true, 3072) => Some(KeyType::Rsa3072),
            (None, true, 4096) => Some(KeyType::Rsa4096),
            (None, false, 256) if !rsa => Some(KeyType::EcP256),
            (None, false, 384) if !rsa => Some(KeyType::EcP384),
            _ => None,
        };
        from_fields.ok_or_else(|| {
            ClientError::Unsupported(format!(
                "credential {}: unsupported key ({} bits{}); this client signs with EC P-256, P-384 and RSA 2048/3072/4096",
                self.id,
                self.key_len,
                self.key_curve
                    .as_deref()
                    .map(|c| format!(", curve {c}"))
                    .unwrap_or_default()
            ))
        })
    }

    /// The mechanism to sign with: the key's default hash, with a `signAlgo` the credential
    /// lists (a hash-implying OID when there is one, so that no server needs
    /// `hashAlgorithmOID` to understand it).
    pub fn mechanism(&self) -> Result<(SignMechanism, &'static str), ClientError> {
        use signet_core::oid;
        let key = self.key_type()?;
        let hash = key.default_hash();
        let offered =
            |o: &str| self.key_algorithms.is_empty() || self.key_algorithms.iter().any(|a| a == o);
        let candidates: &[(&str, SignMechanism)] = &if key.is_rsa() {
            [
                (
                    match hash {
                        HashAlgorithm::Sha384 => oid::SHA384_WITH_RSA,
                        HashAlgorithm::Sha512 => oid::SHA512_WITH_RSA,
                        _ => oid::SHA256_WITH_RSA,
                    },
                    SignMechanism::RsaPkcs1 { hash },
                ),
                (oid::RSA_ENCRYPTION, SignMechanism::RsaPkcs1 { hash }),
            ]
        } else {
            [
                (
                    match hash {
                        HashAlgorithm::Sha384 => oid::ECDSA_WITH_SHA384,
                        HashAlgorithm::Sha512 => oid::ECDSA_WITH_SHA512,
                        _ => oid::ECDSA_WITH_SHA256,
                    },
                    SignMechanism::Ecdsa { hash },
                ),
                (oid::EC_PUBLIC_KEY, SignMechanism::Ecdsa { hash }),
            ]
        };
        candidates
            .iter()
            .find(|(o, _)| offered(o))
            .map(|(o, m)| (*m, *o))
            .ok_or_else(|| {
                ClientError::Unsupported(format!(
                    "credential {}: none of its signature algorithms ({}) is one this client uses",
                    self.id,
                    self.key_algorithms.join(", ")
                ))
            })
    }

    /// The objects the client must fill in itself (not out of band).
    pub fn in_band_objects(&self) -> impl Iterator<Item = &AuthObject> {
        self.auth_objects.iter().filter(|o| !o.is_out_of_band())
    }
}

fn read_v2_auth(v: &Value) -> Result<(AuthMode, Option<String>, Vec<AuthObject>), ClientError> {
    const M: &str = "credentials/info";
    let Some(auth) = v.get("auth").filter(|a| !a.is_null()) else {
        // Servers that leave `auth` out (it is optional with authInfo=false) mean explicit
        // with a PIN, the historical default.
        return Ok((AuthMode::Explicit, None, Vec::new()));
    };
    let mode = match auth.get("mode").and_then(Value::as_str) {
        Some("explicit") | None => AuthMode::Explicit,
        Some("oauth2code") => AuthMode::OAuth2Code,
        Some("implicit") => AuthMode::Implicit,
        Some(other) => {
            return Err(ClientError::malformed(
                M,
                format!("unknown auth.mode {other:?}"),
            ));
        }
    };
    let objects = auth
        .get("objects")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|o| {
                    let text = |n: &str| o.get(n).and_then(Value::as_str).map(str::to_owned);
                    let id = text("id")
                        .ok_or_else(|| ClientError::malformed(M, "an auth object without `id`"))?;
                    let kind = match text("type").as_deref() {
                        Some("Password") => AuthObjectKind::Password,
                        Some("PasswordOOB") => AuthObjectKind::PasswordOob,
                        Some("ChallengeResponse") => AuthObjectKind::ChallengeResponse,
                        Some("ChallengeResponseOOB") => AuthObjectKind::ChallengeResponseOob,
                        Some(other) => AuthObjectKind::Other(other.to_owned()),
                        None => AuthObjectKind::Password,
                    };
                    Ok(AuthObject {
                        kind,
                        id,
                        label: text("label"),
                        format: text("format"),
                        generator: text("generator"),
                    })
                })
                .collect::<Result<Vec<_>, ClientError>>()
        })
        .transpose()?
        .unwrap_or_default();
    let expression = auth
        .get("expression")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok((mode, expression, objects))
}

fn read_v1_auth(v: &Value) -> Result<(AuthMode, Option<String>, Vec<AuthObject>), ClientError> {
    let mode = match v.get("authMode").and_then(Value::as_str) {
        Some("oauth2code") => AuthMode::OAuth2Code,
        Some("implicit") => AuthMode::Implicit,
        _ => AuthMode::Explicit,
    };
    let mut objects = Vec::new();
    for (name, generator) in [("PIN", None), ("OTP", Some("totp"))] {
        let Some(obj) = v.get(name).filter(|o| o.is_object()) else {
            continue;
        };
        // v1 `presence` is a string: "true", "false" or "optional".
        let presence = obj
            .get("presence")
            .and_then(Value::as_str)
            .unwrap_or("true");
        if presence == "false" {
            continue;
        }
        let text = |n: &str| obj.get(n).and_then(Value::as_str).map(str::to_owned);
        let online = text("type").as_deref() == Some("online");
        objects.push(AuthObject {
            kind: AuthObjectKind::Password,
            id: name.to_owned(),
            label: text("label"),
            format: text("format"),
            generator: generator.filter(|_| !online).map(str::to_owned),
        });
    }
    let expression = (!objects.is_empty()).then(|| {
        objects
            .iter()
            .map(|o| o.id.as_str())
            .collect::<Vec<_>>()
            .join(" AND ")
    });
    Ok((mode, expression, objects))
}

/// Standard Base64, and base64url for servers that use it (be liberal in what you accept).
pub(crate) fn decode_b64(s: &str) -> Result<Vec<u8>, data_encoding::DecodeError> {
    let s = s.trim();
    data_encoding::BASE64
        .decode(s.as_bytes())
        .or_else(|_| data_encoding::BASE64URL_NOPAD.decode(s.trim_end_matches('=').as_bytes()))
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v2_credential_info_is_read() {
        let v = json!({
            "key": {"status": "enabled", "algo": ["1.2.840.10045.4.3.2"], "len": 256, "curve": "1.2.840.10045.3.1.7"},
            "cert": {"status": "valid", "certificates": ["AAEC"], "subjectDN": "CN=Alice"},
            "auth": {"mode": "explicit", "expression": "PIN AND OTP", "objects": [
                {"type": "Password", "id": "PIN", "format": "N"},
                {"type": "Password", "id": "OTP", "generator": "totp"}]},
            "SCAL": "2", "multisign": 10
        });
        let c = CredentialInfo::from_json("c1", &v, ApiVersion::V2).unwrap();
        assert_eq!(c.key_type().unwrap(), KeyType::EcP256);
        assert_eq!(c.scal, 2);
        assert_eq!(c.multisign, 10);
        assert_eq!(c.certificates, vec![vec![0, 1, 2]]);
        assert_eq!(c.auth_objects.len(), 2);
        assert!(c.auth_objects[1].is_one_time());
        assert_eq!(
            c.mechanism().unwrap(),
            (
                SignMechanism::Ecdsa {
                    hash: HashAlgorithm::Sha256
                },
                "1.2.840.10045.4.3.2"
            )
        );
    }

    #[test]
    fn v1_pin_and_otp_become_objects() {
        let v = json!({
            "key": {"status": "enabled", "algo": ["1.2.840.113549.1.1.11"], "len": 3072},
            "authMode": "explicit",
            "PIN": {"presence": "true", "format": "N"},
            "OTP": {"presence": "true", "type": "offline", "ID": "t", "provider": "totp"},
            "multisign": 1
        });
        let c = CredentialInfo::from_json("c1", &v, ApiVersion::V1).unwrap();
        assert_eq!(c.key_type().unwrap(), KeyType::Rsa3072);
        assert_eq!(c.auth_expression.as_deref(), Some("PIN AND OTP"));
        assert_eq!(c.scal, 1);
    }

    #[test]
    fn bad_fields_are_malformed_not_panics() {
        for v in [
            json!({}),
            json!({"key": {}, "multisign": 0}),
            json!({"key": {}, "multisign": "x"}),
            json!({"key": {}, "cert": {"certificates": ["***"]}}),
            json!({"key": {}, "auth": {"mode": "telepathy"}}),
            json!({"key": {}, "SCAL": []}),
        ] {
            let e = CredentialInfo::from_json("c1", &v, ApiVersion::V2).unwrap_err();
            assert!(matches!(e, ClientError::Malformed { .. }), "{v}: {e}");
        }
    }
}
