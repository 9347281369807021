//! Impact calibration on `prudentia_datasets::fills` (known η = 0.5).

use prudentia_costs::impact::{calibrate, CalibrationConfig, ImpactObservation};
use prudentia_datasets::fills::{fills, IMPACT_ETA};

#[test]
fn eta_within_5_percent_after_5000_fills() {
    for seed in [1u64, 2, 3] {
        let s = fills(5000, seed).unwrap();
        let obs: Vec<ImpactObservation> = (0..s.len())
            .map(|r| ImpactObservation {
                spread_bps: s.spread_bps[r],
                volatility: s.volatility[r],
                participation: s.participation[r],
                cost_bps: s.slippage_bps[r],
            })
            .collect();
        let cal = calibrate(&obs, &CalibrationConfig::default()).unwrap();
        let se = cal.std_errors.unwrap();
        println!(
            "seed {seed}: eta {:.4} (se {:.4}), exponent {:.4} (se {:.4}), intercept {:.3} (se {:.3}), resid sd {:.3}, {} iterations, {}",
            cal.params.eta, se.eta, cal.params.exponent, se.exponent, cal.params.intercept_bps, se.intercept_bps,
            cal.residual_sd_bps, cal.iterations, cal.status
        );
        assert!(cal.status.is_converged());
        assert!(
            (cal.params.eta - IMPACT_ETA).abs() < 0.05 * IMPACT_ETA,
            "{}",
            cal.params.eta
        );
        assert!((cal.params.eta - IMPACT_ETA).abs() < 4.0 * se.eta);
        assert!((cal.params.exponent - 0.5).abs() < 4.0 * se.exponent);
        // with the permanent term too, η stays identified within 5%
        let cal2 = calibrate(
            &obs,
            &CalibrationConfig {
                fit_permanent: true,
                fit_exponent: false,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(
            (cal2.params.eta - IMPACT_ETA).abs() < 0.05 * IMPACT_ETA,
            "{:?}",
            cal2.params
        );
    }
}
