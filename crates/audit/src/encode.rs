//! How snapshots are stored: a compact binary encoding (the file store, and the content
//! address in both stores) and a lossless JSON encoding (the SQLite store, for analysts).
//!
//! Raw snapshots may hold NaN or infinite prices (the guard decides what to do with them).
//! The binary encoding keeps every float's bits. Plain JSON cannot hold them (serde_json
//! writes them as `null`), so the JSON encoding goes through a mirror of the snapshot types
//! in which every float is a JSON number when finite and a string otherwise (`"NaN"`,
//! `"inf"`, `"-inf"`, or `"f64:<hex bits>"` for a NaN with another payload), so a replay
//! sees bit-identical inputs either way.
//!
//! Format version 4 (written by this build):
//! ```text
//! snapshot   0x80 0x00 · time i64 · n quotes · quotes · n indicators · indicators
//!            · n assets · assets
//! quote      asset istr · flags u8 · dt i64 · price f64 · [volume f64] · [spread_bps f64]
//!            (flags: bit 0 volume, bit 1 spread_bps)
//! indicator  name istr · dt i64 · value f64
//! asset      id istr · flags u8 · [sector istr] · price f64 · [adv_shares f64]
//!            · [borrow_available_shares f64] · [lot_size f64] · n features · features f64…
//!            (flags: bit 0 sector, bit 1 adv_shares, bit 2 borrow_available_shares,
//!            bit 3 lot_size is 1 and not stored)
//! ```
//! `dt` is the quote's or indicator's time minus the snapshot's (wrapping), `istr` a string
//! interned within the snapshot (its first occurrence `varint(len << 1 | 1)` + UTF-8, later
//! ones `varint(index << 1)`, see the `bin` module), other flag bits must be zero. The
//! leading `0x80 0x00` (an overlong varint, which no version 2 or 3 encoding starts with)
//! tells the encodings apart, so a content address never names two different snapshots.
//!
//! Formats 2 and 3:
//! ```text
//! snapshot   time i64 · n quotes · quotes · n indicators · indicators · n assets · assets
//! quote      asset str · time i64 · price f64 · volume f64? · spread_bps f64?
//! indicator  name str · time i64 · value f64
//! asset      id str · sector str? · price f64 · adv_shares f64? · borrow_available_shares f64?
//!            · lot_size f64 · n features · features f64…
//! ```
//! (`i64` zigzag varint, `n` varint, `str` varint length + UTF-8, `f64` IEEE bits little
//! endian, `x?` a 0/1 tag then the value; see the `bin` module.)

use prudentia_core::{AssetId, AssetInfo, Indicator, MarketSnapshot, Quote, Timestamp};

use crate::bin::{put_f64, put_i64, put_str, put_varint, BinError, Decoder, Interner, INTERNED_FROM};
use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

/// A float that keeps non-finite values (and NaN payloads) through JSON.
#[derive(Debug, Clone, Copy)]
struct F(f64);

impl Serialize for F {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_finite() {
            s.serialize_f64(v)
        } else if v == f64::INFINITY {
            s.serialize_str("inf")
        } else if v == f64::NEG_INFINITY {
            s.serialize_str("-inf")
        } else if v.to_bits() == f64::NAN.to_bits() {
            s.serialize_str("NaN")
        } else {
            s.serialize_str(&format!("f64:{:016x}", v.to_bits()))
        }
    }
}

impl<'de> Deserialize<'de> for F {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = F;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a finite number or one of \"NaN\", \"inf\", \"-inf\", \"f64:<hex>\"")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<F, E> {
                if v.is_finite() {
                    Ok(F(v))
                } else {
                    Err(E::custom("non-finite number literal"))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<F, E> {
                Ok(F(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<F, E> {
                Ok(F(v as f64))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<F, E> {
                match s {
                    "inf" => Ok(F(f64::INFINITY)),
                    "-inf" => Ok(F(f64::NEG_INFINITY)),
                    "NaN" => Ok(F(f64::NAN)),
                    other => {
                        let v = other
                            .strip_prefix("f64:")
                            .filter(|h| h.len() == 16)
                            .and_then(|h| u64::from_str_radix(h, 16).ok())
                            .map(f64::from_bits)
                            .filter(|v| v.is_nan())
                            .ok_or_else(|| E::custom("bad float string"))?;
                        Ok(F(v))
                    }
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuoteRepr {
    asset: AssetId,
    time: Timestamp,
    price: F,
    volume: Option<F>,
    spread_bps: Option<F>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndicatorRepr {
    name: String,
    time: Timestamp,
    value: F,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssetRepr {
    id: AssetId,
    sector: Option<String>,
    price: F,
    adv_shares: Option<F>,
    borrow_available_shares: Option<F>,
    lot_size: F,
    features: Vec<F>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotRepr {
    time: Timestamp,
    quotes: Vec<QuoteRepr>,
    indicators: Vec<IndicatorRepr>,
    assets: Vec<AssetRepr>,
}

fn fo(v: Option<f64>) -> Option<F> {
    v.map(F)
}
fn uo(v: Option<F>) -> Option<f64> {
    v.map(|f| f.0)
}

impl From<&MarketSnapshot> for SnapshotRepr {
    fn from(s: &MarketSnapshot) -> Self {
        // exhaustive destructuring: a new field in core fails to compile here
        let MarketSnapshot {
            time,
            quotes,
            indicators,
            assets,
        } = s;
        SnapshotRepr {
            time: *time,
            quotes: quotes
                .iter()
                .map(|q| {
                    let Quote {
                        asset,
                        time,
                        price,
                        volume,
                        spread_bps,
                    } = q;
                    QuoteRepr {
                        asset: asset.clone(),
                        time: *time,
                        price: F(*price),
                        volume: fo(*volume),
                        spread_bps: fo(*spread_bps),
                    }
                })
                .collect(),
            indicators: indicators
                .iter()
                .map(|i| {
                    let Indicator { name, time, value } = i;
                    IndicatorRepr {
                        name: name.clone(),
                        time: *time,
                        value: F(*value),
                    }
                })
                .collect(),
            assets: assets
                .iter()
                .map(|a| {
                    let AssetInfo {
                        id,
                        sector,
                        price,
                        adv_shares,
                        borrow_available_shares,
                        lot_size,
                        features,
                    } = a;
                    AssetRepr {
                        id: id.clone(),
                        sector: sector.clone(),
                        price: F(*price),
                        adv_shares: fo(*adv_shares),
                        borrow_available_shares: fo(*borrow_available_shares),
                        lot_size: F(*lot_size),
                        features: features.iter().copied().map(F).collect(),
                    }
                })
                .collect(),
        }
    }
}

impl From<SnapshotRepr> for MarketSnapshot {
    fn from(s: SnapshotRepr) -> Self {
        MarketSnapshot {
            time: s.time,
            quotes: s
                .quotes
                .into_iter()
                .map(|q| Quote {
                    asset: q.asset,
                    time: q.time,
                    price: q.price.0,
                    volume: uo(q.volume),
                    spread_bps: uo(q.spread_bps),
                })
                .collect(),
            indicators: s
                .indicators
                .into_iter()
                .map(|i| Indicator {
                    name: i.name,
                    time: i.time,
                    value: i.value.0,
                })
                .collect(),
            assets: s
                .assets
                .into_iter()
                .map(|a| AssetInfo {
                    id: a.id,
                    sector: a.sector,
                    price: a.price.0,
                    adv_shares: uo(a.adv_shares),
                    borrow_available_shares: uo(a.borrow_available_shares),
                    lot_size: a.lot_size.0,
                    features: a.features.into_iter().map(|f| f.0).collect(),
                })
                .collect(),
        }
    }
}

/// Appends the lossless JSON encoding of `snapshot` to `out`.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) fn encode_snapshot_json(
    snapshot: &MarketSnapshot,
    out: &mut Vec<u8>,
) -> Result<(), serde_json::Error> {
    serde_json::to_writer(out, &SnapshotRepr::from(snapshot))
}

/// Decodes a snapshot written by [`encode_snapshot_json`].
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) fn decode_snapshot_json(bytes: &[u8]) -> Result<MarketSnapshot, serde_json::Error> {
    serde_json::from_slice::<SnapshotRepr>(bytes).map(MarketSnapshot::from)
}

fn put_opt(out: &mut Vec<u8>, v: Option<f64>) {
    match v {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            put_f64(out, v);
        }
    }
}

/// The first bytes of a snapshot encoding of format 4 and later.
const V4_PREFIX: [u8; 2] = [0x80, 0x00];

/// Appends the binary encoding of format `version` of `snapshot` to `out` (every float bit
/// for bit).
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) fn encode_snapshot_for(version: u32, s: &MarketSnapshot, out: &mut Vec<u8>) {
    if version >= INTERNED_FROM {
        encode_snapshot(s, out);
    } else {
        encode_snapshot_v2(s, out);
    }
}

/// Appends the binary encoding (format 4) of `snapshot` to `out` (every float bit for bit).
pub(crate) fn encode_snapshot(s: &MarketSnapshot, out: &mut Vec<u8>) {
    encode_snapshot_with(s, out, &mut Interner::new());
}

/// [`encode_snapshot`] with `strings` (reset here) as the string cache.
pub(crate) fn encode_snapshot_with(s: &MarketSnapshot, out: &mut Vec<u8>, strings: &mut Interner) {
    strings.reset();
    let MarketSnapshot {
        time,
        quotes,
        indicators,
        assets,
    } = s;
    let base = time.as_nanos();
    out.reserve(16 + quotes.len() * 28 + assets.len() * (24 + 8 * 4));
    out.extend_from_slice(&V4_PREFIX);
    put_i64(out, base);
    put_varint(out, quotes.len() as u64);
    for q in quotes {
        let Quote {
            asset,
            time,
            price,
            volume,
            spread_bps,
        } = q;
        strings.put(out, asset.as_str());
        out.push(u8::from(volume.is_some()) | u8::from(spread_bps.is_some()) << 1);
        put_i64(out, time.as_nanos().wrapping_sub(base));
        put_f64(out, *price);
        if let Some(v) = volume {
            put_f64(out, *v);
        }
        if let Some(v) = spread_bps {
            put_f64(out, *v);
        }
    }
    put_varint(out, indicators.len() as u64);
    for i in indicators {
        let Indicator { name, time, value } = i;
        strings.put(out, name);
        put_i64(out, time.as_nanos().wrapping_sub(base));
        put_f64(out, *value);
    }
    put_varint(out, assets.len() as u64);
    for a in assets {
        let AssetInfo {
            id,
            sector,
            price,
            adv_shares,
            borrow_available_shares,
            lot_size,
            features,
        } = a;
        strings.put(out, id.as_str());
        let unit_lot = lot_size.to_bits() == 1f64.to_bits();
        out.push(
            u8::from(sector.is_some())
                | u8::from(adv_shares.is_some()) << 1
                | u8::from(borrow_available_shares.is_some()) << 2
                | u8::from(unit_lot) << 3,
        );
        if let Some(s) = sector {
            strings.put(out, s);
        }
        put_f64(out, *price);
        for v in [adv_shares, borrow_available_shares].into_iter().flatten() {
            put_f64(out, *v);
        }
        if !unit_lot {
            put_f64(out, *lot_size);
        }
        put_varint(out, features.len() as u64);
        for f in features {
            put_f64(out, *f);
        }
    }
}

/// Decodes a snapshot of format 4 (after its prefix).
fn decode_snapshot_v4(bytes: &[u8]) -> Result<MarketSnapshot, BinError> {
    let mut d = Decoder::new(bytes, false);
    d.strings = Some(Vec::new());
    let flags = |d: &mut Decoder<'_>, allowed: u8| -> Result<u8, BinError> {
        let f = d.byte()?;
        if f & !allowed != 0 {
            return Err(BinError::Message(format!("bad flags {f:#04x}")));
        }
        Ok(f)
    };
    let opt = |d: &mut Decoder<'_>, present: bool| -> Result<Option<f64>, BinError> {
        Ok(if present { Some(d.f64_raw()?) } else { None })
    };
    let base = d.i64()?;
    let n = d.len()?;
    let mut quotes = bounded(&d, n, 11);
    for _ in 0..n {
        let asset = AssetId::new(d.string()?);
        let f = flags(&mut d, 0b11)?;
        quotes.push(Quote {
            asset,
            time: Timestamp::from_nanos(base.wrapping_add(d.i64()?)),
            price: d.f64_raw()?,
            volume: opt(&mut d, f & 1 != 0)?,
            spread_bps: opt(&mut d, f & 2 != 0)?,
        });
    }
    let n = d.len()?;
    let mut indicators = bounded(&d, n, 10);
    for _ in 0..n {
        indicators.push(Indicator {
            name: d.string()?.to_owned(),
            time: Timestamp::from_nanos(base.wrapping_add(d.i64()?)),
            value: d.f64_raw()?,
        });
    }
    let n = d.len()?;
    let mut assets = bounded(&d, n, 11);
    for _ in 0..n {
        let id = AssetId::new(d.string()?);
        let f = flags(&mut d, 0b1111)?;
        let sector = if f & 1 != 0 {
            Some(d.string()?.to_owned())
        } else {
            None
        };
        let price = d.f64_raw()?;
        let adv_shares = opt(&mut d, f & 2 != 0)?;
        let borrow_available_shares = opt(&mut d, f & 4 != 0)?;
        let lot_size = if f & 8 != 0 { 1.0 } else { d.f64_raw()? };
        let nf = d.len()?;
        let mut features = bounded(&d, nf, 8);
        for _ in 0..nf {
            features.push(d.f64_raw()?);
        }
        assets.push(AssetInfo {
            id,
            sector,
            price,
            adv_shares,
            borrow_available_shares,
            lot_size,
            features,
        });
    }
    if !d.b.is_empty() {
        return Err(BinError::Trailing(d.b.len()));
    }
    Ok(MarketSnapshot {
        time: Timestamp::from_nanos(base),
        quotes,
        indicators,
        assets,
    })
}

/// Appends the binary encoding of formats 2 and 3 of `snapshot` to `out`.
pub(crate) fn encode_snapshot_v2(s: &MarketSnapshot, out: &mut Vec<u8>) {
    let MarketSnapshot {
        time,
        quotes,
        indicators,
        assets,
    } = s;
    put_i64(out, time.as_nanos());
    put_varint(out, quotes.len() as u64);
    for q in quotes {
        let Quote {
            asset,
            time,
            price,
            volume,
            spread_bps,
        } = q;
        put_str(out, asset.as_str());
        put_i64(out, time.as_nanos());
        put_f64(out, *price);
        put_opt(out, *volume);
        put_opt(out, *spread_bps);
    }
    put_varint(out, indicators.len() as u64);
    for i in indicators {
        let Indicator { name, time, value } = i;
        put_str(out, name);
        put_i64(out, time.as_nanos());
        put_f64(out, *value);
    }
    put_varint(out, assets.len() as u64);
    for a in assets {
        let AssetInfo {
            id,
            sector,
            price,
            adv_shares,
            borrow_available_shares,
            lot_size,
            features,
        } = a;
        put_str(out, id.as_str());
        match sector {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                put_str(out, s);
            }
        }
        put_f64(out, *price);
        put_opt(out, *adv_shares);
        put_opt(out, *borrow_available_shares);
        put_f64(out, *lot_size);
        put_varint(out, features.len() as u64);
        for f in features {
            put_f64(out, *f);
        }
    }
}

/// A vector for `n` declared elements of at least `min_bytes` encoded bytes each: never more
/// capacity than the bytes left can hold.
fn bounded<T>(d: &Decoder<'_>, n: usize, min_bytes: usize) -> Vec<T> {
    Vec::with_capacity(n.min(d.b.len() / min_bytes))
}

fn get_opt(d: &mut Decoder<'_>) -> Result<Option<f64>, BinError> {
    Ok(if d.option()? { Some(d.f64_raw()?) } else { None })
}

/// Decodes a snapshot written by [`encode_snapshot`] (format 4) or [`encode_snapshot_v2`]
/// (formats 2 and 3), told apart by the format-4 prefix (all of `bytes`).
pub(crate) fn decode_snapshot(bytes: &[u8]) -> Result<MarketSnapshot, BinError> {
    match bytes.strip_prefix(&V4_PREFIX) {
        Some(rest) => decode_snapshot_v4(rest),
        None => decode_snapshot_v2(bytes),
    }
}

/// Decodes a snapshot written by [`encode_snapshot_v2`] (all of `bytes`).
fn decode_snapshot_v2(bytes: &[u8]) -> Result<MarketSnapshot, BinError> {
    let mut d = Decoder::new(bytes, false);
    let time = Timestamp::from_nanos(d.i64()?);
    let n = d.len()?;
    let mut quotes = bounded(&d, n, 12);
    for _ in 0..n {
        quotes.push(Quote {
            asset: AssetId::new(d.str()?),
            time: Timestamp::from_nanos(d.i64()?),
            price: d.f64_raw()?,
            volume: get_opt(&mut d)?,
            spread_bps: get_opt(&mut d)?,
        });
    }
    let n = d.len()?;
    let mut indicators = bounded(&d, n, 10);
    for _ in 0..n {
        indicators.push(Indicator {
            name: d.str()?.to_owned(),
            time: Timestamp::from_nanos(d.i64()?),
            value: d.f64_raw()?,
        });
    }
    let n = d.len()?;
    let mut assets = bounded(&d, n, 21);
    for _ in 0..n {
        let id = AssetId::new(d.str()?);
        let sector = if d.option()? {
            Some(d.str()?.to_owned())
        } else {
            None
        };
        let price = d.f64_raw()?;
        let adv_shares = get_opt(&mut d)?;
        let borrow_available_shares = get_opt(&mut d)?;
        let lot_size = d.f64_raw()?;
        let nf = d.len()?;
        let mut features = bounded(&d, nf, 8);
        for _ in 0..nf {
            features.push(d.f64_raw()?);
        }
        assets.push(AssetInfo {
            id,
            sector,
            price,
            adv_shares,
            borrow_available_shares,
            lot_size,
            features,
        });
    }
    if !d.b.is_empty() {
        return Err(BinError::Trailing(d.b.len()));
    }
    Ok(MarketSnapshot {
        time,
        quotes,
        indicators,
        assets,
    })
}

/// The binary encoding of a snapshot, as stored and content-addressed (SHA-256 of these
/// bytes) by the log. It cannot fail (the `Result` is kept for callers of earlier versions,
/// whose encoding was JSON).
pub fn snapshot_bytes(snapshot: &MarketSnapshot) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::new();
    encode_snapshot(snapshot, &mut out);
    Ok(out)
}

/// The lossless JSON encoding of a snapshot (what the SQLite store keeps; non-finite floats
/// as strings, see the module docs), for export to tools that read JSON.
pub fn snapshot_json(snapshot: &MarketSnapshot) -> Result<String, serde_json::Error> {
    serde_json::to_string(&SnapshotRepr::from(snapshot))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap() -> MarketSnapshot {
        let t = Timestamp::from_nanos(5);
        MarketSnapshot {
            time: t,
            quotes: vec![
                Quote {
                    asset: "A".into(),
                    time: t,
                    price: f64::NAN,
                    volume: Some(f64::INFINITY),
                    spread_bps: None,
                },
                Quote {
                    asset: "B".into(),
                    time: t,
                    price: f64::from_bits(0x7ff8_0000_0000_0042),
                    volume: Some(f64::NEG_INFINITY),
                    spread_bps: Some(1.5),
                },
            ],
            indicators: vec![Indicator {
                name: "vix".into(),
                time: t,
                value: 5e-324,
            }],
            assets: vec![AssetInfo {
                features: vec![f64::MAX, -0.0, f64::NAN],
                ..AssetInfo::new("A", 1e300).unwrap()
            }],
        }
    }

    #[test]
    fn snapshots_round_trip_bit_for_bit() {
        let s = snap();
        let bytes = snapshot_bytes(&s).unwrap();
        let back = decode_snapshot(&bytes).unwrap();
        // same encoding again means the same bits (NaN != NaN, so compare encodings and bits)
        assert_eq!(snapshot_bytes(&back).unwrap(), bytes);
        assert_eq!(back.quotes[1].price.to_bits(), 0x7ff8_0000_0000_0042);
        assert_eq!(back.assets[0].features[1].to_bits(), (-0.0f64).to_bits());
        assert_eq!(back.indicators[0].value, 5e-324);
    }

    #[test]
    fn both_binary_encodings_round_trip_and_are_told_apart() {
        let mut s = snap();
        s.assets.push(AssetInfo {
            sector: Some("tech".into()),
            adv_shares: Some(1e6),
            borrow_available_shares: Some(f64::NAN),
            lot_size: 100.0,
            ..AssetInfo::new("B", 2.0).unwrap()
        });
        s.assets.push(AssetInfo {
            sector: Some("tech".into()),
            ..AssetInfo::new("A", 3.0).unwrap()
        });
        s.quotes[0].time = Timestamp::from_nanos(i64::MIN);
        s.indicators[0].time = Timestamp::from_nanos(i64::MAX);
        let mut v2 = Vec::new();
        encode_snapshot_v2(&s, &mut v2);
        let mut v4 = Vec::new();
        encode_snapshot(&s, &mut v4);
        assert_eq!(v4[..2], V4_PREFIX);
        assert!(v4.len() < v2.len(), "{} vs {}", v4.len(), v2.len());
        for bytes in [&v2, &v4] {
            let back = decode_snapshot(bytes).unwrap();
            let mut again = Vec::new();
            encode_snapshot_v2(&back, &mut again);
            assert_eq!(again, v2);
            assert_eq!(back.assets[1].lot_size, 100.0);
            assert_eq!(back.assets[2].sector.as_deref(), Some("tech"));
        }
        // the format-4 prefix is never the start of a format-2 encoding
        assert!(decode_snapshot_v2(&v4).is_err());
        // unknown flag bits are refused
        let mut bad = v4.clone();
        let at = 2 + 1 + 1 + 2; // prefix, time 5, one quote, "A" defined
        assert_eq!(bad[at], 0b01);
        bad[at] |= 0x10;
        assert!(decode_snapshot(&bad).is_err());
    }

    #[test]
    fn every_single_byte_change_of_a_format_4_snapshot_decodes_or_is_an_error() {
        let mut s = snap();
        s.assets.push(AssetInfo {
            sector: Some("tech".into()),
            adv_shares: Some(1e6),
            ..AssetInfo::new("A", 2.0).unwrap()
        });
        let mut v4 = Vec::new();
        encode_snapshot(&s, &mut v4);
        let mut changed = 0;
        for p in 0..v4.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut b = v4.clone();
                b[p] ^= flip;
                // no panic, and what decodes encodes back to a snapshot that decodes again
                if let Ok(back) = decode_snapshot(&b) {
                    let mut again = Vec::new();
                    encode_snapshot(&back, &mut again);
                    assert!(decode_snapshot(&again).is_ok(), "byte {p} ^ {flip:#x}");
                }
                changed += 1;
            }
        }
        assert!(changed > 200, "{changed}");
    }

    #[test]
    fn snapshots_round_trip_bit_for_bit_through_json() {
        let s = snap();
        let mut json = Vec::new();
        encode_snapshot_json(&s, &mut json).unwrap();
        assert_eq!(snapshot_json(&s).unwrap().as_bytes(), &json[..]);
        let back = decode_snapshot_json(&json).unwrap();
        assert_eq!(snapshot_bytes(&back).unwrap(), snapshot_bytes(&s).unwrap());
    }

    #[test]
    fn damaged_binary_snapshots_are_errors() {
        let bytes = snapshot_bytes(&snap()).unwrap();
        for cut in 0..bytes.len() {
            assert!(decode_snapshot(&bytes[..cut]).is_err(), "{cut}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode_snapshot(&long).is_err());
        // a huge declared count allocates nothing
        let mut huge = Vec::new();
        put_i64(&mut huge, 5);
        put_varint(&mut huge, u64::MAX);
        assert!(decode_snapshot(&huge).is_err());
    }

    #[test]
    fn bad_float_strings_are_refused() {
        for bad in [r#""nan""#, r#""f64:0000000000000001""#, r#""f64:zz""#, "null"] {
            assert!(serde_json::from_str::<F>(bad).is_err(), "{bad}");
        }
    }
}
