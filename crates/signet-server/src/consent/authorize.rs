//! `GET /oauth2/authorize`: validates the request (or takes the pushed one named by
//! `request_uri`) and hands it to the consent pages. Errors are shown on a page until the
//! redirect URI is known to be the client's, and redirected to the client after that.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::html;
use crate::AppState;
use crate::consent;
use crate::form::Params;
use crate::oauth2::par::{self, Pushed};
use crate::oauth2::request::{self, RequestError};

fn unusable(message: &str) -> Response {
    html::error_page(
        StatusCode::BAD_REQUEST,
        "This request cannot be used",
        &format!("{message} Go back to the application and start again."),
    )
}

pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match Params::parse(query.as_deref().unwrap_or("")) {
        Ok(p) => p,
        Err(e) => return unusable(&format!("{e}.")),
    };
    let params = match params.get("request_uri") {
        None => params,
        Some(uri) => {
            let Some(client_id) = params.get("client_id") else {
                return unusable("The request names no client.");
            };
            match par::take(&state, uri, client_id).await {
                Ok(Pushed::Fresh(p)) => p,
                Ok(Pushed::Expired) => {
                    return unusable("The pushed authorization request expired.");
                }
                Ok(Pushed::Unknown) => {
                    return unusable(
                        "The pushed authorization request is unknown or was already used.",
                    );
                }
                Err(_) => {
                    return html::error_page(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Try again",
                        "Signet is temporarily unavailable.",
                    );
                }
            }
        }
    };
    match request::parse(&state, &params).await {
        Ok(req) => consent::begin(&state, &headers, req).await,
        Err(RequestError::NoRedirect { description, .. }) => unusable(&format!("{description}.")),
        Err(RequestError::Redirect {
            redirect_uri,
            state: st,
            error,
            description,
        }) => consent::redirect_error(
            &state,
            StatusCode::FOUND,
            &redirect_uri,
            st.as_deref(),
            error,
            &description,
        ),
    }
}
