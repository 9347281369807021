//! One conic solve: the structured interior-point method of `dense_qp` when the
//! configuration asks for it, Clarabel behind it, and the reading of Clarabel's status.

use clarabel::solver::{DefaultSettings, DefaultSolver, IPSolver, SolverStatus};
use prudentia_core::Status;

use crate::build::Assembled;
use crate::config::PortfolioConfig;
use crate::error::PortfolioError;
use crate::result::SolveInfo;

/// Outcome of one conic solve.
pub(super) struct Raw {
    pub status: SolverStatus,
    pub x: Vec<f64>,
    pub z: Vec<f64>,
    pub s: Vec<f64>,
    pub iterations: u32,
    pub structured: bool,
}

fn settings(cfg: &PortfolioConfig) -> DefaultSettings<f64> {
    let s = &cfg.solver;
    DefaultSettings {
        verbose: false,
        max_iter: s.max_iterations,
        time_limit: s.time_limit_s.unwrap_or(f64::INFINITY),
        max_threads: s.threads,
        tol_gap_abs: s.tolerance,
        tol_gap_rel: s.tolerance,
        tol_feas: s.tolerance,
        ..DefaultSettings::default()
    }
}

pub(super) fn run(asm: &Assembled, cfg: &PortfolioConfig) -> Result<Raw, PortfolioError> {
    let start = std::time::Instant::now();
    let limit = cfg
        .solver
        .time_limit_s
        .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok());
    // the CVaR threshold ζ joins the weights in the dense block; the cutting-plane master
    // (dense cut rows, θ) stays with Clarabel
    let hubs: Vec<usize> = asm.layout.zeta.into_iter().collect();
    let structured = match (asm.layout.zeta, asm.layout.theta) {
        (None, _) => cfg.solver.structured_qp,
        (Some(_), None) => cfg.solver.structured_cvar,
        (Some(_), Some(_)) => false,
    };
    if structured {
        let qp = crate::dense_qp::QpSettings {
            tolerance: cfg.solver.tolerance,
            max_iterations: cfg.solver.max_iterations.min(80),
            deadline: limit.and_then(|l| start.checked_add(l)),
        };
        if let Some(sol) = crate::dense_qp::solve(
            &asm.p,
            &asm.q,
            &asm.a,
            &asm.b,
            &asm.cones,
            asm.layout.n,
            &hubs,
            &qp,
        ) {
            return Ok(Raw {
                status: SolverStatus::Solved,
                x: sol.x,
                z: sol.z,
                s: sol.s,
                iterations: sol.iterations,
                structured: true,
            });
        }
    }
    let mut settings = settings(cfg);
    if let Some(l) = limit {
        // the time the structured attempt used counts against the limit
        settings.time_limit = l.saturating_sub(start.elapsed()).as_secs_f64().max(1e-6);
    }
    let mut solver =
        DefaultSolver::new(&asm.p, &asm.q, &asm.a, &asm.b, &asm.cones, settings).map_err(|e| {
            PortfolioError::Solver {
                detail: match e {
                    clarabel::solver::SolverError::BadInputData(d) => d,
                    _ => "invalid settings",
                },
            }
        })?;
    solver.solve();
    let sol = &solver.solution;
    Ok(Raw {
        status: sol.status,
        x: sol.x.clone(),
        z: sol.z.clone(),
        s: sol.s.clone(),
        iterations: sol.iterations,
        structured: false,
    })
}

pub(super) fn is_solved(s: SolverStatus) -> bool {
    matches!(s, SolverStatus::Solved | SolverStatus::AlmostSolved)
}

pub(super) fn is_infeasible(s: SolverStatus) -> bool {
    matches!(
        s,
        SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible
    )
}

/// Core status of a Clarabel outcome that is neither solved nor infeasible (those two are
/// checked or diagnosed by the caller).
pub(super) fn map_status(s: SolverStatus, info: &SolveInfo, cfg: &PortfolioConfig) -> Status {
    match s {
        SolverStatus::MaxIterations => Status::IterationLimit {
            iterations: info.iterations as usize,
        },
        SolverStatus::MaxTime => Status::TimeLimit {
            elapsed_ms: cfg
                .solver
                .time_limit_s
                .map_or(0, |t| (t * 1000.0).min(u64::MAX as f64) as u64),
        },
        other => Status::Numerical {
            message: format!("Clarabel: {other:?}"),
        },
    }
}
