//! Reminders: absolute (a moment) or relative (N minutes before the due time). A relative reminder
//! follows the due date when it moves; one on an all-day task counts back from 09:00 local time on the
//! due date (nobody wants "1 hour before" an all-day task at 22:59).

use crate::domain::due::Due;
use crate::error::Invalid;
use jiff::Timestamp;
use jiff::civil::Time;
use jiff::tz::TimeZone;
use serde::Deserialize;

pub const MAX_REMINDERS_PER_TASK: usize = 20;
pub const MAX_MINUTES_BEFORE: u32 = 525_600;
/// The local time an all-day task is considered due for relative reminders.
pub const ALL_DAY_REMINDER_TIME: Time = Time::constant(9, 0, 0, 0);

/// Request form: exactly one of `at` or `minutes_before`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReminderInput {
    /// A moment: RFC 3339 with offset, or a local date-time (YYYY-MM-DDTHH:MM) in your time zone.
    pub at: Option<String>,
    /// Minutes before the task's due time (0..=525600); the task must have a due date.
    #[schema(maximum = 525_600)]
    pub minutes_before: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderSpec {
    Absolute(Timestamp),
    Relative { minutes_before: u32 },
}

impl ReminderInput {
    pub fn into_spec(self, tz: &TimeZone, due: Option<Due>) -> Result<ReminderSpec, Invalid> {
        match (self.at, self.minutes_before) {
            (Some(at), None) => {
                let due = Due::parse(&at, tz, "at")
                    .map_err(|e| Invalid::new("invalid_time", "at", e.message))?;
                if due.all_day {
                    return Err(Invalid::new(
                        "invalid_time",
                        "at",
                        "a reminder needs a time, not just a date",
                    ));
                }
                Ok(ReminderSpec::Absolute(due.at))
            }
            (None, Some(minutes)) => {
                if minutes > MAX_MINUTES_BEFORE {
                    return Err(Invalid::new(
                        "out_of_range",
                        "minutes_before",
                        format!("minutes_before must be 0..={MAX_MINUTES_BEFORE}"),
                    ));
                }
                if due.is_none() {
                    return Err(Invalid::new(
                        "due_required",
                        "minutes_before",
                        "a relative reminder needs the task to have a due date",
                    ));
                }
                Ok(ReminderSpec::Relative {
                    minutes_before: minutes,
                })
            }
            (Some(_), Some(_)) => Err(Invalid::new(
                "conflict",
                "at",
                "give either at or minutes_before, not both",
            )),
            (None, None) => Err(Invalid::new(
                "required",
                "at",
                "give at (a moment) or minutes_before",
            )),
        }
    }
}

impl ReminderSpec {
    /// When the reminder fires, or `None` when a relative reminder's task has no due date any more.
    pub fn fire_at(&self, due: Option<Due>, tz: &TimeZone) -> Option<Timestamp> {
        match *self {
            ReminderSpec::Absolute(at) => Some(at),
            ReminderSpec::Relative { minutes_before } => {
                let due = due?;
                let base = if due.all_day {
                    Due::local(due.local_date(tz).to_datetime(ALL_DAY_REMINDER_TIME), tz).at
                } else {
                    due.at
                };
                base.checked_sub(jiff::SignedDuration::from_mins(i64::from(minutes_before)))
                    .ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    /// A relative reminder counts back from the due instant and moves with it.
    #[test]
    fn relative_follows_due() {
        let berlin = tz("Europe/Berlin");
        let spec = ReminderSpec::Relative { minutes_before: 30 };
        let due = Due::parse("2026-06-01T10:00", &berlin, "due").unwrap();
        assert_eq!(
            spec.fire_at(Some(due), &berlin).unwrap().to_string(),
            "2026-06-01T07:30:00Z"
        );
        let moved = Due::parse("2026-06-02T10:00", &berlin, "due").unwrap();
        assert_eq!(
            spec.fire_at(Some(moved), &berlin).unwrap().to_string(),
            "2026-06-02T07:30:00Z"
        );
        assert_eq!(spec.fire_at(None, &berlin), None);
    }

    /// On an all-day task a relative reminder counts back from 09:00 local.
    #[test]
    fn relative_on_all_day() {
        let la = tz("America/Los_Angeles");
        let due = Due::parse("2026-12-24", &la, "due").unwrap();
        let at = ReminderSpec::Relative { minutes_before: 60 }
            .fire_at(Some(due), &la)
            .unwrap();
        assert_eq!(at.to_string(), "2026-12-24T16:00:00Z");
    }

    /// Input validation: exactly one form, bounded, relative needs a due date, absolute needs a time.
    #[test]
    fn input_rules() {
        let utc = TimeZone::UTC;
        let due = Some(Due::parse("2026-01-01T10:00", &utc, "due").unwrap());
        let both = ReminderInput {
            at: Some("2026-01-01T09:00".into()),
            minutes_before: Some(5),
        };
        assert_eq!(both.into_spec(&utc, due).unwrap_err().code, "conflict");
        let none = ReminderInput {
            at: None,
            minutes_before: None,
        };
        assert_eq!(none.into_spec(&utc, due).unwrap_err().code, "required");
        let rel = ReminderInput {
            at: None,
            minutes_before: Some(5),
        };
        assert_eq!(
            rel.clone().into_spec(&utc, None).unwrap_err().code,
            "due_required"
        );
        assert!(rel.into_spec(&utc, due).is_ok());
        let big = ReminderInput {
            at: None,
            minutes_before: Some(MAX_MINUTES_BEFORE + 1),
        };
        assert_eq!(
            big.into_spec(&utc, due).unwrap_err().field.as_deref(),
            Some("minutes_before")
        );
        let date_only = ReminderInput {
            at: Some("2026-01-01".into()),
            minutes_before: None,
        };
        assert_eq!(
            date_only.into_spec(&utc, due).unwrap_err().code,
            "invalid_time"
        );
        let local = ReminderInput {
            at: Some("2026-01-01T09:00".into()),
            minutes_before: None,
        };
        let spec = local.into_spec(&tz("Asia/Kolkata"), due).unwrap();
        assert_eq!(
            spec,
            ReminderSpec::Absolute("2026-01-01T03:30:00Z".parse().unwrap())
        );
    }
}

/// The longest snooze: a week.
pub const MAX_SNOOZE_MINUTES: u32 = 7 * 24 * 60;

/// `POST /api/v1/tasks/{id}/reminders/{reminder_id}/snooze`: fire again in `minutes`, or at `until` (a
/// moment: RFC 3339, or a local date-time in your zone) — one of the two.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeInput {
    /// 1..=10080 (a week).
    #[schema(minimum = 1, maximum = 10080)]
    pub minutes: Option<u32>,
    /// e.g. tomorrow morning, `2026-12-07T08:00`.
    pub until: Option<String>,
}

impl SnoozeInput {
    /// When the reminder fires again: after `now`, at most a week ahead.
    pub fn fire_at(&self, tz: &TimeZone, now: Timestamp) -> Result<Timestamp, Invalid> {
        let at = match (self.minutes, &self.until) {
            (Some(m), None) if (1..=MAX_SNOOZE_MINUTES).contains(&m) => {
                return Ok(now + jiff::SignedDuration::from_mins(i64::from(m)));
            }
            (Some(_), None) => {
                return Err(Invalid::new(
                    "out_of_range",
                    "minutes",
                    format!("minutes must be 1..={MAX_SNOOZE_MINUTES}"),
                ));
            }
            (None, Some(until)) => {
                let due = Due::parse(until, tz, "until")?;
                if due.all_day {
                    return Err(Invalid::new(
                        "invalid_time",
                        "until",
                        "a snooze needs a time, not just a date",
                    ));
                }
                due.at
            }
            _ => {
                return Err(Invalid::new(
                    "required",
                    "minutes",
                    "give minutes or until (one of them)",
                ));
            }
        };
        if at <= now || at > now + jiff::SignedDuration::from_mins(i64::from(MAX_SNOOZE_MINUTES)) {
            return Err(Invalid::new(
                "out_of_range",
                "until",
                "until must be in the coming week",
            ));
        }
        Ok(at)
    }
}
