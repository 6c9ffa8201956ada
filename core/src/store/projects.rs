//! Projects (lists): per-user, unique (case-insensitive) names, hex colours, an order, archiving. Every task
//! is in exactly one; every user has an Inbox whose id is the user's id, created with the account (and by
//! the migration that introduced projects for the accounts before it).

use crate::domain::task::{validate_color, validate_project_name};
use crate::error::{Invalid, StoreError, StoreResult};
use crate::events::{ProjectChangedData, kind};
use crate::model::{Project, ProjectInput, ProjectPatch, ProjectTasks};
use crate::store::dialect::{Conn, Dialect, query, query_as};
use crate::store::rows::Owner;
use crate::store::tags::DEFAULT_COLOR;
use crate::store::{Pool, Store, conflict_on_unique, from_ms, ms, retry_deadlocked};
use jiff::Timestamp;
use uuid::Uuid;

/// The Inbox's name when an account is created; it can be renamed.
pub const INBOX_NAME: &str = "Inbox";

#[derive(sqlx::FromRow)]
struct ProjectRow {
    id: Uuid,
    name: String,
    color: String,
    inbox: bool,
    position: i32,
    archived_at: Option<i64>,
    open_tasks: i64,
    task_count: i64,
    created_at: i64,
    updated_at: i64,
}

impl From<ProjectRow> for Project {
    fn from(r: ProjectRow) -> Project {
        Project {
            id: r.id,
            name: r.name,
            color: r.color,
            inbox: r.inbox,
            position: r.position,
            archived: r.archived_at.is_some(),
            open_tasks: r.open_tasks,
            task_count: r.task_count,
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
        }
    }
}

const PROJECT_SELECT: &str = "SELECT p.id, p.name, p.color, p.inbox, p.position, p.archived_at, \
     (SELECT COUNT(*) FROM tasks t WHERE t.user_id = p.user_id AND t.project_id = p.id \
       AND t.status <> 'completed') AS open_tasks, \
     (SELECT COUNT(*) FROM tasks t WHERE t.user_id = p.user_id AND t.project_id = p.id) AS task_count, p.created_at, p.updated_at \
     FROM projects p";

/// The Inbox first, then the user's order.
const PROJECT_ORDER: &str = "ORDER BY p.inbox DESC, p.position, p.name_key";

fn taken(name: &str) -> impl FnOnce() -> String + '_ {
    move || format!("you already have a project named {name:?}")
}

/// The new account's Inbox (its id is the account's).
pub(crate) async fn insert_inbox<D: Dialect>(
    on: &mut impl Conn<D>,
    user_id: Uuid,
    now: Timestamp,
) -> StoreResult<()> {
    query(
        "INSERT INTO projects (id, user_id, name, name_key, color, position, inbox, created_at, updated_at) \
         VALUES ($1, $1, $2, $3, $4, 0, TRUE, $5, $5)",
    )
    .bind(user_id)
    .bind(INBOX_NAME)
    .bind(INBOX_NAME.to_lowercase())
    .bind(DEFAULT_COLOR)
    .bind(ms(now))
    .execute(on)
    .await?;
    Ok(())
}

/// Check that `id` is one of the owner's projects a task may be put in (not archived), share-locking it
/// where the database locks rows so it is not archived or deleted before the task is written. Errors name
/// `field`: `unknown_project` (another user's project is indistinguishable from none) or
/// `project_archived`.
pub(crate) async fn usable_project<D: Dialect>(
    on: &mut impl Conn<D>,
    owner: &Owner,
    id: Uuid,
    field: &'static str,
) -> StoreResult<()> {
    let found: Option<(Uuid, bool, Option<i64>)> = query_as(D::OWN_PROJECT_FOR_SHARE)
        .bind(id)
        .bind(owner.id)
        .fetch_optional(on)
        .await?;
    match found {
        None => Err(Invalid::new("unknown_project", field, "no such project").into()),
        Some((_, _, Some(_))) => Err(Invalid::new(
            "project_archived",
            field,
            "the project is archived; restore it first",
        )
        .into()),
        Some(_) => Ok(()),
    }
}

impl Store {
    /// The owner's archived projects, as remembered (`callers`) or read.
    pub(crate) async fn archived_projects(&self, owner: &Owner) -> StoreResult<Vec<Uuid>> {
        let now = std::time::Instant::now();
        if let Some(archived) = self.callers.archived(owner.id, now) {
            return Ok(archived);
        }
        let since = self.callers.generation();
        let sql = "SELECT id FROM projects WHERE user_id = $1 AND archived_at IS NOT NULL";
        let rows: Vec<(Uuid,)> = match &self.pool {
            Pool::Postgres(p) => {
                query_as(sql)
                    .bind(owner.id)
                    .fetch_all(&mut p.acquire().await?)
                    .await?
            }
            Pool::Sqlite(p) => {
                query_as(sql)
                    .bind(owner.id)
                    .fetch_all(&mut p.acquire().await?)
                    .await?
            }
        };
        let archived: Vec<Uuid> = rows.into_iter().map(|(id,)| id).collect();
        self.callers
            .remember_archived(owner.id, archived.clone(), now, since);
        Ok(archived)
    }

    /// The owner's projects, the Inbox first; archived ones only when `archived`.
    pub async fn list_projects(&self, owner: &Owner, archived: bool) -> StoreResult<Vec<Project>> {
        let filter = if archived {
            ""
        } else {
            " AND p.archived_at IS NULL"
        };
        let sql = format!("{PROJECT_SELECT} WHERE p.user_id = $1{filter} {PROJECT_ORDER}");
        let rows: Vec<ProjectRow> = match &self.pool {
            Pool::Postgres(p) => fetch_projects(p, &sql, owner.id, None).await?,
            Pool::Sqlite(p) => fetch_projects(p, &sql, owner.id, None).await?,
        };
        Ok(rows.into_iter().map(Project::from).collect())
    }

    pub async fn get_project(&self, owner: &Owner, id: Uuid) -> StoreResult<Project> {
        let sql = format!("{PROJECT_SELECT} WHERE p.user_id = $1 AND p.id = $2");
        let rows: Vec<ProjectRow> = match &self.pool {
            Pool::Postgres(p) => fetch_projects(p, &sql, owner.id, Some(id)).await?,
            Pool::Sqlite(p) => fetch_projects(p, &sql, owner.id, Some(id)).await?,
        };
        rows.into_iter()
            .next()
            .map(Project::from)
            .ok_or(StoreError::NotFound("project"))
    }

    /// The owner's project named `name` (case-insensitive), archived or not.
    pub async fn project_named(&self, owner: &Owner, name: &str) -> StoreResult<Option<Project>> {
        let sql = format!("{PROJECT_SELECT} WHERE p.user_id = $1 AND p.name_key = $2");
        let key = name.trim().to_lowercase();
        let rows: Vec<ProjectRow> = match &self.pool {
            Pool::Postgres(p) => {
                let q = query_as(&sql).bind(owner.id).bind(key);
                q.fetch_all(&mut p.acquire().await?).await?
            }
            Pool::Sqlite(p) => {
                let q = query_as(&sql).bind(owner.id).bind(key);
                q.fetch_all(&mut p.acquire().await?).await?
            }
        };
        Ok(rows.into_iter().next().map(Project::from))
    }

    /// The project a quick-add `+name` means: the owner's project of that name, case-insensitive, with `_`
    /// standing for a space (`+home_office` is "Home office"), not archived. Errors name `text`.
    pub async fn project_for_text(&self, owner: &Owner, name: &str) -> StoreResult<Uuid> {
        let found = match self.project_named(owner, name).await? {
            Some(p) => Some(p),
            None if name.contains('_') => {
                self.project_named(owner, &name.replace('_', " ")).await?
            }
            None => None,
        };
        match found {
            None => Err(Invalid::new(
                "unknown_project",
                "text",
                format!("you have no project {name:?}; create it first or remove +{name}"),
            )
            .into()),
            Some(p) if p.archived => Err(Invalid::new(
                "project_archived",
                "text",
                format!("the project {:?} is archived; restore it first", p.name),
            )
            .into()),
            Some(p) => Ok(p.id),
        }
    }

    /// A new project, last in the owner's order.
    pub async fn create_project(
        &self,
        owner: &Owner,
        input: ProjectInput,
        now: Timestamp,
    ) -> StoreResult<Project> {
        let name = validate_project_name(&input.name)?;
        let color = input
            .color
            .as_deref()
            .map(validate_color)
            .transpose()?
            .unwrap_or_else(|| DEFAULT_COLOR.into());
        let id = Uuid::now_v7();
        let new = NewProject {
            id,
            name: &name,
            color: &color,
        };
        retry_deadlocked(|| async move {
            match &self.pool {
                Pool::Postgres(p) => self.insert_project(p, owner, new, now).await,
                Pool::Sqlite(p) => self.insert_project(p, owner, new, now).await,
            }
        })
        .await?;
        self.outbox_wake().notify_one();
        self.get_project(owner, id).await
    }

    /// Rename, recolour, move in the order, archive or restore.
    pub async fn update_project(
        &self,
        owner: &Owner,
        id: Uuid,
        patch: ProjectPatch,
        now: Timestamp,
    ) -> StoreResult<Project> {
        let change = ProjectChange {
            name: patch
                .name
                .as_deref()
                .map(validate_project_name)
                .transpose()?,
            color: patch.color.as_deref().map(validate_color).transpose()?,
            position: patch.position,
            archived: patch.archived,
        };
        let change = &change;
        retry_deadlocked(|| async move {
            match &self.pool {
                Pool::Postgres(p) => self.update_project_on(p, owner, id, change, now).await,
                Pool::Sqlite(p) => self.update_project_on(p, owner, id, change, now).await,
            }
        })
        .await?;
        self.callers.forget(owner.id);
        self.outbox_wake().notify_one();
        self.get_project(owner, id).await
    }

    /// Delete a project; its tasks move to the Inbox or are deleted with it, each with its event. The Inbox
    /// cannot be deleted (409 `inbox_protected`).
    pub async fn delete_project(
        &self,
        owner: &Owner,
        id: Uuid,
        tasks: ProjectTasks,
        now: Timestamp,
    ) -> StoreResult<()> {
        retry_deadlocked(|| async move {
            match &self.pool {
                Pool::Postgres(p) => self.delete_project_on(p, owner, id, tasks, now).await,
                Pool::Sqlite(p) => self.delete_project_on(p, owner, id, tasks, now).await,
            }
        })
        .await?;
        self.callers.forget(owner.id);
        self.outbox_wake().notify_one();
        Ok(())
    }

    async fn delete_project_on<D: Dialect>(
        &self,
        pool: &sqlx::Pool<D>,
        owner: &Owner,
        id: Uuid,
        tasks: ProjectTasks,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = D::begin_write(pool).await?;
        // Locked first: no task can be put in it between reading its tasks and deleting it.
        let (inbox, _) = lock_project(&mut tx, owner, id).await?;
        if inbox {
            return Err(StoreError::Conflict {
                code: "inbox_protected",
                field: "id",
                message: "the Inbox cannot be deleted".into(),
            });
        }
        let ids: Vec<(Uuid,)> =
            query_as("SELECT id FROM tasks WHERE user_id = $1 AND project_id = $2 ORDER BY id")
                .bind(owner.id)
                .bind(id)
                .fetch_all(&mut tx)
                .await?;
        let ids: Vec<Uuid> = ids.into_iter().map(|(task,)| task).collect();
        match tasks {
            ProjectTasks::Move => self.move_tasks(&mut tx, owner, &ids, owner.id, now).await?,
            ProjectTasks::Delete => self.announce_deleted(&mut tx, owner, &ids, now).await?,
        }
        // All at once: a subtask is in its parent's project, and deleting one by one would meet subtasks
        // already gone with their parents.
        query("DELETE FROM tasks WHERE user_id = $1 AND project_id = $2")
            .bind(owner.id)
            .bind(id)
            .execute(&mut tx)
            .await?;
        query("DELETE FROM projects WHERE id = $1")
            .bind(id)
            .execute(&mut tx)
            .await?;
        self.project_changed(&mut tx, owner, id, true, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Tell the owner's open tabs that a project changed, in the transaction that changed it: on
    /// task-updates only, as nothing but the live stream reads projects.
    async fn project_changed<D: Dialect>(
        &self,
        tx: &mut sqlx::Transaction<'static, D>,
        owner: &Owner,
        project_id: Uuid,
        deleted: bool,
        now: Timestamp,
    ) -> StoreResult<()> {
        let data = ProjectChangedData {
            project_id,
            deleted,
        };
        self.emit_live_event(tx, owner, kind::PROJECT_CHANGED, project_id, &data, now)
            .await
    }

    async fn insert_project<D: Dialect>(
        &self,
        pool: &sqlx::Pool<D>,
        owner: &Owner,
        new: NewProject<'_>,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = D::begin_write(pool).await?;
        // The Inbox row is locked to serialise creations of one user's projects, so two get distinct
        // places.
        lock_project(&mut tx, owner, owner.id).await?;
        query(
            "INSERT INTO projects (id, user_id, name, name_key, color, position, created_at, updated_at) \
             SELECT $1, $2, $3, $4, $5, COALESCE(MAX(position), 0) + 1, $6, $6 FROM projects WHERE user_id = $2",
        )
        .bind(new.id)
        .bind(owner.id)
        .bind(new.name)
        .bind(new.name.to_lowercase())
        .bind(new.color)
        .bind(ms(now))
        .execute(&mut tx)
        .await
        .map_err(|e| conflict_on_unique(e, "project_exists", "name", taken(new.name)))?;
        self.project_changed(&mut tx, owner, new.id, false, now)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_project_on<D: Dialect>(
        &self,
        pool: &sqlx::Pool<D>,
        owner: &Owner,
        id: Uuid,
        change: &ProjectChange,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = D::begin_write(pool).await?;
        update_project(&mut tx, owner, id, change, now).await?;
        self.project_changed(&mut tx, owner, id, false, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The owner's project `id` locked for update: `(inbox, archived)`, else `NotFound`.
async fn lock_project<D: Dialect>(
    tx: &mut sqlx::Transaction<'static, D>,
    owner: &Owner,
    id: Uuid,
) -> StoreResult<(bool, bool)> {
    let found: Option<(Uuid, bool, Option<i64>)> = query_as(D::OWN_PROJECT_FOR_UPDATE)
        .bind(id)
        .bind(owner.id)
        .fetch_optional(tx)
        .await?;
    found
        .map(|(_, inbox, archived_at)| (inbox, archived_at.is_some()))
        .ok_or(StoreError::NotFound("project"))
}

/// Project rows by `sql` (a `PROJECT_SELECT` binding the owner as `$1` and, when given, the project as `$2`).
async fn fetch_projects<D: Dialect>(
    pool: &sqlx::Pool<D>,
    sql: &str,
    owner: Uuid,
    id: Option<Uuid>,
) -> StoreResult<Vec<ProjectRow>> {
    let mut q = query_as(sql).bind(owner);
    if let Some(id) = id {
        q = q.bind(id);
    }
    Ok(q.fetch_all(&mut pool.acquire().await?).await?)
}

#[derive(Clone, Copy)]
struct NewProject<'a> {
    id: Uuid,
    name: &'a str,
    color: &'a str,
}

/// A validated [`ProjectPatch`].
struct ProjectChange {
    name: Option<String>,
    color: Option<String>,
    position: Option<u16>,
    archived: Option<bool>,
}

async fn update_project<D: Dialect>(
    tx: &mut sqlx::Transaction<'static, D>,
    owner: &Owner,
    id: Uuid,
    change: &ProjectChange,
    now: Timestamp,
) -> StoreResult<()> {
    let ProjectChange {
        name,
        color,
        position,
        archived,
    } = change;
    if position.is_some() {
        // Reordering renumbers the user's projects: the Inbox's lock serialises it with creations.
        lock_project(tx, owner, owner.id).await?;
    }
    let (inbox, was_archived) = lock_project(tx, owner, id).await?;
    if inbox && (*archived == Some(true) || position.is_some()) {
        let field = if position.is_some() {
            "position"
        } else {
            "archived"
        };
        return Err(Invalid::new(
            "inbox_protected",
            field,
            "the Inbox stays first and cannot be archived",
        )
        .into());
    }
    if let Some(name) = name {
        query("UPDATE projects SET name = $1, name_key = $2, updated_at = $3 WHERE id = $4")
            .bind(name)
            .bind(name.to_lowercase())
            .bind(ms(now))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict_on_unique(e, "project_exists", "name", taken(name)))?;
    }
    if let Some(color) = color {
        query("UPDATE projects SET color = $1, updated_at = $2 WHERE id = $3")
            .bind(color)
            .bind(ms(now))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(archive) = *archived
        && archive != was_archived
    {
        query("UPDATE projects SET archived_at = $1, updated_at = $2 WHERE id = $3")
            .bind(archive.then_some(ms(now)))
            .bind(ms(now))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(position) = position {
        let others: Vec<(Uuid,)> = query_as(
            "SELECT p.id FROM projects p WHERE p.user_id = $1 AND NOT p.inbox AND p.id <> $2 \
             ORDER BY p.position, p.name_key",
        )
        .bind(owner.id)
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let mut order: Vec<Uuid> = others.into_iter().map(|(o,)| o).collect();
        let at = usize::from(*position).saturating_sub(1).min(order.len());
        order.insert(at, id);
        for (i, project) in order.into_iter().enumerate() {
            query("UPDATE projects SET position = $1 WHERE id = $2 AND position <> $1")
                .bind(i as i32 + 1)
                .bind(project)
                .execute(&mut *tx)
                .await?;
        }
        query("UPDATE projects SET updated_at = $1 WHERE id = $2")
            .bind(ms(now))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}
