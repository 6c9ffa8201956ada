//! Creating a task: validated, planned (ids, series, reminders' fire times) before anything is written,
//! then on PostgreSQL usually written in one statement, otherwise in a transaction.

use crate::domain::due::Due;
use crate::domain::recurrence::Rule;
use crate::domain::reminder::{MAX_REMINDERS_PER_TASK, ReminderSpec};
use crate::domain::task::{Status, validate_description, validate_title};
use crate::error::{Invalid, StoreResult};
use crate::events::kind;
use crate::model::{NewTask, Reminder, TagRef, Task};
use crate::store::dialect::{Dialect, Statement, query};
use crate::store::outbox::{TASK_EVENT_TOPICS, event_payload};
use crate::store::projects::usable_project;
use crate::store::rows::{
    Owner, load_owner, load_row_for_update, planned_reminder, write_reminder,
};
use crate::store::tasks::subtasks::recount;
use crate::store::tasks::{ensure_tags, validate_tag_names};
use crate::store::{Pool, Store, from_ms, ms};
use jiff::Timestamp;
use sqlx::Postgres;
use uuid::Uuid;

struct ValidNew {
    title: String,
    description: String,
    status: Status,
    priority: i16,
    project_id: Uuid,
    parent_id: Option<Uuid>,
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
        // The Inbox's id is its owner's.
        project_id: input.project_id.unwrap_or(owner.id),
        parent_id: input.parent_id,
        due,
        rule,
        tags,
        reminders,
    })
}

/// A task creation in one PostgreSQL statement: the task, its tag links, its reminders and its outbox rows
/// (data-modifying CTEs run to completion and the statement is atomic, so no transaction is opened).
/// The task row is inserted only if the caller's profile (`$29` zone, `$30` display name), each tag
/// (`$18` ids, `$27` names, `$28` colours) and the project (`$15`, not archived) are still as the
/// statement was built with; every other row is
/// written per inserted task, so a stale profile or tag writes nothing at all. The tags are share-locked
/// and compared at their latest committed version: a rename committed while this waited for it fails the
/// guard, and a rename that starts later waits for this task and then refreshes it (see
/// `Dialect::refresh_derived`). The row carries its tags as they were locked; the outbox rows carry the
/// event's trace context (`$31`, `$32`).
const PG_CREATE_TASK: &str = "WITH tagged AS (SELECT id, name, color, name_key FROM tags \
       WHERE id = ANY($18::uuid[]) AND user_id = $2 FOR SHARE), \
     task AS (INSERT INTO tasks (id, user_id, title, description, status, priority, due_at, due_all_day, \
         recurrence, series_id, occurrence, series_anchor, completed_at, created_at, updated_at, project_id, parent_id, search, tags_json) \
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16, \
         setweight(to_tsvector('english', $3), 'A') || setweight(to_tsvector('english', $4), 'B') \
         || setweight(to_tsvector('english', $17), 'C'), \
         (SELECT json_agg(json_build_array(g.id, g.name, g.color) ORDER BY g.name_key)::text FROM tagged g) \
       WHERE EXISTS (SELECT FROM users WHERE id = $2 AND time_zone = $29 AND display_name = $30) \
       AND EXISTS (SELECT FROM projects WHERE id = $15 AND user_id = $2 AND archived_at IS NULL) \
       AND (SELECT count(*) FROM tagged g \
            JOIN unnest($18::uuid[], $27::text[], $28::text[]) AS e (id, name, color) \
            ON g.id = e.id AND g.name = e.name AND g.color = e.color) \
           = cardinality($18::uuid[]) \
       RETURNING id), \
     links AS (INSERT INTO task_tags (task_id, tag_id) SELECT task.id, tag_id FROM task, unnest($18::uuid[]) AS tag_id), \
     reminders AS (INSERT INTO reminders (id, task_id, user_id, at, minutes_before, fire_at, created_at) \
       SELECT r.id, task.id, $2, r.at, r.minutes_before, r.fire_at, $14 \
       FROM task, unnest($19::uuid[], $20::bigint[], $21::integer[], $22::bigint[]) AS r (id, at, minutes_before, fire_at)) \
     INSERT INTO outbox (event_id, partition_key, payload, created_at, topic, next_attempt_at, traceparent, tracestate) \
     SELECT $23, $24, $25, $14, topic, $14, $31, $32 FROM task, unnest($26::text[]) AS topic";

/// Bind a planned task's columns `$1`–`$16` (as `PG_CREATE_TASK` and each dialect's `INSERT_TASK` number
/// them).
fn bind_new_task<'q, D: Dialect>(
    q: Statement<'q, D>,
    plan: &'q PlannedTask,
    owner: &Owner,
    now: Timestamp,
) -> Statement<'q, D> {
    let v = &plan.v;
    q.bind(plan.id)
        .bind(owner.id)
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
        .bind(ms(now))
        .bind(v.project_id)
        .bind(v.parent_id)
}

/// The tag part of a task's search document (`$17` of `PG_CREATE_TASK` and PostgreSQL's `INSERT_TASK`).
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
            project_id: v.project_id,
            parent_id: v.parent_id,
            subtask_count: 0,
            subtasks_done: 0,
            due: v.due.map(|d| d.view(&owner.tz)),
            overdue: v.status != Status::Completed && v.due.is_some_and(|d| d.is_overdue(now)),
            due_today: v.due.is_some_and(|d| d.is_due_today(now, &owner.tz)),
            tags,
            reminders: self.reminders.clone(),
            recurrence: v.rule.as_ref().map(Rule::view),
            series_id: self.series_id,
            occurrence: self.occurrence.map(|o| o as u32),
            series_anchor: self.anchor.as_deref().and_then(|a| a.parse().ok()),
            rank: None,
            completed_at: self.completed_at.map(from_ms),
            created_at: created,
            updated_at: created,
        }
    }
}

impl Store {
    pub async fn create_task(
        &self,
        owner: &Owner,
        input: NewTask,
        now: Timestamp,
    ) -> StoreResult<Task> {
        let (mut input, project) = input.resolve_text(&owner.tz, now)?;
        if let Some(name) = project {
            input.project_id = Some(self.project_for_text(owner, &name).await?);
        }
        if let Some(parent) = input.parent_id {
            input.project_id = Some(self.subtask_project(owner, parent, &input).await?);
        }
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
        // A subtask also recounts its parent's subtasks: the transaction does that.
        if tags.len() != plan.v.tags.len() || plan.v.parent_id.is_some() {
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
        let written = bind_new_task(query::<Postgres>(PG_CREATE_TASK), plan, owner, now)
            .bind(tag_document(tags))
            .into_postgres()
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
            .bind(&event.traceparent)
            .bind(&event.tracestate)
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
        match &self.pool {
            Pool::Postgres(p) => self.create_in_transaction(p, owner, input, plan, now).await,
            Pool::Sqlite(p) => self.create_in_transaction(p, owner, input, plan, now).await,
        }
    }

    async fn create_in_transaction<D: Dialect>(
        &self,
        pool: &sqlx::Pool<D>,
        owner: &Owner,
        input: NewTask,
        plan: PlannedTask,
        now: Timestamp,
    ) -> StoreResult<Task> {
        let mut tx = D::begin_write(pool).await?;
        let current = load_owner(&mut tx, owner.id).await?;
        let (owner, plan) = if current.same_profile(owner) {
            (current, plan)
        } else {
            self.callers.forget(owner.id);
            let plan = PlannedTask::new(&current, validate_new(&current, input)?, now);
            (current, plan)
        };
        let owner = &owner;
        usable_project(&mut tx, owner, plan.v.project_id, "project_id").await?;
        // The parent first, as deleting or completing it locks it before its subtasks: a subtask added
        // meanwhile waits instead of deadlocking with it.
        if let Some(parent) = plan.v.parent_id {
            load_row_for_update(&mut tx, owner, parent).await?;
        }
        let tags = ensure_tags(&mut tx, owner, &plan.v.tags, now).await?;
        let mut q = bind_new_task(query(D::INSERT_TASK), &plan, owner, now);
        if D::INSERT_INDEXES_SEARCH {
            q = q.bind(tag_document(&tags));
        }
        q.execute(&mut tx).await?;
        for tag in &tags {
            query("INSERT INTO task_tags (task_id, tag_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(plan.id)
                .bind(tag.id)
                .execute(&mut tx)
                .await?;
        }
        for reminder in &plan.reminders {
            write_reminder(&mut tx, reminder, owner, now).await?;
        }
        // Where the insert indexed the tag names with the row (PostgreSQL), what is left is the row's copy
        // of its tags, and only when it has some.
        if !D::INSERT_INDEXES_SEARCH || !tags.is_empty() {
            D::refresh_derived(&mut tx, plan.id).await?;
        }
        if let Some(parent) = plan.v.parent_id {
            recount(&mut tx, parent).await?;
        }
        let task = plan.task(owner, tags, now);
        self.emit_task_event(&mut tx, owner, kind::TASK_CREATED, &task, vec![], now)
            .await?;
        tx.commit().await?;
        Ok(task)
    }
}
