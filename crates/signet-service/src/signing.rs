//! Hash signing (CSC signHash): raw signature values over digests the client computed.

use signet_core::SignMechanism;
use signet_sam::{SamError, SignRequest};
use signet_store::User;
use zeroize::Zeroizing;

use crate::Service;

/// The signature algorithm as a client names it: OIDs (CSC `signAlgo`, `hashAlgorithmOID`
/// or v1 `hashAlgo`) and DER parameters (`signAlgoParams`, RSASSA-PSS).
#[derive(Debug, Clone, Default)]
pub struct AlgorithmChoice {
    pub sign_algo: String,
    pub hash_algo: Option<String>,
    pub params: Option<Vec<u8>>,
}

/// A request for signature values over `hashes` with the credential's key.
#[derive(Debug)]
pub struct HashSignRequest {
    pub credential_id: String,
    /// The SAD, or a credential-scoped access token (a SAD in another envelope).
    pub sad: Zeroizing<String>,
    pub hashes: Vec<Vec<u8>>,
    pub algorithm: AlgorithmChoice,
}

impl Service {
    /// Resolves the mechanism for the credential's key and has the SAM spend the SAD and sign.
    pub async fn sign_hashes(
        &self,
        user: &User,
        req: HashSignRequest,
    ) -> Result<Vec<Vec<u8>>, SamError> {
        let cred = self
            .sam
            .signing_credential(user, &req.credential_id)
            .await?;
        let mechanism = SignMechanism::resolve(
            cred.key_type,
            &req.algorithm.sign_algo,
            req.algorithm.hash_algo.as_deref(),
            req.algorithm.params.as_deref(),
        )?;
        self.sam
            .sign_hashes(
                user,
                &cred,
                SignRequest {
                    sad: req.sad,
                    hashes: req.hashes,
                    mechanism,
                },
            )
            .await
    }
}
