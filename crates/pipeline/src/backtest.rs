//! Walk-forward backtest driver.

use std::collections::HashMap;
use std::time::Duration;

use prudentia_core::traits::Screened;
use prudentia_core::validate::{
    check_finite, check_non_negative, check_range, check_shape, check_strictly_increasing,
};
use prudentia_core::Status;
use prudentia_core::{AssetId, CoreError, Decision, MarketSnapshot, Outcome, Timestamp};
use prudentia_metrics::{BacktestRecord, MetricsError, Report, ReportConfig};
use serde::{Deserialize, Serialize};

use crate::error::{PipelineError, PipelineResult, Stage};
use crate::history::plausible_ratio;
use crate::pipeline::{Pipeline, ScreenedSnapshot, StageFailure, UnexecutedChange};
use crate::refit::PipelineState;

/// Settings of a walk-forward run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[serde(default)]
pub struct BacktestConfig {
    /// Linear trading cost in basis points of traded notional (turnover), when the pipeline has
    /// no [`Broker`](crate::Broker) (with one, the cost is its fills'). Default 5; finite,
    /// in `[0, 10 000]` (at most the whole notional).
    pub cost_bps: f64,
    /// Show a progress bar on standard error (hidden automatically when it is not a terminal).
    /// Default true.
    pub show_progress: bool,
    /// The largest plausible one-period price move, as a ratio: a realized return outside
    /// `[1 / max_price_ratio − 1, max_price_ratio − 1]` is recorded as a
    /// [`PriceFault`] and is not P&L. Default 10 (−90 % to +900 %); finite and > 1.
    #[serde(default = "default_max_price_ratio")]
    pub max_price_ratio: f64,
}

fn default_max_price_ratio() -> f64 {
    10.0
}

prudentia_core::checked_serde!(BacktestConfig, BacktestConfig::check_loaded);

impl Default for BacktestConfig {
    fn default() -> Self {
        Self {
            cost_bps: 5.0,
            show_progress: true,
            max_price_ratio: default_max_price_ratio(),
        }
    }
}

impl BacktestConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), CoreError> {
        check_range("cost_bps", self.cost_bps, 0.0, 1e4, "in [0, 10 000] basis points")?;
        if !(self.max_price_ratio.is_finite() && self.max_price_ratio > 1.0) {
            return Err(CoreError::OutOfRange {
                field: "max_price_ratio",
                value: self.max_price_ratio,
                expected: "finite and > 1",
            });
        }
        Ok(())
    }

    fn check_loaded(&mut self) -> Result<(), CoreError> {
        self.validate()
    }
}

/// What is wrong with the price of one asset at one time of a walk-forward run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum PriceFaultKind {
    /// No validated price: the quote is missing, not finite and > 0, dated after its snapshot,
    /// contradicted by another quote, quarantined by the guard, or the guard refused the whole
    /// snapshot. The last validated price is carried; the asset has no realized return for
    /// the period (its move is realized once a validated price comes back).
    NotValidated,
    /// The move from the last validated price is beyond `max_price_ratio`: recorded, not P&L
    /// (the new price becomes the reference).
    Implausible {
        /// The last validated price.
        from: f64,
        /// The new price.
        to: f64,
    },
}

/// A price the walk-forward run did not turn into P&L.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceFault {
    /// Time of the snapshot whose price is at fault.
    pub time: Timestamp,
    /// The asset.
    pub asset: AssetId,
    /// What is wrong.
    pub kind: PriceFaultKind,
}

/// What a walk-forward run produced, one entry per decision (the last snapshot only provides
/// the final outcome).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct BacktestResult {
    /// Decision times.
    pub times: Vec<Timestamp>,
    /// Decisions.
    pub decisions: Vec<Decision>,
    /// Portfolio return over the period after each decision, net of costs.
    pub returns: Vec<f64>,
    /// Turnover (Σ|Δw|) of each decision.
    pub turnover: Vec<f64>,
    /// Equity after each period.
    pub equity: Vec<f64>,
    /// The outcome each decision was followed by (what `learn` received).
    pub outcomes: Vec<Outcome>,
    /// The optimizer's status at each decision (`None` when it did not run).
    pub optimizer_status: Vec<Option<Status>>,
    /// Total wall-clock time per stage over the run.
    pub stage_time: Vec<(Stage, Duration)>,
    /// The weight changes of each decision that did not become orders
    /// ([`DecisionReport::unexecuted`](crate::DecisionReport::unexecuted)).
    #[serde(default)]
    pub unexecuted: Vec<Vec<UnexecutedChange>>,
    /// Prices that were not turned into P&L (not validated, or an implausible move), in
    /// time order.
    #[serde(default)]
    pub faults: Vec<PriceFault>,
    /// Stage failures turned into `SafeFallback` decisions
    /// ([`OnStageError::Fallback`](crate::OnStageError)), in time order.
    #[serde(default)]
    pub failures: Vec<StageFailure>,
    /// The notes of the decisions ([`DecisionReport::notes`](crate::DecisionReport::notes)),
    /// with the decision time, in time order.
    #[serde(default)]
    pub notes: Vec<(Timestamp, String)>,
}

prudentia_core::checked_serde!(BacktestResult, BacktestResult::check_loaded);

impl BacktestResult {
    /// Checks a loaded result: one entry per decision in every per-decision list (the
    /// `unexecuted` list may be empty, from an older run), increasing times, finite returns
    /// and turnover, finite equity ≥ 0.
    fn check_loaded(&mut self) -> Result<(), CoreError> {
        let n = self.times.len();
        for (field, len) in [
            ("decisions", self.decisions.len()),
            ("returns", self.returns.len()),
            ("turnover", self.turnover.len()),
            ("equity", self.equity.len()),
            ("outcomes", self.outcomes.len()),
            ("optimizer_status", self.optimizer_status.len()),
        ] {
            check_shape(field, &[n], &[len])?;
        }
        if !self.unexecuted.is_empty() {
            check_shape("unexecuted", &[n], &[self.unexecuted.len()])?;
        }
        check_strictly_increasing("times", &self.times)?;
        check_finite("returns", &self.returns)?;
        check_finite("turnover", &self.turnover)?;
        for &e in &self.equity {
            check_non_negative("equity", e)?;
        }
        Ok(())
    }

    /// The metrics report of the run (prudentia-metrics): return statistics, drawdowns,
    /// sizer metrics, and the selector, execution and health sections the decisions and
    /// outcomes allow.
    pub fn report(&self, config: ReportConfig) -> Result<Report, MetricsError> {
        Report::for_backtest(
            config,
            &BacktestRecord {
                times: &self.times,
                returns: &self.returns,
                turnover: &self.turnover,
                decisions: &self.decisions,
                outcomes: &self.outcomes,
            },
        )
    }
}

/// Runs `pipeline` over `snapshots` in time order: decide at t, realize returns from the
/// validated prices at t and t+1, learn, move on. The decision at t sees snapshots up to t
/// only.
///
/// Realized returns are marked at validated prices: the quote prices the guard accepted or
/// repaired (and that pass the pipeline's own quote checks, see
/// [`Pipeline::decide`]). A price the guard quarantined, or any price of a snapshot it
/// refused, is not used: the last validated price is carried and a
/// [`PriceFaultKind::NotValidated`] fault is recorded. A move beyond
/// [`BacktestConfig::max_price_ratio`] is a [`PriceFaultKind::Implausible`] fault, not P&L.
pub fn walk_forward(
    pipeline: &mut Pipeline,
    snapshots: &[MarketSnapshot],
    config: &BacktestConfig,
) -> PipelineResult<BacktestResult> {
    run(pipeline, snapshots, None, config, None, usize::MAX).map(|(out, _)| out)
}

/// [`walk_forward`] with the decisions made on `snapshots` (which may carry data faults for
/// the guard to catch) and the realized returns taken from the quotes of `prices` (the true
/// prices trades would have been marked at). Both must have the same length and times. The
/// quotes of `prices` still go through the pipeline's quote checks and the plausibility
/// bound, with faults recorded as in [`walk_forward`].
pub fn walk_forward_with_prices(
    pipeline: &mut Pipeline,
    snapshots: &[MarketSnapshot],
    prices: &[MarketSnapshot],
    config: &BacktestConfig,
) -> PipelineResult<BacktestResult> {
    run(pipeline, snapshots, Some(prices), config, None, usize::MAX).map(|(out, _)| out)
}

/// A [`walk_forward`] run paused between two decisions: the pipeline's state, the result so
/// far and where the run stands. Serializable (checked on load), so a long run can be
/// checkpointed and resumed, here or on another machine, with [`resume_walk_forward`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct RunCheckpoint {
    /// The pipeline's state after the last decision and its outcome.
    pub pipeline: PipelineState,
    /// The result so far.
    pub result: BacktestResult,
    /// Index of the next decision's snapshot.
    next: usize,
    /// The guard's output for that snapshot (the guard has already seen it).
    screened: Screened,
    failure: Option<StageFailure>,
    /// Last validated price per universe asset.
    marks: Vec<Option<f64>>,
    /// Whether the run marks at separate true prices (`walk_forward_with_prices`); it must be
    /// resumed the same way.
    #[serde(default)]
    with_prices: bool,
}

prudentia_core::checked_serde!(RunCheckpoint, RunCheckpoint::check);

impl RunCheckpoint {
    /// Checks the marks against the universe and the position against the result.
    fn check(&mut self) -> Result<(), CoreError> {
        let n = self.pipeline.config.universe.len();
        check_shape("marks", &[n], &[self.marks.len()])?;
        for p in self.marks.iter().flatten() {
            check_range("mark", *p, f64::MIN_POSITIVE, f64::MAX, "finite and > 0")?;
        }
        check_shape("next decision", &[self.result.times.len()], &[self.next])?;
        Ok(())
    }
    /// Decisions made so far.
    pub fn decisions(&self) -> usize {
        self.next
    }
}

/// [`walk_forward`] stopped after `decisions` decisions (at most the run's length), as a
/// checkpoint to continue with [`resume_walk_forward`].
pub fn walk_forward_until(
    pipeline: &mut Pipeline,
    snapshots: &[MarketSnapshot],
    config: &BacktestConfig,
    decisions: usize,
) -> PipelineResult<RunCheckpoint> {
    let paused = run(pipeline, snapshots, None, config, None, decisions)?;
    checkpoint_of(pipeline, paused, false)
}

/// [`walk_forward_with_prices`] stopped after `decisions` decisions, as a checkpoint to
/// continue with [`resume_walk_forward_with_prices`] (on the same snapshots and prices).
pub fn walk_forward_with_prices_until(
    pipeline: &mut Pipeline,
    snapshots: &[MarketSnapshot],
    prices: &[MarketSnapshot],
    config: &BacktestConfig,
    decisions: usize,
) -> PipelineResult<RunCheckpoint> {
    let paused = run(pipeline, snapshots, Some(prices), config, None, decisions)?;
    checkpoint_of(pipeline, paused, true)
}

fn checkpoint_of(
    pipeline: &Pipeline,
    (result, (next, screened, failure, marks)): (BacktestResult, Paused),
    with_prices: bool,
) -> PipelineResult<RunCheckpoint> {
    Ok(RunCheckpoint {
        pipeline: pipeline.checkpoint()?,
        result,
        next,
        screened,
        failure,
        marks,
        with_prices,
    })
}

/// Continues a checkpointed [`walk_forward`] run on the same `snapshots` with a pipeline built
/// the same way (same configuration and registered stage states): the pipeline is restored
/// from the checkpoint and the result is the one of the uninterrupted run (stage timings
/// aside).
pub fn resume_walk_forward(
    pipeline: &mut Pipeline,
    snapshots: &[MarketSnapshot],
    config: &BacktestConfig,
    checkpoint: RunCheckpoint,
) -> PipelineResult<BacktestResult> {
    resume(pipeline, snapshots, None, config, checkpoint, usize::MAX).map(|(out, _)| out)
}

/// [`resume_walk_forward`] for at most `decisions` more decisions, as a new checkpoint (to
/// checkpoint a long run every so many decisions).
pub fn resume_walk_forward_until(
    pipeline: &mut Pipeline,
    snapshots: &[MarketSnapshot],
    config: &BacktestConfig,
    checkpoint: RunCheckpoint,
    decisions: usize,
) -> PipelineResult<RunCheckpoint> {
    let paused = resume(pipeline, snapshots, None, config, checkpoint, decisions)?;
    checkpoint_of(pipeline, paused, false)
}

/// Continues a checkpointed [`walk_forward_with_prices`] run (from
/// [`walk_forward_with_prices_until`]) on the same snapshots and prices; the result is the
/// one of the uninterrupted run (stage timings aside).
pub fn resume_walk_forward_with_prices(
    pipeline: &mut Pipeline,
    snapshots: &[MarketSnapshot],
    prices: &[MarketSnapshot],
    config: &BacktestConfig,
    checkpoint: RunCheckpoint,
) -> PipelineResult<BacktestResult> {
    resume(pipeline, snapshots, Some(prices), config, checkpoint, usize::MAX).map(|(out, _)| out)
}

/// [`resume_walk_forward_with_prices`] for at most `decisions` more decisions, as a new
/// checkpoint.
pub fn resume_walk_forward_with_prices_until(
    pipeline: &mut Pipeline,
    snapshots: &[MarketSnapshot],
    prices: &[MarketSnapshot],
    config: &BacktestConfig,
    checkpoint: RunCheckpoint,
    decisions: usize,
) -> PipelineResult<RunCheckpoint> {
    let paused = resume(pipeline, snapshots, Some(prices), config, checkpoint, decisions)?;
    checkpoint_of(pipeline, paused, true)
}

/// `prices`, when given, has one snapshot per decision snapshot, at the same times.
fn check_prices(snapshots: &[MarketSnapshot], prices: Option<&[MarketSnapshot]>) -> PipelineResult<()> {
    if let Some(prices) = prices {
        check_shape("prices", &[snapshots.len()], &[prices.len()])?;
        if let Some(i) = snapshots.iter().zip(prices).position(|(a, b)| a.time != b.time) {
            return Err(CoreError::ShapeMismatch {
                field: "prices (times differ from the snapshots')",
                expected: vec![i],
                found: vec![i],
            }
            .into());
        }
    }
    Ok(())
}

fn resume(
    pipeline: &mut Pipeline,
    snapshots: &[MarketSnapshot],
    prices: Option<&[MarketSnapshot]>,
    config: &BacktestConfig,
    checkpoint: RunCheckpoint,
    stop_after: usize,
) -> PipelineResult<(BacktestResult, Paused)> {
    let RunCheckpoint {
        pipeline: state,
        result,
        next,
        screened,
        failure,
        marks,
        with_prices,
    } = checkpoint;
    if with_prices != prices.is_some() {
        return Err(CoreError::UnknownId {
            kind: "checkpoint of a run marked at",
            id: if with_prices {
                "separate true prices: resume it with resume_walk_forward_with_prices".into()
            } else {
                "its snapshots' prices: resume it with resume_walk_forward".into()
            },
        }
        .into());
    }
    if next >= snapshots.len()
        || result
            .times
            .last()
            .is_some_and(|t| snapshots.get(next - 1).map(|s| s.time) != Some(*t))
    {
        return Err(CoreError::ShapeMismatch {
            field: "snapshots (not those of the checkpointed run)",
            expected: vec![next],
            found: vec![snapshots.len()],
        }
        .into());
    }
    config.validate()?;
    check_prices(snapshots, prices)?;
    pipeline.restore(state)?;
    let start = Start {
        out: result,
        next,
        screened,
        failure,
        marks,
    };
    run(pipeline, snapshots, prices, config, Some(start), stop_after)
}

/// Where a resumed run starts.
struct Start {
    out: BacktestResult,
    next: usize,
    screened: Screened,
    failure: Option<StageFailure>,
    marks: Vec<Option<f64>>,
}

/// Where a run paused: next index, the guard's output for it, its failure, the marks.
type Paused = (usize, Screened, Option<StageFailure>, Vec<Option<f64>>);

/// The last validated price of each universe asset, and the faults met on the way.
struct Marks {
    last: Vec<Option<f64>>,
    max_ratio: f64,
}

impl Marks {
    /// Moves to the prices `next` (per universe asset; `None` = not validated) observed at
    /// `time`: the realized returns of the assets with a validated price at both ends and a
    /// plausible move, in universe order.
    fn advance(
        &mut self,
        universe: &[AssetId],
        next: &[Option<f64>],
        time: Timestamp,
        faults: &mut Vec<PriceFault>,
    ) -> Vec<(AssetId, f64)> {
        let mut realized = Vec::new();
        for ((id, last), &p) in universe.iter().zip(self.last.iter_mut()).zip(next) {
            let fault = |kind| PriceFault {
                time,
                asset: id.clone(),
                kind,
            };
            match (*last, p) {
                (_, None) => faults.push(fault(PriceFaultKind::NotValidated)),
                (None, Some(p)) => *last = Some(p),
                (Some(l), Some(p)) => {
                    let ratio = p / l;
                    if ratio.is_finite() && ratio >= 1.0 / self.max_ratio && ratio <= self.max_ratio {
                        realized.push((id.clone(), ratio - 1.0));
                    } else {
                        faults.push(fault(PriceFaultKind::Implausible { from: l, to: p }));
                    }
                    *last = Some(p);
                }
            }
        }
        realized
    }
}

/// Everything a run checks before the pipeline is touched: the configuration, the prices
/// beside the snapshots, at least two snapshots, strictly increasing times.
fn check_run(
    snapshots: &[MarketSnapshot],
    prices: Option<&[MarketSnapshot]>,
    config: &BacktestConfig,
) -> PipelineResult<()> {
    config.validate()?;
    check_prices(snapshots, prices)?;
    if snapshots.len() < 2 {
        return Err(CoreError::EmptyInput {
            field: "snapshots",
            len: snapshots.len(),
            min: 2,
        }
        .into());
    }
    if let Some(i) = snapshots.windows(2).position(|w| w[1].time <= w[0].time) {
        return Err(CoreError::NotIncreasing {
            field: "snapshot times",
            index: i + 1,
        }
        .into());
    }
    Ok(())
}

/// An empty result with room for `steps` periods.
fn fresh_result(steps: usize) -> BacktestResult {
    BacktestResult {
        times: Vec::with_capacity(steps),
        decisions: Vec::with_capacity(steps),
        returns: Vec::with_capacity(steps),
        turnover: Vec::with_capacity(steps),
        equity: Vec::with_capacity(steps),
        outcomes: Vec::with_capacity(steps),
        optimizer_status: Vec::with_capacity(steps),
        stage_time: Vec::new(),
        unexecuted: Vec::with_capacity(steps),
        faults: Vec::new(),
        failures: Vec::new(),
        notes: Vec::new(),
    }
}

/// What stays the same over one run.
struct RunInput<'s> {
    snapshots: &'s [MarketSnapshot],
    prices: Option<&'s [MarketSnapshot]>,
    config: &'s BacktestConfig,
    universe: Vec<AssetId>,
}

impl<'s> RunInput<'s> {
    /// Validated prices of snapshot `t`: from `prices`, or what the guard let through.
    fn marks_of(&self, pipeline: &Pipeline, t: usize, screened: &ScreenedSnapshot<'_>) -> Vec<Option<f64>> {
        match self.prices {
            Some(p) => pipeline.quote_prices(&p[t]),
            None => match &screened.screened {
                Screened::Clean { snapshot, .. } => pipeline.quote_prices(snapshot),
                Screened::SafeFallback { .. } => vec![None; self.universe.len()],
            },
        }
    }

    /// The start of a new run: the first snapshot screened and its prices marked.
    fn begin(
        &self,
        pipeline: &mut Pipeline,
        steps: usize,
    ) -> PipelineResult<(BacktestResult, ScreenedSnapshot<'s>, Marks)> {
        let mut out = fresh_result(steps);
        let screened = pipeline.screen(&self.snapshots[0])?;
        let mut marks = Marks {
            last: vec![None; self.universe.len()],
            max_ratio: self.config.max_price_ratio,
        };
        let first = self.marks_of(pipeline, 0, &screened);
        marks.advance(&self.universe, &first, self.snapshots[0].time, &mut out.faults);
        Ok((out, screened, marks))
    }

    /// One period: the decision on snapshot `t` (already screened), then snapshot `t + 1`
    /// screened and marked, the period's return net of costs, and the outcome learned and
    /// recorded in `out`. Returns the screened snapshot `t + 1`.
    fn period(
        &self,
        pipeline: &mut Pipeline,
        t: usize,
        screened: ScreenedSnapshot<'s>,
        marks: &mut Marks,
        out: &mut BacktestResult,
    ) -> PipelineResult<ScreenedSnapshot<'s>> {
        let snapshots = self.snapshots;
        let next = &snapshots[t + 1];
        let before = pipeline.current_weights().clone();
        let report = pipeline.decide_screened(screened)?;
        for (s, d) in &report.timings.0 {
            match out.stage_time.iter_mut().find(|(x, _)| x == s) {
                Some((_, acc)) => *acc = acc.saturating_add(*d),
                None => out.stage_time.push((*s, *d)),
            }
        }
        let decision = report.decision;
        out.optimizer_status.push(report.optimizer_status);
        out.failures.extend(report.failure);
        out.notes
            .extend(report.notes.into_iter().map(|n| (snapshots[t].time, n)));
        let turnover = decision.sized.turnover_to(&before);
        let screened = pipeline.screen(next)?;
        let validated = self.marks_of(pipeline, t + 1, &screened);
        let realized = marks.advance(&self.universe, &validated, next.time, &mut out.faults);
        let by_asset: HashMap<&AssetId, f64> = realized.iter().map(|(a, r)| (a, *r)).collect();
        let gross: f64 = decision
            .sized
            .assets
            .iter()
            .zip(&decision.sized.values)
            .map(|(a, w)| w * by_asset.get(a).copied().unwrap_or(0.0))
            .sum();
        // with a broker, the period's cost is what its fills cost against arrival; without
        // one, the linear cost of the turnover
        let (fills, fill_cost) = pipeline
            .broker_fills(next.time)
            .map_err(|e| e.with_time(snapshots[t].time))?;
        let cost = if pipeline.has_broker() {
            if fill_cost == 0.0 {
                0.0
            } else {
                fill_cost / pipeline.equity()
            }
        } else {
            turnover * self.config.cost_bps * 1e-4
        };
        let net = gross - cost;
        let equity = pipeline.equity() * (1.0 + net).max(0.0);
        if !(net.is_finite() && equity.is_finite()) {
            return Err(PipelineError::Stage {
                stage: Stage::Learn,
                source: CoreError::NonFinite {
                    field: "portfolio return or equity of the period",
                    index: t,
                    value: net,
                }
                .into(),
                time: Some(snapshots[t].time),
            });
        }
        let outcome = Outcome {
            time: Some(next.time),
            realized_returns: realized,
            fills,
            equity: Some(equity),
        };
        pipeline.learn(&outcome).map_err(|e| match e {
            PipelineError::Core(c) => PipelineError::Stage {
                stage: Stage::Learn,
                source: c.into(),
                time: Some(next.time),
            },
            other => other.with_time(next.time),
        })?;
        out.times.push(snapshots[t].time);
        out.decisions.push(decision);
        out.returns.push(net);
        out.turnover.push(turnover);
        out.equity.push(equity);
        out.outcomes.push(outcome);
        out.unexecuted.push(report.unexecuted);
        Ok(screened)
    }
}

fn run(
    pipeline: &mut Pipeline,
    snapshots: &[MarketSnapshot],
    prices: Option<&[MarketSnapshot]>,
    config: &BacktestConfig,
    start: Option<Start>,
    stop_after: usize,
) -> PipelineResult<(BacktestResult, Paused)> {
    // everything is checked before the pipeline is touched
    check_run(snapshots, prices, config)?;
    let steps = snapshots.len() - 1;
    let bar = if config.show_progress {
        indicatif::ProgressBar::new(steps as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let input = RunInput {
        snapshots,
        prices,
        config,
        universe: pipeline.config().universe.clone(),
    };
    let (mut out, mut screened, mut marks, from) = match start {
        None => {
            let (out, screened, marks) = input.begin(pipeline, steps)?;
            (out, screened, marks, 0)
        }
        Some(s) => {
            let screened = ScreenedSnapshot {
                raw: &snapshots[s.next],
                screened: s.screened,
                timings: Default::default(),
                failure: s.failure,
            };
            let marks = Marks {
                last: s.marks,
                max_ratio: config.max_price_ratio,
            };
            bar.inc(s.next as u64);
            (s.out, screened, marks, s.next)
        }
    };
    let until = steps.min(from.saturating_add(stop_after));
    for t in from..until {
        screened = input.period(pipeline, t, screened, &mut marks, &mut out)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let paused = (until, screened.screened, screened.failure, marks.last);
    Ok((out, paused))
}

/// Simple returns of the universe assets from the quotes of `now` to those of `next`;
/// assets without a valid price (finite and > 0) in either snapshot, or whose price moved by
/// more than [`MAX_PRICE_RATIO`](crate::MAX_PRICE_RATIO) either way, are left out. These are raw
/// quotes: [`walk_forward`] marks at guard-validated prices instead.
pub fn realized_returns(
    universe: &[AssetId],
    now: &MarketSnapshot,
    next: &MarketSnapshot,
) -> Vec<(AssetId, f64)> {
    // the price of the first quote of each asset (as a linear search would find it): one
    // pass per snapshot instead of a search per universe asset (O(n) instead of O(n²))
    fn first_prices(s: &MarketSnapshot) -> HashMap<&str, f64> {
        let mut m = HashMap::with_capacity(s.quotes.len());
        for q in &s.quotes {
            m.entry(q.asset.as_str()).or_insert(q.price);
        }
        m
    }
    let (at_now, at_next) = (first_prices(now), first_prices(next));
    let price = |m: &HashMap<&str, f64>, id: &AssetId| {
        m.get(id.as_str()).copied().filter(|p| p.is_finite() && *p > 0.0)
    };
    universe
        .iter()
        .filter_map(|id| match (price(&at_now, id), price(&at_next, id)) {
            (Some(a), Some(b)) if plausible_ratio(b / a) => Some((id.clone(), b / a - 1.0)),
            _ => None,
        })
        .collect()
}
