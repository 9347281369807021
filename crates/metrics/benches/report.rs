//! The full report (all return statistics, drawdowns, equity and drawdown curves, PSR and
//! DSR) over 10 000 daily returns. Target (issue #9): ≤ 1 ms. Also one O(1) rolling update.
#![allow(missing_docs)]
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use prudentia_metrics::{
    Annualization, DsrTrials, PerPeriodRate, Report, ReportConfig, Returns, RollingConfig, RollingReturnStats,
};
use rand::SeedableRng;
use rand_distr::{Distribution, StudentT};

fn returns(n: usize) -> Vec<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let t = StudentT::new(4.0).expect("valid dof");
    (0..n).map(|_| 0.0004 + 0.008 * t.sample(&mut rng)).collect()
}

fn bench(c: &mut Criterion) {
    let r = Returns::new(returns(10_000)).expect("valid returns");
    let config = ReportConfig {
        risk_free: PerPeriodRate::from_annual(0.02, Annualization::Daily252).expect("valid rate"),
        dsr_trials: Some(DsrTrials::new(50, 0.5 / 252.0).expect("valid trials")),
        ..ReportConfig::default()
    };
    c.bench_function("report_10k_daily_returns", |b| {
        b.iter(|| Report::new(black_box(config.clone()), black_box(&r)).expect("report"))
    });
    let mut rolling = RollingReturnStats::new(RollingConfig::default()).expect("valid window");
    let xs = r.values();
    let mut k = 0usize;
    c.bench_function("rolling_update_w63", |b| {
        b.iter(|| {
            k = (k + 1) % xs.len();
            rolling.push(black_box(xs[k])).expect("valid return")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
