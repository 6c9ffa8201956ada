//! Listing: filters, sorting and cursor pagination, validated into a [`TaskQuery`] the store turns into SQL.

use crate::domain::due::{local_day_bounds, parse_bound};
use crate::domain::task::{Priority, Status, validate_tag_name};
use crate::error::Invalid;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 200;
pub const MAX_SEARCH_TERMS: usize = 16;

/// Query-string parameters of `GET /api/v1/tasks`, as given. Everything is combinable.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskQueryParams {
    /// Comma-separated statuses: `open`, `in_progress`, `completed`.
    pub status: Option<String>,
    /// Comma-separated priorities: `none`, `low`, `medium`, `high`, `urgent`.
    pub priority: Option<String>,
    /// Comma-separated tag names (case-insensitive).
    pub tags: Option<String>,
    /// `any` (default): tasks with at least one of `tags`; `all`: tasks with every one.
    pub tag_mode: Option<String>,
    /// Due at or after: a date (start of that day in your zone) or a date-time.
    pub due_after: Option<String>,
    /// Due before: a date (start of that day in your zone) or a date-time.
    pub due_before: Option<String>,
    /// `true`: open tasks whose due time has passed; `false`: everything else.
    pub overdue: Option<String>,
    /// `true`: due during today in your time zone.
    pub due_today: Option<String>,
    /// `false`: only tasks with no due date; `true`: only tasks with one.
    pub has_due: Option<String>,
    /// `true`: only recurring tasks; `false`: only one-off tasks.
    pub recurring: Option<String>,
    /// Only the tasks of this project (its id; archived projects too). Without it, tasks of archived
    /// projects are left out.
    pub project: Option<String>,
    /// A task's id: its direct subtasks; `none`: only tasks that are not subtasks. Without it, both.
    pub parent: Option<String>,
    /// Full-text search over title, description and tag names; word stems and prefixes match.
    pub q: Option<String>,
    /// `due`, `priority`, `title`, `created`, `updated`, or `rank` (with `q`). Default: `rank` with `q`, else `created`.
    pub sort: Option<String>,
    /// `asc` or `desc`. Default: `asc` for due and title, `desc` otherwise.
    pub order: Option<String>,
    /// Page size, 1..=200 (default 50).
    pub limit: Option<String>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortKey {
    Due,
    Priority,
    Title,
    Created,
    Updated,
    Rank,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagMode {
    Any,
    All,
}

/// The sort key value of the last row of a page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CursorKey {
    Int(i64),
    Float(f64),
    Text(String),
}

/// Where the next page starts: strictly after `(key, id)` in the query's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "k")]
    pub key: CursorKey,
    pub id: Uuid,
    /// The sort the cursor belongs to; reusing it under a different sort is an error, not a wrong page.
    #[serde(rename = "s")]
    pub sort: String,
}

/// A validated listing request.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskQuery {
    pub statuses: Vec<Status>,
    pub priorities: Vec<Priority>,
    pub tags: Vec<String>,
    pub tag_mode: TagMode,
    pub due_after: Option<Timestamp>,
    pub due_before: Option<Timestamp>,
    /// `Some(true)`: not completed and due before `now`.
    pub overdue: Option<bool>,
    /// `[start, end)` of the user's today.
    pub due_within: Option<(Timestamp, Timestamp)>,
    pub has_due: Option<bool>,
    pub recurring: Option<bool>,
    pub project: Option<Uuid>,
    pub parent: Option<Parent>,
    pub search: Option<SearchTerms>,
    pub sort: SortKey,
    pub order: Order,
    pub limit: u32,
    pub after: Option<Cursor>,
    pub now: Timestamp,
}

/// Which tasks by their parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    /// Subtasks of this task.
    Of(Uuid),
    /// Tasks without a parent.
    None,
}

/// Search input reduced to plain words (letters and digits), so no query syntax reaches the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms(pub Vec<String>);

impl SearchTerms {
    pub fn parse(raw: &str) -> Result<SearchTerms, Invalid> {
        if raw.len() > 512 {
            return Err(Invalid::new(
                "too_long",
                "q",
                "search text must be at most 512 bytes",
            ));
        }
        let terms: Vec<String> = raw
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(|t| t.chars().take(64).collect::<String>().to_lowercase())
            .take(MAX_SEARCH_TERMS)
            .collect();
        if terms.is_empty() {
            return Err(Invalid::new(
                "invalid_search",
                "q",
                "search text must contain at least one word",
            ));
        }
        Ok(SearchTerms(terms))
    }

    /// PostgreSQL `to_tsquery` input: every word stemmed and prefix-matched, all required.
    pub fn to_tsquery(&self) -> String {
        self.0
            .iter()
            .map(|t| format!("{t}:*"))
            .collect::<Vec<_>>()
            .join(" & ")
    }

    /// SQLite FTS5 MATCH input: every word quoted and prefix-matched, all required.
    pub fn to_fts5(&self) -> String {
        self.0
            .iter()
            .map(|t| format!("\"{t}\"*"))
            .collect::<Vec<_>>()
            .join(" AND ")
    }
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(raw: &str) -> Result<Cursor, Invalid> {
        let bad = || {
            Invalid::new(
                "invalid_cursor",
                "cursor",
                "cursor is not one this server issued",
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        match &cursor.key {
            CursorKey::Text(t) if t.contains('\0') => Err(bad()),
            CursorKey::Float(f) if !f.is_finite() => Err(bad()),
            _ => Ok(cursor),
        }
    }
}

fn parse_bool(v: &str, field: &'static str) -> Result<bool, Invalid> {
    match v.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(Invalid::new(
            "invalid_boolean",
            field,
            format!("{other:?} is not true or false"),
        )),
    }
}

fn parse_list<T>(
    raw: &str,
    field: &'static str,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, Invalid> {
    raw.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            parse(s).ok_or_else(|| {
                Invalid::new(
                    "invalid_value",
                    field,
                    format!("{:?} is not {what}", s.trim()),
                )
            })
        })
        .collect()
}

impl TaskQueryParams {
    pub fn validate(self, tz: &TimeZone, now: Timestamp) -> Result<TaskQuery, Invalid> {
        let statuses = match &self.status {
            Some(s) => parse_list(
                s,
                "status",
                "a status (open, in_progress, completed)",
                Status::parse,
            )?,
            None => vec![],
        };
        let priorities = match &self.priority {
            Some(s) => parse_list(
                s,
                "priority",
                "a priority (none, low, medium, high, urgent)",
                Priority::parse,
            )?,
            None => vec![],
        };
        let mut tags = match &self.tags {
            Some(s) => s
                .split(',')
                .filter(|t| !t.trim().is_empty())
                .map(|t| validate_tag_name(t, "tags").map(|n| n.to_lowercase()))
                .collect::<Result<Vec<_>, _>>()?,
            None => vec![],
        };
        // A name given twice is one tag ("all" counts distinct tags).
        let mut seen = std::collections::HashSet::new();
        tags.retain(|t| seen.insert(t.clone()));
        let tag_mode = match self.tag_mode.as_deref().map(str::trim) {
            None | Some("any") => TagMode::Any,
            Some("all") => TagMode::All,
            Some(other) => {
                return Err(Invalid::new(
                    "invalid_value",
                    "tag_mode",
                    format!("{other:?} is not any or all"),
                ));
            }
        };
        let due_after = self
            .due_after
            .as_deref()
            .map(|v| parse_bound(v, tz, "due_after"))
            .transpose()?;
        let due_before = self
            .due_before
            .as_deref()
            .map(|v| parse_bound(v, tz, "due_before"))
            .transpose()?;
        if let (Some(a), Some(b)) = (due_after, due_before)
            && a >= b
        {
            return Err(Invalid::new(
                "invalid_range",
                "due_before",
                "due_before must be later than due_after",
            ));
        }
        let overdue = self
            .overdue
            .as_deref()
            .map(|v| parse_bool(v, "overdue"))
            .transpose()?;
        let due_today = self
            .due_today
            .as_deref()
            .map(|v| parse_bool(v, "due_today"))
            .transpose()?;
        let due_within = match due_today {
            Some(true) => Some(local_day_bounds(now.to_zoned(tz.clone()).date(), tz)),
            Some(false) | None => None,
        };
        let has_due = self
            .has_due
            .as_deref()
            .map(|v| parse_bool(v, "has_due"))
            .transpose()?;
        let recurring = self
            .recurring
            .as_deref()
            .map(|v| parse_bool(v, "recurring"))
            .transpose()?;
        let project = self
            .project
            .as_deref()
            .map(|v| {
                v.trim().parse::<Uuid>().map_err(|_| {
                    Invalid::new(
                        "invalid_value",
                        "project",
                        format!("{v:?} is not a project id"),
                    )
                })
            })
            .transpose()?;
        let parent = match self.parent.as_deref().map(str::trim) {
            None => None,
            Some("none") => Some(Parent::None),
            Some(v) => Some(Parent::Of(v.parse::<Uuid>().map_err(|_| {
                Invalid::new(
                    "invalid_value",
                    "parent",
                    format!("{v:?} is not a task id or none"),
                )
            })?)),
        };
        let search = self
            .q
            .as_deref()
            .filter(|q| !q.trim().is_empty())
            .map(SearchTerms::parse)
            .transpose()?;
        let sort = match self.sort.as_deref().map(str::trim) {
            None | Some("") => {
                if search.is_some() {
                    SortKey::Rank
                } else {
                    SortKey::Created
                }
            }
            Some("due") => SortKey::Due,
            Some("priority") => SortKey::Priority,
            Some("title") => SortKey::Title,
            Some("created") => SortKey::Created,
            Some("updated") => SortKey::Updated,
            Some("rank") if search.is_some() => SortKey::Rank,
            Some("rank") => {
                return Err(Invalid::new(
                    "invalid_value",
                    "sort",
                    "sort=rank needs a search (q)",
                ));
            }
            Some(other) => {
                return Err(Invalid::new(
                    "invalid_value",
                    "sort",
                    format!("{other:?} is not one of due, priority, title, created, updated, rank"),
                ));
            }
        };
        let order = match self.order.as_deref().map(str::trim) {
            None | Some("") => match sort {
                SortKey::Due | SortKey::Title => Order::Asc,
                _ => Order::Desc,
            },
            Some("asc") => Order::Asc,
            Some("desc") => Order::Desc,
            Some(other) => {
                return Err(Invalid::new(
                    "invalid_value",
                    "order",
                    format!("{other:?} is not asc or desc"),
                ));
            }
        };
        let limit = match self.limit.as_deref() {
            None => DEFAULT_PAGE_SIZE,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
                _ => {
                    return Err(Invalid::new(
                        "out_of_range",
                        "limit",
                        format!("limit must be 1..={MAX_PAGE_SIZE}"),
                    ));
                }
            },
        };
        let mut query = TaskQuery {
            statuses,
            priorities,
            tags,
            tag_mode,
            due_after,
            due_before,
            overdue,
            due_within,
            has_due,
            recurring,
            project,
            parent,
            search,
            sort,
            order,
            limit,
            after: None,
            now,
        };
        if let Some(raw) = self.cursor.as_deref() {
            let cursor = Cursor::decode(raw)?;
            if cursor.sort != query.signature() {
                return Err(Invalid::new(
                    "invalid_cursor",
                    "cursor",
                    "cursor belongs to a different sort or search",
                ));
            }
            query.after = Some(cursor);
        }
        Ok(query)
    }
}

impl TaskQuery {
    /// Identifies the ordering a cursor was issued for.
    pub fn signature(&self) -> String {
        let search = self
            .search
            .as_ref()
            .map(|s| s.0.join(" "))
            .unwrap_or_default();
        format!("{:?}:{:?}:{search}", self.sort, self.order).to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-05-05T12:00:00Z".parse().unwrap()
    }

    fn parse(p: TaskQueryParams) -> Result<TaskQuery, Invalid> {
        p.validate(&TimeZone::UTC, now())
    }

    /// Defaults: created, newest first, 50 per page; with a search, best match first.
    #[test]
    fn defaults() {
        let q = parse(TaskQueryParams::default()).unwrap();
        assert_eq!(
            (q.sort, q.order, q.limit),
            (SortKey::Created, Order::Desc, DEFAULT_PAGE_SIZE)
        );
        let q = parse(TaskQueryParams {
            q: Some("milk".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((q.sort, q.order), (SortKey::Rank, Order::Desc));
        let q = parse(TaskQueryParams {
            sort: Some("due".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(q.order, Order::Asc);
    }

    /// Lists parse into their values; a bad item names the field.
    #[test]
    fn lists_and_errors() {
        let q = parse(TaskQueryParams {
            status: Some("open,in_progress".into()),
            priority: Some("high,urgent".into()),
            tags: Some("Work, home, WORK".into()),
            tag_mode: Some("all".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(q.statuses, [Status::Open, Status::InProgress]);
        assert_eq!(q.priorities, [Priority::High, Priority::Urgent]);
        assert_eq!(q.tags, ["work", "home"]);
        assert_eq!(q.tag_mode, TagMode::All);
        for (p, field) in [
            (
                TaskQueryParams {
                    status: Some("done".into()),
                    ..Default::default()
                },
                "status",
            ),
            (
                TaskQueryParams {
                    priority: Some("p1".into()),
                    ..Default::default()
                },
                "priority",
            ),
            (
                TaskQueryParams {
                    tag_mode: Some("some".into()),
                    ..Default::default()
                },
                "tag_mode",
            ),
            (
                TaskQueryParams {
                    overdue: Some("yes".into()),
                    ..Default::default()
                },
                "overdue",
            ),
            (
                TaskQueryParams {
                    limit: Some("0".into()),
                    ..Default::default()
                },
                "limit",
            ),
            (
                TaskQueryParams {
                    limit: Some("201".into()),
                    ..Default::default()
                },
                "limit",
            ),
            (
                TaskQueryParams {
                    sort: Some("rank".into()),
                    ..Default::default()
                },
                "sort",
            ),
            (
                TaskQueryParams {
                    sort: Some("colour".into()),
                    ..Default::default()
                },
                "sort",
            ),
            (
                TaskQueryParams {
                    order: Some("up".into()),
                    ..Default::default()
                },
                "order",
            ),
            (
                TaskQueryParams {
                    due_after: Some("soon".into()),
                    ..Default::default()
                },
                "due_after",
            ),
            (
                TaskQueryParams {
                    q: Some("!!!".into()),
                    ..Default::default()
                },
                "q",
            ),
            (
                TaskQueryParams {
                    cursor: Some("garbage".into()),
                    ..Default::default()
                },
                "cursor",
            ),
            (
                TaskQueryParams {
                    due_after: Some("2026-02-01".into()),
                    due_before: Some("2026-01-01".into()),
                    ..Default::default()
                },
                "due_before",
            ),
        ] {
            assert_eq!(parse(p).unwrap_err().field.as_deref(), Some(field));
        }
    }

    /// A cursor only continues the sort it came from.
    #[test]
    fn cursor_bound_to_sort() {
        let q = parse(TaskQueryParams {
            sort: Some("title".into()),
            ..Default::default()
        })
        .unwrap();
        let c = Cursor {
            key: CursorKey::Text("milk".into()),
            id: Uuid::nil(),
            sort: q.signature(),
        };
        let ok = parse(TaskQueryParams {
            sort: Some("title".into()),
            cursor: Some(c.encode()),
            ..Default::default()
        });
        assert_eq!(ok.unwrap().after, Some(c.clone()));
        let other = parse(TaskQueryParams {
            sort: Some("due".into()),
            cursor: Some(c.encode()),
            ..Default::default()
        });
        assert_eq!(other.unwrap_err().code, "invalid_cursor");
    }

    /// Search text is reduced to words; nothing else reaches the query languages.
    #[test]
    fn search_terms_are_sanitised() {
        let t = SearchTerms::parse("Buy   mílk & eggs:* | !x").unwrap();
        assert_eq!(t.0, ["buy", "mílk", "eggs", "x"]);
        assert_eq!(t.to_tsquery(), "buy:* & mílk:* & eggs:* & x:*");
        assert_eq!(
            t.to_fts5(),
            "\"buy\"* AND \"mílk\"* AND \"eggs\"* AND \"x\"*"
        );
    }

    /// due_today uses the user's day, not UTC's.
    #[test]
    fn due_today_in_user_zone() {
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        let q = TaskQueryParams {
            due_today: Some("true".into()),
            ..Default::default()
        }
        .validate(&tokyo, now())
        .unwrap();
        let (s, e) = q.due_within.unwrap();
        assert_eq!(s.to_string(), "2026-05-04T15:00:00Z");
        assert_eq!(e.to_string(), "2026-05-05T15:00:00Z");
    }
}
