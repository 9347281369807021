//! The main example: the whole decision chain on the shipped real data, all eleven stages.
//!
//! 20 S&P 500 stocks, 2014-01-03 .. 2018-12-31 (the years with VIX), one decision a day:
//! guard (defense) → regime from the S&P 500 index and VIX (regime) → heteroscedastic
//! forecasts fitted on 1995–2013 (uncertainty) → per-regime calibration learned online
//! (uncertainty) → causal filter: keep the names whose 20-day momentum signal has a positive
//! effect on the next day's return, significant after Benjamini–Hochberg, re-estimated every
//! 21 days by a DR-learner on the trailing three years (causal) → diversified slate of up to 8
//! (selection) → long/short mean–CVaR portfolio with gross, net, sector and turnover limits
//! (portfolio) → half Kelly with a drawdown governor (kelly) → orders with their expected cost
//! and interval (costs) → order type and venue chosen by a LinUCB bandit, with the propensity
//! logged (execution) → audit log (audit).
//!
//! The shipped data are daily closes only, so the microstructure is assumed and documented
//! here: a spread of `1 + 120 σ₂₀` bps, an average daily volume of $250M at the close, a
//! displayed depth of 1/4,000 of it with a seeded queue ahead. The orders are filled by the
//! seeded fill simulator of `prudentia::datasets::fill_sim` (queue position, partial fills,
//! adverse selection, square-root impact, venue fees and rebates) standing in for a broker;
//! the fills are the trading costs of the backtest, and the learn flow feeds them to the cost
//! model (impact calibration and learned residual) and to the routing bandit.
//!
//! It prints each stage's output for the last decision (causal survivors and why, expected
//! costs, routes with propensities), the cost attribution of the simulated fills and a
//! performance report (metrics), and writes pictures, CSV files and an HTML tear sheet
//! (`tearsheet.html`) to `$PRUDENTIA_OUT` (default `target/prudentia-examples/`). Every
//! decision and outcome is recorded in an audit log (`$PRUDENTIA_OUT/audit/`): the example
//! verifies the chain, replays the whole run on a fresh pipeline (every decision
//! bit-identical), and compares the policy without the causal filter on the recorded inputs:
//! per-decision differences, turnover, PnL gap.
//!
//! Run with `cargo run --release --example daily_pipeline`.

#[path = "support/chain.rs"]
mod chain;

use std::collections::BTreeMap;
use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use chain::{build_pipeline, load, Policy, Replayed, SignalRows};
use prudentia::audit::{policy_diff, replay, AuditLog, Durability, LogConfig};
use prudentia::causal::filter::Verdict;
use prudentia::chrono::NaiveDate;
use prudentia::core::{AssetId, DecisionStatus, MarketSnapshot, Opportunity, Order, RegimeLabel, Timestamp};
use prudentia::costs::model::FillAttribution;
use prudentia::metrics::chart::Series;
use prudentia::metrics::{BacktestRecord, ReportConfig, TearSheet};
use prudentia::pipeline::{walk_forward_with_prices, BacktestConfig, Shared};
use prudentia::uncertainty::hetero::HeteroForecaster;

/// Verifies the recorded log, replays it on a fresh pipeline and compares a second policy.
fn audit_report(
    log: &Shared<AuditLog>,
    universe: &[AssetId],
    forecaster: &HeteroForecaster,
    prior: &std::sync::Arc<SignalRows>,
    policy_a: &Policy,
) -> Result<(), Box<dyn Error>> {
    let mut log = log.lock();
    let _ = log.sync()?;
    let check = log.verify()?;
    let head = check.head.clone().ok_or("empty audit log")?;
    println!(
        "\n=== audit log ({}) ===\n{} records ({} decisions + outcomes), {:.1} MB in {} segment(s); chain verified: {}; head #{} {}",
        log.dir().display(),
        check.records,
        check.decisions,
        check.bytes as f64 / 1e6,
        check.segments,
        if check.is_ok() { "ok" } else { "BROKEN" },
        head.sequence,
        &head.chain_hash[..16]
    );
    let recorded = log.all()?;
    drop(log);
    let started = Instant::now();
    let (fresh, _) = build_pipeline(universe, forecaster, prior, policy_a, None)?;
    let r = replay(
        &recorded,
        &mut Replayed {
            pipeline: fresh,
            own_fills: true,
        },
    );
    println!(
        "replay on a fresh pipeline: {} of {} decisions bit-identical, {} outcomes re-learned ({:.1} s){}",
        r.identical,
        r.decisions,
        r.outcomes,
        started.elapsed().as_secs_f64(),
        match &r.first_difference {
            None => String::new(),
            Some(d) => format!(
                "; FIRST DIFFERENCE at decision {} ({}), field {}",
                d.decision_number, d.time, d.field
            ),
        }
    );
    let policy_b = Policy {
        id: "without the causal filter".into(),
        causal: false,
        ..policy_a.clone()
    };
    let (b, _) = build_pipeline(universe, forecaster, prior, &policy_b, None)?;
    let diff = policy_diff(
        &recorded,
        &mut Replayed {
            pipeline: b,
            own_fills: false,
        },
    );
    println!(
        "policy diff, B = {} on A's recorded inputs: {} of {} decisions differ; turnover A {:.1} vs B {:.1}",
        policy_b.id,
        diff.differing,
        diff.decisions.len(),
        diff.turnover_a,
        diff.turnover_b
    );
    if let (Some(a), Some(b), Some(gap)) = (diff.pnl_a, diff.pnl_b, diff.pnl_gap) {
        println!(
            "  summed daily portfolio return: A {:+.2}%, B {:+.2}%, gap (B - A) {:+.2} percentage points",
            100.0 * a,
            100.0 * b,
            100.0 * gap
        );
    }
    let mut biggest: Vec<_> = diff.decisions.iter().filter(|d| d.weight_gap > 0.0).collect();
    biggest.sort_by(|x, y| y.weight_gap.total_cmp(&x.weight_gap));
    for d in biggest.iter().take(3) {
        println!(
            "  {}: sum |wB - wA| {:.2}, largest {:?}, slate only A {:?} / only B {:?}, orders {} vs {}",
            d.time,
            d.weight_gap,
            d.largest_gap
                .as_ref()
                .map(|(a, g)| format!("{a} {:+.1}%", 100.0 * g)),
            d.only_a.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
            d.only_b.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
            d.orders_a,
            d.orders_b
        );
    }
    if let Some(s) = &diff.stopped {
        println!("  policy B stopped at {}: {}", s.time, s.replayed);
    }
    Ok(())
}

/// One line per order: side, quantity, asset, expected cost with interval, route, propensity.
fn last_orders_report(orders: &[Order]) -> Vec<String> {
    orders
        .iter()
        .map(|o| {
            let cost = match (o.expected_cost_bps, o.expected_cost_interval_bps) {
                (Some(c), Some((lo, hi))) => format!("{c:5.2} bps [{lo:+.2}, {hi:+.2}]"),
                (Some(c), None) => format!("{c:5.2} bps"),
                _ => "  n/a".into(),
            };
            let route = match (&o.venue, &o.routing) {
                (Some(v), Some(r)) => format!(
                    "{:?} at {} (action {}, propensity {:.2})",
                    o.order_type, v.0, r.action, r.propensity
                ),
                _ => format!("{:?}", o.order_type),
            };
            format!(
                "{:?} {:>7.0} {:<5} expected cost {cost} -> {route}",
                o.side, o.quantity, o.asset
            )
        })
        .collect()
}

fn out_dir() -> Result<PathBuf, Box<dyn Error>> {
    let dir = std::env::var_os("PRUDENTIA_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/prudentia-examples"));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn main() -> Result<(), Box<dyn Error>> {
    let started = Instant::now();
    let setup = load(NaiveDate::from_ymd_opt(1995, 1, 3).ok_or("date")?, None)?;
    println!("{}", setup.description);
    let model = &setup.forecaster.model;
    println!(
        "forecaster: heteroscedastic Gaussian regression on {} stock-days (1995-2013), mean coefs {:?}, log-sigma coefs {:?}",
        setup.fit_rows,
        model.mean_coef().iter().map(|v| format!("{v:.3e}")).collect::<Vec<_>>(),
        model.log_sigma_coef().iter().map(|v| format!("{v:.3}")).collect::<Vec<_>>()
    );
    let (universe, forecaster, prior) = (&setup.universe, &setup.forecaster, &setup.prior);
    // a few bad ticks, as live data have: the guard must catch them (trades are still marked
    // at the true prices)
    let true_prices = setup.snapshots.clone();
    let mut snapshots = setup.snapshots.clone();
    snapshots[400].quotes[3].price *= 8.0;
    snapshots[700].quotes[12].price = f64::NAN;
    snapshots[900].indicators[0].value = -1.0;

    // ---------------- the pipeline, recorded in an audit log ----------------
    let audit_dir = out_dir()?.join("audit");
    let _ = std::fs::remove_dir_all(&audit_dir); // a fresh log per run
    let log = Shared::new(AuditLog::open(
        &audit_dir,
        LogConfig {
            durability: Durability::GroupCommit {
                max_records: 64,
                max_delay: std::time::Duration::from_millis(50),
            },
            ..Default::default()
        },
    )?);
    let policy_a = Policy {
        id: "daily_pipeline example".into(),
        k: 8,
        kelly_fraction: None,
        causal: true,
    };
    let (mut pipeline, learned) = build_pipeline(universe, forecaster, prior, &policy_a, Some(log.clone()))?;

    let run = walk_forward_with_prices(
        &mut pipeline,
        &snapshots,
        &true_prices,
        &BacktestConfig::default(),
    )?;

    audit_report(&log, universe, forecaster, prior, &policy_a)?;

    // ---------------- the last decision, stage by stage ----------------
    let last = run.decisions.last().ok_or("no decision")?;
    println!("\n=== last decision: {} ===", last.time);
    println!(
        "regime: {} (run length {}, change probability {:.3}); probabilities {:?}",
        last.regime.label,
        last.regime.run_length,
        last.regime.change_probability,
        last.regime
            .probabilities
            .iter()
            .map(|(l, p)| format!("{l}={p:.2}"))
            .collect::<Vec<_>>()
    );
    println!("calibrated forecasts (daily, bp):");
    for (id, f) in &last.forecasts {
        let q = f
            .quantiles
            .iter()
            .map(|q| format!("q{:.0}={:+.0}", 100.0 * q.level, q.value * 1e4))
            .collect::<Vec<_>>()
            .join(" ");
        println!(
            "  {:<5} mean {:+6.2}  sigma {:6.1}  {}",
            id,
            f.mean * 1e4,
            f.sigma * 1e4,
            q
        );
    }
    // the causal filter's reasoning on the last decision's opportunities
    let last_snapshot = snapshots
        .iter()
        .find(|s| s.time == last.time)
        .ok_or("last snapshot")?;
    let opportunities: Vec<Opportunity> = last
        .forecasts
        .iter()
        .filter_map(|(id, f)| {
            let asset = last_snapshot.assets.iter().find(|a| a.id == *id)?.clone();
            Some(Opportunity {
                asset,
                forecast: f.clone(),
            })
        })
        .collect();
    let screening = learned.filter.lock().screen(&opportunities);
    let kept: Vec<&str> = screening
        .iter()
        .filter(|s| s.verdict == Verdict::Kept)
        .map(|s| s.asset.as_str())
        .collect();
    println!(
        "causal filter (20-day reversal signal, DR-learner, BH at 25% FDR): {} of {} kept {:?}",
        kept.len(),
        screening.len(),
        kept
    );
    for s in &screening {
        let why = match &s.verdict {
            Verdict::Kept => "kept".to_string(),
            Verdict::NoEstimate => "dropped: no estimate".to_string(),
            Verdict::NotPositive => "dropped: effect not positive".to_string(),
            Verdict::NotSignificant { cutoff } => {
                format!("dropped: p above the BH cut-off {cutoff:.4}")
            }
            other => format!("{other:?}"),
        };
        match (&s.effect, s.p_one_sided) {
            (Some(e), Some(p)) => println!(
                "  {:<5} effect {:+6.2} bp/day (se {:5.2}), one-sided p {:.4}: {why}",
                s.asset,
                e.cate * 1e4,
                e.std_error * 1e4,
                p
            ),
            _ => println!("  {:<5} {why}", s.asset),
        }
    }
    println!(
        "selected slate: {:?}",
        last.selected.iter().map(|a| a.as_str()).collect::<Vec<_>>()
    );
    let show = |w: &prudentia::core::Weights| {
        w.assets
            .iter()
            .zip(&w.values)
            .filter(|(_, v)| v.abs() > 1e-6)
            .map(|(a, v)| format!("{a} {:+.1}%", 100.0 * v))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "target weights (mean-CVaR, {:?}): {}",
        run.optimizer_status.last().cloned().flatten(),
        show(&last.target)
    );
    println!(
        "sized weights (half Kelly, governor): {}  [gross {:.2}, net {:.2}]",
        show(&last.sized),
        last.sized.gross(),
        last.sized.net()
    );
    println!("orders (expected cost and its interval; route chosen by LinUCB, with its propensity):");
    let last_report = last_orders_report(&last.orders);
    for line in &last_report {
        println!("  {line}");
    }
    let attributions = learned.attributions.lock();
    let sum = |f: fn(&FillAttribution) -> f64| attributions.iter().map(f).sum::<f64>();
    let notional = sum(|a| a.notional);
    println!(
        "\nsimulated fills: {} fills, {:.1}M traded; cost attribution, bps of notional (currency):",
        attributions.len(),
        notional / 1e6
    );
    for (name, bps, cur) in [
        (
            "realized",
            sum(|a| a.realized_bps * a.notional),
            sum(|a| a.realized),
        ),
        (
            "half spread",
            sum(|a| a.spread_bps * a.notional),
            sum(|a| a.spread),
        ),
        (
            "modelled impact",
            sum(|a| a.impact_bps * a.notional),
            sum(|a| a.impact),
        ),
        (
            "learned residual",
            sum(|a| a.residual_bps * a.notional),
            sum(|a| a.residual),
        ),
        (
            "unexplained",
            sum(|a| a.unexplained_bps * a.notional),
            sum(|a| a.unexplained),
        ),
    ] {
        println!("  {name:<17} {:+7.2} bps ({cur:+.0})", bps / notional.max(1.0));
    }
    if let Some(a) = attributions.last() {
        println!(
            "  last fill: {} {:?} {:.0} at {:.2} (arrival {:.2}): realized {:+.2} = spread {:+.2} + impact {:+.2} + residual {:+.2} + unexplained {:+.2} bps",
            a.asset, a.side, a.quantity, a.fill_price, a.arrival_price, a.realized_bps, a.spread_bps,
            a.impact_bps, a.residual_bps, a.unexplained_bps
        );
    }
    let half = attributions.len() / 2;
    let mean_bps = |xs: &[FillAttribution]| {
        let n: f64 = xs.iter().map(|a| a.notional).sum();
        xs.iter().map(|a| a.realized_bps * a.notional).sum::<f64>() / n.max(1.0)
    };
    println!(
        "  routing learned: realized cost {:+.2} bps over the first half of the fills, {:+.2} bps over the second",
        mean_bps(&attributions[..half]),
        mean_bps(&attributions[half..])
    );
    drop(attributions);
    {
        let c = learned.costs.lock();
        let [base, rls, trees] = c.held_out_rmse();
        let impact = c.impact();
        println!(
            "  cost model after {} fills: impact η {:.2}, exponent {:.2}; held-out RMSE base {base:.2}, + RLS residual {rls:.2}, + tree residual {trees:.2} bps; residual from {:?}",
            c.fills(),
            impact.eta,
            impact.exponent,
            c.learner()
        );
    }
    let fallbacks: Vec<(String, Vec<String>)> = run
        .decisions
        .iter()
        .filter_map(|d| match &d.status {
            DecisionStatus::SafeFallback { reasons } if !reasons[0].starts_with("warming up") => {
                Some((d.time.to_string(), reasons.clone()))
            }
            _ => None,
        })
        .collect();
    // guard refusals one by one; the other fallbacks (no name kept, infeasible limits)
    // counted by their first reason, with the first and last date
    let (guarded, other): (Vec<_>, Vec<_>) = fallbacks.iter().partition(|(_, r)| {
        !["optimizer", "no opportunity", "stage `"]
            .iter()
            .any(|p| r[0].starts_with(p))
    });
    println!(
        "\nsafe fallbacks (positions kept): {} guard refusals, {} other (stage failures, no name kept, infeasible limits)",
        guarded.len(),
        other.len()
    );
    for (t, r) in &guarded {
        let first = r.iter().take(2).cloned().collect::<Vec<_>>().join("; ");
        println!(
            "  {t}: {} reasons: {first}{}",
            r.len(),
            if r.len() > 2 { "; ..." } else { "" }
        );
    }
    let mut by_reason: BTreeMap<&str, (usize, &str, &str)> = BTreeMap::new();
    for (t, r) in &other {
        let e = by_reason
            .entry(r[0].as_str())
            .or_insert((0, t.as_str(), t.as_str()));
        e.0 += 1;
        e.2 = t.as_str();
    }
    for (reason, (count, first, last)) in &by_reason {
        println!("  {count} days ({first} .. {last}): {reason}");
    }
    let mut statuses: Vec<(String, usize)> = Vec::new();
    for s in run.optimizer_status.iter().flatten() {
        let name = format!("{s:?}")
            .split([' ', '{', '('])
            .next()
            .unwrap_or("")
            .to_owned();
        match statuses.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += 1,
            None => statuses.push((name, 1)),
        }
    }
    println!("optimizer statuses: {statuses:?}");
    let last_infeasible = run
        .optimizer_status
        .iter()
        .enumerate()
        .rev()
        .find_map(|(t, s)| match s {
            Some(prudentia::core::Status::Infeasible { culprits }) => Some((t, culprits)),
            _ => None,
        });
    if let Some((t, culprits)) = last_infeasible {
        println!(
            "  last infeasible at {} (positions kept): conflicting limits {culprits:?}",
            run.times[t]
        );
    }
    println!("\ntime per stage over {} decisions:", run.decisions.len());
    for (s, d) in &run.stage_time {
        println!("  {:<10} {:>8.1} ms", s.to_string(), d.as_secs_f64() * 1e3);
    }
    let total: f64 = run.stage_time.iter().map(|(_, d)| d.as_secs_f64()).sum();
    println!(
        "  {:<10} {:>8.1} ms ({:.2} ms per decision)",
        "total",
        total * 1e3,
        total * 1e3 / run.decisions.len() as f64
    );

    // ---------------- performance ----------------
    let report = run.report(ReportConfig {
        title: "daily_pipeline: 20 S&P 500 stocks, 2014-2018".into(),
        ..Default::default()
    })?;
    println!("\n{report}");
    let regimes: Vec<RegimeLabel> = run.decisions.iter().map(|d| d.regime.label.clone()).collect();
    let mut counts: Vec<(RegimeLabel, usize)> = Vec::new();
    for l in &regimes {
        match counts.iter_mut().find(|(x, _)| x == l) {
            Some((_, c)) => *c += 1,
            None => counts.push((l.clone(), 1)),
        }
    }
    println!(
        "regime days: {}",
        counts
            .iter()
            .map(|(l, c)| format!("{l} {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "average daily turnover {:.3}, final equity {:.0}",
        run.turnover.iter().sum::<f64>() / run.turnover.len() as f64,
        run.equity.last().copied().unwrap_or(f64::NAN)
    );

    // ---------------- pictures and the tear sheet ----------------
    let dir = out_dir()?;
    std::fs::write(dir.join("equity.svg"), report.to_svg(1000, 600)?)?;
    let record = BacktestRecord {
        times: &run.times,
        returns: &run.returns,
        turnover: &run.turnover,
        decisions: &run.decisions,
        outcomes: &run.outcomes,
    };
    // the S&P 500 over the period after each decision (the benchmark), its level and VIX
    let quote = |s: &MarketSnapshot, id: &str| {
        s.quotes
            .iter()
            .find(|q| q.asset.as_str() == id)
            .map_or(f64::NAN, |q| q.price)
    };
    let at = |t: &Timestamp| true_prices.iter().position(|s| s.time == *t);
    let level: Vec<f64> = run
        .times
        .iter()
        .map(|t| at(t).map_or(f64::NAN, |k| quote(&true_prices[k], "SP500")))
        .collect();
    let vix_level: Vec<f64> = run
        .times
        .iter()
        .map(|t| {
            at(t)
                .and_then(|k| true_prices[k].indicator("vix"))
                .unwrap_or(f64::NAN)
        })
        .collect();
    let benchmark: Vec<f64> = run
        .times
        .iter()
        .map(|t| match at(t) {
            Some(k) if k + 1 < true_prices.len() => {
                quote(&true_prices[k + 1], "SP500") / quote(&true_prices[k], "SP500") - 1.0
            }
            _ => 0.0,
        })
        .collect();
    let sheet = TearSheet::new(
        ReportConfig {
            title: "daily_pipeline: 20 S&P 500 stocks, 2014-2018".into(),
            drop_warmup: true,
            ..Default::default()
        },
        &record,
    )?
    .with_benchmark("S&P 500", &benchmark)?
    .with_market(Series::new("S&P 500", level), Some(Series::new("VIX", vix_level)))?
    .with_configuration("backtest", &BacktestConfig::default())?;
    let charts = sheet.charts()?;
    for (id, _, chart) in &charts {
        if matches!(*id, "weights" | "regimes") {
            std::fs::write(dir.join(format!("{id}.svg")), chart.to_svg(1100, 560)?)?;
        }
    }
    record.write_csv(&dir)?;
    let html = dir.join("tearsheet.html");
    sheet.write_html(&html)?;
    println!(
        "wrote equity.svg, weights.svg, regimes.svg, daily.csv, weights.csv, orders.csv to {} ({:.1} s)",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    println!("tear sheet: {}", html.display());
    Ok(())
}
