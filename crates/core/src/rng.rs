//! SplitMix64 (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number generators",
//! OOPSLA; the constants of Vigna's `splitmix64.c`): the one seeded integer hash of the
//! workspace, for deriving seeds and for reproducible test and bench data that a Python
//! script can regenerate bit for bit.
//!
//! Output `n` (from 1) of the stream seeded with `s` is `mix(s + n·γ)` (wrapping), with
//! `γ = 0x9E37_79B9_7F4A_7C15` and `mix` the finalizer below; so [`SplitMix64::at`]`(s, k)`
//! is the stream's output `k + 1`, without stepping.
//!
//! ```
//! use prudentia_core::rng::SplitMix64;
//!
//! let mut g = SplitMix64::new(42);
//! let (a, b) = (g.next_u64(), g.next_u64());
//! assert_eq!(a, SplitMix64::at(42, 0));
//! assert_eq!(b, SplitMix64::at(42, 1));
//! let u = g.next_f64();
//! assert!((0.0..1.0).contains(&u));
//! ```

/// The golden-ratio increment `γ = ⌊2⁶⁴/φ⌋` (odd).
pub const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// A SplitMix64 stream (not cryptographic; 2⁶⁴ period; every state is valid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A stream from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The SplitMix64 finalizer (a bijection of `u64` with good avalanche).
    pub fn mix(z: u64) -> u64 {
        let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Output `k + 1` of the stream seeded with `seed`: `mix(seed + (k + 1)·γ)`.
    pub fn at(seed: u64, k: u64) -> u64 {
        Self::mix(seed.wrapping_add(k.wrapping_add(1).wrapping_mul(GOLDEN_GAMMA)))
    }

    /// A seed derived from a base seed and a step (e.g. one per decision):
    /// `mix(base ⊕ step·γ)`.
    pub fn derive(base: u64, step: u64) -> u64 {
        Self::mix(base ^ step.wrapping_mul(GOLDEN_GAMMA))
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        Self::mix(self.state)
    }

    /// `u64` to `[0, 1)`: the top 53 bits times 2⁻⁵³.
    pub fn unit(bits: u64) -> f64 {
        (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform on `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        Self::unit(self.next_u64())
    }

    /// A standard normal by Box–Muller from two uniforms `u₁, u₂`:
    /// `√(−2 ln(1 − u₁)) · cos(2π u₂)` (finite: `1 − u₁ ∈ (0, 1]`).
    pub fn next_normal(&mut self) -> f64 {
        let u1 = self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * (1.0 - u1).ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_values_of_vigna_splitmix64() {
        // splitmix64.c seeded with 1234567: the first outputs
        let mut g = SplitMix64::new(1_234_567);
        assert_eq!(g.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(g.next_u64(), 3_203_168_211_198_807_973);
        assert_eq!(SplitMix64::at(1_234_567, 2), g.next_u64());
        assert_eq!(SplitMix64::derive(0, 0), 0);
        assert!(g.next_normal().is_finite());
    }
}
