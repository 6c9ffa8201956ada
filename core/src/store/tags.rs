//! Tags: per-user, unique (case-insensitive) names, hex colours. Deleting a tag detaches it from tasks and
//! never deletes a task.

use crate::domain::task::{validate_color, validate_tag_name};
use crate::error::{StoreError, StoreResult};
use crate::events::kind;
use crate::model::{Tag, TagInput, TagPatch, Task};
use crate::store::dialect::{Dialect, query, query_as};
use crate::store::rows::{Owner, load_task};
use crate::store::{Pool, Store, conflict_on_unique, from_ms, ms, retry_deadlocked};
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

/// Find the owner's tag `id` (else `NotFound`) with `find`, one of the dialect's `OWN_TAG_FOR_*`
/// statements (which take its lock).
async fn find_own_tag<D: Dialect>(
    tx: &mut sqlx::Transaction<'static, D>,
    find: &str,
    owner: &Owner,
    id: Uuid,
) -> StoreResult<()> {
    let found: Option<(Uuid,)> = query_as(find)
        .bind(id)
        .bind(owner.id)
        .fetch_optional(tx)
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound("tag")),
    }
}

impl Store {
    pub async fn list_tags(&self, owner: &Owner) -> StoreResult<Vec<Tag>> {
        let sql = format!("{TAG_SELECT} WHERE g.user_id = $1 ORDER BY g.name_key");
        let rows: Vec<TagRow> = match &self.pool {
            Pool::Postgres(p) => fetch_tags(p, &sql, owner, None).await?,
            Pool::Sqlite(p) => fetch_tags(p, &sql, owner, None).await?,
        };
        Ok(rows.into_iter().map(Tag::from).collect())
    }

    pub async fn get_tag(&self, owner: &Owner, id: Uuid) -> StoreResult<Tag> {
        let sql = format!("{TAG_SELECT} WHERE g.user_id = $1 AND g.id = $2");
        let rows: Vec<TagRow> = match &self.pool {
            Pool::Postgres(p) => fetch_tags(p, &sql, owner, Some(id)).await?,
            Pool::Sqlite(p) => fetch_tags(p, &sql, owner, Some(id)).await?,
        };
        rows.into_iter()
            .next()
            .map(Tag::from)
            .ok_or(StoreError::NotFound("tag"))
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
        match &self.pool {
            Pool::Postgres(p) => insert_tag(p, owner, id, &name, &color, now).await?,
            Pool::Sqlite(p) => insert_tag(p, owner, id, &name, &color, now).await?,
        }
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
        let (name, color) = (name.as_deref(), color.as_deref());
        retry_deadlocked(|| async move {
            match &self.pool {
                Pool::Postgres(p) => update_tag(p, owner, id, name, color, now).await,
                Pool::Sqlite(p) => update_tag(p, owner, id, name, color, now).await,
            }
        })
        .await?;
        self.callers.forget(owner.id);
        self.get_tag(owner, id).await
    }

    /// Delete a tag: it is detached from its tasks (which stay), whose search documents and tags are
    /// refreshed.
    pub async fn delete_tag(&self, owner: &Owner, id: Uuid) -> StoreResult<()> {
        retry_deadlocked(|| async move {
            match &self.pool {
                Pool::Postgres(p) => delete_tag(p, owner, id).await,
                Pool::Sqlite(p) => delete_tag(p, owner, id).await,
            }
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
        let link = TagLink {
            task_id,
            tag_id,
            attach,
        };
        let task = retry_deadlocked(|| async move {
            match &self.pool {
                Pool::Postgres(p) => self.set_task_tag_on(p, owner, link, now).await,
                Pool::Sqlite(p) => self.set_task_tag_on(p, owner, link, now).await,
            }
        })
        .await?;
        self.outbox_wake().notify_one();
        Ok(task)
    }

    async fn set_task_tag_on<D: Dialect>(
        &self,
        pool: &sqlx::Pool<D>,
        owner: &Owner,
        link: TagLink,
        now: Timestamp,
    ) -> StoreResult<Task> {
        let TagLink {
            task_id,
            tag_id,
            attach,
        } = link;
        let mut tx = D::begin_write(pool).await?;
        let task: Option<(Uuid,)> = query_as("SELECT id FROM tasks WHERE id = $1 AND user_id = $2")
            .bind(task_id)
            .bind(owner.id)
            .fetch_optional(&mut tx)
            .await?;
        if task.is_none() {
            return Err(StoreError::NotFound("task"));
        }
        // Share-locked on PostgreSQL: a tag being deleted meanwhile is waited for and then not found.
        find_own_tag(&mut tx, D::OWN_TAG_FOR_SHARE, owner, tag_id).await?;
        let sql = if attach {
            "INSERT INTO task_tags (task_id, tag_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM task_tags WHERE task_id = $1 AND tag_id = $2"
        };
        let changed = query(sql)
            .bind(task_id)
            .bind(tag_id)
            .execute(&mut tx)
            .await?
            > 0;
        if changed {
            query("UPDATE tasks SET updated_at = $1 WHERE id = $2")
                .bind(ms(now))
                .bind(task_id)
                .execute(&mut tx)
                .await?;
            D::refresh_derived(&mut tx, task_id).await?;
        }
        let task = load_task(&mut tx, owner, task_id, now).await?;
        if changed {
            self.emit_task_event(
                &mut tx,
                owner,
                kind::TASK_UPDATED,
                &task,
                vec!["tags".to_owned()],
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(task)
    }
}

/// Which tag to attach to or detach from which task.
#[derive(Clone, Copy)]
struct TagLink {
    task_id: Uuid,
    tag_id: Uuid,
    attach: bool,
}

/// Tag rows by `sql` (a `TAG_SELECT` binding the owner as `$1` and, when given, the tag as `$2`).
async fn fetch_tags<D: Dialect>(
    pool: &sqlx::Pool<D>,
    sql: &str,
    owner: &Owner,
    id: Option<Uuid>,
) -> StoreResult<Vec<TagRow>> {
    let mut q = query_as(sql).bind(owner.id);
    if let Some(id) = id {
        q = q.bind(id);
    }
    Ok(q.fetch_all(&mut pool.acquire().await?).await?)
}

async fn insert_tag<D: Dialect>(
    pool: &sqlx::Pool<D>,
    owner: &Owner,
    id: Uuid,
    name: &str,
    color: &str,
    now: Timestamp,
) -> StoreResult<()> {
    query(
        "INSERT INTO tags (id, user_id, name, name_key, color, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(id)
    .bind(owner.id)
    .bind(name)
    .bind(name.to_lowercase())
    .bind(color)
    .bind(ms(now))
    .execute(&mut pool.acquire().await?)
    .await
    .map_err(|e| conflict_on_unique(e, "tag_exists", "name", taken(name)))?;
    Ok(())
}

async fn update_tag<D: Dialect>(
    pool: &sqlx::Pool<D>,
    owner: &Owner,
    id: Uuid,
    name: Option<&str>,
    color: Option<&str>,
    now: Timestamp,
) -> StoreResult<()> {
    let mut tx = D::begin_write(pool).await?;
    // Locked before the tagged tasks are read, so a task tagged meanwhile is either among them or waits
    // for this transaction (see `Dialect::refresh_derived`).
    find_own_tag(&mut tx, D::OWN_TAG_FOR_NO_KEY_UPDATE, owner, id).await?;
    if let Some(name) = name {
        query("UPDATE tags SET name = $1, name_key = $2, updated_at = $3 WHERE id = $4")
            .bind(name)
            .bind(name.to_lowercase())
            .bind(ms(now))
            .bind(id)
            .execute(&mut tx)
            .await
            .map_err(|e| conflict_on_unique(e, "tag_exists", "name", taken(name)))?;
    }
    if let Some(color) = color {
        query("UPDATE tags SET color = $1, updated_at = $2 WHERE id = $3")
            .bind(color)
            .bind(ms(now))
            .bind(id)
            .execute(&mut tx)
            .await?;
    }
    if name.is_some() || color.is_some() {
        let tasks: Vec<(Uuid,)> = query_as(TAGGED_TASKS).bind(id).fetch_all(&mut tx).await?;
        for (task_id,) in tasks {
            D::refresh_derived(&mut tx, task_id).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

async fn delete_tag<D: Dialect>(pool: &sqlx::Pool<D>, owner: &Owner, id: Uuid) -> StoreResult<()> {
    let mut tx = D::begin_write(pool).await?;
    // Locked first: no task can be tagged with it between reading its tasks and deleting it.
    find_own_tag(&mut tx, D::OWN_TAG_FOR_UPDATE, owner, id).await?;
    let tasks: Vec<(Uuid,)> = query_as(TAGGED_TASKS).bind(id).fetch_all(&mut tx).await?;
    query("DELETE FROM tags WHERE id = $1")
        .bind(id)
        .execute(&mut tx)
        .await?;
    for (task_id,) in tasks {
        D::refresh_derived(&mut tx, task_id).await?;
    }
    tx.commit().await?;
    Ok(())
}
