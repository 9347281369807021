//! The compact binary encoding of stored records: a serde data format in the style of
//! postcard, written for the audit log so that an append costs no float formatting.
//!
//! ```text
//! bool            1 byte (0 or 1)
//! u8..u64, usize  LEB128 varint           i8..i64  zigzag LEB128 varint
//! u128, i128      16 bytes little endian  char     varint of the code point
//! f32, f64        IEEE bits, little endian (records: finite only)
//! str, bytes      varint length, then the bytes (str: UTF-8)
//!                 (format 4, str only: interned within the value, see below)
//! Option          0 (None) or 1 then the value
//! seq, map        varint length, then the elements (map: key, value, key, value, …)
//! struct, tuple   the fields in declaration order, no names
//! enum            varint variant index, then the variant's fields
//! unit            nothing
//! ```
//! From format version 4 the strings of a value are interned: a string's first occurrence
//! is `varint(len << 1 | 1)` then its UTF-8 bytes, which gives it the next index (from 0);
//! a later occurrence may be `varint(index << 1)` instead. The table belongs to one value
//! (one record, outcome or snapshot), so every stored value decodes on its own. (The
//! encoder finds earlier occurrences through a small direct-mapped cache: a string it
//! misses is defined again under a new index, which decodes the same.)
//!
//! The format is not self-describing (like postcard or bincode): it is only read back into
//! the type that wrote it, and every value is validated by that type's `Deserialize`
//! (`checked_serde` types run their checks). Every length is checked against the bytes
//! left before anything is allocated, and trailing bytes are an error.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};

/// Why a value could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BinError {
    /// A non-finite float where only finite ones are allowed.
    NonFinite(f64),
    /// The bytes end before the value does.
    Eof,
    /// Bytes left after the value.
    Trailing(usize),
    /// Anything else (bad tag, bad UTF-8, a type's own check, …).
    Message(String),
}

impl fmt::Display for BinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BinError::NonFinite(v) => write!(f, "non-finite number {v}"),
            BinError::Eof => f.write_str("unexpected end of record"),
            BinError::Trailing(n) => write!(f, "{n} bytes after the end of the record"),
            BinError::Message(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for BinError {}

impl ser::Error for BinError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        BinError::Message(msg.to_string())
    }
}

impl de::Error for BinError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        BinError::Message(msg.to_string())
    }
}

type Result<T> = std::result::Result<T, BinError>;

/// Appends the encoding of `value` to `out` (without string interning: formats 2 and 3);
/// with `finite`, a non-finite float is an error ([`BinError::NonFinite`]) and `out` may
/// hold a partial encoding.
#[cfg_attr(not(any(test, feature = "sqlite")), allow(dead_code))]
pub(crate) fn to_writer<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>, finite: bool) -> Result<()> {
    value.serialize(&mut Encoder {
        out,
        finite,
        strings: None,
    })
}

/// Appends the encoding of `value` in the encoding of format `version` (strings interned
/// from version 4), as [`to_writer`] (the SQLite store writes the format of its database).
#[cfg_attr(not(any(test, feature = "sqlite")), allow(dead_code))]
pub(crate) fn to_writer_for<T: Serialize + ?Sized>(
    version: u32,
    value: &T,
    out: &mut Vec<u8>,
    finite: bool,
) -> Result<()> {
    if version < INTERNED_FROM {
        return to_writer(value, out, finite);
    }
    to_writer_interned(value, out, finite, &mut Interner::new())
}

/// Appends the encoding of `value` of the current format (strings interned), as
/// [`to_writer`], with `strings` (reset here) as the string cache: a cache kept by the caller
/// costs no zeroing per value.
pub(crate) fn to_writer_interned<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
    finite: bool,
    strings: &mut Interner,
) -> Result<()> {
    strings.reset();
    value.serialize(&mut Encoder {
        out,
        finite,
        strings: Some(strings),
    })
}

/// Decodes a whole value from `bytes` (without string interning: formats 2 and 3); with
/// `finite`, a non-finite float is an error.
#[cfg(test)]
pub(crate) fn from_slice<'de, T: serde::Deserialize<'de>>(bytes: &'de [u8], finite: bool) -> Result<T> {
    let mut d = Decoder::new(bytes, finite);
    let v = T::deserialize(&mut d)?;
    if d.b.is_empty() {
        Ok(v)
    } else {
        Err(BinError::Trailing(d.b.len()))
    }
}

/// Decodes a whole value written by [`to_writer_for`] with the same `version`.
pub(crate) fn from_slice_for<'de, T: serde::Deserialize<'de>>(
    version: u32,
    bytes: &'de [u8],
    finite: bool,
) -> Result<T> {
    let mut d = Decoder::new(bytes, finite);
    if version >= INTERNED_FROM {
        d.strings = Some(Vec::new());
    }
    let v = T::deserialize(&mut d)?;
    if d.b.is_empty() {
        Ok(v)
    } else {
        Err(BinError::Trailing(d.b.len()))
    }
}

/// The first format version whose values intern their strings.
pub(crate) const INTERNED_FROM: u32 = 4;

/// Slots of the encoder's string cache (a power of two).
const INTERN_SLOTS: usize = 128;

/// The encoder's side of string interning: a direct-mapped cache from a string's hash to
/// where its first occurrence's bytes are in the output and its index. The table belongs to
/// one value: [`Interner::reset`] starts the next one by moving to a new generation (a slot
/// of an older generation is empty), so a cache reused from value to value is not zeroed
/// (2 × 3 KB per append otherwise).
pub(crate) struct Interner {
    slots: [Slot; INTERN_SLOTS],
    next: u32,
    /// The current value's generation (slots of other generations are empty; 0 is never
    /// current).
    generation: u32,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner")
            .field("next", &self.next)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl Default for Interner {
    fn default() -> Self {
        Self::new()
    }
}

/// A cached string: its first 8 bytes (zero-padded), its length, where its bytes are in the
/// output, its index, and the generation (value) it belongs to.
#[derive(Clone, Copy, Default)]
struct Slot {
    head: u64,
    len: u32,
    at: u32,
    index: u32,
    generation: u32,
}

impl Interner {
    pub(crate) fn new() -> Self {
        Self {
            slots: [Slot::default(); INTERN_SLOTS],
            next: 0,
            generation: 1,
        }
    }

    /// Empties the table for the next value (in O(1), except once every 2³² − 1 values).
    pub(crate) fn reset(&mut self) {
        self.next = 0;
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // the generations wrapped: slots of generation 1 might look current again
            self.slots = [Slot::default(); INTERN_SLOTS];
            self.generation = 1;
        }
    }

    /// A number that, with the length, tells strings of up to 8 bytes apart: their bytes,
    /// read without a call to `memcpy` (two overlapping reads of 4 or 2 bytes for shorter
    /// strings); for longer strings, their first 8 bytes.
    #[inline]
    fn head(s: &[u8]) -> u64 {
        let n = s.len();
        let u32_at = |i: usize| u64::from(u32::from_le_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]));
        if n >= 8 {
            u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]])
        } else if n >= 4 {
            u32_at(0) | u32_at(n - 4) << 32
        } else if n >= 2 {
            u64::from(u16::from_le_bytes([s[0], s[1]]))
                | u64::from(u16::from_le_bytes([s[n - 2], s[n - 1]])) << 16
        } else {
            s.first().map_or(0, |b| u64::from(*b))
        }
    }

    #[inline]
    fn slot(head: u64, s: &[u8]) -> usize {
        let mut h = (head ^ (s.len() as u64).rotate_right(8)).wrapping_mul(0x517c_c1b7_2722_0a95);
        if s.len() > 8 {
            for c in s[8..].chunks(8) {
                let mut a = [0u8; 8];
                a[..c.len()].copy_from_slice(c);
                h = (h.rotate_left(5) ^ u64::from_le_bytes(a)).wrapping_mul(0x517c_c1b7_2722_0a95);
            }
        }
        (h >> 57) as usize & (INTERN_SLOTS - 1)
    }

    /// Appends the interned encoding of `s` to `out`.
    #[inline]
    pub(crate) fn put(&mut self, out: &mut Vec<u8>, s: &str) {
        let b = s.as_bytes();
        let head = Self::head(b);
        let slot = Self::slot(head, b);
        let c = self.slots[slot];
        if c.generation == self.generation && c.head == head && c.len as usize == b.len() {
            let at = c.at as usize;
            // strings of up to 8 bytes are equal when their heads are
            if b.len() <= 8 || out.get(at..at + b.len()) == Some(b) {
                put_varint(out, u64::from(c.index) << 1);
                return;
            }
        }
        put_varint(out, (b.len() as u64) << 1 | 1);
        let at = out.len();
        out.extend_from_slice(b);
        // offsets beyond u32 (never for a record within the size limit) are not cached
        if let (Ok(at), Ok(len)) = (u32::try_from(at), u32::try_from(b.len())) {
            self.slots[slot] = Slot {
                head,
                len,
                at,
                index: self.next,
                generation: self.generation,
            };
        }
        self.next = self.next.wrapping_add(1);
    }
}

#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[inline]
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[inline]
pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

#[inline]
pub(crate) fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_varint(out, zigzag(v));
}

#[inline]
pub(crate) fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_bits().to_le_bytes());
}

struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    finite: bool,
    strings: Option<&'a mut Interner>,
}

impl<'a> ser::Serializer for &mut Encoder<'a> {
    type Ok = ();
    type Error = BinError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn is_human_readable(&self) -> bool {
        false
    }
    fn serialize_bool(self, v: bool) -> Result<()> {
        self.out.push(u8::from(v));
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<()> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<()> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<()> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<()> {
        put_i64(self.out, v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<()> {
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<()> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<()> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<()> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<()> {
        put_varint(self.out, v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<()> {
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<()> {
        if self.finite && !v.is_finite() {
            return Err(BinError::NonFinite(f64::from(v)));
        }
        self.out.extend_from_slice(&v.to_bits().to_le_bytes());
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<()> {
        if self.finite && !v.is_finite() {
            return Err(BinError::NonFinite(v));
        }
        put_f64(self.out, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<()> {
        self.serialize_u64(u64::from(u32::from(v)))
    }
    fn serialize_str(self, v: &str) -> Result<()> {
        match self.strings.as_mut() {
            Some(strings) => strings.put(self.out, v),
            None => put_str(self.out, v),
        }
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        put_varint(self.out, v.len() as u64);
        self.out.extend_from_slice(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<()> {
        self.out.push(0);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<()> {
        self.out.push(1);
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<()> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<()> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, index: u32, _: &'static str) -> Result<()> {
        self.serialize_u64(u64::from(index))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        index: u32,
        _: &'static str,
        value: &T,
    ) -> Result<()> {
        put_varint(self.out, u64::from(index));
        value.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self> {
        let len = len.ok_or_else(|| BinError::Message("a sequence of unknown length".into()))?;
        put_varint(self.out, len as u64);
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self> {
        Ok(self)
    }
    fn serialize_tuple_variant(self, _: &'static str, index: u32, _: &'static str, _: usize) -> Result<Self> {
        put_varint(self.out, u64::from(index));
        Ok(self)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self> {
        let len = len.ok_or_else(|| BinError::Message("a map of unknown length".into()))?;
        put_varint(self.out, len as u64);
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        index: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self> {
        put_varint(self.out, u64::from(index));
        Ok(self)
    }
}

macro_rules! compound {
    ($tr:ident, $m:ident $(, $key:ty)?) => {
        impl<'a> ser::$tr for &mut Encoder<'a> {
            type Ok = ();
            type Error = BinError;
            fn $m<T: Serialize + ?Sized>(&mut self, $(_: $key,)? v: &T) -> Result<()> {
                v.serialize(&mut **self)
            }
            fn end(self) -> Result<()> {
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

impl<'a> ser::SerializeMap for &mut Encoder<'a> {
    type Ok = ();
    type Error = BinError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<()> {
        k.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        v.serialize(&mut **self)
    }
    fn end(self) -> Result<()> {
        Ok(())
    }
}

/// A reader over encoded bytes (also used by the hand-written snapshot decoder).
pub(crate) struct Decoder<'de> {
    pub(crate) b: &'de [u8],
    pub(crate) finite: bool,
    /// The strings defined so far, when strings are interned (format 4).
    pub(crate) strings: Option<Vec<&'de str>>,
}

impl<'de> Decoder<'de> {
    pub(crate) fn new(b: &'de [u8], finite: bool) -> Self {
        Self {
            b,
            finite,
            strings: None,
        }
    }
    /// A string of the value: interned (format 4) when the decoder keeps a table.
    pub(crate) fn string(&mut self) -> Result<&'de str> {
        if self.strings.is_none() {
            return self.str();
        }
        let v = self.varint()?;
        if v & 1 == 1 {
            let n = v >> 1;
            if n > self.b.len() as u64 {
                return Err(BinError::Eof);
            }
            let s = std::str::from_utf8(self.take(n as usize)?)
                .map_err(|_| BinError::Message("invalid UTF-8".into()))?;
            if let Some(t) = self.strings.as_mut() {
                t.push(s);
            }
            Ok(s)
        } else {
            let index = usize::try_from(v >> 1).unwrap_or(usize::MAX);
            self.strings
                .as_ref()
                .and_then(|t| t.get(index).copied())
                .ok_or_else(|| BinError::Message("reference to a string not defined before".into()))
        }
    }
    pub(crate) fn take(&mut self, n: usize) -> Result<&'de [u8]> {
        if self.b.len() < n {
            return Err(BinError::Eof);
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }
    pub(crate) fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let part = u64::from(b & 0x7f);
            if shift == 63 && part > 1 {
                return Err(BinError::Message("varint overflow".into()));
            }
            v |= part << shift;
            if b & 0x80 == 0 {
                // refuse overlong encodings, so a value has exactly one encoding
                if b == 0 && shift > 0 {
                    return Err(BinError::Message("overlong varint".into()));
                }
                return Ok(v);
            }
        }
        Err(BinError::Message("varint overflow".into()))
    }
    pub(crate) fn i64(&mut self) -> Result<i64> {
        self.varint().map(unzigzag)
    }
    /// A length that must fit in the bytes left (every element takes at least one byte).
    pub(crate) fn len(&mut self) -> Result<usize> {
        let n = self.varint()?;
        if n > self.b.len() as u64 {
            return Err(BinError::Eof);
        }
        Ok(n as usize)
    }
    pub(crate) fn str(&mut self) -> Result<&'de str> {
        let n = self.len()?;
        std::str::from_utf8(self.take(n)?).map_err(|_| BinError::Message("invalid UTF-8".into()))
    }
    pub(crate) fn f64_raw(&mut self) -> Result<f64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(f64::from_bits(u64::from_le_bytes(a)))
    }
    fn f64(&mut self) -> Result<f64> {
        let v = self.f64_raw()?;
        if self.finite && !v.is_finite() {
            return Err(BinError::NonFinite(v));
        }
        Ok(v)
    }
    fn u32(&mut self) -> Result<u32> {
        u32::try_from(self.varint()?).map_err(|_| BinError::Message("integer out of range".into()))
    }
    pub(crate) fn option(&mut self) -> Result<bool> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            t => Err(BinError::Message(format!("bad option tag {t}"))),
        }
    }
}

macro_rules! de_int {
    ($m:ident, $visit:ident, $t:ty, $read:ident) => {
        fn $m<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            let v = self.$read()?;
            let v = <$t>::try_from(v).map_err(|_| BinError::Message("integer out of range".into()))?;
            visitor.$visit(v)
        }
    };
}

impl<'de> de::Deserializer<'de> for &mut Decoder<'de> {
    type Error = BinError;

    fn is_human_readable(&self) -> bool {
        false
    }
    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(BinError::Message(
            "the binary record format is not self-describing".into(),
        ))
    }
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.byte()? {
            0 => visitor.visit_bool(false),
            1 => visitor.visit_bool(true),
            t => Err(BinError::Message(format!("bad bool {t}"))),
        }
    }
    de_int!(deserialize_i8, visit_i8, i8, i64);
    de_int!(deserialize_i16, visit_i16, i16, i64);
    de_int!(deserialize_i32, visit_i32, i32, i64);
    de_int!(deserialize_i64, visit_i64, i64, i64);
    de_int!(deserialize_u8, visit_u8, u8, varint);
    de_int!(deserialize_u16, visit_u16, u16, varint);
    de_int!(deserialize_u32, visit_u32, u32, varint);
    de_int!(deserialize_u64, visit_u64, u64, varint);
    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let mut a = [0u8; 16];
        a.copy_from_slice(self.take(16)?);
        visitor.visit_i128(i128::from_le_bytes(a))
    }
    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let mut a = [0u8; 16];
        a.copy_from_slice(self.take(16)?);
        visitor.visit_u128(u128::from_le_bytes(a))
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        let v = f32::from_bits(u32::from_le_bytes(a));
        if self.finite && !v.is_finite() {
            return Err(BinError::NonFinite(f64::from(v)));
        }
        visitor.visit_f32(v)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let v = self.f64()?;
        visitor.visit_f64(v)
    }
    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let c = char::from_u32(self.u32()?).ok_or_else(|| BinError::Message("bad char".into()))?;
        visitor.visit_char(c)
    }
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let s = self.string()?;
        visitor.visit_borrowed_str(s)
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let n = self.len()?;
        let b = self.take(n)?;
        visitor.visit_borrowed_bytes(b)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.option()? {
            visitor.visit_some(self)
        } else {
            visitor.visit_none()
        }
    }
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let len = self.len()?;
        visitor.visit_seq(Counted { d: self, left: len })
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        visitor.visit_seq(Counted { d: self, left: len })
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_seq(Counted { d: self, left: len })
    }
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let len = self.len()?;
        visitor.visit_map(Counted { d: self, left: len })
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_seq(Counted {
            d: self,
            left: fields.len(),
        })
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_enum(self)
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let v = self.u32()?;
        visitor.visit_u32(v)
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(BinError::Message(
            "the binary record format cannot skip values".into(),
        ))
    }
}

struct Counted<'a, 'de> {
    d: &'a mut Decoder<'de>,
    left: usize,
}

impl<'de> de::SeqAccess<'de> for Counted<'_, 'de> {
    type Error = BinError;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.d).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'de> de::MapAccess<'de> for Counted<'_, 'de> {
    type Error = BinError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.d).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        seed.deserialize(&mut *self.d)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'de> de::EnumAccess<'de> for &mut Decoder<'de> {
    type Error = BinError;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self)> {
        let index = self.u32()?;
        let v = seed.deserialize(IntoDeserializer::<BinError>::into_deserializer(index))?;
        Ok((v, self))
    }
}

impl<'de> de::VariantAccess<'de> for &mut Decoder<'de> {
    type Error = BinError;
    fn unit_variant(self) -> Result<()> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        visitor.visit_seq(Counted { d: self, left: len })
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_seq(Counted {
            d: self,
            left: fields.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum E {
        A,
        B(i32),
        C { x: f64, y: Option<String> },
        D(u8, u8),
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct S {
        a: u64,
        b: i64,
        c: Vec<E>,
        d: std::collections::BTreeMap<String, f32>,
        e: (bool, char),
        f: u128,
    }

    fn sample() -> S {
        S {
            a: u64::MAX,
            b: i64::MIN,
            c: vec![
                E::A,
                E::B(-7),
                E::C {
                    x: -0.0,
                    y: Some("é".into()),
                },
                E::D(1, 255),
            ],
            d: [("k".to_string(), 1.5f32)].into_iter().collect(),
            e: (true, '€'),
            f: u128::MAX - 3,
        }
    }

    #[test]
    fn values_round_trip() {
        let mut out = Vec::new();
        to_writer(&sample(), &mut out, true).unwrap();
        assert_eq!(from_slice::<S>(&out, true).unwrap(), sample());
        // every strict prefix fails cleanly, and trailing bytes are refused
        for cut in 0..out.len() {
            assert!(from_slice::<S>(&out[..cut], true).is_err(), "{cut}");
        }
        out.push(0);
        assert_eq!(from_slice::<S>(&out, true), Err(BinError::Trailing(1)));
    }

    #[test]
    fn a_reused_string_cache_writes_what_a_fresh_one_does() {
        let ids: Vec<String> = (0..300).map(|i| format!("TICK{:03}", i % 150)).collect();
        let values = [
            (ids.clone(), "vix".to_string()),
            (ids[..7].to_vec(), "TICK001".to_string()),
            (Vec::new(), "TICK002".to_string()),
        ];
        let fresh: Vec<Vec<u8>> = values
            .iter()
            .map(|v| {
                let mut out = Vec::new();
                to_writer_for(FORMAT, v, &mut out, true).unwrap();
                out
            })
            .collect();
        let mut strings = Interner::new();
        // including across the wrap of the generation counter
        strings.generation = u32::MAX - 2;
        let mut out = Vec::new();
        for round in 0..3 {
            for (v, want) in values.iter().zip(&fresh) {
                // values written one after another into one buffer, as a batch does
                let at = out.len();
                to_writer_interned(v, &mut out, true, &mut strings).unwrap();
                assert_eq!(&out[at..], &want[..], "round {round}");
            }
        }
        assert!(strings.generation < 10, "{}", strings.generation);
    }

    const FORMAT: u32 = INTERNED_FROM;

    #[test]
    fn interned_strings_round_trip_and_are_written_once() {
        let ids: Vec<String> = (0..40).map(|i| format!("TICK{:02}", i % 20)).collect();
        let value = (ids.clone(), sample(), ids.clone(), String::new(), "é".repeat(3));
        let mut plain = Vec::new();
        to_writer(&value, &mut plain, true).unwrap();
        let mut out = Vec::new();
        to_writer_for(4, &value, &mut out, true).unwrap();
        assert_eq!(
            from_slice_for::<(Vec<String>, S, Vec<String>, String, String)>(4, &out, true).unwrap(),
            value
        );
        // 20 names defined once (7 bytes each), referenced 60 times (1 byte each)
        assert!(
            out.len() + 60 * 6 - 20 <= plain.len() + 8,
            "{} vs {}",
            out.len(),
            plain.len()
        );
        // formats 2 and 3 do not intern
        let mut v3 = Vec::new();
        to_writer_for(3, &value, &mut v3, true).unwrap();
        assert_eq!(v3, plain);
        for cut in 0..out.len() {
            assert!(
                from_slice_for::<(Vec<String>, S, Vec<String>, String, String)>(4, &out[..cut], true)
                    .is_err()
            );
        }
        // any single-byte change decodes or is an error (never a panic)
        for p in 0..out.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut b = out.clone();
                b[p] ^= flip;
                let _ = from_slice_for::<(Vec<String>, S, Vec<String>, String, String)>(4, &b, true);
            }
        }
        // a reference to a string not defined before is refused
        let mut bad = Vec::new();
        put_varint(&mut bad, 1);
        put_varint(&mut bad, 3 << 1);
        assert!(matches!(
            from_slice_for::<Vec<String>>(4, &bad, true),
            Err(BinError::Message(_))
        ));
        let mut bad = Vec::new();
        put_varint(&mut bad, 1);
        put_varint(&mut bad, (1 << 40) | 1);
        assert_eq!(from_slice_for::<Vec<String>>(4, &bad, true), Err(BinError::Eof));
    }

    #[test]
    fn non_finite_numbers_are_refused_when_asked() {
        let mut out = Vec::new();
        assert!(matches!(
            to_writer(&[1.0, f64::NEG_INFINITY], &mut out, true),
            Err(BinError::NonFinite(v)) if v == f64::NEG_INFINITY
        ));
        out.clear();
        to_writer(&vec![f64::INFINITY], &mut out, false).unwrap();
        assert_eq!(from_slice::<Vec<f64>>(&out, false).unwrap(), vec![f64::INFINITY]);
        assert!(matches!(
            from_slice::<Vec<f64>>(&out, true),
            Err(BinError::NonFinite(_))
        ));
    }

    #[test]
    fn varints_have_one_encoding_and_lengths_are_bounded() {
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(Decoder::new(&out, true).varint().unwrap(), v);
        }
        assert!(Decoder::new(&[0x80, 0x00], true).varint().is_err());
        assert!(Decoder::new(&[0xff; 11], true).varint().is_err());
        // a declared length beyond the data allocates nothing and fails
        let mut out = Vec::new();
        put_varint(&mut out, 1 << 40);
        assert_eq!(from_slice::<Vec<u8>>(&out, true), Err(BinError::Eof));
    }
}
