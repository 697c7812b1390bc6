//! Where the third-party oracles are: the repository's `tests/interop/` (validate.sh, the pyHanko
//! CSC driver, the PDF maker) and the Python venv its setup.sh makes (env INTEROP_VENV, default
//! target/interop-venv).
//!
//! The README's test command installs them and sets SIGNET_REQUIRE_INTEROP, so CI cannot skip.
//! A bare `cargo test` on a machine without them says SKIPPED and passes.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// The venv tests/interop/setup.sh makes.
pub fn venv() -> PathBuf {
    std::env::var_os("INTEROP_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/interop-venv"))
}

/// The located interop tools.
pub struct Interop {
    pub venv: PathBuf,
    pub kit: PathBuf,
}

impl Interop {
    pub fn python(&self) -> PathBuf {
        self.venv.join("bin/python")
    }

    pub fn validate_sh(&self) -> PathBuf {
        self.kit.join("validate.sh")
    }

    /// `validate.sh KIND ARGS...`.
    pub fn validate(&self, args: &[&Path]) -> (bool, String) {
        let mut cmd = Command::new("bash");
        cmd.arg(self.validate_sh())
            .args(args)
            .env("INTEROP_VENV", &self.venv);
        run(&mut cmd)
    }
}

/// Runs a validator: whether it succeeded, and everything it printed.
pub fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("run validator");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The interop tools, or `None` (the caller skips) when they are missing and
/// SIGNET_REQUIRE_INTEROP is unset; with it set, missing tools fail the test.
pub fn interop() -> Option<Interop> {
    let venv = venv();
    let kit = workspace_root().join("tests/interop");
    if venv.join("bin/pyhanko").exists() && kit.join("validate.sh").exists() {
        return Some(Interop { venv, kit });
    }
    let msg = format!(
        "interop tools missing (venv {}, kit {}): run tests/interop/setup.sh or the README test command",
        venv.display(),
        kit.display()
    );
    if std::env::var_os("SIGNET_REQUIRE_INTEROP").is_some() {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}
