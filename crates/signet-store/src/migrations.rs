//! Schema migration bookkeeping, the same for both backends (their DDL differs and stays in
//! `sqlite/schema.rs` and `postgres/schema.rs`): steps are numbered and recorded in
//! `schema_version`, one row per applied step, and applied in one transaction, so a database is
//! either fully at a version or untouched.

use crate::StoreError;

/// A backend's schema steps, in order: (version, DDL). Never edit a released step: add one.
pub(crate) type Migrations = &'static [(i64, &'static str)];

/// The version a database is at (0: empty).
pub(crate) const CURRENT_VERSION: &str = "SELECT COALESCE(MAX(version), 0) FROM schema_version";

/// Records an applied step: `$1` version, `$2` time.
pub(crate) const RECORD_VERSION: &str =
    "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)";

/// The newest version of `migrations`.
pub(crate) const fn latest(migrations: Migrations) -> i64 {
    match migrations.last() {
        Some((version, _)) => *version,
        None => 0,
    }
}

/// The steps a database at `current` still needs, in order. A database from a newer Signet is
/// refused, never downgraded.
pub(crate) fn pending(
    migrations: Migrations,
    current: i64,
) -> Result<impl Iterator<Item = &'static (i64, &'static str)>, StoreError> {
    let latest = latest(migrations);
    if current > latest {
        return Err(StoreError::Database(format!(
            "database schema version {current} is newer than this build supports ({latest})"
        )));
    }
    Ok(migrations.iter().filter(move |(v, _)| *v > current))
}
