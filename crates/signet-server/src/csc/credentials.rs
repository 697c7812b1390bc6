//! credentials/list, credentials/info, credentials/authorize, credentials/extendTransaction.
//!
//! A user only ever sees their own credentials: another user's credential ID gets exactly the
//! answer an unknown ID gets ("Invalid parameter credentialID").

use serde_json::{Map, Value, json};
use signet_core::HashAlgorithm;
use signet_sam::{AuthorizeRequest, Sam};
use signet_service::credentials::CredentialView;
use signet_service::decoupled::Check;
use signet_store::{AuthMode, User};
use zeroize::Zeroizing;

use super::{Reply, Version};
use crate::AppState;
use crate::body::Fields;
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Certificates {
    None,
    Single,
    Chain,
}

fn certificates_param(body: &Fields) -> ApiResult<Certificates> {
    match body.opt_str("certificates")? {
        None | Some("single") => Ok(Certificates::Single),
        Some("none") => Ok(Certificates::None),
        Some("chain") => Ok(Certificates::Chain),
        Some(_) => Err(ApiError::invalid_param("certificates")),
    }
}

/// `authInfo` is accepted but the authentication description is always returned: real
/// clients (EUDI) require `auth` even when they do not ask for it (csc-api.md §4.5).
#[derive(Debug)]
pub struct InfoOptions {
    pub certificates: Certificates,
    pub cert_info: bool,
}

fn info_options(body: &Fields) -> ApiResult<InfoOptions> {
    Ok(InfoOptions {
        certificates: certificates_param(body)?,
        cert_info: {
            body.opt_bool("authInfo")?;
            body.opt_bool("certInfo")?.unwrap_or(false)
        },
    })
}

/// The credentials/info object for either version.
fn describe(
    view: &CredentialView,
    user: &User,
    version: Version,
    opts: &InfoOptions,
    lang: &str,
) -> Value {
    let c = &view.credential;
    let mut key = json!({
        "status": if view.key_enabled() { "enabled" } else { "disabled" },
        "algo": c.key_type.sign_algorithms(),
        "len": c.key_type.bits(),
    });
    if let Some(curve) = c.key_type.curve_oid() {
        key["curve"] = json!(curve);
    }
    let status = if view.certificate_valid {
        "valid"
    } else {
        "expired"
    };
    let summary = view.certificate.as_ref();
    let mut cert = Map::new();
    cert.insert("status".into(), json!(status));
    let b64 = signet_core::b64::encode;
    match opts.certificates {
        Certificates::None => {}
        Certificates::Single => {
            cert.insert("certificates".into(), json!([b64(&c.certificate)]));
        }
        Certificates::Chain => {
            let mut all = vec![b64(&c.certificate)];
            all.extend(c.chain.iter().map(|d| b64(d)));
            cert.insert("certificates".into(), json!(all));
        }
    }
    if opts.cert_info
        && let Some(s) = summary
    {
        cert.insert("issuerDN".into(), json!(s.issuer_dn));
        cert.insert("serialNumber".into(), json!(s.serial_hex));
        cert.insert("subjectDN".into(), json!(s.subject_dn));
        cert.insert("validFrom".into(), json!(s.valid_from));
        cert.insert("validTo".into(), json!(s.valid_to));
    }
    let mut out = json!({
        "key": key,
        "cert": Value::Object(cert),
        "SCAL": c.scal.to_string(),
        "multisign": c.multisign,
        "lang": lang,
    });
    if let Some(d) = &c.description {
        out["description"] = json!(d);
    }
    let pin_desc = "The PIN of this signing credential";
    let otp_desc = "The 6-digit code of the authenticator app enrolled for this user (TOTP)";
    match (version, c.auth_mode) {
        // v1 knows no asynchronous authorization: an out-of-band credential is "implicit" there
        // (the client sends no factors and waits for the SAD), and the factors are not the
        // client's to collect, so no PIN/OTP objects are described.
        (Version::V1, AuthMode::Explicit) => {
            out["authMode"] = json!("explicit");
            out["PIN"] = json!({ "presence": "true", "format": "A", "label": "PIN", "description": pin_desc });
            if c.scal >= 2 {
                out["OTP"] = json!({
                    "presence": "true", "type": "offline", "format": "N", "label": "OTP",
                    "description": otp_desc, "ID": format!("totp:{}", user.username), "provider": "totp",
                });
            }
        }
        (Version::V1, AuthMode::OAuth2Code) => out["authMode"] = json!("oauth2code"),
        (Version::V1, AuthMode::Oob) => out["authMode"] = json!("implicit"),
        (Version::V2, AuthMode::OAuth2Code) => out["auth"] = json!({ "mode": "oauth2code" }),
        (Version::V2, mode) => {
            // Out of band = v2 "explicit" with PasswordOOB objects (csc-api.md §3): the client
            // names the objects without values and Signet collects them on its approval page.
            let (kind, where_) = match mode {
                AuthMode::Oob => ("PasswordOOB", " (entered on Signet's approval page)"),
                _ => ("Password", ""),
            };
            let mut objects = vec![json!({
                "type": kind, "id": "PIN", "format": "A", "label": "PIN",
                "description": format!("{pin_desc}{where_}"),
            })];
            if c.scal >= 2 {
                objects.push(json!({
                    "type": kind, "id": "OTP", "format": "N", "generator": "totp", "label": "OTP",
                    "description": format!("{otp_desc}{where_}"),
                }));
            }
            out["auth"] = json!({
                "mode": "explicit",
                "expression": if c.scal >= 2 { "PIN AND OTP" } else { "PIN" },
                "objects": objects,
            });
        }
    }
    out
}

/// Loads a credential the caller owns, or the same error as for an unknown ID.
async fn owned(state: &AppState, user: &User, id: &str) -> ApiResult<CredentialView> {
    state
        .service
        .credential(user, id)
        .await
        .map_err(|e| super::sam_error(e, Version::V2))
}

/// The `lang` asked for, else the service's.
fn lang_or_default(state: &AppState, asked: Option<String>) -> String {
    asked.unwrap_or_else(|| state.config.service.lang.clone())
}

/// credentials/list, decoded.
#[derive(Debug)]
pub struct ListRequest {
    pub want_info: bool,
    pub only_valid: bool,
    pub opts: InfoOptions,
    pub lang: Option<String>,
}

/// Decodes and checks a credentials/list body (pure: the handler and the fuzz target call it).
pub fn decode_list(body: &Fields) -> ApiResult<ListRequest> {
    if body.opt_str("userID")?.is_some() {
        return Err(ApiError::invalid_request("userID parameter MUST be null"));
    }
    let want_info = body.opt_bool("credentialInfo")?.unwrap_or(false);
    let only_valid = body.opt_bool("onlyValid")?.unwrap_or(false);
    let opts = info_options(body)?;
    let lang = body.opt_str("lang")?.map(str::to_owned);
    // v1 paging parameters are accepted and ignored: every credential fits one page.
    body.opt_u32("maxResults")?;
    body.opt_str("pageToken")?;
    Ok(ListRequest {
        want_info,
        only_valid,
        opts,
        lang,
    })
}

pub async fn list(
    state: &AppState,
    version: Version,
    user: &User,
    body: &Fields,
) -> ApiResult<Value> {
    let ListRequest {
        want_info,
        only_valid,
        opts,
        lang,
    } = decode_list(body)?;
    let lang = lang_or_default(state, lang);
    let creds = state.service.credentials(user, only_valid).await?;
    let mut out = json!({
        "credentialIDs": creds.iter().map(|c| c.credential.id.as_str()).collect::<Vec<_>>()
    });
    if version == Version::V2 {
        if want_info {
            let infos: Vec<Value> = creds
                .iter()
                .map(|c| {
                    let mut v = describe(c, user, version, &opts, &lang);
                    v["credentialID"] = json!(c.credential.id);
                    v
                })
                .collect();
            out["credentialInfos"] = json!(infos);
        }
        if only_valid {
            out["onlyValid"] = json!(true);
        }
    }
    Ok(out)
}

/// credentials/info, decoded.
#[derive(Debug)]
pub struct InfoRequest {
    pub credential_id: String,
    pub opts: InfoOptions,
    pub lang: Option<String>,
}

/// Decodes and checks a credentials/info body.
pub fn decode_info(body: &Fields) -> ApiResult<InfoRequest> {
    Ok(InfoRequest {
        credential_id: body.req_str("credentialID")?.to_owned(),
        opts: info_options(body)?,
        lang: body.opt_str("lang")?.map(str::to_owned),
    })
}

pub async fn info(
    state: &AppState,
    version: Version,
    user: &User,
    body: &Fields,
) -> ApiResult<Value> {
    let req = decode_info(body)?;
    let lang = lang_or_default(state, req.lang);
    let cred = owned(state, user, &req.credential_id).await?;
    Ok(describe(&cred, user, version, &req.opts, &lang))
}

/// A secret factor as sent by the client.
pub type Factor = Option<Zeroizing<String>>;

/// Reads the v2 `authData` array (`[{id, value}]`) or the v1 `PIN`/`OTP` strings: (PIN, OTP),
/// for an `explicit` credential.
pub fn factors(body: &Fields) -> ApiResult<(Factor, Factor)> {
    let mut pin = body.opt_str("PIN")?.map(|s| Zeroizing::new(s.to_owned()));
    let mut otp = body.opt_str("OTP")?.map(|s| Zeroizing::new(s.to_owned()));
    if let Some(items) = body.opt_array("authData")? {
        for item in items {
            let (Some(id), value) = (item.get("id").and_then(Value::as_str), item.get("value"))
            else {
                return Err(ApiError::invalid_request(
                    "Invalid parameter authData: each object needs an id",
                ));
            };
            let value = match value {
                Some(Value::String(s)) => Zeroizing::new(s.clone()),
                None | Some(Value::Null) => {
                    return Err(ApiError::invalid_request(format!(
                        "Invalid parameter authData: no value for {id}"
                    )));
                }
                Some(_) => {
                    return Err(ApiError::invalid_request(format!(
                        "Invalid parameter authData: value of {id} must be a string"
                    )));
                }
            };
            match id {
                "PIN" => pin = Some(value),
                "OTP" => otp = Some(value),
                other => {
                    return Err(ApiError::invalid_request(format!(
                        "Invalid parameter authData: unknown authentication object {other}"
                    )));
                }
            }
        }
    }
    Ok((pin, otp))
}

fn hash_algorithm(body: &Fields) -> ApiResult<Option<HashAlgorithm>> {
    match body.opt_str_any(&["hashAlgorithmOID", "hashAlgo"])? {
        None => Ok(None),
        Some(oid) => HashAlgorithm::from_oid(oid)
            .map(Some)
            .map_err(|_| ApiError::invalid_param("hashAlgorithmOID")),
    }
}

/// Longest authorization description kept, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// credentials/authorize, decoded (the factors are read by [`factors`] or checked by
/// [`oob_factors`] once the credential's mode is known).
#[derive(Debug)]
pub struct AuthorizeParams {
    pub credential_id: String,
    pub num_signatures: u32,
    pub hashes: Option<Vec<Vec<u8>>>,
    pub hash_algo: Option<HashAlgorithm>,
    pub description: Option<String>,
}

/// Decodes and checks a credentials/authorize body, at most `max_hashes` hashes.
pub fn decode_authorize(body: &Fields, max_hashes: usize) -> ApiResult<AuthorizeParams> {
    let credential_id = body.req_str("credentialID")?.to_owned();
    let num_signatures = body
        .opt_u32("numSignatures")?
        .ok_or_else(|| ApiError::missing_or_invalid("integer", "numSignatures"))?;
    let hashes = body.opt_b64_array(&["hashes", "hash"], max_hashes)?;
    let hash_algo = hash_algorithm(body)?;
    let description: Option<String> = body
        .opt_str("description")?
        .map(|d| d.chars().take(MAX_DESCRIPTION_CHARS).collect());
    Ok(AuthorizeParams {
        credential_id,
        num_signatures,
        hashes,
        hash_algo,
        description,
    })
}

pub async fn authorize(
    state: &AppState,
    version: Version,
    user: &User,
    body: &Fields,
) -> ApiResult<Reply> {
    let AuthorizeParams {
        credential_id,
        num_signatures,
        hashes,
        hash_algo,
        description,
    } = decode_authorize(body, state.config.max_hashes)?;
    let cred = owned(state, user, &credential_id).await?.credential;
    match cred.auth_mode {
        AuthMode::Explicit => {
            let (pin, otp) = factors(body)?;
            let req = AuthorizeRequest {
                credential_id: cred.id.clone(),
                num_signatures,
                hashes,
                hash_algo,
                pin,
                otp,
                description,
            };
            let sad = state
                .service
                .authorize_explicit(user, cred, req)
                .await
                .map_err(|e| super::sam_error(e, version))?;
            Ok(Reply::Json(
                json!({ "SAD": *sad.sad, "expiresIn": sad.expires_in }),
            ))
        }
        AuthMode::OAuth2Code => Err(ApiError::invalid_request(
            "The credential is authorized through OAuth2 (auth.mode oauth2code): use oauth2/authorize with scope credential",
        )),
        AuthMode::Oob => {
            oob_factors(body)?;
            Sam::check_usable(user, &cred).map_err(|e| super::sam_error(e, version))?;
            let binding = Sam::check_binding(&cred, num_signatures, hashes, hash_algo)
                .map_err(|e| super::sam_error(e, version))?;
            let handle = state
                .service
                .request_decoupled(user, binding, description, state.config.oauth2.oob_lifetime)
                .await
                .map_err(|e| super::decoupled_error(e, version))?;
            match version {
                Version::V2 => Ok(Reply::Accepted(json!({ "handle": *handle }))),
                // v1 "implicit": the client waits for the SAD on this very call.
                Version::V1 => wait_for_approval(state, version, user, &handle)
                    .await
                    .map(Reply::Json),
            }
        }
    }
}

/// For an out-of-band credential the client may name the authentication objects (`authData`
/// entries with an `id` and no `value`) but must not collect any factor itself.
pub fn oob_factors(body: &Fields) -> ApiResult<()> {
    let refuse = || {
        ApiError::invalid_request(
            "This credential's factors are entered on Signet's approval page, not sent by the client",
        )
    };
    if body.opt_str("PIN")?.is_some() || body.opt_str("OTP")?.is_some() {
        return Err(refuse());
    }
    for item in body
        .opt_array("authData")?
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        match item.get("id").and_then(Value::as_str) {
            Some("PIN" | "OTP") if item.get("value").is_none_or(Value::is_null) => {}
            Some("PIN" | "OTP") => return Err(refuse()),
            _ => return Err(ApiError::invalid_request("Invalid parameter authData")),
        }
    }
    Ok(())
}

/// Polls a decoupled authorization until the signer decides or it expires (v1 implicit mode).
async fn wait_for_approval(
    state: &AppState,
    version: Version,
    user: &User,
    handle: &str,
) -> ApiResult<Value> {
    loop {
        match state
            .service
            .check_decoupled(user, handle)
            .await
            .map_err(|e| super::decoupled_error(e, version))?
        {
            Check::Pending => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
            Check::Authorized { sad, expires_in } => {
                return Ok(json!({ "SAD": *sad, "expiresIn": expires_in }));
            }
        }
    }
}

/// credentials/authorizeCheck (CSC v2 11.7): 202 while the signer has not decided, then the
/// SAD exactly once.
pub async fn authorize_check(state: &AppState, user: &User, body: &Fields) -> ApiResult<Reply> {
    let handle = decode_authorize_check(body)?;
    match state
        .service
        .check_decoupled(user, handle)
        .await
        .map_err(|e| super::decoupled_error(e, Version::V2))?
    {
        Check::Pending => Ok(Reply::Accepted(json!({ "handle": handle }))),
        Check::Authorized { sad, expires_in } => {
            Ok(Reply::Json(json!({ "SAD": *sad, "expiresIn": expires_in })))
        }
    }
}

/// Decodes a credentials/authorizeCheck body: the handle.
pub fn decode_authorize_check(body: &Fields) -> ApiResult<&str> {
    body.req_str("handle")
}

/// credentials/extendTransaction, decoded.
#[derive(Debug)]
pub struct ExtendRequest {
    pub credential_id: String,
    pub sad: Zeroizing<String>,
    pub hashes: Option<Vec<Vec<u8>>>,
    pub hash_algo: Option<HashAlgorithm>,
}

/// Decodes and checks a credentials/extendTransaction body, at most `max_hashes` hashes.
pub fn decode_extend(body: &Fields, max_hashes: usize) -> ApiResult<ExtendRequest> {
    Ok(ExtendRequest {
        credential_id: body.req_str("credentialID")?.to_owned(),
        sad: Zeroizing::new(body.req_str("SAD")?.to_owned()),
        hashes: body.opt_b64_array(&["hashes", "hash"], max_hashes)?,
        hash_algo: hash_algorithm(body)?,
    })
}

pub async fn extend_transaction(
    state: &AppState,
    version: Version,
    user: &User,
    body: &Fields,
) -> ApiResult<Value> {
    let ExtendRequest {
        credential_id,
        sad,
        hashes,
        hash_algo,
    } = decode_extend(body, state.config.max_hashes)?;
    let issued = state
        .sam
        .extend_transaction(user, &credential_id, &sad, hashes, hash_algo)
        .await
        .map_err(|e| super::sam_error(e, version))?;
    Ok(json!({ "SAD": *issued.sad, "expiresIn": issued.expires_in }))
}
