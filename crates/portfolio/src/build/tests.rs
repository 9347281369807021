//! The layout, row order and data of assembled problems, pinned on small cases (the row
//! order is what `PreparedProblem` and the diagnosis rely on).

use std::collections::BTreeSet;

use clarabel::algebra::CscMatrix;
use clarabel::solver::SupportedConeT;
use ndarray::{array, Array1, Array2};

use super::{assemble, Cut, CvarForm, Resolved, Spec};
use crate::config::{Limits, Objective, PortfolioConfig};
use crate::problem::CovarianceModel;
use crate::result::LimitId;

fn dense(a: &CscMatrix<f64>) -> Array2<f64> {
    let mut d = Array2::zeros((a.m, a.n));
    for j in 0..a.n {
        for k in a.colptr[j]..a.colptr[j + 1] {
            d[[a.rowval[k], j]] = a.nzval[k];
        }
    }
    d
}

fn resolved<'a>(
    n: usize,
    mu: &'a [f64],
    current: &'a [f64],
    cov: Option<&'a CovarianceModel>,
    scenarios: Option<&'a Array2<f64>>,
    lower: f64,
) -> Resolved<'a> {
    Resolved {
        n,
        mu,
        lower: vec![lower; n],
        upper: vec![0.6; n],
        current,
        costs: vec![0.0; n],
        sector_of: vec![None; n],
        sector_names: Vec::new(),
        asset_names: &[],
        cov,
        scenarios: scenarios.map(|s| s.view()),
        long_only: lower >= 0.0,
    }
}

/// A long/short mean–CVaR book with every limit group on: each group's rows in their place.
#[test]
fn every_limit_group_in_order() {
    let cfg = PortfolioConfig {
        objective: Objective::MeanCvar,
        cvar_penalty: 1.0,
        alpha: 0.5,
        limits: Limits {
            weight_min: -0.5,
            weight_max: 0.6,
            gross_max: Some(1.5),
            net_min: Some(1.0),
            net_max: Some(1.0),
            leverage_max: Some(1.2),
            sector_net_min: Some(-0.1),
            sector_net_max: Some(0.8),
            sector_gross_max: Some(1.0),
            turnover_max: Some(0.4),
            cvar_max: Some(0.3),
            ..Limits::default()
        },
        ..PortfolioConfig::default()
    };
    let scen = array![[0.01, -0.02, 0.03], [-0.04, 0.05, -0.06]];
    let (mu, current) = ([0.1, 0.2, 0.3], [0.2, 0.3, 0.5]);
    let mut r = resolved(3, &mu, &current, None, Some(&scen), -0.5);
    r.costs = vec![0.001, 0.0, 0.002];
    r.sector_of = vec![Some(0), Some(0), None];
    r.sector_names = vec!["tech".into()];
    let none = BTreeSet::new();
    let spec = Spec {
        disabled: &none,
        feasibility_only: false,
        cvar: CvarForm::Full,
    };
    let asm = assemble(&cfg, &r, &spec);
    let lay = asm.layout;
    assert_eq!(
        (lay.n, lay.t, lay.u, lay.y, lay.zeta, lay.z, lay.theta, lay.v, lay.nvar),
        (3, Some(3), Some(6), None, Some(9), Some((10, 2)), None, None, 12)
    );
    let tech = || "tech".to_string();
    let mut expected = vec![Some(LimitId::NetEqual)];
    for asset in 0..3 {
        expected.push(Some(LimitId::WeightMax { asset }));
        expected.push(Some(LimitId::WeightMin { asset }));
    }
    expected.extend(std::iter::repeat_n(None, 12)); // t ≥ |w|, u ≥ |w − w₀|
    expected.extend([
        Some(LimitId::GrossMax),
        Some(LimitId::LeverageLong),
        Some(LimitId::LeverageShort),
        Some(LimitId::SectorNetMax { sector: tech() }),
        Some(LimitId::SectorNetMin { sector: tech() }),
        Some(LimitId::SectorGrossMax { sector: tech() }),
        Some(LimitId::TurnoverMax),
        None,
        None,
        None,
        None,
        Some(LimitId::CvarMax),
    ]);
    let limits: Vec<Option<LimitId>> = asm.meta.iter().map(|m| m.limit.clone()).collect();
    assert_eq!(limits, expected);
    assert_eq!(
        asm.cones,
        vec![SupportedConeT::ZeroConeT(1), SupportedConeT::NonnegativeConeT(30)]
    );
    assert_eq!(asm.turnover_rows, (13..19).collect::<Vec<_>>());
    assert!(asm.convex_rows.is_empty());
    assert_eq!(asm.obj_scale, 1.0);
    // q: −μ, costs on u, the CVaR penalty on ζ and c = 1/((1−α)T) = 1 on z
    assert_eq!(
        asm.q,
        vec![-0.1, -0.2, -0.3, 0.0, 0.0, 0.0, 0.001, 0.0, 0.002, 1.0, 1.0, 1.0]
    );
    assert_eq!(asm.p.nzval.len(), 0);
    let a = dense(&asm.a);
    let row = |i: usize| a.row(i).to_vec();
    assert_eq!(row(0), [1., 1., 1., 0., 0., 0., 0., 0., 0., 0., 0., 0.]);
    assert_eq!(asm.b[0], 1.0);
    // WeightMin of asset 0: −w₀ ≤ 0.5, sign −1
    assert_eq!(row(2), [-1., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0.]);
    assert_eq!((asm.b[2], asm.meta[2].sign), (0.5, -1.0));
    // u rows: w − u ≤ w₀, then −w − u ≤ −w₀
    assert_eq!(row(13), [1., 0., 0., 0., 0., 0., -1., 0., 0., 0., 0., 0.]);
    assert_eq!((asm.b[13], asm.b[16]), (0.2, -0.2));
    // gross on t; leverage short (t − w)/2; sector gross on the members' t
    assert_eq!(row(19), [0., 0., 0., 1., 1., 1., 0., 0., 0., 0., 0., 0.]);
    assert_eq!(row(21), [-0.5, -0.5, -0.5, 0.5, 0.5, 0.5, 0., 0., 0., 0., 0., 0.]);
    assert_eq!(row(24), [0., 0., 0., 1., 1., 0., 0., 0., 0., 0., 0., 0.]);
    assert_eq!((asm.b[23], asm.b[24]), (0.1, 1.0));
    // turnover on u; the second scenario's row −rᵀw − ζ − z₁ ≤ 0; the CVaR cap
    assert_eq!(row(25), [0., 0., 0., 0., 0., 0., 1., 1., 1., 0., 0., 0.]);
    assert_eq!(row(27), [0.04, -0.05, 0.06, 0., 0., 0., 0., 0., 0., -1., 0., -1.]);
    assert_eq!(row(30), [0., 0., 0., 0., 0., 0., 0., 0., 0., 1., 1., 1.]);
    assert_eq!(asm.b[30], 0.3);
}

/// A long-only mean–variance book with a factor model: no `t` block, the factor rows after
/// the net equality, and P = 2γ·diag(d) on w and 2γF on y.
#[test]
fn factor_model_long_only() {
    let cfg = PortfolioConfig {
        objective: Objective::MeanVariance,
        risk_aversion: 2.0,
        limits: Limits {
            weight_min: 0.0,
            weight_max: 0.6,
            gross_max: Some(1.0),
            net_min: Some(1.0),
            net_max: Some(1.0),
            ..Limits::default()
        },
        ..PortfolioConfig::default()
    };
    let cov = CovarianceModel::Factor {
        loadings: array![[1.0], [0.5]],
        factor_covariance: array![[0.04]],
        specific: Array1::from(vec![0.01, 0.02]),
    };
    let (mu, current) = ([0.1, 0.2], [0.5, 0.5]);
    let r = resolved(2, &mu, &current, Some(&cov), None, 0.0);
    let none = BTreeSet::new();
    let spec = Spec {
        disabled: &none,
        feasibility_only: false,
        cvar: CvarForm::None,
    };
    let asm = assemble(&cfg, &r, &spec);
    assert_eq!(
        (asm.layout.t, asm.layout.u, asm.layout.y, asm.layout.nvar),
        (None, None, Some((2, 1)), 3)
    );
    let a = dense(&asm.a);
    assert_eq!(a.row(0).to_vec(), [1.0, 1.0, 0.0]);
    assert_eq!(a.row(1).to_vec(), [1.0, 0.5, -1.0]);
    assert_eq!(asm.cones[0], SupportedConeT::ZeroConeT(2));
    // the gross row of a long-only book sums w itself
    let gross = asm.meta.iter().position(|m| m.limit == Some(LimitId::GrossMax));
    assert_eq!(gross.map(|i| a.row(i).to_vec()), Some(vec![1.0, 1.0, 0.0]));
    assert_eq!(asm.p.colptr, [0, 1, 2, 3]);
    assert_eq!(asm.p.rowval, [0, 1, 2]);
    assert_eq!(asm.p.nzval, [4.0 * 0.01, 4.0 * 0.02, 4.0 * 0.04]);
    assert_eq!(asm.q, [-0.1, -0.2, 0.0]);
}

/// The scenario subset keeps the caller's scenario order; the cutting-plane master has
/// `θ ≥ 0`, one row per cut and the cap `ζ + θ`.
#[test]
fn scenario_subset_and_cuts() {
    let cfg = PortfolioConfig {
        alpha: 0.5,
        limits: Limits {
            weight_min: 0.0,
            weight_max: 1.0,
            cvar_max: Some(0.2),
            ..Limits::default()
        },
        ..PortfolioConfig::default()
    };
    let scen = array![[0.01, 0.02], [0.03, 0.04], [0.05, 0.06], [0.07, 0.08]];
    let (mu, current) = ([0.1, 0.2], [0.5, 0.5]);
    let r = resolved(2, &mu, &current, None, Some(&scen), 0.0);
    let none = BTreeSet::new();
    let subset = [3, 1];
    let spec = Spec {
        disabled: &none,
        feasibility_only: false,
        cvar: CvarForm::Subset(&subset),
    };
    let asm = assemble(&cfg, &r, &spec);
    assert_eq!(
        (asm.layout.zeta, asm.layout.z, asm.layout.nvar),
        (Some(2), Some((3, 2)), 5)
    );
    let a = dense(&asm.a);
    // 4 weight bounds, then the subset's scenario rows in the given order
    assert_eq!(a.row(4).to_vec(), [-0.07, -0.08, -1.0, -1.0, 0.0]);
    assert_eq!(a.row(5).to_vec(), [-0.03, -0.04, -1.0, 0.0, -1.0]);
    // the cap's tail scale counts all T = 4 scenarios: 1/((1−0.5)·4) = 0.5
    assert_eq!(a.row(8).to_vec(), [0.0, 0.0, 1.0, 0.5, 0.5]);
    assert_eq!(asm.q, [-0.1, -0.2, 1.0, 0.5, 0.5]);

    let cuts = [Cut {
        coef: vec![-0.3, -0.4],
        zeta: -2.0,
    }];
    let spec = Spec {
        disabled: &none,
        feasibility_only: true,
        cvar: CvarForm::Cuts(&cuts),
    };
    let asm = assemble(&cfg, &r, &spec);
    assert_eq!(
        (asm.layout.zeta, asm.layout.theta, asm.layout.nvar),
        (Some(2), Some(3), 4)
    );
    let a = dense(&asm.a);
    assert_eq!(a.row(4).to_vec(), [0.0, 0.0, 0.0, -1.0]);
    assert_eq!(a.row(5).to_vec(), [-0.3, -0.4, -2.0, -1.0]);
    assert_eq!(a.row(6).to_vec(), [0.0, 0.0, 1.0, 1.0]);
    assert_eq!(asm.meta[6].limit, Some(LimitId::CvarMax));
    // a feasibility problem has no objective
    assert_eq!(asm.q, [0.0; 4]);
}
