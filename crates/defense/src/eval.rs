//! Evaluation of change detectors against known change times.
