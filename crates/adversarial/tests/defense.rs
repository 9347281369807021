//! prudentia-defense under bad input: validators, the defense and its quarantine, the
//! snapshot guard, robust statistics, PSI/KS and the drift monitor, the change detectors,
//! detector evaluation, and checkpoint mutation of every stateful type.

use proptest::prelude::*;
use prudentia_adversarial::{finite, result, result_with, strategies::*, Check, Suite};
use prudentia_core::{MarketSnapshot, Quote, Timestamp};
use prudentia_defense::detectors::{
    Adwin, AdwinConfig, ChangeDetector, Direction, PageHinkley, PageHinkleyConfig,
};
use prudentia_defense::drift::{
    kolmogorov_sf, ks_2samp, ks_2samp_sorted, psi, smirnov, Alternative, DriftMonitor, DriftMonitorConfig,
    KsMethod, PsiConfig, PsiReference,
};
use prudentia_defense::eval::{detect_all, evaluate};
use prudentia_defense::robust::{mad_zscores, median_mad};
use prudentia_defense::{
    HampelAction, InputDefense, InputDefenseConfig, Observation, OverflowPolicy, Quarantine,
    QuarantineConfig, Reason, ReleaseMode, RollingMedianMad, SnapshotGuard, SnapshotGuardConfig, Transform,
    Validator, ValidatorConfig,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

const BAD: [f64; 10] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    1e300,
    -1e300,
    5e-324,
    f64::MAX,
    f64::MIN,
    0.0,
    1e-300,
];
const SIZES: [usize; 6] = [0, 1, 2, 1 << 20, 1 << 40, usize::MAX];

fn day(d: i64) -> Timestamp {
    Timestamp::from_nanos(d.saturating_mul(Timestamp::NANOS_PER_DAY))
}

/// The value's own serialization reloads (a model's output must always reload).
fn reloads<T: Serialize + DeserializeOwned>(v: &T) -> Result<(), String> {
    let s = serde_json::to_string(v).map_err(|e| format!("does not serialize: {e}"))?;
    serde_json::from_str::<T>(&s)
        .map(|_| ())
        .map_err(|e| format!("own output does not reload: {e}"))
}

fn reload_check<T: Serialize + DeserializeOwned>(v: &T) -> Check {
    finite(v).and(|| match reloads(v) {
        Ok(()) => Check::Ok,
        Err(m) => Check::Broken(m),
    })
}

fn series(n: usize) -> Vec<f64> {
    (0..n).map(|i| 100.0 + ((i * 7919) % 13) as f64 * 0.1).collect()
}

fn warm_validator(cfg: ValidatorConfig) -> Option<Validator> {
    let mut v = Validator::new(cfg).ok()?;
    for (i, x) in series(30).into_iter().enumerate() {
        let _ = v.observe(&Observation::new(day(i as i64), x), Some(day(i as i64)));
    }
    Some(v)
}

fn snapshot(d: i64, prices: &[f64], times: &[i64]) -> MarketSnapshot {
    MarketSnapshot {
        time: day(d),
        quotes: prices
            .iter()
            .zip(times.iter().chain(std::iter::repeat(&d)))
            .enumerate()
            .map(|(a, (p, t))| Quote {
                asset: format!("A{a}").into(),
                time: day(*t),
                price: *p,
                volume: None,
                spread_bps: None,
            })
            .collect(),
        indicators: vec![],
        assets: vec![],
    }
}

fn validator_configs() -> Vec<(String, ValidatorConfig)> {
    let d = ValidatorConfig::default;
    let mut out = Vec::new();
    for x in BAD {
        out.push((
            format!("hampel_threshold {x}"),
            ValidatorConfig {
                hampel_threshold: x,
                ..d()
            },
        ));
        out.push((
            format!("quarantine_threshold {x}"),
            ValidatorConfig {
                quarantine_threshold: x,
                ..d()
            },
        ));
        out.push((format!("mad_scale {x}"), ValidatorConfig { mad_scale: x, ..d() }));
        out.push((format!("min_scale {x}"), ValidatorConfig { min_scale: x, ..d() }));
        out.push((
            format!("max_jump {x}"),
            ValidatorConfig {
                max_jump: Some(x),
                ..d()
            },
        ));
        out.push((
            format!("range ({x}, inf)"),
            ValidatorConfig {
                range: Some((x, f64::INFINITY)),
                ..d()
            },
        ));
    }
    for n in SIZES {
        out.push((format!("window {n}"), ValidatorConfig { window: n, ..d() }));
        out.push((
            format!("min_periods {n}"),
            ValidatorConfig {
                min_periods: n,
                ..d()
            },
        ));
        out.push((
            format!("reanchor_after {n}"),
            ValidatorConfig {
                reanchor_after: n,
                ..d()
            },
        ));
    }
    for a in [i64::MIN, -1, 0, i64::MAX] {
        out.push((
            format!("max_age_ns {a}"),
            ValidatorConfig {
                max_age_ns: Some(a),
                ..d()
            },
        ));
        out.push((
            format!("max_future_ns {a}"),
            ValidatorConfig {
                max_future_ns: Some(a),
                ..d()
            },
        ));
    }
    for t in [Transform::Level, Transform::Difference, Transform::LogReturn] {
        out.push((
            format!("{t:?} quarantine action"),
            ValidatorConfig {
                transform: t,
                hampel_action: HampelAction::Quarantine,
                max_jump: Some(0.5),
                ..d()
            },
        ));
    }
    out
}

#[test]
fn defense_validators_and_guard() {
    let mut s = Suite::new("defense (validators, quarantine, guard)");

    // Every bad configuration is a typed error (also as a topic override); every accepted
    // one works on bad data.
    for (label, cfg) in validator_configs() {
        let topic_cfg = cfg.clone();
        s.check(format!("InputDefense::register_topic {label}"), move || {
            let Ok(mut d) = InputDefense::new(InputDefenseConfig::default()) else {
                return Check::Broken("default config refused".into());
            };
            match d.register_topic("t", topic_cfg) {
                Err(_) => Check::Rejected,
                Ok(()) => {
                    let sc = d.process("t", &Observation::new(day(1), f64::MAX), Some(day(1)));
                    let q = prudentia_defense::QuarantineQuery {
                        topic: Some("t"),
                        from: Some(day(i64::MIN / Timestamp::NANOS_PER_DAY)),
                        to: Some(day(i64::MAX / Timestamp::NANOS_PER_DAY)),
                        ..Default::default()
                    };
                    let held = d.quarantine().query(&q).count();
                    finite_verdict(&sc.verdict)
                        .and(|| Check::invariant(held <= 1, format!("{held} held")))
                        .and(|| reload_check(&d))
                }
            }
        });
        s.check(
            format!("Validator::new {label}, then bad data"),
            move || match Validator::new(cfg) {
                Err(_) => Check::Rejected,
                Ok(mut v) => {
                    let mut last = Check::Ok;
                    for (i, x) in series(30).into_iter().chain(BAD).enumerate() {
                        let verdict = v.observe(&Observation::new(day(i as i64), x), Some(day(i as i64)));
                        last = finite_verdict(&verdict).and(|| reload_check(&v));
                        if last != Check::Ok {
                            break;
                        }
                    }
                    last
                }
            },
        );
    }

    // Observations: any value, any time, any processing time, every transform.
    for t in [Transform::Level, Transform::Difference, Transform::LogReturn] {
        s.sweep(
            &format!("Validator::observe {t:?}"),
            (
                proptest::collection::vec((any_f64(), -3i64..4, any::<bool>()), 1..60),
                any::<bool>(),
            ),
            move |(steps, with_now)| {
                let Some(mut v) = warm_validator(ValidatorConfig {
                    transform: t,
                    max_jump: Some(0.3),
                    ..Default::default()
                }) else {
                    return Check::Broken("default config refused".into());
                };
                let mut clock = 30i64;
                for (x, dt, missing) in steps {
                    clock += dt;
                    let obs = if missing {
                        Observation::missing(day(clock))
                    } else {
                        Observation::new(day(clock), x)
                    };
                    let verdict = v.observe(&obs, with_now.then(|| day(clock - dt.signum())));
                    let c = finite_verdict(&verdict);
                    if c != Check::Ok {
                        return c;
                    }
                    if let Some(y) = v.window().median() {
                        if !y.is_finite() {
                            return Check::NonFinite(format!("window median {y}"));
                        }
                    }
                }
                let _ = v.admit(&Observation::new(day(clock + 1), f64::MAX));
                let _ = v.admit(&Observation::new(day(clock + 2), -1.0));
                reload_check(&v)
            },
        );
    }

    // Future-dated observations never lock a topic out.
    for far in [1i64, 365, 1 << 20, i64::MAX / Timestamp::NANOS_PER_DAY] {
        s.check(format!("future-dated observation +{far} days"), move || {
            let Some(mut v) = warm_validator(ValidatorConfig::default()) else {
                return Check::Broken("default config refused".into());
            };
            let _ = v.observe(&Observation::new(day(30 + far), 100.0), Some(day(30)));
            let next = v.observe(&Observation::new(day(31), 100.5), Some(day(31)));
            Check::invariant(next.is_admitted(), format!("locked out: {next:?}"))
        });
    }

    // Quarantine and defense: absurd capacities, releases of unknown ids.
    for capacity in SIZES {
        for overflow in [OverflowPolicy::EvictOldest, OverflowPolicy::RejectNew] {
            s.check(
                format!("Quarantine::new capacity {capacity} {overflow:?}"),
                move || {
                    let cfg = QuarantineConfig { capacity, overflow };
                    match Quarantine::new(cfg.clone()) {
                        Err(_) => Check::Rejected,
                        Ok(mut q) => {
                            for i in 0..5 {
                                let _ = q.push("t", Observation::new(day(i), 1.0), Reason::Missing, None);
                            }
                            let s = q.stats();
                            Check::invariant(
                                s.offered == s.admitted + s.rejected
                                    && s.admitted == s.held + s.released + s.evicted,
                                format!("{s:?}"),
                            )
                            .and(|| reload_check(&q))
                        }
                    }
                },
            );
            s.check(
                format!("InputDefense::new capacity {capacity} {overflow:?}"),
                move || {
                    let cfg = InputDefenseConfig {
                        quarantine: QuarantineConfig { capacity, overflow },
                        ..Default::default()
                    };
                    result_with(InputDefense::new(cfg), reloads)
                },
            );
        }
    }
    for window in SIZES {
        s.check(
            format!("InputDefense::new window {window}, then process"),
            move || {
                let cfg = InputDefenseConfig {
                    default_validator: ValidatorConfig {
                        window,
                        ..Default::default()
                    },
                    ..Default::default()
                };
                match InputDefense::new(cfg) {
                    Err(_) => Check::Rejected,
                    Ok(mut d) => {
                        let sc = d.process("x", &Observation::new(day(0), 1.0), None);
                        finite_verdict(&sc.verdict)
                    }
                }
            },
        );
        s.check(
            format!("RollingMedianMad::new {window}"),
            move || match RollingMedianMad::new(window) {
                Err(_) => Check::Rejected,
                Ok(mut w) => {
                    for x in BAD {
                        w.push(x);
                    }
                    finite(&w.median_mad()).and(|| reload_check(&w))
                }
            },
        );
    }
    // the validators' shortcut: the MAD's lower bound never exceeds the MAD and shares its
    // median, whatever the values pushed (non-finite ones are ignored)
    s.sweep(
        "RollingMedianMad median_mad_lower_bound",
        (proptest::collection::vec(any_f64(), 0..120), 1usize..80),
        |(xs, capacity)| match RollingMedianMad::new(capacity) {
            Err(_) => Check::Rejected,
            Ok(mut w) => {
                let mut check = Check::Ok;
                for x in xs {
                    w.push(x);
                    let (exact, bound) = (w.median_mad(), w.median_mad_lower_bound());
                    check = check.and(|| match (exact, bound) {
                        (None, None) => Check::Ok,
                        (Some((med, mad)), Some((m, low))) => Check::invariant(
                            med.to_bits() == m.to_bits()
                                && low <= mad
                                && (!mad.is_finite() || low.is_finite()),
                            "lower bound <= MAD, same median",
                        ),
                        _ => Check::invariant(false, "bound and MAD both present or both absent"),
                    });
                }
                // (values spanning more than the f64 range give an infinite MAD and bound)
                check
            }
        },
    );
    s.sweep(
        "InputDefense process/release",
        (
            proptest::collection::vec((0u8..3, any_f64(), -2i64..3, any::<u64>(), any::<bool>()), 1..80),
            1usize..6,
        ),
        |(steps, capacity)| {
            let cfg = InputDefenseConfig {
                quarantine: QuarantineConfig {
                    capacity,
                    overflow: OverflowPolicy::EvictOldest,
                },
                ..Default::default()
            };
            let Ok(mut d) = InputDefense::new(cfg) else {
                return Check::Broken("valid config refused".into());
            };
            let mut clock = [0i64; 3];
            for (topic, x, dt, id, recheck) in steps {
                let t = topic as usize;
                clock[t] += dt;
                if dt == 2 {
                    let mode = if recheck {
                        ReleaseMode::Recheck
                    } else {
                        ReleaseMode::Override
                    };
                    match d.release(id % 8, mode, Some(day(clock[t]))) {
                        Ok(r) => {
                            let c = finite_verdict(&r.screening.verdict);
                            if c != Check::Ok {
                                return c;
                            }
                        }
                        Err(_) => continue,
                    }
                } else {
                    let sc = d.process(&format!("t{topic}"), &Observation::new(day(clock[t]), x), None);
                    let c = finite_verdict(&sc.verdict);
                    if c != Check::Ok {
                        return c;
                    }
                }
            }
            let c = d.total_counts();
            Check::invariant(
                c.accepted + c.repaired + c.quarantined == c.input,
                format!("{c:?}"),
            )
            .and(|| reload_check(&d))
        },
    );

    // The guard: bad configurations and whole snapshots of bad quotes.
    for x in BAD {
        s.check(
            format!("SnapshotGuard::new max_quarantined_share {x}"),
            move || {
                result(SnapshotGuard::new(SnapshotGuardConfig {
                    max_quarantined_share: x,
                    ..Default::default()
                }))
            },
        );
    }
    s.sweep(
        "SnapshotGuard::screen_snapshot",
        (
            proptest::collection::vec(proptest::collection::vec((price(), -2i64..3), 0..6), 1..30),
            1usize..4,
        ),
        |(days, capacity)| {
            let mut cfg = SnapshotGuardConfig::default();
            cfg.defense.quarantine.capacity = capacity;
            let Ok(mut g) = SnapshotGuard::new(cfg) else {
                return Check::Broken("valid config refused".into());
            };
            let mut handed = 0u64;
            for (d, quotes) in days.iter().enumerate() {
                let d = d as i64 * 2;
                let prices: Vec<f64> = quotes.iter().map(|q| q.0).collect();
                let times: Vec<i64> = quotes.iter().map(|q| d + q.1 * 200).collect();
                let screened = g.screen_snapshot(&snapshot(d, &prices, &times));
                let c = finite(&screened);
                if c != Check::Ok {
                    return c;
                }
                handed += g.drain_handed_back().len() as u64;
            }
            let q = g.defense().quarantine().stats();
            let c = g.defense().total_counts();
            Check::invariant(
                handed == q.evicted + q.rejected && c.quarantined == q.offered,
                format!("handed back {handed}, {q:?}"),
            )
            .and(|| reload_check(&g))
        },
    );

    // Checkpoints: every single-field mutation loads as an error or as a usable value.
    let mut d = InputDefense::new(InputDefenseConfig {
        quarantine: QuarantineConfig {
            capacity: 3,
            overflow: OverflowPolicy::EvictOldest,
        },
        ..Default::default()
    })
    .expect("valid");
    for (i, x) in series(24).into_iter().enumerate() {
        let x = if i % 7 == 3 { f64::NAN } else { x };
        let _ = d.process("a", &Observation::new(day(i as i64), x), None);
        let _ = d.process("b", &Observation::new(day(i as i64), x * 2.0), None);
    }
    let v = d.validator("a").expect("seen").clone();
    s.checkpoint("Validator", &v, |json| {
        match serde_json::from_str::<Validator>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut v) => use_validator(&mut v),
        }
    });
    s.checkpoint("Quarantine", d.quarantine(), |json| {
        match serde_json::from_str::<Quarantine>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut q) => {
                let ids: Vec<u64> = q.iter().map(|e| e.id).collect();
                for id in ids {
                    if q.get(id).is_none() || q.take(id).is_err() {
                        return Check::Broken(format!("held id {id} not found"));
                    }
                }
                for i in 0..5 {
                    let _ = q.push("t", Observation::new(day(i), 1.0), Reason::Missing, None);
                }
                reload_check(&q)
            }
        }
    });
    s.checkpoint("InputDefense", &d, |json| {
        match serde_json::from_str::<InputDefense>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut d) => {
                for i in 0..6 {
                    let sc = d.process(
                        "a",
                        &Observation::new(day(30 + i), 100.0 + i as f64),
                        Some(day(30 + i)),
                    );
                    let c = finite_verdict(&sc.verdict);
                    if c != Check::Ok {
                        return c;
                    }
                }
                let ids: Vec<u64> = d.quarantine().iter().map(|e| e.id).collect();
                if let Some(id) = ids.first() {
                    let _ = d.release(*id, ReleaseMode::Recheck, None);
                }
                let c = d.total_counts();
                Check::invariant(
                    c.accepted + c.repaired + c.quarantined == c.input,
                    format!("{c:?}"),
                )
                .and(|| reload_check(&d))
            }
        }
    });
    let mut g = SnapshotGuard::new(SnapshotGuardConfig::default()).expect("valid");
    for day_ in 0..12 {
        let p = [100.0 + day_ as f64, f64::NAN, 50.0];
        let _ = g.screen_snapshot(&snapshot(day_, &p, &[]));
    }
    s.checkpoint("SnapshotGuard", &g, |json| {
        match serde_json::from_str::<SnapshotGuard>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut g) => {
                let screened = g.screen_snapshot(&snapshot(20, &[120.0, 1.0, 50.5], &[]));
                finite(&screened).and(|| reload_check(&g))
            }
        }
    });
    let mut w = RollingMedianMad::new(6).expect("valid");
    for x in [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0] {
        w.push(x);
    }
    s.checkpoint("RollingMedianMad", &w, |json| {
        match serde_json::from_str::<RollingMedianMad>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut w) => {
                for x in [2.0, 7.0, -1.0] {
                    w.push(x);
                }
                finite(&w.median_mad()).and(|| reload_check(&w))
            }
        }
    });

    s.finish();
}

fn finite_verdict(v: &prudentia_defense::Verdict) -> Check {
    match v {
        // Quarantine reasons carry the offending (possibly non-finite) input by design.
        prudentia_defense::Verdict::Quarantine { .. } | prudentia_defense::Verdict::Accept => Check::Ok,
        prudentia_defense::Verdict::Repair { value, .. } => Check::invariant(
            value.is_finite() && value.abs() <= prudentia_defense::MAX_MAGNITUDE,
            format!("repair value {value}"),
        ),
    }
}

fn use_validator(v: &mut Validator) -> Check {
    let start = v
        .last_time()
        .map_or(0, |t| t.as_nanos() / Timestamp::NANOS_PER_DAY);
    for i in 1..8 {
        let t = start.saturating_add(i);
        let verdict = v.observe(&Observation::new(day(t), 100.0 + i as f64 * 0.1), Some(day(t)));
        let c = finite_verdict(&verdict);
        if c != Check::Ok {
            return c;
        }
        if let Some((z, _)) = v.robust_z(100.0) {
            if z.is_nan() {
                return Check::NonFinite(format!("robust z {z}"));
            }
        }
    }
    reload_check(&*v)
}

#[test]
fn defense_statistics_drift_and_detectors() {
    let mut s = Suite::new("defense (statistics, drift, detectors)");

    // Batch robust statistics.
    s.sweep("robust::median_mad", vec_f64(0..40), |x| result(median_mad(&x)));
    s.sweep("robust::mad_zscores", vec_f64(0..40), |x| {
        match (mad_zscores(&x), median_mad(&x)) {
            (Err(_), _) => Check::Rejected,
            // Documented: a zero MAD gives ±inf off the median.
            (Ok(z), Ok((_, 0.0))) => {
                Check::invariant(z.iter().all(|v| !v.is_nan()), format!("NaN z-score in {z:?}"))
            }
            (Ok(z), _) => finite(&z),
        }
    });

    // PSI and KS.
    for bins in SIZES {
        for floor in [f64::NAN, 0.0, 1e-4, 1.0] {
            s.check(
                format!("PsiReference::new bins {bins} floor {floor}"),
                move || {
                    result_with(PsiReference::new(&series(50), PsiConfig { bins, floor }), |r| {
                        reloads(r)?;
                        let p = r.psi(&series(20)).map_err(|e| e.to_string())?;
                        let q = r.psi_from_counts(&[usize::MAX, 0, 3], 0);
                        if p.is_finite() && q.is_finite() {
                            Ok(())
                        } else {
                            Err(format!("psi {p} / {q}"))
                        }
                    })
                },
            );
        }
    }
    s.sweep(
        "psi",
        (vec_f64(0..60), vec_f64(0..60), 2usize..20),
        |(a, b, bins)| result(psi(&a, &b, PsiConfig { bins, floor: 1e-4 })),
    );
    for method in [KsMethod::Auto, KsMethod::Exact, KsMethod::Asymptotic] {
        for alt in [Alternative::TwoSided, Alternative::Less, Alternative::Greater] {
            s.sweep(
                &format!("ks_2samp {method:?} {alt:?}"),
                (vec_f64(0..40), vec_f64(0..40)),
                move |(a, b)| {
                    let r = ks_2samp(&a, &b, alt, method);
                    result_with(r, |k| {
                        if (0.0..=1.0).contains(&k.p_value) && (0.0..=1.0).contains(&k.statistic) {
                            Ok(())
                        } else {
                            Err(format!("{k:?}"))
                        }
                    })
                },
            );
            s.sweep(
                &format!("ks_2samp_sorted {method:?} {alt:?}"),
                (vec_f64(0..30), vec_f64(0..30)),
                move |(mut a, mut b)| {
                    a.sort_by(f64::total_cmp);
                    b.sort_by(f64::total_cmp);
                    result(ks_2samp_sorted(&a, &b, alt, method))
                },
            );
        }
    }
    s.check("ks_2samp of two single points, asymptotic", || {
        result(ks_2samp(
            &[1.0],
            &[2.0],
            Alternative::TwoSided,
            KsMethod::Asymptotic,
        ))
    });
    s.check("ks_2samp of large unequal samples, exact", || {
        let a: Vec<f64> = (0..9001).map(|i| i as f64).collect();
        let b: Vec<f64> = (0..7919).map(|i| i as f64 * 1.1 + 0.5).collect();
        result(ks_2samp(&a, &b, Alternative::TwoSided, KsMethod::Exact))
    });
    // The distribution functions answer NaN outside their domain (documented).
    for n in [0u64, 1, 2, 140, 141, 100_000, 1_000_000, 1 << 40, u64::MAX] {
        for x in BAD.into_iter().chain([0.5, 0.01, 0.999, 1.0, -0.5]) {
            s.check(format!("kolmogorov_sf({n}, {x}) / smirnov"), move || {
                let in_domain = n > 0 && (0.0..=1.0).contains(&x);
                let k = kolmogorov_sf(n, x);
                let sm = smirnov(n, x);
                if in_domain {
                    Check::invariant(
                        (0.0..=1.0).contains(&k) && (0.0..=1.0).contains(&sm),
                        format!("kolmogorov_sf {k}, smirnov {sm}"),
                    )
                } else if k.is_nan() || sm.is_nan() || (k.is_finite() && sm.is_finite()) {
                    Check::Rejected
                } else {
                    Check::NonFinite(format!("kolmogorov_sf {k}, smirnov {sm}"))
                }
            });
        }
    }

    // The drift monitor.
    for n in SIZES {
        for which in 0..3 {
            s.check(format!("DriftMonitor::new size #{which} = {n}"), move || {
                let mut cfg = DriftMonitorConfig {
                    reference_size: 30,
                    live_size: 20,
                    min_live: 5,
                    ..Default::default()
                };
                let mut features = 2;
                match which {
                    0 => cfg.reference_size = n,
                    1 => cfg.live_size = n,
                    _ => features = n,
                }
                match DriftMonitor::new(cfg, features) {
                    Err(_) => Check::Rejected,
                    Ok(mut m) => {
                        let row = vec![1.0; m.n_features()];
                        for _ in 0..60 {
                            if m.observe(&row).is_err() {
                                return Check::Broken("row of the right width refused".into());
                            }
                        }
                        finite(&m.report()).and(|| reload_check(&m))
                    }
                }
            });
        }
    }
    s.sweep(
        "DriftMonitor observe/feature/set_reference",
        (
            proptest::collection::vec(vec_f64(0..4), 0..120),
            vec_f64(0..10),
            any_size(),
        ),
        |(rows, reference, i)| {
            let cfg = DriftMonitorConfig {
                reference_size: 20,
                live_size: 15,
                min_live: 5,
                ks_method: KsMethod::Auto,
                ..Default::default()
            };
            let Ok(mut m) = DriftMonitor::new(cfg, 2) else {
                return Check::Broken("valid config refused".into());
            };
            for row in rows {
                let _ = m.observe(&row);
            }
            let _ = m.set_reference(i, &reference);
            let _ = m.set_reference(0, &reference);
            let f = m.feature(i);
            finite(&m.report())
                .and(|| match f {
                    Ok(v) => finite(&v),
                    Err(_) => Check::Ok,
                })
                .and(|| reload_check(&m))
        },
    );

    // Change detectors.
    for x in BAD {
        for field in 0..2 {
            s.check(format!("PageHinkley::new field #{field} = {x}"), move || {
                let mut cfg = PageHinkleyConfig::default();
                if field == 0 {
                    cfg.delta = x;
                } else {
                    cfg.threshold = x;
                }
                result_with(PageHinkley::new(cfg), reloads)
            });
        }
        s.check(format!("Adwin::new delta {x}"), move || {
            result_with(
                Adwin::new(AdwinConfig {
                    delta: x,
                    ..Default::default()
                }),
                reloads,
            )
        });
    }
    for n in SIZES {
        for field in 0..4 {
            s.check(format!("Adwin::new size #{field} = {n}"), move || {
                let mut cfg = AdwinConfig::default();
                match field {
                    0 => cfg.max_buckets = n,
                    1 => cfg.clock = n,
                    2 => cfg.min_window = n,
                    _ => cfg.grace_period = n,
                }
                match Adwin::new(cfg) {
                    Err(_) => Check::Rejected,
                    Ok(mut d) => {
                        for i in 0..300 {
                            let _ = d.update(((i * 7919) % 101) as f64 / 101.0);
                        }
                        reload_check(&d)
                    }
                }
            });
        }
        s.check(format!("PageHinkley::new min_instances {n}"), move || {
            result_with(
                PageHinkley::new(PageHinkleyConfig {
                    min_instances: n,
                    ..Default::default()
                }),
                reloads,
            )
        });
    }
    for dir in [Direction::Up, Direction::Down, Direction::Both] {
        s.sweep(
            &format!("PageHinkley::try_update {dir:?}"),
            proptest::collection::vec(any_f64(), 0..400),
            move |xs| {
                let Ok(mut d) = PageHinkley::new(PageHinkleyConfig {
                    direction: dir,
                    threshold: 5.0,
                    ..Default::default()
                }) else {
                    return Check::Broken("valid config refused".into());
                };
                for x in xs {
                    let _ = d.try_update(x);
                }
                finite(&d.statistics()).and(|| reload_check(&d))
            },
        );
    }
    s.sweep(
        "Adwin::try_update",
        proptest::collection::vec(any_f64(), 0..600),
        |xs| {
            let Ok(mut d) = Adwin::new(AdwinConfig {
                clock: 4,
                ..Default::default()
            }) else {
                return Check::Broken("valid config refused".into());
            };
            let fired = detect_all(&mut d, &xs);
            Check::invariant(fired.iter().all(|&i| i < xs.len()), format!("{fired:?}"))
                .and(|| finite(&(d.mean_or_zero(), d.width())))
                .and(|| reload_check(&d))
        },
    );

    // Detector evaluation.
    s.sweep(
        "eval::evaluate",
        (
            proptest::collection::vec(any_size(), 0..10),
            proptest::collection::vec(any_size(), 0..10),
            any_size(),
            any_size(),
        ),
        |(det, chg, n, tol)| result(evaluate(&det, &chg, n, tol)),
    );

    // Checkpoints of the statistics and detectors.
    let reference = PsiReference::new(&series(40), PsiConfig::default()).expect("valid");
    s.checkpoint("PsiReference", &reference, |json| {
        match serde_json::from_str::<PsiReference>(&json) {
            Err(_) => Check::Rejected,
            Ok(r) => result_with(r.psi(&series(25)), |_| reloads(&r)),
        }
    });
    let mut m = DriftMonitor::new(
        DriftMonitorConfig {
            reference_size: 12,
            live_size: 8,
            min_live: 3,
            psi: PsiConfig { bins: 4, floor: 1e-4 },
            ..Default::default()
        },
        2,
    )
    .expect("valid");
    for (i, x) in series(24).into_iter().enumerate() {
        m.observe(&[x, x * (i % 3) as f64]).expect("valid row");
    }
    s.checkpoint("DriftMonitor", &m, |json| {
        match serde_json::from_str::<DriftMonitor>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut m) => {
                let row = vec![100.5; m.n_features()];
                for _ in 0..12 {
                    if m.observe(&row).is_err() {
                        return Check::Broken("row of the right width refused".into());
                    }
                }
                finite(&m.report()).and(|| reload_check(&m))
            }
        }
    });
    let mut ph = PageHinkley::new(PageHinkleyConfig {
        threshold: 2.0,
        min_instances: 5,
        ..Default::default()
    })
    .expect("valid");
    let mut ad = Adwin::new(AdwinConfig {
        clock: 4,
        max_buckets: 2,
        ..Default::default()
    })
    .expect("valid");
    for i in 0..40 {
        let x = ((i * 7919) % 13) as f64 / 13.0;
        ph.update(x);
        ad.update(x);
    }
    s.checkpoint("PageHinkley", &ph, |json| {
        match serde_json::from_str::<PageHinkley>(&json) {
            Err(_) => Check::Rejected,
            Ok(mut d) => {
                for i in 0..50 {
                    let _ = d.try_update(if i < 25 { 0.0 } else { 3.0 });
                }
                finite(&d.statistics()).and(|| reload_check(&d))
            }
        }
    });
    s.checkpoint("Adwin", &ad, |json| match serde_json::from_str::<Adwin>(&json) {
        Err(_) => Check::Rejected,
        Ok(mut d) => {
            for i in 0..80 {
                let _ = d.try_update(if i < 40 { 0.0 } else { 3.0 });
            }
            finite(&(d.mean_or_zero(), d.variance_or_zero())).and(|| reload_check(&d))
        }
    });

    s.finish();
}

/// The window statistics of an ADWIN, 0 when its window is empty (documented NaN).
trait AdwinStats {
    fn mean_or_zero(&self) -> f64;
    fn variance_or_zero(&self) -> f64;
}
impl AdwinStats for Adwin {
    fn mean_or_zero(&self) -> f64 {
        if self.width() == 0 {
            0.0
        } else {
            self.mean()
        }
    }
    fn variance_or_zero(&self) -> f64 {
        if self.width() == 0 {
            0.0
        } else {
            self.variance()
        }
    }
}

/// A snapshot of quotes and indicators whose keys are drawn from small sets, so that
/// consecutive snapshots reorder, repeat, add and drop keys (the guard's slot cache).
fn keyed_snapshot(d: i64, quotes: &[(u8, f64)], indicators: &[(u8, f64)]) -> MarketSnapshot {
    MarketSnapshot {
        time: day(d),
        quotes: quotes
            .iter()
            .map(|&(k, p)| Quote {
                asset: format!("A{}", k % 5).into(),
                time: day(d),
                price: p,
                volume: None,
                spread_bps: None,
            })
            .collect(),
        indicators: indicators
            .iter()
            .map(|&(k, v)| prudentia_core::Indicator {
                // "A0" is also a quote topic's name; "indicator:" prefixes keep them apart
                name: if k % 4 == 3 {
                    "A0".into()
                } else {
                    format!("vix{}", k % 4)
                },
                time: day(d),
                value: v,
            })
            .collect(),
        assets: vec![],
    }
}

#[test]
fn guard_slot_cache() {
    let mut s = Suite::new("defense (guard slots)");
    // The guard resolves each quote's and indicator's topic to a slot once and reuses it
    // while the keys repeat by position. A guard reloaded from its checkpoint before every
    // snapshot (no cache) must screen exactly as the one that keeps its cache, whatever the
    // keys do from one snapshot to the next.
    let day_strategy = (
        proptest::collection::vec((0u8..7, price()), 0..7),
        proptest::collection::vec((0u8..6, finite_f64()), 0..5),
    );
    s.sweep(
        "SnapshotGuard::screen_snapshot, cached vs reloaded",
        proptest::collection::vec(day_strategy, 1..25),
        |days| {
            let Ok(mut cached) = SnapshotGuard::new(SnapshotGuardConfig::default()) else {
                return Check::Broken("valid config refused".into());
            };
            for (d, (quotes, indicators)) in days.iter().enumerate() {
                let snap = keyed_snapshot(d as i64, quotes, indicators);
                let json = match serde_json::to_string(&cached) {
                    Ok(j) => j,
                    Err(e) => return Check::Broken(format!("does not serialize: {e}")),
                };
                let mut fresh: SnapshotGuard = match serde_json::from_str(&json) {
                    Ok(g) => g,
                    Err(e) => return Check::Broken(format!("own checkpoint does not reload: {e}")),
                };
                let a = cached.screen_snapshot(&snap);
                let b = fresh.screen_snapshot(&snap);
                if a != b {
                    return Check::Broken(format!("day {d}: cached {a:?} vs reloaded {b:?}"));
                }
                // (compared as JSON: a quarantined NaN observation is not equal to itself)
                let (x, y) = (serde_json::to_string(&cached), serde_json::to_string(&fresh));
                if x.is_err() || x.ok() != y.ok() {
                    return Check::Broken(format!("day {d}: the states differ after screening"));
                }
                let c = finite(&a);
                if c != Check::Ok {
                    return c;
                }
            }
            reload_check(&cached)
        },
    );
    // The clean snapshot's books: with repairs (the classic Hampel settings) and assets
    // listed once, twice or not at all, every value is kept or quarantined (never both,
    // never lost), no asset appears that was not given, and every kept price is usable.
    s.sweep(
        "SnapshotGuard::screen_snapshot, clean snapshot conservation (classic Hampel, assets)",
        proptest::collection::vec(
            (
                proptest::collection::vec((0u8..7, price()), 0..7),
                proptest::collection::vec((0u8..6, finite_f64()), 0..5),
                proptest::collection::vec(0u8..7, 0..8),
            ),
            1..25,
        ),
        |days| {
            let Ok(mut g) = SnapshotGuard::new(SnapshotGuardConfig::classic_hampel()) else {
                return Check::Broken("valid config refused".into());
            };
            for (d, (quotes, indicators, assets)) in days.iter().enumerate() {
                let mut snap = keyed_snapshot(d as i64, quotes, indicators);
                snap.assets = assets
                    .iter()
                    .filter_map(|k| {
                        prudentia_core::AssetInfo::new(format!("A{}", k % 5), 10.0 + f64::from(*k)).ok()
                    })
                    .collect();
                let screened = g.screen_snapshot(&snap);
                let c = finite(&screened);
                if c != Check::Ok {
                    return c;
                }
                if let prudentia_core::traits::Screened::Clean {
                    snapshot: clean,
                    quarantined,
                    ..
                } = &screened
                {
                    let given = snap.quotes.len() + snap.indicators.len();
                    let kept = clean.quotes.len() + clean.indicators.len();
                    if kept + quarantined != given {
                        return Check::Broken(format!(
                            "day {d}: {kept} kept + {quarantined} quarantined != {given}"
                        ));
                    }
                    let known = |id: &prudentia_core::AssetId| snap.assets.iter().any(|a| &a.id == id);
                    if clean.assets.len() > snap.assets.len() || !clean.assets.iter().all(|a| known(&a.id)) {
                        return Check::Broken(format!("day {d}: assets not given"));
                    }
                    let usable = |p: f64| p.is_finite() && p > 0.0;
                    if !clean.quotes.iter().all(|q| usable(q.price))
                        || !clean.assets.iter().all(|a| usable(a.price))
                    {
                        return Check::Broken(format!("day {d}: an unusable price in the clean snapshot"));
                    }
                }
            }
            reload_check(&g)
        },
    );
    // The defense swapped under the guard's cache (defense_mut) must not misroute a value.
    s.check(
        "SnapshotGuard with its defense replaced between snapshots",
        || {
            let Ok(mut g) = SnapshotGuard::new(SnapshotGuardConfig::default()) else {
                return Check::Broken("valid config refused".into());
            };
            let snap = |d| keyed_snapshot(d, &[(0, 100.0), (1, 50.0), (2, 20.0)], &[(0, 15.0), (1, 2.0)]);
            for d in 0..30 {
                let _ = g.screen_snapshot(&snap(d));
            }
            let other = InputDefense::new(g.config().defense.clone());
            let Ok(other) = other else {
                return Check::Broken("valid config refused".into());
            };
            *g.defense_mut() = other;
            let Ok(mut reference) = SnapshotGuard::new(SnapshotGuardConfig::default()) else {
                return Check::Broken("valid config refused".into());
            };
            // the replaced defense has no topics: the cached slots point nowhere
            let reversed = keyed_snapshot(40, &[(2, 20.0), (1, 50.0), (0, 100.0)], &[(1, 2.0), (0, 15.0)]);
            let a = g.screen_snapshot(&reversed);
            let b = reference.screen_snapshot(&reversed);
            Check::invariant(a == b, format!("{a:?} vs {b:?}"))
                .and(|| {
                    let (x, y) = (
                        serde_json::to_string(g.defense()),
                        serde_json::to_string(reference.defense()),
                    );
                    Check::invariant(x.is_ok() && x.ok() == y.ok(), "defense state differs")
                })
                .and(|| reload_check(&g))
        },
    );
    for slot in [0usize, 1, 2, 1 << 40, usize::MAX] {
        s.check(format!("InputDefense::process_slot {slot}"), move || {
            let Ok(mut d) = InputDefense::new(InputDefenseConfig::default()) else {
                return Check::Broken("valid config refused".into());
            };
            let _ = d.process("a", &Observation::new(day(0), 1.0), None);
            let before = d.clone();
            let got = d.process_slot(slot, &Observation::new(day(1), f64::NAN), None, f64::NAN);
            match (slot, got) {
                (0, Some(sc)) => finite_verdict(&sc.verdict).and(|| reload_check(&d)),
                (0, None) => Check::Broken("slot 0 exists".into()),
                (_, None) => Check::invariant(d == before, "a refused slot changed the defense").and(|| {
                    Check::invariant(
                        d.slot_topic(slot).is_none() && d.slot_validator(slot).is_none(),
                        "slot",
                    )
                }),
                (_, Some(_)) => Check::Broken(format!("slot {slot} does not exist")),
            }
        });
    }
    s.finish();
}
