//! Replay and policy diff over a recorded log, with a stateful toy policy.

use prudentia_audit::*;
use prudentia_core::*;

use crate::common::*;

/// Holds the cheapest `k` assets; after learning `switch_after` outcomes it holds `k + 1`
/// (`switch_after = u64::MAX`: never), so a changed model shows up at a known decision.
struct Toy {
    k: usize,
    learned: u64,
    switch_after: u64,
}

impl ReplayPolicy for Toy {
    type Error = CoreError;
    fn decide(&mut self, s: &MarketSnapshot) -> Result<Decision, CoreError> {
        let k = if self.learned >= self.switch_after {
            self.k + 1
        } else {
            self.k
        };
        Ok(decide_cheapest(s, k, 0.0))
    }
    fn learn(&mut self, o: &Outcome) -> Result<(), CoreError> {
        if o.realized_returns.is_empty() {
            return Err(CoreError::EmptyInput {
                field: "realized returns",
                len: 0,
                min: 1,
            });
        }
        self.learned += 1;
        Ok(())
    }
}

#[test]
fn a_recorded_run_replays_bit_identically_and_a_changed_model_is_caught() {
    let dir = TempDir::new("replay");
    let log = filled_log(dir.path(), 30, 8, config(Durability::None));
    let all = log.all().unwrap();
    let mut same = Toy {
        k: 3,
        learned: 0,
        switch_after: u64::MAX,
    };
    let r = replay(&all, &mut same);
    assert!(r.is_identical(), "{r:?}");
    assert_eq!((r.decisions, r.identical, r.outcomes), (30, 30, 30));

    // a time range, replayed by a policy restored to the state it had at the range start
    let part = log.range(day(10), day(20)).unwrap();
    let r = replay(
        &part,
        &mut Toy {
            k: 3,
            learned: 10,
            switch_after: u64::MAX,
        },
    );
    assert!(r.is_identical());
    assert_eq!(r.decisions, 10);

    let mut changed = Toy {
        k: 3,
        learned: 0,
        switch_after: 12,
    };
    let r = replay(&all, &mut changed);
    let d = r.first_difference.clone().unwrap();
    assert_eq!(d.decision_number, 12);
    assert_eq!(d.sequence, 24);
    assert_eq!(d.time, day(12));
    assert_eq!(d.field, "forecasts");
    assert_eq!(r.identical, 12);
    assert!(!r.stopped);

    // a policy that fails where the recorded one did not stops the replay and says where
    let r = replay(
        &all,
        &mut DecideFn(|s: &MarketSnapshot| {
            if s.time >= day(5) {
                Err(CoreError::EmptyInput {
                    field: "x",
                    len: 0,
                    min: 1,
                })
            } else {
                Ok(decide_cheapest(s, 3, 0.0))
            }
        }),
    );
    assert!(r.stopped);
    assert_eq!(r.first_difference.unwrap().field, "decide error");
}

#[test]
fn policy_diff_reports_slates_weights_turnover_and_pnl() {
    let dir = TempDir::new("diff");
    let log = filled_log(dir.path(), 20, 8, config(Durability::None));
    let all = log.all().unwrap();
    let mut b = Toy {
        k: 5,
        learned: 0,
        switch_after: u64::MAX,
    };
    let diff = policy_diff(&all, &mut b);
    assert!(diff.stopped.is_none());
    assert_eq!(diff.decisions.len(), 20);
    assert_eq!(diff.differing, 20);
    for d in &diff.decisions {
        assert!(d.only_a.is_empty());
        assert_eq!(d.only_b.len(), 2);
        assert_eq!((d.orders_a, d.orders_b), (3, 5));
        assert!(d.orders_differ && d.weight_gap > 0.0);
    }
    // PnL by hand: Σ_t Σ_i w_i r_i over the recorded outcomes
    let pnl = |k: usize| -> f64 {
        all.iter()
            .map(|e| {
                let w = decide_cheapest(&e.snapshot, k, 0.0).sized;
                e.outcomes[0]
                    .realized_returns
                    .iter()
                    .map(|(a, r)| w.get(a) * r)
                    .sum::<f64>()
            })
            .sum()
    };
    let (pa, pb) = (diff.pnl_a.unwrap(), diff.pnl_b.unwrap());
    assert!((pa - pnl(3)).abs() < 1e-12 && (pb - pnl(5)).abs() < 1e-12);
    assert!((diff.pnl_gap.unwrap() - (pb - pa)).abs() < 1e-15);
    assert!(diff.turnover_a >= 1.0 && diff.turnover_b >= 1.0);
    // the same policy: no differences, no gap
    let same = policy_diff(
        &all,
        &mut Toy {
            k: 3,
            learned: 0,
            switch_after: u64::MAX,
        },
    );
    assert_eq!(same.differing, 0);
    assert_eq!(same.pnl_gap, Some(0.0));
    assert_eq!(same.turnover_a, same.turnover_b);
}
