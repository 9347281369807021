//! Issue #19: every configuration has serde defaults (an empty table is the default, and
//! a default round-trips), one partial JSON file configures the whole pipeline, and
//! contradictory limits are errors at construction.

use prudentia::config::PrudentiaConfig;
use prudentia::prelude::*;

macro_rules! defaults_round_trip {
    ($($t:ty),* $(,)?) => {{
        let mut n = 0;
        $(
            let d = <$t>::default();
            let json = serde_json::to_string(&d).unwrap();
            let back: $t = serde_json::from_str(&json)
                .unwrap_or_else(|e| panic!("{}: {e}\n{json}", stringify!($t)));
            assert_eq!(back, d, "{} does not round-trip", stringify!($t));
            let empty: $t = serde_json::from_str("{}")
                .unwrap_or_else(|e| panic!("{}: an empty table must be the default: {e}", stringify!($t)));
            assert_eq!(empty, d, "{}: an empty table is not the default", stringify!($t));
            n += 1;
        )*
        n
    }};
}

#[test]
fn every_configuration_defaults_and_round_trips() {
    let n = defaults_round_trip!(
        prudentia::audit::LogConfig,
        prudentia::core::estimators::NearestCorrelationConfig,
        prudentia::datasets::SyntheticConfig,
        prudentia::defense::QuarantineConfig,
        prudentia::defense::drift::psi::PsiConfig,
        prudentia::defense::drift::monitor::DriftMonitorConfig,
        prudentia::defense::detectors::adwin::AdwinConfig,
        prudentia::defense::detectors::page_hinkley::PageHinkleyConfig,
        prudentia::defense::InputDefenseConfig,
        prudentia::defense::SnapshotGuardConfig,
        prudentia::defense::ValidatorConfig,
        prudentia::kelly::single::KellyConfig,
        prudentia::kelly::governor::DrawdownGovernorConfig,
        prudentia::kelly::multi::GrowthOptimalConfig,
        prudentia::kelly::sizer::KellySizerConfig,
        prudentia::kelly::allocation::AllocationConfig,
        prudentia::learn::linear::LinearRegressionConfig,
        prudentia::learn::bandit::LinearThompsonConfig,
        prudentia::learn::bandit::EpsilonGreedyConfig,
        prudentia::learn::boost::BoostConfig,
        prudentia::causal::DrConfig,
        prudentia::causal::FilterConfig,
        prudentia::causal::TwoSlsConfig,
        prudentia::causal::LogitConfig,
        prudentia::causal::diagnostics::RefuteConfig,
        prudentia::costs::impact::CalibrationConfig,
        prudentia::execution::ope::OpeConfig,
        prudentia::execution::router::RouterConfig,
        prudentia::learn::logistic::LogisticRegressionConfig,
        prudentia::metrics::RollingConfig,
        prudentia::metrics::ReportConfig,
        prudentia::monitor::influx::InfluxConfig,
        prudentia::monitor::AlertConfig,
        prudentia::monitor::MonitorConfig,
        prudentia::pipeline::BacktestConfig,
        prudentia::portfolio::PrimalDualConfig,
        prudentia::portfolio::SolverConfig,
        prudentia::portfolio::PortfolioConfig,
        prudentia::portfolio::SectorCap,
        prudentia::regime::conditional::ConditionalPolicyConfig,
        prudentia::regime::detector::MarketRegimeDetectorConfig,
        prudentia::learn::bandit::LinUcbConfig,
        prudentia::regime::bocpd::BocpdConfig,
        prudentia::regime::hmm::GaussianHmmConfig,
        prudentia::regime::labels::LabelerConfig,
        prudentia::selection::GreedySwapConfig,
        prudentia::selection::MmrConfig,
        prudentia::selection::DppConfig,
        prudentia::selection::CorrelationConfig,
        prudentia::selection::ProblemConfig,
        prudentia::selection::ExactConfig,
        prudentia::selection::SelectorConfig,
        prudentia::uncertainty::quantreg::QuantRegConfig,
        prudentia::uncertainty::isotonic::IsotonicConfig,
        prudentia::uncertainty::probability::ProbabilityConfig,
        prudentia::uncertainty::platt::PlattConfig,
        prudentia::uncertainty::ngboost::NgBoostConfig,
        prudentia::uncertainty::hetero::HeteroConfig,
        prudentia::uncertainty::conformal::ConformalConfig,
        prudentia::uncertainty::conformal::AciConfig,
        prudentia::uncertainty::calibrate::CalibratorConfig,
        prudentia::uncertainty::calibrate::BlenderConfig,
    );
    // The pipeline's default universe is empty, which its validation refuses: with only a
    // universe given, everything else is the default.
    let universe = vec![AssetId::new("A")];
    let p: PipelineConfig = serde_json::from_str(r#"{"universe": ["A"]}"#).unwrap();
    assert_eq!(
        p,
        PipelineConfig {
            universe: universe.clone(),
            ..Default::default()
        }
    );
    assert_eq!(
        serde_json::from_str::<PipelineConfig>(&serde_json::to_string(&p).unwrap()).unwrap(),
        p
    );
    let c: PrudentiaConfig = serde_json::from_str(r#"{"pipeline": {"universe": ["A"]}}"#).unwrap();
    let mut expected = PrudentiaConfig::default();
    expected.pipeline.universe = universe;
    assert_eq!(c, expected);
    assert_eq!(
        serde_json::from_str::<PrudentiaConfig>(&serde_json::to_string(&c).unwrap()).unwrap(),
        c
    );
    eprintln!(
        "{} configuration types default from an (almost) empty table and round-trip",
        n + 2
    );
}

struct MeanForecaster(FeatureSpec);
impl Forecaster for MeanForecaster {
    fn forecast(&self, asset: &AssetInfo, _: &RegimeState) -> RoleResult<Forecast> {
        let mean = self.0.get(asset, "mean60").unwrap_or(0.0);
        let vol = self.0.get(asset, "vol60").unwrap_or(0.02).max(1e-4);
        Ok(Forecast::new(mean, vol, Horizon::DAY)?)
    }
}

#[test]
fn a_partial_json_file_configures_the_pipeline() {
    let text = include_str!("../examples/prudentia.json");
    let config: PrudentiaConfig = serde_json::from_str(text).unwrap();
    assert_eq!(config.csv.delimiter, Some(';'));
    assert_eq!(config.pipeline.universe.len(), 6);
    assert_eq!(config.selector.problem.k, 4);
    assert_eq!(config.portfolio.limits.weight_max, 0.4);
    assert_eq!(config.sizer.kelly.fraction, 0.25);
    // Untouched fields keep their defaults.
    let d = PrudentiaConfig::default();
    assert_eq!(config.pipeline.history_window, d.pipeline.history_window);
    assert_eq!(config.guard, d.guard);
    assert_eq!(config.portfolio.objective, d.portfolio.objective);
    // The configured pipeline runs on the shipped data.
    let names: Vec<&str> = config.pipeline.universe.iter().map(|a| a.as_str()).collect();
    let prices = prudentia::datasets::sp500_stocks()
        .unwrap()
        .select(&names)
        .unwrap();
    let rows: Vec<usize> = (prices.n_rows() - 200..prices.n_rows()).collect();
    let data = MarketData::from(prices.take_rows(&rows).unwrap());
    let snapshots = data.snapshots(&config.features).unwrap();
    let mut pipeline = config
        .builder(Box::new(MeanForecaster(config.features.clone())))
        .unwrap()
        .build()
        .unwrap();
    let run = walk_forward(&mut pipeline, &snapshots, &config.backtest).unwrap();
    assert!(run.decisions.len() + 1 >= snapshots.len());
    let normal = run
        .decisions
        .iter()
        .filter(|d| matches!(d.status, DecisionStatus::Normal))
        .count();
    assert!(normal > 50, "{normal} normal decisions");
    let report = run.report(config.report.clone()).unwrap();
    assert!(report.to_string().contains("six stocks"));
    // Unknown sections are errors, not silent defaults.
    assert!(serde_json::from_str::<PrudentiaConfig>(r#"{"portfolo": {}}"#).is_err());
}

#[test]
fn the_toml_example_equals_the_json_example() {
    let json = PrudentiaConfig::from_json(include_str!("../examples/prudentia.json")).unwrap();
    let toml = PrudentiaConfig::from_toml_str(include_str!("../examples/prudentia.toml")).unwrap();
    assert_eq!(toml, json);
    // from_path picks the format by extension.
    let dir = env!("CARGO_MANIFEST_DIR");
    let by_path = PrudentiaConfig::from_path(format!("{dir}/examples/prudentia.toml")).unwrap();
    assert_eq!(by_path, json);
    let by_path = PrudentiaConfig::from_path(format!("{dir}/examples/prudentia.json")).unwrap();
    assert_eq!(by_path, json);
    let e = PrudentiaConfig::from_path(format!("{dir}/examples/prudentia.yaml")).unwrap_err();
    assert!(e.to_string().contains("extension"), "{e}");
}

#[test]
fn a_partial_toml_file_configures_a_pipeline() {
    let config = PrudentiaConfig::from_toml_str(
        r#"
        [pipeline]
        universe = ["AAA", "BBB", "CCC"]
        min_history = 20

        [selector.problem]
        k = 2
        lambda = 0.25

        [portfolio.limits]
        weight_max = 0.6
        "#,
    )
    .unwrap();
    let d = PrudentiaConfig::default();
    assert_eq!(config.pipeline.min_history, 20);
    assert_eq!(config.selector.problem.k, 2);
    assert_eq!(config.selector.problem.lambda, 0.25);
    assert_eq!(config.portfolio.limits.weight_max, 0.6);
    assert_eq!(config.pipeline.history_window, d.pipeline.history_window);
    assert_eq!(config.calibrator, d.calibrator);
    assert_eq!(config.sizer, d.sizer);
    let pipeline = config
        .builder(Box::new(MeanForecaster(FeatureSpec::default())))
        .unwrap()
        .build();
    assert!(pipeline.is_ok());
    // Unknown sections, bad values and contradictory limits are errors naming the place.
    let e = PrudentiaConfig::from_toml_str("[portfolo]\n").unwrap_err();
    assert!(e.to_string().contains("portfolo"), "{e}");
    let e = PrudentiaConfig::from_toml_str("[selector.problem]\nlambda = -1.0\n").unwrap_err();
    assert!(e.to_string().contains("lambda"), "{e}");
    assert!(PrudentiaConfig::from_toml_str("[portfolio.limits]\nnet_min = 1.0\nnet_max = 0.5\n").is_err());
    assert!(PrudentiaConfig::from_toml_str("[pipeline\n").is_err());
}

#[test]
fn contradictory_limits_fail_at_construction() {
    let mut config = PrudentiaConfig::default();
    config.pipeline.universe = vec![AssetId::new("A")];
    config.portfolio.limits.weight_min = 0.5;
    config.portfolio.limits.weight_max = 0.2;
    let e = config
        .builder(Box::new(MeanForecaster(FeatureSpec::default())))
        .err()
        .expect("weight_min > weight_max must be rejected");
    assert!(e.to_string().contains("weight_min"), "{e}");
    let json = r#"{"portfolio": {"limits": {"net_min": 1.0, "net_max": 0.5}}}"#;
    assert!(serde_json::from_str::<PrudentiaConfig>(json).is_err());
}
