//! Rules stored before the RFC 5545 engine, rewritten so they keep meaning what they meant.
//!
//! Earlier versions stored `month_day`, `nth_weekday` and `month` (single values; the current form writes
//! the lists `month_days`, `nth_weekdays`, `months` and never those keys) and, unlike RFC 5545, moved a day
//! a month lacks to the month's last day: "monthly on the 31st" was due on 28 February. Read with today's
//! meaning such a series would skip February instead, so the store rewrites each one once (see
//! `Store::migrate`) into the standard spelling of what it did: `BYMONTHDAY=28,29,30,31;BYSETPOS=-1`.

use super::{Frequency, Rule};
use jiff::civil::DateTime;

/// The keys only the earlier form wrote (it always wrote all three, `null` when unset).
const LEGACY_KEYS: [&str; 3] = ["month_day", "nth_weekday", "month"];

/// The current form of a rule stored by an earlier version, with the same occurrences; `None` when `json`
/// is not such a rule. `anchor` is the series' start: the old rules took a missing day of month (and a
/// yearly rule's missing month) from it.
pub fn upgrade(json: &str, anchor: Option<DateTime>) -> Option<Rule> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let object = value.as_object()?;
    if !LEGACY_KEYS.iter().any(|k| object.contains_key(*k)) {
        return None;
    }
    let mut rule: Rule = serde_json::from_value(value).ok()?;
    let periodic = matches!(rule.frequency, Frequency::Monthly | Frequency::Yearly);
    if !periodic || !rule.nth_weekdays.is_empty() {
        return Some(rule);
    }
    let day = match rule.month_days.as_slice() {
        [] => anchor.map(|a| a.day()),
        [d] => Some(*d),
        _ => None,
    };
    // Days up to the 28th exist in every month, and -1 was already "the last day": nothing moved.
    let Some(day @ 29..=31) = day else {
        return Some(rule);
    };
    if rule.frequency == Frequency::Yearly && rule.months.is_empty() {
        // A position counts within the year unless the rule names its month.
        rule.months = vec![anchor?.month()];
    }
    rule.month_days = (28..=day).collect();
    rule.set_positions = vec![-1];
    Some(rule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::datetime;

    fn dates(rule: &Rule, start: DateTime, n: usize) -> Vec<String> {
        let tz = jiff::tz::TimeZone::UTC;
        rule.occurrences(start, 1, &tz)
            .take(n)
            .map(|d| d.date().to_string())
            .collect()
    }

    /// Each kind of stored rule whose old meaning differs from RFC 5545's, and its rewrite giving the
    /// dates the old engine gave (its own tests' expectations).
    #[test]
    fn month_end_rules_keep_clamping() {
        let rent = r#"{"frequency":"monthly","interval":1,"weekdays":[],"month_day":31,"nth_weekday":null,
            "month":null,"until":null,"count":null,"basis":"due"}"#;
        let start = datetime(2026, 1, 31, 9, 0, 0, 0);
        let r = upgrade(rent, Some(start)).unwrap();
        assert_eq!(
            r.to_rrule(),
            "FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1"
        );
        assert_eq!(
            dates(&r, start, 4),
            ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]
        );

        let implicit = r#"{"frequency":"monthly","interval":2,"weekdays":[],"month_day":null,
            "nth_weekday":null,"month":null,"until":null,"count":null,"basis":"due"}"#;
        let start = datetime(2026, 8, 30, 9, 0, 0, 0);
        let r = upgrade(implicit, Some(start)).unwrap();
        assert_eq!(
            r.to_rrule(),
            "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=28,29,30;BYSETPOS=-1"
        );
        assert_eq!(
            dates(&r, start, 4),
            ["2026-08-30", "2026-10-30", "2026-12-30", "2027-02-28"]
        );

        let leap = r#"{"frequency":"yearly","interval":1,"weekdays":[],"month_day":null,"nth_weekday":null,
            "month":null,"until":null,"count":null,"basis":"due"}"#;
        let start = datetime(2028, 2, 29, 0, 0, 0, 0);
        let r = upgrade(leap, Some(start)).unwrap();
        assert_eq!(
            r.to_rrule(),
            "FREQ=YEARLY;BYMONTHDAY=28,29;BYMONTH=2;BYSETPOS=-1"
        );
        assert_eq!(
            dates(&r, start, 3),
            ["2028-02-29", "2029-02-28", "2030-02-28"]
        );
    }

    /// Rules whose meaning did not change are only respelled; the current form is left alone.
    #[test]
    fn other_rules_are_unchanged() {
        let the_15th = r#"{"frequency":"monthly","interval":1,"weekdays":[],"month_day":15,"nth_weekday":null,
            "month":null,"until":"2027-01-15","count":null,"basis":"due"}"#;
        let r = upgrade(the_15th, Some(datetime(2026, 1, 15, 9, 0, 0, 0))).unwrap();
        assert_eq!(r.to_rrule(), "FREQ=MONTHLY;BYMONTHDAY=15;UNTIL=20270115");
        let last_friday = r#"{"frequency":"monthly","interval":1,"weekdays":[],"month_day":null,
            "nth_weekday":{"nth":-1,"weekday":"friday"},"month":null,"until":null,"count":3,"basis":"due"}"#;
        let r = upgrade(last_friday, Some(datetime(2026, 1, 30, 9, 0, 0, 0))).unwrap();
        assert_eq!(r.to_rrule(), "FREQ=MONTHLY;BYDAY=-1FR;COUNT=3");
        let weekly = r#"{"frequency":"weekly","interval":1,"weekdays":["monday","thursday"],"month_day":null,
            "nth_weekday":null,"month":null,"until":null,"count":null,"basis":"completion"}"#;
        let r = upgrade(weekly, Some(datetime(2026, 1, 31, 9, 0, 0, 0))).unwrap();
        assert_eq!(r.to_rrule(), "FREQ=WEEKLY;BYDAY=MO,TH");
        assert_eq!(r.month_days, Vec::<i8>::new());

        let current = serde_json::to_string(&r).unwrap();
        assert_eq!(upgrade(&current, None), None, "already in the current form");
        assert_eq!(upgrade("not json", None), None);
    }
}
