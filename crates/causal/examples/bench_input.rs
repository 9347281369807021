//! Writes the data of the DR-learner benchmark (`causal_dataset(5_000, 5, 1)` with the
//! bench's folds, `Folds::Seeded { k: 2, seed: 0 }`, as in `benches/causal.rs`) to a CSV
//! for `tools/fixtures/causal/bench_econml.py`, and this crate's answer on it (the ATE given
//! x, the final-stage coefficients and their HC1 standard errors) to `<csv>.json`: the
//! script refuses to print a timing ratio unless EconML reaches the same answer.
//!
//! `cargo run --release -p prudentia-causal --example bench_input -- /tmp/causal_bench.csv`

use std::fmt::Write as _;

use prudentia_causal::{CausalData, DrConfig, DrLearner, Folds};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/causal_bench.csv".into());
    let s = prudentia_datasets::causal_dataset(5_000, 5, 1)?;
    let t = s.treatment_indicator();
    let data = CausalData::new(s.x.view(), t.view(), s.outcome.view());
    // the bench's learner
    let fit = DrLearner::new(DrConfig {
        folds: Folds::Seeded { k: 2, seed: 0 },
        ..DrConfig::default()
    })
    .fit_detailed(&data)?;
    let folds = &fit.cross_fit.folds;
    let mut out = String::from("x0,x1,x2,x3,x4,t,y,fold\n");
    for (i, fold) in folds.iter().enumerate() {
        for v in s.x.row(i) {
            write!(out, "{v:?},")?;
        }
        let (t, y) = (u8::from(s.treatment[i]), s.outcome[i]);
        writeln!(out, "{t},{y:?},{fold}")?;
    }
    std::fs::write(&path, out)?;
    let m = &fit.model;
    let coef = m.coefficients();
    let answer = serde_json::json!({
        "ate": m.ate_given_x().estimate,
        "ate_stderr": m.ate_given_x().std_error,
        "intercept": coef[0].estimate,
        "coef": coef[1..].iter().map(|c| c.estimate).collect::<Vec<_>>(),
        "intercept_stderr": coef[0].std_error,
        "coef_stderr": coef[1..].iter().map(|c| c.std_error).collect::<Vec<_>>(),
    });
    std::fs::write(format!("{path}.json"), serde_json::to_string_pretty(&answer)?)?;
    println!(
        "wrote {path} and {path}.json: ate given x {:?}",
        m.ate_given_x().estimate
    );
    Ok(())
}
