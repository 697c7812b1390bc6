//! The validation report in three forms: ETSI TS 119 102-2 XML ([`etsi_xml`]) for other
//! software, JSON ([`json`]) for scripts, and a short text ([`text`]) for people. All three
//! are written from the same [`ValidationReport`] and are deterministic: the same report gives
//! the same bytes.

mod etsi;
mod json;
mod text;

use time::{OffsetDateTime, UtcOffset};

use crate::{Format, Level, SignatureReport, TimestampKind, ValidationReport};

/// The TS 119 102-2 v1.4.1 `ValidationReport` XML document (UTF-8, with XML declaration),
/// valid against the XSD.
pub fn etsi_xml(report: &ValidationReport) -> String {
    etsi::write(report)
}

/// The same report as JSON: Signet's own shape, camelCase names and RFC 3339 UTC times,
/// documented in `report/json.rs`.
pub fn json(report: &ValidationReport) -> serde_json::Value {
    json::write(report)
}

/// A short human summary: one block per signature, indication first.
pub fn text(report: &ValidationReport) -> String {
    text::write(report)
}

/// The validator's name in every report.
fn validator() -> String {
    format!("Signet {}", env!("CARGO_PKG_VERSION"))
}

/// A time in UTC as RFC 3339 / `xs:dateTime` with `Z`; fractional seconds only when the time
/// has them (a time-stamp's `genTime` may), without trailing zeros.
fn utc(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let year = t.year();
    let sign = if year < 0 { "-" } else { "" };
    let nanos = t.nanosecond();
    let fraction = if nanos == 0 {
        String::new()
    } else {
        let digits = format!("{nanos:09}");
        format!(".{}", digits.trim_end_matches('0'))
    };
    format!(
        "{sign}{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}Z",
        year.unsigned_abs(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The ETSI name of a baseline level of a format: `PAdES-BASELINE-LTA`.
fn level_name(format: Format, level: Level) -> String {
    let suffix = match level {
        Level::BB => "B",
        Level::BT => "T",
        Level::BLt => "LT",
        Level::BLta => "LTA",
    };
    format!("{}-BASELINE-{suffix}", format.name())
}

/// The level a signature reached, or only its format when it reached none.
fn signature_level(sig: &SignatureReport) -> String {
    match sig.level {
        Some(level) => level_name(sig.evidence.format, level),
        None => sig.evidence.format.name().to_owned(),
    }
}

fn kind_name(kind: TimestampKind) -> &'static str {
    match kind {
        TimestampKind::Signature => "signature",
        TimestampKind::Content => "content",
        TimestampKind::Archive => "archive",
    }
}

/// The signer's subject: the first certificate of the chain.
fn signer(sig: &SignatureReport) -> Option<&str> {
    sig.chain.first().map(|c| c.subject.as_str())
}

/// Signatures that passed, for the summary lines.
fn passed(report: &ValidationReport) -> usize {
    report
        .signatures
        .iter()
        .filter(|s| s.indication == crate::Indication::TotalPassed)
        .count()
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn utc_is_z_with_fraction_only_when_present() {
        assert_eq!(
            utc(datetime!(2025-03-04 05:06:07 +02:00)),
            "2025-03-04T03:06:07Z"
        );
        assert_eq!(
            utc(datetime!(2025-03-04 05:06:07.120 UTC)),
            "2025-03-04T05:06:07.12Z"
        );
        assert_eq!(
            utc(datetime!(0001-01-01 00:00:00.000000001 UTC)),
            "0001-01-01T00:00:00.000000001Z"
        );
        assert_eq!(
            utc(datetime!(-0012-01-01 00:00:00 UTC)),
            "-0012-01-01T00:00:00Z"
        );
    }

    #[test]
    fn level_names_follow_etsi() {
        assert_eq!(level_name(Format::Pades, Level::BLta), "PAdES-BASELINE-LTA");
        assert_eq!(level_name(Format::Cades, Level::BB), "CAdES-BASELINE-B");
        assert_eq!(level_name(Format::Xades, Level::BT), "XAdES-BASELINE-T");
        assert_eq!(level_name(Format::Jades, Level::BLt), "JAdES-BASELINE-LT");
    }
}
