//! Progress on standard error, so that standard output carries only the results (table or JSON).
//!
//! On a terminal a line is redrawn every quarter second ("batch ecdsa-p256: 3.0 s / 10 s");
//! otherwise (CI logs) each scenario prints one line when its timer starts and one when it ends.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A setup or status message.
pub fn note(text: &str) {
    eprintln!("{text}");
}

/// The running progress line of one timed scenario.
pub struct Progress {
    label: String,
    started: Instant,
    stop: Option<oneshot::Sender<()>>,
    ticker: Option<JoinHandle<()>>,
}

impl Progress {
    pub fn start(label: &str, duration: Duration) -> Self {
        let started = Instant::now();
        let (stop, mut stopped) = oneshot::channel::<()>();
        let on_terminal = std::io::stderr().is_terminal();
        if !on_terminal {
            eprintln!("{label}: timing {} s", seconds(duration));
        }
        let ticker = on_terminal.then(|| {
            let label = label.to_owned();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(250));
                loop {
                    tokio::select! {
                        _ = tick.tick() => {
                            let mut err = std::io::stderr().lock();
                            let _ = write!(
                                err,
                                "\r\x1b[2K{label}: {:.1} s / {} s",
                                started.elapsed().as_secs_f64(),
                                seconds(duration)
                            );
                            let _ = err.flush();
                        }
                        _ = &mut stopped => break,
                    }
                }
            })
        });
        Self {
            label: label.to_owned(),
            started,
            stop: Some(stop),
            ticker,
        }
    }

    /// Ends the line with the measured time and a short summary.
    pub async fn finish(mut self, summary: &str) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let on_terminal = match self.ticker.take() {
            Some(ticker) => {
                let _ = ticker.await;
                true
            }
            None => false,
        };
        let prefix = if on_terminal { "\r\x1b[2K" } else { "" };
        eprintln!(
            "{prefix}{}: {:.1} s, {summary}",
            self.label,
            self.started.elapsed().as_secs_f64()
        );
    }
}

/// `10` rather than `10.0`, `0.5` as is.
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.1}")
    }
}
