//! IANA time zones. The zone database is bundled into the binary so a container without
//! `/usr/share/zoneinfo` still computes DST-correct local times.

use crate::error::Invalid;
use jiff::tz::TimeZone;

/// Resolve an IANA name (e.g. `Europe/Berlin`) or reject it naming the field.
pub fn parse_time_zone(name: &str, field: &'static str) -> Result<TimeZone, Invalid> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 {
        return Err(Invalid::new(
            "invalid_time_zone",
            field,
            "time zone must be an IANA name such as Europe/Berlin",
        ));
    }
    jiff::tz::db().get(name).map_err(|_| {
        Invalid::new(
            "invalid_time_zone",
            field,
            format!("unknown time zone {name:?}; use an IANA name such as America/New_York"),
        )
    })
}

/// Look up a zone already validated when it was stored; falls back to UTC rather than failing a read.
pub fn stored_time_zone(name: &str) -> TimeZone {
    jiff::tz::db().get(name).unwrap_or(TimeZone::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known zones east and west of UTC resolve; junk is rejected with the field named.
    #[test]
    fn parses_iana_names_and_rejects_junk() {
        assert!(parse_time_zone("Europe/Berlin", "time_zone").is_ok());
        assert!(parse_time_zone("America/Los_Angeles", "time_zone").is_ok());
        assert!(parse_time_zone("Asia/Kolkata", "time_zone").is_ok());
        let err = parse_time_zone("Mars/Olympus", "time_zone").unwrap_err();
        assert_eq!(err.code, "invalid_time_zone");
        assert_eq!(err.field.as_deref(), Some("time_zone"));
        assert!(parse_time_zone("", "time_zone").is_err());
    }
}
