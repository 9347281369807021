//! Reporting how a solve ended: the binding limits with their shadow prices, and the
//! diagnosis of an infeasible problem (pre-check or deletion filter over limit groups).

use std::collections::{BTreeMap, BTreeSet};

use super::conic::{is_infeasible, run, Raw};
use super::precheck::precheck;
use super::PortfolioOptimizer;
use crate::build::{assemble, needs_cvar, present_groups, Assembled, CvarForm, Resolved, Spec};
use crate::config::{CvarMethod, SectorCap};
use crate::result::{ActiveConstraint, Infeasibility, LimitGroup, PortfolioResult, SolveInfo};

impl PortfolioOptimizer {
    /// The result of a problem whose limits contradict each other on their face (see
    /// [`precheck`]), or `None` when the pre-checks find nothing.
    pub(super) fn prechecked(&self, r: &Resolved<'_>) -> Option<PortfolioResult> {
        let (mut culprits, detail, members) = precheck(&self.config, r)?;
        culprits.sort();
        let inf = Infeasibility {
            culprits,
            detail: format!("pre-check: {detail}"),
            members,
        };
        let mut res = self.failed(r, inf.status(), SolveInfo::default());
        res.infeasibility = Some(inf);
        Some(res)
    }

    /// The limits binding at the solution (every equality; an inequality whose slack is within
    /// the active tolerance), with their shadow prices in the original objective's units.
    pub(super) fn active(&self, asm: &Assembled, raw: &Raw, asset_names: &[String]) -> Vec<ActiveConstraint> {
        let tol = self.config.active_tolerance;
        let n_eq = match asm.cones.first() {
            Some(clarabel::solver::SupportedConeT::ZeroConeT(k)) => *k,
            _ => 0,
        };
        let mut out = Vec::new();
        for (i, m) in asm.meta.iter().enumerate() {
            let Some(limit) = &m.limit else { continue };
            let slack = raw.s[i];
            if i < n_eq || slack <= tol * asm.b[i].abs().max(1.0) {
                out.push(ActiveConstraint {
                    name: limit.label(asset_names),
                    limit: limit.clone(),
                    bound: m.sign * asm.b[i],
                    value: m.sign * (asm.b[i] - slack),
                    shadow_price: raw.z[i] * asm.obj_scale,
                });
            }
        }
        out
    }

    /// Deletion filter over limit groups: drop a group for good whenever the rest stays
    /// infeasible; what remains is an irreducible conflicting set.
    pub(super) fn diagnose(&self, r: &Resolved<'_>) -> Infeasibility {
        let cfg = &self.config;
        if !cfg.diagnose_infeasibility {
            return Infeasibility {
                culprits: Vec::new(),
                detail: "solver certificate of primal infeasibility (diagnosis off)".into(),
                members: BTreeMap::new(),
            };
        }
        let present = present_groups(cfg, r);
        let mut disabled = BTreeSet::new();
        let mut solves = 0;
        for g in &present {
            disabled.insert(*g);
            let cvar = needs_cvar(cfg, &disabled, true);
            solves += 1;
            let raw = if cvar && self.cvar_method(r) != CvarMethod::FullLp {
                // the CVaR limit's feasibility by scenario generation (a relaxation while
                // scenarios are missing, so an infeasible subset proves infeasibility)
                self.solve_scenarios(r, &disabled, true).map(|(raw, _, _)| raw)
            } else {
                let spec = Spec {
                    disabled: &disabled,
                    feasibility_only: true,
                    cvar: if cvar { CvarForm::Full } else { CvarForm::None },
                };
                run(&assemble(cfg, r, &spec), cfg)
            };
            let still_infeasible = matches!(raw, Ok(raw) if is_infeasible(raw.status));
            if !still_infeasible {
                disabled.remove(g);
            }
        }
        let mut culprits: Vec<LimitGroup> = present.into_iter().filter(|g| !disabled.contains(g)).collect();
        culprits.sort();
        let mut members = BTreeMap::new();
        if culprits.contains(&LimitGroup::SectorNet) && !needs_cvar(cfg, &disabled, true) {
            if let Some(names) = self.conflicting_sectors(r, &disabled, &mut solves) {
                members.insert(LimitGroup::SectorNet, names);
            }
        }
        Infeasibility {
            detail: format!(
                "solver certificate of primal infeasibility; deletion filter over limit groups ({solves} feasibility solves): \
                 these limits conflict, and dropping any one of them resolves this conflict"
            ),
            culprits,
            members,
        }
    }

    /// The second stage of the deletion filter, inside the sector net group: relax one
    /// sector's net bounds at a time (a non-binding per-sector cap), keeping it relaxed while
    /// the problem stays infeasible. The sectors left are needed for the conflict; `None`
    /// when that is every sector (the group conflicts as a whole) or a solve fails.
    fn conflicting_sectors(
        &self,
        r: &Resolved<'_>,
        disabled: &BTreeSet<LimitGroup>,
        solves: &mut usize,
    ) -> Option<Vec<String>> {
        let mut trial = self.config.clone();
        let spec = Spec {
            disabled,
            feasibility_only: true,
            cvar: CvarForm::None,
        };
        let members = r.sector_members();
        let mut needed = Vec::new();
        for (s, name) in r.sector_names.iter().enumerate() {
            // A bound no book within the weight bounds (or gross limit) can reach.
            let reach: f64 = members[s]
                .iter()
                .map(|&i| r.lower[i].abs().max(r.upper[i].abs()))
                .sum::<f64>()
                .min(trial.limits.gross_max.unwrap_or(f64::INFINITY))
                .min(trial.limits.leverage_max.map_or(f64::INFINITY, |l| 2.0 * l));
            if !reach.is_finite() {
                return None;
            }
            let loose = reach + 1.0;
            let saved = trial.limits.sector_caps.insert(
                name.clone(),
                SectorCap {
                    net_min: Some(-loose),
                    net_max: Some(loose),
                },
            );
            *solves += 1;
            let raw = run(&assemble(&trial, r, &spec), &trial).ok()?;
            if !is_infeasible(raw.status) {
                // needed: restore its bounds
                match saved {
                    Some(c) => trial.limits.sector_caps.insert(name.clone(), c),
                    None => trial.limits.sector_caps.remove(name),
                };
                needed.push(name.clone());
            }
        }
        (!needed.is_empty() && needed.len() < r.sector_names.len()).then_some(needed)
    }
}
