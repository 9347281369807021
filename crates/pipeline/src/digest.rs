//! SHA-256 digests for audit records: the content address of a snapshot and the model hash.
//!
//! The model hash of a decision is the SHA-256 of the pipeline configuration and of the
//! serialized state of every registered [`ModelState`] source (in registration order, each
//! framed by its name and length), taken at decision time: retraining, a changed
//! calibration or another configuration changes the hash. The chain hash that makes the log
//! tamper-evident is the audit store's, not the pipeline's.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::shared::Shared;

/// Lowercase hex SHA-256 of `bytes` (64 digits).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex SHA-256 of the JSON serialization of `value`: the same digest as
/// `sha256_hex(&serde_json::to_vec(value)?)`, with the JSON streamed through a small buffer
/// into the hasher instead of being built in memory (a snapshot of a few thousand quotes and
/// indicators is a few hundred kilobytes of JSON).
pub fn sha256_json_hex<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let mut w = std::io::BufWriter::with_capacity(8 * 1024, HashWriter(Sha256::new()));
    serde_json::to_writer(&mut w, value)?;
    let HashWriter(h) = w
        .into_inner()
        .map_err(|e| serde_json::Error::io(e.into_error()))?;
    Ok(hex(&h.finalize()))
}

/// An `io::Write` that feeds a SHA-256 hasher (it never fails).
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// A source of model state for the model hash of audit records (a stage, a learner, a
/// fitted model). Registered with [`PipelineBuilder::model_state`](crate::PipelineBuilder::model_state).
pub trait ModelState: Send {
    /// Appends the current serialized state to `out`.
    fn write_state(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error>;
}

impl<T: Serialize + Send> ModelState for Shared<T> {
    fn write_state(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        serde_json::to_writer(out, &*self.lock())
    }
}

/// A fixed value (a fitted model that never changes after construction).
#[derive(Debug, Clone)]
pub struct FixedState<T>(pub T);

impl<T: Serialize + Send> ModelState for FixedState<T> {
    fn write_state(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        serde_json::to_writer(out, &self.0)
    }
}

/// Incremental model hash: `SHA-256(Σ name_len ‖ name ‖ state_len ‖ state)`.
pub(crate) struct ModelHasher {
    hasher: Sha256,
    scratch: Vec<u8>,
}

impl ModelHasher {
    pub(crate) fn new() -> Self {
        Self {
            hasher: Sha256::new(),
            scratch: Vec::new(),
        }
    }

    pub(crate) fn part(
        &mut self,
        name: &str,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), serde_json::Error>,
    ) -> Result<(), serde_json::Error> {
        self.scratch.clear();
        write(&mut self.scratch)?;
        self.hasher.update((name.len() as u64).to_le_bytes());
        self.hasher.update(name.as_bytes());
        self.hasher.update((self.scratch.len() as u64).to_le_bytes());
        self.hasher.update(&self.scratch);
        Ok(())
    }

    pub(crate) fn finish(self) -> String {
        hex(&self.hasher.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // FIPS 180-2 test vectors.
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn streamed_json_digest_equals_the_digest_of_the_json_bytes() {
        // long enough to cross the stream buffer several times
        let v: Vec<(String, f64)> = (0..5_000)
            .map(|i| (format!("asset-{i}"), i as f64 * 0.37))
            .collect();
        assert_eq!(
            sha256_json_hex(&v).unwrap(),
            sha256_hex(&serde_json::to_vec(&v).unwrap())
        );
        assert_eq!(sha256_json_hex(&()).unwrap(), sha256_hex(b"null"));
    }

    #[test]
    fn model_hash_changes_with_state_and_name() {
        let h = |name: &str, v: f64| {
            let mut m = ModelHasher::new();
            m.part(name, |out| serde_json::to_writer(out, &v)).unwrap();
            m.finish()
        };
        assert_eq!(h("a", 1.0), h("a", 1.0));
        assert_ne!(h("a", 1.0), h("a", 1.5));
        assert_ne!(h("a", 1.0), h("b", 1.0));
    }
}
