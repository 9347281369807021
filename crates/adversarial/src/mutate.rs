//! Single-field mutations of a JSON checkpoint.
//!
//! Every leaf is replaced by each of a fixed set of bad values (0, −1, 2⁴⁰, `u64::MAX`,
//! ±1e308, 5e-324, 1.5, `null` — JSON's rendering of NaN — a flipped bool, an empty or odd
//! string); every array is emptied, shortened by one and lengthened by one; every object
//! loses each key in turn. Long arrays are entered at their first, middle and last element
//! only, and at most [`MAX_MUTATIONS`] mutations are made (spread evenly over the list).

use serde_json::{Number, Value};

/// The most mutations made of one checkpoint.
pub const MAX_MUTATIONS: usize = 1500;

fn bad_numbers() -> Vec<Value> {
    let mut v: Vec<Value> = vec![
        Value::from(0),
        Value::from(-1),
        Value::from(1u64 << 40),
        Value::from(u64::MAX),
        Value::Null,
    ];
    for x in [1e308, -1e308, 5e-324, 1.5, -1e-300] {
        if let Some(n) = Number::from_f64(x) {
            v.push(Value::Number(n));
        }
    }
    v
}

fn path_get_mut<'a>(root: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    let mut cur = root;
    for s in path {
        cur = match s {
            Seg::Key(k) => cur.get_mut(k.as_str())?,
            Seg::Idx(i) => cur.get_mut(*i)?,
        };
    }
    Some(cur)
}

#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Idx(usize),
}

fn show(path: &[Seg]) -> String {
    let mut s = String::new();
    for p in path {
        match p {
            Seg::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Seg::Idx(i) => s.push_str(&format!("[{i}]")),
        }
    }
    if s.is_empty() {
        "<root>".into()
    } else {
        s
    }
}

enum Edit {
    Replace(Value),
    Pop,
    PushLast,
    Empty,
    Remove(String),
}

/// A place to mutate: its path and the function listing its edits.
type Place = (Vec<Seg>, fn(&Value) -> Vec<(String, Edit)>);

fn collect(v: &Value, path: &mut Vec<Seg>, out: &mut Vec<Place>) {
    match v {
        Value::Array(a) => {
            out.push((path.clone(), array_edits));
            let n = a.len();
            let mut idx = vec![0, n / 2, n.saturating_sub(1)];
            idx.sort_unstable();
            idx.dedup();
            for i in idx.into_iter().filter(|&i| i < n) {
                path.push(Seg::Idx(i));
                collect(&a[i], path, out);
                path.pop();
            }
        }
        Value::Object(m) => {
            out.push((path.clone(), object_edits));
            for (k, child) in m {
                path.push(Seg::Key(k.clone()));
                collect(child, path, out);
                path.pop();
            }
        }
        _ => out.push((path.clone(), leaf_edits)),
    }
}

fn leaf_edits(v: &Value) -> Vec<(String, Edit)> {
    let mut e: Vec<(String, Edit)> = bad_numbers()
        .into_iter()
        .map(|b| (format!("= {b}"), Edit::Replace(b)))
        .collect();
    match v {
        Value::Bool(b) => e.push((format!("= {}", !b), Edit::Replace(Value::Bool(!b)))),
        Value::String(_) => {
            e.push(("= \"\"".into(), Edit::Replace(Value::String(String::new()))));
            e.push((
                "= \"\\u0000?\"".into(),
                Edit::Replace(Value::String("\u{0}?".into())),
            ));
        }
        _ => {}
    }
    e
}

fn array_edits(v: &Value) -> Vec<(String, Edit)> {
    let mut e = vec![
        ("emptied".to_string(), Edit::Empty),
        ("lengthened by one".to_string(), Edit::PushLast),
    ];
    if v.as_array().is_some_and(|a| !a.is_empty()) {
        e.push(("shortened by one".into(), Edit::Pop));
    }
    e
}

fn object_edits(v: &Value) -> Vec<(String, Edit)> {
    v.as_object()
        .map(|m| {
            m.keys()
                .map(|k| (format!("without `{k}`"), Edit::Remove(k.clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// Every single mutation of `checkpoint` as (description, JSON text), at most
/// [`MAX_MUTATIONS`], deterministic.
pub fn mutations(checkpoint: &Value) -> Vec<(String, String)> {
    let mut places = Vec::new();
    collect(checkpoint, &mut Vec::new(), &mut places);
    let mut planned: Vec<(Vec<Seg>, String, Edit)> = Vec::new();
    for (path, edits) in places {
        let Some(target) = path_get_mut(&mut checkpoint.clone(), &path).map(|v| v.clone()) else {
            continue;
        };
        for (what, edit) in edits(&target) {
            planned.push((path.clone(), what, edit));
        }
    }
    let step = planned.len().div_ceil(MAX_MUTATIONS).max(1);
    planned
        .into_iter()
        .step_by(step)
        .filter_map(|(path, what, edit)| {
            let mut doc = checkpoint.clone();
            let target = path_get_mut(&mut doc, &path)?;
            match edit {
                Edit::Replace(v) => *target = v,
                Edit::Empty => *target = Value::Array(Vec::new()),
                Edit::Pop => {
                    target.as_array_mut()?.pop();
                }
                Edit::PushLast => {
                    let a = target.as_array_mut()?;
                    let last = a.last().cloned().unwrap_or(Value::from(0));
                    a.push(last);
                }
                Edit::Remove(k) => {
                    target.as_object_mut()?.remove(&k);
                }
            }
            Some((format!("{} {}", show(&path), what), doc.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_leaf_array_and_key_is_mutated() {
        let v: Value = serde_json::json!({"window": 3, "xs": [1.0, 2.0], "on": true});
        let m = mutations(&v);
        assert!(m
            .iter()
            .any(|(w, t)| w == ".window = 0" && t.contains("\"window\":0")));
        assert!(m.iter().any(|(w, _)| w == ".xs emptied"));
        assert!(m.iter().any(|(w, _)| w == ".xs[1] = null"));
        assert!(m.iter().any(|(w, _)| w == "<root> without `on`"));
        assert!(m.iter().any(|(w, _)| w == ".on = false"));
        // deterministic
        assert_eq!(m, mutations(&v));
    }
}
