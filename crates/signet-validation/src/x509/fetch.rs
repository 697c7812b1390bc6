//! Validation data fetched through the caller's [`ValidationData`] (issuer certificates,
//! CRLs, OCSP responses): asked at most once per certificate, and kept so that B-LT
//! augmentation can embed it.

use signet_ades::ValidationData;

/// The fetcher, and what it returned so far (without duplicates).
pub(crate) struct Fetched<'a> {
    fetcher: Option<&'a dyn ValidationData>,
    /// Certificates already asked about, and the error if the fetch failed.
    asked: Vec<(Vec<u8>, Option<String>)>,
    pub certificates: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
    pub ocsp: Vec<Vec<u8>>,
}

impl<'a> Fetched<'a> {
    pub fn new(fetcher: Option<&'a dyn ValidationData>) -> Self {
        Self {
            fetcher,
            asked: Vec::new(),
            certificates: Vec::new(),
            crls: Vec::new(),
            ocsp: Vec::new(),
        }
    }

    pub fn allowed(&self) -> bool {
        self.fetcher.is_some()
    }

    pub fn asked(&self, certificate: &[u8]) -> bool {
        self.asked.iter().any(|(c, _)| c == certificate)
    }

    /// Fetches the chain and revocation data of `certificate` (once; later calls repeat the
    /// first outcome). `Err` when fetching is not allowed or failed.
    pub fn fetch(&mut self, certificate: &[u8]) -> Result<(), String> {
        if let Some((_, outcome)) = self.asked.iter().find(|(c, _)| c == certificate) {
            return outcome.clone().map_or(Ok(()), Err);
        }
        let fetcher = self.fetcher.ok_or("fetching not allowed")?;
        let outcome = match fetcher.chain_and_revocation(certificate) {
            Ok(data) => {
                for (mine, theirs) in [
                    (&mut self.certificates, data.certificates),
                    (&mut self.crls, data.crls),
                    (&mut self.ocsp, data.ocsp),
                ] {
                    for item in theirs {
                        if !mine.contains(&item) {
                            mine.push(item);
                        }
                    }
                }
                None
            }
            Err(e) => Some(format!("fetching validation data failed: {e}")),
        };
        self.asked.push((certificate.to_vec(), outcome.clone()));
        outcome.map_or(Ok(()), Err)
    }
}
