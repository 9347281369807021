//! CPU time of the DR-learner fit (robust to a loaded machine: reads the thread's on-CPU
//! nanoseconds from `/proc/thread-self/schedstat`, Linux only).
//!
//! `cargo run --release -p prudentia-causal --example dr_cpu_time -- [n] [p] [folds] [reps]`
//! (default 5000 5 2 300).

use prudentia_causal::{CausalData, DrConfig, DrLearner, Folds};

fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let get = |i: usize, d: usize| args.get(i).copied().unwrap_or(d);
    let (n, p, k, reps) = (get(0, 5_000), get(1, 5), get(2, 2), get(3, 300));
    let s = prudentia_datasets::causal_dataset(n, p, if n == 5_000 { 1 } else { 2 })?;
    let t = s.treatment_indicator();
    let data = CausalData::new(s.x.view(), t.view(), s.outcome.view());
    let l = DrLearner::new(DrConfig {
        folds: Folds::Seeded { k, seed: 0 },
        ..DrConfig::default()
    });
    let m = l.fit(&data)?;
    let row = vec![0.1; p];
    let mut wall = Vec::with_capacity(reps);
    let c0 = cpu_ns().ok_or("no /proc/thread-self/schedstat")?;
    for _ in 0..reps {
        let w0 = std::time::Instant::now();
        std::hint::black_box(l.fit(std::hint::black_box(&data))?);
        wall.push(w0.elapsed().as_secs_f64() * 1e3);
    }
    let cpu = (cpu_ns().unwrap_or(c0) - c0) as f64 * 1e-6 / reps as f64;
    wall.sort_by(f64::total_cmp);
    println!(
        "dr fit n={n} p={p} folds={k}: CPU mean {cpu:.3} ms; wall min {:.3} ms, p10 {:.3} ms, median {:.3} ms ({reps} fits); ate {:.4}",
        wall[0],
        wall[reps / 10],
        wall[reps / 2],
        m.ate().estimate
    );
    let c0 = cpu_ns().unwrap_or(0);
    let reps_row = 200_000;
    for _ in 0..reps_row {
        std::hint::black_box(m.cate_row(std::hint::black_box(&row))?);
    }
    let c1 = cpu_ns().unwrap_or(c0);
    println!(
        "cate_row: CPU {:.3} us per call",
        (c1 - c0) as f64 * 1e-3 / reps_row as f64
    );
    Ok(())
}
