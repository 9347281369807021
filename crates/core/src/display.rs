//! Human-readable [`Display`](fmt::Display) forms of the main value types, for logs and
//! terminals. Percentages are shown with two decimals; use the fields for exact values.

use std::fmt;

use crate::types::{Decision, Forecast, Horizon, RegimeState, Weights};

impl fmt::Display for Weights {
    /// `AAPL 25.00%, MSFT -10.00% (gross 35.00%, net 15.00%)`, or `no positions`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return write!(f, "no positions");
        }
        for (i, (a, w)) in self.assets.iter().zip(&self.values).enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{a} {:.2}%", 100.0 * w)?;
        }
        write!(
            f,
            " (gross {:.2}%, net {:.2}%)",
            100.0 * self.gross(),
            100.0 * self.net()
        )
    }
}

impl fmt::Display for Horizon {
    /// `1 day` or `21 days`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.days();
        if d == 1.0 {
            write!(f, "1 day")
        } else {
            write!(f, "{d} days")
        }
    }
}

impl fmt::Display for Forecast {
    /// `mean 0.0500%, sigma 1.2000% over 1 day (Sharpe 0.042)`, plus the quantile count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "mean {:.4}%, sigma {:.4}% over {} (Sharpe {:.3})",
            100.0 * self.mean,
            100.0 * self.sigma,
            self.horizon,
            self.sharpe()
        )?;
        if !self.quantiles.is_empty() {
            write!(f, ", {} quantiles", self.quantiles.len())?;
        }
        Ok(())
    }
}

impl fmt::Display for RegimeState {
    /// `calm (p 0.93, run 41, change p 0.010)`, with `, changed` on a change.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.label)?;
        let p = self
            .probabilities
            .iter()
            .find(|(l, _)| *l == self.label)
            .map(|(_, p)| *p);
        match p {
            Some(p) => write!(f, " (p {p:.2}, ")?,
            None => write!(f, " (")?,
        }
        write!(
            f,
            "run {}, change p {:.3}",
            self.run_length, self.change_probability
        )?;
        if self.changed {
            write!(f, ", changed")?;
        }
        write!(f, ")")
    }
}

impl fmt::Display for Decision {
    /// A few lines: time, status and regime; selected assets; target and sized weights;
    /// orders.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "decision {}: {:?}, regime {}",
            self.time, self.status, self.regime
        )?;
        write!(f, "  selected:")?;
        if self.selected.is_empty() {
            write!(f, " none")?;
        }
        for a in &self.selected {
            write!(f, " {a}")?;
        }
        writeln!(f)?;
        writeln!(f, "  target: {}", self.target)?;
        writeln!(f, "  sized:  {}", self.sized)?;
        write!(f, "  orders:")?;
        if self.orders.is_empty() {
            write!(f, " none")?;
        }
        for (i, o) in self.orders.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{:?} {} {}", o.side, o.quantity, o.asset)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{AssetId, RegimeLabel};

    #[test]
    fn display_forms() {
        let w = Weights::new(vec![AssetId::new("A"), AssetId::new("B")], vec![0.25, -0.1]).unwrap();
        assert_eq!(w.to_string(), "A 25.00%, B -10.00% (gross 35.00%, net 15.00%)");
        assert_eq!(Weights::new(vec![], vec![]).unwrap().to_string(), "no positions");
        let fc = Forecast::new(0.0005, 0.012, Horizon::DAY).unwrap();
        assert_eq!(
            fc.to_string(),
            "mean 0.0500%, sigma 1.2000% over 1 day (Sharpe 0.042)"
        );
        let r = RegimeState::certain(RegimeLabel::new("calm"));
        assert!(r.to_string().starts_with("calm ("), "{r}");
    }
}
