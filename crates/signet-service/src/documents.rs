//! Document signing (ETSI TS 119 432 signature creation at the SCA level, TS 119 431-2), for
//! every binding that sends whole documents or their digests (CSC signDoc, DSS-X
//! SignRequest): the service builds the AdES signature itself.
//!
//! 1. signet-ades prepares each document (a blocking task: hashing, PDF parsing) and says what
//!    the authorization must cover — the digest of each document as sent, or the digest given
//!    (sole control, EN 419241-1: the SAD binds the documents) — and which DTBS/R to sign.
//! 2. Pre-flight: the TSA and the signer's validation data are checked before the SAD is
//!    touched, so a service that is down costs the signer no authorization.
//! 3. The SAM spends the SAD against the document digests, one signature per document, audits
//!    both digest lists, and only then has the key module sign the DTBS/R.
//! 4. signet-ades finishes each signature: time-stamp (B-T), validation data (B-LT), archive
//!    or document time-stamp (B-LTA), through this node's TSA and embedded CA.

use std::sync::Arc;

use signet_ades::{
    AdesError, Content, DocumentRequest, Envelope, Finished, Format, Level, SignedProps, Signer,
};
use signet_core::{HashAlgorithm, SignMechanism};
use signet_sam::{SamError, now_unix};
use signet_store::{Credential, User};

use crate::Service;
use crate::ades::{PkiTimeStamper, PkiValidationData, preflight};

/// One document to sign, as a binding (CSC signDoc, DSS-X SignRequest) describes it.
pub struct DocumentItem {
    /// `documents[i]` or `documentDigests[i].hashes[j]`, for messages.
    pub name: String,
    pub format: Format,
    pub level: Level,
    pub envelope: Envelope,
    pub mechanism: SignMechanism,
    pub props: SignedProps,
    pub content: Content,
    pub document_hash: HashAlgorithm,
}

/// Why [`Service::sign_documents`] failed, before each binding words it its own way.
#[derive(Debug)]
pub enum DocumentError {
    /// The items do not fit one authorization (400 invalid_request in CSC).
    Request(String),
    Sam(SamError),
    /// The AdES engine refused or failed on the named item.
    Ades(String, AdesError),
    Internal,
}

/// The signing core shared by CSC signDoc and DSS-X SignRequest: prepares every item, has the
/// SAM spend `sad` against the documents and sign the DTBS/R, then finishes each signature
/// (time-stamps, validation data). All items must share one mechanism and one document hash
/// algorithm (one authorization binds one hash algorithm).
impl Service {
    pub async fn sign_documents(
        &self,
        user: &User,
        cred: &Credential,
        sad: &str,
        items: Vec<DocumentItem>,
        return_info: bool,
    ) -> Result<Vec<Finished>, DocumentError> {
        let Some(first) = items.first() else {
            return Err(DocumentError::Request("No document to sign".into()));
        };
        let (mechanism, document_hash) = (first.mechanism, first.document_hash);
        if items
            .iter()
            .any(|i| i.mechanism != mechanism || i.document_hash != document_hash)
        {
            return Err(DocumentError::Request(
            "All documents of one signDoc request must use the same signAlgo, signAlgoParams and hashAlgorithmOID (one authorization binds one hash algorithm)".into(),
        ));
        }

        let top_level = items.iter().map(|i| i.level).max().unwrap_or(Level::BB);
        let first_name = first.name.clone();

        // Prepare every document before the SAD is touched: a bad document costs no signature.
        let started = std::time::Instant::now();
        let signing_time = now_unix();
        let limits = self.ades.limits;
        let signer = Signer {
            certificate: cred.certificate.clone(),
            chain: cred.chain.clone(),
            key_type: cred.key_type,
            mechanism,
        };
        let prepared = tokio::task::spawn_blocking(move || {
            items
                .into_iter()
                .map(|item| {
                    let request = DocumentRequest {
                        format: item.format,
                        level: item.level,
                        envelope: item.envelope,
                        content: item.content,
                        document_hash: item.document_hash,
                        props: item.props,
                        signer: signer.clone(),
                        signing_time,
                        collect_validation_info: return_info,
                        limits,
                        detached_name: None,
                    };
                    match signet_ades::prepare(request) {
                        Ok(p) => Ok((item.name, p)),
                        Err(e) => Err(DocumentError::Ades(item.name, e)),
                    }
                })
                .collect::<Result<Vec<_>, DocumentError>>()
        })
        .await
        .map_err(|_| DocumentError::Internal)??;

        // The same for the TSA and the CA: their answers are needed after signing.
        let fetched = preflight(
            &self.pki,
            top_level >= Level::BT,
            (top_level >= Level::BLt || return_info).then_some(cred.certificate.as_slice()),
        )
        .await
        .map_err(|e| DocumentError::Ades(first_name, e))?;

        let prepared_at = started.elapsed();
        let document_digests: Vec<Vec<u8>> = prepared
            .iter()
            .map(|(_, p)| p.document_digest().to_vec())
            .collect();
        let dtbsr: Vec<Vec<u8>> = prepared.iter().map(|(_, p)| p.dtbsr().to_vec()).collect();
        let values = self
            .sam
            .sign_documents(
                user,
                cred,
                sad,
                document_hash,
                document_digests,
                dtbsr,
                mechanism,
            )
            .await
            .map_err(DocumentError::Sam)?;

        let signed_at = started.elapsed();
        let runtime = tokio::runtime::Handle::current();
        let tsa = PkiTimeStamper {
            pki: Arc::clone(&self.pki),
            runtime: runtime.clone(),
        };
        let validation = PkiValidationData {
            pki: Arc::clone(&self.pki),
            runtime,
            fetched,
        };
        let finished = tokio::task::spawn_blocking(move || {
            prepared
                .into_iter()
                .zip(values)
                .map(|((name, p), value)| {
                    signet_ades::finish(p, &value, Some(&tsa), Some(&validation))
                        .map_err(|e| DocumentError::Ades(name, e))
                })
                .collect::<Result<Vec<_>, DocumentError>>()
        })
        .await
        .map_err(|_| DocumentError::Internal)??;
        tracing::debug!(
            prepare_us = prepared_at.as_micros() as u64,
            sign_us = (signed_at - prepared_at).as_micros() as u64,
            finish_us = (started.elapsed() - signed_at).as_micros() as u64,
            "document signing timings"
        );
        Ok(finished)
    }
}
