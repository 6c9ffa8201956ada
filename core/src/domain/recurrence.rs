//! Recurrence rules: a subset of RFC 5545 RRULE that covers what todo users ask for, evaluated on local
//! wall-clock time in the user's zone (so "every day at 09:00" stays 09:00 across DST changes).
//!
//! Deliberate difference from RFC 5545: a monthly/yearly rule on a day the month lacks (the 31st, Feb 29)
//! is clamped to the month's last day instead of skipping the month — "monthly on the 31st" means
//! "the end of every month" to a person paying rent.

use crate::domain::due::resolve;
use crate::error::Invalid;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

pub const MAX_INTERVAL: u16 = 1000;
pub const MAX_COUNT: u32 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

/// What the next occurrence is measured from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// The series' own schedule (the due date): completing late does not shift later occurrences.
    #[default]
    Due,
    /// The completion date: "water the plants 3 days after I last did".
    Completion,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// "The last Friday" (`nth: -1`) or "the second Tuesday" (`nth: 2`) of a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NthWeekday {
    /// 1..=5 from the start of the month, -1..=-5 from its end.
    pub nth: i8,
    pub weekday: Day,
}

/// The end of a series (RRULE `UNTIL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Until {
    /// No occurrence on a later local date (in the user's zone); written `2027-01-15`, `UNTIL=20270115`.
    Date(Date),
    /// No occurrence after this instant; written as RFC 3339, `UNTIL=20270115T090000Z`.
    Instant(Timestamp),
}

impl Until {
    /// Whether an occurrence at local wall time `local` in `tz` is inside the series.
    pub fn allows(&self, local: DateTime, tz: &TimeZone) -> bool {
        match self {
            Until::Date(d) => local.date() <= *d,
            Until::Instant(t) => resolve(local, tz) <= *t,
        }
    }

    fn rrule_value(&self) -> String {
        match self {
            Until::Date(d) => d.strftime("%Y%m%d").to_string(),
            Until::Instant(t) => t.strftime("%Y%m%dT%H%M%SZ").to_string(),
        }
    }

    /// RFC 5545 allows a DATE or a UTC DATE-TIME here (a floating local time is not valid with a zoned start).
    fn parse_rrule_value(v: &str) -> Option<Until> {
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !v.is_ascii() {
            return None;
        }
        match v.len() {
            8 if digits(v) => Date::strptime("%Y%m%d", v).ok().map(Until::Date),
            16 if digits(&v[..8])
                && &v[8..9] == "T"
                && digits(&v[9..15])
                && v[15..].eq_ignore_ascii_case("Z") =>
            {
                let utc = DateTime::strptime("%Y%m%dT%H%M%S", &v[..15]).ok()?;
                utc.to_zoned(TimeZone::UTC)
                    .ok()
                    .map(|z| Until::Instant(z.timestamp()))
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for Until {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Until::Date(d) => d.fmt(f),
            Until::Instant(t) => t.fmt(f),
        }
    }
}

impl From<Until> for String {
    fn from(u: Until) -> String {
        u.to_string()
    }
}

impl TryFrom<String> for Until {
    type Error = String;

    fn try_from(s: String) -> Result<Until, String> {
        if let Ok(t) = s.parse::<Timestamp>() {
            return Ok(Until::Instant(t));
        }
        s.parse::<Date>().map(Until::Date).map_err(|_| {
            format!("{s:?} is not a date (YYYY-MM-DD) or an RFC 3339 instant with offset")
        })
    }
}

/// A validated recurrence rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rule {
    pub frequency: Frequency,
    /// Every N days/weeks/months/years (1..=1000).
    pub interval: u16,
    /// Weekly: the weekdays it falls on (empty = the first due date's weekday).
    pub weekdays: Vec<Day>,
    /// Monthly/yearly: day of month 1..=31 (clamped to short months) or -1 for the last day.
    pub month_day: Option<i8>,
    /// Monthly/yearly: e.g. the last Friday.
    pub nth_weekday: Option<NthWeekday>,
    /// Yearly: the month (1..=12); default the first due date's month.
    pub month: Option<i8>,
    /// The series' end: a local date (inclusive) like `2027-01-15`, or an instant like `2027-01-15T09:00:00Z`.
    #[schema(value_type = Option<String>, example = "2027-01-15")]
    pub until: Option<Until>,
    /// At most this many occurrences in the series (1..=10000).
    pub count: Option<u32>,
    pub basis: Basis,
}

/// The request form: an RFC 5545 `rrule` string or the structured fields (not both), plus `basis`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    /// e.g. `FREQ=MONTHLY;BYDAY=-1FR` or `FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=10`.
    pub rrule: Option<String>,
    pub frequency: Option<Frequency>,
    #[schema(minimum = 1, maximum = 1000)]
    pub interval: Option<u16>,
    pub weekdays: Option<Vec<Day>>,
    #[schema(minimum = -1, maximum = 31)]
    pub month_day: Option<i8>,
    pub nth_weekday: Option<NthWeekday>,
    #[schema(minimum = 1, maximum = 12)]
    pub month: Option<i8>,
    /// A local date (inclusive) like `2027-01-15`, or an RFC 3339 instant like `2027-01-15T09:00:00Z`.
    #[schema(value_type = Option<String>, example = "2027-01-15")]
    pub until: Option<Until>,
    #[schema(minimum = 1, maximum = 10000)]
    pub count: Option<u32>,
    pub basis: Option<Basis>,
}

/// The response form: the structured rule and its RRULE spelling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleView {
    #[serde(flatten)]
    pub rule: Rule,
    pub rrule: String,
}

/// The next task of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Next {
    /// Local wall-clock due time of the next occurrence.
    pub local: DateTime,
    /// The series anchor the occurrence after that is computed from.
    pub anchor: DateTime,
    /// 1-based position in the series.
    pub occurrence: u32,
}

impl RuleInput {
    pub fn into_rule(self) -> Result<Rule, Invalid> {
        let basis = self.basis.unwrap_or_default();
        if let Some(text) = self.rrule {
            let structured = self.frequency.is_some()
                || self.interval.is_some()
                || self.weekdays.is_some()
                || self.month_day.is_some()
                || self.nth_weekday.is_some()
                || self.month.is_some()
                || self.until.is_some()
                || self.count.is_some();
            if structured {
                return Err(Invalid::new(
                    "ambiguous_recurrence",
                    "rrule",
                    "give either rrule or the structured fields (frequency, interval, …), not both",
                ));
            }
            let mut rule = parse_rrule(&text)?;
            rule.basis = basis;
            return Ok(rule);
        }
        let frequency = self.frequency.ok_or_else(|| {
            Invalid::new("required", "frequency", "frequency (or rrule) is required")
        })?;
        let rule = Rule {
            frequency,
            interval: self.interval.unwrap_or(1),
            weekdays: self.weekdays.unwrap_or_default(),
            month_day: self.month_day,
            nth_weekday: self.nth_weekday,
            month: self.month,
            until: self.until,
            count: self.count,
            basis,
        };
        rule.validate()?;
        Ok(rule)
    }
}

impl Rule {
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.interval == 0 || self.interval > MAX_INTERVAL {
            return Err(Invalid::new(
                "out_of_range",
                "interval",
                format!("interval must be 1..={MAX_INTERVAL}"),
            ));
        }
        if !self.weekdays.is_empty() && self.frequency != Frequency::Weekly {
            return Err(Invalid::new(
                "not_applicable",
                "weekdays",
                "weekdays apply to weekly rules only",
            ));
        }
        let monthly_or_yearly = matches!(self.frequency, Frequency::Monthly | Frequency::Yearly);
        if let Some(d) = self.month_day {
            if !monthly_or_yearly {
                return Err(Invalid::new(
                    "not_applicable",
                    "month_day",
                    "month_day applies to monthly and yearly rules",
                ));
            }
            if !(d == -1 || (1..=31).contains(&d)) {
                return Err(Invalid::new(
                    "out_of_range",
                    "month_day",
                    "month_day must be 1..=31, or -1 for the last day",
                ));
            }
        }
        if let Some(n) = self.nth_weekday {
            if !monthly_or_yearly {
                return Err(Invalid::new(
                    "not_applicable",
                    "nth_weekday",
                    "nth_weekday applies to monthly and yearly rules",
                ));
            }
            if n.nth == 0 || !(-5..=5).contains(&n.nth) {
                return Err(Invalid::new(
                    "out_of_range",
                    "nth_weekday.nth",
                    "nth must be 1..=5 or -5..=-1",
                ));
            }
            if self.month_day.is_some() {
                return Err(Invalid::new(
                    "conflict",
                    "nth_weekday",
                    "give month_day or nth_weekday, not both",
                ));
            }
        }
        if let Some(m) = self.month {
            if self.frequency != Frequency::Yearly {
                return Err(Invalid::new(
                    "not_applicable",
                    "month",
                    "month applies to yearly rules only",
                ));
            }
            if !(1..=12).contains(&m) {
                return Err(Invalid::new(
                    "out_of_range",
                    "month",
                    "month must be 1..=12",
                ));
            }
        }
        if let Some(c) = self.count {
            if c == 0 || c > MAX_COUNT {
                return Err(Invalid::new(
                    "out_of_range",
                    "count",
                    format!("count must be 1..={MAX_COUNT}"),
                ));
            }
            if self.until.is_some() {
                return Err(Invalid::new(
                    "conflict",
                    "count",
                    "give count or until, not both",
                ));
            }
        }
        Ok(())
    }

    pub fn view(&self) -> RuleView {
        RuleView {
            rule: self.clone(),
            rrule: self.to_rrule(),
        }
    }

    /// The RFC 5545 spelling (without `basis`, which RRULE has no word for).
    pub fn to_rrule(&self) -> String {
        let mut s = String::from("FREQ=");
        s.push_str(match self.frequency {
            Frequency::Daily => "DAILY",
            Frequency::Weekly => "WEEKLY",
            Frequency::Monthly => "MONTHLY",
            Frequency::Yearly => "YEARLY",
        });
        if self.interval != 1 {
            let _ = write!(s, ";INTERVAL={}", self.interval);
        }
        if !self.weekdays.is_empty() {
            let mut days = self.weekdays.clone();
            days.sort();
            days.dedup();
            let list: Vec<&str> = days.iter().map(|d| d.code()).collect();
            let _ = write!(s, ";BYDAY={}", list.join(","));
        }
        if let Some(n) = self.nth_weekday {
            let _ = write!(s, ";BYDAY={}{}", n.nth, n.weekday.code());
        }
        if let Some(d) = self.month_day {
            let _ = write!(s, ";BYMONTHDAY={d}");
        }
        if let Some(m) = self.month {
            let _ = write!(s, ";BYMONTH={m}");
        }
        if let Some(c) = self.count {
            let _ = write!(s, ";COUNT={c}");
        }
        if let Some(u) = self.until {
            let _ = write!(s, ";UNTIL={}", u.rrule_value());
        }
        s
    }

    /// [`Rule::next_in`] for a caller without the user's zone: an `UNTIL` instant is compared as if the wall
    /// times were UTC, so callers that know the zone use `next_in`.
    pub fn next(
        &self,
        anchor: DateTime,
        current: DateTime,
        completed: DateTime,
        occurrence: u32,
    ) -> Option<Next> {
        self.next_in(&TimeZone::UTC, anchor, current, completed, occurrence)
    }

    /// The occurrence that follows the current one, or `None` when the series has ended.
    ///
    /// `tz` is the user's zone (an `UNTIL` instant is compared with the occurrence's instant in it), `anchor`
    /// the series' start (local wall time), `current` the current occurrence's local due time, `completed`
    /// when the user completed it (local), `occurrence` its 1-based position.
    pub fn next_in(
        &self,
        tz: &TimeZone,
        anchor: DateTime,
        current: DateTime,
        completed: DateTime,
        occurrence: u32,
    ) -> Option<Next> {
        if self.count.is_some_and(|c| occurrence >= c) {
            return None;
        }
        let (start, after) = match self.basis {
            Basis::Due => (anchor, current),
            Basis::Completion => {
                let restart = completed.date().to_datetime(anchor.time());
                (restart, restart)
            }
        };
        let local = self.first_after(start, after)?;
        if self.until.is_some_and(|u| !u.allows(local, tz)) {
            return None;
        }
        Some(Next {
            local,
            anchor: start,
            occurrence: occurrence + 1,
        })
    }

    /// The first occurrence of the series starting at `start` that is strictly later than `after`.
    pub fn first_after(&self, start: DateTime, after: DateTime) -> Option<DateTime> {
        let interval = i64::from(self.interval);
        let periods_between = match self.frequency {
            Frequency::Daily => days_between(start.date(), after.date()),
            Frequency::Weekly => days_between(week_start(start.date()), after.date()).div_euclid(7),
            Frequency::Monthly => months_between(start.date(), after.date()),
            Frequency::Yearly => i64::from(after.year()) - i64::from(start.year()),
        };
        // Jump close to `after` instead of walking the series from its start.
        let first = (periods_between / interval - 1).max(0);
        // Bounded: a rule like "the 5th Friday of February" is rare but not impossible; 2,000 periods
        // reach every such date while keeping a pathological rule from looping.
        (first..first + 2000).find_map(|k| {
            self.candidates(start, k * interval)
                .into_iter()
                .map(|d| d.to_datetime(start.time()))
                .find(|dt| *dt >= start && *dt > after)
        })
    }

    /// The dates of period `offset` (counted in days/weeks/months/years from the start), sorted.
    fn candidates(&self, start: DateTime, offset: i64) -> Vec<Date> {
        let s = start.date();
        match self.frequency {
            Frequency::Daily => s.checked_add(offset.days()).ok().into_iter().collect(),
            Frequency::Weekly => {
                let Ok(monday) = week_start(s).checked_add((offset * 7).days()) else {
                    return vec![];
                };
                let mut days: Vec<Day> = if self.weekdays.is_empty() {
                    vec![Day::from_jiff(s.weekday())]
                } else {
                    self.weekdays.clone()
                };
                days.sort();
                days.dedup();
                days.into_iter()
                    .filter_map(|d| {
                        monday
                            .checked_add(i64::from(d.to_jiff().to_monday_zero_offset()).days())
                            .ok()
                    })
                    .collect()
            }
            Frequency::Monthly => {
                let Some((y, m)) = add_months(s.year(), s.month(), offset) else {
                    return vec![];
                };
                self.day_in_month(y, m, s).into_iter().collect()
            }
            Frequency::Yearly => {
                let Ok(y) = i16::try_from(i64::from(s.year()) + offset) else {
                    return vec![];
                };
                let m = self.month.unwrap_or(s.month());
                self.day_in_month(y, m, s).into_iter().collect()
            }
        }
    }

    fn day_in_month(&self, year: i16, month: i8, start: Date) -> Option<Date> {
        let first = Date::new(year, month, 1).ok()?;
        if let Some(n) = self.nth_weekday {
            return first.nth_weekday_of_month(n.nth, n.weekday.to_jiff()).ok();
        }
        let last = first.days_in_month();
        let want = match self.month_day {
            Some(-1) => last,
            Some(d) => d.min(last),
            None => start.day().min(last),
        };
        Date::new(year, month, want).ok()
    }
}

fn days_between(a: Date, b: Date) -> i64 {
    a.until(b).map(|s| i64::from(s.get_days())).unwrap_or(0)
}

fn week_start(d: Date) -> Date {
    let back = i64::from(d.weekday().to_monday_zero_offset());
    d.checked_sub(back.days()).unwrap_or(d)
}

fn months_between(a: Date, b: Date) -> i64 {
    (i64::from(b.year()) * 12 + i64::from(b.month()))
        - (i64::from(a.year()) * 12 + i64::from(a.month()))
}

fn add_months(year: i16, month: i8, offset: i64) -> Option<(i16, i8)> {
    let total = i64::from(year) * 12 + i64::from(month - 1) + offset;
    Some((
        i16::try_from(total.div_euclid(12)).ok()?,
        i8::try_from(total.rem_euclid(12) + 1).ok()?,
    ))
}

impl Day {
    const ALL: [Day; 7] = [
        Day::Monday,
        Day::Tuesday,
        Day::Wednesday,
        Day::Thursday,
        Day::Friday,
        Day::Saturday,
        Day::Sunday,
    ];

    pub fn code(self) -> &'static str {
        ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][self as usize]
    }

    fn from_code(code: &str) -> Option<Day> {
        Day::ALL
            .into_iter()
            .find(|d| d.code().eq_ignore_ascii_case(code))
    }

    pub fn to_jiff(self) -> Weekday {
        Weekday::from_monday_zero_offset(self as i8).unwrap_or(Weekday::Monday)
    }

    pub fn from_jiff(w: Weekday) -> Day {
        Day::ALL[w.to_monday_zero_offset() as usize]
    }
}

/// Parse an RFC 5545 RRULE value (with or without the `RRULE:` prefix). Unsupported parts are rejected by
/// name rather than ignored, so a rule never silently means something else.
pub fn parse_rrule(text: &str) -> Result<Rule, Invalid> {
    let bad = |msg: String| Invalid::new("invalid_rrule", "rrule", msg);
    let body = text.trim();
    let body = body
        .strip_prefix("RRULE:")
        .or_else(|| body.strip_prefix("rrule:"))
        .unwrap_or(body);
    if body.is_empty() || body.len() > 512 {
        return Err(bad(
            "rrule must be a non-empty RFC 5545 rule such as FREQ=WEEKLY;BYDAY=MO".into(),
        ));
    }
    let mut frequency = None;
    let mut rule = Rule {
        frequency: Frequency::Daily,
        interval: 1,
        weekdays: vec![],
        month_day: None,
        nth_weekday: None,
        month: None,
        until: None,
        count: None,
        basis: Basis::Due,
    };
    let mut byday: Option<&str> = None;
    let mut seen = Vec::new();
    for part in body.split(';').filter(|p| !p.is_empty()) {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| bad(format!("{part:?} is not KEY=VALUE")))?;
        let key = key.trim().to_ascii_uppercase();
        let value = value.trim();
        if seen.contains(&key) {
            return Err(bad(format!("{key} appears twice")));
        }
        seen.push(key.clone());
        let number = |v: &str| {
            v.parse::<i64>()
                .map_err(|_| bad(format!("{key}={v} is not a number")))
        };
        match key.as_str() {
            "FREQ" => {
                frequency = Some(match value.to_ascii_uppercase().as_str() {
                    "DAILY" => Frequency::Daily,
                    "WEEKLY" => Frequency::Weekly,
                    "MONTHLY" => Frequency::Monthly,
                    "YEARLY" => Frequency::Yearly,
                    other => {
                        return Err(bad(format!(
                            "FREQ={other} is not supported (DAILY, WEEKLY, MONTHLY, YEARLY)"
                        )));
                    }
                })
            }
            "INTERVAL" => {
                rule.interval = u16::try_from(number(value)?)
                    .map_err(|_| bad(format!("INTERVAL={value} is out of range")))?
            }
            "COUNT" => {
                rule.count = Some(
                    u32::try_from(number(value)?)
                        .map_err(|_| bad(format!("COUNT={value} is out of range")))?,
                )
            }
            "BYMONTHDAY" => {
                rule.month_day = Some(
                    i8::try_from(number(value)?)
                        .map_err(|_| bad(format!("BYMONTHDAY={value} is out of range")))?,
                )
            }
            "BYMONTH" => {
                rule.month = Some(
                    i8::try_from(number(value)?)
                        .map_err(|_| bad(format!("BYMONTH={value} is out of range")))?,
                )
            }
            "BYDAY" => byday = Some(value),
            "UNTIL" => {
                rule.until = Some(Until::parse_rrule_value(value).ok_or_else(|| {
                    bad(format!(
                        "UNTIL={value} is not a date (YYYYMMDD) or a UTC date-time (YYYYMMDDTHHMMSSZ)"
                    ))
                })?);
            }
            "WKST" if value.eq_ignore_ascii_case("MO") => {}
            other => return Err(bad(format!("RRULE part {other} is not supported"))),
        }
    }
    rule.frequency = frequency.ok_or_else(|| bad("FREQ is required".into()))?;
    if let Some(list) = byday {
        let items: Vec<&str> = list.split(',').map(str::trim).collect();
        match rule.frequency {
            Frequency::Weekly => {
                for item in items {
                    rule.weekdays.push(Day::from_code(item).ok_or_else(|| bad(format!("BYDAY={item} is not a weekday (MO..SU)")))?);
                }
            }
            Frequency::Monthly | Frequency::Yearly if items.len() == 1 => {
                let item = items[0];
                let split = item.len().saturating_sub(2);
                let (n, code) = item.split_at(split);
                let weekday = Day::from_code(code).ok_or_else(|| bad(format!("BYDAY={item} is not like 2TU or -1FR")))?;
                let nth = n.trim_start_matches('+').parse::<i8>().map_err(|_| bad(format!("BYDAY={item} needs a position like 2TU or -1FR")))?;
                rule.nth_weekday = Some(NthWeekday { nth, weekday });
            }
            _ => return Err(bad("BYDAY is supported for WEEKLY (a list) and MONTHLY/YEARLY (one position like -1FR)".into())),
        }
    }
    rule.validate().map_err(|e| {
        bad(format!(
            "{}: {}",
            e.field.as_deref().unwrap_or("rule"),
            e.message
        ))
    })?;
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, datetime};
    use proptest::prelude::*;

    fn rule(text: &str) -> Rule {
        parse_rrule(text).unwrap()
    }

    /// Walk a series from its anchor, basis due, completing each occurrence on time.
    fn series(r: &Rule, anchor: DateTime, n: usize) -> Vec<DateTime> {
        let mut out = vec![anchor];
        let mut current = anchor;
        let mut occ = 1;
        while out.len() < n {
            match r.next(anchor, current, current, occ) {
                Some(next) => {
                    out.push(next.local);
                    current = next.local;
                    occ = next.occurrence;
                }
                None => break,
            }
        }
        out
    }

    fn dates(v: &[DateTime]) -> Vec<String> {
        v.iter().map(|d| d.date().to_string()).collect()
    }

    /// A series as the store walks it: the first due parsed in `zone` (its local wall time is the anchor), each
    /// occurrence stored as an instant and read back as the current one. The UTC instants of up to `n`.
    fn stored_series(text: &str, zone: &str, due: &str, n: usize) -> Vec<String> {
        use crate::domain::due::Due;
        let tz = TimeZone::get(zone).unwrap();
        let r = rule(text);
        let first = Due::parse(due, &tz, "due").unwrap();
        let anchor = first.local_datetime(&tz);
        let mut stored = Due::from_stored(first.at_ms(), false);
        let mut out = vec![stored.at.to_string()];
        let mut occurrence = 1;
        while out.len() < n {
            let current = stored.local_datetime(&tz);
            let Some(next) = r.next_in(&tz, anchor, current, current, occurrence) else {
                break;
            };
            stored = Due::from_stored(Due::local(next.local, &tz).at_ms(), false);
            occurrence = next.occurrence;
            out.push(stored.at.to_string());
        }
        out
    }

    /// Issue 17, bug 1: a first due inside the spring-forward gap is due at the time after the gap that day
    /// only; the series keeps the wall time asked for (02:30), in Berlin, New York and Auckland.
    #[test]
    fn first_due_in_dst_gap_keeps_series_wall_time() {
        assert_eq!(
            stored_series("FREQ=DAILY", "Europe/Berlin", "2026-03-29T02:30", 3),
            [
                "2026-03-29T01:30:00Z",
                "2026-03-30T00:30:00Z",
                "2026-03-31T00:30:00Z"
            ]
        );
        assert_eq!(
            stored_series(
                "FREQ=MONTHLY;BYDAY=2SU",
                "America/New_York",
                "2026-03-08T02:30",
                3
            ),
            [
                "2026-03-08T07:30:00Z",
                "2026-04-12T06:30:00Z",
                "2026-05-10T06:30:00Z"
            ]
        );
        assert_eq!(
            stored_series("FREQ=DAILY", "Pacific/Auckland", "2026-09-27T02:30", 3),
            [
                "2026-09-26T14:30:00Z",
                "2026-09-27T13:30:00Z",
                "2026-09-28T13:30:00Z"
            ]
        );
    }

    /// Issue 17, bug 2: an UNTIL with a UTC time is an instant, compared with each occurrence's instant; a
    /// date-only UNTIL is a local date, inclusive.
    #[test]
    fn until_utc_date_time_is_an_instant() {
        let utc = "FREQ=DAILY;UNTIL=20260102T090000Z";
        assert_eq!(rule(utc).to_rrule(), utc);
        assert_eq!(
            stored_series(utc, "UTC", "2026-01-01T10:00", 10),
            ["2026-01-01T10:00:00Z"]
        );
        assert_eq!(
            stored_series(
                "FREQ=DAILY;UNTIL=20260103T000000Z",
                "America/New_York",
                "2026-01-02T12:00",
                10
            ),
            ["2026-01-02T17:00:00Z"]
        );
        assert_eq!(
            stored_series(
                "FREQ=DAILY;UNTIL=20260103T235959Z",
                "Pacific/Auckland",
                "2026-01-01T09:00",
                10
            ),
            [
                "2025-12-31T20:00:00Z",
                "2026-01-01T20:00:00Z",
                "2026-01-02T20:00:00Z",
                "2026-01-03T20:00:00Z"
            ]
        );
        assert_eq!(
            stored_series(
                "FREQ=DAILY;UNTIL=20260103",
                "America/New_York",
                "2026-01-02T22:00",
                10
            ),
            ["2026-01-03T03:00:00Z", "2026-01-04T03:00:00Z"]
        );
        // The structured form and the stored JSON spell it as RFC 3339 or a date.
        let json = serde_json::to_value(rule(utc)).unwrap();
        assert_eq!(json["until"], "2026-01-02T09:00:00Z");
        let back: Rule = serde_json::from_value(json).unwrap();
        assert_eq!(back, rule(utc));
        let dated: Rule = serde_json::from_str(
            r#"{"frequency":"daily","interval":1,"weekdays":[],"month_day":null,"nth_weekday":null,"month":null,"until":"2026-01-15","count":null,"basis":"due"}"#,
        )
        .unwrap();
        assert_eq!(dated.until, Some(Until::Date(date(2026, 1, 15))));
    }

    /// Issue 17, bug 4: a malformed UNTIL is rejected naming the part, not cut to its first eight characters.
    #[test]
    fn malformed_until_is_rejected() {
        for text in [
            "FREQ=DAILY;UNTIL=20270115junk",
            "FREQ=DAILY;UNTIL=20270115T120000",
            "FREQ=DAILY;UNTIL=20270115T1200Z",
            "FREQ=DAILY;UNTIL=2027011",
            "FREQ=DAILY;UNTIL=20271315",
            "FREQ=DAILY;UNTIL=2027011é",
        ] {
            let err = parse_rrule(text).unwrap_err();
            assert_eq!(err.code, "invalid_rrule", "{text}");
            assert_eq!(err.field.as_deref(), Some("rrule"), "{text}");
            assert!(err.message.starts_with("UNTIL="), "{text}: {}", err.message);
        }
    }

    /// Every N days, keeping the wall-clock time.
    #[test]
    fn daily_every_n() {
        let s = series(
            &rule("FREQ=DAILY;INTERVAL=3"),
            datetime(2026, 2, 26, 9, 0, 0, 0),
            4,
        );
        assert_eq!(
            dates(&s),
            ["2026-02-26", "2026-03-01", "2026-03-04", "2026-03-07"]
        );
        assert!(s.iter().all(|d| d.hour() == 9));
    }

    /// Weekly on chosen weekdays, every other week, aligned to the anchor's week.
    #[test]
    fn weekly_chosen_days_biweekly() {
        // 2026-01-06 is a Tuesday.
        let s = series(
            &rule("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH"),
            datetime(2026, 1, 6, 8, 0, 0, 0),
            5,
        );
        assert_eq!(
            dates(&s),
            [
                "2026-01-06",
                "2026-01-08",
                "2026-01-19",
                "2026-01-22",
                "2026-02-02"
            ]
        );
    }

    /// Weekly with no days listed repeats on the anchor's weekday.
    #[test]
    fn weekly_defaults_to_anchor_weekday() {
        let s = series(&rule("FREQ=WEEKLY"), datetime(2026, 1, 7, 8, 0, 0, 0), 3);
        assert_eq!(dates(&s), ["2026-01-07", "2026-01-14", "2026-01-21"]);
    }

    /// Monthly on the 31st clamps to short months and returns to the 31st afterwards (Jan 31 → Feb 28).
    #[test]
    fn monthly_31st_clamps_and_recovers() {
        let s = series(&rule("FREQ=MONTHLY"), datetime(2026, 1, 31, 12, 0, 0, 0), 5);
        assert_eq!(
            dates(&s),
            [
                "2026-01-31",
                "2026-02-28",
                "2026-03-31",
                "2026-04-30",
                "2026-05-31"
            ]
        );
        let leap = series(
            &rule("FREQ=MONTHLY;BYMONTHDAY=31"),
            datetime(2028, 1, 31, 12, 0, 0, 0),
            2,
        );
        assert_eq!(dates(&leap), ["2028-01-31", "2028-02-29"]);
    }

    /// The last day of the month, and the last Friday.
    #[test]
    fn monthly_last_day_and_last_friday() {
        let s = series(
            &rule("FREQ=MONTHLY;BYMONTHDAY=-1"),
            datetime(2026, 1, 31, 0, 0, 0, 0),
            3,
        );
        assert_eq!(dates(&s), ["2026-01-31", "2026-02-28", "2026-03-31"]);
        let f = series(
            &rule("FREQ=MONTHLY;BYDAY=-1FR"),
            datetime(2026, 1, 30, 17, 0, 0, 0),
            4,
        );
        assert_eq!(
            dates(&f),
            ["2026-01-30", "2026-02-27", "2026-03-27", "2026-04-24"]
        );
    }

    /// "The 5th Monday" skips months that have only four.
    #[test]
    fn fifth_weekday_skips_months_without_one() {
        let s = series(
            &rule("FREQ=MONTHLY;BYDAY=5MO"),
            datetime(2026, 3, 30, 9, 0, 0, 0),
            3,
        );
        assert_eq!(dates(&s), ["2026-03-30", "2026-06-29", "2026-08-31"]);
    }

    /// Yearly on Feb 29 lands on Feb 28 in common years and Feb 29 in leap years.
    #[test]
    fn yearly_leap_day() {
        let s = series(
            &rule("FREQ=YEARLY;BYMONTHDAY=29;BYMONTH=2"),
            datetime(2028, 2, 29, 10, 0, 0, 0),
            5,
        );
        assert_eq!(
            dates(&s),
            [
                "2028-02-29",
                "2029-02-28",
                "2030-02-28",
                "2031-02-28",
                "2032-02-29"
            ]
        );
    }

    /// Thanksgiving: the 4th Thursday of November.
    #[test]
    fn yearly_nth_weekday() {
        let s = series(
            &rule("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH"),
            datetime(2026, 11, 26, 12, 0, 0, 0),
            3,
        );
        assert_eq!(dates(&s), ["2026-11-26", "2027-11-25", "2028-11-23"]);
    }

    /// COUNT bounds the number of occurrences including the first.
    #[test]
    fn count_ends_series() {
        let s = series(
            &rule("FREQ=DAILY;COUNT=3"),
            datetime(2026, 1, 1, 9, 0, 0, 0),
            10,
        );
        assert_eq!(s.len(), 3);
    }

    /// UNTIL is inclusive of its date.
    #[test]
    fn until_is_inclusive() {
        let s = series(
            &rule("FREQ=WEEKLY;UNTIL=20260115"),
            datetime(2026, 1, 1, 9, 0, 0, 0),
            10,
        );
        assert_eq!(dates(&s), ["2026-01-01", "2026-01-08", "2026-01-15"]);
        let s = series(
            &rule("FREQ=DAILY;UNTIL=20260102T235959Z"),
            datetime(2026, 1, 1, 9, 0, 0, 0),
            10,
        );
        assert_eq!(s.len(), 2);
    }

    /// Basis completion: the next one is measured from the completion day, at the series' time of day.
    #[test]
    fn completion_basis() {
        let mut r = rule("FREQ=DAILY;INTERVAL=3");
        r.basis = Basis::Completion;
        let anchor = datetime(2026, 1, 1, 9, 0, 0, 0);
        let next = r
            .next(anchor, anchor, datetime(2026, 1, 10, 18, 45, 0, 0), 1)
            .unwrap();
        assert_eq!(next.local, datetime(2026, 1, 13, 9, 0, 0, 0));
        assert_eq!(next.anchor, datetime(2026, 1, 10, 9, 0, 0, 0));
        assert_eq!(next.occurrence, 2);
    }

    /// Basis due: completing late does not shift the schedule; the next is after the current occurrence.
    #[test]
    fn due_basis_ignores_late_completion() {
        let r = rule("FREQ=WEEKLY;BYDAY=MO");
        let anchor = datetime(2026, 1, 5, 9, 0, 0, 0);
        let next = r
            .next(anchor, anchor, datetime(2026, 1, 9, 9, 0, 0, 0), 1)
            .unwrap();
        assert_eq!(next.local.date(), date(2026, 1, 12));
    }

    /// Local 09:00 stays 09:00 across DST in zones east and west of UTC; the UTC instant moves.
    #[test]
    fn wall_time_survives_dst() {
        use crate::domain::due::Due;
        for (zone, before, after) in [
            (
                "America/New_York",
                "2026-03-07T14:00:00Z",
                "2026-03-08T13:00:00Z",
            ),
            (
                "Europe/Berlin",
                "2026-03-28T08:00:00Z",
                "2026-03-29T07:00:00Z",
            ),
            (
                "Australia/Sydney",
                "2026-04-03T22:00:00Z",
                "2026-04-04T23:00:00Z",
            ),
        ] {
            let tz = jiff::tz::TimeZone::get(zone).unwrap();
            let anchor = Due::parse(
                &before
                    .parse::<jiff::Timestamp>()
                    .unwrap()
                    .to_zoned(tz.clone())
                    .datetime()
                    .to_string(),
                &tz,
                "due",
            )
            .unwrap();
            let local = anchor.local_datetime(&tz);
            let next = rule("FREQ=DAILY").next(local, local, local, 1).unwrap();
            assert_eq!(Due::local(next.local, &tz).at.to_string(), after, "{zone}");
        }
    }

    /// The RRULE text round-trips through the structured form.
    #[test]
    fn rrule_round_trip() {
        for text in [
            "FREQ=DAILY",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=10",
            "FREQ=MONTHLY;BYDAY=-1FR",
            "FREQ=MONTHLY;BYMONTHDAY=15;UNTIL=20271231",
            "FREQ=YEARLY;BYMONTHDAY=29;BYMONTH=2",
        ] {
            assert_eq!(rule(text).to_rrule(), text);
        }
        assert_eq!(
            rule("RRULE:freq=weekly;byday=th,mo").to_rrule(),
            "FREQ=WEEKLY;BYDAY=MO,TH"
        );
    }

    /// Every malformed or unsupported rule is rejected with a message naming the problem.
    #[test]
    fn rrule_rejections() {
        for (text, needle) in [
            ("", "non-empty"),
            ("INTERVAL=2", "FREQ is required"),
            ("FREQ=HOURLY", "HOURLY"),
            ("FREQ=DAILY;BYSETPOS=1", "BYSETPOS"),
            ("FREQ=DAILY;INTERVAL=0", "interval"),
            ("FREQ=DAILY;INTERVAL=x", "not a number"),
            ("FREQ=DAILY;COUNT=3;UNTIL=20260101", "count or until"),
            ("FREQ=WEEKLY;BYDAY=XX", "XX"),
            ("FREQ=MONTHLY;BYMONTHDAY=32", "month_day"),
            ("FREQ=DAILY;BYMONTHDAY=3", "month_day"),
            ("FREQ=DAILY;FREQ=DAILY", "twice"),
            ("FREQ=MONTHLY;BYDAY=FR", "position"),
            ("FREQ=YEARLY;BYMONTH=13", "month"),
            ("FREQ=DAILY;UNTIL=2026", "UNTIL"),
        ] {
            let err = parse_rrule(text).unwrap_err();
            assert_eq!(err.code, "invalid_rrule", "{text}");
            assert!(err.message.contains(needle), "{text}: {}", err.message);
        }
    }

    /// The structured input refuses a mix of rrule and fields, and validates like the parser.
    #[test]
    fn structured_input() {
        let r = RuleInput {
            frequency: Some(Frequency::Weekly),
            weekdays: Some(vec![Day::Friday]),
            ..Default::default()
        }
        .into_rule()
        .unwrap();
        assert_eq!(r.to_rrule(), "FREQ=WEEKLY;BYDAY=FR");
        let mixed = RuleInput {
            rrule: Some("FREQ=DAILY".into()),
            interval: Some(2),
            ..Default::default()
        };
        assert_eq!(mixed.into_rule().unwrap_err().code, "ambiguous_recurrence");
        let missing = RuleInput::default().into_rule().unwrap_err();
        assert_eq!(missing.field.as_deref(), Some("frequency"));
        let bad_nth = RuleInput {
            frequency: Some(Frequency::Monthly),
            nth_weekday: Some(NthWeekday {
                nth: 6,
                weekday: Day::Monday,
            }),
            ..Default::default()
        };
        assert_eq!(
            bad_nth.into_rule().unwrap_err().field.as_deref(),
            Some("nth_weekday.nth")
        );
    }

    proptest! {
        /// Occurrences strictly increase, respect UNTIL, and land on the rule's days.
        #[test]
        fn series_is_increasing_and_on_rule(
            freq in 0usize..4, interval in 1u16..5, day in 1i8..=28, month in 1i8..=12,
            year in 1990i16..2100, hour in 0i8..24, weekday_mask in 1u8..128,
        ) {
            let frequency = [Frequency::Daily, Frequency::Weekly, Frequency::Monthly, Frequency::Yearly][freq];
            let weekdays: Vec<Day> = if frequency == Frequency::Weekly {
                Day::ALL.into_iter().enumerate().filter(|(i, _)| weekday_mask & (1 << i) != 0).map(|(_, d)| d).collect()
            } else { vec![] };
            let r = Rule { frequency, interval, weekdays: weekdays.clone(), month_day: None, nth_weekday: None,
                month: None, until: None, count: None, basis: Basis::Due };
            let anchor = date(year, month, day).to_datetime(jiff::civil::time(hour, 0, 0, 0));
            let s = series(&r, anchor, 12);
            prop_assert_eq!(s.len(), 12);
            for w in s.windows(2) {
                prop_assert!(w[0] < w[1]);
                prop_assert_eq!(w[1].time(), anchor.time());
            }
            for d in &s[1..] {
                match frequency {
                    Frequency::Weekly => prop_assert!(weekdays.contains(&Day::from_jiff(d.weekday()))),
                    Frequency::Monthly => prop_assert_eq!(d.day(), day),
                    Frequency::Yearly => { prop_assert_eq!(d.day(), day); prop_assert_eq!(d.month(), month); }
                    Frequency::Daily => {
                        let gap = days_between(anchor.date(), d.date());
                        prop_assert_eq!(gap % i64::from(interval), 0);
                    }
                }
            }
        }

        /// The jump-ahead never skips an occurrence: stepping one by one equals asking for "first after X".
        #[test]
        fn first_after_matches_stepping(interval in 1u16..4, offset_days in 0i64..4000, freq in 0usize..4) {
            let frequency = [Frequency::Daily, Frequency::Weekly, Frequency::Monthly, Frequency::Yearly][freq];
            let r = Rule { frequency, interval, weekdays: vec![], month_day: Some(31).filter(|_| freq >= 2), nth_weekday: None,
                month: None, until: None, count: None, basis: Basis::Due };
            let anchor = datetime(2024, 1, 31, 9, 0, 0, 0);
            let after = anchor.checked_add(offset_days.days()).unwrap();
            let direct = r.first_after(anchor, after).unwrap();
            let mut walked = anchor;
            while walked <= after { walked = r.first_after(anchor, walked).unwrap(); }
            prop_assert_eq!(direct, walked);
        }
    }
}
