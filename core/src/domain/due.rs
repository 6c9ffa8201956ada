//! Due dates. A client gives a due date as a calendar date (all day), a local wall-clock date-time in the
//! user's zone, or an RFC 3339 instant. We store the UTC instant plus whether it is all-day, and derive
//! everything the user sees ("due today", "overdue", the local date) in the user's zone.

use crate::error::Invalid;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};
use serde::{Deserialize, Serialize};

/// A due date resolved against the user's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The instant the task is due. For an all-day task: the last millisecond of that local day, so a task
    /// due "today" becomes overdue only when the user's day ends.
    pub at: Timestamp,
    pub all_day: bool,
    /// The wall-clock time the due date was given as, when that time does not exist in the zone (a DST gap):
    /// the instant moved past the gap, but a series started from it keeps the time the user asked for.
    wall: Option<DateTime>,
}

/// How a due date is shown: local date and time in the user's zone plus the UTC instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DueView {
    /// Local calendar date in the user's time zone.
    #[schema(value_type = String, format = Date, example = "2026-11-23")]
    pub date: Date,
    /// Local wall-clock time, absent for all-day tasks.
    #[schema(value_type = Option<String>, example = "09:30:00")]
    pub time: Option<Time>,
    pub all_day: bool,
    /// The due instant in UTC.
    #[schema(value_type = String, format = DateTime, example = "2026-11-23T08:30:00Z")]
    pub at: Timestamp,
    /// The zone the local date and time are expressed in.
    pub time_zone: String,
}

impl Due {
    /// Parse `YYYY-MM-DD` (all day), `YYYY-MM-DDTHH:MM[:SS]` (local time in `tz`) or an RFC 3339 instant.
    pub fn parse(input: &str, tz: &TimeZone, field: &'static str) -> Result<Due, Invalid> {
        let input = input.trim();
        let bad = || {
            Invalid::new(
                "invalid_due",
                field,
                format!(
                    "{input:?} is not a due date; use YYYY-MM-DD (all day), YYYY-MM-DDTHH:MM (your local time) \
                     or an RFC 3339 timestamp with offset"
                ),
            )
        };
        if input.len() == 10 {
            let date: Date = input.parse().map_err(|_| bad())?;
            return Ok(Due::all_day(date, tz));
        }
        if let Ok(ts) = input.parse::<Timestamp>() {
            return Ok(Due {
                at: ts,
                all_day: false,
                wall: None,
            });
        }
        let local: DateTime = input.parse().map_err(|_| bad())?;
        Ok(Due::local(local, tz))
    }

    pub fn all_day(date: Date, tz: &TimeZone) -> Due {
        let end = date.to_datetime(Time::MAX);
        let at = tz
            .to_ambiguous_zoned(end)
            .later()
            .map(|z| z.timestamp())
            .unwrap_or(Timestamp::MAX);
        Due {
            at: truncate_ms(at),
            all_day: true,
            wall: None,
        }
    }

    /// A wall-clock time in `tz`. In a DST gap the time moves forward by the gap's length; in a fold the
    /// earlier of the two instants is taken (RFC 5545's rule, and what calendar apps do).
    pub fn local(dt: DateTime, tz: &TimeZone) -> Due {
        let at = truncate_ms(resolve(dt, tz));
        Due {
            at,
            all_day: false,
            wall: (at.to_zoned(tz.clone()).datetime() != dt).then_some(dt),
        }
    }

    pub fn from_stored(at_ms: i64, all_day: bool) -> Due {
        Due {
            at: Timestamp::from_millisecond(at_ms).unwrap_or(Timestamp::UNIX_EPOCH),
            all_day,
            wall: None,
        }
    }

    pub fn at_ms(&self) -> i64 {
        self.at.as_millisecond()
    }

    pub fn zoned(&self, tz: &TimeZone) -> Zoned {
        self.at.to_zoned(tz.clone())
    }

    /// The local calendar date in `tz`.
    pub fn local_date(&self, tz: &TimeZone) -> Date {
        self.zoned(tz).date()
    }

    /// The local date-time (wall clock) in `tz`; for all-day tasks the time part is meaningless. A due date
    /// given as a wall time inside a DST gap answers that wall time (02:30, not the 03:30 it resolved to), so a
    /// series anchored on it keeps 02:30 on every other day, as RFC 5545 §3.3.10 has it.
    pub fn local_datetime(&self, tz: &TimeZone) -> DateTime {
        match self.wall {
            Some(wall) if truncate_ms(resolve(wall, tz)) == self.at => wall,
            _ => self.zoned(tz).datetime(),
        }
    }

    pub fn view(&self, tz: &TimeZone) -> DueView {
        let z = self.zoned(tz);
        DueView {
            date: z.date(),
            time: (!self.all_day).then(|| z.time()),
            all_day: self.all_day,
            at: self.at,
            time_zone: tz.iana_name().unwrap_or("UTC").to_owned(),
        }
    }

    /// Re-anchor after the user changed zone: an all-day task keeps its calendar date, a timed one its instant.
    pub fn rezone(&self, old: &TimeZone, new: &TimeZone) -> Due {
        if self.all_day {
            Due::all_day(self.local_date(old), new)
        } else {
            *self
        }
    }

    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.at < now
    }

    pub fn is_due_today(&self, now: Timestamp, tz: &TimeZone) -> bool {
        let (start, end) = local_day_bounds(now.to_zoned(tz.clone()).date(), tz);
        self.at >= start && self.at < end
    }
}

/// `[start, end)` of a local calendar day as UTC instants (a DST day is 23 or 25 hours long).
pub fn local_day_bounds(date: Date, tz: &TimeZone) -> (Timestamp, Timestamp) {
    let start = tz
        .to_ambiguous_zoned(date.to_datetime(Time::midnight()))
        .compatible();
    let next = date.checked_add(1.day()).unwrap_or(date);
    let end = tz
        .to_ambiguous_zoned(next.to_datetime(Time::midnight()))
        .compatible();
    match (start, end) {
        (Ok(s), Ok(e)) => (s.timestamp(), e.timestamp()),
        _ => (Timestamp::MIN, Timestamp::MAX),
    }
}

/// Parse a bound for a due-range filter: a date means the start of that local day.
pub fn parse_bound(input: &str, tz: &TimeZone, field: &'static str) -> Result<Timestamp, Invalid> {
    let input = input.trim();
    if input.len() == 10 {
        let date: Date = input.parse().map_err(|_| {
            Invalid::new(
                "invalid_date",
                field,
                format!("{input:?} is not a date (YYYY-MM-DD)"),
            )
        })?;
        return Ok(local_day_bounds(date, tz).0);
    }
    Due::parse(input, tz, field).map(|d| d.at)
}

/// The instant of a wall time in `tz`: in a gap the offset before it (so 02:30 becomes 03:30), in a fold the
/// earlier instant — RFC 5545 §3.3.5's reading of a local time, which jiff calls "compatible".
pub fn resolve(dt: DateTime, tz: &TimeZone) -> Timestamp {
    tz.to_ambiguous_zoned(dt)
        .compatible()
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::MAX)
}

fn truncate_ms(ts: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(ts.as_millisecond()).unwrap_or(ts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    /// An all-day due date is the end of the user's local day, in the user's zone, not UTC.
    #[test]
    fn all_day_is_end_of_local_day() {
        let d = Due::parse("2026-03-10", &tz("America/New_York"), "due").unwrap();
        assert!(d.all_day);
        assert_eq!(d.at.to_string(), "2026-03-11T03:59:59.999Z");
        assert_eq!(d.local_date(&tz("America/New_York")), date(2026, 3, 10));
        let tokyo = Due::parse("2026-03-10", &tz("Asia/Tokyo"), "due").unwrap();
        assert_eq!(tokyo.at.to_string(), "2026-03-10T14:59:59.999Z");
    }

    /// A local date-time is read in the user's zone; an RFC 3339 instant is taken as given.
    #[test]
    fn local_and_instant_inputs() {
        let berlin = tz("Europe/Berlin");
        let d = Due::parse("2026-07-01T09:30", &berlin, "due").unwrap();
        assert_eq!(d.at.to_string(), "2026-07-01T07:30:00Z");
        assert!(!d.all_day);
        let i = Due::parse("2026-07-01T09:30:00+02:00", &tz("Asia/Tokyo"), "due").unwrap();
        assert_eq!(i.at.to_string(), "2026-07-01T07:30:00Z");
        let v = i.view(&tz("Asia/Tokyo"));
        assert_eq!(v.time.unwrap().to_string(), "16:30:00");
        assert_eq!(v.time_zone, "Asia/Tokyo");
    }

    /// A wall time inside the spring-forward gap moves forward; a time in the autumn fold takes the first.
    #[test]
    fn dst_gap_and_fold() {
        let ny = tz("America/New_York");
        let gap = Due::parse("2026-03-08T02:30", &ny, "due").unwrap();
        assert_eq!(gap.zoned(&ny).time().to_string(), "03:30:00");
        let fold = Due::parse("2026-11-01T01:30", &ny, "due").unwrap();
        assert_eq!(
            fold.at.to_string(),
            "2026-11-01T05:30:00Z",
            "EDT (-4), the earlier instant"
        );
    }

    /// A wall time in the gap is due after the gap, but remembers the time asked for (what a series keeps);
    /// read back from storage, or in another zone, it is the instant's local time.
    #[test]
    fn gap_time_remembers_the_wall_time_asked_for() {
        let berlin = tz("Europe/Berlin");
        let d = Due::parse("2026-03-29T02:30", &berlin, "due").unwrap();
        assert_eq!(d.at.to_string(), "2026-03-29T01:30:00Z");
        assert_eq!(d.view(&berlin).time.unwrap().to_string(), "03:30:00");
        assert_eq!(d.local_datetime(&berlin).to_string(), "2026-03-29T02:30:00");
        let stored = Due::from_stored(d.at_ms(), false);
        assert_eq!(
            stored.local_datetime(&berlin).to_string(),
            "2026-03-29T03:30:00"
        );
        assert_eq!(
            d.local_datetime(&TimeZone::UTC).to_string(),
            "2026-03-29T01:30:00"
        );
        let plain = Due::parse("2026-03-30T02:30", &berlin, "due").unwrap();
        assert_eq!(plain, Due::from_stored(plain.at_ms(), false));
    }

    /// Malformed inputs name the field.
    #[test]
    fn rejects_garbage() {
        for bad in [
            "tomorrow",
            "2026-13-01",
            "2026-02-30",
            "2026-02-01T25:00",
            "",
        ] {
            let e = Due::parse(bad, &TimeZone::UTC, "due").unwrap_err();
            assert_eq!(e.code, "invalid_due", "{bad}");
            assert_eq!(e.field.as_deref(), Some("due"));
        }
    }

    /// "Due today" and "overdue" are judged in the user's zone: 23:00 UTC is already tomorrow in Tokyo.
    #[test]
    fn today_and_overdue_in_user_zone() {
        let now: Timestamp = "2026-05-05T23:00:00Z".parse().unwrap();
        let tokyo = tz("Asia/Tokyo");
        let la = tz("America/Los_Angeles");
        let may6 = Due::all_day(date(2026, 5, 6), &tokyo);
        assert!(may6.is_due_today(now, &tokyo));
        assert!(!may6.is_overdue(now));
        let may5_la = Due::all_day(date(2026, 5, 5), &la);
        assert!(may5_la.is_due_today(now, &la));
        assert!(!may5_la.is_overdue(now), "LA's May 5 has not ended yet");
        let may5_tokyo = Due::all_day(date(2026, 5, 5), &tokyo);
        assert!(may5_tokyo.is_overdue(now), "Tokyo's May 5 is over");
    }

    /// The day a DST change happens is 23 hours long; the bounds say so.
    #[test]
    fn day_bounds_follow_dst() {
        let (s, e) = local_day_bounds(date(2026, 3, 29), &tz("Europe/London"));
        assert_eq!(e.duration_since(s).as_hours(), 23);
        let (s, e) = local_day_bounds(date(2026, 10, 25), &tz("Europe/London"));
        assert_eq!(e.duration_since(s).as_hours(), 25);
    }

    /// Changing zone keeps an all-day task on its calendar date and a timed task on its instant.
    #[test]
    fn rezone_keeps_meaning() {
        let (ny, tokyo) = (tz("America/New_York"), tz("Asia/Tokyo"));
        let all_day = Due::all_day(date(2026, 1, 15), &ny);
        assert_eq!(
            all_day.rezone(&ny, &tokyo).local_date(&tokyo),
            date(2026, 1, 15)
        );
        let timed = Due::parse("2026-01-15T10:00", &ny, "due").unwrap();
        assert_eq!(timed.rezone(&ny, &tokyo).at, timed.at);
    }

    /// Range bounds given as dates start at local midnight.
    #[test]
    fn bounds_parse() {
        let t = parse_bound("2026-06-01", &tz("Europe/Paris"), "due_after").unwrap();
        assert_eq!(t.to_string(), "2026-05-31T22:00:00Z");
        assert!(parse_bound("June", &TimeZone::UTC, "due_after").is_err());
    }
}
