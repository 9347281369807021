//! Serde helpers that keep NaN and infinities through formats without them (JSON writes
//! them as `null`, which does not read back as `f64`): finite values stay numbers,
//! non-finite ones become the strings `"NaN"`, `"inf"`, `"-inf"`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Repr {
    Num(f64),
    Text(String),
}

fn to_repr(x: f64) -> Repr {
    if x.is_finite() {
        Repr::Num(x)
    } else if x.is_nan() {
        Repr::Text("NaN".into())
    } else if x > 0.0 {
        Repr::Text("inf".into())
    } else {
        Repr::Text("-inf".into())
    }
}

fn from_repr<E: serde::de::Error>(r: Repr) -> Result<f64, E> {
    match r {
        Repr::Num(x) => Ok(x),
        Repr::Text(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            _ => Err(E::custom("expected a number, \"NaN\", \"inf\" or \"-inf\"")),
        },
    }
}

/// For `f64` fields.
pub(crate) mod plain {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        to_repr(*x).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        from_repr(Repr::deserialize(d)?)
    }
}

/// For `Option<f64>` fields.
pub(crate) mod option {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        x.map(to_repr).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Option::<Repr>::deserialize(d)?.map(from_repr).transpose()
    }
}

/// For `Option<(f64, f64)>` fields (ranges whose bounds may be infinite).
pub(crate) mod range {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(x: &Option<(f64, f64)>, s: S) -> Result<S::Ok, S::Error> {
        x.map(|(a, b)| (to_repr(a), to_repr(b))).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<(f64, f64)>, D::Error> {
        match Option::<(Repr, Repr)>::deserialize(d)? {
            None => Ok(None),
            Some((a, b)) => Ok(Some((from_repr(a)?, from_repr(b)?))),
        }
    }
}
