//! Off-policy evaluation: agreement with Open Bandit Pipeline, interval coverage on simulated
//! logs of a known logging policy, bad input.

use ndarray::{Array1, Array2};
use prudentia_execution::ope::{LoggedData, OffPolicyEvaluator, OpeConfig, RewardModel, SupportStatus};
use prudentia_execution::ExecutionError;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use serde::Deserialize;

#[derive(Deserialize)]
struct ObpFixture {
    n: usize,
    k: usize,
    contexts: Vec<Vec<f64>>,
    actions: Vec<usize>,
    rewards: Vec<f64>,
    propensities: Vec<f64>,
    logging_policy: Vec<Vec<f64>>,
    target: Vec<Vec<f64>>,
    q_hat: Vec<Vec<f64>>,
    ips: f64,
    snips: f64,
    dm: f64,
    dr: f64,
}

fn matrix(rows: &[Vec<f64>]) -> Array2<f64> {
    let c = rows[0].len();
    Array2::from_shape_fn((rows.len(), c), |(i, j)| rows[i][j])
}

fn fixture() -> ObpFixture {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tools/fixtures/execution/ope_obp.json"
    ))
    .expect("fixture present");
    serde_json::from_str(&text).expect("fixture parses")
}

#[test]
fn agrees_with_open_bandit_pipeline() {
    let f = fixture();
    let x = matrix(&f.contexts);
    let target = matrix(&f.target);
    let q = matrix(&f.q_hat);
    let logging = matrix(&f.logging_policy);
    assert_eq!((target.nrows(), target.ncols()), (f.n, f.k));
    let log = LoggedData::new(x.view(), &f.actions, &f.rewards, &f.propensities)
        .with_logging_policy(logging.view());
    let eval = OffPolicyEvaluator::new(OpeConfig::default()).unwrap();
    let r = eval.evaluate_with_rewards(&log, target.view(), q.view()).unwrap();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
    assert!(close(r.ips.value, f.ips), "ips {} vs obp {}", r.ips.value, f.ips);
    assert!(
        close(r.snips.unwrap().value, f.snips),
        "snips {:?} vs obp {}",
        r.snips,
        f.snips
    );
    assert!(close(r.dm.value, f.dm), "dm {} vs obp {}", r.dm.value, f.dm);
    assert!(close(r.dr.value, f.dr), "dr {} vs obp {}", r.dr.value, f.dr);
    // 10 % uniform exploration over 5 actions: every logging probability is >= 0.02
    assert_eq!(r.support, SupportStatus::Full);
    assert!(r.effective_sample_size > 1.0 && r.effective_sample_size <= f.n as f64);
    for e in [r.ips, r.dm, r.dr] {
        assert!(e.normal.contains(e.value));
        let b = e.bootstrap.unwrap();
        assert!(b.lower <= b.upper);
    }
}

const K: usize = 4;
const D: usize = 3;

/// The simulation: x ~ N(0, I₃), reward r = xᵀθₐ + 0.5 + N(0, 0.5²), logging policy
/// 0.8 softmax(xᵀΘ_log) + 0.2 / K, target policy softmax(2 xᵀΘ_t).
struct World {
    theta_reward: [[f64; K]; D],
    theta_log: [[f64; K]; D],
    theta_target: [[f64; K]; D],
}

impl World {
    fn new() -> Self {
        Self {
            theta_reward: [
                [0.5, -0.3, 0.2, 0.8],
                [-0.4, 0.6, 0.1, -0.2],
                [0.3, 0.2, -0.7, 0.4],
            ],
            theta_log: [
                [0.6, 0.1, -0.3, 0.2],
                [0.2, -0.5, 0.4, 0.1],
                [-0.1, 0.3, 0.2, -0.4],
            ],
            theta_target: [
                [0.4, -0.6, 0.1, 0.9],
                [-0.5, 0.7, 0.2, -0.3],
                [0.1, 0.3, -0.8, 0.5],
            ],
        }
    }
    fn scores(theta: &[[f64; K]; D], x: &[f64], mult: f64) -> [f64; K] {
        let mut s = [0.0; K];
        for (a, sa) in s.iter_mut().enumerate() {
            *sa = mult * (0..D).map(|j| x[j] * theta[j][a]).sum::<f64>();
        }
        s
    }
    fn softmax(s: [f64; K]) -> [f64; K] {
        let m = s.iter().fold(f64::MIN, |m, v| m.max(*v));
        let e = s.map(|v| (v - m).exp());
        let z: f64 = e.iter().sum();
        e.map(|v| v / z)
    }
    fn logging(&self, x: &[f64]) -> [f64; K] {
        Self::softmax(Self::scores(&self.theta_log, x, 1.0)).map(|p| 0.8 * p + 0.2 / K as f64)
    }
    fn target(&self, x: &[f64]) -> [f64; K] {
        Self::softmax(Self::scores(&self.theta_target, x, 2.0))
    }
    fn mean_reward(&self, x: &[f64]) -> [f64; K] {
        Self::scores(&self.theta_reward, x, 1.0).map(|v| v + 0.5)
    }
    fn context(rng: &mut ChaCha8Rng) -> [f64; D] {
        std::array::from_fn(|_| rng.sample(StandardNormal))
    }
    /// The target policy's value by Monte Carlo over 10⁶ contexts (error ≈ 1e-3).
    fn true_value(&self) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(999);
        let m = 1_000_000;
        let mut s = 0.0;
        for _ in 0..m {
            let x = Self::context(&mut rng);
            let p = self.target(&x);
            let q = self.mean_reward(&x);
            s += p.iter().zip(q).map(|(p, q)| p * q).sum::<f64>();
        }
        s / m as f64
    }
    #[allow(clippy::type_complexity)]
    fn log(&self, n: usize, seed: u64) -> (Array2<f64>, Vec<usize>, Vec<f64>, Vec<f64>, Array2<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut x = Array2::zeros((n, D));
        let mut actions = Vec::with_capacity(n);
        let mut rewards = Vec::with_capacity(n);
        let mut props = Vec::with_capacity(n);
        let mut target = Array2::zeros((n, K));
        for i in 0..n {
            let c = Self::context(&mut rng);
            for j in 0..D {
                x[[i, j]] = c[j];
            }
            let mu = self.logging(&c);
            let u: f64 = rng.random();
            let mut acc = 0.0;
            let mut a = K - 1;
            for (j, p) in mu.iter().enumerate() {
                acc += p;
                if u < acc {
                    a = j;
                    break;
                }
            }
            let noise: f64 = rng.sample(StandardNormal);
            actions.push(a);
            props.push(mu[a]);
            rewards.push(self.mean_reward(&c)[a] + 0.5 * noise);
            for (j, p) in self.target(&c).iter().enumerate() {
                target[[i, j]] = *p;
            }
        }
        (x, actions, rewards, props, target)
    }
}

#[test]
fn intervals_cover_the_true_value_and_dr_beats_ips() {
    let world = World::new();
    let truth = world.true_value();
    let eval = OffPolicyEvaluator::new(OpeConfig {
        bootstrap_samples: 100,
        ..OpeConfig::default()
    })
    .unwrap();
    let reps = 100;
    let (mut cov_ips, mut cov_snips, mut cov_dr, mut cov_dr_boot) = (0, 0, 0, 0);
    let (mut se_ips, mut se_dr) = (0.0, 0.0);
    for rep in 0..reps {
        let (x, a, r, p, target) = world.log(1000, 1000 + rep);
        let log = LoggedData::new(x.view(), &a, &r, &p);
        let rep_ = eval.evaluate(&log, target.view()).unwrap();
        assert!(rep_.reward_model.is_converged());
        cov_ips += usize::from(rep_.ips.normal.contains(truth));
        cov_snips += usize::from(rep_.snips.unwrap().normal.contains(truth));
        cov_dr += usize::from(rep_.dr.normal.contains(truth));
        cov_dr_boot += usize::from(rep_.dr.bootstrap.unwrap().contains(truth));
        se_ips += (rep_.ips.value - truth).powi(2);
        se_dr += (rep_.dr.value - truth).powi(2);
    }
    let (rmse_ips, rmse_dr) = ((se_ips / reps as f64).sqrt(), (se_dr / reps as f64).sqrt());
    println!(
        "OPE coverage over {reps} replications (n = 1000): IPS {cov_ips}, SNIPS {cov_snips}, DR {cov_dr}, \
         DR bootstrap {cov_dr_boot}; RMSE IPS {rmse_ips:.4}, DR {rmse_dr:.4}; true value {truth:.4}"
    );
    assert!(cov_ips >= 90, "IPS covered {cov_ips} of {reps}");
    assert!(cov_snips >= 90, "SNIPS covered {cov_snips} of {reps}");
    assert!(cov_dr >= 90, "DR covered {cov_dr} of {reps}");
    assert!(rmse_dr < rmse_ips, "DR RMSE {rmse_dr} not below IPS {rmse_ips}");
}

#[test]
fn bootstrap_is_deterministic_per_seed() {
    let world = World::new();
    let (x, a, r, p, target) = world.log(300, 7);
    let log = LoggedData::new(x.view(), &a, &r, &p);
    let run = |seed| {
        OffPolicyEvaluator::new(OpeConfig {
            seed,
            ..OpeConfig::default()
        })
        .unwrap()
        .evaluate(&log, target.view())
        .unwrap()
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3).dr.bootstrap, run(4).dr.bootstrap);
}

#[test]
fn support_deficiency_is_reported() {
    // logging never takes action 2; the target takes it half the time
    let n = 8;
    let x = Array2::from_elem((n, 1), 1.0);
    let actions: Vec<usize> = (0..n).map(|i| i % 2).collect();
    let rewards = vec![1.0; n];
    let props = vec![0.5; n];
    let logging = Array2::from_shape_fn((n, 3), |(_, a)| if a == 2 { 0.0 } else { 0.5 });
    let target = Array2::from_shape_fn((n, 3), |(_, a)| if a == 2 { 0.5 } else { 0.25 });
    let log = LoggedData::new(x.view(), &actions, &rewards, &props).with_logging_policy(logging.view());
    let eval = OffPolicyEvaluator::new(OpeConfig::default()).unwrap();
    let q = Array2::zeros((n, 3));
    let r = eval.evaluate_with_rewards(&log, target.view(), q.view()).unwrap();
    match r.support {
        SupportStatus::Deficient {
            rows, target_mass, ..
        } => {
            assert_eq!(rows, n);
            assert!((target_mass - 0.5).abs() < 1e-15);
        }
        s => panic!("expected a deficient support, got {s:?}"),
    }
    // without the logging distribution: tiny logged propensities are flagged
    let tiny = vec![1e-5; n];
    let log = LoggedData::new(x.view(), &actions, &rewards, &tiny);
    let r = eval.evaluate_with_rewards(&log, target.view(), q.view()).unwrap();
    assert!(matches!(r.support, SupportStatus::Deficient { rows: 8, .. }));
}

#[test]
fn bad_logs_are_typed_errors() {
    let n = 4;
    let x = Array2::from_elem((n, 2), 1.0);
    let a = [0usize, 1, 0, 1];
    let r = [1.0, 0.0, 1.0, 0.0];
    let p = [0.5; 4];
    let target = Array2::from_elem((n, 2), 0.5);
    let q = Array2::zeros((n, 2));
    let eval = OffPolicyEvaluator::new(OpeConfig::default()).unwrap();
    let run = |a: &[usize], r: &[f64], p: &[f64], t: &Array2<f64>| {
        eval.evaluate_with_rewards(&LoggedData::new(x.view(), a, r, p), t.view(), q.view())
    };
    // a propensity of 0
    assert!(matches!(
        run(&a, &r, &[0.5, 0.0, 0.5, 0.5], &target),
        Err(ExecutionError::BadPropensity { index: 1, .. })
    ));
    assert!(matches!(
        run(&a, &r, &[0.5, f64::NAN, 0.5, 0.5], &target),
        Err(ExecutionError::BadPropensity { .. })
    ));
    // an action outside the space
    assert!(matches!(
        run(&[0, 2, 0, 1], &r, &p, &target),
        Err(ExecutionError::ActionOutOfRange {
            action: 2,
            n_actions: 2
        })
    ));
    // a NaN reward, mismatched lengths
    assert!(run(&a, &[1.0, f64::NAN, 0.0, 0.0], &p, &target).is_err());
    assert!(run(&a[..3], &r, &p, &target).is_err());
    // a target row that does not sum to one
    let mut bad = target.clone();
    bad[[2, 0]] = 0.9;
    assert!(matches!(
        run(&a, &r, &p, &bad),
        Err(ExecutionError::NotADistribution { index: 2, .. })
    ));
    // bad settings
    assert!(OffPolicyEvaluator::new(OpeConfig {
        confidence: 1.0,
        ..OpeConfig::default()
    })
    .is_err());
    assert!(OffPolicyEvaluator::new(OpeConfig {
        bootstrap_samples: usize::MAX,
        ..OpeConfig::default()
    })
    .is_err());
    // a context of the wrong width for a fitted reward model
    let m = RewardModel::fit(&LoggedData::new(x.view(), &a, &r, &p), 2, 1.0).unwrap();
    assert!(matches!(
        m.predict(Array2::zeros((1, 3)).view()),
        Err(ExecutionError::ContextLength {
            expected: 2,
            found: 3
        })
    ));
}

#[test]
fn extreme_rewards_are_rescaled_or_refused() {
    let n = 4;
    let x = Array2::from_elem((n, 1), 1.0);
    let a = [0usize, 1, 0, 1];
    let p = [0.5; 4];
    let target = Array2::from_elem((n, 2), 0.5);
    let eval = OffPolicyEvaluator::new(OpeConfig::default()).unwrap();
    let q = Array2::zeros((n, 2));
    let r = [1e300, -1e300, 1e300, 5e-324];
    let rep = eval
        .evaluate_with_rewards(&LoggedData::new(x.view(), &a, &r, &p), target.view(), q.view())
        .unwrap();
    assert!((rep.ips.value - 0.25e300).abs() < 1e286, "{}", rep.ips.value);
    let r = [f64::MAX, -f64::MAX, f64::MAX, 1e300];
    let rep = eval
        .evaluate_with_rewards(&LoggedData::new(x.view(), &a, &r, &p), target.view(), q.view())
        .unwrap();
    assert!(rep.ips.value.is_finite() && rep.ips.std_error.is_finite());
    assert_eq!(rep.ips.normal.upper, f64::MAX);
    // tiny propensities on huge rewards: the weights overflow the estimate, a typed error
    let tiny = [5e-324; 4];
    let r = [1.0; 4];
    let out = eval.evaluate_with_rewards(&LoggedData::new(x.view(), &a, &r, &tiny), target.view(), q.view());
    assert!(matches!(out, Err(ExecutionError::Overflow { .. })), "{out:?}");
    let _ = Array1::<f64>::zeros(1);
}
