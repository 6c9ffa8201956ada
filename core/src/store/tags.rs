//! Tags: per-user, unique (case-insensitive) names, hex colours. Deleting a tag detaches it from tasks and
//! never deletes a task.

use crate::domain::task::{validate_color, validate_tag_name};
use crate::error::{StoreError, StoreResult};
use crate::events::kind;
use crate::model::{Tag, TagInput, TagPatch, Task};
use crate::store::tasks::{emit_task_event, load_task, refresh_derived};
use crate::store::{
    BeginWrite, Owner, Store, conflict_on_unique, from_ms, ms, on_pool, retry_deadlocked,
};
use jiff::Timestamp;
use uuid::Uuid;

pub const DEFAULT_COLOR: &str = "#808080";

#[derive(sqlx::FromRow)]
struct TagRow {
    id: Uuid,
    name: String,
    color: String,
    task_count: i64,
    created_at: i64,
    updated_at: i64,
}

impl From<TagRow> for Tag {
    fn from(r: TagRow) -> Tag {
        Tag {
            id: r.id,
            name: r.name,
            color: r.color,
            task_count: r.task_count,
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
        }
    }
}

const TAG_SELECT: &str = "SELECT g.id, g.name, g.color, \
     (SELECT COUNT(*) FROM task_tags tt WHERE tt.tag_id = g.id) AS task_count, g.created_at, g.updated_at FROM tags g";

fn taken(name: &str) -> impl FnOnce() -> String + '_ {
    move || format!("you already have a tag named {name:?}")
}

/// The tasks a tag is on, whose search documents and tags change with it.
const TAGGED_TASKS: &str = "SELECT task_id FROM task_tags WHERE tag_id = $1 ORDER BY task_id";

/// Find the owner's tag `id` (else `NotFound`), on PostgreSQL taking the row lock `$lock` (e.g. `FOR SHARE`).
macro_rules! find_own_tag {
    ($tx:expr, $pg:expr, $owner:expr, $id:expr, $lock:literal) => {{
        let sql = if $pg {
            concat!("SELECT id FROM tags WHERE id = $1 AND user_id = $2 ", $lock)
        } else {
            "SELECT id FROM tags WHERE id = $1 AND user_id = $2"
        };
        let found: Option<(Uuid,)> = sqlx::query_as(sql)
            .bind($id)
            .bind($owner.id)
            .fetch_optional(&mut *$tx)
            .await?;
        if found.is_none() {
            return Err(StoreError::NotFound("tag"));
        }
    }};
}

impl Store {
    pub async fn list_tags(&self, owner: &Owner) -> StoreResult<Vec<Tag>> {
        let sql = format!("{TAG_SELECT} WHERE g.user_id = $1 ORDER BY g.name_key");
        let rows: Vec<TagRow> =
            on_pool!(self, p => sqlx::query_as(&sql).bind(owner.id).fetch_all(p).await?);
        Ok(rows.into_iter().map(Tag::from).collect())
    }

    pub async fn get_tag(&self, owner: &Owner, id: Uuid) -> StoreResult<Tag> {
        let sql = format!("{TAG_SELECT} WHERE g.user_id = $1 AND g.id = $2");
        let row: Option<TagRow> = on_pool!(self, p => sqlx::query_as(&sql).bind(owner.id).bind(id).fetch_optional(p).await?);
        row.map(Tag::from).ok_or(StoreError::NotFound("tag"))
    }

    pub async fn create_tag(
        &self,
        owner: &Owner,
        input: TagInput,
        now: Timestamp,
    ) -> StoreResult<Tag> {
        let name = validate_tag_name(&input.name, "name")?;
        let color = input
            .color
            .as_deref()
            .map(validate_color)
            .transpose()?
            .unwrap_or_else(|| DEFAULT_COLOR.into());
        let id = Uuid::now_v7();
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO tags (id, user_id, name, name_key, color, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(id)
            .bind(owner.id)
            .bind(&name)
            .bind(name.to_lowercase())
            .bind(&color)
            .bind(ms(now))
            .execute(p)
            .await
            .map_err(|e| conflict_on_unique(e, "tag_exists", "name", taken(&name)))?;
        });
        self.get_tag(owner, id).await
    }

    /// Rename and/or recolour. The tagged tasks' search documents and their copies of the tag are
    /// refreshed in the same transaction.
    pub async fn update_tag(
        &self,
        owner: &Owner,
        id: Uuid,
        patch: TagPatch,
        now: Timestamp,
    ) -> StoreResult<Tag> {
        let name = patch
            .name
            .as_deref()
            .map(|n| validate_tag_name(n, "name"))
            .transpose()?;
        let color = patch.color.as_deref().map(validate_color).transpose()?;
        let pg = self.is_postgres();
        let (name, color) = (&name, &color);
        retry_deadlocked(|| async move {
            on_pool!(self, p => {
                let mut tx = p.begin_write().await?;
                // Locked before the tagged tasks are read, so a task tagged meanwhile is either among them
                // or waits for this transaction (see `refresh_derived`).
                find_own_tag!(tx, pg, owner, id, "FOR NO KEY UPDATE");
                if let Some(name) = &name {
                    sqlx::query("UPDATE tags SET name = $1, name_key = $2, updated_at = $3 WHERE id = $4")
                        .bind(name).bind(name.to_lowercase()).bind(ms(now)).bind(id)
                        .execute(&mut *tx).await
                        .map_err(|e| conflict_on_unique(e, "tag_exists", "name", taken(name)))?;
                }
                if let Some(color) = &color {
                    sqlx::query("UPDATE tags SET color = $1, updated_at = $2 WHERE id = $3")
                        .bind(color).bind(ms(now)).bind(id).execute(&mut *tx).await?;
                }
                if name.is_some() || color.is_some() {
                    let tasks: Vec<(Uuid,)> = sqlx::query_as(TAGGED_TASKS)
                        .bind(id).fetch_all(&mut *tx).await?;
                    for (task_id,) in tasks {
                        refresh_derived!(tx, pg, task_id);
                    }
                }
                tx.commit().await?;
                Ok(())
            })
        })
        .await?;
        self.callers.forget(owner.id);
        self.get_tag(owner, id).await
    }

    /// Delete a tag: it is detached from its tasks (which stay), whose search documents and tags are
    /// refreshed.
    pub async fn delete_tag(&self, owner: &Owner, id: Uuid) -> StoreResult<()> {
        let pg = self.is_postgres();
        retry_deadlocked(|| async move {
            on_pool!(self, p => {
                let mut tx = p.begin_write().await?;
                // Locked first: no task can be tagged with it between reading its tasks and deleting it.
                find_own_tag!(tx, pg, owner, id, "FOR UPDATE");
                let tasks: Vec<(Uuid,)> = sqlx::query_as(TAGGED_TASKS)
                    .bind(id).fetch_all(&mut *tx).await?;
                sqlx::query("DELETE FROM tags WHERE id = $1").bind(id).execute(&mut *tx).await?;
                for (task_id,) in tasks {
                    refresh_derived!(tx, pg, task_id);
                }
                tx.commit().await?;
                Ok(())
            })
        })
        .await?;
        self.callers.forget(owner.id);
        Ok(())
    }

    /// Attach (`attach = true`) or detach a tag on a task; both must belong to the owner.
    pub async fn set_task_tag(
        &self,
        owner: &Owner,
        task_id: Uuid,
        tag_id: Uuid,
        attach: bool,
        now: Timestamp,
    ) -> StoreResult<Task> {
        let pg = self.is_postgres();
        let task = retry_deadlocked(|| async move {
            Ok(on_pool!(self, p => {
                let mut tx = p.begin_write().await?;
                let task: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM tasks WHERE id = $1 AND user_id = $2")
                    .bind(task_id).bind(owner.id).fetch_optional(&mut *tx).await?;
                if task.is_none() {
                    return Err(StoreError::NotFound("task"));
                }
                // Share-locked on PostgreSQL: a tag being deleted meanwhile is waited for and then not found.
                find_own_tag!(tx, pg, owner, tag_id, "FOR SHARE");
                let sql = if attach {
                    "INSERT INTO task_tags (task_id, tag_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
                } else {
                    "DELETE FROM task_tags WHERE task_id = $1 AND tag_id = $2"
                };
                let changed = sqlx::query(sql).bind(task_id).bind(tag_id).execute(&mut *tx).await?.rows_affected() > 0;
                if changed {
                    sqlx::query("UPDATE tasks SET updated_at = $1 WHERE id = $2").bind(ms(now)).bind(task_id).execute(&mut *tx).await?;
                    refresh_derived!(tx, pg, task_id);
                }
                let task = load_task!(&mut *tx, owner, task_id, now);
                if changed {
                    emit_task_event!(tx, self, owner, kind::TASK_UPDATED, task, vec!["tags".to_owned()], now);
                }
                tx.commit().await?;
                task
            }))
        })
        .await?;
        self.outbox_wake().notify_one();
        Ok(task)
    }
}
