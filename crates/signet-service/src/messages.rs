//! The client-facing words for the SAM's refusals, shared by every binding: each binding
//! chooses its own status and code for a [`SamError`] (CSC `error`, DSS-X ResultMinor, OAuth2
//! `error`) in its one mapping function, and takes the description from here, so the same
//! refusal reads the same whichever protocol asked. The texts are those of the CSC
//! specification where it has one (csc-api §2 error table), which the other bindings adopted.

use std::borrow::Cow;

use signet_sam::{RequestError, SamError};
use signet_store::SadRefusal;

/// The description of `e` for a client. No secret and no internal detail of the store.
pub fn describe(e: &SamError) -> Cow<'static, str> {
    match e {
        SamError::UnknownCredential => "Invalid parameter credentialID".into(),
        SamError::UserDisabled => "The user is disabled".into(),
        SamError::CredentialDisabled => {
            "The credential identified by credentialID is disabled".into()
        }
        SamError::CredentialLocked => "Credential locked".into(),
        SamError::Request(r) => request(*r).into(),
        SamError::MissingFactor(f) => format!("Missing authentication data {f}").into(),
        SamError::InvalidPin => "Invalid PIN".into(),
        SamError::InvalidOtp => "Invalid OTP".into(),
        SamError::OtpReplayed => {
            "OTP already used: wait for the next code of the authenticator".into()
        }
        SamError::Algorithm(e) => e.to_string().into(),
        SamError::Sad(r) => sad(*r).into(),
        SamError::KeyUnavailable => {
            "Signature creation failed: the key module is unavailable".into()
        }
        SamError::KeyFailure => {
            "Signature creation failed: the credential key cannot be used".into()
        }
        SamError::Store(_) => "Storage unavailable".into(),
        SamError::Unapproved => "The signer's approval of this authorization is not valid".into(),
        SamError::Internal(detail) => format!("Internal error: {detail}").into(),
    }
}

fn request(r: RequestError) -> &'static str {
    match r {
        RequestError::NumSignatures => "Invalid parameter numSignatures",
        RequestError::TooManySignatures => "Numbers of signatures is too high",
        RequestError::EmptyHashes => "Empty hash array",
        RequestError::DigestLength => "Invalid digest value length",
        RequestError::HashesRequired => {
            "Missing parameter hashes: the credential is SCAL2, the hashes to sign must be authorized"
        }
        RequestError::HashCount => "numSignatures must equal the number of hashes",
        RequestError::NoDocument => "No document to sign",
    }
}

fn sad(r: SadRefusal) -> &'static str {
    match r {
        SadRefusal::Unknown => "Invalid SAD",
        SadRefusal::Expired => "SAD expired",
        SadRefusal::WrongCredential => "The SAD was not issued for this credential",
        SadRefusal::TooMany => "Numbers of signatures is too high for the SAD",
        SadRefusal::HashNotAuthorized => "Hash is not authorized by the SAD",
        SadRefusal::HashAlgorithm => "Hash algorithm is not the one authorized by the SAD",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_sam::Factor;

    #[test]
    fn refusals_read_as_the_csc_table_words_them() {
        assert_eq!(
            describe(&SamError::UnknownCredential),
            "Invalid parameter credentialID"
        );
        assert_eq!(
            describe(&SamError::MissingFactor(Factor::Otp)),
            "Missing authentication data OTP"
        );
        assert_eq!(
            describe(&SamError::Request(RequestError::TooManySignatures)),
            "Numbers of signatures is too high"
        );
        assert_eq!(describe(&SamError::Sad(SadRefusal::Expired)), "SAD expired");
        // The store's own message (it may name hosts or paths) never reaches a client.
        assert_eq!(
            describe(&SamError::Store(signet_store::StoreError::Database(
                "connection to db.internal:5432 refused".into()
            ))),
            "Storage unavailable"
        );
    }
}
