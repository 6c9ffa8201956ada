//! TodoPlatform's shared core: the pure domain (tasks, due dates, recurrence, filters), the request and
//! response model, the event contract, and the store (SQLite and PostgreSQL behind one API).
#![forbid(unsafe_code)]

pub mod domain;
pub mod error;
pub mod events;
pub mod model;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Invalid, StoreError, StoreResult};
pub use store::Store;
