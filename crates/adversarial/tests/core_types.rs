//! prudentia-core under bad input: the vocabulary types, validation helpers, estimators,
//! linear algebra, and checkpoint mutation of every type that validates on load.

use ndarray::Array2;
use prudentia_adversarial::{result, result_with, strategies::*, Check, Suite};
use prudentia_core::estimators::{
    covariance_to_correlation, ewma_covariance, lambda_from_half_life, ledoit_wolf, nearest_correlation,
    nearest_psd, sample_covariance, EwmaCovariance, NearestCorrelationConfig, RollingCorrelation,
};
use prudentia_core::linalg::{cholesky, symmetric_eigen};
use prudentia_core::{
    validate, AssetId, AssetInfo, CalibrationSummary, CausalEffect, Fill, Forecast, ForecastOutcome, Horizon,
    Order, OrderType, Outcome, Quantile, RegimeLabel, RegimeState, Side, Timestamp, Weights,
};

fn symmetric(m: &Array2<f64>) -> Array2<f64> {
    let n = m.nrows().min(m.ncols());
    Array2::from_shape_fn((n, n), |(i, j)| if i <= j { m[[i, j]] } else { m[[j, i]] })
}

fn sample_forecast() -> Forecast {
    let mut f = Forecast::new(0.001, 0.02, Horizon::DAY)
        .unwrap()
        .with_quantiles(vec![
            Quantile {
                level: 0.1,
                value: -0.02,
            },
            Quantile {
                level: 0.9,
                value: 0.03,
            },
        ])
        .unwrap();
    f.regime_means.insert(RegimeLabel::RISK_OFF, -0.002);
    f.causal_effect = Some(CausalEffect {
        cate: 0.001,
        std_error: 0.0005,
        p_value: 0.04,
    });
    f.calibration = Some(CalibrationSummary {
        ece: 0.02,
        coverage: Some(0.88),
        samples: 100,
        regime: None,
    });
    f
}

#[test]
fn core_entry_points() {
    let mut s = Suite::new("core");

    // Size helpers: the limits are errors, never overflow.
    for n in [0usize, 1, 1 << 40, usize::MAX] {
        s.check(format!("check_size {n}"), move || {
            result(validate::check_size("window", n, validate::MAX_WINDOW))
        });
        s.check(format!("check_elements {n}x{n}"), move || {
            result(validate::check_elements("n x n", &[n, n], validate::MAX_ELEMENTS))
        });
        s.check(format!("RollingCorrelation::new(2, {n})"), move || {
            result(RollingCorrelation::new(2, n).map(|r| r.window()))
        });
        s.check(format!("RollingCorrelation::new({n}, 2)"), move || {
            result(RollingCorrelation::new(n, 2).map(|r| r.n_assets()))
        });
        s.check(format!("EwmaCovariance::new({n})"), move || {
            result(EwmaCovariance::new(n, 0.94).map(|e| e.count()))
        });
        s.check(format!("sample_covariance ddof {n}"), move || {
            result(sample_covariance(Array2::<f64>::eye(3).view(), n))
        });
    }
    s.sweep("check_range", (any_f64(), any_f64(), any_f64()), |(v, lo, hi)| {
        result(validate::check_range("x", v, lo, hi, "test").map(|_| v))
    });

    // Vocabulary types.
    s.sweep("Horizon::trading_days", any_f64(), |d| {
        result_with(Horizon::trading_days(d), |h| {
            (h.days() > 0.0).then_some(()).ok_or_else(|| "days <= 0".into())
        })
    });
    s.sweep(
        "Forecast::new",
        (any_f64(), any_f64(), any_f64()),
        |(m, sd, h)| match Horizon::trading_days(h) {
            Ok(h) => result(Forecast::new(m, sd, h)),
            Err(_) => Check::Rejected,
        },
    );
    s.sweep(
        "Forecast::rescale + sharpe",
        (finite_f64(), finite_f64(), finite_f64(), finite_f64()),
        |(m, sd, h0, h1)| {
            let built = Horizon::trading_days(h0)
                .and_then(|h| Forecast::new(m, sd, h))
                .and_then(|f| Ok((f, Horizon::trading_days(h1)?)));
            match built {
                Err(_) => Check::Rejected,
                Ok((f, to)) => Check::ok_finite(&f.sharpe()).and(|| {
                    result_with(f.rescale(to), |g| {
                        (g.sigma > 0.0).then_some(()).ok_or_else(|| "sigma <= 0".into())
                    })
                }),
            }
        },
    );
    s.sweep(
        "Forecast::with_quantiles",
        proptest::collection::vec((any_f64(), any_f64()), 0..5),
        |qs| {
            let qs = qs
                .into_iter()
                .map(|(level, value)| Quantile { level, value })
                .collect();
            result(Forecast::new(0.0, 1.0, Horizon::DAY).and_then(|f| f.with_quantiles(qs)))
        },
    );
    s.sweep("AssetInfo::new", price(), |p| result(AssetInfo::new("A", p)));
    s.sweep("Order::new", (any_f64(), any_f64()), |(q, rate)| {
        result(
            Order::new(AssetId::new("A"), Side::Sell, q, OrderType::Pov { rate }).and_then(|mut o| {
                o.check()?;
                Ok(o)
            }),
        )
    });
    s.sweep("Weights::new", (vec_f64(0..5), 0usize..6), |(v, n)| {
        let ids = (0..n).map(|i| AssetId::new(format!("A{i}"))).collect();
        result(Weights::new(ids, v).map(|w| {
            let other = Weights::new(vec!["A0".into()], vec![0.5]).unwrap_or_default();
            (w.gross(), w.net(), w.get(&"A0".into()), w.turnover_to(&other))
        }))
    });
    for (a, b) in [(i64::MIN, i64::MAX), (i64::MAX, i64::MIN), (0, i64::MIN)] {
        s.check(format!("Timestamp extremes {a} {b}"), move || {
            let (x, y) = (Timestamp::from_nanos(a), Timestamp::from_nanos(b));
            let _ = (x.date(), y.to_string());
            Check::ok_finite(&x.days_since(y))
        });
    }
    for (y, m, d) in [(262_000, 1, 1), (-262_000, 1, 1), (2020, 2, 30), (9999, 12, 31)] {
        s.check(format!("Timestamp::from_ymd {y}-{m}-{d}"), move || {
            Check::ok_finite(&Timestamp::from_ymd(y, m, d).map(|t| t.as_nanos()))
        });
    }

    // Estimators on hostile matrices.
    s.sweep("sample_covariance", matrix(0..12, 0..5), |m| {
        result(sample_covariance(m.view(), 1))
    });
    s.sweep("ledoit_wolf", matrix(0..12, 0..5), |m| {
        result_with(ledoit_wolf(m.view(), false), |e| {
            (0.0..=1.0)
                .contains(&e.shrinkage)
                .then_some(())
                .ok_or_else(|| format!("shrinkage {}", e.shrinkage))
        })
    });
    s.sweep("ledoit_wolf centered", matrix(0..12, 0..5), |m| {
        result(ledoit_wolf(m.view(), true))
    });
    s.sweep("ewma_covariance", (matrix(0..12, 0..5), any_f64()), |(m, l)| {
        result(ewma_covariance(m.view(), l))
    });
    s.sweep("lambda_from_half_life", any_f64(), |h| {
        result(lambda_from_half_life(h))
    });
    s.sweep("covariance_to_correlation", matrix(0..6, 0..6), |m| {
        let c = symmetric(&m).mapv(|v| v.abs());
        result_with(covariance_to_correlation(c.view()), |r| {
            r.iter()
                .all(|v| (-1.0..=1.0).contains(v))
                .then_some(())
                .ok_or_else(|| "correlation outside [-1, 1]".into())
        })
    });
    s.sweep("nearest_psd", (matrix(0..6, 0..6), any_f64()), |(m, floor)| {
        result(nearest_psd(symmetric(&m).view(), floor))
    });
    s.sweep(
        "nearest_correlation",
        (matrix(0..5, 0..5), any_size(), any_f64()),
        |(m, it, tol)| {
            let cfg = NearestCorrelationConfig {
                tolerance: tol,
                max_iterations: it.min(1 << 40),
                min_eigenvalue: 0.0,
            };
            result(nearest_correlation(symmetric(&m).view(), &cfg))
        },
    );
    s.sweep("cholesky", matrix(0..6, 0..6), |m| {
        result(cholesky(symmetric(&m).view()))
    });
    // The small row-major factor the learners share: any symmetric matrix either factors
    // (and then solves a right-hand side of ones to a finite answer, and refuses one of the
    // wrong length) or names its failing column.
    s.sweep("small_cholesky", matrix(0..6, 0..6), |m| {
        let m = symmetric(&m);
        let k = m.nrows();
        let flat: Vec<f64> = m.iter().copied().collect();
        match prudentia_core::linalg::SmallCholesky::new(&flat, k, 1e-12) {
            Err(col) => Check::invariant(col <= k, "the failing column is inside the matrix"),
            Ok(c) => {
                let mut short = vec![1.0; k + 1];
                if c.solve(&mut short).is_ok() {
                    return Check::Broken("a right-hand side of the wrong length was accepted".into());
                }
                let mut b = vec![1.0; k];
                result(c.solve(&mut b).map(|()| b))
            }
        }
    });
    // The dense products: an `Ok` holds finite numbers only, whatever the input (overflow
    // and non-finite entries are typed errors), and a wrong shape is refused.
    s.sweep(
        "matmul_into",
        (
            matrix(0..6, 0..6),
            matrix(0..6, 0..6),
            any_f64(),
            proptest::bool::ANY,
        ),
        |(a, b, alpha, accumulate)| {
            let mut out = Array2::from_elem((a.nrows(), b.ncols()), 0.5);
            let r =
                prudentia_core::linalg::matmul_into(out.view_mut(), accumulate, a.view(), b.view(), alpha);
            let shapes_fit = a.ncols() == b.nrows();
            match r {
                Err(_) => Check::Rejected,
                Ok(()) if !shapes_fit => Check::Broken("mismatched inner dimensions accepted".into()),
                Ok(()) => Check::ok_finite(&out.iter().copied().collect::<Vec<f64>>()),
            }
        },
    );
    s.sweep(
        "matmul_into self-transpose",
        (matrix(0..8, 0..6), any_f64()),
        |(a, alpha)| {
            let mut out = Array2::zeros((a.ncols(), a.ncols()));
            result(
                prudentia_core::linalg::matmul_into(out.view_mut(), false, a.t(), a.view(), alpha)
                    .map(|()| out.iter().copied().collect::<Vec<f64>>()),
            )
        },
    );
    s.sweep("gram_into", (matrix(0..8, 0..6), any_f64()), |(a, alpha)| {
        let k = a.ncols();
        let mut out = Array2::zeros((k, k));
        let r = prudentia_core::linalg::gram_into(a.view(), alpha, out.view_mut());
        result_with(r.map(|()| out.iter().copied().collect::<Vec<f64>>()), |g| {
            let sym = (0..k).all(|i| (0..k).all(|j| g[i * k + j] == g[j * k + i]));
            if sym {
                Ok(())
            } else {
                Err("Gram matrix not symmetric".into())
            }
        })
    });
    s.sweep("sandwich", (matrix(0..5, 0..5), matrix(0..5, 0..5)), |(b, m)| {
        let k = b.nrows();
        let bf: Vec<f64> = b.iter().copied().collect();
        let mf: Vec<f64> = m.iter().copied().collect();
        result(prudentia_core::linalg::sandwich(&bf, &mf, k))
    });
    s.sweep("dot", (vec_f64(0..20), vec_f64(0..20)), |(a, b)| {
        let d = prudentia_core::linalg::dot(&a, &b);
        let n = a.len().min(b.len());
        let inputs_finite = a[..n].iter().chain(&b[..n]).all(|v| v.is_finite());
        // the bare inner product: finite for finite inputs whose products and sum stay in
        // range, non-finite (never a panic) otherwise, as documented
        let bound: f64 = a[..n].iter().zip(&b[..n]).map(|(x, y)| (x * y).abs()).sum();
        if inputs_finite && bound.is_finite() {
            Check::invariant(d.is_finite(), "finite inputs in range gave a non-finite dot")
        } else {
            Check::invariant(!inputs_finite || d.is_finite() || !bound.is_finite(), "dot")
        }
    });
    s.sweep("pow2_scale", any_f64(), |m| {
        let sc = prudentia_core::linalg::pow2_scale(m);
        let (bits, mant) = (sc.to_bits(), sc.to_bits() & ((1u64 << 52) - 1));
        let exact = sc > 0.0
            && sc.is_finite()
            && ((bits >> 52 != 0 && mant == 0) || (bits >> 52 == 0 && mant.count_ones() == 1));
        if !(m.is_finite() && m > 0.0) {
            return Check::invariant(sc == 1.0, "the scale of 0, a negative or a non-finite value is 1");
        }
        Check::invariant(exact, "not a finite power of two")
            .and(|| Check::invariant((1.0..2.0).contains(&(m / sc)), "m / scale outside [1, 2)"))
    });
    // bad-input tables for the dense products
    const BAD: [f64; 8] = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e300,
        -1e300,
        5e-324,
        f64::MAX,
        0.0,
    ];
    for (bi, bad) in BAD.iter().copied().enumerate() {
        for target in 0..4 {
            s.check(
                format!(
                    "matmul_into bad[{bi}]={bad:e} in {}",
                    ["a", "b", "out", "alpha"][target]
                ),
                move || {
                    let mut a = Array2::from_shape_fn((3, 2), |(i, j)| (i + j) as f64 * 0.5 - 0.4);
                    let mut b = Array2::from_shape_fn((2, 4), |(i, j)| (i * 2 + j) as f64 * 0.25 - 0.3);
                    let mut out = Array2::from_elem((3, 4), 1.0);
                    let mut alpha = 1.5;
                    match target {
                        0 => a[[1, 1]] = bad,
                        1 => b[[0, 2]] = bad,
                        2 => out[[2, 3]] = bad,
                        _ => alpha = bad,
                    }
                    result(
                        prudentia_core::linalg::matmul_into(out.view_mut(), true, a.view(), b.view(), alpha)
                            .map(|()| out.iter().copied().collect::<Vec<f64>>()),
                    )
                },
            );
        }
        for target in 0..2 {
            s.check(
                format!("gram_into bad[{bi}]={bad:e} in {}", ["a", "alpha"][target]),
                move || {
                    let mut a = Array2::from_shape_fn((4, 3), |(i, j)| (i + 2 * j) as f64 * 0.3 - 0.5);
                    let mut alpha = -1.0;
                    if target == 0 {
                        a[[2, 1]] = bad;
                    } else {
                        alpha = bad;
                    }
                    let mut out = Array2::zeros((3, 3));
                    result(
                        prudentia_core::linalg::gram_into(a.view(), alpha, out.view_mut())
                            .map(|()| out.iter().copied().collect::<Vec<f64>>()),
                    )
                },
            );
            s.check(
                format!("sandwich bad[{bi}]={bad:e} in {}", ["bread", "meat"][target]),
                move || {
                    let mut b = vec![2.0, 0.5, 0.5, 1.0];
                    let mut m = vec![1.0, 0.2, 0.2, 3.0];
                    if target == 0 {
                        b[1] = bad;
                        b[2] = bad;
                    } else {
                        m[3] = bad;
                    }
                    result(prudentia_core::linalg::sandwich(&b, &m, 2))
                },
            );
        }
        s.check(format!("dot bad[{bi}]={bad:e}"), move || {
            let a = [1.0, bad, 3.0, 0.5, 0.25, 1.0, 2.0, 1.0, 4.0];
            let b = [0.5; 9];
            let d = prudentia_core::linalg::dot(&a, &b);
            // finite exactly when the exact sum is in range
            let in_range = bad.is_finite() && (bad * 0.5 + 6.125).is_finite();
            Check::invariant(d.is_finite() == in_range, "dot finite iff its inputs and sum are")
        });
        s.check(format!("pow2_scale bad[{bi}]={bad:e}"), move || {
            let sc = prudentia_core::linalg::pow2_scale(bad);
            Check::ok_finite(&sc).and(|| Check::invariant(sc > 0.0, "scale not positive"))
        });
    }
    for (a, b, c) in [
        ((2, 3), (2, 3), (2, 3)),
        ((0, 3), (3, 0), (0, 0)),
        ((2, 3), (3, 2), (3, 3)),
    ] {
        s.check(format!("matmul_into shapes {a:?} x {b:?} -> {c:?}"), move || {
            let mut out = Array2::zeros(c);
            let r = prudentia_core::linalg::matmul_into(
                out.view_mut(),
                false,
                Array2::ones(a).view(),
                Array2::ones(b).view(),
                1.0,
            );
            let fits = a.1 == b.0 && c == (a.0, b.1);
            match r {
                Ok(()) if !fits => Check::Broken("a wrong shape was accepted".into()),
                r => result(r.map(|()| out.iter().copied().collect::<Vec<f64>>())),
            }
        });
    }
    for (lb, lm, k) in [
        (4, 4, 2),
        (3, 4, 2),
        (4, 3, 2),
        (0, 0, 0),
        (1, 1, usize::MAX),
        (4, 4, 1 << 40),
    ] {
        s.check(format!("sandwich lengths {lb}, {lm}, k={k}"), move || {
            result(prudentia_core::linalg::sandwich(
                &vec![1.0; lb],
                &vec![1.0; lm],
                k,
            ))
        });
    }
    s.sweep("symmetric_eigen", matrix(0..6, 0..6), |m| {
        result(symmetric_eigen(symmetric(&m).view()))
    });
    s.sweep(
        "RollingCorrelation extend + correlation",
        (matrix(0..20, 1..4), 2usize..8),
        |(m, w)| {
            let mut r = match RollingCorrelation::new(m.ncols(), w) {
                Ok(r) => r,
                Err(_) => return Check::Rejected,
            };
            let before = r.clone();
            match r.extend(m.view()) {
                Err(_) => Check::invariant(r == before, "a rejected extend changed the state"),
                Ok(()) => match r.correlation() {
                    Err(_) => result(r.covariance()),
                    Ok(c) => result(Ok::<_, String>(c)).and(|| result(r.covariance())),
                },
            }
        },
    );
    s.sweep("RollingCorrelation::update", vec_f64(0..4), |x| {
        let mut r = match RollingCorrelation::new(3, 4) {
            Ok(r) => r,
            Err(_) => return Check::Rejected,
        };
        for row in [[0.01, 0.02, -0.01], [0.02, -0.01, 0.0]] {
            if r.update(&row).is_err() {
                return Check::Broken("a good row was refused".into());
            }
        }
        let before = r.clone();
        match r.update(&x) {
            Err(_) => Check::invariant(r == before, "a rejected update changed the state"),
            Ok(()) => match r.correlation() {
                Ok(c) => Check::ok_finite(&c),
                Err(_) => result(r.covariance()),
            },
        }
    });
    s.sweep("EwmaCovariance::update", vec_f64(0..4), |x| {
        let mut e = match EwmaCovariance::new(3, 0.94) {
            Ok(e) => e,
            Err(_) => return Check::Rejected,
        };
        let before = e.clone();
        match e.update(&x) {
            Err(_) => Check::invariant(e == before, "a rejected update changed the state"),
            Ok(()) => result(e.covariance()),
        }
    });

    // Checkpoints: every type that validates on load, loaded and then used.
    let f = sample_forecast();
    s.checkpoint("Forecast", &f, |json| {
        match serde_json::from_str::<Forecast>(&json) {
            Err(_) => Check::Rejected,
            Ok(f) => result(f.rescale(Horizon::trading_days(5.0).unwrap_or_default()))
                .and(|| Check::ok_finite(&f.sharpe())),
        }
    });
    s.checkpoint("Horizon", &Horizon::year(), |json| {
        match serde_json::from_str::<Horizon>(&json) {
            Err(_) => Check::Rejected,
            Ok(h) => result(Forecast::new(0.01, 0.1, Horizon::DAY).and_then(|f| f.rescale(h))),
        }
    });
    let mut asset = AssetInfo::new("A", 12.5).unwrap_or_else(|_| unreachable!());
    asset.adv_shares = Some(1e6);
    asset.borrow_available_shares = Some(1e4);
    asset.features = vec![0.1, -0.2];
    s.checkpoint("AssetInfo", &asset, |json| {
        match serde_json::from_str::<AssetInfo>(&json) {
            Err(_) => Check::Rejected,
            Ok(a) => Check::invariant(a.price > 0.0 && a.lot_size > 0.0, "price or lot <= 0")
                .and(|| Check::ok_finite(&a)),
        }
    });
    let mut order = Order::new("A".into(), Side::Buy, 100.0, OrderType::Pov { rate: 0.1 })
        .unwrap_or_else(|_| unreachable!());
    order.limit_price = Some(10.0);
    order.expected_cost_bps = Some(3.0);
    s.checkpoint("Order", &order, |json| {
        match serde_json::from_str::<Order>(&json) {
            Err(_) => Check::Rejected,
            Ok(o) => Check::invariant(
                o.quantity > 0.0 && o.limit_price.is_none_or(|p| p > 0.0),
                "quantity or limit <= 0",
            )
            .and(|| Check::ok_finite(&o)),
        }
    });
    let w = Weights::new(vec!["A".into(), "B".into()], vec![0.5, -0.25]).unwrap_or_default();
    s.checkpoint("Weights", &w, |json| {
        match serde_json::from_str::<Weights>(&json) {
            Err(_) => Check::Rejected,
            Ok(w) => Check::invariant(w.assets.len() == w.values.len(), "lengths differ")
                .and(|| Check::ok_finite(&(w.get(&"B".into()), w.turnover_to(&Weights::default())))),
        }
    });
    s.checkpoint(
        "RegimeState",
        &RegimeState::default(),
        |json| match serde_json::from_str::<RegimeState>(&json) {
            Err(_) => Check::Rejected,
            Ok(r) => Check::invariant(
                r.probabilities.iter().all(|p| (0.0..=1.0 + 1e-9).contains(&p.1)),
                "probability outside [0, 1]",
            ),
        },
    );
    let fill = Fill {
        asset: "A".into(),
        time: Timestamp::from_nanos(0),
        side: Side::Buy,
        quantity: 10.0,
        price: 10.1,
        arrival_price: 10.0,
        order_type: OrderType::Market,
        venue: None,
    };
    let outcome = Outcome {
        time: Some(Timestamp::from_nanos(5)),
        realized_returns: vec![("A".into(), 0.01)],
        fills: vec![fill],
        equity: Some(1e6),
    };
    s.checkpoint("Outcome", &outcome, |json| {
        match serde_json::from_str::<Outcome>(&json) {
            Err(_) => Check::Rejected,
            Ok(o) => Check::invariant(
                o.fills
                    .iter()
                    .all(|f| f.price > 0.0 && f.arrival_price > 0.0 && f.quantity > 0.0),
                "fill price or quantity <= 0",
            )
            .and(|| Check::ok_finite(&o)),
        }
    });
    let fo = ForecastOutcome {
        asset: "A".into(),
        forecast: sample_forecast(),
        regime: RegimeLabel::UNKNOWN,
        realized: 0.01,
    };
    s.checkpoint("ForecastOutcome", &fo, |json| {
        match serde_json::from_str::<ForecastOutcome>(&json) {
            Err(_) => Check::Rejected,
            Ok(o) => Check::ok_finite(
                &((o.realized - o.forecast.mean) / o.forecast.sigma).clamp(f64::MIN, f64::MAX),
            ),
        }
    });
    let mut rolling = RollingCorrelation::new(3, 4).unwrap_or_else(|_| unreachable!());
    for row in [
        [0.01, 0.02, -0.01],
        [0.02, -0.01, 0.0],
        [-0.01, 0.0, 0.02],
        [0.0, 0.01, 0.01],
        [0.03, -0.02, 0.0],
    ] {
        let _ = rolling.update(&row);
    }
    s.checkpoint(
        "RollingCorrelation",
        &rolling,
        |json| match serde_json::from_str::<RollingCorrelation>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut r) => {
                let c = r.correlation().ok();
                match r.update(&[0.01, -0.01, 0.02]) {
                    Err(_) => Check::Rejected,
                    Ok(()) => Check::ok_finite(&c)
                        .and(|| Check::ok_finite(&r.correlation().ok()))
                        .and(|| Check::ok_finite(&r.covariance().ok()))
                        .and(|| Check::ok_finite(&r.window_observations(&[0, 2]).ok())),
                }
            }
        },
    );
    let mut ewma = EwmaCovariance::new(2, 0.9).unwrap_or_else(|_| unreachable!());
    let _ = ewma.update(&[0.01, -0.02]);
    let _ = ewma.update(&[0.02, 0.01]);
    s.checkpoint("EwmaCovariance", &ewma, |json| {
        match serde_json::from_str::<EwmaCovariance>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut e) => match e.update(&[0.01, 0.01]) {
                Err(_) => Check::Rejected,
                Ok(()) => result(e.covariance()),
            },
        }
    });
    s.checkpoint(
        "NearestCorrelationConfig",
        &NearestCorrelationConfig::default(),
        |json| match serde_json::from_str::<NearestCorrelationConfig>(&json) {
            Err(_) => Check::Rejected,
            Ok(c) => {
                let a = ndarray::array![[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]];
                result(nearest_correlation(a.view(), &c))
            }
        },
    );
    if let Ok(lw) = ledoit_wolf(
        ndarray::array![[0.01, 0.02], [-0.02, 0.0], [0.0, 0.01]].view(),
        false,
    ) {
        s.checkpoint("LedoitWolfEstimate", &lw, |json| {
            match serde_json::from_str::<prudentia_core::estimators::LedoitWolfEstimate>(&json) {
                Err(_) => Check::Rejected,
                Ok(e) => result(covariance_to_correlation(e.covariance.view())),
            }
        });
    }

    s.finish();
}
