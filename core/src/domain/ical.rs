//! The calendar feed's iCalendar text (RFC 5545): one VCALENDAR with every dated task as a VEVENT, the
//! user's zone as a VTIMEZONE, recurring tasks as RRULE series.
//!
//! Why VEVENT and not VTODO: Google Calendar ignores VTODO in subscribed calendars and Apple Calendar shows
//! subscribed VTODOs nowhere either (its reminders come from CalDAV, not from feeds); Thunderbird shows
//! both. A VEVENT at the due date is the one thing all three display. Events are TRANSPARENT, so a task
//! never makes its owner look busy.
//!
//! A completed task keeps its event with `✓ ` before its title (what every client shows) and
//! `X-TODOPLATFORM-STATUS:completed` (for programs; clients ignore X- properties). VEVENT has no
//! completed status, and `STATUS:CANCELLED` would make clients hide or strike out work that was done.

use crate::domain::due::{Due, resolve};
use crate::domain::recurrence::{Rule, Until};
use crate::domain::task::Status;
use crate::model::Task;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{Dst, Offset, TimeZone};
use jiff::{Timestamp, ToSpan};

/// The longest content line, in octets, before it is folded (RFC 5545 §3.1).
const LINE_OCTETS: usize = 75;

/// The `PRODID` of every feed.
pub const PRODID: &str = "-//TodoPlatform//Calendar feed 1//EN";

/// How many years after the later of today and the last dated task the VTIMEZONE's transitions reach,
/// so a series running on is shown at the right offset for that long even by a client that reads the
/// VTIMEZONE instead of its own zone database.
const ZONE_YEARS_AHEAD: i16 = 5;

/// What a feed is rendered from.
pub struct Feed<'a> {
    /// `X-WR-CALNAME`: the name calendar apps give the subscription.
    pub name: &'a str,
    /// The user's IANA zone name (the `TZID`) and the zone itself.
    pub zone_name: &'a str,
    pub tz: &'a TimeZone,
    /// The tasks with a due date, in the order they appear.
    pub tasks: &'a [Task],
    /// Today's year: the VTIMEZONE covers at least it and the years after it.
    pub this_year: i16,
}

/// TEXT escaping (RFC 5545 §3.3.11): backslash, semicolon and comma escaped, a line break as `\n`.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("\\n");
                }
            }
            '\n' => out.push_str("\\n"),
            // Other control characters are not allowed in TEXT at all.
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// One content line, folded (RFC 5545 §3.1): at most 75 octets a line, never inside a UTF-8 character,
/// each continuation starting with a space; every line ends with CRLF.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut used = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if used + n > LINE_OCTETS {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
    out
}

/// The feed's text.
pub fn render(feed: &Feed<'_>) -> String {
    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "VERSION:2.0".into(),
        format!("PRODID:{PRODID}"),
        "CALSCALE:GREGORIAN".into(),
        format!("X-WR-CALNAME:{}", escape_text(feed.name)),
        format!("X-WR-TIMEZONE:{}", feed.zone_name),
        // How often to poll, for the clients that read it (Apple's and Outlook's).
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H".into(),
        "X-PUBLISHED-TTL:PT1H".into(),
    ];
    let mut events = Vec::new();
    let mut years: Option<(i16, i16)> = None;
    let mut timed = false;
    for task in feed.tasks {
        for event in events_of(task, feed) {
            let year = event.start_year;
            years = Some(years.map_or((year, year), |(lo, hi)| (lo.min(year), hi.max(year))));
            timed |= event.zoned;
            events.push(event.lines);
        }
    }
    if timed {
        let (first, last) = years.unwrap_or((feed.this_year, feed.this_year));
        let last = last.max(feed.this_year) + ZONE_YEARS_AHEAD;
        lines.extend(vtimezone(feed.zone_name, feed.tz, first, last));
    }
    lines.extend(events.into_iter().flatten());
    lines.push("END:VCALENDAR".into());
    lines.iter().map(|l| fold(l)).collect()
}

struct Event {
    lines: Vec<String>,
    start_year: i16,
    /// Whether it has a `TZID` start (and so needs the VTIMEZONE).
    zoned: bool,
}

/// The task's events: one, or for an open recurring task whose due time was moved off its series, the
/// moved occurrence and the series from the occurrence after it.
fn events_of(task: &Task, feed: &Feed<'_>) -> Vec<Event> {
    let Some(view) = &task.due else {
        return vec![];
    };
    let tz = feed.tz;
    let due = Due::from_stored(view.at.as_millisecond(), view.all_day);
    let local = due.local_datetime(tz);
    let recurring = match &task.recurrence {
        Some(r) if task.status != Status::Completed => Some(&r.rule),
        _ => None,
    };
    let Some(rule) = recurring else {
        return vec![event(task, feed, Start::of(&due, local, tz), None, "")];
    };
    let position = task.occurrence.unwrap_or(1);
    let anchor = task.series_anchor.unwrap_or(local);
    // Our series is computed from its anchor, RFC 5545's from DTSTART. Earlier occurrences are tasks of
    // their own (in the feed as such), so the series is written from this occurrence on: DTSTART is this
    // occurrence at the series' wall time, which keeps every later one where ours is (an occurrence is
    // always in a period a whole number of intervals from the anchor's, so the periods line up).
    let nominal = local.date().to_datetime(anchor.time());
    if due.all_day || resolve(nominal, tz) == due.at {
        let start = if due.all_day {
            Start::Date(local.date())
        } else {
            Start::of(&Due::local(nominal, tz), nominal, tz)
        };
        return vec![event(task, feed, start, Some((rule, position)), "")];
    }
    // This occurrence was moved to another time by hand: it stands alone, and the series goes on from the
    // next one (with a UID of its own, since it is another event).
    let mut out = vec![event(task, feed, Start::of(&due, local, tz), None, "")];
    if let Some(next) = rule.next_in(tz, anchor, local, local, position) {
        let start = Start::of(&Due::local(next.local, tz), next.local, tz);
        out.push(event(
            task,
            feed,
            start,
            Some((rule, next.occurrence)),
            "-series",
        ));
    }
    out
}

/// An event's start.
#[derive(Clone, Copy)]
enum Start {
    /// All day.
    Date(Date),
    /// A wall time in the user's zone.
    Local(DateTime),
    /// An instant: a wall time in a DST fold that is the later of its two instants, which a `TZID` local
    /// time cannot name (RFC 5545 reads it as the earlier one).
    Utc(Timestamp),
}

impl Start {
    fn of(due: &Due, local: DateTime, tz: &TimeZone) -> Start {
        if due.all_day {
            Start::Date(local.date())
        } else if resolve(local, tz) == due.at {
            Start::Local(local)
        } else {
            Start::Utc(due.at)
        }
    }

    fn year(self) -> i16 {
        match self {
            Start::Date(d) => d.year(),
            Start::Local(dt) => dt.year(),
            Start::Utc(t) => t.to_zoned(TimeZone::UTC).year(),
        }
    }
}

fn date_value(d: Date) -> String {
    d.strftime("%Y%m%d").to_string()
}

fn local_value(dt: DateTime) -> String {
    dt.strftime("%Y%m%dT%H%M%S").to_string()
}

fn utc_value(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

fn event(
    task: &Task,
    feed: &Feed<'_>,
    start: Start,
    series: Option<(&Rule, u32)>,
    uid_suffix: &str,
) -> Event {
    let completed = task.status == Status::Completed;
    let mut lines = vec![
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}{uid_suffix}@todoplatform", task.id),
        // Without METHOD, DTSTAMP is when the event last changed (RFC 5545 §3.8.7.2), which keeps the feed
        // identical between polls while nothing changes.
        format!("DTSTAMP:{}", utc_value(task.updated_at)),
        format!("CREATED:{}", utc_value(task.created_at)),
        format!("LAST-MODIFIED:{}", utc_value(task.updated_at)),
    ];
    let zone = feed.zone_name;
    match start {
        Start::Date(d) => {
            lines.push(format!("DTSTART;VALUE=DATE:{}", date_value(d)));
            lines.push(format!(
                "DTEND;VALUE=DATE:{}",
                date_value(d.tomorrow().unwrap_or(d))
            ));
        }
        // No DTEND: an event that starts and ends at the due time (RFC 5545 §3.6.1), which is what it is.
        Start::Local(dt) => lines.push(format!("DTSTART;TZID={zone}:{}", local_value(dt))),
        Start::Utc(t) => lines.push(format!("DTSTART:{}", utc_value(t))),
    }
    if let Some((rule, position)) = series {
        lines.extend(series_lines(rule, position, start, feed));
    }
    let title = if completed {
        format!("✓ {}", task.title)
    } else {
        task.title.clone()
    };
    lines.push(format!("SUMMARY:{}", escape_text(&title)));
    if !task.description.trim().is_empty() {
        lines.push(format!("DESCRIPTION:{}", escape_text(&task.description)));
    }
    lines.push("TRANSP:TRANSPARENT".into());
    lines.push(format!("X-TODOPLATFORM-STATUS:{}", task.status.as_str()));
    if completed {
        lines.push("CATEGORIES:completed".into());
    }
    lines.push("END:VEVENT".into());
    Event {
        lines,
        start_year: start.year(),
        zoned: matches!(start, Start::Local(_)),
    }
}

/// RRULE and EXDATE of a series starting at `start`, its `position`-th occurrence.
fn series_lines(rule: &Rule, position: u32, start: Start, feed: &Feed<'_>) -> Vec<String> {
    let tz = feed.tz;
    let mut rule = rule.clone();
    // COUNT counts from DTSTART, ours from the series' first occurrence (skipped ones included in both).
    rule.count = rule
        .count
        .map(|c| c.saturating_sub(position.saturating_sub(1)).max(1));
    // UNTIL must be a DATE with an all-day start and a UTC time with a zoned one (RFC 5545 §3.3.10).
    rule.until = rule.until.map(|until| match (until, start) {
        (Until::Date(d), Start::Date(_)) => Until::Date(d),
        (Until::Instant(t), Start::Date(_)) => {
            // Our all-day occurrence is inside the series when its local end of day is not after the instant.
            let d = t.to_zoned(tz.clone()).date();
            if Due::all_day(d, tz).at <= t {
                Until::Date(d)
            } else {
                Until::Date(d.yesterday().unwrap_or(d))
            }
        }
        (Until::Date(d), _) => {
            // The last moment of that local day.
            let next = d.tomorrow().unwrap_or(d).to_datetime(Time::midnight());
            Until::Instant(resolve(next, tz) - 1.second())
        }
        (Until::Instant(t), _) => Until::Instant(t),
    });
    let exdates: Vec<Date> = rule.exdates.drain(..).collect();
    let mut lines = vec![format!("RRULE:{}", rule.to_rrule())];
    let first = match start {
        Start::Date(d) => d,
        Start::Local(dt) => dt.date(),
        Start::Utc(t) => t.to_zoned(tz.clone()).date(),
    };
    let later: Vec<Date> = exdates.into_iter().filter(|d| *d > first).collect();
    if !later.is_empty() {
        // EXDATE names the occurrence's start exactly, so its type and zone are DTSTART's.
        let line = match start {
            Start::Date(_) => format!(
                "EXDATE;VALUE=DATE:{}",
                later
                    .iter()
                    .map(|d| date_value(*d))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Start::Local(dt) => format!(
                "EXDATE;TZID={}:{}",
                feed.zone_name,
                later
                    .iter()
                    .map(|d| local_value(d.to_datetime(dt.time())))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Start::Utc(t) => {
                let time = t.to_zoned(tz.clone()).time();
                format!(
                    "EXDATE:{}",
                    later
                        .iter()
                        .map(|d| utc_value(resolve(d.to_datetime(time), tz)))
                        .collect::<Vec<_>>()
                        .join(",")
                )
            }
        };
        lines.push(line);
    }
    lines
}

fn offset_value(o: Offset) -> String {
    let secs = o.seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    if s == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{s:02}")
    }
}

/// The zone's VTIMEZONE for the years `first..=last`, from jiff's copy of the tz database: the offset in
/// force when `first` begins, then every transition up to the end of `last`, each as its own observance.
/// Explicit transitions rather than RRULEs, because they are exact for every zone and every year, including
/// zones whose rules changed within the span.
fn vtimezone(zone_name: &str, tz: &TimeZone, first: i16, last: i16) -> Vec<String> {
    let begin = Date::new(first, 1, 1)
        .map(|d| resolve(d.to_datetime(Time::midnight()), &TimeZone::UTC))
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let end = Date::new(last.saturating_add(1), 1, 1)
        .map(|d| resolve(d.to_datetime(Time::midnight()), &TimeZone::UTC))
        .unwrap_or(Timestamp::MAX);
    let mut lines = vec!["BEGIN:VTIMEZONE".to_owned(), format!("TZID:{zone_name}")];
    let info = tz.to_offset_info(begin);
    let mut observance = |kind: Dst, at: DateTime, from: Offset, to: Offset, name: &str| {
        let kind = if kind.is_dst() {
            "DAYLIGHT"
        } else {
            "STANDARD"
        };
        lines.push(format!("BEGIN:{kind}"));
        lines.push(format!("DTSTART:{}", local_value(at)));
        lines.push(format!("TZOFFSETFROM:{}", offset_value(from)));
        lines.push(format!("TZOFFSETTO:{}", offset_value(to)));
        if !name.is_empty() {
            lines.push(format!("TZNAME:{}", escape_text(name)));
        }
        lines.push(format!("END:{kind}"));
    };
    let mut before = info.offset();
    observance(
        info.dst(),
        before.to_datetime(begin),
        before,
        before,
        info.abbreviation(),
    );
    for t in tz.following(begin).take_while(|t| t.timestamp() < end) {
        // An observance starts at the local time it begins, read with the offset before it.
        observance(
            t.dst(),
            before.to_datetime(t.timestamp()),
            before,
            t.offset(),
            t.abbreviation(),
        );
        before = t.offset();
    }
    lines.push("END:VTIMEZONE".into());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Backslash, semicolon, comma and line breaks (LF, CRLF, lone CR) are escaped; other control
    /// characters are dropped; everything else stays.
    #[test]
    fn escapes_text() {
        assert_eq!(
            escape_text("a\\b;c,d\ne\r\nf\rg\u{7}h \"ü\" :"),
            "a\\\\b\\;c\\,d\\ne\\nf\\ngh \"ü\" :"
        );
        assert_eq!(escape_text("plain"), "plain");
    }

    /// Lines longer than 75 octets are folded at 75 octets (74 after the leading space), never inside a
    /// multi-byte character, and unfolding gives the line back.
    #[test]
    fn folds_at_75_octets() {
        assert_eq!(fold("short"), "short\r\n");
        let exact = "x".repeat(75);
        assert_eq!(fold(&exact), format!("{exact}\r\n"));
        let long = format!("SUMMARY:{}", "ab".repeat(100));
        let folded = fold(&long);
        let parts: Vec<&str> = folded.trim_end_matches("\r\n").split("\r\n").collect();
        assert_eq!(parts[0].len(), 75);
        assert!(
            parts[1..]
                .iter()
                .all(|p| p.starts_with(' ') && p.len() <= 75)
        );
        assert_eq!(parts[1].len(), 75);
        assert_eq!(folded.replace("\r\n ", ""), format!("{long}\r\n"));
        // "é" is two octets and "✓" three: a fold never splits them.
        for text in ["é".repeat(80), format!("S:{}", "✓".repeat(60))] {
            let folded = fold(&text);
            for part in folded.trim_end_matches("\r\n").split("\r\n") {
                assert!(part.len() <= 75, "{part:?}");
            }
            assert_eq!(folded.replace("\r\n ", ""), format!("{text}\r\n"));
        }
        let accents = fold(&"é".repeat(80));
        assert_eq!(
            accents.split("\r\n").next().unwrap().len(),
            74,
            "37 whole characters, not 37.5"
        );
    }

    /// Offsets as RFC 5545's UTC-OFFSET: sign, hours, minutes, and seconds only when there are some.
    #[test]
    fn utc_offsets() {
        let o = |s: i32| offset_value(Offset::from_seconds(s).unwrap());
        assert_eq!(o(3600), "+0100");
        assert_eq!(o(-4 * 3600), "-0400");
        assert_eq!(o(19_800), "+0530");
        assert_eq!(o(0), "+0000");
        assert_eq!(o(-(3600 + 75)), "-010115");
    }

    /// Berlin in 2026: CET at the start, CEST from 29 March 02:00 local, CET from 25 October 03:00 local.
    #[test]
    fn vtimezone_has_each_transition() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let lines = vtimezone("Europe/Berlin", &tz, 2026, 2026).join("\n");
        assert_eq!(
            lines,
            "BEGIN:VTIMEZONE\nTZID:Europe/Berlin\n\
             BEGIN:STANDARD\nDTSTART:20260101T010000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0100\nTZNAME:CET\nEND:STANDARD\n\
             BEGIN:DAYLIGHT\nDTSTART:20260329T020000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nTZNAME:CEST\nEND:DAYLIGHT\n\
             BEGIN:STANDARD\nDTSTART:20261025T030000\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nTZNAME:CET\nEND:STANDARD\n\
             END:VTIMEZONE"
        );
        let utc = vtimezone("UTC", &TimeZone::UTC, 2026, 2030);
        assert_eq!(
            utc.iter()
                .filter(|l| l.starts_with("BEGIN:STANDARD"))
                .count(),
            1
        );
    }
}
