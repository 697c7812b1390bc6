//! Hash-only AdES signing of local documents through `signatures/signHash`.
//!
//! Each document is prepared here with `signet-ades` (the signed attributes and, for PAdES, the
//! incremental update); only the DTBS/R digests go to the server, under one authorization per
//! group of at most `multisign` documents; the signature values come back and the signature
//! is assembled here, checked against the credential's certificate, time-stamped and given its
//! validation data. The documents never leave the machine.

use signet_ades::{
    AdesError, Content, DocumentRequest, Envelope, Finished, Format, Level, Limits, Prepared,
    SignedProps, Signer, TimeStamper, ValidationData,
};
use signet_core::{HashAlgorithm, KeyType, SignMechanism};

use crate::ClientError;
use crate::csc::{CredentialAuthorization, CscClient, SignHashRequest};
use crate::types::CredentialInfo;

/// Obtains the credential authorization for one group of hashes (the CLI prompts, opens a
/// browser or waits for the signer's phone).
pub trait Authorizer {
    /// Authorizes `hashes.len()` signatures; SCAL2 credentials bind exactly `hashes`.
    fn authorize(
        &mut self,
        credential: &CredentialInfo,
        hashes: &[Vec<u8>],
        hash: HashAlgorithm,
    ) -> Result<CredentialAuthorization, ClientError>;
}

/// How documents are signed.
#[derive(Debug, Clone)]
pub struct Profile {
    pub format: Format,
    pub level: Level,
    pub envelope: Envelope,
    pub props: SignedProps,
}

impl Profile {
    /// The format for a file name: PDF → PAdES, XML → XAdES, JSON → JAdES, else CAdES.
    pub fn format_for(name: &str, content: &[u8]) -> Format {
        let lower = name.to_ascii_lowercase();
        let head = content
            .iter()
            .skip_while(|b| b.is_ascii_whitespace())
            .copied()
            .take(5)
            .collect::<Vec<_>>();
        if lower.ends_with(".pdf") || content.starts_with(b"%PDF-") {
            Format::Pades
        } else if lower.ends_with(".xml") || head.starts_with(b"<?xml") {
            Format::Xades
        } else if lower.ends_with(".json") {
            Format::Jades
        } else {
            Format::Cades
        }
    }
}

/// The signer side of one credential: its certificate, key and mechanism.
pub struct DocumentSigner<'a> {
    pub client: &'a CscClient,
    pub credential: &'a CredentialInfo,
    signer: Signer,
    sign_algo: &'static str,
    pub tsa: Option<&'a dyn TimeStamper>,
    pub validation: Option<&'a dyn ValidationData>,
    pub limits: Limits,
}

/// A document prepared for signing.
pub struct PreparedDocument {
    pub prepared: Prepared,
}

impl<'a> DocumentSigner<'a> {
    pub fn new(client: &'a CscClient, credential: &'a CredentialInfo) -> Result<Self, ClientError> {
        let Some((certificate, chain)) = credential.certificates.split_first() else {
            return Err(ClientError::Unsupported(format!(
                "credential {}: the server sent no certificate (credentials/info cert.certificates)",
                credential.id
            )));
        };
        if credential.key_status != "enabled" {
            return Err(ClientError::Unsupported(format!(
                "credential {} is {}",
                credential.id, credential.key_status
            )));
        }
        let key_type: KeyType = credential.key_type()?;
        // The certificate must be one and carry the key credentials/info describes: found now,
        // before the signer spends an authorization on signatures that cannot verify.
        let certified = certificate_key_type(certificate).map_err(|why| {
            ClientError::Unsupported(format!(
                "credential {}: the certificate in credentials/info {why}",
                credential.id
            ))
        })?;
        if certified != key_type {
            return Err(ClientError::Unsupported(format!(
                "credential {}: credentials/info describes key type {} but its certificate holds {}",
                credential.id,
                key_type.name(),
                certified.name()
            )));
        }
        let (mechanism, sign_algo): (SignMechanism, &'static str) = credential.mechanism()?;
        Ok(Self {
            client,
            credential,
            signer: Signer {
                certificate: certificate.clone(),
                chain: chain.to_vec(),
                key_type,
                mechanism,
            },
            sign_algo,
            tsa: None,
            validation: None,
            limits: Limits {
                // Local files: the limit is the user's memory, not a server's budget.
                max_document_bytes: 2 << 30,
                ..Limits::default()
            },
        })
    }

    pub fn mechanism(&self) -> SignMechanism {
        self.signer.mechanism
    }

    /// Step one, locally: the DTBS/R of `document`. `name` is the file name a detached
    /// signature refers to (validators look for the document beside the signature).
    pub fn prepare(
        &self,
        name: &str,
        document: Vec<u8>,
        profile: &Profile,
        signing_time: i64,
    ) -> Result<Prepared, AdesError> {
        signet_ades::prepare(DocumentRequest {
            format: profile.format,
            level: profile.level,
            envelope: profile.envelope,
            content: Content::Document(document),
            document_hash: HashAlgorithm::Sha256,
            props: profile.props.clone(),
            signer: self.signer.clone(),
            signing_time,
            collect_validation_info: false,
            limits: self.limits,
            detached_name: (profile.envelope == Envelope::Detached).then(|| name.to_owned()),
        })
    }

    /// Authorizes and signs a group of prepared documents (at most `multisign`), then assembles
    /// each signature. The outer error fails the whole group (no signature values); the inner
    /// ones are per document.
    pub fn sign_group(
        &self,
        prepared: Vec<Prepared>,
        authorizer: &mut dyn Authorizer,
    ) -> Result<Vec<Result<Finished, AdesError>>, ClientError> {
        if prepared.is_empty() {
            return Ok(Vec::new());
        }
        let hash = self.signer.mechanism.hash();
        let hashes: Vec<Vec<u8>> = prepared.iter().map(|p| p.dtbsr().to_vec()).collect();
        let authorization = authorizer.authorize(self.credential, &hashes, hash)?;
        let values = self.client.sign_hash(&SignHashRequest {
            credential_id: &self.credential.id,
            authorization: &authorization,
            hashes: &hashes,
            hash,
            sign_algo: self.sign_algo,
            sign_algo_params: None,
        })?;
        Ok(prepared
            .into_iter()
            .zip(values)
            .map(|(p, value)| signet_ades::finish(p, &value, self.tsa, self.validation))
            .collect())
    }
}

/// The key type a DER certificate holds.
fn certificate_key_type(der: &[u8]) -> Result<KeyType, String> {
    use der::Decode;
    let cert = x509_cert::Certificate::from_der(der)
        .map_err(|e| format!("is not a DER certificate ({e})"))?;
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let key_bits = spki.subject_public_key.raw_bytes();
    match spki.algorithm.oid.to_string().as_str() {
        signet_core::oid::EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
                .map(|o| o.to_string());
            match curve.as_deref() {
                Some(signet_core::oid::CURVE_P256) => Ok(KeyType::EcP256),
                Some(signet_core::oid::CURVE_P384) => Ok(KeyType::EcP384),
                other => Err(format!(
                    "holds an EC key on an unsupported curve ({other:?})"
                )),
            }
        }
        "1.2.840.113549.1.1.1" => {
            #[derive(der::Sequence)]
            struct RsaPublicKey<'a> {
                modulus: der::asn1::UintRef<'a>,
                _exponent: der::asn1::UintRef<'a>,
            }
            let key = RsaPublicKey::from_der(key_bits)
                .map_err(|e| format!("holds a malformed RSA key ({e})"))?;
            match key.modulus.as_bytes().len() * 8 {
                2048 => Ok(KeyType::Rsa2048),
                3072 => Ok(KeyType::Rsa3072),
                4096 => Ok(KeyType::Rsa4096),
                bits => Err(format!(
                    "holds an RSA key of {bits} bits, which this client does not sign with"
                )),
            }
        }
        other => Err(format!(
            "holds a key of algorithm {other}, which this client does not sign with"
        )),
    }
}

/// The file name for a signed document or a detached signature.
pub fn output_name(input_name: &str, format: Format, envelope: Envelope) -> String {
    let (stem, ext) = match input_name.rfind('.') {
        Some(i) if i > 0 => (&input_name[..i], &input_name[i..]),
        _ => (input_name, ""),
    };
    match (format, envelope) {
        (Format::Pades, _) => format!("{stem}-signed{ext}"),
        (Format::Cades, Envelope::Detached) => format!("{input_name}.p7s"),
        (Format::Cades, _) => format!("{input_name}.p7m"),
        (Format::Xades, Envelope::Enveloped) => format!("{stem}-signed{ext}"),
        (Format::Xades, Envelope::Detached) => format!("{input_name}.xades.xml"),
        (Format::Xades, _) => format!("{input_name}.xml"),
        (Format::Jades, Envelope::Detached) => format!("{input_name}.jws"),
        (Format::Jades, _) => format!("{input_name}.jws.json"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_the_file_type() {
        assert_eq!(Profile::format_for("a.PDF", b""), Format::Pades);
        assert_eq!(Profile::format_for("scan", b"%PDF-1.7"), Format::Pades);
        assert_eq!(Profile::format_for("invoice.xml", b""), Format::Xades);
        assert_eq!(
            Profile::format_for("data", b"  <?xml version"),
            Format::Xades
        );
        assert_eq!(Profile::format_for("claims.json", b"{}"), Format::Jades);
        assert_eq!(Profile::format_for("report.txt", b"hello"), Format::Cades);
    }

    #[test]
    fn output_names_never_equal_the_input() {
        for (name, format, envelope, out) in [
            (
                "contract.pdf",
                Format::Pades,
                Envelope::Revision,
                "contract-signed.pdf",
            ),
            ("a.txt", Format::Cades, Envelope::Attached, "a.txt.p7m"),
            ("a.txt", Format::Cades, Envelope::Detached, "a.txt.p7s"),
            (
                "inv.xml",
                Format::Xades,
                Envelope::Enveloped,
                "inv-signed.xml",
            ),
            (
                "inv.xml",
                Format::Xades,
                Envelope::Detached,
                "inv.xml.xades.xml",
            ),
            (
                "c.json",
                Format::Jades,
                Envelope::Attached,
                "c.json.jws.json",
            ),
            ("c.json", Format::Jades, Envelope::Detached, "c.json.jws"),
            ("README", Format::Cades, Envelope::Attached, "README.p7m"),
        ] {
            assert_eq!(output_name(name, format, envelope), out);
        }
    }
}
