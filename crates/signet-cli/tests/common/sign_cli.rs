//! Running `signet sign` / `signet credentials` as a user would, for the client tests.

use std::path::Path;
use std::process::{Command, Output, Stdio};

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
