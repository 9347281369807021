//! A serde `Serializer` that walks any `Serialize` value and finds the first non-finite float.

use std::fmt;

use serde::ser::{self, Serialize};

/// Where a non-finite number was found: a path such as `.weights[3]` and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct NonFiniteAt {
    /// Path of the field, in `.field[index]` notation.
    pub path: String,
    /// The value (NaN or ±inf).
    pub value: f64,
}

impl fmt::Display for NonFiniteAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} = {}",
            if self.path.is_empty() {
                "<root>"
            } else {
                &self.path
            },
            self.value
        )
    }
}

/// The first non-finite `f32`/`f64` inside `value`, if any (`None` also when `value` cannot
/// be serialized at all).
pub fn first_non_finite<T: Serialize + ?Sized>(value: &T) -> Option<NonFiniteAt> {
    let mut w = Walker { path: Vec::new() };
    match value.serialize(&mut w) {
        Err(Found(at)) => at,
        Ok(()) => None,
    }
}

struct Walker {
    path: Vec<String>,
}

#[derive(Debug)]
struct Found(Option<NonFiniteAt>);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}
impl std::error::Error for Found {}
impl ser::Error for Found {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Found(None)
    }
}

impl Walker {
    fn float(&self, v: f64) -> Result<(), Found> {
        if v.is_finite() {
            Ok(())
        } else {
            Err(Found(Some(NonFiniteAt {
                path: self.path.concat(),
                value: v,
            })))
        }
    }
    fn nested<T: Serialize + ?Sized>(&mut self, seg: String, v: &T) -> Result<(), Found> {
        self.path.push(seg);
        let r = v.serialize(&mut *self);
        self.path.pop();
        r
    }
}

struct Seq<'a> {
    w: &'a mut Walker,
    i: usize,
}

impl<'a> Seq<'a> {
    fn elem<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Found> {
        let i = self.i;
        self.i += 1;
        self.w.nested(format!("[{i}]"), v)
    }
}

macro_rules! seq_impl {
    ($tr:ident, $m:ident) => {
        impl<'a> ser::$tr for Seq<'a> {
            type Ok = ();
            type Error = Found;
            fn $m<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Found> {
                self.elem(v)
            }
            fn end(self) -> Result<(), Found> {
                Ok(())
            }
        }
    };
}
seq_impl!(SerializeSeq, serialize_element);
seq_impl!(SerializeTuple, serialize_element);
seq_impl!(SerializeTupleStruct, serialize_field);
seq_impl!(SerializeTupleVariant, serialize_field);

impl<'a> ser::SerializeMap for Seq<'a> {
    type Ok = ();
    type Error = Found;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), Found> {
        self.w.nested("{key}".to_string(), k)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Found> {
        self.elem(v)
    }
    fn end(self) -> Result<(), Found> {
        Ok(())
    }
}

impl<'a> ser::SerializeStruct for Seq<'a> {
    type Ok = ();
    type Error = Found;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), Found> {
        self.w.nested(format!(".{key}"), v)
    }
    fn end(self) -> Result<(), Found> {
        Ok(())
    }
}
impl<'a> ser::SerializeStructVariant for Seq<'a> {
    type Ok = ();
    type Error = Found;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), Found> {
        self.w.nested(format!(".{key}"), v)
    }
    fn end(self) -> Result<(), Found> {
        Ok(())
    }
}

impl<'a> ser::Serializer for &'a mut Walker {
    type Ok = ();
    type Error = Found;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Seq<'a>;
    type SerializeMap = Seq<'a>;
    type SerializeStruct = Seq<'a>;
    type SerializeStructVariant = Seq<'a>;

    fn serialize_bool(self, _: bool) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Found> {
        self.float(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Found> {
        self.float(v)
    }
    fn serialize_char(self, _: char) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_str(self, _: &str) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Found> {
        Ok(())
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
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Found> {
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
        variant: &'static str,
        v: &T,
    ) -> Result<(), Found> {
        self.nested(format!("::{variant}"), v)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a>, Found> {
        Ok(Seq { w: self, i: 0 })
    }
    fn serialize_tuple(self, _: usize) -> Result<Seq<'a>, Found> {
        Ok(Seq { w: self, i: 0 })
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Seq<'a>, Found> {
        Ok(Seq { w: self, i: 0 })
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Seq<'a>, Found> {
        Ok(Seq { w: self, i: 0 })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Seq<'a>, Found> {
        Ok(Seq { w: self, i: 0 })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Seq<'a>, Found> {
        Ok(Seq { w: self, i: 0 })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Seq<'a>, Found> {
        Ok(Seq { w: self, i: 0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Inner {
        a: f64,
        b: Vec<f64>,
    }
    #[derive(serde::Serialize)]
    enum E {
        V { x: Option<f64> },
    }

    #[test]
    fn finds_the_first_non_finite_with_its_path() {
        assert_eq!(
            first_non_finite(&Inner {
                a: 1.0,
                b: vec![0.0, 2.0]
            }),
            None
        );
        let at = first_non_finite(&Inner {
            a: 1.0,
            b: vec![0.0, f64::NAN],
        })
        .unwrap();
        assert_eq!(at.path, ".b[1]");
        let at = first_non_finite(&vec![E::V {
            x: Some(f64::INFINITY),
        }])
        .unwrap();
        assert_eq!(at.path, "[0].x");
        assert_eq!(at.value, f64::INFINITY);
        let mut m = std::collections::BTreeMap::new();
        m.insert("k", f64::NEG_INFINITY);
        assert!(first_non_finite(&m).is_some());
    }
}
