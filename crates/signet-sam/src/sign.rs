//! Signing: a SAD is spent, with the signature's audit record, in one transaction, and only
//! then does the key module sign (signHash, and the DTBS/R of signDoc).

use std::sync::Arc;

use serde_json::json;
use signet_core::Untrusted;
use signet_core::{HashAlgorithm, SignMechanism};
use signet_keys::{KeyError, KeyRef};
use signet_store::{Credential, NewAuditEvent, SadDecision, SadOutcome, User};

use crate::error::refusal_code;
use crate::{RequestError, Sam, SamError, SignRequest, hex, now_unix, sad, secrets, telemetry};

impl Sam {
    /// signatures/signHash: spends the SAD, commits the audit record, then signs. `cred` is
    /// the credential [`Sam::signing_credential`] gave for this user.
    pub async fn sign_hashes(
        &self,
        user: &User,
        cred: &Credential,
        req: SignRequest,
    ) -> Result<Vec<Vec<u8>>, SamError> {
        self.check_signing_credential(user, cred)?;
        let mechanism = req.mechanism;
        if req.hashes.is_empty() {
            return Err(SamError::Request(RequestError::EmptyHashes));
        }
        let hash = mechanism.hash();
        if req.hashes.iter().any(|h| h.len() != hash.len()) {
            return Err(SamError::Request(RequestError::DigestLength));
        }
        let hashes = Arc::new(req.hashes);
        self.spend_and_sign(
            user,
            cred,
            &req.sad,
            mechanism,
            Spend {
                hash_algo: hash,
                presented: Arc::clone(&hashes),
                documents: false,
            },
            hashes,
        )
        .await
    }

    /// signatures/signDoc: the SAD (or credential token) binds the DOCUMENTS — the digest of
    /// each document as sent, or the digests the client gave — so it is spent against
    /// `document_digests` (computed with `document_hash`), one signature per document, with the
    /// same rule as [`Sam::sign_hashes`]; only then does the key module sign the DTBS/R
    /// digests the AdES engine derived from those documents (`dtbsr`, same order, made with
    /// `mechanism`'s hash). The audit record lists both.
    #[allow(clippy::too_many_arguments)] // each is one part of what the SAD must match
    pub async fn sign_documents(
        &self,
        user: &User,
        cred: &Credential,
        sad: &str,
        document_hash: HashAlgorithm,
        document_digests: Vec<Vec<u8>>,
        dtbsr: Vec<Vec<u8>>,
        mechanism: SignMechanism,
    ) -> Result<Vec<Vec<u8>>, SamError> {
        self.check_signing_credential(user, cred)?;
        if document_digests.is_empty() {
            return Err(SamError::Request(RequestError::NoDocument));
        }
        if document_digests.len() != dtbsr.len()
            || document_digests
                .iter()
                .any(|d| d.len() != document_hash.len())
            || dtbsr.iter().any(|d| d.len() != mechanism.hash().len())
        {
            return Err(SamError::Request(RequestError::DigestLength));
        }
        self.spend_and_sign(
            user,
            cred,
            sad,
            mechanism,
            Spend {
                hash_algo: document_hash,
                presented: Arc::new(document_digests),
                documents: true,
            },
            Arc::new(dtbsr),
        )
        .await
    }

    /// A credential the user owns, can use now, and whose key this node's key module holds.
    pub async fn signing_credential(
        &self,
        user: &User,
        credential_id: &str,
    ) -> Result<Credential, SamError> {
        let cred = self.owned_credential(user, credential_id).await?;
        self.check_signing_credential(user, &cred)?;
        Ok(cred)
    }

    /// What [`Sam::signing_credential`] checks, again at signing time on the credential it
    /// gave: the user's own, usable, and held by this node's key module.
    fn check_signing_credential(&self, user: &User, cred: &Credential) -> Result<(), SamError> {
        if cred.user_id != user.id {
            return Err(SamError::UnknownCredential);
        }
        Self::check_usable(user, cred)?;
        if cred.backend != self.keys.backend() {
            // A node configured with another key module cannot reach this key (scale-out with
            // mixed backends): say so instead of failing inside the key module.
            tracing::error!(credential = %Untrusted(&cred.id), held_by = %Untrusted(&cred.backend), node = self.keys.backend(), "credential key is in another key module");
            return Err(SamError::KeyUnavailable);
        }
        Ok(())
    }

    /// The part of signing shared by signHash and signDoc: spends the SAD against what was
    /// presented (with the `signature.create` audit row in the same transaction), then has the
    /// key module sign `digests`.
    async fn spend_and_sign(
        &self,
        user: &User,
        cred: &Credential,
        sad: &str,
        mechanism: SignMechanism,
        spend: Spend,
        digests: Arc<Vec<Vec<u8>>>,
    ) -> Result<Vec<Vec<u8>>, SamError> {
        let now = now_unix();
        let (user_id, username, cred_id) = (user.id, user.username.clone(), cred.id.clone());
        let to_sign = Arc::clone(&digests);
        let Spend {
            hash_algo,
            presented,
            documents,
        } = spend;
        let outcome = self
            .store
            .decide_sad(
                secrets::secret_hash(sad),
                Box::new(move |rec| {
                    let request = sad::SpendRequest {
                        user_id,
                        credential_id: &cred_id,
                        hash_algo,
                        hashes: &presented,
                        now,
                    };
                    match sad::judge(rec, &request) {
                        Ok(keep) => {
                            let mut fields = json!({
                                "algorithm": mechanism.name(),
                                "hash_algorithm": mechanism.hash().oid(),
                                "count": to_sign.len(),
                                "hashes": to_sign.iter().map(|h| hex(h)).collect::<Vec<_>>(),
                            });
                            if documents {
                                fields["document_hash_algorithm"] = json!(hash_algo.oid());
                                fields["documents"] =
                                    json!(presented.iter().map(|h| hex(h)).collect::<Vec<_>>());
                            }
                            SadDecision::Spend {
                                keep,
                                audit: NewAuditEvent::new(
                                    "signature.create",
                                    &username,
                                    Some(&cred_id),
                                    fields,
                                ),
                            }
                        }
                        Err(reason) => SadDecision::Refuse {
                            reason,
                            audit: Some(NewAuditEvent::new(
                                "signature.refused",
                                &username,
                                Some(&cred_id),
                                json!({ "reason": refusal_code(reason), "count": presented.len() }),
                            )),
                        },
                    }
                }),
            )
            .await?;
        if let SadOutcome::Refused(reason) = outcome {
            telemetry::sad_refused(reason, refusal_code(reason));
            return Err(SamError::Sad(reason));
        }
        telemetry::sad_spent();

        // The SAD is spent and the signature's audit record is committed: use the key.
        let keys = self.keys.clone();
        let key_ref = KeyRef(cred.key_ref.clone());
        let key_type = cred.key_type;
        let for_key = Arc::clone(&digests);
        let signed = self
            .signer
            .run(move || keys.sign_digests(&key_ref, key_type, mechanism, &for_key))
            .await?;
        match signed {
            Ok(values) => {
                telemetry::signatures(mechanism.name(), self.keys.backend(), values.len());
                Ok(values)
            }
            Err(e) => {
                tracing::error!(credential = %Untrusted(&cred.id), error = %Untrusted(&e), "key module failed after the SAD was spent");
                let audit = NewAuditEvent::new(
                    "signature.failed",
                    &user.username,
                    Some(&cred.id),
                    json!({ "algorithm": mechanism.name(), "count": digests.len(), "error": e.to_string() }),
                );
                self.store.append_audit(audit).await?;
                Err(match e {
                    KeyError::Unavailable(_) => SamError::KeyUnavailable,
                    _ => SamError::KeyFailure,
                })
            }
        }
    }
}

/// What a SAD is spent against: the digests presented (signHash: the hashes to sign; signDoc:
/// the document digests) and their algorithm.
struct Spend {
    hash_algo: HashAlgorithm,
    presented: Arc<Vec<Vec<u8>>>,
    /// The presented digests are of documents (audited as `documents`).
    documents: bool,
}
