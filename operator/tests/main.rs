//! The operator's integration tests, in one binary (each module was a binary of its own: eleven links of
//! the operator and its dependencies for every change, the largest part of a CI build's time and disk).

mod common;
#[allow(dead_code)] // restarting the broker is for the pipeline suite
mod kafka_broker;
mod support;

mod builders;
mod chart;
mod cli;
mod contract;
mod controller;
mod crd;
mod docs;
mod monitoring;
mod packaging;
mod release;
mod render;
mod runtime;
mod status;
mod topics;
