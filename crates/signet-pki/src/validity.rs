//! Certificate validity times from the real clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::DateTime;
use der::asn1::{GeneralizedTime, UtcTime};
use x509_cert::time::Time;

use crate::PkiError;

pub(crate) const SECONDS_PER_DAY: u64 = 86_400;

/// Seconds since the Unix epoch, whole seconds: RFC 5280 §4.1.2.5.1/.2 forbid fractional
/// seconds in certificate times.
pub(crate) fn now_unix() -> Result<u64, PkiError> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| PkiError::Validity("system clock is before 1970".into()))
}

/// `days` from `start`, failing instead of wrapping.
pub(crate) fn add_days(start: u64, days: u32) -> Result<u64, PkiError> {
    u64::from(days)
        .checked_mul(SECONDS_PER_DAY)
        .and_then(|secs| start.checked_add(secs))
        .ok_or_else(|| PkiError::Validity(format!("{days} days is out of range")))
}

/// RFC 5280 §4.1.2.5: "CAs conforming to this profile MUST always encode certificate validity
/// dates through the year 2049 as UTCTime; certificate validity dates in 2050 or later MUST be
/// encoded as GeneralizedTime." Both forms carry whole seconds and end in `Z`.
pub(crate) fn to_time(unix_secs: u64) -> Result<Time, PkiError> {
    let dt = DateTime::from_unix_duration(Duration::from_secs(unix_secs))
        .map_err(|_| PkiError::Validity(format!("time {unix_secs} is beyond year 9999")))?;
    if dt.year() <= UtcTime::MAX_YEAR {
        Ok(Time::UtcTime(UtcTime::from_date_time(dt)?))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(dt)))
    }
}

/// Unix seconds of a certificate time.
pub(crate) fn to_unix(time: &Time) -> u64 {
    time.to_unix_duration().as_secs()
}

/// `YYYYMMDDHHMMSSZ`, the GeneralizedTime text CSC `validFrom`/`validTo` carry, whatever the
/// encoding inside the certificate.
pub(crate) fn generalized_text(time: &Time) -> String {
    let dt = time.to_date_time();
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minutes(),
        dt.seconds()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_time_until_2049_then_generalized() {
        // 2049-12-31T23:59:59Z and 2050-01-01T00:00:00Z
        let last_utc = 2_524_607_999;
        assert!(matches!(to_time(last_utc), Ok(Time::UtcTime(_))));
        assert!(matches!(to_time(last_utc + 1), Ok(Time::GeneralTime(_))));
        assert_eq!(
            generalized_text(&to_time(last_utc).unwrap()),
            "20491231235959Z"
        );
        assert_eq!(
            generalized_text(&to_time(last_utc + 1).unwrap()),
            "20500101000000Z"
        );
        assert_eq!(to_unix(&to_time(last_utc).unwrap()), last_utc);
    }

    #[test]
    fn out_of_range_is_an_error() {
        assert!(matches!(to_time(u64::MAX / 2), Err(PkiError::Validity(_))));
        assert!(add_days(u64::MAX - 10, 1).is_err());
        assert_eq!(add_days(0, 2).unwrap(), 2 * SECONDS_PER_DAY);
    }
}
