//! Task fields and their validation rules.

use crate::error::Invalid;
use serde::{Deserialize, Serialize};

pub const TITLE_MAX_CHARS: usize = 500;
pub const DESCRIPTION_MAX_CHARS: usize = 20_000;
pub const TAG_NAME_MAX_CHARS: usize = 64;
pub const PROJECT_NAME_MAX_CHARS: usize = 100;
/// Levels of tasks: a task, its subtasks, theirs, and theirs.
pub const MAX_SUBTASK_DEPTH: u32 = 4;
pub const MAX_TAGS_PER_TASK: usize = 50;

/// Sorts in declaration order: none < low < medium < high < urgent.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    #[default]
    None,
    Low,
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 5] = [
        Priority::None,
        Priority::Low,
        Priority::Medium,
        Priority::High,
        Priority::Urgent,
    ];

    pub fn rank(self) -> i16 {
        self as i16
    }

    pub fn from_rank(rank: i16) -> Priority {
        Priority::ALL
            .get(rank as usize)
            .copied()
            .unwrap_or_default()
    }

    pub fn parse(s: &str) -> Option<Priority> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
    }

    pub fn as_str(self) -> &'static str {
        ["none", "low", "medium", "high", "urgent"][self as usize]
    }
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Open,
    InProgress,
    Completed,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Open, Status::InProgress, Status::Completed];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// A line of text a user names something with: trimmed, not empty, at most `max` characters, free of
/// control characters. `what` begins the messages ("title must not be empty"); errors name `field`.
pub fn validate_line(
    raw: &str,
    field: &'static str,
    what: &str,
    max: usize,
) -> Result<String, Invalid> {
    let line = raw.trim();
    if line.is_empty() {
        return Err(Invalid::new(
            "required",
            field,
            format!("{what} must not be empty"),
        ));
    }
    if line.chars().count() > max {
        return Err(Invalid::new(
            "too_long",
            field,
            format!("{what} must be at most {max} characters"),
        ));
    }
    if line.chars().any(char::is_control) {
        return Err(Invalid::new(
            "invalid_characters",
            field,
            format!("{what} must not contain control characters"),
        ));
    }
    Ok(line.to_owned())
}

pub fn validate_title(raw: &str) -> Result<String, Invalid> {
    validate_line(raw, "title", "title", TITLE_MAX_CHARS)
}

pub fn validate_description(raw: &str) -> Result<String, Invalid> {
    if raw.contains('\0') {
        return Err(Invalid::new(
            "invalid_characters",
            "description",
            "description must not contain NUL characters",
        ));
    }
    if raw.chars().count() > DESCRIPTION_MAX_CHARS {
        return Err(Invalid::new(
            "too_long",
            "description",
            format!("description must be at most {DESCRIPTION_MAX_CHARS} characters"),
        ));
    }
    Ok(raw.trim_end().to_owned())
}

pub fn validate_tag_name(raw: &str, field: &'static str) -> Result<String, Invalid> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Invalid::new(
            "required",
            field,
            "tag name must not be empty",
        ));
    }
    if name.chars().count() > TAG_NAME_MAX_CHARS {
        return Err(Invalid::new(
            "too_long",
            field,
            format!("tag name must be at most {TAG_NAME_MAX_CHARS} characters"),
        ));
    }
    if name.chars().any(|c| c.is_control() || c == ',') {
        return Err(Invalid::new(
            "invalid_characters",
            field,
            "tag name must not contain commas or control characters",
        ));
    }
    Ok(name.to_owned())
}

/// A project name: trimmed, 1..=[`PROJECT_NAME_MAX_CHARS`] characters, no control characters.
pub fn validate_project_name(raw: &str) -> Result<String, Invalid> {
    validate_line(raw, "name", "project name", PROJECT_NAME_MAX_CHARS)
}

/// `#rgb` or `#rrggbb`, normalised to lowercase `#rrggbb`.
pub fn validate_color(raw: &str) -> Result<String, Invalid> {
    let bad = || {
        Invalid::new(
            "invalid_color",
            "color",
            format!("{raw:?} is not a hex colour like #1e90ff"),
        )
    };
    let hex = raw.trim().strip_prefix('#').ok_or_else(bad)?;
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let full = match hex.len() {
        3 => hex.chars().flat_map(|c| [c, c]).collect(),
        6 => hex.to_owned(),
        _ => return Err(bad()),
    };
    Ok(format!("#{}", full.to_ascii_lowercase()))
}

/// Email: trimmed, lowercased, one `@` with something on both sides. Deliverability is the mail server's call.
pub fn validate_email(raw: &str) -> Result<String, Invalid> {
    let email = raw.trim().to_lowercase();
    let ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.matches('@').count() == 1;
    if ok {
        Ok(email)
    } else {
        Err(Invalid::new(
            "invalid_email",
            "email",
            format!("{raw:?} is not an email address"),
        ))
    }
}

pub fn validate_password(raw: &str) -> Result<(), Invalid> {
    let n = raw.chars().count();
    if n < 8 {
        return Err(Invalid::new(
            "too_short",
            "password",
            "password must be at least 8 characters",
        ));
    }
    if raw.len() > 1024 {
        return Err(Invalid::new(
            "too_long",
            "password",
            "password must be at most 1024 bytes",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Priorities order none < low < medium < high < urgent and round-trip through their names and ranks.
    #[test]
    fn priority_order_and_names() {
        let mut v = vec![
            Priority::Urgent,
            Priority::None,
            Priority::High,
            Priority::Low,
            Priority::Medium,
        ];
        v.sort();
        assert_eq!(v, Priority::ALL);
        for p in Priority::ALL {
            assert_eq!(Priority::parse(p.as_str()), Some(p));
            assert_eq!(Priority::from_rank(p.rank()), p);
        }
        assert_eq!(Priority::parse("URGENT"), Some(Priority::Urgent));
        assert_eq!(Priority::parse("critical"), None);
    }

    /// Titles are trimmed and bounded.
    #[test]
    fn title_rules() {
        assert_eq!(validate_title("  Buy milk ").unwrap(), "Buy milk");
        assert_eq!(validate_title("   ").unwrap_err().code, "required");
        assert_eq!(
            validate_title(&"x".repeat(501)).unwrap_err().code,
            "too_long"
        );
        assert!(
            validate_title(&"é".repeat(500)).is_ok(),
            "the limit counts characters, not bytes"
        );
        assert_eq!(
            validate_title("a\u{0}b").unwrap_err().code,
            "invalid_characters"
        );
    }

    /// Colours are validated hex and normalised.
    #[test]
    fn colour_rules() {
        assert_eq!(validate_color("#1E90FF").unwrap(), "#1e90ff");
        assert_eq!(validate_color("#abc").unwrap(), "#aabbcc");
        for bad in ["1e90ff", "#1e90f", "#ggg", "red", "#1e90ff00", ""] {
            assert_eq!(
                validate_color(bad).unwrap_err().code,
                "invalid_color",
                "{bad}"
            );
        }
    }

    /// Tag names: trimmed, bounded, no commas (commas separate tags in filters).
    #[test]
    fn tag_name_rules() {
        assert_eq!(validate_tag_name(" work ", "name").unwrap(), "work");
        assert!(validate_tag_name("a,b", "name").is_err());
        assert!(validate_tag_name("", "name").is_err());
        assert!(validate_tag_name(&"t".repeat(65), "name").is_err());
    }

    /// Emails are normalised to lowercase and must look like addresses.
    #[test]
    fn email_rules() {
        assert_eq!(
            validate_email(" Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in ["ada", "ada@", "@x.io", "a@b", "a b@x.io", "a@@x.io", "a@x."] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
        assert!(validate_password("short").is_err());
        assert!(validate_password("long enough").is_ok());
    }
}
