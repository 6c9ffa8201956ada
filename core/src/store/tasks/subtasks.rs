//! Subtasks: a task may have a parent, [`MAX_SUBTASK_DEPTH`] levels at most. A subtask is in its parent's
//! project and does not repeat (its parent's series brings it back). What happens to a task happens to its
//! subtasks: completing it completes the open ones, deleting it deletes them, moving it to another project
//! moves them, each with its own event.

use crate::domain::task::{MAX_SUBTASK_DEPTH, Status};
use crate::error::{Invalid, StoreResult};
use crate::events::kind;
use crate::model::NewTask;
use crate::store::dialect::{Dialect, query, query_as};
use crate::store::rows::{Owner, load_task};
use crate::store::{Pool, Store, ms};
use jiff::Timestamp;
use uuid::Uuid;

/// A task's subtasks at every level, each before its own subtasks.
const DESCENDANTS: &str = "WITH RECURSIVE d (id, depth) AS ( \
     SELECT id, 1 FROM tasks WHERE parent_id = $1 \
     UNION ALL SELECT t.id, d.depth + 1 FROM tasks t JOIN d ON t.parent_id = d.id) \
     SELECT id FROM d ORDER BY depth, id";

/// How many levels a task and its ancestors make (1: a task without a parent).
const LEVEL: &str = "WITH RECURSIVE up (id, parent_id) AS ( \
     SELECT id, parent_id FROM tasks WHERE id = $1 \
     UNION ALL SELECT t.id, t.parent_id FROM tasks t JOIN up ON t.id = up.parent_id) \
     SELECT COUNT(*) FROM up";

/// Count a task's direct subtasks, all and completed, into its row (read with every task instead of
/// counted per read).
pub(super) async fn recount<D: Dialect>(
    tx: &mut sqlx::Transaction<'static, D>,
    parent: Uuid,
) -> StoreResult<()> {
    query(
        "UPDATE tasks SET subtask_count = (SELECT COUNT(*) FROM tasks s WHERE s.parent_id = $1), \
         subtasks_done = (SELECT COUNT(*) FROM tasks s WHERE s.parent_id = $1 AND s.status = 'completed') \
         WHERE id = $1",
    )
    .bind(parent)
    .execute(tx)
    .await?;
    Ok(())
}

pub(super) async fn descendants<D: Dialect>(
    tx: &mut sqlx::Transaction<'static, D>,
    id: Uuid,
) -> StoreResult<Vec<Uuid>> {
    let rows: Vec<(Uuid,)> = query_as(DESCENDANTS).bind(id).fetch_all(tx).await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

impl Store {
    /// The project a new subtask of `parent` goes in (its parent's), after checking that `parent` is the
    /// owner's, leaves room for another level, and that `input` neither repeats nor names another project.
    pub(super) async fn subtask_project(
        &self,
        owner: &Owner,
        parent: Uuid,
        input: &NewTask,
    ) -> StoreResult<Uuid> {
        if input.recurrence.is_some() {
            return Err(Invalid::new(
                "subtask_recurrence",
                "recurrence",
                "a subtask does not repeat on its own; make its parent repeat",
            )
            .into());
        }
        let (project, level) = match &self.pool {
            Pool::Postgres(p) => parent_of(p, owner, parent).await?,
            Pool::Sqlite(p) => parent_of(p, owner, parent).await?,
        };
        if level >= i64::from(MAX_SUBTASK_DEPTH) {
            return Err(Invalid::new(
                "too_deep",
                "parent_id",
                format!("subtasks nest at most {MAX_SUBTASK_DEPTH} levels deep"),
            )
            .into());
        }
        if input.project_id.is_some_and(|p| p != project) {
            return Err(Invalid::new(
                "subtask_project",
                "project_id",
                "a subtask is in its parent's project",
            )
            .into());
        }
        Ok(project)
    }

    /// Complete the open subtasks, at every level, of a task being completed. All are completed and
    /// recounted before the events are written, so each event's task shows its own subtasks done.
    pub(super) async fn complete_descendants<D: Dialect>(
        &self,
        tx: &mut sqlx::Transaction<'static, D>,
        owner: &Owner,
        id: Uuid,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut completed = Vec::new();
        let subs = descendants(tx, id).await?;
        for sub in &subs {
            let done = query(
                "UPDATE tasks SET status = 'completed', completed_at = $1, updated_at = $1 \
                 WHERE id = $2 AND status <> 'completed'",
            )
            .bind(ms(now))
            .bind(*sub)
            .execute(tx)
            .await?;
            if done > 0 {
                completed.push(*sub);
            }
        }
        for parent in std::iter::once(id).chain(subs.iter().copied()) {
            recount(tx, parent).await?;
        }
        for sub in completed {
            let task = load_task(tx, owner, sub, now).await?;
            let changed = vec!["status".to_owned()];
            self.emit_task_event(tx, owner, kind::TASK_COMPLETED, &task, changed, now)
                .await?;
        }
        Ok(())
    }

    /// Announce the deletion of a task's subtasks, at every level (the database's cascade removes them
    /// with it).
    pub(super) async fn delete_descendants<D: Dialect>(
        &self,
        tx: &mut sqlx::Transaction<'static, D>,
        owner: &Owner,
        id: Uuid,
        now: Timestamp,
    ) -> StoreResult<()> {
        let subs = descendants(tx, id).await?;
        self.announce_deleted(tx, owner, &subs, now).await
    }

    /// Move a task's subtasks, at every level, to the project it moved to.
    pub(super) async fn move_descendants<D: Dialect>(
        &self,
        tx: &mut sqlx::Transaction<'static, D>,
        owner: &Owner,
        id: Uuid,
        project: Uuid,
        now: Timestamp,
    ) -> StoreResult<()> {
        let subs = descendants(tx, id).await?;
        self.move_tasks(tx, owner, &subs, project, now).await
    }

    /// The deletion event of each of the owner's tasks `ids`, as they are before the caller deletes them.
    pub(crate) async fn announce_deleted<D: Dialect>(
        &self,
        tx: &mut sqlx::Transaction<'static, D>,
        owner: &Owner,
        ids: &[Uuid],
        now: Timestamp,
    ) -> StoreResult<()> {
        for &id in ids {
            let task = load_task(tx, owner, id, now).await?;
            self.emit_task_event(tx, owner, kind::TASK_DELETED, &task, vec![], now)
                .await?;
        }
        Ok(())
    }

    /// Move the owner's tasks `ids` to `project`, each with its event.
    pub(crate) async fn move_tasks<D: Dialect>(
        &self,
        tx: &mut sqlx::Transaction<'static, D>,
        owner: &Owner,
        ids: &[Uuid],
        project: Uuid,
        now: Timestamp,
    ) -> StoreResult<()> {
        for &id in ids {
            query("UPDATE tasks SET project_id = $1, updated_at = $2 WHERE id = $3")
                .bind(project)
                .bind(ms(now))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let task = load_task(tx, owner, id, now).await?;
            let changed = vec!["project".to_owned()];
            self.emit_task_event(tx, owner, kind::TASK_UPDATED, &task, changed, now)
                .await?;
        }
        Ok(())
    }

    /// Copy a completed occurrence's subtasks, at every level and open again, under the occurrence that
    /// follows it; dated ones move by `shift` milliseconds as the series did.
    pub(super) async fn copy_descendants<D: Dialect>(
        &self,
        tx: &mut sqlx::Transaction<'static, D>,
        owner: &Owner,
        from: Uuid,
        to: Uuid,
        shift: i64,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut copies = vec![(from, to)];
        for sub in descendants(tx, from).await? {
            let (parent,): (Option<Uuid>,) = query_as("SELECT parent_id FROM tasks WHERE id = $1")
                .bind(sub)
                .fetch_one(tx)
                .await?;
            let Some(new_parent) = copies
                .iter()
                .find(|(old, _)| Some(*old) == parent)
                .map(|(_, new)| *new)
            else {
                continue;
            };
            let id = Uuid::now_v7();
            query(
                "INSERT INTO tasks (id, user_id, title, description, status, priority, due_at, due_all_day, \
                 project_id, parent_id, created_at, updated_at) \
                 SELECT $1, user_id, title, description, 'open', priority, due_at + $2, due_all_day, project_id, $3, \
                 $4, $4 FROM tasks WHERE id = $5",
            )
            .bind(id)
            .bind(shift)
            .bind(new_parent)
            .bind(ms(now))
            .bind(sub)
            .execute(tx)
            .await?;
            query("INSERT INTO task_tags (task_id, tag_id) SELECT $1, tag_id FROM task_tags WHERE task_id = $2")
                .bind(id)
                .bind(sub)
                .execute(tx)
                .await?;
            D::refresh_derived(tx, id).await?;
            let task = load_task(tx, owner, id, now).await?;
            self.emit_task_event(tx, owner, kind::TASK_CREATED, &task, vec![], now)
                .await?;
            copies.push((sub, id));
        }
        for (_, copy) in &copies {
            recount(tx, *copy).await?;
        }
        Ok(())
    }
}

/// The owner's task `id`'s project and level (1: no parent), else `unknown_parent` naming `parent_id`.
async fn parent_of<D: Dialect>(
    pool: &sqlx::Pool<D>,
    owner: &Owner,
    id: Uuid,
) -> StoreResult<(Uuid, i64)> {
    let mut conn = pool.acquire().await?;
    let found: Option<(Uuid, String)> =
        query_as("SELECT project_id, status FROM tasks WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(owner.id)
            .fetch_optional(&mut conn)
            .await?;
    let Some((project, status)) = found else {
        return Err(Invalid::new("unknown_parent", "parent_id", "no such task").into());
    };
    if Status::parse(&status) == Some(Status::Completed) {
        return Err(Invalid::new(
            "parent_completed",
            "parent_id",
            "that task is completed; reopen it to add subtasks",
        )
        .into());
    }
    let (level,): (i64,) = query_as(LEVEL).bind(id).fetch_one(&mut conn).await?;
    Ok((project, level))
}
