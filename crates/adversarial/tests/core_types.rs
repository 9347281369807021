//! prudentia-core under bad input.

use prudentia_adversarial::{result, strategies::*, Check, Suite};
use prudentia_core::{validate, Forecast, Horizon};

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
    }

    s.sweep(
        "Forecast::new",
        (any_f64(), any_f64(), any_f64()),
        |(m, sd, h)| match Horizon::trading_days(h) {
            Ok(h) => result(Forecast::new(m, sd, h)),
            Err(_) => Check::Rejected,
        },
    );

    s.finish();
}
