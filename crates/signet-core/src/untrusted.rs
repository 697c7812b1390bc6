//! Values that came from a request, made safe to log.
//!
//! The text log writes a field's `Display` as it is: a request value with a newline in it would
//! start a line of its own and could pass for one Signet wrote (the outside probe forged a log
//! line through `signAlgo` this way). Wrap every request-derived value in [`Untrusted`] before
//! it reaches a `tracing` macro.

use std::fmt::{self, Display, Write};

/// Most characters of an untrusted value a log line shows; the rest is cut, marked by `…`.
pub const MAX_LOGGED_CHARS: usize = 128;

/// Displays a value that came from a request: every control character (newlines, escape
/// sequences), quote, backslash and invisible character escaped as [`char::escape_debug`]
/// does, and at most [`MAX_LOGGED_CHARS`] characters of it, then `…`.
///
/// `tracing::debug!(value = %Untrusted(text), "...")`; anything that is `Display` works, so an
/// error message that may quote a request is wrapped the same way.
#[derive(Debug, Clone, Copy)]
pub struct Untrusted<T>(pub T);

impl<T: Display> Display for Untrusted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Escaper {
            inner: f,
            left: MAX_LOGGED_CHARS,
            cut: false,
        };
        let result = write!(out, "{}", self.0);
        if out.cut {
            // The error was our own signal that the cap was reached.
            return f.write_char('…');
        }
        result
    }
}

/// Most characters of an error message sent back to a client (CSC `error_description`, DSS-X
/// `ResultMessage`); they may quote a request value, and a client sending megabytes should not
/// get them echoed back.
pub const MAX_MESSAGE_CHARS: usize = 512;

/// `message` cut to [`MAX_MESSAGE_CHARS`] characters, then `…`. The message travels as a JSON
/// string or XML text, whose encoders escape it; only its length needs a bound.
pub fn cap_message(message: String) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        None => message,
        Some((cut, _)) => {
            let mut capped = message;
            capped.truncate(cut);
            capped.push('…');
            capped
        }
    }
}

/// Escapes what passes through and stops (with an error, the only way to stop `write!`) once
/// the cap is reached.
struct Escaper<'a, 'b> {
    inner: &'a mut fmt::Formatter<'b>,
    left: usize,
    cut: bool,
}

impl Write for Escaper<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.left == 0 {
                self.cut = true;
                return Err(fmt::Error);
            }
            self.left -= 1;
            for e in c.escape_debug() {
                self.inner.write_char(e)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        let forged = "1.2.3\n2026-01-01T00:00:00Z  INFO signet: admin logged in\r\x1b[2J";
        let shown = Untrusted(forged).to_string();
        assert_eq!(
            shown,
            "1.2.3\\n2026-01-01T00:00:00Z  INFO signet: admin logged in\\r\\u{1b}[2J"
        );
        assert!(!shown.contains('\n') && !shown.contains('\r') && !shown.contains('\x1b'));
        assert_eq!(Untrusted("a\"b\\c").to_string(), "a\\\"b\\\\c");
        // Invisible and direction-changing characters too.
        assert_eq!(Untrusted("x\u{202e}y").to_string(), "x\\u{202e}y");
        assert_eq!(Untrusted("plain 1.2.840").to_string(), "plain 1.2.840");
    }

    #[test]
    fn long_values_are_cut_with_an_ellipsis() {
        let exact = "a".repeat(MAX_LOGGED_CHARS);
        assert_eq!(Untrusted(&exact).to_string(), exact);
        let long = "é".repeat(MAX_LOGGED_CHARS + 1);
        let shown = Untrusted(&long).to_string();
        assert_eq!(shown, format!("{}…", "é".repeat(MAX_LOGGED_CHARS)));
        // The cap counts characters of the value, not of its escapes.
        let newlines = "\n".repeat(MAX_LOGGED_CHARS + 5);
        assert_eq!(
            Untrusted(&newlines).to_string(),
            format!("{}…", "\\n".repeat(MAX_LOGGED_CHARS))
        );
    }

    #[test]
    fn messages_are_capped() {
        let exact = "x".repeat(MAX_MESSAGE_CHARS);
        assert_eq!(cap_message(exact.clone()), exact);
        let long = format!(
            "Unsupported hash algorithm {}",
            "ü".repeat(MAX_MESSAGE_CHARS)
        );
        let capped = cap_message(long.clone());
        assert_eq!(capped.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(capped.ends_with('…'));
        assert!(long.starts_with(capped.trim_end_matches('…')));
    }

    #[test]
    fn any_display_is_wrapped() {
        let err = std::io::Error::other("bad\nline");
        assert_eq!(Untrusted(&err).to_string(), "bad\\nline");
        assert_eq!(Untrusted(1234).to_string(), "1234");
    }
}
