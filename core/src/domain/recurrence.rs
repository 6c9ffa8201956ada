//! Recurrence rules: RFC 5545 RRULE with the parts a todo list needs — FREQ (DAILY, WEEKLY, MONTHLY,
//! YEARLY), INTERVAL, BYMONTH, BYMONTHDAY, BYDAY (with positions), BYSETPOS, WKST, COUNT and UNTIL — meaning
//! exactly what RFC 5545 §3.3.10 says; any other part is rejected by name, never reinterpreted.
//!
//! Occurrences are local wall-clock times in the user's zone, so "every day at 09:00" stays 09:00 across DST
//! changes. A wall time that does not exist on one day (inside a spring-forward gap) is due at the instant
//! RFC 5545 §3.3.5 gives it, with the offset before the gap (02:30 becomes 03:30 that day), and the series
//! keeps 02:30 on the other days; a time that occurs twice is the earlier one. (§3.3.10 also says instances
//! at nonexistent times are ignored; a todo list does not silently drop a chore, so it follows the
//! paragraph that refers to §3.3.5.)
//!
//! A day the month lacks is skipped, as the RFC and every calendar do: `BYMONTHDAY=31` has no February.
//! "The 31st, or the last day of shorter months" is spelled `BYMONTHDAY=28,29,30,31;BYSETPOS=-1`, and "the
//! last day" `BYMONTHDAY=-1`; the structured form names the first `short_months: last_day`.

use crate::domain::due::{Due, resolve};
use crate::error::Invalid;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt::Write as _;

pub const MAX_INTERVAL: u16 = 1000;
pub const MAX_COUNT: u32 = 10_000;
/// The most values one BYxxx list takes (BYMONTHDAY has 62 distinct ones).
pub const MAX_LIST: usize = 64;
/// The most skipped dates (EXDATE) a series keeps.
pub const MAX_EXDATES: usize = 1000;

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

/// "The last Friday" (`nth: -1`) or "the second Tuesday" (`nth: 2`) of a month (or of a year).
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
#[serde(deny_unknown_fields)]
pub struct NthWeekday {
    /// 1..=5 from the start of the month, -1..=-5 from its end; of the year (±1..=53) in a yearly rule
    /// without months.
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

/// A validated recurrence rule. Stored as JSON: the singular names of earlier versions (`month_day`, `month`,
/// `nth_weekday`) are still read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rule {
    pub frequency: Frequency,
    /// Every N days/weeks/months/years (1..=1000).
    pub interval: u16,
    /// BYDAY without a position. Weekly: the days of the week (none: the first due's weekday); monthly and
    /// yearly: every such weekday of the month or year; daily, or with `month_days`: only those weekdays.
    #[serde(default)]
    pub weekdays: Vec<Day>,
    /// BYDAY with a position, e.g. the last Friday (monthly/yearly).
    #[serde(default, alias = "nth_weekday", deserialize_with = "one_or_many")]
    pub nth_weekdays: Vec<NthWeekday>,
    /// BYMONTHDAY: 1..=31 from the start of the month, -1..=-31 from its end. A month without that day is
    /// skipped (not with weekly rules).
    #[serde(default, alias = "month_day", deserialize_with = "one_or_many")]
    pub month_days: Vec<i8>,
    /// BYMONTH: only these months (1..=12).
    #[serde(default, alias = "month", deserialize_with = "one_or_many")]
    pub months: Vec<i8>,
    /// BYSETPOS: which of each period's dates, 1.. from the first, -1.. from the last (e.g. `[-1]` with all
    /// weekdays: the last weekday of the month).
    #[serde(default)]
    pub set_positions: Vec<i16>,
    /// WKST: the day weeks start on, which decides the weeks of `interval` > 1 weekly rules.
    #[serde(default = "monday")]
    pub week_start: Day,
    /// The series' end: a local date (inclusive) like `2027-01-15`, or an instant like `2027-01-15T09:00:00Z`.
    #[schema(value_type = Option<String>, example = "2027-01-15")]
    pub until: Option<Until>,
    /// At most this many occurrences in the series (1..=10000).
    pub count: Option<u32>,
    /// EXDATE: local dates whose occurrence is skipped (a skipped occurrence still counts towards `count`,
    /// as in RFC 5545).
    #[serde(default)]
    #[schema(value_type = Vec<String>, example = json!(["2027-01-15"]))]
    pub exdates: Vec<Date>,
    pub basis: Basis,
}

/// How a month lacking the chosen day (the 31st in April, the 29th in February) is treated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShortMonths {
    /// No occurrence that month (RFC 5545, every calendar): `BYMONTHDAY=31`.
    #[default]
    Skip,
    /// The month's last day instead: `BYMONTHDAY=28,29,30,31;BYSETPOS=-1`.
    LastDay,
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
    #[serde(default, alias = "nth_weekday", deserialize_with = "some_one_or_many")]
    pub nth_weekdays: Option<Vec<NthWeekday>>,
    /// 1..=31 or -31..=-1 (from the month's end).
    #[serde(default, alias = "month_day", deserialize_with = "some_one_or_many")]
    pub month_days: Option<Vec<i8>>,
    /// With one `month_days` value of 29..=31: skip months without it (default) or take their last day.
    pub short_months: Option<ShortMonths>,
    /// 1..=12.
    #[serde(default, alias = "month", deserialize_with = "some_one_or_many")]
    pub months: Option<Vec<i8>>,
    pub set_positions: Option<Vec<i16>>,
    pub week_start: Option<Day>,
    /// A local date (inclusive) like `2027-01-15`, or an RFC 3339 instant like `2027-01-15T09:00:00Z`.
    #[schema(value_type = Option<String>, example = "2027-01-15")]
    pub until: Option<Until>,
    #[schema(minimum = 1, maximum = 10000)]
    pub count: Option<u32>,
    /// Local dates whose occurrence is skipped (RFC 5545 EXDATE); given with `rrule` or the fields.
    #[schema(value_type = Option<Vec<String>>, example = json!(["2027-01-15"]))]
    pub exdates: Option<Vec<Date>>,
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

fn monday() -> Day {
    Day::Monday
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

/// A list, also read from a single value or `null` (how earlier versions stored these fields).
fn one_or_many<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(match Option::<OneOrMany<T>>::deserialize(d)? {
        None => vec![],
        Some(OneOrMany::Many(v)) => v,
        Some(OneOrMany::One(t)) => vec![t],
    })
}

fn some_one_or_many<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Vec<T>>, D::Error> {
    Ok(match Option::<OneOrMany<T>>::deserialize(d)? {
        None => None,
        Some(OneOrMany::Many(v)) => Some(v),
        Some(OneOrMany::One(t)) => Some(vec![t]),
    })
}

impl RuleInput {
    pub fn into_rule(self) -> Result<Rule, Invalid> {
        let basis = self.basis.unwrap_or_default();
        if let Some(text) = self.rrule {
            let structured = self.frequency.is_some()
                || self.interval.is_some()
                || self.weekdays.is_some()
                || self.nth_weekdays.is_some()
                || self.month_days.is_some()
                || self.short_months.is_some()
                || self.months.is_some()
                || self.set_positions.is_some()
                || self.week_start.is_some()
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
            rule.exdates = self.exdates.unwrap_or_default();
            rule.validate()?;
            return Ok(rule.normalized());
        }
        let frequency = self.frequency.ok_or_else(|| {
            Invalid::new("required", "frequency", "frequency (or rrule) is required")
        })?;
        let mut rule = Rule {
            frequency,
            interval: self.interval.unwrap_or(1),
            weekdays: self.weekdays.unwrap_or_default(),
            nth_weekdays: self.nth_weekdays.unwrap_or_default(),
            month_days: self.month_days.unwrap_or_default(),
            months: self.months.unwrap_or_default(),
            set_positions: self.set_positions.unwrap_or_default(),
            week_start: self.week_start.unwrap_or(Day::Monday),
            until: self.until,
            count: self.count,
            exdates: self.exdates.unwrap_or_default(),
            basis,
        };
        if self.short_months == Some(ShortMonths::LastDay) {
            let day = match rule.month_days[..] {
                [d] if (29..=31).contains(&d) => d,
                _ => {
                    return Err(Invalid::new(
                        "not_applicable",
                        "short_months",
                        "short_months applies to one month_days value of 29..=31",
                    ));
                }
            };
            if !rule.set_positions.is_empty() || !rule.weekdays.is_empty() {
                return Err(Invalid::new(
                    "conflict",
                    "short_months",
                    "short_months: last_day takes no set_positions or weekdays",
                ));
            }
            // The RRULE for "the 31st, or the last day of a shorter month": the last of the 28th..31st the
            // month has.
            rule.month_days = (28..=day).collect();
            rule.set_positions = vec![-1];
        }
        rule.validate()?;
        Ok(rule.normalized())
    }
}

impl Rule {
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.interval == 0 || self.interval > MAX_INTERVAL {
            return Err(Invalid::new(
                "out_of_range",
                "interval",
                format!("interval (INTERVAL) must be 1..={MAX_INTERVAL}"),
            ));
        }
        for (field, len) in [
            ("weekdays", self.weekdays.len()),
            ("nth_weekdays", self.nth_weekdays.len()),
            ("month_days", self.month_days.len()),
            ("months", self.months.len()),
            ("set_positions", self.set_positions.len()),
        ] {
            if len > MAX_LIST {
                return Err(Invalid::new(
                    "too_many",
                    field,
                    format!("{field} takes at most {MAX_LIST} values"),
                ));
            }
        }
        if self.exdates.len() > MAX_EXDATES {
            return Err(Invalid::new(
                "too_many",
                "exdates",
                format!("a series skips at most {MAX_EXDATES} dates"),
            ));
        }
        let monthly_or_yearly = matches!(self.frequency, Frequency::Monthly | Frequency::Yearly);
        // A position counts within the month, unless a yearly rule has no months: then within the year.
        let max_nth = if self.frequency == Frequency::Yearly && self.months.is_empty() {
            53
        } else {
            5
        };
        for (i, n) in self.nth_weekdays.iter().enumerate() {
            if !monthly_or_yearly {
                return Err(Invalid::new(
                    "not_applicable",
                    "nth_weekdays",
                    "nth_weekdays (BYDAY with a position like -1FR) apply to monthly and yearly rules",
                ));
            }
            if n.nth == 0 || !(-max_nth..=max_nth).contains(&n.nth) {
                return Err(Invalid::new(
                    "out_of_range",
                    format!("nth_weekdays[{i}].nth"),
                    format!("the position in BYDAY must be 1..={max_nth} or -{max_nth}..=-1"),
                ));
            }
        }
        for d in &self.month_days {
            if self.frequency == Frequency::Weekly {
                return Err(Invalid::new(
                    "not_applicable",
                    "month_days",
                    "month_days (BYMONTHDAY) do not apply to weekly rules",
                ));
            }
            if *d == 0 || !(-31..=31).contains(d) {
                return Err(Invalid::new(
                    "out_of_range",
                    "month_days",
                    "month_days (BYMONTHDAY) must be 1..=31, or -31..=-1 counting from the month's end",
                ));
            }
        }
        if self.months.iter().any(|m| !(1..=12).contains(m)) {
            return Err(Invalid::new(
                "out_of_range",
                "months",
                "months (BYMONTH) must be 1..=12",
            ));
        }
        if !self.set_positions.is_empty() {
            if self
                .set_positions
                .iter()
                .any(|p| *p == 0 || !(-366..=366).contains(p))
            {
                return Err(Invalid::new(
                    "out_of_range",
                    "set_positions",
                    "set_positions (BYSETPOS) must be 1..=366 or -366..=-1",
                ));
            }
            if self.weekdays.is_empty()
                && self.nth_weekdays.is_empty()
                && self.month_days.is_empty()
                && self.months.is_empty()
            {
                return Err(Invalid::new(
                    "not_applicable",
                    "set_positions",
                    "set_positions (BYSETPOS) select among the dates of another part (BYDAY, BYMONTHDAY, BYMONTH)",
                ));
            }
        }
        if let Some(c) = self.count {
            if c == 0 || c > MAX_COUNT {
                return Err(Invalid::new(
                    "out_of_range",
                    "count",
                    format!("count (COUNT) must be 1..={MAX_COUNT}"),
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

    /// Lists sorted and without repeats: one spelling per rule, so equal rules compare equal.
    fn normalized(mut self) -> Rule {
        self.weekdays.sort();
        self.weekdays.dedup();
        self.nth_weekdays.sort();
        self.nth_weekdays.dedup();
        self.month_days.sort();
        self.month_days.dedup();
        self.months.sort();
        self.months.dedup();
        self.set_positions.sort();
        self.set_positions.dedup();
        self.exdates.sort();
        self.exdates.dedup();
        self
    }

    /// The same rule with `date` added to its skipped dates (EXDATE). When the list is full, the skipped dates
    /// before `date` go first: a series only moves forward, so they can no longer remove an occurrence.
    pub fn skipping(&self, date: Date) -> Result<Rule, Invalid> {
        let mut rule = self.clone();
        if rule.exdates.contains(&date) {
            return Ok(rule);
        }
        if rule.exdates.len() >= MAX_EXDATES {
            rule.exdates.retain(|d| *d > date);
        }
        rule.exdates.push(date);
        rule.validate().map_err(|e| e.under("recurrence"))?;
        Ok(rule.normalized())
    }

    pub fn view(&self) -> RuleView {
        RuleView {
            rule: self.clone(),
            rrule: self.to_rrule(),
        }
    }

    /// The RFC 5545 spelling (without `basis`, which RRULE has no word for).
    pub fn to_rrule(&self) -> String {
        fn list<T: std::fmt::Display>(items: &[T]) -> String {
            items
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        }
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
        if !self.weekdays.is_empty() || !self.nth_weekdays.is_empty() {
            let days = self.weekdays.iter().map(|d| d.code().to_owned()).chain(
                self.nth_weekdays
                    .iter()
                    .map(|n| format!("{}{}", n.nth, n.weekday.code())),
            );
            let _ = write!(s, ";BYDAY={}", days.collect::<Vec<_>>().join(","));
        }
        if !self.month_days.is_empty() {
            let _ = write!(s, ";BYMONTHDAY={}", list(&self.month_days));
        }
        if !self.months.is_empty() {
            let _ = write!(s, ";BYMONTH={}", list(&self.months));
        }
        if !self.set_positions.is_empty() {
            let _ = write!(s, ";BYSETPOS={}", list(&self.set_positions));
        }
        if self.week_start != Day::Monday {
            let _ = write!(s, ";WKST={}", self.week_start.code());
        }
        if let Some(c) = self.count {
            let _ = write!(s, ";COUNT={c}");
        }
        if let Some(u) = self.until {
            let _ = write!(s, ";UNTIL={}", u.rrule_value());
        }
        s
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
        let (start, mut after) = match self.basis {
            Basis::Due => (anchor, current),
            Basis::Completion => {
                let restart = completed.date().to_datetime(anchor.time());
                (restart, restart)
            }
        };
        let mut occurrence = occurrence;
        // Each skipped date is passed over once, so this ends.
        loop {
            if self.count.is_some_and(|c| occurrence >= c) {
                return None;
            }
            let local = self.first_after(start, after)?;
            if self.until.is_some_and(|u| !u.allows(local, tz)) {
                return None;
            }
            occurrence += 1;
            if !self.exdates.contains(&local.date()) {
                return Some(Next {
                    local,
                    anchor: start,
                    occurrence,
                });
            }
            after = local;
        }
    }

    /// The series from `start` in `tz`, as RFC 5545 defines it for a rule with DTSTART `start`: `start`
    /// itself first (DTSTART always counts, even when it does not match the rule), then the rule's
    /// occurrences after it, up to COUNT and UNTIL. `position` is `start`'s 1-based place in the series
    /// (COUNT counts from there). Local wall times; basis as if each were completed on time.
    pub fn occurrences<'a>(
        &'a self,
        start: DateTime,
        position: u32,
        tz: &'a TimeZone,
    ) -> impl Iterator<Item = DateTime> + 'a {
        self.walk(tz, start, start, position)
    }

    /// The series on from its occurrence due at local wall time `current` (its 1-based `position`), that one
    /// first, each next one computed from `anchor` as [`Rule::next_in`] does for a completion on time.
    fn walk<'a>(
        &'a self,
        tz: &'a TimeZone,
        anchor: DateTime,
        current: DateTime,
        position: u32,
    ) -> impl Iterator<Item = DateTime> + 'a {
        let mut state = Some((current, anchor, position));
        std::iter::from_fn(move || {
            let (current, anchor, occurrence) = state?;
            state = self
                .next_in(tz, anchor, current, current, occurrence)
                .map(|n| (n.local, n.anchor, n.occurrence));
            Some(current)
        })
    }

    /// Up to `limit` due dates of a saved series from its occurrence due at local wall time `first` (its
    /// 1-based `position`), that one included, the later ones computed from the series' `anchor` exactly as
    /// completing each would (so a first due moved out of a DST gap does not move the rest); an all-day
    /// series stays all-day.
    pub fn upcoming(
        &self,
        tz: &TimeZone,
        anchor: DateTime,
        first: DateTime,
        all_day: bool,
        position: u32,
        limit: usize,
    ) -> Vec<Due> {
        self.walk(tz, anchor, first, position)
            .take(limit)
            .map(|local| {
                if all_day {
                    Due::all_day(local.date(), tz)
                } else {
                    Due::local(local, tz)
                }
            })
            .collect()
    }

    /// The first occurrence of the series starting at `start` that is strictly later than `after`, or `None`
    /// when there is none within a full 400-year cycle of the calendar after it (the rule's dates never recur).
    pub fn first_after(&self, start: DateTime, after: DateTime) -> Option<DateTime> {
        let interval = i64::from(self.interval);
        let s = start.date();
        let periods_between = match self.frequency {
            Frequency::Daily => days_between(s, after.date()),
            Frequency::Weekly => {
                days_between(week_start(s, self.week_start), after.date()).div_euclid(7)
            }
            Frequency::Monthly => months_between(s, after.date()),
            Frequency::Yearly => i64::from(after.year()) - i64::from(start.year()),
        };
        // Jump close to `after` instead of walking the series from its start.
        let first = (periods_between.div_euclid(interval) - 1).max(0);
        // The Gregorian calendar repeats every 400 years, so do the periods a rule visits (whatever its
        // interval): a rule with no date in that many periods has none at all.
        let cycle = match self.frequency {
            Frequency::Daily => 146_097,
            Frequency::Weekly => 20_871,
            Frequency::Monthly => 4_800,
            Frequency::Yearly => 400,
        };
        for k in first..first + cycle {
            let ranges = self.period(s, k * interval)?;
            let found = self
                .dates_in(&ranges, s)
                .into_iter()
                .map(|d| d.to_datetime(start.time()))
                .find(|dt| *dt >= start && *dt > after);
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// The days of the period `offset` days/weeks/months/years from the start's, as inclusive date ranges
    /// in order (a yearly rule with months looks at those months only); `None` past the calendar's end.
    fn period(&self, s: Date, offset: i64) -> Option<Vec<(Date, Date)>> {
        Some(match self.frequency {
            Frequency::Daily => {
                let d = s.checked_add(offset.days()).ok()?;
                vec![(d, d)]
            }
            Frequency::Weekly => {
                let first = week_start(s, self.week_start)
                    .checked_add((offset * 7).days())
                    .ok()?;
                vec![(first, first.checked_add(6.days()).ok()?)]
            }
            Frequency::Monthly => {
                let (y, m) = add_months(s.year(), s.month(), offset)?;
                let first = Date::new(y, m, 1).ok()?;
                vec![(first, first.last_of_month())]
            }
            Frequency::Yearly => {
                let y = i16::try_from(i64::from(s.year()) + offset).ok()?;
                let months: Vec<i8> = if self.months.is_empty() {
                    (1..=12).collect()
                } else {
                    self.months.clone()
                };
                months
                    .into_iter()
                    .map(|m| {
                        let first = Date::new(y, m, 1).ok()?;
                        Some((first, first.last_of_month()))
                    })
                    .collect::<Option<Vec<_>>>()?
            }
        })
    }

    /// The period's dates the rule selects, in order: every BYxxx part filters (an "expand" in RFC 5545's
    /// table selects the same days from the period), then BYSETPOS picks among them.
    fn dates_in(&self, ranges: &[(Date, Date)], s: Date) -> Vec<Date> {
        let mut dates: Vec<Date> = ranges
            .iter()
            .flat_map(|&(first, last)| first.series(1.day()).take_while(move |d| *d <= last))
            .filter(|d| self.selects(*d, s))
            .collect();
        if !self.set_positions.is_empty() {
            let len = dates.len() as i64;
            let mut picked: Vec<Date> = self
                .set_positions
                .iter()
                .filter_map(|&p| {
                    let i = if p > 0 {
                        i64::from(p) - 1
                    } else {
                        len + i64::from(p)
                    };
                    usize::try_from(i).ok().and_then(|i| dates.get(i).copied())
                })
                .collect();
            picked.sort();
            picked.dedup();
            dates = picked;
        }
        dates
    }

    /// Whether date `d` is one of the rule's (before BYSETPOS), for a series starting on `s`.
    fn selects(&self, d: Date, s: Date) -> bool {
        if !self.months.is_empty() && !self.months.contains(&d.month()) {
            return false;
        }
        if !self.month_days.is_empty() {
            let from_end = d.day() - d.days_in_month() - 1;
            if !self
                .month_days
                .iter()
                .any(|&md| md == d.day() || md == from_end)
            {
                return false;
            }
        }
        let by_day = !self.weekdays.is_empty() || !self.nth_weekdays.is_empty();
        if by_day {
            let wd = Day::from_jiff(d.weekday());
            let in_year = self.frequency == Frequency::Yearly && self.months.is_empty();
            let positioned = |nth: i8| {
                let (index, len) = if in_year {
                    (d.day_of_year(), d.days_in_year())
                } else {
                    (i16::from(d.day()), i16::from(d.days_in_month()))
                };
                let pos = if nth > 0 {
                    (index - 1) / 7 + 1
                } else {
                    -((len - index) / 7 + 1)
                };
                pos == i16::from(nth)
            };
            return self.weekdays.contains(&wd)
                || self
                    .nth_weekdays
                    .iter()
                    .any(|n| n.weekday == wd && positioned(n.nth));
        }
        if !self.month_days.is_empty() {
            return true;
        }
        // Neither BYDAY nor BYMONTHDAY: the start's weekday, day of month, or day of year (RFC 5545 takes
        // what the rule leaves open from DTSTART).
        match self.frequency {
            Frequency::Daily => true,
            Frequency::Weekly => d.weekday() == s.weekday(),
            Frequency::Monthly => d.day() == s.day(),
            Frequency::Yearly => {
                d.day() == s.day() && (!self.months.is_empty() || d.month() == s.month())
            }
        }
    }
}

fn days_between(a: Date, b: Date) -> i64 {
    a.until(b).map(|s| i64::from(s.get_days())).unwrap_or(0)
}

/// The first day of the week (weeks starting on `wkst`) that contains `d`.
fn week_start(d: Date, wkst: Day) -> Date {
    let back = i64::from(
        (d.weekday().to_monday_zero_offset() - wkst.to_jiff().to_monday_zero_offset())
            .rem_euclid(7),
    );
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
        nth_weekdays: vec![],
        month_days: vec![],
        months: vec![],
        set_positions: vec![],
        week_start: Day::Monday,
        until: None,
        count: None,
        exdates: vec![],
        basis: Basis::Due,
    };
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
        // A comma-separated list of numbers, each within the part's type.
        let numbers = |v: &str| {
            v.split(',')
                .map(|item| number(item.trim()))
                .collect::<Result<Vec<i64>, Invalid>>()
        };
        let narrow = |n: i64| bad(format!("{key}={n} is out of range"));
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
                let n = number(value)?;
                rule.interval = u16::try_from(n).map_err(|_| narrow(n))?
            }
            "COUNT" => {
                let n = number(value)?;
                rule.count = Some(u32::try_from(n).map_err(|_| narrow(n))?)
            }
            "BYMONTHDAY" => {
                for n in numbers(value)? {
                    rule.month_days
                        .push(i8::try_from(n).map_err(|_| narrow(n))?);
                }
            }
            "BYMONTH" => {
                for n in numbers(value)? {
                    rule.months.push(i8::try_from(n).map_err(|_| narrow(n))?);
                }
            }
            "BYSETPOS" => {
                for n in numbers(value)? {
                    rule.set_positions
                        .push(i16::try_from(n).map_err(|_| narrow(n))?);
                }
            }
            "BYDAY" => {
                for item in value.split(',').map(str::trim) {
                    let split = item.len().saturating_sub(2);
                    let (n, code) = (item.get(..split), item.get(split..));
                    let (Some(n), Some(weekday)) = (n, code.and_then(Day::from_code)) else {
                        return Err(bad(format!(
                            "BYDAY={item} is not a weekday (MO..SU), optionally with a position like 2TU or -1FR"
                        )));
                    };
                    if n.is_empty() {
                        rule.weekdays.push(weekday);
                    } else {
                        let nth = n
                            .strip_prefix('+')
                            .unwrap_or(n)
                            .parse::<i8>()
                            .map_err(|_| {
                                bad(format!("BYDAY={item} needs a position like 2TU or -1FR"))
                            })?;
                        rule.nth_weekdays.push(NthWeekday { nth, weekday });
                    }
                }
            }
            "UNTIL" => {
                rule.until = Some(Until::parse_rrule_value(value).ok_or_else(|| {
                    bad(format!(
                        "UNTIL={value} is not a date (YYYYMMDD) or a UTC date-time (YYYYMMDDTHHMMSSZ)"
                    ))
                })?);
            }
            "WKST" => {
                rule.week_start = Day::from_code(value)
                    .ok_or_else(|| bad(format!("WKST={value} is not a weekday (MO..SU)")))?;
            }
            other => return Err(bad(format!("RRULE part {other} is not supported"))),
        }
    }
    rule.frequency = frequency.ok_or_else(|| bad("FREQ is required".into()))?;
    rule.validate().map_err(|e| {
        bad(format!(
            "{}: {}",
            e.field.as_deref().unwrap_or("rule"),
            e.message
        ))
    })?;
    Ok(rule.normalized())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, datetime};
    use proptest::prelude::*;

    impl Rule {
        /// `next_in` with wall times read as UTC: the tests' series are zone-free unless they say so.
        fn next(
            &self,
            anchor: DateTime,
            current: DateTime,
            completed: DateTime,
            occurrence: u32,
        ) -> Option<Next> {
            self.next_in(&TimeZone::UTC, anchor, current, completed, occurrence)
        }
    }

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

    /// Monthly on the 31st skips shorter months, as RFC 5545 says; "the 31st or the last day of a shorter
    /// month" is its own standard RRULE, which the structured form names `short_months: last_day`.
    #[test]
    fn month_end_is_standard_rrule() {
        let start = datetime(2026, 1, 31, 12, 0, 0, 0);
        for text in ["FREQ=MONTHLY", "FREQ=MONTHLY;BYMONTHDAY=31"] {
            assert_eq!(
                dates(&series(&rule(text), start, 4)),
                ["2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31"],
                "{text}"
            );
        }
        let clamped = rule("FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1");
        assert_eq!(
            dates(&series(&clamped, start, 4)),
            ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]
        );
        let leap = series(&clamped, datetime(2028, 1, 31, 12, 0, 0, 0), 2);
        assert_eq!(dates(&leap), ["2028-01-31", "2028-02-29"]);
        let structured = RuleInput {
            frequency: Some(Frequency::Monthly),
            month_days: Some(vec![31]),
            short_months: Some(ShortMonths::LastDay),
            ..Default::default()
        }
        .into_rule()
        .unwrap();
        assert_eq!(structured, clamped);
        let thirtieth = RuleInput {
            frequency: Some(Frequency::Yearly),
            month_days: Some(vec![30]),
            months: Some(vec![2, 4]),
            short_months: Some(ShortMonths::LastDay),
            ..Default::default()
        }
        .into_rule()
        .unwrap();
        assert_eq!(
            thirtieth.to_rrule(),
            "FREQ=YEARLY;BYMONTHDAY=28,29,30;BYMONTH=2,4;BYSETPOS=-1"
        );
        let not_short = RuleInput {
            frequency: Some(Frequency::Monthly),
            month_days: Some(vec![15]),
            short_months: Some(ShortMonths::LastDay),
            ..Default::default()
        };
        assert_eq!(
            not_short.into_rule().unwrap_err().field.as_deref(),
            Some("short_months")
        );
    }

    /// BYSETPOS: the last weekday of the month, and the first and last of each month's Mondays.
    #[test]
    fn set_positions_pick_within_the_period() {
        let s = series(
            &rule("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"),
            datetime(2026, 1, 30, 17, 0, 0, 0),
            4,
        );
        assert_eq!(
            dates(&s),
            ["2026-01-30", "2026-02-27", "2026-03-31", "2026-04-30"]
        );
        let s = series(
            &rule("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1,-1"),
            datetime(2026, 1, 5, 9, 0, 0, 0),
            4,
        );
        assert_eq!(
            dates(&s),
            ["2026-01-05", "2026-01-26", "2026-02-02", "2026-02-23"]
        );
    }

    /// BYMONTH limits daily, weekly and monthly rules and expands yearly ones.
    #[test]
    fn months_limit_and_expand() {
        let s = series(
            &rule("FREQ=MONTHLY;BYMONTH=1,7;BYMONTHDAY=1"),
            datetime(2026, 1, 1, 9, 0, 0, 0),
            4,
        );
        assert_eq!(
            dates(&s),
            ["2026-01-01", "2026-07-01", "2027-01-01", "2027-07-01"]
        );
        let s = series(
            &rule("FREQ=YEARLY;BYMONTH=3,9"),
            datetime(2026, 3, 10, 9, 0, 0, 0),
            3,
        );
        assert_eq!(dates(&s), ["2026-03-10", "2026-09-10", "2027-03-10"]);
        let s = series(
            &rule("FREQ=WEEKLY;BYMONTH=12;BYDAY=SA"),
            datetime(2026, 11, 28, 9, 0, 0, 0),
            3,
        );
        assert_eq!(dates(&s), ["2026-11-28", "2026-12-05", "2026-12-12"]);
    }

    /// Issue 17, bug 3: a yearly rule without BYMONTH expands over the whole year — the 5th Monday of the
    /// year, and the 15th of every month — instead of being pinned to the first due's month.
    #[test]
    fn yearly_without_months_spans_the_year() {
        let s = series(
            &rule("FREQ=YEARLY;BYDAY=5MO"),
            datetime(2026, 2, 2, 9, 0, 0, 0),
            3,
        );
        assert_eq!(dates(&s), ["2026-02-02", "2027-02-01", "2028-01-31"]);
        let s = series(
            &rule("FREQ=YEARLY;BYMONTHDAY=15"),
            datetime(2026, 1, 15, 9, 0, 0, 0),
            3,
        );
        assert_eq!(dates(&s), ["2026-01-15", "2026-02-15", "2026-03-15"]);
        let s = series(
            &rule("FREQ=YEARLY;BYDAY=-1SU"),
            datetime(2026, 12, 27, 9, 0, 0, 0),
            2,
        );
        assert_eq!(dates(&s), ["2026-12-27", "2027-12-26"]);
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

    /// Yearly on Feb 29 happens in leap years only; with BYSETPOS=-1 over 28,29 it is Feb 28 otherwise.
    #[test]
    fn yearly_leap_day() {
        let s = series(
            &rule("FREQ=YEARLY;BYMONTHDAY=29;BYMONTH=2"),
            datetime(2028, 2, 29, 10, 0, 0, 0),
            3,
        );
        assert_eq!(dates(&s), ["2028-02-29", "2032-02-29", "2036-02-29"]);
        let s = series(
            &rule("FREQ=YEARLY;BYMONTHDAY=28,29;BYMONTH=2;BYSETPOS=-1"),
            datetime(2028, 2, 29, 10, 0, 0, 0),
            3,
        );
        assert_eq!(dates(&s), ["2028-02-29", "2029-02-28", "2030-02-28"]);
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

    /// EXDATE: a skipped date has no occurrence but still counts towards COUNT (RFC 5545); it is given with
    /// an rrule or with the fields, and a completion-based series skips it too.
    #[test]
    fn exdates_skip_occurrences() {
        let input = |rrule: &str, exdates: Vec<Date>| {
            RuleInput {
                rrule: Some(rrule.into()),
                exdates: Some(exdates),
                ..Default::default()
            }
            .into_rule()
            .unwrap()
        };
        let r = input("FREQ=WEEKLY;COUNT=4", vec![date(2026, 1, 12)]);
        assert_eq!(r.to_rrule(), "FREQ=WEEKLY;COUNT=4");
        assert_eq!(
            dates(&series(&r, datetime(2026, 1, 5, 9, 0, 0, 0), 10)),
            ["2026-01-05", "2026-01-19", "2026-01-26"]
        );
        let r = input(
            "FREQ=DAILY",
            vec![date(2026, 1, 3), date(2026, 1, 2), date(2026, 1, 3)],
        );
        assert_eq!(r.exdates, [date(2026, 1, 2), date(2026, 1, 3)]);
        assert_eq!(
            dates(&series(&r, datetime(2026, 1, 1, 9, 0, 0, 0), 3)),
            ["2026-01-01", "2026-01-04", "2026-01-05"]
        );
        let mut chore = RuleInput {
            frequency: Some(Frequency::Daily),
            interval: Some(2),
            exdates: Some(vec![date(2026, 1, 12)]),
            ..Default::default()
        }
        .into_rule()
        .unwrap();
        chore.basis = Basis::Completion;
        let anchor = datetime(2026, 1, 1, 8, 0, 0, 0);
        let next = chore
            .next(anchor, anchor, datetime(2026, 1, 10, 10, 0, 0, 0), 1)
            .unwrap();
        assert_eq!(next.local, datetime(2026, 1, 14, 8, 0, 0, 0));
        let too_many = RuleInput {
            rrule: Some("FREQ=DAILY".into()),
            exdates: Some(
                date(2026, 1, 1)
                    .series(1.day())
                    .take(MAX_EXDATES + 1)
                    .collect(),
            ),
            ..Default::default()
        };
        assert_eq!(
            too_many.into_rule().unwrap_err().field.as_deref(),
            Some("exdates")
        );
    }

    /// Skipping adds one EXDATE; when the list is full, the dates before the skipped one make room, and a
    /// list full of later dates is an error naming the field.
    #[test]
    fn skipping_adds_an_exdate_and_makes_room_from_the_past() {
        let r = rule("FREQ=DAILY");
        let skipped = r.skipping(date(2026, 1, 2)).unwrap();
        assert_eq!(skipped.exdates, [date(2026, 1, 2)]);
        assert_eq!(skipped.skipping(date(2026, 1, 2)).unwrap(), skipped);
        let mut full = r.clone();
        // Every other day from 1 January: 76 of them fall on or before 1 June, which is not one of them.
        full.exdates = date(2026, 1, 1)
            .series(2.days())
            .take(MAX_EXDATES)
            .collect();
        let made_room = full.skipping(date(2026, 6, 1)).unwrap();
        assert_eq!(made_room.exdates.first(), Some(&date(2026, 6, 1)));
        assert_eq!(made_room.exdates.len(), MAX_EXDATES - 75);
        let e = full.skipping(date(2025, 12, 1)).unwrap_err();
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("too_many", Some("recurrence.exdates"))
        );
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

    /// From completion, the rule's time of day stays: an 08:00 chore completed at 10:00 is next due at
    /// 08:00, and one whose first due fell in a DST gap keeps the wall time asked for.
    #[test]
    fn completion_basis_keeps_time_of_day() {
        let mut r = rule("FREQ=DAILY;INTERVAL=2");
        r.basis = Basis::Completion;
        let anchor = datetime(2026, 1, 1, 8, 0, 0, 0);
        let next = r
            .next(anchor, anchor, datetime(2026, 1, 5, 10, 0, 0, 0), 1)
            .unwrap();
        assert_eq!(next.local, datetime(2026, 1, 7, 8, 0, 0, 0));
        let gap = datetime(2026, 3, 29, 2, 30, 0, 0);
        let next = r
            .next(
                gap,
                datetime(2026, 3, 29, 3, 30, 0, 0),
                datetime(2026, 3, 29, 9, 0, 0, 0),
                1,
            )
            .unwrap();
        assert_eq!(next.local, datetime(2026, 3, 31, 2, 30, 0, 0));
    }

    /// A rule whose dates never come (February 30th) ends the series after its first task instead of
    /// searching forever: a full 400-year calendar cycle without a date means none will come.
    #[test]
    fn rule_without_dates_ends() {
        for text in [
            "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30",
            "FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31",
            "FREQ=WEEKLY;BYDAY=MO;BYSETPOS=2",
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-30",
        ] {
            let start = datetime(2026, 1, 5, 9, 0, 0, 0);
            assert_eq!(series(&rule(text), start, 3), [start], "{text}");
        }
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
            ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0", "BYSETPOS"),
            ("FREQ=WEEKLY;BYMONTHDAY=3", "BYMONTHDAY"),
            ("FREQ=WEEKLY;BYDAY=1MO", "position"),
            ("FREQ=MONTHLY;BYDAY=6MO", "position"),
            ("FREQ=YEARLY;BYDAY=54MO", "position"),
            ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY"),
            ("FREQ=MONTHLY;BYMONTHDAY=1,,2", "not a number"),
            ("FREQ=DAILY;WKST=XX", "WKST"),
            ("FREQ=DAILY;BYHOUR=9", "BYHOUR"),
            ("FREQ=DAILY;INTERVAL=0", "interval"),
            ("FREQ=DAILY;INTERVAL=x", "not a number"),
            ("FREQ=DAILY;COUNT=3;UNTIL=20260101", "count or until"),
            ("FREQ=WEEKLY;BYDAY=XX", "XX"),
            ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY"),
            ("FREQ=MONTHLY;BYMONTHDAY=-32", "BYMONTHDAY"),
            ("FREQ=DAILY;FREQ=DAILY", "twice"),
            ("FREQ=MONTHLY;BYDAY=+FR", "position"),
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
            nth_weekdays: Some(vec![NthWeekday {
                nth: 6,
                weekday: Day::Monday,
            }]),
            ..Default::default()
        };
        assert_eq!(
            bad_nth.into_rule().unwrap_err().field.as_deref(),
            Some("nth_weekdays[0].nth")
        );
        // Earlier versions' singular names still read, from stored rules and from clients.
        let legacy: RuleInput = serde_json::from_str(
            r#"{"frequency":"yearly","month_day":4,"month":7,"nth_weekday":null}"#,
        )
        .unwrap();
        assert_eq!(
            legacy.into_rule().unwrap().to_rrule(),
            "FREQ=YEARLY;BYMONTHDAY=4;BYMONTH=7"
        );
        let stored: Rule = serde_json::from_str(
            r#"{"frequency":"monthly","interval":1,"weekdays":[],"month_day":null,"nth_weekday":{"nth":-1,"weekday":"friday"},"month":null,"until":null,"count":null,"basis":"due"}"#,
        )
        .unwrap();
        assert_eq!(stored, rule("FREQ=MONTHLY;BYDAY=-1FR"));
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
            let r = Rule { frequency, interval, weekdays: weekdays.clone(), nth_weekdays: vec![], month_days: vec![],
                months: vec![], set_positions: vec![], week_start: Day::Monday, until: None, count: None, exdates: vec![], basis: Basis::Due };
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
            let r = Rule { frequency, interval, weekdays: vec![], nth_weekdays: vec![],
                month_days: if freq >= 2 { vec![31] } else { vec![] }, months: vec![], set_positions: vec![],
                week_start: Day::Monday, until: None, count: None, exdates: vec![], basis: Basis::Due };
            let anchor = datetime(2024, 1, 31, 9, 0, 0, 0);
            let after = anchor.checked_add(offset_days.days()).unwrap();
            let direct = r.first_after(anchor, after).unwrap();
            let mut walked = anchor;
            while walked <= after { walked = r.first_after(anchor, walked).unwrap(); }
            prop_assert_eq!(direct, walked);
        }
    }
}

pub mod legacy;

#[cfg(test)]
mod oracle_tests;
