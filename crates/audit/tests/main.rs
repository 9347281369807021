//! Integration tests of prudentia-audit.
