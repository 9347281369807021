//! Writes the inputs of the reference fixtures (`tools/fixtures/causal/`) from
//! `prudentia_datasets`: `causal_input.csv` (x0..x2, t, y, fold), `causal_test.csv` (test
//! points) and `iv_input.csv` (y, d, z1, z2, w).
//!
//! `cargo run -p prudentia-causal --example fixture_inputs -- tools/fixtures/causal`

use std::fmt::Write as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tools/fixtures/causal".into());
    let s = prudentia_datasets::causal_dataset(1_000, 3, 42)?;
    let mut out = String::from("x0,x1,x2,t,y,fold\n");
    for i in 0..s.x.nrows() {
        let r = s.x.row(i);
        writeln!(
            out,
            "{:?},{:?},{:?},{},{:?},{}",
            r[0],
            r[1],
            r[2],
            u8::from(s.treatment[i]),
            s.outcome[i],
            i % 3
        )?;
    }
    std::fs::write(format!("{dir}/causal_input.csv"), out)?;

    let mut test = String::from("x0,x1,x2\n");
    for i in 0..7 {
        let f = i as f64;
        writeln!(test, "{:?},{:?},{:?}", -1.5 + 0.5 * f, 0.3 * f - 1.0, 0.1 * f)?;
    }
    std::fs::write(format!("{dir}/causal_test.csv"), test)?;

    let iv = prudentia_datasets::iv_dataset(1_000, 0.5, 7)?;
    let mut out = String::from("y,d,z1,z2,w\n");
    for i in 0..iv.outcome.len() {
        // a second (irrelevant but valid) instrument and an exogenous control, deterministic
        let z2 = ((i * 53) % 97) as f64 / 48.5 - 1.0;
        let w = ((i * 37) % 101) as f64 / 50.0 - 1.0;
        writeln!(
            out,
            "{:?},{:?},{:?},{:?},{:?}",
            iv.outcome[i] + 0.3 * w,
            iv.treatment[i],
            iv.instrument[i],
            z2,
            w
        )?;
    }
    std::fs::write(format!("{dir}/iv_input.csv"), out)?;
    Ok(())
}
