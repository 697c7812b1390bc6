//! Trust anchors. (Skeleton: the signatures below are the contract; filled in by its owner.)

/// One trusted certificate and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// DER.
    pub der: Vec<u8>,
    /// Where it came from, for the report: a file path, or a trusted list's territory and
    /// service name (`TL AT: A-Trust Qualified CA`).
    pub source: String,
}

/// The set of trust anchors a validation uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustAnchors {
    pub anchors: Vec<Anchor>,
}

impl TrustAnchors {
    /// Adds one DER certificate (checked to parse as X.509); duplicates are ignored.
    pub fn add_der(&mut self, der: Vec<u8>, source: &str) -> Result<(), String> {
        let _ = (der, source);
        Err("not implemented yet".into())
    }

    /// Adds every certificate of a PEM file (or a single DER certificate) read from `bytes`.
    /// Error when it holds none.
    pub fn add_file(&mut self, bytes: &[u8], source: &str) -> Result<usize, String> {
        let _ = (bytes, source);
        Err("not implemented yet".into())
    }

    /// Whether `der` is one of the anchors (byte-equal, or same subject and public key).
    pub fn find(&self, der: &[u8]) -> Option<&Anchor> {
        let _ = der;
        None
    }
}
