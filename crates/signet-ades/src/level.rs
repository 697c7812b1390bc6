//! Formats, baseline levels and envelopes as CSC names them (csc-api.md §4.12), and which
//! combinations Signet produces.

use std::fmt;

use crate::{AdesError, Content, DocumentRequest};

/// CSC `signature_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `C`: CAdES, EN 319 122-1.
    Cades,
    /// `P`: PAdES, EN 319 142-1.
    Pades,
    /// `X`: XAdES, EN 319 132-1.
    Xades,
    /// `J`: JAdES, TS 119 182-1.
    Jades,
}

impl Format {
    pub const ALL: [Format; 4] = [Self::Cades, Self::Pades, Self::Xades, Self::Jades];

    /// The CSC letter.
    pub fn letter(self) -> &'static str {
        match self {
            Self::Cades => "C",
            Self::Pades => "P",
            Self::Xades => "X",
            Self::Jades => "J",
        }
    }

    /// The envelopes this format offers (CSC `signed_envelope_property`), default first.
    pub fn envelopes(self) -> &'static [Envelope] {
        match self {
            Self::Cades => &[Envelope::Attached, Envelope::Detached, Envelope::Parallel],
            Self::Pades => &[Envelope::Certification, Envelope::Revision],
            Self::Xades => &[
                Envelope::Enveloped,
                Envelope::Enveloping,
                Envelope::Detached,
            ],
            Self::Jades => &[Envelope::Attached, Envelope::Detached, Envelope::Parallel],
        }
    }

    /// CSC defaults: CAdES Attached, PAdES Certification, XAdES Enveloped, JAdES Attached
    /// (csc-api.md §4.12). A digest cannot be attached or enveloped, so CAdES, XAdES and JAdES
    /// over `documentDigests` default to Detached.
    pub fn default_envelope(self, digest_only: bool) -> Envelope {
        match (self, digest_only) {
            (Self::Pades, _) => Envelope::Certification,
            (Self::Cades | Self::Xades | Self::Jades, true) => Envelope::Detached,
            (Self::Cades | Self::Jades, false) => Envelope::Attached,
            (Self::Xades, false) => Envelope::Enveloped,
        }
    }

    /// The format's name (CAdES, PAdES, XAdES, JAdES).
    pub fn name(self) -> &'static str {
        match self {
            Self::Cades => "CAdES",
            Self::Pades => "PAdES",
            Self::Xades => "XAdES",
            Self::Jades => "JAdES",
        }
    }

    /// Parses an envelope name for this format, case-insensitively.
    pub fn envelope(self, name: &str) -> Result<Envelope, AdesError> {
        let found = self
            .envelopes()
            .iter()
            .copied()
            .find(|e| e.name().eq_ignore_ascii_case(name.trim()));
        // "Enveloping" is what EU DSS calls an attached CMS.
        let found = found.or_else(|| {
            (self == Self::Cades && name.trim().eq_ignore_ascii_case("enveloping"))
                .then_some(Envelope::Attached)
        });
        found.ok_or_else(|| {
            let names: Vec<&str> = self.envelopes().iter().map(|e| e.name()).collect();
            AdesError::InvalidRequest(format!(
                "Invalid signed_envelope_property {name:?} for signature_format {}: expected one of {}",
                self.letter(),
                names.join(", ")
            ))
        })
    }
}

/// Baseline conformance levels (EN 319 122-1 / EN 319 142-1 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    BB,
    BT,
    BLt,
    BLta,
}

impl Level {
    pub const ALL: [Level; 4] = [Self::BB, Self::BT, Self::BLt, Self::BLta];

    /// The CSC spelling (`Ades-B-B`, ...).
    pub fn csc_name(self) -> &'static str {
        match self {
            Self::BB => "Ades-B-B",
            Self::BT => "Ades-B-T",
            Self::BLt => "Ades-B-LT",
            Self::BLta => "Ades-B-LTA",
        }
    }

    /// Parses CSC `conformance_level`, case-insensitively and in the spellings clients use
    /// (`Ades-B-B`, `AdES-B-B`, `ADES_B_B`, `B-B`); the older TS levels `Ades-B`, `Ades-T`,
    /// `Ades-LT`, `Ades-LTA` map to the baseline level they correspond to.
    pub fn parse(text: &str) -> Result<Self, AdesError> {
        let norm = text.trim().to_ascii_lowercase().replace('_', "-");
        let rest = norm.strip_prefix("ades-").unwrap_or(&norm);
        let rest = rest.strip_prefix("b-").unwrap_or(rest);
        match rest {
            "b" => Ok(Self::BB),
            "t" => Ok(Self::BT),
            "lt" => Ok(Self::BLt),
            "lta" => Ok(Self::BLta),
            _ => Err(AdesError::InvalidRequest(format!(
                "Invalid conformance_level {text:?}: expected Ades-B-B, Ades-B-T, Ades-B-LT or Ades-B-LTA"
            ))),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.csc_name())
    }
}

/// CSC `signed_envelope_property`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Envelope {
    /// CAdES with the content inside (encapsulated); JAdES compact or JSON serialization
    /// with the payload inside.
    Attached,
    /// CAdES, XAdES or JAdES without the content.
    Detached,
    /// CAdES: one more SignerInfo in an existing signature; JAdES: one more signature in an
    /// existing JSON serialization.
    Parallel,
    /// XAdES: the signature inside the signed XML document (enveloped-signature transform).
    Enveloped,
    /// XAdES: the signed data inside the signature (`ds:Object`).
    Enveloping,
    /// PAdES certification signature (DocMDP, ISO 32000-1 §12.8.2.2).
    Certification,
    /// PAdES approval signature.
    Revision,
}

impl Envelope {
    pub fn name(self) -> &'static str {
        match self {
            Self::Attached => "Attached",
            Self::Detached => "Detached",
            Self::Parallel => "Parallel",
            Self::Certification => "Certification",
            Self::Revision => "Revision",
            Self::Enveloped => "Enveloped",
            Self::Enveloping => "Enveloping",
        }
    }
}

/// Refuses what Signet does not produce, with the reason.
pub fn check_combination(req: &DocumentRequest) -> Result<(), AdesError> {
    if !req.format.envelopes().contains(&req.envelope) {
        return Err(AdesError::InvalidRequest(format!(
            "signed_envelope_property {} does not apply to signature_format {}",
            req.envelope.name(),
            req.format.letter()
        )));
    }
    if matches!(req.content, Content::Digest(_)) {
        match req.format {
            f @ (crate::Format::Cades | crate::Format::Xades | crate::Format::Jades)
                if req.envelope != Envelope::Detached =>
            {
                return Err(AdesError::InvalidRequest(format!(
                    "signed_envelope_property {} needs the document itself: with documentDigests only Detached {} signatures can be made",
                    req.envelope.name(),
                    f.name()
                )));
            }
            // EN 319 142-1 §6.3/§6.4: B-LT and B-LTA live in the PDF (DSS dictionary, document
            // time-stamp), which a digest does not give us.
            crate::Format::Pades if req.level >= Level::BLt => {
                return Err(AdesError::InvalidRequest(format!(
                    "PAdES {} needs the PDF (DSS dictionary, document time-stamp): send documents, or sign at Ades-B-T with returnValidationInfo and add the DSS yourself",
                    req.level
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_spellings() {
        for (text, level) in [
            ("Ades-B-B", Level::BB),
            ("AdES-B-B", Level::BB),
            ("AdeS-b-b", Level::BB),
            ("ADES_B_B", Level::BB),
            ("Ades-B", Level::BB),
            ("B-B", Level::BB),
            ("Ades-B-T", Level::BT),
            ("AdES-T", Level::BT),
            ("ADES_B_LT", Level::BLt),
            ("Ades-LT", Level::BLt),
            ("ades-b-lta", Level::BLta),
            ("AdES-LTA", Level::BLta),
        ] {
            assert_eq!(Level::parse(text), Ok(level), "{text}");
        }
        for bad in ["", "Ades-B-X", "AdES-B-LTAA", "XAdES-B-B", "Ades-C"] {
            assert!(Level::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn envelopes() {
        assert_eq!(Format::Cades.envelope("detached"), Ok(Envelope::Detached));
        assert_eq!(Format::Cades.envelope("Enveloping"), Ok(Envelope::Attached));
        assert_eq!(Format::Pades.envelope("REVISION"), Ok(Envelope::Revision));
        assert!(Format::Pades.envelope("Attached").is_err());
        assert!(Format::Cades.envelope("Certification").is_err());
        assert_eq!(Format::Cades.default_envelope(false), Envelope::Attached);
        assert_eq!(Format::Cades.default_envelope(true), Envelope::Detached);
        assert_eq!(
            Format::Pades.default_envelope(false),
            Envelope::Certification
        );
        assert_eq!(Format::Xades.default_envelope(false), Envelope::Enveloped);
        assert_eq!(Format::Xades.default_envelope(true), Envelope::Detached);
        assert_eq!(Format::Jades.default_envelope(false), Envelope::Attached);
        assert_eq!(
            Format::Xades.envelope("enveloping"),
            Ok(Envelope::Enveloping)
        );
        assert!(Format::Jades.envelope("Enveloped").is_err());
    }
}
