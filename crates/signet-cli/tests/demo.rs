//! `signet demo` as a new user meets it: the examples it prints are run as printed, from a
//! folder outside the repository, and must work — the CSC and DSS-X curl calls, then the DSS-X
//! answer checked against the XSD, a PDF signed with pyHanko's CSC client through the
//! repository's driver, and that PDF accepted by pyHanko and pdfsig (`tests/interop/`).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::interop::{interop, run};
use common::*;

/// Kills the demo when the test ends, however it ends.
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The lines after the line containing `start` up to (not including) the first line that
/// contains `end`, minus prose: what the user is told to paste into a shell.
fn block(banner: &str, start: &str, end: &str) -> String {
    banner
        .lines()
        .skip_while(|l| !l.contains(start))
        .skip(1)
        .take_while(|l| !l.contains(end))
        .collect::<Vec<_>>()
        .join("\n")
}

fn bash(script: &str, cwd: &std::path::Path) -> (bool, String) {
    run(Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(cwd)
        // The printed commands rely on nothing from the test's environment.
        .env_remove("INTEROP_VENV"))
}

#[test]
fn demo_prints_examples_that_work_from_anywhere() {
    let Some(_tools) = interop() else { return };
    let outside = tempfile::tempdir().expect("tempdir");
    let mut demo = Demo(
        Command::new(SIGNET)
            .args(["demo", "--listen", "127.0.0.1:0"])
            .current_dir(outside.path())
            // The demo's data directory goes under this test's temporary folder.
            .env("TMPDIR", outside.path())
            .env_remove("SIGNET_DATA")
            .env_remove("SIGNET_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start signet demo"),
    );
    let stdout = demo.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut banner = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let last = line.contains("Press Ctrl-C to stop.");
            banner.push_str(&line);
            banner.push('\n');
            if last {
                let _ = tx.send(banner);
                return;
            }
        }
    });
    let banner = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the demo printed its banner");
    assert!(banner.contains("credential ID"), "{banner}");

    // Outside the repository the demo says where to run the interop examples from.
    let repo = common::interop::workspace_root();
    assert!(
        banner.contains(&format!("cd {}", repo.display())),
        "{banner}"
    );

    // `signet sign` as printed, on a PDF of the test's, with the PIN and the current code in
    // the environment (the printed line asks for them on a terminal).
    let sign = block(
        &banner,
        "YOUR-signed.pdf is written beside it",
        "Try it (copy-paste",
    );
    std::fs::write(
        outside.path().join("YOUR.pdf"),
        common::doc_signer::minimal_pdf(),
    )
    .expect("write YOUR.pdf");
    let field = |name: &str| {
        banner
            .lines()
            .find_map(|l| l.trim_start().strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no {name} in the banner: {banner}"))
            .to_owned()
    };
    let secret = data_encoding::BASE32_NOPAD
        .decode(field("TOTP secret").as_bytes())
        .expect("Base32 TOTP secret");
    let step = unix_now() / 30;
    let (ok, out) = bash(
        &format!(
            "export SIGNET_PIN={} SIGNET_OTP={}\n{sign}",
            field("PIN"),
            totp_code(&secret, step)
        ),
        outside.path(),
    );
    assert!(ok, "the signet sign example failed:\n{sign}\n---\n{out}");
    assert!(out.contains("signed 1 of 1 document"), "{out}");
    let (ok, out) = _tools.validate(&[
        std::path::Path::new("pades"),
        &outside.path().join("YOUR-signed.pdf"),
        std::path::Path::new(&field("CA certificate")),
    ]);
    assert!(ok, "{out}");
    // The curl example's code must be a later one.
    let wait = Duration::from_secs(((step + 1) * 30 - unix_now()).max(0) as u64 + 1);
    std::thread::sleep(wait);

    let curl = block(&banner, "Try it (copy-paste", "Check the DSS-X answer");
    let (ok, out) = bash(&curl, outside.path());
    assert!(ok, "the curl examples failed:\n{curl}\n---\n{out}");
    assert!(out.contains(r#""signatures":["#), "signHash answer: {out}");
    assert!(
        out.contains("urn:oasis:names:tc:dss:1.0:resultmajor:Success"),
        "DSS-X answer: {out}"
    );

    // The TOTP code the curl example used is spent: the next one comes with the next step.
    let next_step = (unix_now() / 30 + 1) * 30;
    let wait = Duration::from_secs((next_step - unix_now()).max(0) as u64 + 1);
    std::thread::sleep(wait);

    let interop = block(&banner, "at most 30 s)", "Press Ctrl-C to stop.");
    let started = Instant::now();
    let (ok, out) = bash(&interop, outside.path());
    assert!(
        ok,
        "the interop examples failed after {:?}:\n{interop}\n---\n{out}",
        started.elapsed()
    );
    assert!(out.contains("dss-response.xml validates"), "{out}");
    assert!(out.contains(":VALID"), "pyHanko: {out}");
    assert!(out.contains("Signature is Valid."), "pdfsig: {out}");
}
