//! The terminal side of `signet sign`: secrets from the environment or a prompt without echo,
//! the progress bar, the spinner while a signer approves elsewhere, and the browser.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use zeroize::Zeroizing;

/// Whether we may ask: both standard input and standard error are a terminal.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// A secret from `var`, else a prompt without echo, else a clear error. A one-time code from
/// the environment serves one authorization only: the next group of a batch asks again.
pub fn secret(var: &str, what: &str, one_time: bool) -> anyhow::Result<Zeroizing<String>> {
    let set = std::env::var_os(var).filter(|v| !v.is_empty());
    let used_up = set.is_some() && one_time && !take_once(var);
    match set {
        Some(value) if !used_up => Ok(Zeroizing::new(value.to_string_lossy().into_owned())),
        _ if used_up && !interactive() => anyhow::bail!(
            "a new {what} is needed for the next authorization: the one in {var} was used \
             already and there is no terminal to ask on (sign fewer documents at once, or \
             run on a terminal)"
        ),
        _ => prompt_secret(var, what),
    }
}

fn prompt_secret(var: &str, what: &str) -> anyhow::Result<Zeroizing<String>> {
    if !interactive() {
        anyhow::bail!(
            "{what} needed: set {var} in the environment (there is no terminal to ask on)"
        );
    }
    let value = rpassword::prompt_password(format!("{what}: "))
        .map(Zeroizing::new)
        .map_err(|e| anyhow::anyhow!("reading the {what} from the terminal: {e}"))?;
    if value.is_empty() {
        anyhow::bail!("no {what} entered");
    }
    Ok(value)
}

/// A plain (echoed) value: the one already settled (command line, environment, profile),
/// else a prompt, else a clear error naming `var`.
pub fn plain(var: &str, settled: Option<&str>, what: &str) -> anyhow::Result<String> {
    if let Some(v) = settled {
        return Ok(v.to_owned());
    }
    if !interactive() {
        anyhow::bail!("{what} needed: set {var} in the environment or save it in a profile");
    }
    eprint!("{what}: ");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let line = line.trim().to_owned();
    if line.is_empty() {
        anyhow::bail!("no {what} entered");
    }
    Ok(line)
}

/// True the first time `var` is taken: a one-time code from the environment serves one
/// authorization only; the next group of a batch asks again.
fn take_once(var: &str) -> bool {
    use std::sync::Mutex;
    static TAKEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut taken = TAKEN.lock().unwrap_or_else(|p| p.into_inner());
    if taken.iter().any(|t| t == var) {
        false
    } else {
        taken.push(var.to_owned());
        true
    }
}

/// The batch progress bar: count, rate and ETA on a terminal; nothing when stderr is not one
/// or with --quiet.
pub fn progress(total: u64, quiet: bool) -> ProgressBar {
    let target = if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{bar:30}] {pos}/{len} documents  {per_sec}  ETA {eta}  {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A spinner while the signer approves elsewhere.
pub fn spinner(quiet: bool) -> ProgressBar {
    let target = if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Opens `url` in the system browser: `$BROWSER` (`none` to never open one), else xdg-open
/// or open. Returns whether a browser was started.
pub fn open_browser(url: &str) -> bool {
    let candidates: Vec<String> = match std::env::var("BROWSER") {
        Ok(b) if b.trim().is_empty() || b.trim() == "none" => return false,
        Ok(b) => b.split(':').map(str::to_owned).collect(),
        Err(_) if cfg!(target_os = "macos") => vec!["open".into()],
        Err(_) => vec!["xdg-open".into()],
    };
    candidates.iter().any(|program| {
        std::process::Command::new(program)
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .is_ok()
    })
}
