//! Replay of recorded decisions and policy diff, generic over a decide/learn policy.
//!
//! Replay feeds a policy the recorded raw snapshots of a range in order, with the recorded
//! outcomes in between, and compares each decision with the recorded one through their
//! exact serialized bytes (serde_json with `float_roundtrip` writes every `f64` so that it
//! parses back to the same bits, so equal bytes mean bit-identical decisions). Because
//! `decide` never learns and every random choice is seeded, a pipeline restored to the
//! state it had at the start of the range reproduces the range exactly.

use std::collections::BTreeSet;
use std::fmt::Display;

use prudentia_core::{AssetId, Decision, MarketSnapshot, Outcome, Timestamp, Weights};
use serde::{Deserialize, Serialize};

use crate::finite::first_non_finite;
use crate::log::LoggedDecision;

/// A decision policy that replay and diff can drive: a pipeline, or anything else.
pub trait ReplayPolicy {
    /// The policy's error.
    type Error: Display;
    /// Decides on one raw snapshot (must not learn).
    fn decide(&mut self, snapshot: &MarketSnapshot) -> Result<Decision, Self::Error>;
    /// Learns from one outcome. Default: ignored.
    fn learn(&mut self, outcome: &Outcome) -> Result<(), Self::Error> {
        let _ = outcome;
        Ok(())
    }
}

/// A [`ReplayPolicy`] from a decide closure `FnMut(&MarketSnapshot) -> Result<Decision, E>`
/// (outcomes are ignored).
#[derive(Debug, Clone)]
pub struct DecideFn<F>(pub F);

impl<F, E> ReplayPolicy for DecideFn<F>
where
    F: FnMut(&MarketSnapshot) -> Result<Decision, E>,
    E: Display,
{
    type Error = E;
    fn decide(&mut self, snapshot: &MarketSnapshot) -> Result<Decision, E> {
        (self.0)(snapshot)
    }
}

/// The first place where a replayed decision differs from the recorded one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayDifference {
    /// Sequence number of the recorded decision in the log.
    pub sequence: u64,
    /// The pipeline's decision number in the record.
    pub decision_number: u64,
    /// Decision time.
    pub time: Timestamp,
    /// The first differing field of the decision (`status`, `regime`, `forecasts`,
    /// `selected`, `target`, `sized`, `orders`, `time`), or `decide error` / `learn error`
    /// when the policy failed where the recorded run did not.
    pub field: String,
    /// The recorded value (JSON, cut at 500 characters).
    pub recorded: String,
    /// The replayed value (JSON, or the error message, cut at 500 characters).
    pub replayed: String,
}

/// Result of [`replay`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[must_use]
pub struct ReplayReport {
    /// Decisions replayed.
    pub decisions: usize,
    /// Of which bit-identical to the recorded ones.
    pub identical: usize,
    /// Outcomes fed to the policy.
    pub outcomes: usize,
    /// The first difference, if any.
    pub first_difference: Option<ReplayDifference>,
    /// Whether the replay stopped early because the policy returned an error.
    pub stopped: bool,
}

impl ReplayReport {
    /// Whether every decision was bit-identical.
    pub fn is_identical(&self) -> bool {
        self.first_difference.is_none() && !self.stopped
    }
}

fn cut(mut s: String) -> String {
    if s.len() > 500 {
        let mut at = 500;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
        s.push('…');
    }
    s
}

fn json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|e| format!("<unserializable: {e}>"))
}

/// The first differing field of two decisions, as `(field, recorded, replayed)` JSON.
fn first_field_difference(a: &Decision, b: &Decision) -> Option<(&'static str, String, String)> {
    let fields: [(&'static str, String, String); 8] = [
        ("time", json(&a.time), json(&b.time)),
        ("status", json(&a.status), json(&b.status)),
        ("regime", json(&a.regime), json(&b.regime)),
        ("forecasts", json(&a.forecasts), json(&b.forecasts)),
        ("selected", json(&a.selected), json(&b.selected)),
        ("target", json(&a.target), json(&b.target)),
        ("sized", json(&a.sized), json(&b.sized)),
        ("orders", json(&a.orders), json(&b.orders)),
    ];
    fields.into_iter().find(|(_, x, y)| x != y)
}

/// Replays `entries` (from [`AuditLog::range`](crate::AuditLog::range), in order) through
/// `policy`: each recorded snapshot is decided again and compared bit for bit with the
/// recorded decision, and the recorded outcomes are learned in between. The policy must be
/// in the state it had before the first entry (a fresh pipeline for a log's start, or a
/// restored checkpoint).
pub fn replay<P: ReplayPolicy + ?Sized>(entries: &[LoggedDecision], policy: &mut P) -> ReplayReport {
    let mut report = ReplayReport {
        decisions: 0,
        identical: 0,
        outcomes: 0,
        first_difference: None,
        stopped: false,
    };
    for e in entries {
        let diff = |field: &str, recorded: String, replayed: String| ReplayDifference {
            sequence: e.sequence,
            decision_number: e.record.sequence,
            time: e.record.decision.time,
            field: field.to_owned(),
            recorded: cut(recorded),
            replayed: cut(replayed),
        };
        report.decisions += 1;
        match policy.decide(&e.snapshot) {
            Ok(d) => {
                let same = first_non_finite(&d).is_none()
                    && serde_json::to_vec(&d).ok() == serde_json::to_vec(&e.record.decision).ok();
                if same {
                    report.identical += 1;
                } else if report.first_difference.is_none() {
                    let (field, a, b) = first_field_difference(&e.record.decision, &d).unwrap_or((
                        "decision",
                        json(&e.record.decision),
                        json(&d),
                    ));
                    report.first_difference = Some(diff(field, a, b));
                }
            }
            Err(err) => {
                if report.first_difference.is_none() {
                    report.first_difference =
                        Some(diff("decide error", json(&e.record.decision), err.to_string()));
                }
                report.stopped = true;
                return report;
            }
        }
        for o in &e.outcomes {
            if let Err(err) = policy.learn(o) {
                if report.first_difference.is_none() {
                    report.first_difference = Some(diff("learn error", json(o), err.to_string()));
                }
                report.stopped = true;
                return report;
            }
            report.outcomes += 1;
        }
    }
    report
}

/// How policy B's decision differs from policy A's recorded one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionDiff {
    /// Sequence number of A's recorded decision.
    pub sequence: u64,
    /// Decision time.
    pub time: Timestamp,
    /// Assets in A's slate only.
    pub only_a: Vec<AssetId>,
    /// Assets in B's slate only.
    pub only_b: Vec<AssetId>,
    /// Σ|w_B − w_A| over the sized weights.
    pub weight_gap: f64,
    /// The asset with the largest |w_B − w_A| and that gap (signed, B − A).
    pub largest_gap: Option<(AssetId, f64)>,
    /// Number of A's orders.
    pub orders_a: usize,
    /// Number of B's orders.
    pub orders_b: usize,
    /// Whether the orders differ (assets, sides, quantities or types).
    pub orders_differ: bool,
    /// A's portfolio return over the recorded outcomes, `Σ_i w_A,i r_i` (none recorded: `None`).
    pub pnl_a: Option<f64>,
    /// B's, with the same realized returns.
    pub pnl_b: Option<f64>,
}

/// Result of [`policy_diff`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[must_use]
pub struct PolicyDiff {
    /// One entry per decision compared.
    pub decisions: Vec<DecisionDiff>,
    /// Decisions whose slate, sized weights or orders differ.
    pub differing: usize,
    /// A's total turnover Σ_t Σ_i |w_t,i − w_t−1,i| of sized weights (from an empty book).
    pub turnover_a: f64,
    /// B's.
    pub turnover_b: f64,
    /// A's summed portfolio return over the decisions with recorded outcomes.
    pub pnl_a: Option<f64>,
    /// B's, on the same realized returns.
    pub pnl_b: Option<f64>,
    /// `pnl_b − pnl_a`.
    pub pnl_gap: Option<f64>,
    /// When B failed: the decision and B's error (the diff covers the decisions before).
    pub stopped: Option<ReplayDifference>,
}

/// Whether a decision's weight vectors have as many values as assets.
pub(crate) fn weights_consistent(d: &Decision) -> bool {
    d.target.assets.len() == d.target.values.len() && d.sized.assets.len() == d.sized.values.len()
}

fn portfolio_return(w: &Weights, outcomes: &[Outcome]) -> Option<f64> {
    let mut total = None;
    for o in outcomes {
        if o.realized_returns.is_empty() {
            continue;
        }
        let r: f64 = o.realized_returns.iter().map(|(a, r)| w.get(a) * r).sum();
        *total.get_or_insert(0.0) += r;
    }
    total
}

/// Runs policy B on policy A's recorded inputs (`entries`, in order) and reports, per
/// decision, the slate, weight and order differences, and over the run the turnover of each
/// and, where outcomes were recorded, the PnL difference (summed one-period portfolio returns
/// `Σ_i w_i r_i` of the sized weights against the recorded realized returns).
///
/// B learns from market-only copies of the recorded outcomes (realized returns and time; A's
/// fills and equity are left out, since they belong to A's book).
pub fn policy_diff<P: ReplayPolicy + ?Sized>(entries: &[LoggedDecision], policy_b: &mut P) -> PolicyDiff {
    let mut out = PolicyDiff {
        decisions: Vec::with_capacity(entries.len()),
        differing: 0,
        turnover_a: 0.0,
        turnover_b: 0.0,
        pnl_a: None,
        pnl_b: None,
        pnl_gap: None,
        stopped: None,
    };
    let mut prev_a = Weights::default();
    let mut prev_b = Weights::default();
    for e in entries {
        let a = &e.record.decision;
        let b = match decide_b(e, policy_b) {
            Ok(b) => b,
            Err(stop) => {
                out.stopped = Some(stop);
                break;
            }
        };
        let d = diff_one(e, a, &b);
        out.turnover_a += a.sized.turnover_to(&prev_a);
        out.turnover_b += b.sized.turnover_to(&prev_b);
        if let (Some(x), Some(y)) = (d.pnl_a, d.pnl_b) {
            *out.pnl_a.get_or_insert(0.0) += x;
            *out.pnl_b.get_or_insert(0.0) += y;
        }
        if !d.only_a.is_empty() || !d.only_b.is_empty() || d.weight_gap != 0.0 || d.orders_differ {
            out.differing += 1;
        }
        out.decisions.push(d);
        prev_a = a.sized.clone();
        prev_b = b.sized;
        if let Err(stop) = learn_outcomes(e, policy_b) {
            out.stopped = Some(stop);
            break;
        }
    }
    out.pnl_gap = match (out.pnl_a, out.pnl_b) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    withhold_overflow(&mut out);
    out
}

/// Where policy B's comparison stops at entry `e`, and why.
fn stop_at(e: &LoggedDecision, field: &str, why: String) -> ReplayDifference {
    ReplayDifference {
        sequence: e.sequence,
        decision_number: e.record.sequence,
        time: e.record.decision.time,
        field: field.to_owned(),
        recorded: String::new(),
        replayed: cut(why),
    }
}

/// Policy B's decision on `e`'s snapshot, after checking the recorded decision; the stop
/// when either is unusable (non-finite, mismatched weight lengths) or B fails.
fn decide_b<P: ReplayPolicy + ?Sized>(
    e: &LoggedDecision,
    policy_b: &mut P,
) -> Result<Decision, ReplayDifference> {
    let a = &e.record.decision;
    if !weights_consistent(a) || first_non_finite(a).is_some() {
        return Err(stop_at(
            e,
            "recorded decision",
            "non-finite number or mismatched weight lengths in the recorded decision".into(),
        ));
    }
    match policy_b.decide(&e.snapshot) {
        Ok(b) if first_non_finite(&b).is_none() && weights_consistent(&b) => Ok(b),
        Ok(_) => Err(stop_at(
            e,
            "decide error",
            "non-finite number or mismatched weight lengths in the decision".into(),
        )),
        Err(err) => Err(stop_at(e, "decide error", err.to_string())),
    }
}

/// The differences between the recorded decision `a` and policy B's decision `b` on entry
/// `e`: slates, sized weights, orders and (with recorded outcomes) PnL.
fn diff_one(e: &LoggedDecision, a: &Decision, b: &Decision) -> DecisionDiff {
    let sa: BTreeSet<&AssetId> = a.selected.iter().collect();
    let sb: BTreeSet<&AssetId> = b.selected.iter().collect();
    let mut assets: BTreeSet<&AssetId> = a.sized.assets.iter().collect();
    assets.extend(b.sized.assets.iter());
    let mut weight_gap = 0.0;
    let mut largest: Option<(AssetId, f64)> = None;
    for id in assets {
        let g = b.sized.get(id) - a.sized.get(id);
        weight_gap += g.abs();
        if g != 0.0 && largest.as_ref().is_none_or(|(_, l)| g.abs() > l.abs()) {
            largest = Some((id.clone(), g));
        }
    }
    DecisionDiff {
        sequence: e.sequence,
        time: a.time,
        only_a: sa.difference(&sb).map(|x| (*x).clone()).collect(),
        only_b: sb.difference(&sa).map(|x| (*x).clone()).collect(),
        weight_gap,
        largest_gap: largest,
        orders_a: a.orders.len(),
        orders_b: b.orders.len(),
        orders_differ: json(&a.orders) != json(&b.orders),
        pnl_a: portfolio_return(&a.sized, &e.outcomes),
        pnl_b: portfolio_return(&b.sized, &e.outcomes),
    }
}

/// Lets policy B learn the market part of `e`'s recorded outcomes (its own fills differ);
/// the stop when it fails.
fn learn_outcomes<P: ReplayPolicy + ?Sized>(
    e: &LoggedDecision,
    policy_b: &mut P,
) -> Result<(), ReplayDifference> {
    for o in &e.outcomes {
        let market = Outcome {
            time: o.time,
            realized_returns: o.realized_returns.clone(),
            fills: Vec::new(),
            equity: None,
        };
        policy_b
            .learn(&market)
            .map_err(|err| stop_at(e, "learn error", err.to_string()))?;
    }
    Ok(())
}

/// An `Ok` never holds a non-finite number: sums of finite products can overflow only with
/// absurd returns; such figures are withheld and reported as a stop rather than as inf.
fn withhold_overflow(out: &mut PolicyDiff) {
    if first_non_finite(&*out).is_none() {
        return;
    }
    out.pnl_a = None;
    out.pnl_b = None;
    out.pnl_gap = None;
    out.turnover_a = 0.0;
    out.turnover_b = 0.0;
    for d in &mut out.decisions {
        d.weight_gap = 0.0;
        d.largest_gap = None;
        d.pnl_a = None;
        d.pnl_b = None;
    }
    out.stopped.get_or_insert(ReplayDifference {
        sequence: 0,
        decision_number: 0,
        time: Timestamp::from_nanos(0),
        field: "overflow".into(),
        recorded: String::new(),
        replayed: "a sum overflowed to infinity; figures withheld".into(),
    });
}
