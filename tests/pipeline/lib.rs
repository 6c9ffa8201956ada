//! What the operator renders for a TodoPlatform, run as processes on one machine: each app beside its own
//! daprd in standalone mode. See [`standalone`].

pub mod standalone;
