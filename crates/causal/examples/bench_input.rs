//! Writes the data of the DR-learner benchmark (`causal_dataset(5_000, 5, 1)`, as in
//! `benches/causal.rs`) to a CSV for `tools/fixtures/causal/bench_econml.py`.
//!
//! `cargo run -p prudentia-causal --example bench_input -- /tmp/causal_bench.csv`

use std::fmt::Write as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/causal_bench.csv".into());
    let s = prudentia_datasets::causal_dataset(5_000, 5, 1)?;
    let mut out = String::from("x0,x1,x2,x3,x4,t,y\n");
    for i in 0..s.x.nrows() {
        for v in s.x.row(i) {
            write!(out, "{v:?},")?;
        }
        writeln!(out, "{},{:?}", u8::from(s.treatment[i]), s.outcome[i])?;
    }
    std::fs::write(path, out)?;
    Ok(())
}
