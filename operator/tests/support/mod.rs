//! Test support shared by several test binaries.

pub mod fake_apiserver;
