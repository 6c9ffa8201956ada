//! Natural-language quick add: one line such as `Call mom tomorrow 5pm every sunday #family !high` read
//! into a title and the task's fields, in the user's zone, with the span of every piece it recognised (so a
//! preview can highlight them). Pure: the caller passes the text, the zone and `now`.
//!
//! # Grammar
//!
//! Words are separated by whitespace; trailing `,` `.` `;` `:` `?` `)` are not part of a word. Matching is
//! case-insensitive.
//!
//! - **Tag** `#name`: letters, digits, `_`, `-`, `/`, with at least one letter (`#123` is an issue number,
//!   not a tag).
//! - **Project** `+name` (a letter first, then letters, digits, `_`, `-`). `+` rather than `@`: `@` is in
//!   email addresses and mentions (`Email ada@example.com`, `Lunch @ Joe's`), and `#` is already our tags.
//! - **Priority** `!low`, `!medium` (`!med`), `!high`, `!urgent`; or `p1` (urgent), `p2` (high),
//!   `p3` (medium), `p4` (low) — Todoist's order, p1 the most urgent.
//! - **Dates**: `today`, `tomorrow` (`tmrw`), `tonight` (today at 20:00 unless a time is given); a weekday
//!   (`fri`, `friday`: the next one after today), `this friday` (today if it is Friday), `next friday` (the
//!   Friday of next week, weeks starting on Monday); `next week` (its Monday), `next month` (its 1st), `this
//!   weekend` / `next weekend` (the Saturday); `in 3 days` (`a`/`an`/`one`…`twelve` or digits; days, weeks,
//!   months, years; `in 2 hours`, `in 30 minutes` give a time too); `dec 24`, `december 24th`, `24 dec`,
//!   `24th of december`, optionally with a year (without one: the next such date, today included);
//!   `2027-01-05`. `on`, `by`, `due`, `due on`, `due by` may precede a date. There are no numeric
//!   `1/5`-style dates: the order of day and month differs between countries.
//! - **Times**: `5pm`, `5 pm`, `5:30pm`, `5:30 p.m.`, `17:00`, `noon` (`midday`), optionally after `at`. A
//!   bare number is never a time (`Buy 5 apples`). A time without a date is today, or tomorrow when it has
//!   passed.
//! - **Recurrence**: `every day`, `every 3 days`, `every other week`, `every weekday`, `every weekend`,
//!   `every monday and thursday` (also `mon, thu`), `every 2 weeks on monday`, `every month on the 15th`,
//!   `every 15th` (the 29th–31st take the last day of a shorter month: someone asking for the 31st means
//!   month end), `every month on the last day`, `every last friday`, `every first monday of the month`,
//!   `every year`; bare `daily`, `weekly`, `monthly`, `yearly`, `annually`. `every!` repeats from the
//!   completion date instead (`every! 3 days`). A rule's first due date is the date given, when one is
//!   (RFC 5545: the start is the first occurrence even when the rule would not produce it); otherwise the
//!   first date the rule produces from today on (tomorrow on when the time given has passed today).
//! - **Reminder** `remind me 30m before` (`30 min`, `1h`, `2 hours`, `an hour`, `1 day`, `1w`…): a relative
//!   reminder, so it needs a due date.
//!
//! Each kind is read once (one date, one time, one rule, one priority, one project): of two, the one nearer
//! the end counts and the other stays in the title. Tags and reminders may repeat. Everything not
//! recognised, in its order, is the title; a recognised word takes its trailing punctuation with it.
//!
//! # What stays title
//!
//! A phrase can be part of the title ("Read The Day of the Jackal", "Watch Friday Night Lights", "Email May
//! about June", "Buy 5 apples"), so the parser is conservative:
//!
//! 1. `#tag`, `+project` and `!priority` count anywhere.
//! 2. Everything else counts in the **tail**: the run of recognised phrases that ends the text (after at
//!    least one title word), e.g. `Call mom ‹tomorrow› ‹5pm› ‹every sunday› ‹#family› ‹!high›`.
//! 3. Before the tail only *unmistakable* phrases count: `today`, `tomorrow`, `tonight`, `this`/`next` +
//!    weekday, `next week`/`month`/`weekend`, `in N days` and the like, a date after `on`/`by`/`due`, an
//!    ISO date, a time after `at`, and `remind me …`. A bare weekday, month date, time, `p1`–`p4`,
//!    `daily` and `every …` there stay title (`Watch Friday Night Lights`, `Prepare May 1 speech`, `Do
//!    every day challenge`).
//! 4. A month name needs a day number (`Email May about June` has no date), and the day must exist.
//! 5. Capitalised names: a phrase that begins with a capital letter right after a capitalised title word
//!    (other than the text's first word), or that ends with one right before a capitalised word, is part of a
//!    name: `Watch The Day After Tomorrow`, `Tomorrow Never Dies`, `Read Today I Learned` stay titles
//!    (`Call Mom on Friday` is a date: `on` is lower case).

use crate::domain::due::{Due, DueView};
use crate::domain::recurrence::{
    Basis, Day, Frequency, NthWeekday, Rule, RuleInput, RuleView, ShortMonths,
};
use crate::domain::reminder::MAX_MINUTES_BEFORE;
use crate::domain::task::Priority;
use crate::error::Invalid;
use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

/// The longest text read (a title is at most 500 characters; the rest is dates, tags and the like).
pub const MAX_TEXT_CHARS: usize = 2000;
/// What `tonight` means without a time.
pub const TONIGHT: Time = Time::constant(20, 0, 0, 0);

/// What a recognised piece of the text sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    Date,
    Time,
    Recurrence,
    Tag,
    Priority,
    Project,
    Reminder,
}

/// One recognised piece of the text, where it is (in characters for a UI, in bytes for a program).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Span {
    pub kind: SpanKind,
    /// Offset of the first character (Unicode scalar value) in the text, 0-based.
    pub start: usize,
    /// Offset just past the last character.
    pub end: usize,
    /// The same as UTF-8 byte offsets.
    pub byte_start: usize,
    pub byte_end: usize,
    /// The words recognised, as written.
    pub text: String,
}

/// A due date as read: a local date (all day), a local wall-clock date-time, or an instant (`in 2 hours`,
/// which is two real hours later even across a DST change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuickDue {
    Date(Date),
    At(DateTime),
    Instant(Timestamp),
}

impl QuickDue {
    /// The spelling a task's `due` field takes (`YYYY-MM-DD`, local `YYYY-MM-DDTHH:MM:SS` or RFC 3339).
    pub fn input(&self) -> String {
        match self {
            QuickDue::Date(d) => d.to_string(),
            QuickDue::At(dt) => dt.to_string(),
            QuickDue::Instant(t) => t.to_string(),
        }
    }

    pub fn resolve(&self, tz: &TimeZone) -> Due {
        match *self {
            QuickDue::Date(d) => Due::all_day(d, tz),
            QuickDue::At(dt) => Due::local(dt, tz),
            QuickDue::Instant(t) => Due::from_stored(t.as_millisecond(), false),
        }
    }
}

/// What a quick-add line says.
#[derive(Debug, Clone, PartialEq)]
pub struct QuickAdd {
    /// The words not recognised, in order, whitespace collapsed.
    pub title: String,
    pub due: Option<QuickDue>,
    pub recurrence: Option<Rule>,
    /// In the order written, without case-insensitive repeats.
    pub tags: Vec<String>,
    pub priority: Option<Priority>,
    pub project: Option<String>,
    /// Relative reminders, minutes before the due time.
    pub reminders: Vec<u32>,
    /// In text order.
    pub spans: Vec<Span>,
}

/// `POST /api/v1/tasks/parse` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuickAddInput {
    /// e.g. `Call mom tomorrow 5pm every sunday #family !high` (at most 2000 characters).
    #[schema(max_length = 2000)]
    pub text: String,
}

/// A reminder as read: minutes before the due time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuickReminder {
    pub minutes_before: u32,
}

/// What a quick-add line says, as the API shows it (dates in the user's zone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuickAddView {
    /// The task's title: the words not recognised (may be empty).
    pub title: String,
    pub due: Option<DueView>,
    pub recurrence: Option<RuleView>,
    pub tags: Vec<String>,
    /// `null` when the text names none.
    pub priority: Option<Priority>,
    /// A `+project` named in the text.
    pub project: Option<String>,
    /// The id of your project `project` names (case-insensitive, `_` for a space), or `null` when you have
    /// none by that name that is not archived: creating from this text is then a 422.
    pub project_id: Option<uuid::Uuid>,
    pub reminders: Vec<QuickReminder>,
    pub spans: Vec<Span>,
}

/// A quick-add text is at most [`MAX_TEXT_CHARS`] characters.
pub fn check_text(text: &str) -> Result<(), Invalid> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Invalid::new(
            "too_long",
            "text",
            format!("text must be at most {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(())
}

impl QuickAdd {
    pub fn view(&self, tz: &TimeZone) -> QuickAddView {
        QuickAddView {
            title: self.title.clone(),
            due: self.due.map(|d| d.resolve(tz).view(tz)),
            recurrence: self.recurrence.as_ref().map(Rule::view),
            tags: self.tags.clone(),
            priority: self.priority,
            project: self.project.clone(),
            project_id: None,
            reminders: self
                .reminders
                .iter()
                .map(|&m| QuickReminder { minutes_before: m })
                .collect(),
            spans: self.spans.clone(),
        }
    }
}

/// Read `text` in zone `tz` at `now`.
pub fn parse(text: &str, tz: &TimeZone, now: Timestamp) -> QuickAdd {
    let now_local = now.to_zoned(tz.clone()).datetime();
    let cx = Context {
        today: now_local.date(),
        now: now_local,
        instant: now,
    };
    let words = words(text);
    let found: Vec<Match> = (0..words.len())
        .flat_map(|i| matches_at(&words, i, &cx))
        .collect();
    let chosen = choose(&words, &found);
    assemble(text, &words, chosen, &cx)
}

// ---------- words ----------

struct Word<'a> {
    /// The word without trailing punctuation, as written.
    raw: &'a str,
    lower: String,
    start: usize,
    end: usize,
    /// Where the word ends with its trailing punctuation: a recognised word takes that with it.
    full_end: usize,
    /// Followed by a comma (`mon, thu`).
    comma: bool,
}

impl Word<'_> {
    fn capitalised(&self) -> bool {
        self.raw.chars().next().is_some_and(char::is_uppercase)
    }

    fn marked(&self) -> bool {
        self.raw.starts_with(['#', '+', '!'])
    }
}

fn words(text: &str) -> Vec<Word<'_>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                let raw = text[s..i].trim_end_matches([',', '.', ';', ':', '?', ')']);
                if !raw.is_empty() {
                    out.push(Word {
                        raw,
                        lower: raw.to_lowercase(),
                        start: s,
                        end: s + raw.len(),
                        full_end: i,
                        comma: text[s + raw.len()..i].contains(','),
                    });
                }
                start = None;
            }
            _ => {}
        }
    }
    out
}

// ---------- pieces ----------

struct Context {
    today: Date,
    /// Now, local.
    now: DateTime,
    instant: Timestamp,
}

#[derive(Debug, Clone)]
enum Piece {
    Date(Date),
    /// Today, at [`TONIGHT`] unless a time is given.
    Tonight,
    Time(Time),
    /// A date and time together (`in 2 hours`).
    Moment(Timestamp),
    Every(Rule),
    Tag(String),
    Project(String),
    Priority(Priority),
    Reminder(u32),
}

const DATE: u8 = 1;
const TIME: u8 = 2;
const RECURRENCE: u8 = 4;
const PRIORITY: u8 = 8;
const PROJECT: u8 = 16;

impl Piece {
    /// The kinds this piece sets (each is set once).
    fn kinds(&self) -> u8 {
        match self {
            Piece::Date(_) | Piece::Tonight => DATE,
            Piece::Time(_) => TIME,
            Piece::Moment(_) => DATE | TIME,
            Piece::Every(_) => RECURRENCE,
            Piece::Priority(_) => PRIORITY,
            Piece::Project(_) => PROJECT,
            Piece::Tag(_) | Piece::Reminder(_) => 0,
        }
    }

    fn span_kind(&self) -> SpanKind {
        match self {
            Piece::Date(_) | Piece::Tonight | Piece::Moment(_) => SpanKind::Date,
            Piece::Time(_) => SpanKind::Time,
            Piece::Every(_) => SpanKind::Recurrence,
            Piece::Tag(_) => SpanKind::Tag,
            Piece::Project(_) => SpanKind::Project,
            Piece::Priority(_) => SpanKind::Priority,
            Piece::Reminder(_) => SpanKind::Reminder,
        }
    }
}

#[derive(Debug, Clone)]
struct Match {
    start: usize,
    len: usize,
    piece: Piece,
    /// Unmistakable: counts outside the tail too.
    strong: bool,
}

impl Match {
    fn end(&self) -> usize {
        self.start + self.len
    }
}

/// Every phrase that starts at word `i`: (length in words, piece, strong).
fn matches_at(w: &[Word], i: usize, cx: &Context) -> Vec<Match> {
    let mut out: Vec<(usize, Piece, bool)> = Vec::new();
    if let Some(piece) = marked(w[i].raw) {
        out.push((1, piece, true));
    }
    if let Some(p) = p_priority(&w[i].lower) {
        out.push((1, Piece::Priority(p), false));
    }
    // A date, possibly after a preposition that makes it unmistakable.
    let (skip, prep) = match (word(w, i), word(w, i + 1)) {
        ("due", "on" | "by") => (2, true),
        ("on" | "by" | "due", _) => (1, true),
        _ => (0, false),
    };
    for (len, piece, strong) in dates(w, i + skip, cx) {
        out.push((len + skip, piece, strong || prep));
    }
    if word(w, i) == "at" {
        if let Some((len, t)) = time(w, i + 1) {
            out.push((len + 1, Piece::Time(t), true));
        }
    } else if let Some((len, t)) = time(w, i) {
        out.push((len, Piece::Time(t), false));
    }
    for (len, rule) in recurrence(w, i) {
        out.push((len, Piece::Every(rule), false));
    }
    if let Some((len, minutes)) = reminder(w, i) {
        out.push((len, Piece::Reminder(minutes), true));
    }
    out.into_iter()
        .map(|(len, piece, strong)| Match {
            start: i,
            len,
            piece,
            strong,
        })
        .collect()
}

fn word<'a>(w: &'a [Word], i: usize) -> &'a str {
    w.get(i).map_or("", |w| w.lower.as_str())
}

fn marked(raw: &str) -> Option<Piece> {
    let mut chars = raw.chars();
    let sigil = chars.next()?;
    let name = chars.as_str();
    let name_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '/');
    match sigil {
        '#' if !name.is_empty()
            && name.chars().all(name_char)
            && name.chars().any(char::is_alphabetic) =>
        {
            Some(Piece::Tag(name.to_owned()))
        }
        '+' if name.chars().next().is_some_and(char::is_alphabetic)
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-')) =>
        {
            Some(Piece::Project(name.to_owned()))
        }
        '!' => match name.to_lowercase().as_str() {
            "low" => Some(Piece::Priority(Priority::Low)),
            "med" | "medium" => Some(Piece::Priority(Priority::Medium)),
            "high" => Some(Piece::Priority(Priority::High)),
            "urgent" => Some(Piece::Priority(Priority::Urgent)),
            _ => None,
        },
        _ => None,
    }
}

fn p_priority(lower: &str) -> Option<Priority> {
    match lower {
        "p1" => Some(Priority::Urgent),
        "p2" => Some(Priority::High),
        "p3" => Some(Priority::Medium),
        "p4" => Some(Priority::Low),
        _ => None,
    }
}

fn weekday(s: &str) -> Option<Day> {
    Some(match s {
        "mon" | "monday" => Day::Monday,
        "tue" | "tues" | "tuesday" => Day::Tuesday,
        "wed" | "weds" | "wednesday" => Day::Wednesday,
        "thu" | "thur" | "thurs" | "thursday" => Day::Thursday,
        "fri" | "friday" => Day::Friday,
        "sat" | "saturday" => Day::Saturday,
        "sun" | "sunday" => Day::Sunday,
        _ => return None,
    })
}

fn month(s: &str) -> Option<i8> {
    const NAMES: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    if s == "sept" {
        return Some(9);
    }
    NAMES
        .iter()
        .position(|n| *n == s || (s.len() == 3 && n.starts_with(s)))
        .map(|i| i as i8 + 1)
}

/// A day of the month: `24`, `24th`, `1st`, `2nd`, `3rd`.
fn day_number(s: &str) -> Option<i8> {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &s[digits.len()..];
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i8 = digits.parse().ok()?;
    let expected = match (n % 10, n / 10 % 10) {
        (_, 1) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    ((1..=31).contains(&n) && (suffix.is_empty() || suffix == expected)).then_some(n)
}

/// `first`…`fifth`, `1st`…`5th`, `last`.
fn ordinal(s: &str) -> Option<i8> {
    Some(match s {
        "first" | "1st" => 1,
        "second" | "2nd" => 2,
        "third" | "3rd" => 3,
        "fourth" | "4th" => 4,
        "fifth" | "5th" => 5,
        "last" => -1,
        _ => return None,
    })
}

/// A count: digits (1..=1000) or `a`, `an`, `one`…`twelve`.
fn count(s: &str) -> Option<u16> {
    const WORDS: [&str; 12] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve",
    ];
    if s == "a" || s == "an" {
        return Some(1);
    }
    if let Some(i) = WORDS.iter().position(|w| *w == s) {
        return Some(i as u16 + 1);
    }
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|n| (1..=1000).contains(n))
}

fn year(s: &str) -> Option<i16> {
    (s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
        .filter(|y| (1900..=2999).contains(y))
}

/// The first `day` strictly after `from`.
fn next_weekday(from: Date, day: Day) -> Date {
    let ahead = (day.to_jiff().to_monday_zero_offset() - from.weekday().to_monday_zero_offset())
        .rem_euclid(7);
    let ahead = if ahead == 0 { 7 } else { ahead };
    from.checked_add(i64::from(ahead).days()).unwrap_or(from)
}

/// `day` in the week after `from`'s (weeks start on Monday).
fn weekday_next_week(from: Date, day: Day) -> Date {
    let monday = from
        .checked_sub(i64::from(from.weekday().to_monday_zero_offset()).days())
        .unwrap_or(from);
    monday
        .checked_add((7 + i64::from(day.to_jiff().to_monday_zero_offset())).days())
        .unwrap_or(from)
}

/// Dates (and `tonight`, `in 2 hours`) at word `i`: (length, piece, strong).
fn dates(w: &[Word], i: usize, cx: &Context) -> Vec<(usize, Piece, bool)> {
    let today = cx.today;
    let mut out = Vec::new();
    let w0 = word(w, i);
    let w1 = word(w, i + 1);
    match w0 {
        "today" => out.push((1, Piece::Date(today), true)),
        "tomorrow" | "tmrw" => out.push((1, Piece::Date(day_after(today)), true)),
        "tonight" => out.push((1, Piece::Tonight, true)),
        "this" | "next" => {
            let next = w0 == "next";
            if let Some(day) = weekday(w1) {
                let date = if next {
                    weekday_next_week(today, day)
                } else if today.weekday() == day.to_jiff() {
                    today
                } else {
                    next_weekday(today, day)
                };
                out.push((2, Piece::Date(date), true));
            }
            match (w1, next) {
                ("week", true) => {
                    out.push((2, Piece::Date(weekday_next_week(today, Day::Monday)), true))
                }
                ("month", true) => {
                    let first = today.first_of_month();
                    if let Ok(d) = first.checked_add(1.month()) {
                        out.push((2, Piece::Date(d), true));
                    }
                }
                ("weekend", true) => out.push((
                    2,
                    Piece::Date(weekday_next_week(today, Day::Saturday)),
                    true,
                )),
                ("weekend", false) => {
                    let date = match today.weekday() {
                        Weekday::Saturday | Weekday::Sunday => today,
                        _ => next_weekday(today, Day::Saturday),
                    };
                    out.push((2, Piece::Date(date), true));
                }
                _ => {}
            }
        }
        "in" => {
            if let (Some(n), unit) = (count(w1), word(w, i + 2)) {
                let n = i64::from(n);
                let date = match unit {
                    "day" | "days" => today.checked_add(n.days()).ok(),
                    "week" | "weeks" => today.checked_add(n.weeks()).ok(),
                    "month" | "months" => today.checked_add(n.months()).ok(),
                    "year" | "years" => today.checked_add(n.years()).ok(),
                    _ => None,
                };
                if let Some(d) = date {
                    out.push((3, Piece::Date(d), true));
                }
                let minutes = match unit {
                    "hour" | "hours" | "hr" | "hrs" | "h" => Some(n * 60),
                    "minute" | "minutes" | "min" | "mins" => Some(n),
                    _ => None,
                };
                // Whole minutes: a due time of 12:17:45 would show as a time nobody asked for.
                if let Some(m) = minutes
                    && let Ok(at) = cx.instant.checked_add(SignedDuration::from_mins(m))
                    && let Ok(at) = Timestamp::from_second(at.as_second().div_euclid(60) * 60)
                {
                    out.push((3, Piece::Moment(at), true));
                }
            }
        }
        _ => {}
    }
    if let Some(day) = weekday(w0) {
        out.push((1, Piece::Date(next_weekday(today, day)), false));
    }
    // `dec 24 [2027]`, `24 dec [2027]`, `24th of december`.
    let month_day = match (month(w0), day_number(w0)) {
        (Some(m), _) => day_number(w1).map(|d| (m, d, 2)),
        (None, Some(d)) if w1 == "of" => month(word(w, i + 2)).map(|m| (m, d, 3)),
        (None, Some(d)) => month(w1).map(|m| (m, d, 2)),
        _ => None,
    };
    if let Some((m, d, len)) = month_day {
        if let Some(y) = year(word(w, i + len))
            && let Ok(date) = Date::new(y, m, d)
        {
            out.push((len + 1, Piece::Date(date), false));
        }
        let this_year = Date::new(today.year(), m, d).ok();
        let next_year = Date::new(today.year() + 1, m, d).ok();
        // Feb 29 waits for the next leap year rather than vanishing.
        let upcoming = [this_year, next_year]
            .into_iter()
            .flatten()
            .chain((2..=8).filter_map(|k| Date::new(today.year() + k, m, d).ok()))
            .find(|date| *date >= today);
        if let Some(date) = upcoming {
            out.push((len, Piece::Date(date), false));
        }
    }
    if w0.len() == 10
        && w0.as_bytes()[4] == b'-'
        && w0.as_bytes()[7] == b'-'
        && let Ok(date) = w0.parse::<Date>()
    {
        out.push((1, Piece::Date(date), true));
    }
    out
}

fn day_after(d: Date) -> Date {
    d.checked_add(1.day()).unwrap_or(d)
}

/// A time at word `i`: (length, time).
fn time(w: &[Word], i: usize) -> Option<(usize, Time)> {
    let w0 = word(w, i);
    if w0 == "noon" || w0 == "midday" {
        return Some((1, Time::constant(12, 0, 0, 0)));
    }
    let meridiem = |s: &str| match s.replace('.', "").as_str() {
        "am" => Some(false),
        "pm" => Some(true),
        _ => None,
    };
    let digits_end = w0
        .find(|c: char| !c.is_ascii_digit() && c != ':')
        .unwrap_or(w0.len());
    let (clock, rest) = w0.split_at(digits_end);
    let (h, m) = match clock.split_once(':') {
        Some((h, m)) if m.len() == 2 => (h, m),
        Some(_) => return None,
        None => (clock, "00"),
    };
    if h.is_empty() || h.len() > 2 || !h.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hour, minute): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    if minute > 59 {
        return None;
    }
    let (pm, len) = if rest.is_empty() {
        match meridiem(word(w, i + 1)) {
            Some(pm) => (Some(pm), 2),
            None => (None, 1),
        }
    } else {
        (Some(meridiem(rest)?), 1)
    };
    let hour = match pm {
        Some(pm) if (1..=12).contains(&hour) => hour % 12 + if pm { 12 } else { 0 },
        Some(_) => return None,
        // Without am/pm only a 24-hour clock with minutes is a time (`17:00`), never a bare number.
        None if clock.contains(':') && hour <= 23 => hour,
        None => return None,
    };
    Time::new(hour, minute, 0, 0).ok().map(|t| (len, t))
}

/// Weekdays joined by `,`, `and`, `&`: (length, days).
fn weekday_list(w: &[Word], i: usize) -> Option<(usize, Vec<Day>)> {
    let mut days = vec![weekday(word(w, i))?];
    let mut len = 1;
    loop {
        let (sep, next) = match word(w, i + len) {
            "and" | "&" => (1, word(w, i + len + 1)),
            _ => (0, word(w, i + len)),
        };
        // Two weekdays need `and`, `&` or a comma between them.
        let comma = sep == 0 && w[i + len - 1].comma;
        match weekday(next) {
            Some(d) if sep == 1 || comma => {
                if !days.contains(&d) {
                    days.push(d);
                }
                len += sep + 1;
            }
            _ => return Some((len, days)),
        }
    }
}

/// Recurrence at word `i`: every (length, rule).
fn recurrence(w: &[Word], i: usize) -> Vec<(usize, Rule)> {
    let simple = |frequency| {
        vec![(
            0,
            RuleInput {
                frequency: Some(frequency),
                ..Default::default()
            },
        )]
    };
    let (inputs, basis) = match word(w, i) {
        "daily" => (simple(Frequency::Daily), Basis::Due),
        "weekly" => (simple(Frequency::Weekly), Basis::Due),
        "monthly" => (simple(Frequency::Monthly), Basis::Due),
        "yearly" | "annually" => (simple(Frequency::Yearly), Basis::Due),
        "every" => (every(w, i + 1), Basis::Due),
        "every!" => (every(w, i + 1), Basis::Completion),
        _ => return Vec::new(),
    };
    inputs
        .into_iter()
        .filter_map(|(len, input)| {
            RuleInput {
                basis: Some(basis),
                ..input
            }
            .into_rule()
            .ok()
            .map(|rule| (len + 1, rule))
        })
        .collect()
}

/// What follows `every`: (length, rule).
fn every(w: &[Word], i: usize) -> Vec<(usize, RuleInput)> {
    let mut out = Vec::new();
    let w0 = word(w, i);
    let base = |frequency| RuleInput {
        frequency: Some(frequency),
        ..Default::default()
    };
    // `every [N|other] day(s)/week(s)/month(s)/year(s)`, then what a week or month adds.
    let (interval, at) = match (w0, count(w0)) {
        ("other", _) => (Some(2), i + 1),
        (_, Some(n)) if !matches!(w0, "a" | "an") => (Some(n), i + 1),
        _ => (None, i),
    };
    let unit = word(w, at);
    let frequency = match (unit, interval.is_some_and(|n| n > 1) && w0 != "other") {
        ("day", false) | ("days", true) => Some(Frequency::Daily),
        ("week", false) | ("weeks", true) => Some(Frequency::Weekly),
        ("month", false) | ("months", true) => Some(Frequency::Monthly),
        ("year", false) | ("years", true) => Some(Frequency::Yearly),
        _ => None,
    };
    if let Some(frequency) = frequency {
        let simple = RuleInput {
            interval: interval.or(Some(1)),
            ..base(frequency)
        };
        let len = at + 1 - i;
        out.push((len, simple.clone()));
        let (on, the) = (word(w, at + 1), word(w, at + 2));
        match frequency {
            Frequency::Weekly if on == "on" => {
                if let Some((n, days)) = weekday_list(w, at + 2) {
                    out.push((
                        len + 1 + n,
                        RuleInput {
                            weekdays: Some(days),
                            ..simple
                        },
                    ));
                }
            }
            Frequency::Monthly if on == "on" && the == "the" => {
                for (n, input) in month_part(w, at + 3) {
                    out.push((
                        len + 2 + n,
                        RuleInput {
                            interval: simple.interval,
                            ..input
                        },
                    ));
                }
            }
            _ => {}
        }
        return out;
    }
    if interval.is_some() {
        return out;
    }
    match w0 {
        "weekday" | "weekdays" => out.push((
            1,
            RuleInput {
                weekdays: Some(vec![
                    Day::Monday,
                    Day::Tuesday,
                    Day::Wednesday,
                    Day::Thursday,
                    Day::Friday,
                ]),
                ..base(Frequency::Weekly)
            },
        )),
        "weekend" => out.push((
            1,
            RuleInput {
                weekdays: Some(vec![Day::Saturday, Day::Sunday]),
                ..base(Frequency::Weekly)
            },
        )),
        _ => {}
    }
    if let Some((n, days)) = weekday_list(w, i) {
        out.push((
            n,
            RuleInput {
                weekdays: Some(days),
                ..base(Frequency::Weekly)
            },
        ));
    }
    out.extend(month_part(w, i));
    out
}

/// After `every month on the` or `every`: `15th`, `last day`, `last friday`, `first monday`, each optionally
/// followed by `of the month`.
fn month_part(w: &[Word], i: usize) -> Vec<(usize, RuleInput)> {
    let monthly = |input: RuleInput| RuleInput {
        frequency: Some(Frequency::Monthly),
        ..input
    };
    let mut out = Vec::new();
    let (w0, w1) = (word(w, i), word(w, i + 1));
    if let Some(nth) = ordinal(w0) {
        if let Some(day) = weekday(w1) {
            out.push((
                2 + of_the_month(w, i + 2),
                monthly(RuleInput {
                    nth_weekdays: Some(vec![NthWeekday { nth, weekday: day }]),
                    ..Default::default()
                }),
            ));
        }
        if nth == -1 && w1 == "day" {
            out.push((
                2 + of_the_month(w, i + 2),
                monthly(RuleInput {
                    month_days: Some(vec![-1]),
                    ..Default::default()
                }),
            ));
        }
    }
    if let Some(d) = day_number(w0).filter(|_| w0.ends_with(|c: char| c.is_alphabetic())) {
        // `every month on the 31st` takes the last day of shorter months rather than skipping them: a
        // quick-add user asking for the 31st means month end.
        let short_months = (d >= 29).then_some(ShortMonths::LastDay);
        out.push((
            1 + of_the_month(w, i + 1),
            monthly(RuleInput {
                month_days: Some(vec![d]),
                short_months,
                ..Default::default()
            }),
        ));
    }
    out
}

/// The length of an optional `of the month` / `of every month` at `i`.
fn of_the_month(w: &[Word], i: usize) -> usize {
    match (word(w, i), word(w, i + 1), word(w, i + 2)) {
        ("of", "the" | "every" | "each", "month") => 3,
        _ => 0,
    }
}

/// `remind me 30m before`, `remind me an hour before`: (length, minutes).
fn reminder(w: &[Word], i: usize) -> Option<(usize, u32)> {
    if word(w, i) != "remind" || word(w, i + 1) != "me" {
        return None;
    }
    let unit_minutes = |u: &str| -> Option<u32> {
        Some(match u {
            "m" | "min" | "mins" | "minute" | "minutes" => 1,
            "h" | "hr" | "hrs" | "hour" | "hours" => 60,
            "d" | "day" | "days" => 1440,
            "w" | "week" | "weeks" => 10080,
            _ => return None,
        })
    };
    let w2 = word(w, i + 2);
    // `30m` in one word, or `30 minutes` in two.
    let split = w2.find(|c: char| !c.is_ascii_digit()).unwrap_or(w2.len());
    let (n, unit, len) = match count(w2) {
        Some(n) => (n, word(w, i + 3), 4),
        None if split > 0 => (count(&w2[..split])?, &w2[split..], 3),
        None => return None,
    };
    let minutes = u32::from(n) * unit_minutes(unit)?;
    (word(w, i + len) == "before" && minutes <= MAX_MINUTES_BEFORE).then_some((len + 1, minutes))
}

// ---------- choosing ----------

/// Which matches count: the tail (rule 2), then unmistakable phrases before it (rule 3), each kind once.
fn choose(w: &[Word], found: &[Match]) -> Vec<Match> {
    let mut tail: Vec<Match> = Vec::new();
    let mut used = 0;
    let mut pos = w.len();
    while let Some(m) = found
        .iter()
        .filter(|m| m.start >= 1 && m.end() == pos && m.piece.kinds() & used == 0)
        .min_by_key(|m| m.start)
    {
        used |= m.piece.kinds();
        pos = m.start;
        tail.push(m.clone());
    }
    // Rule 5 at the tail's edge: a first phrase glued to a capitalised title word is title, and so on.
    while tail
        .last()
        .is_some_and(|first| glued_before(w, first, true))
    {
        tail.pop();
    }
    let mut used = tail.iter().fold(0, |kinds, m| kinds | m.piece.kinds());
    let tail_start = tail.last().map_or(w.len(), |m| m.start);
    let mut chosen: Vec<Match> = Vec::new();
    let mut i = 0;
    while i < tail_start {
        let title_before = chosen.last().is_none_or(|m| m.end() < i);
        let pick = found
            .iter()
            .filter(|m| {
                m.start == i
                    && m.end() <= tail_start
                    && m.strong
                    && m.piece.kinds() & used == 0
                    && !glued_before(w, m, title_before)
                    && !glued_after(w, m)
            })
            .max_by_key(|m| m.len);
        match pick {
            Some(m) => {
                used |= m.piece.kinds();
                i = m.end();
                chosen.push(m.clone());
            }
            None => i += 1,
        }
    }
    chosen.extend(tail.into_iter().rev());
    chosen
}

/// Rule 5: an unmarked phrase that begins with a capital right after a capitalised title word (not the
/// text's first word, which is capitalised as a sentence's is).
fn glued_before(w: &[Word], m: &Match, title_before: bool) -> bool {
    let first = &w[m.start];
    !first.marked()
        && first.capitalised()
        && m.start >= 2
        && title_before
        && w[m.start - 1].capitalised()
}

/// Rule 5: an unmarked phrase that ends with a capital right before a capitalised word.
fn glued_after(w: &[Word], m: &Match) -> bool {
    !w[m.start].marked()
        && w[m.end() - 1].capitalised()
        && w.get(m.end()).is_some_and(Word::capitalised)
}

// ---------- the result ----------

fn assemble(text: &str, w: &[Word], chosen: Vec<Match>, cx: &Context) -> QuickAdd {
    let mut date = None;
    let mut moment = None;
    let mut tonight = false;
    let mut time = None;
    let mut recurrence = None;
    let mut tags: Vec<String> = Vec::new();
    let mut priority = None;
    let mut project = None;
    let mut reminders: Vec<u32> = Vec::new();
    let mut spans = Vec::new();
    let mut removed = Vec::new();
    for m in &chosen {
        match &m.piece {
            Piece::Date(d) => date = Some(*d),
            Piece::Tonight => {
                date = Some(cx.today);
                tonight = true;
            }
            Piece::Time(t) => time = Some(*t),
            Piece::Moment(t) => moment = Some(*t),
            Piece::Every(r) => recurrence = Some(r.clone()),
            Piece::Tag(t) => {
                if !tags.iter().any(|x| x.to_lowercase() == t.to_lowercase()) {
                    tags.push(t.clone());
                }
            }
            Piece::Priority(p) => priority = Some(*p),
            Piece::Project(p) => project = Some(p.clone()),
            Piece::Reminder(r) => {
                if !reminders.contains(r) {
                    reminders.push(*r);
                }
            }
        }
        let (byte_start, byte_end) = (w[m.start].start, w[m.end() - 1].end);
        removed.push((byte_start, w[m.end() - 1].full_end));
        spans.push(Span {
            kind: m.piece.span_kind(),
            start: text[..byte_start].chars().count(),
            end: text[..byte_end].chars().count(),
            byte_start,
            byte_end,
            text: text[byte_start..byte_end].to_owned(),
        });
    }
    let time = time.or(tonight.then_some(TONIGHT));
    let due = match (date, time) {
        _ if moment.is_some() => moment.map(QuickDue::Instant),
        (Some(d), Some(t)) => Some(QuickDue::At(d.to_datetime(t))),
        (Some(d), None) => Some(QuickDue::Date(d)),
        (None, None) if recurrence.is_none() => None,
        (None, t) => {
            // From today, or tomorrow when the time has passed today.
            let from = match t {
                Some(t) if cx.today.to_datetime(t) <= cx.now => day_after(cx.today),
                _ => cx.today,
            };
            let first = recurrence
                .as_ref()
                .map_or(Some(from), |r| first_date(r, from));
            first.map(|d| match t {
                Some(t) => QuickDue::At(d.to_datetime(t)),
                None => QuickDue::Date(d),
            })
        }
    };
    QuickAdd {
        title: title(text, &removed),
        due,
        recurrence,
        tags,
        priority,
        project,
        reminders,
        spans,
    }
}

/// The first date on or after `from` that `rule` produces (every 2 weeks on Monday: the next Monday).
fn first_date(rule: &Rule, from: Date) -> Option<Date> {
    let every_period = Rule {
        interval: 1,
        count: None,
        until: None,
        exdates: Vec::new(),
        ..rule.clone()
    };
    let start = from.to_datetime(Time::midnight());
    let before = start.checked_sub(SignedDuration::from_nanos(1)).ok()?;
    every_period.first_after(start, before).map(|dt| dt.date())
}

/// The text without the recognised pieces (byte ranges, in order), whitespace collapsed, without
/// punctuation left dangling.
fn title(text: &str, removed: &[(usize, usize)]) -> String {
    let mut rest = String::with_capacity(text.len());
    let mut at = 0;
    for &(start, end) in removed {
        rest.push_str(&text[at..start]);
        rest.push(' ');
        at = end;
    }
    rest.push_str(&text[at..]);
    let mut out = String::with_capacity(rest.len());
    for word in rest.split_whitespace() {
        let lone_punctuation = word.chars().all(|c| matches!(c, ',' | ';' | ':' | '.'));
        if lone_punctuation {
            out.push_str(word);
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.trim_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '-' | '–' | '—'))
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One line of what was read: `title | due=… | rrule=… | tags=… | prio=… | project=… | remind=…`. A
    /// timed due date shows its local wall time and, outside UTC, the instant it resolves to.
    fn summary(q: &QuickAdd, tz: &TimeZone) -> String {
        let mut out = q.title.clone();
        if let Some(due) = q.due {
            let local = match due {
                QuickDue::Date(d) => d.to_string(),
                QuickDue::At(dt) => dt.strftime("%Y-%m-%dT%H:%M").to_string(),
                QuickDue::Instant(t) => t
                    .to_zoned(tz.clone())
                    .strftime("%Y-%m-%dT%H:%M")
                    .to_string(),
            };
            out.push_str(&format!(" | due={local}"));
            if !matches!(due, QuickDue::Date(_)) && tz.iana_name() != Some("UTC") {
                out.push_str(&format!(" @{}", due.resolve(tz).at));
            }
        }
        if let Some(r) = &q.recurrence {
            out.push_str(&format!(" | rrule={}", r.to_rrule()));
            if r.basis == Basis::Completion {
                out.push_str(" (completion)");
            }
        }
        if !q.tags.is_empty() {
            out.push_str(&format!(" | tags={}", q.tags.join(",")));
        }
        if let Some(p) = q.priority {
            out.push_str(&format!(" | prio={}", p.as_str()));
        }
        if let Some(p) = &q.project {
            out.push_str(&format!(" | project={p}"));
        }
        if !q.reminders.is_empty() {
            let r: Vec<String> = q.reminders.iter().map(u32::to_string).collect();
            out.push_str(&format!(" | remind={}", r.join(",")));
        }
        out
    }

    /// Phrases read in one zone at one moment: (text, what it means).
    struct Section {
        zone: &'static str,
        now: &'static str,
        rows: &'static [(&'static str, &'static str)],
    }

    /// Wednesday 2 December 2026, 10:00 UTC.
    const UTC_WEDNESDAY: Section = Section {
        zone: "UTC",
        now: "2026-12-02T10:00:00Z",
        rows: &[
            // Plain titles: nothing in them is a date, a time, a rule or a marker.
            ("Buy milk", "Buy milk"),
            ("Read The Day of the Jackal", "Read The Day of the Jackal"),
            ("Buy 5 apples", "Buy 5 apples"),
            ("Email May about June", "Email May about June"),
            ("Watch Friday Night Lights", "Watch Friday Night Lights"),
            ("Watch Tomorrow Never Dies", "Watch Tomorrow Never Dies"),
            ("Tomorrow Never Dies", "Tomorrow Never Dies"),
            (
                "Watch The Day After Tomorrow",
                "Watch The Day After Tomorrow",
            ),
            ("Read Today I Learned", "Read Today I Learned"),
            ("Tonight Show tickets", "Tonight Show tickets"),
            ("Next Friday Night party", "Next Friday Night party"),
            ("Prepare May 1 speech", "Prepare May 1 speech"),
            ("Do every day challenge", "Do every day challenge"),
            ("every day stretch", "every day stretch"),
            ("Every Day Carry list", "Every Day Carry list"),
            ("Fix issue #123", "Fix issue #123"),
            ("Learn C++", "Learn C++"),
            ("Email ada@example.com", "Email ada@example.com"),
            ("Lunch @ Joe's", "Lunch @ Joe's"),
            ("Call 911", "Call 911"),
            ("Buy 2 kg flour", "Buy 2 kg flour"),
            ("Meeting room 5", "Meeting room 5"),
            ("Take 5", "Take 5"),
            ("Monday", "Monday"),
            ("Sunday roast", "Sunday roast"),
            ("Wow!", "Wow!"),
            ("Hello !important", "Hello !important"),
            ("Read chapter 12", "Read chapter 12"),
            ("Meet at 5", "Meet at 5"),
            ("Pay $5 at store", "Pay $5 at store"),
            ("Sell 3 days old bread", "Sell 3 days old bread"),
            ("Weekly report", "Weekly report"),
            ("Daily standup", "Daily standup"),
            ("Submit weekly report", "Submit weekly report"),
            ("Plan the month", "Plan the month"),
            ("Buy every color", "Buy every color"),
            ("Call Mom Tomorrow", "Call Mom Tomorrow"),
            ("Meet Bob Friday", "Meet Bob Friday"),
            ("Pay Rent Dec 24", "Pay Rent Dec 24"),
            ("p1 tracker", "p1 tracker"),
            ("Review p1 incidents", "Review p1 incidents"),
            ("Book for March", "Book for March"),
            ("Version 2.0 release", "Version 2.0 release"),
            ("Fix bug in 3 files", "Fix bug in 3 files"),
            ("Buy a dozen eggs", "Buy a dozen eggs"),
            ("Read 1984", "Read 1984"),
            ("Plan 2027", "Plan 2027"),
            ("The 5:2 diet", "The 5:2 diet"),
            ("Clean up #", "Clean up #"),
            ("Practice Mon Amour", "Practice Mon Amour"),
            (
                "Watch Sunday in the Park with George",
                "Watch Sunday in the Park with George",
            ),
            ("May the Force be with you", "May the Force be with you"),
            ("Visit Jan", "Visit Jan"),
            ("Call Dec 24 hotline", "Call Dec 24 hotline"),
            ("Get 24/7 support", "Get 24/7 support"),
            ("Sat exam prep", "Sat exam prep"),
            ("Remind me to call mom", "Remind me to call mom"),
            ("Buy today's paper", "Buy today's paper"),
            (
                "Buy a 2pm ticket for the show",
                "Buy a 2pm ticket for the show",
            ),
            ("Party feb 30", "Party feb 30"),
            ("Party 31 april", "Party 31 april"),
            ("Release 2027-02-30", "Release 2027-02-30"),
            ("Train 13pm", "Train 13pm"),
            ("Train 24:00", "Train 24:00"),
            ("Train 9:60", "Train 9:60"),
            ("Plan trip +1", "Plan trip +1"),
            ("Pay every 0 days", "Pay every 0 days"),
            ("Pay every 1001 days", "Pay every 1001 days"),
            ("Read in a day", "Read | due=2026-12-03"),
            ("Take the 24th street bus", "Take the 24th street bus"),
            ("March for science", "March for science"),
            ("Watch Saturday Night Live", "Watch Saturday Night Live"),
            ("Thanks for nothing", "Thanks for nothing"),
            ("Buy noon bread", "Buy noon bread"),
            ("Call at noon Bob", "Call Bob | due=2026-12-02T12:00"),
            ("remind me 30m", "remind me 30m"),
            ("Check pm notes", "Check pm notes"),
            ("Test 12:5", "Test 12:5"),
            ("", ""),
            ("   ", ""),
            // Tags, priorities and projects count anywhere.
            ("Pay rent #home", "Pay rent | tags=home"),
            ("Pay rent #home #bills", "Pay rent | tags=home,bills"),
            ("#home pay rent", "pay rent | tags=home"),
            ("Pay #home rent", "Pay rent | tags=home"),
            ("Pay rent #Home #home", "Pay rent | tags=Home"),
            ("Tag it #a-b_c/d", "Tag it | tags=a-b_c/d"),
            ("Tag it #naïve", "Tag it | tags=naïve"),
            ("Tag it #2026goals", "Tag it | tags=2026goals"),
            ("Fix #123 #bug", "Fix #123 | tags=bug"),
            ("Pay rent !high", "Pay rent | prio=high"),
            ("Pay rent !HIGH", "Pay rent | prio=high"),
            ("Pay rent !low", "Pay rent | prio=low"),
            ("Pay rent !medium", "Pay rent | prio=medium"),
            ("Pay rent !med", "Pay rent | prio=medium"),
            ("Pay rent !urgent", "Pay rent | prio=urgent"),
            ("!urgent fix prod", "fix prod | prio=urgent"),
            ("Fix !high prod", "Fix prod | prio=high"),
            ("Fix prod p1", "Fix prod | prio=urgent"),
            ("Fix prod p2", "Fix prod | prio=high"),
            ("Fix prod p3", "Fix prod | prio=medium"),
            ("Fix prod p4", "Fix prod | prio=low"),
            ("Fix prod P2", "Fix prod | prio=high"),
            ("Fix prod p5", "Fix prod p5"),
            ("Fix prod !high !low", "Fix prod !high | prio=low"),
            ("Plan trip +travel", "Plan trip | project=travel"),
            ("+travel plan trip", "plan trip | project=travel"),
            ("Learn C++ +study", "Learn C++ | project=study"),
            (
                "Plan trip +travel +work",
                "Plan trip +travel | project=work",
            ),
            ("Plan trip +Trips_2027", "Plan trip | project=Trips_2027"),
            (
                "Pay rent #home !high +flat",
                "Pay rent | tags=home | prio=high | project=flat",
            ),
            // Dates.
            ("Call mom today", "Call mom | due=2026-12-02"),
            ("Call mom tomorrow", "Call mom | due=2026-12-03"),
            ("Call mom Tomorrow", "Call mom | due=2026-12-03"),
            ("Call mom tmrw", "Call mom | due=2026-12-03"),
            ("Call mom tonight", "Call mom | due=2026-12-02T20:00"),
            ("Call mom tonight at 9pm", "Call mom | due=2026-12-02T21:00"),
            ("Call mom monday", "Call mom | due=2026-12-07"),
            ("Call mom mon", "Call mom | due=2026-12-07"),
            ("Call mom tue", "Call mom | due=2026-12-08"),
            ("Call mom tues", "Call mom | due=2026-12-08"),
            ("Call mom wed", "Call mom | due=2026-12-09"),
            ("Call mom wednesday", "Call mom | due=2026-12-09"),
            ("Call mom thu", "Call mom | due=2026-12-03"),
            ("Call mom thurs", "Call mom | due=2026-12-03"),
            ("Call mom fri", "Call mom | due=2026-12-04"),
            ("Call mom Friday", "Call mom | due=2026-12-04"),
            ("Call mom sat", "Call mom | due=2026-12-05"),
            ("Call mom sun", "Call mom | due=2026-12-06"),
            ("Call mom on friday", "Call mom | due=2026-12-04"),
            ("Call mom by friday", "Call mom | due=2026-12-04"),
            ("Pay rent due friday", "Pay rent | due=2026-12-04"),
            ("Pay rent due on friday", "Pay rent | due=2026-12-04"),
            ("Pay rent due by friday", "Pay rent | due=2026-12-04"),
            ("Call mom this friday", "Call mom | due=2026-12-04"),
            ("Call mom this wednesday", "Call mom | due=2026-12-02"),
            ("Call mom next friday", "Call mom | due=2026-12-11"),
            ("Call mom next monday", "Call mom | due=2026-12-07"),
            ("Call mom next wednesday", "Call mom | due=2026-12-09"),
            ("Call mom next sunday", "Call mom | due=2026-12-13"),
            ("Plan next week", "Plan | due=2026-12-07"),
            ("Plan next month", "Plan | due=2027-01-01"),
            ("Hike this weekend", "Hike | due=2026-12-05"),
            ("Hike next weekend", "Hike | due=2026-12-12"),
            (
                "Renew passport in 3 days",
                "Renew passport | due=2026-12-05",
            ),
            (
                "Renew passport in a week",
                "Renew passport | due=2026-12-09",
            ),
            (
                "Renew passport in 2 weeks",
                "Renew passport | due=2026-12-16",
            ),
            (
                "Renew passport in a month",
                "Renew passport | due=2027-01-02",
            ),
            (
                "Renew passport in 1 year",
                "Renew passport | due=2027-12-02",
            ),
            (
                "Renew passport in two days",
                "Renew passport | due=2026-12-04",
            ),
            (
                "Renew passport in 10 days",
                "Renew passport | due=2026-12-12",
            ),
            ("Check oven in 2 hours", "Check oven | due=2026-12-02T12:00"),
            (
                "Check oven in 30 minutes",
                "Check oven | due=2026-12-02T10:30",
            ),
            ("Check oven in 90 mins", "Check oven | due=2026-12-02T11:30"),
            ("Check oven in an hour", "Check oven | due=2026-12-02T11:00"),
            ("Buy gift dec 24", "Buy gift | due=2026-12-24"),
            ("Buy gift december 24", "Buy gift | due=2026-12-24"),
            ("Buy gift Dec 24", "Buy gift | due=2026-12-24"),
            ("Buy gift dec 24th", "Buy gift | due=2026-12-24"),
            ("Buy gift 24 dec", "Buy gift | due=2026-12-24"),
            ("Buy gift 24th december", "Buy gift | due=2026-12-24"),
            ("Buy gift 24th of december", "Buy gift | due=2026-12-24"),
            ("Buy gift on dec 24", "Buy gift | due=2026-12-24"),
            ("Buy gift dec 24 2027", "Buy gift | due=2027-12-24"),
            ("Buy gift 24 dec 2027", "Buy gift | due=2027-12-24"),
            ("Buy gift dec 24, 2027", "Buy gift | due=2027-12-24"),
            ("Buy gift dec 24. ", "Buy gift | due=2026-12-24"),
            ("Pay taxes jan 5", "Pay taxes | due=2027-01-05"),
            ("Pay taxes apr 15", "Pay taxes | due=2027-04-15"),
            ("Pay taxes sept 30", "Pay taxes | due=2027-09-30"),
            ("Review dec 1", "Review | due=2027-12-01"),
            ("Review dec 2", "Review | due=2026-12-02"),
            ("Party feb 29", "Party | due=2028-02-29"),
            ("Party dec 21st", "Party | due=2026-12-21"),
            ("Party dec 22nd", "Party | due=2026-12-22"),
            ("Party dec 23rd", "Party | due=2026-12-23"),
            ("Party dec 22th", "Party dec 22th"),
            ("Party dec 11st", "Party dec 11st"),
            ("Release 2027-01-05", "Release | due=2027-01-05"),
            ("Release on 2027-01-05", "Release | due=2027-01-05"),
            ("Release 2027-01-05 notes", "Release notes | due=2027-01-05"),
            ("Dentist Friday", "Dentist | due=2026-12-04"),
            ("Call Bob on Friday", "Call Bob | due=2026-12-04"),
            (
                "call mom tomorrow about the party",
                "call mom about the party | due=2026-12-03",
            ),
            ("Tomorrow call mom", "call mom | due=2026-12-03"),
            ("tomorrow: call mom", "call mom | due=2026-12-03"),
            ("Call mom, tomorrow", "Call mom | due=2026-12-03"),
            ("Call mom - tomorrow", "Call mom | due=2026-12-03"),
            (
                "Meeting on friday about budget",
                "Meeting about budget | due=2026-12-04",
            ),
            (
                "Submit report by friday for Anna",
                "Submit report for Anna | due=2026-12-04",
            ),
            (
                "Call mom tomorrow friday",
                "Call mom tomorrow | due=2026-12-04",
            ),
            (
                "Call mom next week about the party",
                "Call mom about the party | due=2026-12-07",
            ),
            (
                "Call mom in 3 days about the party",
                "Call mom about the party | due=2026-12-05",
            ),
            (
                "Call mom friday about the party",
                "Call mom friday about the party",
            ),
            ("tomorrow", " | due=2026-12-03"),
            ("Book flights tomorrow!", "Book flights tomorrow!"),
            // Times.
            ("Pick up kids at 3pm", "Pick up kids | due=2026-12-02T15:00"),
            (
                "Pick up kids at 3:30 pm",
                "Pick up kids | due=2026-12-02T15:30",
            ),
            ("Pick up kids 3:30pm", "Pick up kids | due=2026-12-02T15:30"),
            ("Pick up kids 3 PM", "Pick up kids | due=2026-12-02T15:00"),
            ("Meet at noon", "Meet | due=2026-12-02T12:00"),
            ("Lunch noon", "Lunch | due=2026-12-02T12:00"),
            ("Standup 9am", "Standup | due=2026-12-03T09:00"),
            ("Call 10:00", "Call | due=2026-12-03T10:00"),
            ("Call 10:01", "Call | due=2026-12-02T10:01"),
            ("Train 17:00", "Train | due=2026-12-02T17:00"),
            ("Train 5 pm", "Train | due=2026-12-02T17:00"),
            ("Train 5:30 p.m.", "Train | due=2026-12-02T17:30"),
            ("Train 5:30 a.m.", "Train | due=2026-12-03T05:30"),
            ("Train 12am", "Train | due=2026-12-03T00:00"),
            ("Train 12pm", "Train | due=2026-12-02T12:00"),
            ("Train 07:45", "Train | due=2026-12-03T07:45"),
            ("Train 0:30", "Train | due=2026-12-03T00:30"),
            ("Call mom tomorrow 5pm", "Call mom | due=2026-12-03T17:00"),
            ("Call mom 5pm tomorrow", "Call mom | due=2026-12-03T17:00"),
            (
                "Call mom tomorrow at 5pm",
                "Call mom | due=2026-12-03T17:00",
            ),
            ("Call mom tomorrow, 5pm", "Call mom | due=2026-12-03T17:00"),
            ("Call mom friday at noon", "Call mom | due=2026-12-04T12:00"),
            ("Call mom dec 24 9am", "Call mom | due=2026-12-24T09:00"),
            ("Call mom today 8am", "Call mom | due=2026-12-02T08:00"),
            (
                "Call mom 2027-01-05 17:00",
                "Call mom | due=2027-01-05T17:00",
            ),
            (
                "call mom tomorrow at 5pm about the party",
                "call mom about the party | due=2026-12-03T17:00",
            ),
            (
                "meet at 5pm with Bob",
                "meet with Bob | due=2026-12-02T17:00",
            ),
            ("Train 5pm 6pm", "Train 5pm | due=2026-12-02T18:00"),
            // Recurrence.
            (
                "Call mom tomorrow 5pm every sunday #family !high",
                "Call mom | due=2026-12-03T17:00 | rrule=FREQ=WEEKLY;BYDAY=SU | tags=family | prio=high",
            ),
            (
                "Stretch every day",
                "Stretch | due=2026-12-02 | rrule=FREQ=DAILY",
            ),
            (
                "Stretch daily",
                "Stretch | due=2026-12-02 | rrule=FREQ=DAILY",
            ),
            (
                "Stretch every 3 days",
                "Stretch | due=2026-12-02 | rrule=FREQ=DAILY;INTERVAL=3",
            ),
            (
                "Stretch every other day",
                "Stretch | due=2026-12-02 | rrule=FREQ=DAILY;INTERVAL=2",
            ),
            (
                "Stretch every 1000 days",
                "Stretch | due=2026-12-02 | rrule=FREQ=DAILY;INTERVAL=1000",
            ),
            ("Stretch every 3 day", "Stretch every 3 day"),
            ("Stretch every days", "Stretch every days"),
            (
                "Standup every weekday",
                "Standup | due=2026-12-02 | rrule=FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            ),
            (
                "Standup every weekday at 9am",
                "Standup | due=2026-12-03T09:00 | rrule=FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            ),
            (
                "Brunch every weekend",
                "Brunch | due=2026-12-05 | rrule=FREQ=WEEKLY;BYDAY=SA,SU",
            ),
            (
                "Gym every monday and thursday",
                "Gym | due=2026-12-03 | rrule=FREQ=WEEKLY;BYDAY=MO,TH",
            ),
            (
                "Gym every mon, thu",
                "Gym | due=2026-12-03 | rrule=FREQ=WEEKLY;BYDAY=MO,TH",
            ),
            (
                "Gym every monday, wednesday and friday",
                "Gym | due=2026-12-02 | rrule=FREQ=WEEKLY;BYDAY=MO,WE,FR",
            ),
            (
                "Gym every mon & fri",
                "Gym | due=2026-12-04 | rrule=FREQ=WEEKLY;BYDAY=MO,FR",
            ),
            (
                "Gym every Monday",
                "Gym | due=2026-12-07 | rrule=FREQ=WEEKLY;BYDAY=MO",
            ),
            (
                "Trash every tuesday",
                "Trash | due=2026-12-08 | rrule=FREQ=WEEKLY;BYDAY=TU",
            ),
            (
                "Trash every wednesday",
                "Trash | due=2026-12-02 | rrule=FREQ=WEEKLY;BYDAY=WE",
            ),
            (
                "Team sync every 2 weeks",
                "Team sync | due=2026-12-02 | rrule=FREQ=WEEKLY;INTERVAL=2",
            ),
            (
                "Team sync every 2 weeks on monday",
                "Team sync | due=2026-12-07 | rrule=FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
            ),
            (
                "Team sync every week on tuesday and friday",
                "Team sync | due=2026-12-04 | rrule=FREQ=WEEKLY;BYDAY=TU,FR",
            ),
            (
                "Team sync every other week",
                "Team sync | due=2026-12-02 | rrule=FREQ=WEEKLY;INTERVAL=2",
            ),
            (
                "Team sync every week",
                "Team sync | due=2026-12-02 | rrule=FREQ=WEEKLY",
            ),
            (
                "Team sync weekly",
                "Team sync | due=2026-12-02 | rrule=FREQ=WEEKLY",
            ),
            (
                "Pay rent every month",
                "Pay rent | due=2026-12-02 | rrule=FREQ=MONTHLY",
            ),
            (
                "Pay rent monthly",
                "Pay rent | due=2026-12-02 | rrule=FREQ=MONTHLY",
            ),
            (
                "Pay rent every month on the 15th",
                "Pay rent | due=2026-12-15 | rrule=FREQ=MONTHLY;BYMONTHDAY=15",
            ),
            (
                "Pay rent every 15th",
                "Pay rent | due=2026-12-15 | rrule=FREQ=MONTHLY;BYMONTHDAY=15",
            ),
            (
                "Pay rent every 15th of the month",
                "Pay rent | due=2026-12-15 | rrule=FREQ=MONTHLY;BYMONTHDAY=15",
            ),
            (
                "Pay rent every 1st",
                "Pay rent | due=2027-01-01 | rrule=FREQ=MONTHLY;BYMONTHDAY=1",
            ),
            (
                "Pay rent every month on the 1st",
                "Pay rent | due=2027-01-01 | rrule=FREQ=MONTHLY;BYMONTHDAY=1",
            ),
            (
                "Pay rent every month on the 2nd",
                "Pay rent | due=2026-12-02 | rrule=FREQ=MONTHLY;BYMONTHDAY=2",
            ),
            (
                "Pay rent every month on the last day",
                "Pay rent | due=2026-12-31 | rrule=FREQ=MONTHLY;BYMONTHDAY=-1",
            ),
            (
                "Pay rent every last day of the month",
                "Pay rent | due=2026-12-31 | rrule=FREQ=MONTHLY;BYMONTHDAY=-1",
            ),
            (
                "Pay rent every month on the 31st",
                "Pay rent | due=2026-12-31 | rrule=FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1",
            ),
            (
                "Pay rent every 2 months on the 10th",
                "Pay rent | due=2026-12-10 | rrule=FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=10",
            ),
            (
                "Book club every last friday",
                "Book club | due=2026-12-25 | rrule=FREQ=MONTHLY;BYDAY=-1FR",
            ),
            (
                "Book club every first monday",
                "Book club | due=2026-12-07 | rrule=FREQ=MONTHLY;BYDAY=1MO",
            ),
            (
                "Book club every 2nd tuesday",
                "Book club | due=2026-12-08 | rrule=FREQ=MONTHLY;BYDAY=2TU",
            ),
            (
                "Book club every third thursday of the month",
                "Book club | due=2026-12-17 | rrule=FREQ=MONTHLY;BYDAY=3TH",
            ),
            (
                "Book club every month on the last friday",
                "Book club | due=2026-12-25 | rrule=FREQ=MONTHLY;BYDAY=-1FR",
            ),
            (
                "Book club every last friday 7pm",
                "Book club | due=2026-12-25T19:00 | rrule=FREQ=MONTHLY;BYDAY=-1FR",
            ),
            (
                "Invoice every 3 months",
                "Invoice | due=2026-12-02 | rrule=FREQ=MONTHLY;INTERVAL=3",
            ),
            (
                "Birthday every year",
                "Birthday | due=2026-12-02 | rrule=FREQ=YEARLY",
            ),
            (
                "Birthday yearly",
                "Birthday | due=2026-12-02 | rrule=FREQ=YEARLY",
            ),
            (
                "Birthday annually",
                "Birthday | due=2026-12-02 | rrule=FREQ=YEARLY",
            ),
            (
                "Renew every 2 years",
                "Renew | due=2026-12-02 | rrule=FREQ=YEARLY;INTERVAL=2",
            ),
            (
                "Mom's birthday every year dec 24",
                "Mom's birthday | due=2026-12-24 | rrule=FREQ=YEARLY",
            ),
            (
                "Mom's birthday dec 24 every year",
                "Mom's birthday | due=2026-12-24 | rrule=FREQ=YEARLY",
            ),
            (
                "Water plants every! 3 days",
                "Water plants | due=2026-12-02 | rrule=FREQ=DAILY;INTERVAL=3 (completion)",
            ),
            (
                "Haircut every! 4 weeks",
                "Haircut | due=2026-12-02 | rrule=FREQ=WEEKLY;INTERVAL=4 (completion)",
            ),
            (
                "Water plants every! day",
                "Water plants | due=2026-12-02 | rrule=FREQ=DAILY (completion)",
            ),
            (
                "Call mom every sunday 5pm",
                "Call mom | due=2026-12-06T17:00 | rrule=FREQ=WEEKLY;BYDAY=SU",
            ),
            (
                "Stretch every day 9am",
                "Stretch | due=2026-12-03T09:00 | rrule=FREQ=DAILY",
            ),
            (
                "Stretch every day at 7pm",
                "Stretch | due=2026-12-02T19:00 | rrule=FREQ=DAILY",
            ),
            (
                "Stretch every wednesday at 9am",
                "Stretch | due=2026-12-09T09:00 | rrule=FREQ=WEEKLY;BYDAY=WE",
            ),
            (
                "Stretch every wednesday at 11am",
                "Stretch | due=2026-12-02T11:00 | rrule=FREQ=WEEKLY;BYDAY=WE",
            ),
            (
                "Stretch tomorrow every day",
                "Stretch | due=2026-12-03 | rrule=FREQ=DAILY",
            ),
            (
                "Stretch next monday every 2 weeks",
                "Stretch | due=2026-12-07 | rrule=FREQ=WEEKLY;INTERVAL=2",
            ),
            (
                "Pay rent every month #bills",
                "Pay rent | due=2026-12-02 | rrule=FREQ=MONTHLY | tags=bills",
            ),
            ("Pay every day challenge", "Pay every day challenge"),
            (
                "Gym every mon thu",
                "Gym | due=2026-12-03 | rrule=FREQ=WEEKLY;BYDAY=MO",
            ),
            // Reminders.
            (
                "Dentist tomorrow 9am remind me 30m before",
                "Dentist | due=2026-12-03T09:00 | remind=30",
            ),
            (
                "Dentist tomorrow remind me 1h before",
                "Dentist | due=2026-12-03 | remind=60",
            ),
            (
                "Dentist tomorrow remind me 2 hours before",
                "Dentist | due=2026-12-03 | remind=120",
            ),
            (
                "Dentist tomorrow remind me an hour before",
                "Dentist | due=2026-12-03 | remind=60",
            ),
            (
                "Dentist tomorrow remind me 1 day before",
                "Dentist | due=2026-12-03 | remind=1440",
            ),
            (
                "Dentist tomorrow remind me 1d before",
                "Dentist | due=2026-12-03 | remind=1440",
            ),
            (
                "Dentist tomorrow remind me 90 minutes before",
                "Dentist | due=2026-12-03 | remind=90",
            ),
            (
                "Dentist tomorrow remind me 15 min before",
                "Dentist | due=2026-12-03 | remind=15",
            ),
            (
                "Dentist tomorrow remind me 1w before",
                "Dentist | due=2026-12-03 | remind=10080",
            ),
            (
                "Dentist tomorrow remind me 30m before remind me 1 day before",
                "Dentist | due=2026-12-03 | remind=30,1440",
            ),
            ("Dentist remind me 30m before", "Dentist | remind=30"),
            (
                "remind me 30m before dentist tomorrow",
                "dentist | due=2026-12-03 | remind=30",
            ),
            (
                "Dentist tomorrow remind me 30 parsecs before",
                "Dentist remind me 30 parsecs before | due=2026-12-03",
            ),
            (
                "Dentist tomorrow remind me 1000 weeks before",
                "Dentist remind me 1000 weeks before | due=2026-12-03",
            ),
            // Everything at once, in any order.
            (
                "Submit Q3 report by friday 5pm #work p2",
                "Submit Q3 report | due=2026-12-04T17:00 | tags=work | prio=high",
            ),
            (
                "Submit Q3 report #work p2 by friday 5pm",
                "Submit Q3 report | due=2026-12-04T17:00 | tags=work | prio=high",
            ),
            (
                "#work Submit Q3 report !urgent tomorrow",
                "Submit Q3 report | due=2026-12-03 | tags=work | prio=urgent",
            ),
            (
                "Water plants every! 3 days 8am #home +garden",
                "Water plants | due=2026-12-03T08:00 | rrule=FREQ=DAILY;INTERVAL=3 (completion) | tags=home | project=garden",
            ),
            (
                "Pay rent every month on the 1st 9am remind me 1 day before #bills !high",
                "Pay rent | due=2027-01-01T09:00 | rrule=FREQ=MONTHLY;BYMONTHDAY=1 | tags=bills | prio=high | remind=1440",
            ),
            (
                "Pay rent every month on the 1st 9am remind me 1 day before #bills p2",
                "Pay rent | due=2027-01-01T09:00 | rrule=FREQ=MONTHLY;BYMONTHDAY=1 | tags=bills | prio=high | remind=1440",
            ),
            ("Buy gift december 24th 2027", "Buy gift | due=2027-12-24"),
            (
                "Read The Day of the Jackal tomorrow #books",
                "Read The Day of the Jackal | due=2026-12-03 | tags=books",
            ),
            (
                "Watch Friday Night Lights tonight",
                "Watch Friday Night Lights | due=2026-12-02T20:00",
            ),
            ("Buy 5 apples tomorrow", "Buy 5 apples | due=2026-12-03"),
            (
                "Email May about June on monday",
                "Email May about June | due=2026-12-07",
            ),
            (
                "Email May about June #work",
                "Email May about June | tags=work",
            ),
            (
                "Watch The Day After Tomorrow 8pm",
                "Watch The Day After Tomorrow | due=2026-12-02T20:00",
            ),
            (
                "Watch The Day After Tomorrow #movies",
                "Watch The Day After Tomorrow | tags=movies",
            ),
            ("Plan for May 5", "Plan for | due=2027-05-05"),
            ("Call Mom on Tomorrow", "Call Mom | due=2026-12-03"),
            ("CALL MOM TOMORROW", "CALL MOM TOMORROW"),
            ("call mom TOMORROW 5PM", "call mom | due=2026-12-03T17:00"),
            (
                "Ünïcödé tâsk tomorrow #fün",
                "Ünïcödé tâsk | due=2026-12-03 | tags=fün",
            ),
            ("日本語 tomorrow", "日本語 | due=2026-12-03"),
            (
                "Pay rent\ttomorrow\n#home",
                "Pay rent | due=2026-12-03 | tags=home",
            ),
        ],
    };

    /// Europe/Berlin, Saturday 28 March 2026 12:00 (CET); clocks jump from 02:00 to 03:00 the next night.
    const BERLIN_SPRING: Section = Section {
        zone: "Europe/Berlin",
        now: "2026-03-28T11:00:00Z",
        rows: &[
            ("Bake tomorrow", "Bake | due=2026-03-29"),
            (
                "Bake tomorrow 2:30am",
                "Bake | due=2026-03-29T02:30 @2026-03-29T01:30:00Z",
            ),
            (
                "Bake tomorrow 1:30am",
                "Bake | due=2026-03-29T01:30 @2026-03-29T00:30:00Z",
            ),
            (
                "Bake tomorrow 3am",
                "Bake | due=2026-03-29T03:00 @2026-03-29T01:00:00Z",
            ),
            (
                "Bake tomorrow 9am",
                "Bake | due=2026-03-29T09:00 @2026-03-29T07:00:00Z",
            ),
            (
                "Bake today 9am",
                "Bake | due=2026-03-28T09:00 @2026-03-28T08:00:00Z",
            ),
            (
                "Bake 9am",
                "Bake | due=2026-03-29T09:00 @2026-03-29T07:00:00Z",
            ),
            (
                "Bake 1pm",
                "Bake | due=2026-03-28T13:00 @2026-03-28T12:00:00Z",
            ),
            (
                "Bake tonight",
                "Bake | due=2026-03-28T20:00 @2026-03-28T19:00:00Z",
            ),
            ("Bake sunday", "Bake | due=2026-03-29"),
            (
                "Bake monday 8:00",
                "Bake | due=2026-03-30T08:00 @2026-03-30T06:00:00Z",
            ),
            (
                "Bake in 2 hours",
                "Bake | due=2026-03-28T14:00 @2026-03-28T13:00:00Z",
            ),
            (
                "Bake in 24 hours",
                "Bake | due=2026-03-29T13:00 @2026-03-29T11:00:00Z",
            ),
            ("Bake in 1 day", "Bake | due=2026-03-29"),
            (
                "Stretch every day 2:30am",
                "Stretch | due=2026-03-29T02:30 @2026-03-29T01:30:00Z | rrule=FREQ=DAILY",
            ),
            (
                "Stretch every day 9am",
                "Stretch | due=2026-03-29T09:00 @2026-03-29T07:00:00Z | rrule=FREQ=DAILY",
            ),
            (
                "Stretch every sunday 10:00",
                "Stretch | due=2026-03-29T10:00 @2026-03-29T08:00:00Z | rrule=FREQ=WEEKLY;BYDAY=SU",
            ),
            (
                "Stretch every weekend",
                "Stretch | due=2026-03-28 | rrule=FREQ=WEEKLY;BYDAY=SA,SU",
            ),
            ("Bake this weekend", "Bake | due=2026-03-28"),
            ("Bake next weekend", "Bake | due=2026-04-04"),
            ("Bake next week", "Bake | due=2026-03-30"),
            ("Bake this saturday", "Bake | due=2026-03-28"),
            ("Bake saturday", "Bake | due=2026-04-04"),
            ("Bake next saturday", "Bake | due=2026-04-04"),
            ("Bake next sunday", "Bake | due=2026-04-05"),
            ("Ostern apr 5", "Ostern | due=2026-04-05"),
            ("Kuchen backen morgen", "Kuchen backen morgen"),
        ],
    };

    /// Europe/Berlin just after midnight on the day clocks spring forward (01:30 CET).
    const BERLIN_GAP_NIGHT: Section = Section {
        zone: "Europe/Berlin",
        now: "2026-03-29T00:30:00Z",
        rows: &[
            (
                "Feed cat in 2 hours",
                "Feed cat | due=2026-03-29T04:30 @2026-03-29T02:30:00Z",
            ),
            (
                "Feed cat in 30 minutes",
                "Feed cat | due=2026-03-29T03:00 @2026-03-29T01:00:00Z",
            ),
            ("Feed cat today", "Feed cat | due=2026-03-29"),
            (
                "Feed cat tonight",
                "Feed cat | due=2026-03-29T20:00 @2026-03-29T18:00:00Z",
            ),
            (
                "Feed cat 2:30am",
                "Feed cat | due=2026-03-29T02:30 @2026-03-29T01:30:00Z",
            ),
            (
                "Feed cat 1am",
                "Feed cat | due=2026-03-30T01:00 @2026-03-29T23:00:00Z",
            ),
            (
                "Feed cat 8am",
                "Feed cat | due=2026-03-29T08:00 @2026-03-29T06:00:00Z",
            ),
        ],
    };

    /// Europe/Berlin, Saturday 24 October 2026 12:00 (CEST); 03:00 becomes 02:00 again the next night.
    const BERLIN_AUTUMN: Section = Section {
        zone: "Europe/Berlin",
        now: "2026-10-24T10:00:00Z",
        rows: &[
            (
                "Bake tomorrow 2:30am",
                "Bake | due=2026-10-25T02:30 @2026-10-25T00:30:00Z",
            ),
            (
                "Bake tomorrow 9am",
                "Bake | due=2026-10-25T09:00 @2026-10-25T08:00:00Z",
            ),
            (
                "Bake tomorrow 1:59am",
                "Bake | due=2026-10-25T01:59 @2026-10-24T23:59:00Z",
            ),
            (
                "Bake 11am",
                "Bake | due=2026-10-25T11:00 @2026-10-25T10:00:00Z",
            ),
            (
                "Bake 3pm",
                "Bake | due=2026-10-24T15:00 @2026-10-24T13:00:00Z",
            ),
            (
                "Bake in 24 hours",
                "Bake | due=2026-10-25T11:00 @2026-10-25T10:00:00Z",
            ),
            (
                "Stretch every day 8am",
                "Stretch | due=2026-10-25T08:00 @2026-10-25T07:00:00Z | rrule=FREQ=DAILY",
            ),
            ("Bake sunday", "Bake | due=2026-10-25"),
            ("Bake nov 1", "Bake | due=2026-11-01"),
            (
                "Bake 1 nov 10am",
                "Bake | due=2026-11-01T10:00 @2026-11-01T09:00:00Z",
            ),
        ],
    };

    /// America/New_York, Saturday 7 March 2026 12:00 (EST); clocks jump from 02:00 to 03:00 the next night.
    const NEW_YORK_SPRING: Section = Section {
        zone: "America/New_York",
        now: "2026-03-07T17:00:00Z",
        rows: &[
            (
                "Brunch tomorrow 2:30am",
                "Brunch | due=2026-03-08T02:30 @2026-03-08T07:30:00Z",
            ),
            (
                "Brunch tomorrow 9am",
                "Brunch | due=2026-03-08T09:00 @2026-03-08T13:00:00Z",
            ),
            (
                "Brunch sunday 10:00",
                "Brunch | due=2026-03-08T10:00 @2026-03-08T14:00:00Z",
            ),
            (
                "Brunch today 6pm",
                "Brunch | due=2026-03-07T18:00 @2026-03-07T23:00:00Z",
            ),
            (
                "Brunch 11am",
                "Brunch | due=2026-03-08T11:00 @2026-03-08T15:00:00Z",
            ),
            (
                "Brunch in 24 hours",
                "Brunch | due=2026-03-08T13:00 @2026-03-08T17:00:00Z",
            ),
            ("Brunch tomorrow", "Brunch | due=2026-03-08"),
            (
                "Walk dog every day 7am",
                "Walk dog | due=2026-03-08T07:00 @2026-03-08T11:00:00Z | rrule=FREQ=DAILY",
            ),
            (
                "Walk dog every weekday at 7am",
                "Walk dog | due=2026-03-09T07:00 @2026-03-09T11:00:00Z | rrule=FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            ),
            ("Taxes apr 15", "Taxes | due=2026-04-15"),
            (
                "Taxes by apr 15 5pm",
                "Taxes | due=2026-04-15T17:00 @2026-04-15T21:00:00Z",
            ),
            ("Brunch next week", "Brunch | due=2026-03-09"),
        ],
    };

    /// America/New_York, Saturday 31 October 2026 12:00 (EDT); 02:00 becomes 01:00 again the next night.
    const NEW_YORK_AUTUMN: Section = Section {
        zone: "America/New_York",
        now: "2026-10-31T16:00:00Z",
        rows: &[
            (
                "Vote tomorrow 1:30am",
                "Vote | due=2026-11-01T01:30 @2026-11-01T05:30:00Z",
            ),
            (
                "Vote tomorrow 5pm",
                "Vote | due=2026-11-01T17:00 @2026-11-01T22:00:00Z",
            ),
            (
                "Vote nov 3 7am",
                "Vote | due=2026-11-03T07:00 @2026-11-03T12:00:00Z",
            ),
            (
                "Vote tonight",
                "Vote | due=2026-10-31T20:00 @2026-11-01T00:00:00Z",
            ),
            (
                "Vote in 24 hours",
                "Vote | due=2026-11-01T11:00 @2026-11-01T16:00:00Z",
            ),
            (
                "Vote 11am",
                "Vote | due=2026-11-01T11:00 @2026-11-01T16:00:00Z",
            ),
            (
                "Call mom every sunday at 6pm",
                "Call mom | due=2026-11-01T18:00 @2026-11-01T23:00:00Z | rrule=FREQ=WEEKLY;BYDAY=SU",
            ),
        ],
    };

    /// America/New_York at 01:00 EDT on the night clocks fall back: an hour later is 01:00 EST.
    const NEW_YORK_FOLD: Section = Section {
        zone: "America/New_York",
        now: "2026-11-01T05:00:00Z",
        rows: &[
            (
                "Check in 1 hour",
                "Check | due=2026-11-01T01:00 @2026-11-01T06:00:00Z",
            ),
            (
                "Check in 2 hours",
                "Check | due=2026-11-01T02:00 @2026-11-01T07:00:00Z",
            ),
            (
                "Check at 1:30am",
                "Check | due=2026-11-01T01:30 @2026-11-01T05:30:00Z",
            ),
            ("Check today", "Check | due=2026-11-01"),
        ],
    };

    /// America/New_York at 22:00 EST on 2 December: already 3 December in UTC.
    const NEW_YORK_LATE: Section = Section {
        zone: "America/New_York",
        now: "2026-12-03T03:00:00Z",
        rows: &[
            ("Pack today", "Pack | due=2026-12-02"),
            ("Pack tomorrow", "Pack | due=2026-12-03"),
            ("Pack thursday", "Pack | due=2026-12-03"),
            (
                "Pack 11pm",
                "Pack | due=2026-12-02T23:00 @2026-12-03T04:00:00Z",
            ),
            (
                "Pack 9pm",
                "Pack | due=2026-12-03T21:00 @2026-12-04T02:00:00Z",
            ),
            (
                "Pack tonight",
                "Pack | due=2026-12-02T20:00 @2026-12-03T01:00:00Z",
            ),
            ("Pack in 3 days", "Pack | due=2026-12-05"),
            ("Pack every day", "Pack | due=2026-12-02 | rrule=FREQ=DAILY"),
        ],
    };

    /// Australia/Sydney, Saturday 3 October 2026 12:00 (AEST, +10); clocks jump from 02:00 to 03:00 the next
    /// night (southern spring).
    const SYDNEY_SPRING: Section = Section {
        zone: "Australia/Sydney",
        now: "2026-10-03T02:00:00Z",
        rows: &[
            (
                "Surf tomorrow 2:30am",
                "Surf | due=2026-10-04T02:30 @2026-10-03T16:30:00Z",
            ),
            (
                "Surf tomorrow 9am",
                "Surf | due=2026-10-04T09:00 @2026-10-03T22:00:00Z",
            ),
            (
                "Surf today 5pm",
                "Surf | due=2026-10-03T17:00 @2026-10-03T07:00:00Z",
            ),
            (
                "Surf 8am",
                "Surf | due=2026-10-04T08:00 @2026-10-03T21:00:00Z",
            ),
            (
                "Surf in 24 hours",
                "Surf | due=2026-10-04T13:00 @2026-10-04T02:00:00Z",
            ),
            ("Surf sunday", "Surf | due=2026-10-04"),
            ("Surf next week", "Surf | due=2026-10-05"),
            (
                "Surf every saturday 6am",
                "Surf | due=2026-10-10T06:00 @2026-10-09T19:00:00Z | rrule=FREQ=WEEKLY;BYDAY=SA",
            ),
            (
                "Surf every day 6:30am",
                "Surf | due=2026-10-04T06:30 @2026-10-03T19:30:00Z | rrule=FREQ=DAILY",
            ),
            (
                "Christmas lunch dec 25 noon",
                "Christmas lunch | due=2026-12-25T12:00 @2026-12-25T01:00:00Z",
            ),
        ],
    };

    /// Australia/Sydney, Saturday 4 April 2026 12:00 (AEDT, +11); 03:00 becomes 02:00 again the next night
    /// (southern autumn).
    const SYDNEY_AUTUMN: Section = Section {
        zone: "Australia/Sydney",
        now: "2026-04-04T01:00:00Z",
        rows: &[
            (
                "Surf tomorrow 2:30am",
                "Surf | due=2026-04-05T02:30 @2026-04-04T15:30:00Z",
            ),
            (
                "Surf tomorrow 9am",
                "Surf | due=2026-04-05T09:00 @2026-04-04T23:00:00Z",
            ),
            (
                "Surf in 24 hours",
                "Surf | due=2026-04-05T11:00 @2026-04-05T01:00:00Z",
            ),
            (
                "Surf tonight",
                "Surf | due=2026-04-04T20:00 @2026-04-04T09:00:00Z",
            ),
            ("Surf this weekend", "Surf | due=2026-04-04"),
            ("Surf monday", "Surf | due=2026-04-06"),
        ],
    };

    /// Australia/Sydney at 01:00 on 3 December (AEDT): still 2 December in UTC.
    const SYDNEY_EARLY: Section = Section {
        zone: "Australia/Sydney",
        now: "2026-12-02T14:00:00Z",
        rows: &[
            ("Swim today", "Swim | due=2026-12-03"),
            ("Swim tomorrow", "Swim | due=2026-12-04"),
            ("Swim monday", "Swim | due=2026-12-07"),
            ("Swim this weekend", "Swim | due=2026-12-05"),
            (
                "Swim 6am",
                "Swim | due=2026-12-03T06:00 @2026-12-02T19:00:00Z",
            ),
            ("Swim this thursday", "Swim | due=2026-12-03"),
            (
                "Swim every thursday",
                "Swim | due=2026-12-03 | rrule=FREQ=WEEKLY;BYDAY=TH",
            ),
            ("Swim dec 3", "Swim | due=2026-12-03"),
            ("Swim dec 2", "Swim | due=2027-12-02"),
        ],
    };

    /// Asia/Tokyo (no DST) at 08:00 on 3 December, 23:00 UTC the day before.
    const TOKYO: Section = Section {
        zone: "Asia/Tokyo",
        now: "2026-12-02T23:00:00Z",
        rows: &[
            ("Ship today", "Ship | due=2026-12-03"),
            (
                "Ship tomorrow 9am",
                "Ship | due=2026-12-04T09:00 @2026-12-04T00:00:00Z",
            ),
            (
                "Ship 9am",
                "Ship | due=2026-12-03T09:00 @2026-12-03T00:00:00Z",
            ),
            (
                "Ship 7am",
                "Ship | due=2026-12-04T07:00 @2026-12-03T22:00:00Z",
            ),
            ("Ship friday", "Ship | due=2026-12-04"),
            (
                "Ship every month on the 3rd",
                "Ship | due=2026-12-03 | rrule=FREQ=MONTHLY;BYMONTHDAY=3",
            ),
        ],
    };

    const SECTIONS: [&Section; 13] = [
        &UTC_WEDNESDAY,
        &BERLIN_SPRING,
        &BERLIN_GAP_NIGHT,
        &BERLIN_AUTUMN,
        &NEW_YORK_SPRING,
        &NEW_YORK_AUTUMN,
        &NEW_YORK_FOLD,
        &NEW_YORK_LATE,
        &SYDNEY_SPRING,
        &SYDNEY_AUTUMN,
        &SYDNEY_EARLY,
        &TOKYO,
        &UTC_NEW_YEAR,
    ];

    /// Friday 31 December 2027, 23:30 UTC: "tomorrow" is next year.
    const UTC_NEW_YEAR: Section = Section {
        zone: "UTC",
        now: "2027-12-31T23:30:00Z",
        rows: &[
            ("Toast tomorrow", "Toast | due=2028-01-01"),
            ("Toast in 1 hour", "Toast | due=2028-01-01T00:30"),
            ("Toast jan 1", "Toast | due=2028-01-01"),
            ("Toast dec 31", "Toast | due=2027-12-31"),
            ("Toast next month", "Toast | due=2028-01-01"),
            ("Toast next week", "Toast | due=2028-01-03"),
            ("Toast 11pm", "Toast | due=2028-01-01T23:00"),
            (
                "Toast every last day of the month",
                "Toast | due=2027-12-31 | rrule=FREQ=MONTHLY;BYMONTHDAY=-1",
            ),
        ],
    };

    /// Every phrase of the table reads as the table says; every span is where it says it is, spans do not
    /// overlap, and the title is what is left.
    #[test]
    fn phrase_table() {
        let mut failures = Vec::new();
        let mut rows = 0;
        for section in SECTIONS {
            let tz = TimeZone::get(section.zone).unwrap();
            let now: Timestamp = section.now.parse().unwrap();
            for (text, expected) in section.rows {
                rows += 1;
                let q = parse(text, &tz, now);
                let got = summary(&q, &tz);
                if got != *expected {
                    failures.push(format!(
                        "{} {:?}\n   expected {expected:?}\n        got {got:?}",
                        section.zone, text
                    ));
                }
                let mut last_end = 0;
                for s in &q.spans {
                    assert!(
                        s.byte_start >= last_end && s.byte_start < s.byte_end,
                        "{text:?}: {s:?}"
                    );
                    assert_eq!(&text[s.byte_start..s.byte_end], s.text, "{text:?}");
                    let chars: Vec<char> = text.chars().collect();
                    assert_eq!(
                        chars[s.start..s.end].iter().collect::<String>(),
                        s.text,
                        "{text:?}"
                    );
                    last_end = s.byte_end;
                }
            }
        }
        assert!(rows >= 300, "the table has {rows} phrases");
        assert!(
            failures.is_empty(),
            "{} of {rows} phrases read wrongly:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    fn utc_wednesday() -> Timestamp {
        UTC_WEDNESDAY.now.parse().unwrap()
    }

    /// The spans of the example, as a UI highlights them: character offsets, and byte offsets that
    /// differ once the text has a multi-byte character.
    #[test]
    fn spans_locate_each_piece() {
        let q = parse(
            "Call mom tomorrow 5pm every sunday #family !high",
            &TimeZone::UTC,
            utc_wednesday(),
        );
        let got: Vec<(SpanKind, usize, usize, &str)> = q
            .spans
            .iter()
            .map(|s| (s.kind, s.start, s.end, s.text.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (SpanKind::Date, 9, 17, "tomorrow"),
                (SpanKind::Time, 18, 21, "5pm"),
                (SpanKind::Recurrence, 22, 34, "every sunday"),
                (SpanKind::Tag, 35, 42, "#family"),
                (SpanKind::Priority, 43, 48, "!high"),
            ]
        );
        let q = parse("Café tomorrow", &TimeZone::UTC, utc_wednesday());
        let s = &q.spans[0];
        assert_eq!((s.start, s.end, s.byte_start, s.byte_end), (5, 13, 6, 14));
        let q = parse(
            "Pay rent +flat, remind me 1h before tomorrow",
            &TimeZone::UTC,
            utc_wednesday(),
        );
        let kinds: Vec<SpanKind> = q.spans.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [SpanKind::Project, SpanKind::Reminder, SpanKind::Date]
        );
        assert_eq!(
            q.spans[0].text, "+flat",
            "the comma is not part of the project"
        );
    }

    /// The API's view resolves the due date in the zone: an all-day date is the end of that local day, a
    /// wall time in the spring-forward gap moves past it; the rule shows its RRULE.
    #[test]
    fn view_in_the_zone() {
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let now: Timestamp = "2026-03-28T11:00:00Z".parse().unwrap();
        let v = parse("Bake tomorrow 2:30am every day #food p1", &berlin, now).view(&berlin);
        let due = v.due.unwrap();
        assert_eq!(due.at.to_string(), "2026-03-29T01:30:00Z");
        assert_eq!(due.time.unwrap().to_string(), "03:30:00");
        assert_eq!(due.time_zone, "Europe/Berlin");
        assert_eq!(v.recurrence.unwrap().rrule, "FREQ=DAILY");
        assert_eq!(v.priority, Some(Priority::Urgent));
        let v = parse("Bake tomorrow", &berlin, now).view(&berlin);
        let due = v.due.unwrap();
        assert!(due.all_day);
        assert_eq!(due.at.to_string(), "2026-03-29T21:59:59.999Z");
        assert_eq!(
            parse("Bake tomorrow 2:30am", &berlin, now)
                .due
                .unwrap()
                .input(),
            "2026-03-29T02:30:00",
            "creation gets the wall time asked for"
        );
    }

    const VOCABULARY: [&str; 40] = [
        "call", "Mom", "tomorrow", "Tomorrow", "today", "tonight", "5pm", "17:00", "at", "on",
        "by", "next", "this", "friday", "Friday", "dec", "24", "24th", "of", "may", "in", "3",
        "days", "hours", "every", "every!", "other", "week", "month", "the", "last", "15th", "and",
        "#tag", "+proj", "!high", "p2", "remind", "me", "before",
    ];

    proptest! {
        /// Any sequence of these words (with commas and odd spacing) reads without panicking, its spans
        /// point into the text in order, and the title is what the spans leave, trimmed.
        #[test]
        fn any_words_read_consistently(
            picks in proptest::collection::vec((0usize..40, 0usize..4), 0..14),
        ) {
            let text: String = picks.iter().map(|&(w, sep)| {
                format!("{}{}", VOCABULARY[w], [" ", ", ", "  ", "\u{a0}é "][sep])
            }).collect();
            let q = parse(&text, &TimeZone::UTC, utc_wednesday());
            let mut last_end = 0;
            for s in &q.spans {
                prop_assert!(s.byte_start >= last_end && s.byte_start < s.byte_end);
                prop_assert_eq!(&text[s.byte_start..s.byte_end], s.text.as_str());
                last_end = s.byte_end;
            }
            prop_assert_eq!(q.title.trim(), q.title.as_str());
            for word in q.title.split_whitespace() {
                prop_assert!(text.contains(word.trim_end_matches(',')), "{:?} from {:?}", word, text);
            }
        }
    }
}
