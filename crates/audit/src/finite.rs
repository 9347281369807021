//! A serde `Serializer` that walks a value and finds its first non-finite float, so that the
//! log never stores a number its own reader would refuse (serde_json writes NaN as `null`).

use std::fmt;

use serde::ser::{self, Serialize};

/// The first non-finite `f32`/`f64` inside `value`, if any.
pub(crate) fn first_non_finite<T: Serialize + ?Sized>(value: &T) -> Option<f64> {
    match value.serialize(Walker) {
        Err(Found(v)) => Some(v),
        Ok(()) => None,
    }
}

#[derive(Clone, Copy)]
struct Walker;

#[derive(Debug)]
struct Found(f64);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "non-finite {}", self.0)
    }
}
impl std::error::Error for Found {}
impl ser::Error for Found {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        // a value that cannot be serialized at all is refused later by the JSON encoder
        Found(0.0)
    }
}

fn float(v: f64) -> Result<(), Found> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(Found(v))
    }
}

macro_rules! compound {
    ($tr:ident, $m:ident $(, $key:ty)?) => {
        impl ser::$tr for Walker {
            type Ok = ();
            type Error = Found;
            fn $m<T: Serialize + ?Sized>(&mut self, $(_: $key,)? v: &T) -> Result<(), Found> {
                v.serialize(Walker)
            }
            fn end(self) -> Result<(), Found> {
                Ok(())
            }
        }
    };
}
compound!(SerializeSeq, serialize_element);
compound!(SerializeTuple, serialize_element);
compound!(SerializeTupleStruct, serialize_field);
compound!(SerializeTupleVariant, serialize_field);
compound!(SerializeStruct, serialize_field, &'static str);
compound!(SerializeStructVariant, serialize_field, &'static str);

impl ser::SerializeMap for Walker {
    type Ok = ();
    type Error = Found;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), Found> {
        k.serialize(Walker)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Found> {
        v.serialize(Walker)
    }
    fn end(self) -> Result<(), Found> {
        Ok(())
    }
}

macro_rules! ignore {
    ($($m:ident: $t:ty),*) => {
        $(fn $m(self, _: $t) -> Result<(), Found> { Ok(()) })*
    };
}

impl ser::Serializer for Walker {
    type Ok = ();
    type Error = Found;
    type SerializeSeq = Walker;
    type SerializeTuple = Walker;
    type SerializeTupleStruct = Walker;
    type SerializeTupleVariant = Walker;
    type SerializeMap = Walker;
    type SerializeStruct = Walker;
    type SerializeStructVariant = Walker;

    ignore!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_char: char, serialize_str: &str, serialize_bytes: &[u8],
        serialize_unit_struct: &'static str);

    fn serialize_f32(self, v: f32) -> Result<(), Found> {
        float(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Found> {
        float(v)
    }
    fn serialize_none(self) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Found> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result<(), Found> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        v: &T,
    ) -> Result<(), Found> {
        v.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Walker, Found> {
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Walker, Found> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Walker, Found> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Walker, Found> {
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Walker, Found> {
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Walker, Found> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Walker, Found> {
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Inner {
        a: f64,
        b: Vec<Option<f64>>,
        c: std::collections::BTreeMap<String, (u8, f64)>,
    }

    #[test]
    fn finds_non_finite_anywhere() {
        let mut v = Inner {
            a: 1.0,
            b: vec![Some(0.0), None],
            c: Default::default(),
        };
        assert_eq!(first_non_finite(&v), None);
        v.b[1] = Some(f64::INFINITY);
        assert_eq!(first_non_finite(&v), Some(f64::INFINITY));
        v.b[1] = None;
        v.c.insert("k".into(), (1, f64::NEG_INFINITY));
        assert_eq!(first_non_finite(&v), Some(f64::NEG_INFINITY));
        v.c.clear();
        v.a = f64::NAN;
        assert!(first_non_finite(&v).is_some_and(f64::is_nan));
    }
}
