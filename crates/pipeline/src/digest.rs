//! A small, dependency-free content digest for audit records.

/// 64-bit FNV-1a of `bytes`, as 16 lowercase hex digits.
///
/// Used for the pipeline's own input digests and record chaining when no audit crate is
/// attached. It detects accidental changes, not deliberate tampering (it is not a
/// cryptographic hash); the audit crate is where tamper evidence belongs.
pub fn fnv1a_hex(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // Reference values of FNV-1a 64 (Fowler–Noll–Vo test vectors).
        assert_eq!(fnv1a_hex(b""), "cbf29ce484222325");
        assert_eq!(fnv1a_hex(b"a"), "af63dc4c8601ec8c");
        assert_eq!(fnv1a_hex(b"foobar"), "85944171f73967e8");
    }
}
