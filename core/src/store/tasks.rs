//! Tasks: create, read, update, complete/reopen, delete, list (filters, sort, search, cursor pages),
//! and the next-occurrence operation the recurrence worker calls.

use crate::domain::due::Due;
use crate::domain::filter::{Cursor, CursorKey, Order, SortKey, TagMode, TaskQuery};
use crate::domain::recurrence::Rule;
use crate::domain::reminder::{MAX_REMINDERS_PER_TASK, ReminderSpec};
use crate::domain::task::{
    MAX_TAGS_PER_TASK, Status, validate_description, validate_tag_name, validate_title,
};
use crate::error::{Invalid, StoreResult};
use crate::events::CloudEvent;
use crate::events::{kind, topic};
use crate::model::{NewTask, NextOccurrence, Reminder, TagRef, Task, TaskPage, TaskPatch};
use crate::store::outbox::event_payload;
use crate::store::rows::{TASK_COLUMNS, TaskRow, task_columns};
use crate::store::users::load_owner;
use crate::store::{
    BeginWrite, Owner, Pool, Store, encode_error, from_ms, ms, on_pool, retry_deadlocked,
};
use jiff::Timestamp;
use jiff::civil::DateTime;
use uuid::Uuid;

/// A bind value of a dynamically built statement.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(i64),
    Small(i16),
    Float(f64),
    Text(String),
    Id(Uuid),
}

/// Collects SQL text and its bind values so `$n` numbering can't drift from the values.
#[derive(Default)]
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    pub fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }
}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                $crate::store::tasks::Arg::Int(v) => q.bind(v),
                $crate::store::tasks::Arg::Small(v) => q.bind(v),
                $crate::store::tasks::Arg::Float(v) => q.bind(v),
                $crate::store::tasks::Arg::Text(v) => q.bind(v),
                $crate::store::tasks::Arg::Id(v) => q.bind(v),
            };
        }
        q
    }};
}

/// A new reminder of `task_id` with its fire time computed, before it is written.
pub(crate) fn planned_reminder(
    task_id: Uuid,
    spec: &ReminderSpec,
    due: Option<Due>,
    tz: &jiff::tz::TimeZone,
) -> Reminder {
    let (at, minutes_before) = match *spec {
        ReminderSpec::Absolute(at) => (Some(at), None),
        ReminderSpec::Relative { minutes_before } => (None, Some(minutes_before)),
    };
    // Stored to the millisecond; the returned reminder says what a read will.
    let stored = |t: Timestamp| from_ms(ms(t));
    Reminder {
        id: Uuid::now_v7(),
        task_id,
        at: at.map(stored),
        minutes_before,
        fire_at: spec.fire_at(due, tz).map(stored),
        fired_at: None,
        fired_event_id: None,
        deliveries: Vec::new(),
    }
}

/// Write a planned reminder in the caller's transaction.
macro_rules! write_reminder {
    ($tx:expr, $reminder:expr, $owner:expr, $now:expr) => {{
        let r: &$crate::model::Reminder = $reminder;
        sqlx::query(
            "INSERT INTO reminders (id, task_id, user_id, at, minutes_before, fire_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(r.id)
        .bind(r.task_id)
        .bind($owner.id)
        .bind(r.at.map($crate::store::ms))
        .bind(r.minutes_before.map(|m| m as i32))
        .bind(r.fire_at.map($crate::store::ms))
        .bind($crate::store::ms($now))
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Insert one reminder with its computed fire time.
macro_rules! insert_reminder {
    ($tx:expr, $task_id:expr, $owner:expr, $spec:expr, $due:expr, $now:expr) => {{
        let reminder = $crate::store::tasks::planned_reminder($task_id, $spec, $due, &$owner.tz);
        $crate::store::tasks::write_reminder!($tx, &reminder, $owner, $now);
        reminder
    }};
}
pub(crate) use insert_reminder;
pub(crate) use write_reminder;

/// Validated tag names, deduplicated case-insensitively, in the order given.
fn validate_tag_names(names: &[String]) -> Result<Vec<String>, Invalid> {
    if names.len() > MAX_TAGS_PER_TASK {
        return Err(Invalid::new(
            "too_many",
            "tags",
            format!("a task has at most {MAX_TAGS_PER_TASK} tags"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let name = validate_tag_name(n, "tags").map_err(|mut e| {
            e.field = Some(format!("tags[{i}]").into());
            e
        })?;
        if !out.iter().any(|o| o.to_lowercase() == name.to_lowercase()) {
            out.push(name);
        }
    }
    Ok(out)
}

/// Write the task's events (task-events for consumers, task-updates for live views) in the caller's transaction.
macro_rules! emit_task_event {
    ($tx:expr, $store:expr, $owner:expr, $kind:expr, $task:expr, $changed:expr, $now:expr) => {{
        let event = $store.task_event($owner, $kind, &$task, $changed, $now)?;
        $crate::store::outbox::insert_event!(
            $tx,
            $store,
            &event,
            &$crate::store::tasks::TASK_EVENT_TOPICS,
            $now
        );
    }};
}
pub(crate) use emit_task_event;

/// Make sure tags named `names` exist for the owner and return them (one lookup per existing tag). On
/// PostgreSQL each is share-locked, so it keeps the name and colour read here until the task is written.
macro_rules! ensure_tags {
    ($tx:expr, $pg:expr, $owner:expr, $names:expr, $now:expr) => {{
        let names: &[String] = $names;
        let mut tags: Vec<$crate::model::TagRef> = Vec::with_capacity(names.len());
        let find = if $pg {
            "SELECT id, name, color FROM tags WHERE user_id = $1 AND name_key = $2 FOR SHARE"
        } else {
            "SELECT id, name, color FROM tags WHERE user_id = $1 AND name_key = $2"
        };
        for name in names {
            let key = name.to_lowercase();
            let mut found: Option<(uuid::Uuid, String, String)> = sqlx::query_as(find)
                .bind($owner.id)
                .bind(&key)
                .fetch_optional(&mut *$tx)
                .await?;
            if found.is_none() {
                sqlx::query(
                    "INSERT INTO tags (id, user_id, name, name_key, color, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING",
                )
                .bind(uuid::Uuid::now_v7())
                .bind($owner.id)
                .bind(name)
                .bind(&key)
                .bind($crate::store::tags::DEFAULT_COLOR)
                .bind($crate::store::ms($now))
                .execute(&mut *$tx)
                .await?;
                found = Some(
                    sqlx::query_as(find)
                        .bind($owner.id)
                        .bind(&key)
                        .fetch_one(&mut *$tx)
                        .await?,
                );
            }
            if let Some((id, name, color)) = found {
                tags.push($crate::model::TagRef { id, name, color });
            }
        }
        tags
    }};
}

/// The tags a task row carries on PostgreSQL, `[[id, name, colour], …]` in name order, aggregated from a
/// `tagged` CTE of tag rows; the reads parse it back (see [`TaskSelect`](crate::store::rows::TaskSelect)).
macro_rules! pg_tags_json_of_tagged {
    () => {
        "(SELECT json_agg(json_build_array(g.id, g.name, g.color) ORDER BY g.name_key)::text FROM tagged g)"
    };
}
pub(crate) use pg_tags_json_of_tagged;

/// Recompute what a task row derives from its title, description and tags: its search document (title
/// A, description B, tag names C) and the tags it carries for reads (`tags_json`, see
/// [`TaskSelect`](crate::store::rows::TaskSelect)). On PostgreSQL the task's tags are share-locked and
/// read at their latest committed version, so a rename or recolour running at the same time either
/// finishes first (and is what this reads) or waits for this transaction and then refreshes this task
/// itself: neither copy is left holding an old name.
macro_rules! refresh_derived {
    ($tx:expr, $pg:expr, $task_id:expr) => {{
        if $pg {
            sqlx::query(concat!(
                "WITH tagged AS (SELECT g.id, g.name, g.color, g.name_key FROM task_tags tt \
                   JOIN tags g ON g.id = tt.tag_id WHERE tt.task_id = $1 FOR SHARE OF g) \
                 UPDATE tasks SET search = setweight(to_tsvector('english', title), 'A') \
                   || setweight(to_tsvector('english', description), 'B') \
                   || setweight(to_tsvector('english', COALESCE((SELECT string_agg(name, ' ') FROM tagged), '')), 'C'), \
                   tags_json = ",
                $crate::store::tasks::pg_tags_json_of_tagged!(),
                " WHERE id = $1"
            ))
            .bind($task_id)
            .execute(&mut *$tx)
            .await?;
        } else {
            sqlx::query(
                "INSERT OR REPLACE INTO task_fts (rowid, title, description, tags) \
                 SELECT t.seq, t.title, t.description, COALESCE((SELECT group_concat(g.name, ' ') FROM task_tags tt \
                        JOIN tags g ON g.id = tt.tag_id WHERE tt.task_id = t.id), '') \
                 FROM tasks t WHERE t.id = $1",
            )
            .bind($task_id)
            .execute(&mut *$tx)
            .await?;
            sqlx::query(
                "UPDATE tasks SET tags_json = (SELECT NULLIF(json_group_array(json_array(hex(g.id), g.name, g.color) \
                   ORDER BY g.name_key), '[]') FROM task_tags tt JOIN tags g ON g.id = tt.tag_id WHERE tt.task_id = tasks.id) \
                 WHERE id = $1",
            )
            .bind($task_id)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}
pub(crate) use refresh_derived;

/// Load one task of the owner inside a transaction (locking it on PostgreSQL).
macro_rules! load_row_for_update {
    ($tx:expr, $pg:expr, $owner:expr, $id:expr) => {{
        let sql = format!(
            "SELECT {} FROM tasks t WHERE t.id = $1 AND t.user_id = $2{}",
            $crate::store::rows::TASK_COLUMNS,
            if $pg { " FOR UPDATE" } else { "" }
        );
        sqlx::query_as::<_, $crate::store::rows::TaskRow>(&sql)
            .bind($id)
            .bind($owner.id)
            .fetch_optional(&mut *$tx)
            .await?
            .ok_or($crate::error::StoreError::NotFound("task"))?
    }};
}

macro_rules! load_task {
    ($exec:expr, $owner:expr, $id:expr, $now:expr) => {{
        let sql = format!(
            "SELECT {} FROM tasks t WHERE t.id = $1 AND t.user_id = $2",
            $crate::store::rows::task_columns(&$exec)
        );
        sqlx::query_as::<_, $crate::store::rows::TaskRow>(&sql)
            .bind($id)
            .bind($owner.id)
            .fetch_optional($exec)
            .await?
            .ok_or($crate::error::StoreError::NotFound("task"))?
            .into_task($owner, $now)?
    }};
}
pub(crate) use load_task;

/// Recompute every reminder of a task after its due date changed. A relative reminder follows the due
/// date even after it fired: when its new time is still ahead it is re-armed (fires again, as a new event
/// with its own deliveries); when that time has passed too it stays fired.
macro_rules! refire_reminders {
    ($tx:expr, $task_id:expr, $due:expr, $tz:expr, $now:expr) => {{
        let rows: Vec<(uuid::Uuid, Option<i64>, Option<i32>, Option<i64>)> = sqlx::query_as(
            "SELECT id, at, minutes_before, fired_at FROM reminders \
             WHERE task_id = $1 AND (fired_at IS NULL OR minutes_before IS NOT NULL)",
        )
        .bind($task_id)
        .fetch_all(&mut *$tx)
        .await?;
        for (rid, at, minutes, fired_at) in rows {
            let spec = match (at, minutes) {
                (Some(at), _) => {
                    $crate::domain::reminder::ReminderSpec::Absolute($crate::store::from_ms(at))
                }
                (None, m) => $crate::domain::reminder::ReminderSpec::Relative {
                    minutes_before: m.unwrap_or(0).max(0) as u32,
                },
            };
            let fire = spec.fire_at($due, $tz);
            if fired_at.is_some() {
                if fire.is_some_and(|f| f > $now) {
                    sqlx::query(
                        "UPDATE reminders SET fire_at = $1, fired_at = NULL, fired_event_id = NULL, \
                         claimed_until = NULL WHERE id = $2",
                    )
                    .bind(fire.map($crate::store::ms))
                    .bind(rid)
                    .execute(&mut *$tx)
                    .await?;
                }
                continue;
            }
            sqlx::query("UPDATE reminders SET fire_at = $1, claimed_until = NULL WHERE id = $2")
                .bind(fire.map($crate::store::ms))
                .bind(rid)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}

struct ValidNew {
    title: String,
    description: String,
    status: Status,
    priority: i16,
    due: Option<Due>,
    rule: Option<Rule>,
    tags: Vec<String>,
    reminders: Vec<ReminderSpec>,
}

fn validate_new(owner: &Owner, input: NewTask) -> Result<ValidNew, Invalid> {
    let title = validate_title(&input.title)?;
    let description = validate_description(input.description.as_deref().unwrap_or(""))?;
    let due = input
        .due
        .as_deref()
        .map(|d| Due::parse(d, &owner.tz, "due"))
        .transpose()?;
    let rule = input
        .recurrence
        .map(|r| r.into_rule().map_err(|e| e.under("recurrence")))
        .transpose()?;
    if rule.is_some() && due.is_none() {
        return Err(Invalid::new(
            "due_required",
            "recurrence",
            "a recurring task needs a due date (its first occurrence)",
        ));
    }
    let tags = validate_tag_names(input.tags.as_deref().unwrap_or(&[]))?;
    let reminder_inputs = input.reminders.unwrap_or_default();
    if reminder_inputs.len() > MAX_REMINDERS_PER_TASK {
        return Err(Invalid::new(
            "too_many",
            "reminders",
            format!("a task has at most {MAX_REMINDERS_PER_TASK} reminders"),
        ));
    }
    let reminders = reminder_inputs
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.into_spec(&owner.tz, due)
                .map_err(|e| e.under(&format!("reminders[{i}]")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ValidNew {
        title,
        description,
        status: input.status.unwrap_or_default(),
        priority: input.priority.unwrap_or_default().rank(),
        due,
        rule,
        tags,
        reminders,
    })
}

/// The topics every task change is published to: consumers' `task-events` and live views' `task-updates`.
pub(crate) const TASK_EVENT_TOPICS: [&str; 2] = [topic::TASK_EVENTS, topic::TASK_UPDATES];

/// The task row as PostgreSQL inserts it, search document included (tag names are known up front; SQLite
/// indexes the document in its FTS table afterwards). Binds $1–$15, `$15` being the tag names.
const PG_INSERT_TASK: &str = "INSERT INTO tasks (id, user_id, title, description, status, priority, due_at, \
     due_all_day, recurrence, series_id, occurrence, series_anchor, completed_at, created_at, updated_at, search) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, \
     setweight(to_tsvector('english', $3), 'A') || setweight(to_tsvector('english', $4), 'B') \
     || setweight(to_tsvector('english', $15), 'C'))";

/// A task creation in one PostgreSQL statement: the task, its tag links, its reminders and its outbox rows
/// (data-modifying CTEs run to completion and the statement is atomic, so no transaction is opened).
/// The task row is inserted only if the caller's profile (`$27` zone, `$28` display name) and each tag
/// (`$16` ids, `$25` names, `$26` colours) are still as the statement was built with; every other row is
/// written per inserted task, so a stale profile or tag writes nothing at all. The tags are share-locked
/// and compared at their latest committed version: a rename committed while this waited for it fails the
/// guard, and a rename that starts later waits for this task and then refreshes it (see
/// `refresh_derived`). The row carries its tags as they were locked.
static PG_CREATE_TASK: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let guarded = PG_INSERT_TASK
        .replacen(", search)", ", search, tags_json)", 1)
        .replacen(" VALUES (", " SELECT ", 1)
        .replace(
            "'C'))",
            concat!(
                "'C'), ",
                pg_tags_json_of_tagged!(),
                " \
         WHERE EXISTS (SELECT FROM users WHERE id = $2 AND time_zone = $27 AND display_name = $28) \
         AND (SELECT count(*) FROM tagged g \
              JOIN unnest($16::uuid[], $25::text[], $26::text[]) AS e (id, name, color) \
              ON g.id = e.id AND g.name = e.name AND g.color = e.color) \
             = cardinality($16::uuid[]) \
         RETURNING id"
            ),
        );
    format!(
        "WITH tagged AS (SELECT id, name, color, name_key FROM tags WHERE id = ANY($16::uuid[]) AND user_id = $2 FOR SHARE), \
         task AS ({guarded}), \
         links AS (INSERT INTO task_tags (task_id, tag_id) SELECT task.id, tag_id FROM task, unnest($16::uuid[]) AS tag_id), \
         reminders AS (INSERT INTO reminders (id, task_id, user_id, at, minutes_before, fire_at, created_at) \
           SELECT r.id, task.id, $2, r.at, r.minutes_before, r.fire_at, $14 \
           FROM task, unnest($17::uuid[], $18::bigint[], $19::integer[], $20::bigint[]) AS r (id, at, minutes_before, fire_at)) \
         INSERT INTO outbox (event_id, partition_key, payload, created_at, topic, next_attempt_at) \
         SELECT $21, $22, $23, $14, topic, $14 FROM task, unnest($24::text[]) AS topic"
    )
});

/// Bind a planned task's columns `$1`–`$14` (as `PG_INSERT_TASK` and the SQLite insert number them).
macro_rules! bind_new_task {
    ($q:expr, $plan:expr, $owner:expr, $now:expr) => {{
        let plan: &PlannedTask = $plan;
        let v = &plan.v;
        $q.bind(plan.id)
            .bind($owner.id)
            .bind(&v.title)
            .bind(&v.description)
            .bind(v.status.as_str())
            .bind(v.priority)
            .bind(v.due.map(|d| d.at_ms()))
            .bind(v.due.is_some_and(|d| d.all_day))
            .bind(&plan.rule_json)
            .bind(plan.series_id)
            .bind(plan.occurrence)
            .bind(&plan.anchor)
            .bind(plan.completed_at)
            .bind(ms($now))
    }};
}

/// The tag part of a task's search document (`$15` of `PG_INSERT_TASK`).
fn tag_document(tags: &[TagRef]) -> String {
    tags.iter()
        .map(|t| t.name.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A validated new task with everything computed that its rows need, before any is written.
struct PlannedTask {
    id: Uuid,
    v: ValidNew,
    rule_json: Option<String>,
    series_id: Option<Uuid>,
    occurrence: Option<i32>,
    anchor: Option<String>,
    completed_at: Option<i64>,
    reminders: Vec<Reminder>,
}

impl PlannedTask {
    fn new(owner: &Owner, v: ValidNew, now: Timestamp) -> PlannedTask {
        let id = Uuid::now_v7();
        let rule_json = v
            .rule
            .as_ref()
            .map(|r| serde_json::to_string(r).unwrap_or_default());
        // A recurring task starts its own series; the series anchor is its first local due time.
        let (series_id, occurrence, anchor) = match (&v.rule, v.due) {
            (Some(_), Some(due)) => (
                Some(id),
                Some(1i32),
                Some(due.local_datetime(&owner.tz).to_string()),
            ),
            _ => (None, None, None),
        };
        let completed_at = (v.status == Status::Completed).then(|| ms(now));
        let mut reminders: Vec<Reminder> = v
            .reminders
            .iter()
            .map(|spec| planned_reminder(id, spec, v.due, &owner.tz))
            .collect();
        // The read path's order.
        reminders.sort_by_key(|r| (r.fire_at.is_none(), r.fire_at, r.id));
        PlannedTask {
            id,
            v,
            rule_json,
            series_id,
            occurrence,
            anchor,
            completed_at,
            reminders,
        }
    }

    /// The created task as a read would return it, built from what is written instead of read back.
    fn task(&self, owner: &Owner, mut tags: Vec<TagRef>, now: Timestamp) -> Task {
        let v = &self.v;
        tags.sort_by_key(|t| t.name.to_lowercase());
        let created = from_ms(ms(now));
        Task {
            id: self.id,
            title: v.title.clone(),
            description: v.description.clone(),
            status: v.status,
            priority: crate::domain::task::Priority::from_rank(v.priority),
            due: v.due.map(|d| d.view(&owner.tz)),
            overdue: v.status != Status::Completed && v.due.is_some_and(|d| d.is_overdue(now)),
            due_today: v.due.is_some_and(|d| d.is_due_today(now, &owner.tz)),
            tags,
            reminders: self.reminders.clone(),
            recurrence: v.rule.as_ref().map(Rule::view),
            series_id: self.series_id,
            occurrence: self.occurrence.map(|o| o as u32),
            rank: None,
            completed_at: self.completed_at.map(from_ms),
            created_at: created,
            updated_at: created,
        }
    }
}

impl Store {
    /// The CloudEvent of a task change, as written to the outbox.
    pub(crate) fn task_event(
        &self,
        owner: &Owner,
        kind: &str,
        task: &Task,
        changed: Vec<String>,
        now: Timestamp,
    ) -> StoreResult<CloudEvent> {
        let data = crate::events::TaskEventData {
            task: task.clone(),
            user: owner.event_user(),
            changed,
        };
        let data = serde_json::to_value(&data).map_err(encode_error)?;
        Ok(CloudEvent::new(
            self.event_source(),
            kind,
            task.id,
            owner.id,
            now,
            data,
        ))
    }

    pub async fn create_task(
        &self,
        owner: &Owner,
        input: NewTask,
        now: Timestamp,
    ) -> StoreResult<Task> {
        let plan = PlannedTask::new(owner, validate_new(owner, input.clone())?, now);
        let task = match &self.pool {
            Pool::Postgres(p) => match self
                .create_task_in_one_statement(p, owner, &plan, now)
                .await?
            {
                Some(task) => task,
                None => {
                    let since = self.callers.generation();
                    let task = self
                        .create_task_in_transaction(owner, input, plan, now)
                        .await?;
                    self.callers.remember_tags(owner.id, &task.tags, since);
                    task
                }
            },
            Pool::Sqlite(_) => {
                self.create_task_in_transaction(owner, input, plan, now)
                    .await?
            }
        };
        self.outbox_wake().notify_one();
        Ok(task)
    }

    /// PostgreSQL, when the caller already has every tag the task names (the common case): the whole
    /// creation in one round trip instead of a transaction of six. The tags come from what this store
    /// remembers of the caller (`callers`) or from one lookup. The statement writes nothing unless the
    /// caller's profile and each tag are still as `owner` and the tags say, so a remembered profile or tag
    /// that changed since never reaches a row, an event or the response. `None` when a tag must be
    /// created first, or something changed: the transaction then does it all with what it reads.
    async fn create_task_in_one_statement(
        &self,
        pool: &sqlx::PgPool,
        owner: &Owner,
        plan: &PlannedTask,
        now: Timestamp,
    ) -> StoreResult<Option<Task>> {
        let tags: Vec<TagRef> = if plan.v.tags.is_empty() {
            Vec::new()
        } else {
            let keys: Vec<String> = plan.v.tags.iter().map(|n| n.to_lowercase()).collect();
            match self.callers.tags(owner.id, &keys) {
                Some(tags) => tags,
                None => {
                    let since = self.callers.generation();
                    let rows: Vec<(Uuid, String, String)> = sqlx::query_as(
                        "SELECT id, name, color FROM tags WHERE user_id = $1 AND name_key = ANY($2)",
                    )
                    .bind(owner.id)
                    .bind(&keys)
                    .fetch_all(pool)
                    .await?;
                    let tags: Vec<TagRef> = rows
                        .into_iter()
                        .map(|(id, name, color)| TagRef { id, name, color })
                        .collect();
                    self.callers.remember_tags(owner.id, &tags, since);
                    tags
                }
            }
        };
        if tags.len() != plan.v.tags.len() {
            return Ok(None);
        }
        let task = plan.task(owner, tags, now);
        let tags = &task.tags;
        let tag_ids: Vec<Uuid> = tags.iter().map(|t| t.id).collect();
        let tag_names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
        let tag_colors: Vec<&str> = tags.iter().map(|t| t.color.as_str()).collect();
        let event = self.task_event(owner, kind::TASK_CREATED, &task, vec![], now)?;
        let payload = event_payload(&event)?;
        let rs = &plan.reminders;
        let written = bind_new_task!(sqlx::query(&PG_CREATE_TASK), plan, owner, now)
            .bind(tag_document(tags))
            .bind(tag_ids)
            .bind(rs.iter().map(|r| r.id).collect::<Vec<_>>())
            .bind(rs.iter().map(|r| r.at.map(ms)).collect::<Vec<_>>())
            .bind(
                rs.iter()
                    .map(|r| r.minutes_before.map(|m| m as i32))
                    .collect::<Vec<_>>(),
            )
            .bind(rs.iter().map(|r| r.fire_at.map(ms)).collect::<Vec<_>>())
            .bind(event.id)
            .bind(&event.partitionkey)
            .bind(payload)
            .bind(&TASK_EVENT_TOPICS[..])
            .bind(tag_names)
            .bind(tag_colors)
            .bind(&owner.time_zone)
            .bind(&owner.display_name)
            .execute(pool)
            .await;
        match written {
            Ok(done) if done.rows_affected() > 0 => Ok(Some(task)),
            // The profile or a tag changed (or a tag was deleted) since it was read.
            Ok(_) => {
                self.callers.forget(owner.id);
                Ok(None)
            }
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                self.callers.forget(owner.id);
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Either store: create missing tags, then write the task's rows one statement at a time. The
    /// caller's profile is read inside the transaction; if it is no longer the one `plan` was made with,
    /// the task is planned again with the current one.
    async fn create_task_in_transaction(
        &self,
        owner: &Owner,
        input: NewTask,
        plan: PlannedTask,
        now: Timestamp,
    ) -> StoreResult<Task> {
        let pg = self.is_postgres();
        let insert = if pg {
            PG_INSERT_TASK
        } else {
            "INSERT INTO tasks (id, user_id, title, description, status, priority, due_at, due_all_day, recurrence, \
             series_id, occurrence, series_anchor, completed_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)"
        };
        Ok(on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let current = load_owner!(&mut *tx, owner.id);
            let (owner, plan) = if current.same_profile(owner) {
                (current, plan)
            } else {
                self.callers.forget(owner.id);
                let plan = PlannedTask::new(&current, validate_new(&current, input)?, now);
                (current, plan)
            };
            let owner = &owner;
            let v = &plan.v;
            let tags = ensure_tags!(tx, pg, owner, &v.tags, now);
            let mut q = bind_new_task!(sqlx::query(insert), &plan, owner, now);
            if pg {
                q = q.bind(tag_document(&tags));
            }
            q.execute(&mut *tx).await?;
            for tag in &tags {
                sqlx::query("INSERT INTO task_tags (task_id, tag_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(plan.id).bind(tag.id).execute(&mut *tx).await?;
            }
            for reminder in &plan.reminders {
                write_reminder!(tx, reminder, owner, now);
            }
            // PostgreSQL indexed the tag names with the row; the row's copy of its tags is written here.
            if !pg || !tags.is_empty() {
                refresh_derived!(tx, pg, plan.id);
            }
            let task = plan.task(owner, tags, now);
            emit_task_event!(tx, self, owner, kind::TASK_CREATED, task, vec![], now);
            tx.commit().await?;
            task
        }))
    }

    pub async fn get_task(&self, owner: &Owner, id: Uuid, now: Timestamp) -> StoreResult<Task> {
        Ok(on_pool!(self, p => load_task!(p, owner, id, now)))
    }

    /// Partial update. Setting `status` to completed or back to open behaves like complete/reopen.
    pub async fn update_task(
        &self,
        owner: &Owner,
        id: Uuid,
        patch: TaskPatch,
        now: Timestamp,
    ) -> StoreResult<Task> {
        let pg = self.is_postgres();
        let title = patch.title.as_deref().map(validate_title).transpose()?;
        let description = patch
            .description
            .as_deref()
            .map(validate_description)
            .transpose()?;
        let new_due: Option<Option<Due>> = match &patch.due {
            Some(Some(d)) => Some(Some(Due::parse(d, &owner.tz, "due")?)),
            Some(None) => Some(None),
            None => None,
        };
        let new_rule: Option<Option<Rule>> = match patch.recurrence {
            Some(Some(r)) => Some(Some(r.into_rule().map_err(|e| e.under("recurrence"))?)),
            Some(None) => Some(None),
            None => None,
        };
        let tags = patch.tags.as_deref().map(validate_tag_names).transpose()?;
        let (title, description, new_rule, tags) = (&title, &description, &new_rule, &tags);
        let (new_priority, new_status) = (patch.priority, patch.status);
        let task = retry_deadlocked(|| async move {
            Ok(on_pool!(self, p => {
                let mut tx = p.begin_write().await?;
                let row = load_row_for_update!(tx, pg, owner, id);
                let old_status = row.status();
                let mut changed: Vec<String> = Vec::new();
                let mut mark = |field: &str, did: bool| if did { changed.push(field.to_owned()) };
                mark("title", title.as_ref().is_some_and(|t| *t != row.title));
                mark("description", description.as_ref().is_some_and(|d| *d != row.description));
                mark("priority", new_priority.is_some_and(|p| p.rank() != row.priority));
                mark("status", new_status.is_some_and(|s| s != old_status));
                let due = match new_due { Some(d) => d, None => row.due() };
                mark("due", due.map(|d| (d.at_ms(), d.all_day)) != row.due().map(|d| (d.at_ms(), d.all_day)));
                // Clearing the due date ends the recurrence too: a series needs dates.
                let rule = match (&new_rule, due) {
                    (_, None) => None,
                    (Some(r), _) => r.clone(),
                    (None, _) => row.rule(),
                };
                if matches!(new_rule, Some(Some(_))) && due.is_none() {
                    return Err(Invalid::new("due_required", "recurrence", "a recurring task needs a due date").into());
                }
                mark("recurrence", rule != row.rule());
                let status = new_status.unwrap_or(old_status);
                let completed_at = match (old_status, status) {
                    (Status::Completed, Status::Completed) => row.completed_at,
                    (_, Status::Completed) => Some(ms(now)),
                    _ => None,
                };
                let (series_id, occurrence, anchor) = match (&rule, due) {
                    (Some(_), Some(d)) if row.series_id.is_none() || new_rule.as_ref().is_some_and(Option::is_some) => {
                        (Some(row.series_id.unwrap_or(id)), Some(row.occurrence.unwrap_or(1)), Some(d.local_datetime(&owner.tz).to_string()))
                    }
                    (Some(_), Some(_)) => (row.series_id, row.occurrence, row.series_anchor.clone()),
                    _ => (row.series_id, row.occurrence, None),
                };
                sqlx::query(
                    "UPDATE tasks SET title = $1, description = $2, status = $3, priority = $4, due_at = $5, due_all_day = $6, \
                     recurrence = $7, series_id = $8, occurrence = $9, series_anchor = $10, completed_at = $11, updated_at = $12 \
                     WHERE id = $13",
                )
                .bind(title.as_ref().unwrap_or(&row.title))
                .bind(description.as_ref().unwrap_or(&row.description))
                .bind(status.as_str())
                .bind(new_priority.map(|p| p.rank()).unwrap_or(row.priority))
                .bind(due.map(|d| d.at_ms()))
                .bind(due.is_some_and(|d| d.all_day))
                .bind(rule.as_ref().map(|r| serde_json::to_string(r).unwrap_or_default()))
                .bind(series_id)
                .bind(occurrence)
                .bind(anchor)
                .bind(completed_at)
                .bind(ms(now))
                .bind(id)
                .execute(&mut *tx)
                .await?;
                if let Some(names) = &tags {
                    let before: Vec<(String,)> = sqlx::query_as(
                        "SELECT g.name_key FROM task_tags tt JOIN tags g ON g.id = tt.tag_id WHERE tt.task_id = $1 ORDER BY g.name_key",
                    ).bind(id).fetch_all(&mut *tx).await?;
                    sqlx::query("DELETE FROM task_tags WHERE task_id = $1").bind(id).execute(&mut *tx).await?;
                    let tags = ensure_tags!(tx, pg, owner, names, now);
                    for tag_id in tags.iter().map(|t| t.id) {
                        sqlx::query("INSERT INTO task_tags (task_id, tag_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                            .bind(id).bind(tag_id).execute(&mut *tx).await?;
                    }
                    let mut after: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
                    after.sort();
                    if before.into_iter().map(|(n,)| n).collect::<Vec<_>>() != after {
                        changed.push("tags".into());
                    }
                }
                if changed.iter().any(|c| c == "due") {
                    refire_reminders!(tx, id, due, &owner.tz, now);
                }
                if changed.iter().any(|c| c == "title" || c == "description" || c == "tags") {
                    refresh_derived!(tx, pg, id);
                }
                let task = load_task!(&mut *tx, owner, id, now);
                let event_kind = match (old_status, status) {
                    (Status::Completed, Status::Completed) => kind::TASK_UPDATED,
                    (_, Status::Completed) => kind::TASK_COMPLETED,
                    (Status::Completed, _) => kind::TASK_REOPENED,
                    _ => kind::TASK_UPDATED,
                };
                if !changed.is_empty() {
                    emit_task_event!(tx, self, owner, event_kind, task, changed, now);
                }
                tx.commit().await?;
                task
            }))
        })
        .await?;
        self.outbox_wake().notify_one();
        Ok(task)
    }

    /// Complete a task. Completing an already completed task changes nothing and emits nothing.
    pub async fn complete_task(
        &self,
        owner: &Owner,
        id: Uuid,
        now: Timestamp,
    ) -> StoreResult<Task> {
        self.set_status(owner, id, Status::Completed, now).await
    }

    /// Reopen a completed task (status back to open). Reopening an open task changes nothing.
    pub async fn reopen_task(&self, owner: &Owner, id: Uuid, now: Timestamp) -> StoreResult<Task> {
        self.set_status(owner, id, Status::Open, now).await
    }

    async fn set_status(
        &self,
        owner: &Owner,
        id: Uuid,
        to: Status,
        now: Timestamp,
    ) -> StoreResult<Task> {
        let pg = self.is_postgres();
        let task = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let row = load_row_for_update!(tx, pg, owner, id);
            let from = row.status();
            let noop = (to == Status::Completed) == (from == Status::Completed);
            if !noop {
                let completed_at = (to == Status::Completed).then(|| ms(now));
                sqlx::query("UPDATE tasks SET status = $1, completed_at = $2, updated_at = $3 WHERE id = $4")
                    .bind(to.as_str()).bind(completed_at).bind(ms(now)).bind(id).execute(&mut *tx).await?;
            }
            let task = load_task!(&mut *tx, owner, id, now);
            if !noop {
                let k = if to == Status::Completed { kind::TASK_COMPLETED } else { kind::TASK_REOPENED };
                emit_task_event!(tx, self, owner, k, task, vec!["status".to_owned()], now);
            }
            tx.commit().await?;
            task
        });
        self.outbox_wake().notify_one();
        Ok(task)
    }

    pub async fn delete_task(&self, owner: &Owner, id: Uuid, now: Timestamp) -> StoreResult<()> {
        let pg = self.is_postgres();
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            load_row_for_update!(tx, pg, owner, id);
            let task = load_task!(&mut *tx, owner, id, now);
            sqlx::query("DELETE FROM tasks WHERE id = $1").bind(id).execute(&mut *tx).await?;
            emit_task_event!(tx, self, owner, kind::TASK_DELETED, task, vec![], now);
            tx.commit().await?;
        });
        self.outbox_wake().notify_one();
        Ok(())
    }

    /// Create the occurrence that follows `completed_id` in its series — once: a repeated call (a redelivered
    /// completion event) returns the existing next task with `created: false`. Returns `next: None` when the
    /// series has ended (count or until reached) or the task does not recur.
    pub async fn create_next_occurrence(
        &self,
        owner: &Owner,
        completed_id: Uuid,
        now: Timestamp,
    ) -> StoreResult<NextOccurrence> {
        let pg = self.is_postgres();
        let result = retry_deadlocked(|| async move {
            Ok(on_pool!(self, p => {
                let mut tx = p.begin_write().await?;
                let row = load_row_for_update!(tx, pg, owner, completed_id);
                let (Some(rule), Some(due), Some(series_id)) = (row.rule(), row.due(), row.series_id) else {
                    return Ok(NextOccurrence { next: None, created: false });
                };
                let tz = &owner.tz;
                let anchor: DateTime = row.series_anchor.as_deref().and_then(|a| a.parse().ok()).unwrap_or(due.local_datetime(tz));
                let current = due.local_datetime(tz);
                let completed = crate::store::from_ms(row.completed_at.unwrap_or(ms(now))).to_zoned(tz.clone()).datetime();
                let occurrence = u32::try_from(row.occurrence.unwrap_or(1)).unwrap_or(1);
                let Some(next) = rule.next(anchor, current, completed, occurrence) else {
                    return Ok(NextOccurrence { next: None, created: false });
                };
                let next_due = if due.all_day { Due::all_day(next.local.date(), tz) } else { Due::local(next.local, tz) };
                let next_occurrence = i32::try_from(next.occurrence).unwrap_or(i32::MAX);
                let new_id = Uuid::now_v7();
                let inserted = sqlx::query(
                    "INSERT INTO tasks (id, user_id, title, description, status, priority, due_at, due_all_day, recurrence, \
                     series_id, occurrence, series_anchor, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, $10, $11, $12, $12) ON CONFLICT DO NOTHING",
                )
                .bind(new_id)
                .bind(owner.id)
                .bind(&row.title)
                .bind(&row.description)
                .bind(row.priority)
                .bind(next_due.at_ms())
                .bind(next_due.all_day)
                .bind(&row.recurrence)
                .bind(series_id)
                .bind(next_occurrence)
                .bind(next.anchor.to_string())
                .bind(ms(now))
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !inserted {
                    let (existing,): (Uuid,) = sqlx::query_as("SELECT id FROM tasks WHERE series_id = $1 AND occurrence = $2")
                        .bind(series_id).bind(next_occurrence).fetch_one(&mut *tx).await?;
                    let task = load_task!(&mut *tx, owner, existing, now);
                    tx.commit().await?;
                    return Ok(NextOccurrence { next: Some(task), created: false });
                }
                sqlx::query("INSERT INTO task_tags (task_id, tag_id) SELECT $1, tag_id FROM task_tags WHERE task_id = $2")
                    .bind(new_id).bind(completed_id).execute(&mut *tx).await?;
                // Reminders come along: relative ones as they are, absolute ones shifted by as much as the due date moved.
                let shift = next_due.at_ms() - due.at_ms();
                let reminders: Vec<(Option<i64>, Option<i32>)> =
                    sqlx::query_as("SELECT at, minutes_before FROM reminders WHERE task_id = $1")
                        .bind(completed_id).fetch_all(&mut *tx).await?;
                for (at, minutes) in reminders {
                    let spec = match (at, minutes) {
                        (Some(at), _) => ReminderSpec::Absolute(crate::store::from_ms(at + shift)),
                        (None, m) => ReminderSpec::Relative { minutes_before: m.unwrap_or(0).max(0) as u32 },
                    };
                    insert_reminder!(tx, new_id, owner, &spec, Some(next_due), now);
                }
                refresh_derived!(tx, pg, new_id);
                let task = load_task!(&mut *tx, owner, new_id, now);
                emit_task_event!(tx, self, owner, kind::TASK_CREATED, task, vec![], now);
                tx.commit().await?;
                NextOccurrence { next: Some(task), created: true }
            }))
        })
        .await?;
        self.outbox_wake().notify_one();
        Ok(result)
    }

    pub async fn list_tasks(&self, owner: &Owner, query: &TaskQuery) -> StoreResult<TaskPage> {
        let pg = self.is_postgres();
        let mut sql = Sql::default();
        let user = sql.arg(Arg::Id(owner.id));
        // `scope` selects the caller's rows (and, when searching, the matching ones).
        let (rank_expr, search_join, scope) = match &query.search {
            Some(terms) if pg => {
                let q = sql.arg(Arg::Text(terms.to_tsquery()));
                (
                    format!(
                        "CAST(ts_rank_cd(t.search, to_tsquery('english', {q})) AS DOUBLE PRECISION)"
                    ),
                    String::new(),
                    // The owner-scoped index (migration 2) yields only the caller's matching rows, so it
                    // stands in for `user_id =` here: with both, the planner ANDs in the user's whole
                    // btree range for nothing. The outer query still checks the owner. The plain match keeps
                    // exact semantics (words split into phrases need positions the index drops).
                    format!(
                        "task_search_scoped(t.user_id, t.search) @@ \
                         task_search_scoped_query({user}, to_tsquery('english', {q})) \
                         AND t.search @@ to_tsquery('english', {q})"
                    ),
                )
            }
            Some(terms) => {
                let q = sql.arg(Arg::Text(terms.to_fts5()));
                (
                    "(-bm25(task_fts, 10.0, 4.0, 2.0))".to_owned(),
                    " JOIN task_fts ON task_fts.rowid = t.seq".to_owned(),
                    format!("t.user_id = {user} AND task_fts MATCH {q}"),
                )
            }
            None => (
                "NULL".to_owned(),
                String::new(),
                format!("t.user_id = {user}"),
            ),
        };
        let (sort_expr, sort_column) = match (query.sort, query.order) {
            (SortKey::Due, Order::Asc) => (
                "COALESCE(t.due_at, 9223372036854775807)".to_owned(),
                "sort_int",
            ),
            (SortKey::Due, Order::Desc) => (
                "COALESCE(t.due_at, -9223372036854775807)".to_owned(),
                "sort_int",
            ),
            (SortKey::Priority, _) => ("CAST(t.priority AS BIGINT)".to_owned(), "sort_int"),
            (SortKey::Title, _) => ("lower(t.title)".to_owned(), "sort_text"),
            (SortKey::Created, _) => ("t.created_at".to_owned(), "sort_int"),
            (SortKey::Updated, _) => ("t.updated_at".to_owned(), "sort_int"),
            // The rank column itself, so it is computed once per row.
            (SortKey::Rank, _) => (String::new(), "rank"),
        };
        let sort_select = if query.sort == SortKey::Rank {
            String::new()
        } else {
            format!(", {sort_expr} AS {sort_column}")
        };
        // Listing by filters reads only columns the covering index carries, so it runs in two phases: the
        // page's ids and sort keys by an index-only scan, then just those rows. A search or a title sort
        // reads the rows anyway, so it takes them in one pass.
        let one_pass = query.search.is_some() || query.sort == SortKey::Title;
        let phase_one = if one_pass {
            format!("t.user_id, {TASK_COLUMNS}, t.tags_json")
        } else {
            "t.id".to_owned()
        };
        sql.push(&format!(
            "SELECT * FROM (SELECT {phase_one}, {rank_expr} AS rank{sort_select} \
             FROM tasks t{search_join} WHERE {scope}"
        ));
        if !query.statuses.is_empty() {
            let list: Vec<String> = query
                .statuses
                .iter()
                .map(|s| sql.arg(Arg::Text(s.as_str().into())))
                .collect();
            sql.push(&format!(" AND t.status IN ({})", list.join(", ")));
        }
        if !query.priorities.is_empty() {
            let list: Vec<String> = query
                .priorities
                .iter()
                .map(|p| sql.arg(Arg::Small(p.rank())))
                .collect();
            sql.push(&format!(" AND t.priority IN ({})", list.join(", ")));
        }
        if !query.tags.is_empty() {
            let list: Vec<String> = query
                .tags
                .iter()
                .map(|t| sql.arg(Arg::Text(t.clone())))
                .collect();
            // A semi-join from the caller's named tags (a few index lookups) rather than a per-task
            // subquery: the tagged set is small next to the user's tasks.
            let tagged = format!(
                "SELECT tt.task_id FROM tags g JOIN task_tags tt ON tt.tag_id = g.id \
                 WHERE g.user_id = {user} AND g.name_key IN ({})",
                list.join(", ")
            );
            match query.tag_mode {
                TagMode::Any => sql.push(&format!(" AND t.id IN ({tagged})")),
                TagMode::All => {
                    // Names are distinct (the query parser drops repeats), so every one matched
                    // means as many links as names.
                    let n = sql.arg(Arg::Int(query.tags.len() as i64));
                    sql.push(&format!(
                        " AND t.id IN ({tagged} GROUP BY tt.task_id HAVING COUNT(*) = {n})"
                    ));
                }
            }
        }
        if let Some(after) = query.due_after {
            let a = sql.arg(Arg::Int(ms(after)));
            sql.push(&format!(" AND t.due_at >= {a}"));
        }
        if let Some(before) = query.due_before {
            let b = sql.arg(Arg::Int(ms(before)));
            sql.push(&format!(" AND t.due_at < {b}"));
        }
        if let Some((start, end)) = query.due_within {
            let (s, e) = (sql.arg(Arg::Int(ms(start))), sql.arg(Arg::Int(ms(end))));
            sql.push(&format!(" AND t.due_at >= {s} AND t.due_at < {e}"));
        }
        if let Some(overdue) = query.overdue {
            let now = sql.arg(Arg::Int(ms(query.now)));
            if overdue {
                sql.push(&format!(
                    " AND t.status <> 'completed' AND t.due_at < {now}"
                ));
            } else {
                sql.push(&format!(
                    " AND (t.status = 'completed' OR t.due_at IS NULL OR t.due_at >= {now})"
                ));
            }
        }
        match query.has_due {
            Some(true) => sql.push(" AND t.due_at IS NOT NULL"),
            Some(false) => sql.push(" AND t.due_at IS NULL"),
            None => {}
        }
        match query.recurring {
            // Equivalent to the recurrence column by a CHECK constraint, and carried by the covering index.
            Some(true) => sql.push(" AND t.series_anchor IS NOT NULL"),
            Some(false) => sql.push(" AND t.series_anchor IS NULL"),
            None => {}
        }
        sql.push(") x");
        let (cmp, dir) = match query.order {
            Order::Asc => (">", "ASC"),
            Order::Desc => ("<", "DESC"),
        };
        if let Some(cursor) = &query.after {
            let key = sql.arg(match &cursor.key {
                CursorKey::Int(v) => Arg::Int(*v),
                CursorKey::Float(v) => Arg::Float(*v),
                CursorKey::Text(v) => Arg::Text(v.clone()),
            });
            let id = sql.arg(Arg::Id(cursor.id));
            sql.push(&format!(" WHERE ({sort_column}, id) {cmp} ({key}, {id})"));
        }
        let limit = sql.arg(Arg::Int(i64::from(query.limit) + 1));
        sql.push(&format!(
            " ORDER BY {sort_column} {dir}, id {dir} LIMIT {limit}"
        ));
        let page = std::mem::take(&mut sql.text);
        let (from, k) = if one_pass {
            (format!("({page}) t WHERE t.user_id = {user}"), "t")
        } else {
            (
                format!("({page}) k JOIN tasks t ON t.id = k.id AND t.user_id = {user}"),
                "k",
            )
        };
        let sort_out = if query.sort == SortKey::Rank {
            String::new()
        } else {
            format!(", {k}.{sort_column}")
        };
        // The owner check here matters for the PostgreSQL search, whose phase one has no `user_id =`.
        let rest = format!(
            ", {k}.rank{sort_out} FROM {from} ORDER BY {k}.{sort_column} {dir}, {k}.id {dir}"
        );
        let now = query.now;
        let (items, next) = on_pool!(self, p => {
            let text = format!("SELECT {}{rest}", task_columns(&p));
            let mut rows: Vec<TaskRow> = bind_all!(sqlx::query_as::<_, TaskRow>(&text), sql.args.clone()).fetch_all(p).await?;
            let more = rows.len() > query.limit as usize;
            rows.truncate(query.limit as usize);
            let next = if more {
                rows.last().map(|r| Cursor {
                    key: match sort_column {
                        "sort_text" => CursorKey::Text(r.sort_text.clone().unwrap_or_default()),
                        "rank" => CursorKey::Float(r.rank.unwrap_or(0.0)),
                        _ => CursorKey::Int(r.sort_int.unwrap_or(0)),
                    },
                    id: r.id,
                    sort: query.signature(),
                })
            } else {
                None
            };
            (rows, next)
        });
        let mut items = items
            .into_iter()
            .map(|row| row.into_task(owner, now))
            .collect::<StoreResult<Vec<_>>>()?;
        if query.search.is_none() {
            items.iter_mut().for_each(|t| t.rank = None);
        }
        Ok(TaskPage {
            items,
            next_cursor: next.map(|c| c.encode()),
        })
    }
}
