//! Running `signet sign` / `signet credentials` as a user would, for the client tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::doc_signer::minimal_pdf;
use super::interop::interop;
use super::{SIGNET, TestUser};

/// `signet ARGS` as a client in `cwd`: no inherited secrets or server, the profile file in
/// `cwd`, no browser; `env` on top.
pub fn client_command(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> Command {
    let mut cmd = Command::new(SIGNET);
    cmd.args(args).current_dir(cwd);
    for var in [
        "SIGNET_USER",
        "SIGNET_PASSWORD",
        "SIGNET_PIN",
        "SIGNET_OTP",
        "SIGNET_SERVER",
        "SIGNET_CLIENT_ID",
        "SIGNET_CLIENT_SECRET",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("SIGNET_CLIENT_CONFIG", cwd.join("client.toml"))
        .env("BROWSER", "none");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// [`client_command`] run to the end with standard input not a terminal.
pub fn client(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> Output {
    client_command(args, env, cwd)
        .stdin(Stdio::null())
        .output()
        .expect("run signet sign")
}

/// Exit code, standard output and standard error, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The environment of a signer who signs in with a password and authorizes with a PIN.
pub fn signer_env<'a>(user: &'a TestUser, pin: &'a str) -> [(&'static str, &'a str); 3] {
    [
        ("SIGNET_USER", &user.username),
        ("SIGNET_PASSWORD", &user.password),
        ("SIGNET_PIN", pin),
    ]
}

/// Writes `bytes` to `dir/name`; the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// One document of each format: PDF, XML, JSON, text.
pub fn documents(dir: &Path) -> Vec<PathBuf> {
    vec![
        write(dir, "contract.pdf", &minimal_pdf()),
        write(
            dir,
            "invoice.xml",
            b"<?xml version=\"1.0\"?>\n<Invoice xmlns=\"urn:example:invoice\"><Total>117.00</Total></Invoice>\n",
        ),
        write(dir, "claims.json", br#"{"order": 117, "total": "117.00"}"#),
        write(dir, "report.txt", b"Quarterly report, signed.\n"),
    ]
}

/// The third-party validators' judgement of one signed output (`validate.sh`), by its name:
/// `.pdf` PAdES, `.p7m`/`.p7s` CAdES, `.xml` XAdES, else JAdES; `detached` when `input` is the
/// signed content beside it.
pub fn judge(out: &Path, input: &Path, ca: &Path, detached: bool) {
    let Some(tools) = interop() else { return };
    let name = out.file_name().unwrap().to_str().unwrap();
    let (ok, log) = if name.ends_with(".pdf") {
        tools.validate(&[Path::new("pades"), out, ca])
    } else if name.ends_with(".p7m") {
        tools.validate(&[Path::new("cades"), out, Path::new("-"), ca])
    } else if name.ends_with(".p7s") {
        tools.validate(&[Path::new("cades"), out, input, ca])
    } else if name.ends_with(".xml") && detached {
        tools.validate(&[Path::new("xades"), out, ca, input])
    } else if name.ends_with(".xml") {
        tools.validate(&[Path::new("xades"), out, ca])
    } else if detached {
        tools.validate(&[Path::new("jades"), out, ca, input])
    } else {
        tools.validate(&[Path::new("jades"), out, ca])
    };
    assert!(ok, "{name} rejected by the validators:\n{log}");
}
