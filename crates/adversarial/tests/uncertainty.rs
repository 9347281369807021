//! prudentia-uncertainty under bad input (filled by the #22 work on this crate).
