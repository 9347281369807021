//! The runner: one thread per call, `catch_unwind`, a watchdog, and verdict counts.

use std::fmt::{self, Debug, Display};
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde::Serialize;

use crate::finite::first_non_finite;

/// The verdict of one call, as judged by the closure that made it.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum Check {
    /// The call returned `Ok` and the result was checked: finite, invariants intact.
    Ok,
    /// The call returned a typed error (or a documented non-`Ok` status).
    Rejected,
    /// The call returned `Ok` holding a non-finite number (where, and the value).
    NonFinite(String),
    /// The call returned `Ok` with a broken invariant (which, in words).
    Broken(String),
}

impl Check {
    /// `Ok` if `value` holds no NaN or infinity anywhere, else [`Check::NonFinite`].
    pub fn ok_finite<T: Serialize + ?Sized>(value: &T) -> Check {
        finite(value)
    }

    /// `Ok` if `cond`, else [`Check::Broken`] with `what`.
    pub fn invariant(cond: bool, what: impl Into<String>) -> Check {
        if cond {
            Check::Ok
        } else {
            Check::Broken(what.into())
        }
    }

    /// The first failing verdict of `self` and `next` (`Ok`/`Rejected` pass through to `next`).
    pub fn and(self, next: impl FnOnce() -> Check) -> Check {
        match self {
            Check::Ok => next(),
            other => other,
        }
    }
}

/// `Ok` if `value` holds no NaN or infinity anywhere (walked through its `Serialize` impl),
/// else [`Check::NonFinite`] naming the field.
pub fn finite<T: Serialize + ?Sized>(value: &T) -> Check {
    match first_non_finite(value) {
        None => Check::Ok,
        Some(at) => Check::NonFinite(at.to_string()),
    }
}

/// Judges a `Result`: an error is [`Check::Rejected`]; an `Ok` must be finite throughout.
pub fn result<T: Serialize, E: Display>(r: Result<T, E>) -> Check {
    match r {
        Ok(v) => finite(&v),
        Err(_) => Check::Rejected,
    }
}

/// [`result`], then `invariants` on the `Ok` value (an `Err(message)` is [`Check::Broken`]).
pub fn result_with<T: Serialize, E: Display>(
    r: Result<T, E>,
    invariants: impl FnOnce(&T) -> Result<(), String>,
) -> Check {
    match r {
        Ok(v) => finite(&v).and(|| match invariants(&v) {
            Ok(()) => Check::Ok,
            Err(m) => Check::Broken(m),
        }),
        Err(_) => Check::Rejected,
    }
}

/// Random cases per sweep: `PRUDENTIA_ADVERSARIAL_CASES`, default 48.
pub fn cases() -> u32 {
    std::env::var("PRUDENTIA_ADVERSARIAL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

fn timeout() -> Duration {
    let s = std::env::var("PRUDENTIA_ADVERSARIAL_TIMEOUT_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30u64);
    Duration::from_secs(s)
}

/// Verdict counts of a [`Suite`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Calls made.
    pub calls: u64,
    /// Calls that returned a checked `Ok`.
    pub ok: u64,
    /// Calls that returned a typed error or status.
    pub rejected: u64,
    /// Calls that panicked.
    pub panics: u64,
    /// Calls that did not return within the watchdog's time.
    pub hangs: u64,
    /// Calls whose `Ok` held a non-finite number.
    pub non_finite: u64,
    /// Calls whose `Ok` broke an invariant.
    pub broken: u64,
}

impl Counts {
    /// Panics + hangs + non-finite + broken.
    pub fn failures(&self) -> u64 {
        self.panics + self.hangs + self.non_finite + self.broken
    }
}

impl Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} calls: {} ok, {} rejected, {} panics, {} hangs, {} non-finite, {} broken",
            self.calls, self.ok, self.rejected, self.panics, self.hangs, self.non_finite, self.broken
        )
    }
}

/// Runs adversarial calls and counts their verdicts; [`Suite::finish`] fails the test if any
/// call panicked, hung, or returned a non-finite or broken `Ok`.
#[derive(Debug)]
pub struct Suite {
    name: String,
    counts: Counts,
    failures: Vec<String>,
    timeout: Duration,
}

enum Ran {
    Done(Check),
    Panicked(String),
    Hung,
}

fn run_guarded(f: Box<dyn FnOnce() -> Check + Send>, limit: Duration) -> Ran {
    let (tx, rx) = mpsc::channel();
    let spawned = thread::Builder::new()
        .name("adversarial-call".into())
        .spawn(move || {
            let r = panic::catch_unwind(AssertUnwindSafe(f));
            let _ = tx.send(r);
        });
    if let Err(e) = spawned {
        return Ran::Panicked(format!("could not spawn the call's thread: {e}"));
    }
    match rx.recv_timeout(limit) {
        Ok(Ok(check)) => Ran::Done(check),
        Ok(Err(payload)) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "<non-string panic payload>".to_string());
            Ran::Panicked(msg)
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Ran::Hung,
        Err(mpsc::RecvTimeoutError::Disconnected) => Ran::Panicked("the call's thread died".into()),
    }
}

impl Suite {
    /// A suite for one crate (`name` appears in the summary line).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            counts: Counts::default(),
            failures: Vec::new(),
            timeout: timeout(),
        }
    }

    /// Runs `f` on its own thread under `catch_unwind` and the watchdog, and records its verdict.
    pub fn check<F>(&mut self, label: impl Into<String>, f: F)
    where
        F: FnOnce() -> Check + Send + 'static,
    {
        let label = label.into();
        self.counts.calls += 1;
        match run_guarded(Box::new(f), self.timeout) {
            Ran::Done(Check::Ok) => self.counts.ok += 1,
            Ran::Done(Check::Rejected) => self.counts.rejected += 1,
            Ran::Done(Check::NonFinite(at)) => {
                self.counts.non_finite += 1;
                self.failures.push(format!("non-finite Ok: {label}: {at}"));
            }
            Ran::Done(Check::Broken(what)) => {
                self.counts.broken += 1;
                self.failures.push(format!("broken invariant: {label}: {what}"));
            }
            Ran::Panicked(msg) => {
                self.counts.panics += 1;
                self.failures.push(format!("panic: {label}: {msg}"));
            }
            Ran::Hung => {
                self.counts.hangs += 1;
                self.failures
                    .push(format!("hang (> {:?}): {label}", self.timeout));
            }
        }
    }

    /// A seeded sweep: `cases()` values drawn from `strategy` (ChaCha, seed from `label`), each
    /// passed to `f` under [`Suite::check`]. The failing value is printed with its label.
    pub fn sweep<S, F>(&mut self, label: &str, strategy: S, f: F)
    where
        S: Strategy,
        S::Value: Debug + Send + 'static,
        F: Fn(S::Value) -> Check + Send + Sync + 'static,
    {
        let mut seed = [0u8; 32];
        for (i, b) in label.bytes().enumerate() {
            seed[i % 32] = seed[i % 32].wrapping_mul(31).wrapping_add(b);
        }
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed);
        let mut runner = TestRunner::new_with_rng(Config::default(), rng);
        let f = Arc::new(f);
        for case in 0..cases() {
            let value = match strategy.new_tree(&mut runner) {
                Ok(tree) => tree.current(),
                Err(e) => {
                    self.counts.calls += 1;
                    self.counts.broken += 1;
                    self.failures.push(format!("strategy failed: {label}: {e}"));
                    return;
                }
            };
            let shown = format!("{label} #{case}: {value:?}");
            let shown: String = shown.chars().take(400).collect();
            let f = Arc::clone(&f);
            self.check(shown, move || f(value));
        }
    }

    /// Checkpoint mutation: serializes `value` to JSON, makes every mutation of
    /// [`crate::mutate::mutations`], and passes each mutated text to `load_and_use` (which
    /// deserializes it and uses the result). The unmutated text must pass too.
    pub fn checkpoint<T, F>(&mut self, label: &str, value: &T, load_and_use: F)
    where
        T: Serialize,
        F: Fn(String) -> Check + Send + Sync + 'static,
    {
        let json = match serde_json::to_value(value) {
            Ok(v) => v,
            Err(e) => {
                self.counts.calls += 1;
                self.counts.broken += 1;
                self.failures
                    .push(format!("cannot serialize the checkpoint {label}: {e}"));
                return;
            }
        };
        let f = Arc::new(load_and_use);
        let original = json.to_string();
        {
            let f = Arc::clone(&f);
            self.check(format!("{label}: unmutated"), move || match f(original) {
                Check::Rejected => Check::Broken("the unmutated checkpoint does not load".into()),
                other => other,
            });
        }
        for (what, text) in crate::mutate::mutations(&json) {
            let f = Arc::clone(&f);
            self.check(format!("{label}: {what}"), move || f(text));
        }
    }

    /// The counts so far.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Prints the summary line and fails (panics, in the test) listing every failure, if any.
    pub fn finish(self) {
        eprintln!("adversarial {}: {}", self.name, self.counts);
        if !self.failures.is_empty() {
            let shown: Vec<&String> = self.failures.iter().take(60).collect();
            panic!(
                "adversarial {}: {} failures ({}):\n{}",
                self.name,
                self.failures.len(),
                self.counts,
                shown
                    .iter()
                    .map(|s| format!("  - {s}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}
