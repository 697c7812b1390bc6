//! Where key-module calls run, off the async workers.
//!
//! The software key module is pure CPU (an ECDSA P-256 signature is a few microseconds), so
//! running more signing calls at once than there are cores only adds context switches. Worse,
//! tokio's blocking pool keeps one thread per concurrent call behind one queue lock: with 32
//! concurrent 64-hash signHash requests on two cores, `signet bench` found the async workers
//! stalled on that lock (in `spawn_blocking`) while 32 signing threads time-shared the cores,
//! which were then busy only 1.6 of 2. A fixed set of one thread per core fed by a queue keeps
//! them busy (1.9 of 2, batch ECDSA from 55–66 % to 68–75 % of the raw key-module rate): a
//! thread that finishes a call takes the next queued one without a round trip through the
//! async side.
//!
//! The same holds for a PKCS#11 module: its pool has a fixed number of sessions, and a call
//! without a session only waits on the pool's condition variable, so the SAM runs as many
//! threads as the module has sessions ([`signet_keys::KeyModule::concurrency`]). With
//! SoftHSM2 (CPU-bound, in process) the blocking pool kept 1.2 of 2 cores busy in batch
//! signHash. A module that names no limit keeps tokio's elastic blocking pool.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};

use crate::SamError;

type Job = Box<dyn FnOnce() + Send>;

/// Runs blocking key-module calls.
pub(crate) enum Signer {
    /// A fixed pool, one thread per call the key module runs at once.
    Threads(mpsc::Sender<Job>),
    /// tokio's blocking pool, one thread per concurrent call.
    Blocking,
}

impl Signer {
    /// A pool of `concurrency` threads, else (`None`) tokio's blocking pool. The pool's
    /// threads end when the [`Signer`] is dropped (their queue closes).
    pub(crate) fn new(concurrency: Option<usize>) -> Self {
        let Some(threads) = concurrency.filter(|n| *n > 0) else {
            return Self::Blocking;
        };
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        let mut started = 0;
        for i in 0..threads {
            let jobs = Arc::clone(&jobs);
            let spawned = std::thread::Builder::new()
                .name(format!("signet-sign-{i}"))
                .spawn(move || {
                    loop {
                        // One idle thread waits on the queue; the others wait for the lock.
                        let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        let Ok(job) = job else {
                            break;
                        };
                        // A panicking key module must not shrink the pool: the caller sees
                        // its reply channel close instead.
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                    }
                });
            if spawned.is_ok() {
                started += 1;
            }
        }
        if started == 0 {
            tracing::warn!("cannot start signing threads; using the blocking pool");
            return Self::Blocking;
        }
        Self::Threads(queue)
    }

    /// Runs `call` off the async workers and waits for its result.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, SamError> {
        let failed = || SamError::Internal("signing task failed".into());
        match self {
            Self::Threads(queue) => {
                let (reply, result) = tokio::sync::oneshot::channel();
                queue
                    .send(Box::new(move || {
                        let _ = reply.send(call());
                    }))
                    .map_err(|_| failed())?;
                result.await.map_err(|_| failed())
            }
            Self::Blocking => tokio::task::spawn_blocking(call)
                .await
                .map_err(|_| failed()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_calls_on_both_kinds() {
        for concurrency in [Some(2), Some(1), None] {
            let signer = Signer::new(concurrency);
            let results = run_all(&signer).await;
            assert_eq!(results, (0..16).map(|i| i * 2).collect::<Vec<_>>());
        }
    }

    async fn run_all(signer: &Signer) -> Vec<u32> {
        let mut out = Vec::new();
        for i in 0..16u32 {
            out.push(signer.run(move || i * 2).await.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn a_panicking_call_fails_without_killing_the_pool() {
        let threads = 2;
        let signer = Signer::new(Some(threads));
        for _ in 0..threads + 1 {
            assert!(
                signer
                    .run(|| -> u8 { panic!("key module bug") })
                    .await
                    .is_err()
            );
        }
        assert_eq!(signer.run(|| 7).await.unwrap(), 7);
    }
}
