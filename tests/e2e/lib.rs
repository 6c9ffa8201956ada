//! The end-to-end suite lives in `main.rs` (a test target with its own harness); see there.
