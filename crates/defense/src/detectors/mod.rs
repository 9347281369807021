//! Streaming change detectors for single series.
