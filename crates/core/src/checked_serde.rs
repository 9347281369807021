//! Validated deserialization, one way across the workspace.
//!
//! A type with invariants derives `Serialize`/`Deserialize` with `#[serde(remote = "Self")]`
//! (which turns the derives into inherent functions) and then calls [`checked_serde!`](crate::checked_serde!) with
//! a check method `fn(&mut Self) -> Result<(), E>` (`E: Display`). Serializing is unchanged;
//! every loaded value runs the check, which may also rebuild skipped scratch buffers, so a
//! tampered or mismatched checkpoint is a load error, never a later panic.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Serialize, Deserialize)]
//! #[serde(remote = "Self")]
//! struct Window {
//!     len: usize,
//!     values: Vec<f64>,
//! }
//!
//! impl Window {
//!     fn check(&mut self) -> Result<(), String> {
//!         if self.len == 0 || self.values.len() > self.len {
//!             return Err(format!("window {} with {} values", self.len, self.values.len()));
//!         }
//!         Ok(())
//!     }
//! }
//! prudentia_core::checked_serde!(Window, Window::check);
//!
//! let ok: Window = serde_json::from_str(r#"{"len":3,"values":[1.0]}"#).unwrap();
//! assert_eq!(ok.len, 3);
//! assert!(serde_json::from_str::<Window>(r#"{"len":0,"values":[]}"#).is_err());
//! ```

/// Implements `Serialize` and `Deserialize` for a type declared with
/// `#[serde(remote = "Self")]`, running `$check` (`fn(&mut Self) -> Result<(), E>`,
/// `E: Display`) on every deserialized value. See the [module docs](mod@crate::checked_serde).
#[macro_export]
macro_rules! checked_serde {
    ($ty:ident, $check:path) => {
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                $ty::serialize(self, serializer)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                let mut value = $ty::deserialize(deserializer)?;
                $check(&mut value).map_err(::serde::de::Error::custom)?;
                Ok(value)
            }
        }
    };
}
