//! Augmentation (EN 319 102-1 §4.3.3; EU DSS `extendDocument`): brings an existing signature —
//! Signet's or another producer's — to B-T, B-LT or B-LTA by adding, in order and each only
//! when missing:
//!
//! 1. B-T: a signature time-stamp (CAdES, XAdES, JAdES unsigned properties; PAdES a document
//!    time-stamp, EN 319 142-1 §6.3);
//! 2. B-LT: validation data for the signer chain and for every time-stamp's TSA chain;
//! 3. B-LTA: an archive time-stamp over all of it. A B-LTA signature extended to B-LTA again
//!    gets the validation data of its last archive time-stamp, then a new archive time-stamp
//!    (renewal).
//!
//! The pieces are the ones creation uses ([`crate::finish`]); this module finds what a
//! signature already has and where the new pieces go. Whether the signature is valid is not
//! judged here — the caller validates first — but the signer certificate must be found, since
//! its validation data is what B-LT adds.

mod cades;
mod cms;
mod jades;
mod pades;
mod xades;

#[cfg(test)]
mod test_support;

use crate::{AdesError, Format, Level, Limits, Revocation, TimeStamper, ValidationData};

/// A signature to bring to a higher baseline level.
#[derive(Debug, Clone)]
pub struct ExtendRequest {
    /// The signature: a signed PDF, a CAdES SignedData (DER), an XML document with XAdES
    /// signatures, or a JWS (JSON or compact serialization).
    pub signature: Vec<u8>,
    /// The detached document, which archive time-stamps of detached CAdES, XAdES and JAdES
    /// signatures cover.
    pub detached: Option<Vec<u8>>,
    /// B-T, B-LT or B-LTA.
    pub target: Level,
    pub limits: Limits,
}

/// The extended signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extended {
    /// The signature (or signed document) with what was added.
    pub output: Vec<u8>,
    pub format: Format,
    /// What was added, one line a step, for people ("signature time-stamp", "validation data
    /// for 3 certificates, 2 OCSP responses", "archive time-stamp").
    pub added: Vec<String>,
    /// The validation data collected (embedded in the output).
    pub validation_info: Revocation,
}

/// Extends `request.signature` to `request.target`; see the module documentation. Refuses a
/// B-B target, a signature already at or above the target (B-LTA excepted: renewal), input
/// that is not a signature, and what cannot be extended (an encrypted PDF, a detached CAdES
/// archive time-stamp without the document).
pub fn extend(
    request: ExtendRequest,
    tsa: &dyn TimeStamper,
    validation: &dyn ValidationData,
) -> Result<Extended, AdesError> {
    if request.target == Level::BB {
        return Err(AdesError::InvalidRequest(
            "a signature can be extended to B-T, B-LT or B-LTA; B-B is the level it is created at"
                .into(),
        ));
    }
    let limit = request.limits.max_document_bytes;
    for (what, len) in [
        ("signature", Some(request.signature.len())),
        ("detached document", request.detached.as_ref().map(Vec::len)),
    ] {
        if let Some(len) = len.filter(|l| *l > limit) {
            return Err(AdesError::TooLarge(format!(
                "{what} of {len} bytes exceeds the limit of {limit} bytes"
            )));
        }
    }
    let format = detect(&request.signature)?;
    let services = Services { tsa, validation };
    let (output, added, validation_info) = match format {
        Format::Cades => cades::extend(&request, &services)?,
        Format::Pades => pades::extend(&request, &services)?,
        Format::Xades => xades::extend(&request, &services)?,
        Format::Jades => jades::extend(&request, &services)?,
    };
    Ok(Extended {
        output,
        format,
        added,
        validation_info,
    })
}

/// What each format's extension returns: the output, the `added` lines and the validation
/// data collected.
type Outcome = (Vec<u8>, Vec<String>, Revocation);

/// The time-stamping authority and the source of validation data.
struct Services<'a> {
    tsa: &'a dyn TimeStamper,
    validation: &'a dyn ValidationData,
}

impl Services<'_> {
    fn validation(&self) -> Option<&dyn ValidationData> {
        Some(self.validation)
    }
}

/// The format of a signature, from its first bytes: `%PDF-` PAdES, `<` XAdES, `{` or a
/// compact JWS JAdES, a DER SEQUENCE CAdES.
pub fn detect(bytes: &[u8]) -> Result<Format, AdesError> {
    if bytes.starts_with(b"%PDF-") {
        return Ok(Format::Pades);
    }
    if bytes.first() == Some(&crate::asn1::SEQUENCE) {
        return Ok(Format::Cades);
    }
    let text = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let text = text.trim_ascii();
    match text.first() {
        Some(b'<') => return Ok(Format::Xades),
        Some(b'{') => return Ok(Format::Jades),
        _ => {}
    }
    let compact = text.iter().filter(|b| **b == b'.').count() == 2
        && text
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if compact {
        return Ok(Format::Jades);
    }
    Err(AdesError::InvalidDocument(
        "not a signature: expected a signed PDF (PAdES), CMS SignedData in DER (CAdES), XML with a XAdES signature or a JWS (JAdES)".into(),
    ))
}

/// What one signature has, in baseline terms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Has {
    time_stamp: bool,
    validation_data: bool,
    archive_time_stamp: bool,
}

impl Has {
    /// The baseline level reached: each level needs the ones below it.
    fn level(self) -> Level {
        match (
            self.time_stamp,
            self.validation_data,
            self.archive_time_stamp,
        ) {
            (false, _, _) => Level::BB,
            (true, false, _) => Level::BT,
            (true, true, false) => Level::BLt,
            (true, true, true) => Level::BLta,
        }
    }
}

/// What extension adds to a signature at `level` for `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Steps {
    time_stamp: bool,
    validation_data: bool,
    /// The validation data of the last archive time-stamp, before a new one.
    renewal: bool,
    archive_time_stamp: bool,
}

impl Steps {
    fn new(level: Level, target: Level) -> Self {
        Self {
            time_stamp: level < Level::BT,
            validation_data: target >= Level::BLt && level < Level::BLt,
            renewal: target == Level::BLta && level == Level::BLta,
            archive_time_stamp: target == Level::BLta,
        }
    }

    /// Nothing to do (the signature is at or above a target below B-LTA).
    fn is_empty(self) -> bool {
        !(self.time_stamp || self.validation_data || self.archive_time_stamp)
    }
}

/// "B-LT" for [`Level::BLt`].
fn short(level: Level) -> &'static str {
    level.csc_name().trim_start_matches("Ades-")
}

/// Refuses when every signature is already at or above `target` (below B-LTA, which renews).
fn check_levels(format: Format, levels: &[Level], target: Level) -> Result<(), AdesError> {
    let Some(lowest) = levels.iter().copied().min() else {
        return Err(AdesError::InvalidDocument(format!(
            "the document holds no {} signature",
            format.name()
        )));
    };
    if !Steps::new(lowest, target).is_empty() {
        return Ok(());
    }
    let which = match levels.len() {
        1 => format!(
            "the {} signature is already {}",
            format.name(),
            short(lowest)
        ),
        n => format!(
            "the {n} {} signatures are already {} or above",
            format.name(),
            short(lowest)
        ),
    };
    Err(AdesError::InvalidRequest(format!(
        "{which}: there is nothing to add for {}",
        short(target)
    )))
}

/// The signer certificate could not be found `where_`.
fn no_signer_certificate(where_: &str) -> AdesError {
    AdesError::InvalidDocument(format!(
        "the signer certificate is not in {where_}: it is needed to collect the validation data"
    ))
}

/// `data` without what `have` holds already.
fn missing(data: &Revocation, have: &Revocation) -> Revocation {
    let keep = |items: &[Vec<u8>], old: &[Vec<u8>]| -> Vec<Vec<u8>> {
        items.iter().filter(|i| !old.contains(i)).cloned().collect()
    };
    Revocation {
        certificates: keep(&data.certificates, &have.certificates),
        crls: keep(&data.crls, &have.crls),
        ocsp: keep(&data.ocsp, &have.ocsp),
    }
}

/// "validation data for 3 certificates, 1 CRL, 2 OCSP responses".
fn describe(data: &Revocation) -> String {
    let parts: Vec<String> = [
        (data.certificates.len(), "certificate"),
        (data.crls.len(), "CRL"),
        (data.ocsp.len(), "OCSP response"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}{}", if n == 1 { "" } else { "s" }))
    .collect();
    if parts.is_empty() {
        "validation data (nothing new)".into()
    } else {
        format!("validation data for {}", parts.join(", "))
    }
}

/// `what`, with the number of signatures it was added to when that is not one.
fn counted(what: &str, signatures: usize) -> String {
    match signatures {
        1 => what.to_owned(),
        n => format!("{what} on {n} signatures"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_detected_from_the_first_bytes() {
        assert_eq!(detect(b"%PDF-1.7\n"), Ok(Format::Pades));
        assert_eq!(detect(&[0x30, 0x82, 1, 0]), Ok(Format::Cades));
        assert_eq!(detect("\u{feff} <r/>".as_bytes()), Ok(Format::Xades));
        assert_eq!(detect(b"\n{\"payload\":\"\"}"), Ok(Format::Jades));
        assert_eq!(
            detect(b"eyJhbGciOiJFUzI1NiJ9.aGk.AAAA\n"),
            Ok(Format::Jades)
        );
        assert_eq!(detect(b"eyJhbGciOiJFUzI1NiJ9..AAAA"), Ok(Format::Jades));
        for bad in [
            &b""[..],
            b"hello world",
            b"a.b",
            b"a.b.c.d",
            b"%PD",
            b"a+b.c.d",
        ] {
            assert_eq!(
                detect(bad),
                Err(AdesError::InvalidDocument(
                    "not a signature: expected a signed PDF (PAdES), CMS SignedData in DER (CAdES), XML with a XAdES signature or a JWS (JAdES)".into()
                )),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn steps_follow_the_level() {
        let has = |t, lt, lta| {
            Has {
                time_stamp: t,
                validation_data: lt,
                archive_time_stamp: lta,
            }
            .level()
        };
        assert_eq!(has(false, true, true), Level::BB);
        assert_eq!(has(true, false, true), Level::BT);
        assert_eq!(has(true, true, false), Level::BLt);
        assert_eq!(has(true, true, true), Level::BLta);
        let s = Steps::new(Level::BB, Level::BLta);
        assert_eq!(
            s,
            Steps {
                time_stamp: true,
                validation_data: true,
                renewal: false,
                archive_time_stamp: true
            }
        );
        assert_eq!(
            Steps::new(Level::BLta, Level::BLta),
            Steps {
                time_stamp: false,
                validation_data: false,
                renewal: true,
                archive_time_stamp: true
            }
        );
        assert_eq!(
            Steps::new(Level::BT, Level::BLt),
            Steps {
                time_stamp: false,
                validation_data: true,
                renewal: false,
                archive_time_stamp: false
            }
        );
        assert!(Steps::new(Level::BLt, Level::BT).is_empty());
    }

    #[test]
    fn refusals_name_the_level() {
        assert_eq!(
            check_levels(Format::Cades, &[Level::BLta], Level::BLt),
            Err(AdesError::InvalidRequest(
                "the CAdES signature is already B-LTA: there is nothing to add for B-LT".into()
            ))
        );
        assert_eq!(
            check_levels(Format::Xades, &[Level::BLt, Level::BLta], Level::BLt),
            Err(AdesError::InvalidRequest(
                "the 2 XAdES signatures are already B-LT or above: there is nothing to add for B-LT"
                    .into()
            ))
        );
        assert_eq!(
            check_levels(Format::Jades, &[], Level::BT),
            Err(AdesError::InvalidDocument(
                "the document holds no JAdES signature".into()
            ))
        );
        assert!(check_levels(Format::Pades, &[Level::BLta], Level::BLta).is_ok());
        assert!(check_levels(Format::Pades, &[Level::BLta, Level::BB], Level::BT).is_ok());
    }

    #[test]
    fn descriptions() {
        let data = Revocation {
            certificates: vec![vec![1], vec![2], vec![3]],
            crls: vec![vec![4]],
            ocsp: vec![vec![5], vec![6]],
        };
        assert_eq!(
            describe(&data),
            "validation data for 3 certificates, 1 CRL, 2 OCSP responses"
        );
        assert_eq!(
            describe(&missing(
                &data,
                &Revocation {
                    certificates: vec![vec![1], vec![3]],
                    crls: vec![vec![4]],
                    ocsp: vec![],
                }
            )),
            "validation data for 1 certificate, 2 OCSP responses"
        );
        assert_eq!(
            describe(&Revocation::default()),
            "validation data (nothing new)"
        );
        assert_eq!(counted("archive time-stamp", 1), "archive time-stamp");
        assert_eq!(
            counted("archive time-stamp", 3),
            "archive time-stamp on 3 signatures"
        );
    }
}
