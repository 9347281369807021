//! Pipeline v2 (issue #18): walk-forward refits without look-ahead, many runs in parallel
//! equal to the same runs in series, and checkpoint/resume equal to the uninterrupted run.

use crate::common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::*;
use prudentia_core::traits::*;
use prudentia_core::*;
use prudentia_pipeline::*;
use serde::{Deserialize, Serialize};

/// What each refit saw: (now, last snapshot time, last outcome time).
type Seen = Arc<Mutex<Vec<(Timestamp, Timestamp, Option<Timestamp>)>>>;

/// A batch model: per-asset mean of the realized returns in its refit window, plus half the
/// last return (feature 0). Records what every refit saw.
#[derive(Debug, Default, Serialize, Deserialize)]
struct MeanModel {
    means: BTreeMap<String, f64>,
    refits: usize,
    #[serde(skip)]
    seen: Option<Seen>,
}
impl Forecaster for MeanModel {
    fn forecast(&self, a: &AssetInfo, _: &RegimeState) -> RoleResult<Forecast> {
        let m = self.means.get(&a.id.to_string()).copied().unwrap_or(0.0);
        Ok(Forecast::new(m + 0.5 * a.features[0], 0.02, Horizon::DAY)?)
    }
}
impl Refit for MeanModel {
    fn refit(&mut self, now: Timestamp, data: &[RefitPoint]) -> RoleResult<()> {
        let mut sums: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        for p in data {
            for (a, r) in p.outcome.iter().flat_map(|o| &o.realized_returns) {
                let e = sums.entry(a.to_string()).or_default();
                e.0 += r;
                e.1 += 1.0;
            }
        }
        self.means = sums.into_iter().map(|(a, (s, n))| (a, s / n)).collect();
        self.refits += 1;
        if let Some(seen) = &self.seen {
            let last_snapshot = data.iter().map(|p| p.snapshot.time).max().unwrap();
            let last_outcome = data.iter().filter_map(|p| p.outcome.as_ref()?.time).max();
            seen.lock().unwrap().push((now, last_snapshot, last_outcome));
        }
        Ok(())
    }
}

/// A stateful guard: every 7th snapshot it sees is refused.
#[derive(Debug, Default, Serialize, Deserialize)]
struct EverySeventh {
    seen: u64,
}
impl Guard for EverySeventh {
    fn screen(&mut self, s: &MarketSnapshot) -> RoleResult<Screened> {
        self.seen += 1;
        if self.seen % 7 == 0 {
            return Ok(Screened::SafeFallback {
                reasons: vec![format!("snapshot {} refused", self.seen)],
                quarantined_share: 1.0,
            });
        }
        Ok(Screened::Clean {
            snapshot: s.clone(),
            repaired: 0,
            quarantined: 0,
        })
    }
}

/// Routing whose limit price depends on the decision's seed.
struct SeededLimit;
impl ExecutionPolicy for SeededLimit {
    fn route(&self, o: &Order, m: &MarketSnapshot, seed: u64) -> RoleResult<Order> {
        let p = m
            .quotes
            .iter()
            .find(|q| q.asset == o.asset)
            .map_or(1.0, |q| q.price);
        let mut o = o.clone();
        o.limit_price = Some(p * (1.0 + (seed % 1000) as f64 * 1e-5));
        Ok(o)
    }
}

fn schedule(in_learn_flow: bool) -> RefitSchedule {
    RefitSchedule {
        every: 5,
        window: RefitWindow::Trailing(20),
        in_learn_flow,
    }
}

/// A pipeline with a refitted forecaster (sharing `model`), a stateful guard and routing.
fn build(config: PipelineConfig, refit: Option<RefitSchedule>, model: Shared<MeanModel>) -> Pipeline {
    let guard = Shared::new(EverySeventh::default());
    let mut b = PipelineBuilder::new(config)
        .guard(Box::new(guard.clone()))
        .forecaster(Box::new(model.clone()))
        .optimizer(Box::new(Tilt(Status::Converged)))
        .execution(Box::new(SeededLimit))
        .stage_state("guard", Box::new(guard))
        .stage_state("model", Box::new(model.clone()));
    if let Some(s) = refit {
        b = b.refit("mean model", s, Box::new(model));
    }
    b.build().unwrap()
}

/// The result without its wall-clock stage timings.
fn strip(mut r: BacktestResult) -> BacktestResult {
    r.stage_time.clear();
    r
}

#[test]
fn refits_see_only_the_past_decisions_up_to_t_do_not_depend_on_later_data() {
    let a = snapshots(60, 7);
    let mut b = a.clone();
    let other = snapshots(60, 99);
    const T: usize = 40;
    for d in T + 1..60 {
        // a different future, continuing from the common price level
        let scale: Vec<f64> = (0..N)
            .map(|i| a[T].quotes[i].price / other[T].quotes[i].price)
            .collect();
        let prices: Vec<f64> = (0..N).map(|i| other[d].quotes[i].price * scale[i]).collect();
        let feat: Vec<f64> = other[d].assets.iter().map(|x| x.features[0]).collect();
        b[d] = snapshot_at(d, &prices, &feat);
    }
    for in_learn_flow in [false, true] {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let run = |snaps: &[MarketSnapshot], refit: bool| {
            let model = Shared::new(MeanModel {
                seen: Some(seen.clone()),
                ..Default::default()
            });
            let mut p = build(config(), refit.then(|| schedule(in_learn_flow)), model.clone());
            let r = strip(walk_forward(&mut p, snaps, &quiet()).unwrap());
            let refits = model.lock().refits;
            (r, refits)
        };
        let (ra, refits) = run(&a, true);
        assert!(refits >= 10, "refits happened: {refits}");
        let (rb, _) = run(&b, true);
        assert_eq!(
            ra.decisions[..=T],
            rb.decisions[..=T],
            "learn flow: {in_learn_flow}"
        );
        assert_ne!(ra.decisions[T + 2..], rb.decisions[T + 2..], "the futures differ");
        // the refits change the decisions (the test can fail)
        let (plain, _) = run(&a, false);
        assert_ne!(plain.decisions, ra.decisions);
        // every refit saw data up to its time only; outcomes at most one day later (the time
        // of the coming decision)
        for (now, last_snapshot, last_outcome) in seen.lock().unwrap().iter() {
            assert_eq!(last_snapshot, now);
            if let Some(o) = last_outcome {
                assert!(o.as_nanos() <= now.as_nanos() + Timestamp::NANOS_PER_DAY);
            }
        }
    }
}

#[test]
fn a_grid_of_runs_in_parallel_equals_the_same_runs_in_series() {
    let universes = [snapshots(45, 11), snapshots(45, 12)];
    // parameter grid (min_history) × universe × seed: 2 × 2 × 3 = 12 runs
    let params: Vec<(usize, usize, u64)> = [6, 10]
        .iter()
        .flat_map(|&h| (0..2).flat_map(move |u| (1..=3).map(move |s| (h, u, s))))
        .collect();
    assert!(params.len() >= 8);
    let make = |&(min_history, u, seed): &(usize, usize, u64)| {
        let c = PipelineConfig {
            min_history,
            seed,
            ..config()
        };
        let p = build(c, Some(schedule(false)), Shared::new(MeanModel::default()));
        Ok((p, &universes[u][..]))
    };
    let mut cfg = GridConfig {
        backtest: quiet(),
        parallel: true,
    };
    let parallel = run_grid(&params, &cfg, make);
    cfg.parallel = false;
    let serial = run_grid(&params, &cfg, make);
    assert_eq!(parallel.runs.len(), params.len());
    for (p, s) in parallel.runs.into_iter().zip(serial.runs) {
        assert_eq!(p.params, s.params);
        let (p, s) = (strip(p.result.unwrap()), strip(s.result.unwrap()));
        assert_eq!(p, s);
    }
    // the seeds matter (the routing uses them), so equal runs are not trivially equal
    let report = run_grid(&params[..2], &cfg, make);
    let limits = |r: &BacktestResult| -> Vec<Option<f64>> {
        r.decisions
            .iter()
            .flat_map(|d| d.orders.iter().map(|o| o.limit_price))
            .collect()
    };
    let (r0, r1) = (
        report.runs[0].result.as_ref().unwrap(),
        report.runs[1].result.as_ref().unwrap(),
    );
    assert_ne!(limits(r0), limits(r1));
    assert!(report.table().lines().count() == 3, "{}", report.table());
}

#[test]
fn a_checkpointed_run_resumes_to_the_uninterrupted_result() {
    let snaps = snapshots(50, 21);
    let fresh = || build(config(), Some(schedule(true)), Shared::new(MeanModel::default()));
    let whole = strip(walk_forward(&mut fresh(), &snaps, &quiet()).unwrap());
    for stop in [0, 1, 17, 30, 49] {
        let cp = walk_forward_until(&mut fresh(), &snaps, &quiet(), stop).unwrap();
        assert_eq!(cp.decisions(), stop.min(49));
        // through JSON, as when shipped to another machine
        let json = serde_json::to_string(&cp).unwrap();
        let cp: RunCheckpoint = serde_json::from_str(&json).unwrap();
        let resumed = strip(resume_walk_forward(&mut fresh(), &snaps, &quiet(), cp).unwrap());
        assert_eq!(resumed, whole, "stopped after {stop}");
    }
    // checkpointed every 12 decisions, through JSON each time
    let mut p = fresh();
    let mut cp = walk_forward_until(&mut p, &snaps, &quiet(), 12).unwrap();
    while cp.decisions() < 49 {
        let json = serde_json::to_string(&cp).unwrap();
        let mut p = fresh();
        cp = resume_walk_forward_until(&mut p, &snaps, &quiet(), serde_json::from_str(&json).unwrap(), 12)
            .unwrap();
    }
    let last = resume_walk_forward(&mut fresh(), &snaps, &quiet(), cp).unwrap();
    assert_eq!(strip(last), whole);
    // without the stage states the run would differ: the guard's counter matters
    let cp = walk_forward_until(&mut fresh(), &snaps, &quiet(), 17).unwrap();
    let mut v: serde_json::Value = serde_json::to_value(&cp).unwrap();
    v["pipeline"]["stages"][0][1]["seen"] = 3.into();
    let cp: RunCheckpoint = serde_json::from_value(v).unwrap();
    let other = strip(resume_walk_forward(&mut fresh(), &snaps, &quiet(), cp).unwrap());
    assert_ne!(other, whole);
    // a damaged checkpoint is refused on load, or by the pipeline, and changes nothing
    let cp = walk_forward_until(&mut fresh(), &snaps, &quiet(), 17).unwrap();
    let json = serde_json::to_value(&cp).unwrap();
    for (path, bad) in [
        ("marks", serde_json::json!([1.0])),
        ("next", serde_json::json!(3)),
        ("pipeline.equity", serde_json::json!(-1.0)),
        (
            "pipeline.current",
            serde_json::json!({"assets": ["Z"], "values": [1.0]}),
        ),
    ] {
        let mut v = json.clone();
        let mut slot = &mut v;
        for k in path.split('.') {
            slot = &mut slot[k];
        }
        *slot = bad;
        assert!(serde_json::from_value::<RunCheckpoint>(v).is_err(), "{path}");
    }
    let mut v = json.clone();
    v["pipeline"]["stages"] = serde_json::json!([]);
    let cp: RunCheckpoint = serde_json::from_value(v).unwrap();
    let mut p = fresh();
    assert!(resume_walk_forward(&mut p, &snaps, &quiet(), cp).is_err());
    assert_eq!(p.steps(), 0);
    let mut v = json;
    v["pipeline"]["config"]["seed"] = 7.into();
    let cp: RunCheckpoint = serde_json::from_value(v).unwrap();
    assert!(resume_walk_forward(&mut fresh(), &snaps, &quiet(), cp).is_err());
}

#[test]
fn a_checkpointed_run_with_true_prices_resumes_to_the_uninterrupted_result() {
    let prices = snapshots(50, 23);
    // decisions see a bad tick the true prices do not have
    let mut snaps = prices.clone();
    snaps[20].quotes[1].price *= 8.0;
    let fresh = || build(config(), Some(schedule(true)), Shared::new(MeanModel::default()));
    let whole = strip(walk_forward_with_prices(&mut fresh(), &snaps, &prices, &quiet()).unwrap());
    assert_ne!(
        whole,
        strip(walk_forward(&mut fresh(), &snaps, &quiet()).unwrap()),
        "the true prices must matter in this run"
    );
    for stop in [0, 19, 21, 49] {
        let cp = walk_forward_with_prices_until(&mut fresh(), &snaps, &prices, &quiet(), stop).unwrap();
        let json = serde_json::to_string(&cp).unwrap();
        let cp: RunCheckpoint = serde_json::from_str(&json).unwrap();
        let resumed =
            strip(resume_walk_forward_with_prices(&mut fresh(), &snaps, &prices, &quiet(), cp).unwrap());
        assert_eq!(resumed, whole, "stopped after {stop}");
    }
    let mut p = fresh();
    let mut cp = walk_forward_with_prices_until(&mut p, &snaps, &prices, &quiet(), 10).unwrap();
    while cp.decisions() < 49 {
        cp = resume_walk_forward_with_prices_until(&mut fresh(), &snaps, &prices, &quiet(), cp, 10).unwrap();
    }
    assert_eq!(strip(cp.result), whole);
    // prices of another run are refused and change nothing
    let cp = walk_forward_with_prices_until(&mut fresh(), &snaps, &prices, &quiet(), 17).unwrap();
    let mut p = fresh();
    let before = p.checkpoint().unwrap();
    assert!(resume_walk_forward_with_prices(&mut p, &snaps, &prices[..40], &quiet(), cp.clone()).is_err());
    assert_eq!(p.checkpoint().unwrap(), before);
    // and so is resuming it as a run marked at its own snapshots, and the other way round
    assert!(resume_walk_forward(&mut p, &snaps, &quiet(), cp).is_err());
    assert_eq!(p.checkpoint().unwrap(), before);
    let plain = walk_forward_until(&mut fresh(), &snaps, &quiet(), 17).unwrap();
    assert!(resume_walk_forward_with_prices(&mut p, &snaps, &prices, &quiet(), plain).is_err());
    assert_eq!(p.checkpoint().unwrap(), before);
}

/// The documented model hash, from scratch: `SHA-256(Σ name_len ‖ name ‖ state_len ‖ state)`
/// over the configuration and then every model state (lengths as little-endian u64, states
/// as JSON), lowercase hex.
fn model_hash_by_hand(config: &PipelineConfig, states: &[(&str, Vec<u8>)]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut part = |name: &str, bytes: &[u8]| {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    part("config", &serde_json::to_vec(config).unwrap());
    for (name, bytes) in states {
        part(name, bytes);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// An audit sink that recomputes each record's model hash from scratch when it is recorded.
struct HashCheck {
    config: PipelineConfig,
    models: Vec<(&'static str, Shared<MeanModel>)>,
    /// (recorded hash, hash from scratch) of every record.
    seen: Arc<Mutex<Vec<(String, String)>>>,
}
impl AuditSink for HashCheck {
    fn record(&mut self, _: &MarketSnapshot, r: &DecisionRecord) -> RoleResult<()> {
        let states: Vec<(&str, Vec<u8>)> = self
            .models
            .iter()
            .map(|(name, m)| (*name, serde_json::to_vec(&*m.lock()).unwrap()))
            .collect();
        let fresh = model_hash_by_hand(&self.config, &states);
        self.seen.lock().unwrap().push((r.model_hash.clone(), fresh));
        Ok(())
    }
}

#[test]
fn the_model_hash_of_every_record_equals_a_fresh_computation_after_learn_refit_and_decide() {
    // two refitted models (one in the learn flow, one at decision time), one of them also
    // learning from every outcome, and a change made from outside between two decisions
    let (in_learn, at_decide) = (
        Shared::new(MeanModel::default()),
        Shared::new(MeanModel::default()),
    );
    struct Count(Shared<MeanModel>);
    impl OnlineLearner<Outcome> for Count {
        fn learn(&mut self, _: &Outcome) -> RoleResult<()> {
            self.0.lock().refits += 1000;
            Ok(())
        }
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = HashCheck {
        config: config(),
        models: vec![("in learn", in_learn.clone()), ("at decide", at_decide.clone())],
        seen: seen.clone(),
    };
    let mut p = PipelineBuilder::new(config())
        .forecaster(Box::new(at_decide.clone()))
        .optimizer(Box::new(Tilt(Status::Converged)))
        .audit(Box::new(sink))
        .model_state("in learn", Box::new(in_learn.clone()))
        .model_state("at decide", Box::new(at_decide.clone()))
        .refit("in learn", schedule(true), Box::new(in_learn.clone()))
        .refit("at decide", schedule(false), Box::new(at_decide.clone()))
        .learner(Box::new(Count(in_learn.clone())))
        .build()
        .unwrap();
    let snaps = snapshots(40, 5);
    let universe = p.config().universe.clone();
    for t in 0..snaps.len() - 1 {
        if t == 23 {
            at_decide.lock().means.insert("outside".into(), 1.0);
        }
        let _ = p.decide(&snaps[t]).unwrap();
        let outcome = Outcome {
            realized_returns: realized_returns(&universe, &snaps[t], &snaps[t + 1]),
            ..Default::default()
        };
        p.learn(&outcome).unwrap();
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), snaps.len() - 1);
    for (k, (recorded, fresh)) in seen.iter().enumerate() {
        assert_eq!(recorded, fresh, "record {k}");
    }
    // the states did change: every learn changes the hash
    for w in seen.windows(2) {
        assert_ne!(w[0].0, w[1].0);
    }
    assert!(at_decide.lock().refits > 0 && in_learn.lock().refits % 1000 > 0);
}
