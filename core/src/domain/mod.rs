//! The pure domain: no I/O, no clock reads (the caller passes `now`), exhaustively unit-tested.

pub mod due;
pub mod filter;
pub mod ical;
pub mod quick_add;
pub mod recurrence;
pub mod reminder;
pub mod task;
pub mod time_zone;
