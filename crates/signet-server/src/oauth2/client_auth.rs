//! Client authentication at the token, revocation and PAR endpoints (RFC 6749 §2.3.1):
//! `client_secret_basic` (HTTP Basic, each part form-urlencoded), `client_secret_post`
//! (`client_id` + `client_secret` form fields), or `none` for public clients, which only name
//! themselves with `client_id` and must use PKCE. A client uses one method per request.

use axum::http::{HeaderMap, header};
use signet_sam::secrets;
use signet_store::OAuthClient;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::oauth_error;
use crate::AppState;
use crate::error::ApiResult;
use crate::form::Params;

/// `Authorization: Basic` → (client_id, client_secret), percent-decoded.
fn basic(headers: &HeaderMap) -> ApiResult<Option<(String, Zeroizing<String>)>> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || {
        oauth_error(
            "invalid_client",
            "Malformed Authorization header: expected Basic client credentials",
        )
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, b64) = value.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed());
    }
    let raw = Zeroizing::new(signet_core::b64::decode(b64.trim()).ok_or_else(malformed)?);
    let text = Zeroizing::new(String::from_utf8(raw.to_vec()).map_err(|_| malformed())?);
    let (id, secret) = text.split_once(':').ok_or_else(malformed)?;
    let decode = |s: &str| -> ApiResult<String> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(&format!("v={s}")).map_err(|_| malformed())?;
        Ok(pairs.into_iter().next().map(|(_, v)| v).unwrap_or_default())
    };
    Ok(Some((decode(id)?, Zeroizing::new(decode(secret)?))))
}

/// The client ID and secret a request presents (Basic, or the form), refusing two methods at
/// once. Pure: [`authenticate`] and the fuzz targets call it.
pub fn presented(
    headers: &HeaderMap,
    params: &Params,
) -> ApiResult<(String, Option<Zeroizing<String>>)> {
    let form_id = params.get("client_id");
    let form_secret = params.get("client_secret");
    let (client_id, secret) = match basic(headers)? {
        Some((id, secret)) => {
            if form_secret.is_some() {
                return Err(oauth_error(
                    "invalid_request",
                    "Use one client authentication method, not Basic and client_secret",
                ));
            }
            if form_id.is_some_and(|f| f != id) {
                return Err(oauth_error(
                    "invalid_request",
                    "client_id does not match the Basic credentials",
                ));
            }
            (id, Some(secret))
        }
        None => match form_id {
            Some(id) => (
                id.to_owned(),
                form_secret.map(|s| Zeroizing::new(s.to_owned())),
            ),
            None => {
                return Err(oauth_error(
                    "invalid_request",
                    "Missing client authentication (Basic or client_id)",
                ));
            }
        },
    };
    Ok((client_id, secret))
}

/// Authenticates the calling client. Unknown clients and bad secrets are `invalid_client`
/// (401 with a Basic challenge).
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> ApiResult<OAuthClient> {
    let (client_id, secret) = presented(headers, params)?;
    let bad = || oauth_error("invalid_client", "Client authentication failed");
    let client = state.store.client(&client_id).await?.ok_or_else(bad)?;
    match (&client.secret_hash, secret) {
        (None, None) => Ok(client),
        (Some(expected), Some(secret)) => {
            let presented = secrets::secret_hash(&secret);
            if bool::from(presented.ct_eq(expected)) {
                Ok(client)
            } else {
                Err(bad())
            }
        }
        // A confidential client that sent no secret, or a public client that sent one.
        _ => Err(bad()),
    }
}
