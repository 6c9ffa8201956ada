//! Test support shared by several test binaries.

#![allow(dead_code)] // each test binary uses a different subset of the fake API server

pub mod fake_apiserver;
