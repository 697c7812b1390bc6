//! Trust anchors: certificates the caller trusts, from PEM or DER files or trusted lists.

use signet_ades::cert::CertView;

use crate::x509::Cert;

/// Most certificates one anchor file may hold (a CA bundle has a few hundred).
const MAX_FILE_CERTIFICATES: usize = 10_000;
const PEM_BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const PEM_END: &str = "-----END CERTIFICATE-----";

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
        Cert::parse(&der).map_err(|e| format!("{source}: {e}"))?;
        if !self.anchors.iter().any(|a| a.der == der) {
            self.anchors.push(Anchor {
                der,
                source: source.to_owned(),
            });
        }
        Ok(())
    }

    /// Adds every certificate of a PEM file (or a single DER certificate) read from `bytes`.
    /// Error when it holds none.
    pub fn add_file(&mut self, bytes: &[u8], source: &str) -> Result<usize, String> {
        if bytes.first() == Some(&0x30) {
            self.add_der(bytes.to_vec(), source)?;
            return Ok(1);
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| format!("{source}: neither a DER certificate nor PEM text"))?;
        let ders = pem_certificates(text).map_err(|e| format!("{source}: {e}"))?;
        if ders.is_empty() {
            return Err(format!(
                "{source}: no certificate found (expected PEM CERTIFICATE blocks or one DER certificate)"
            ));
        }
        let count = ders.len();
        for der in ders {
            self.add_der(der, source)?;
        }
        Ok(count)
    }

    /// Whether `der` is one of the anchors (byte-equal, or same subject and public key).
    pub fn find(&self, der: &[u8]) -> Option<&Anchor> {
        if let Some(found) = self.anchors.iter().find(|a| a.der == der) {
            return Some(found);
        }
        let view = CertView::parse(der).ok()?;
        self.anchors.iter().find(|a| {
            CertView::parse(&a.der).is_ok_and(|v| v.subject == view.subject && v.spki == view.spki)
        })
    }
}

/// The DER of every `CERTIFICATE` block of a PEM text (other blocks are skipped).
fn pem_certificates(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(PEM_BEGIN) {
        let body = &rest[start + PEM_BEGIN.len()..];
        let end = body
            .find(PEM_END)
            .ok_or("a PEM CERTIFICATE block has no END line")?;
        let b64: String = body[..end].split_whitespace().collect();
        let der = signet_core::b64::decode(&b64)
            .ok_or_else(|| format!("PEM certificate {} is not Base64", out.len() + 1))?;
        if out.len() == MAX_FILE_CERTIFICATES {
            return Err(format!("more than {MAX_FILE_CERTIFICATES} certificates"));
        }
        out.push(der);
        rest = &body[end + PEM_END.len()..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x509::test_pki::{self as pki, CA};

    fn pem(der: &[u8]) -> String {
        let b64 = signet_core::b64::encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|l| std::str::from_utf8(l).unwrap())
            .collect();
        format!("{PEM_BEGIN}\n{}\n{PEM_END}\n", lines.join("\n"))
    }

    #[test]
    fn pem_bundle_der_file_and_duplicates() {
        let (a, b) = (pki::root("A"), pki::root("B"));
        let bundle = format!(
            "subject=CN=A\n{}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{}",
            pem(&a.der),
            pem(&b.der).replace('\n', "\r\n")
        );
        let mut anchors = TrustAnchors::default();
        assert_eq!(anchors.add_file(bundle.as_bytes(), "bundle.pem"), Ok(2));
        assert_eq!(anchors.add_file(&a.der, "a.der"), Ok(1));
        assert_eq!(anchors.anchors.len(), 2);
        assert_eq!(anchors.anchors[0].der, a.der);
        assert_eq!(anchors.anchors[1].source, "bundle.pem");
    }

    #[test]
    fn files_without_certificates_are_refused() {
        let mut anchors = TrustAnchors::default();
        assert_eq!(
            anchors.add_file(b"hello\n", "x.pem"),
            Err("x.pem: no certificate found (expected PEM CERTIFICATE blocks or one DER certificate)".into())
        );
        let unterminated = format!("{PEM_BEGIN}\nMAo=\n");
        assert_eq!(
            anchors.add_file(unterminated.as_bytes(), "y.pem"),
            Err("y.pem: a PEM CERTIFICATE block has no END line".into())
        );
        let not_b64 = format!("{PEM_BEGIN}\n!!!\n{PEM_END}\n");
        assert!(anchors.add_file(not_b64.as_bytes(), "z.pem").is_err());
        let not_cert = format!("{PEM_BEGIN}\nMAA=\n{PEM_END}\n");
        assert!(anchors.add_file(not_cert.as_bytes(), "w.pem").is_err());
        assert!(
            anchors
                .add_file(&[0x30, 0x03, 0x02, 0x01, 0x01], "v.der")
                .is_err()
        );
        assert!(anchors.add_file(&[0xff, 0xfe], "u.bin").is_err());
        assert!(anchors.anchors.is_empty());
    }

    #[test]
    fn find_by_bytes_or_by_subject_and_key() {
        let root = pki::root("Root");
        let mut anchors = TrustAnchors::default();
        anchors.add_der(root.der.clone(), "root.pem").unwrap();
        assert_eq!(
            anchors.find(&root.der).map(|a| a.source.as_str()),
            Some("root.pem")
        );
        // The same name and key certified by another CA (a cross-certificate).
        let other = pki::root("Other");
        let cross = pki::issue_with_key(&other, &root, 7, CA);
        assert_ne!(cross, root.der);
        assert!(anchors.find(&cross).is_some());
        // Same name, other key: not the anchor.
        assert!(anchors.find(&pki::root("Root").der).is_none());
        assert!(anchors.find(&[0x30, 0x00]).is_none());
    }
}
