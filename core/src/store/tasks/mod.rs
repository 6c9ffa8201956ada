//! Tasks: create, read, update, complete/reopen, delete, list (filters, sort, search, cursor pages), the
//! next-occurrence operation the recurrence worker calls, skipping an occurrence, what a task's subtasks
//! follow, and the Today and Upcoming views. One module per operation; what more than one of them needs
//! is here.

mod create;
mod list;
mod occurrence;
mod skip;
mod subtasks;
mod update;
mod views;

use crate::domain::task::{MAX_TAGS_PER_TASK, validate_tag_name};
use crate::error::{Invalid, StoreResult};
use crate::model::{TagRef, Task};
use crate::store::dialect::{Dialect, query, query_as};
use crate::store::rows::{Owner, load_task};
use crate::store::tags::DEFAULT_COLOR;
use crate::store::{Pool, Store, ms};
use jiff::Timestamp;
use uuid::Uuid;

impl Store {
    pub async fn get_task(&self, owner: &Owner, id: Uuid, now: Timestamp) -> StoreResult<Task> {
        match &self.pool {
            Pool::Postgres(p) => load_task(&mut p.acquire().await?, owner, id, now).await,
            Pool::Sqlite(p) => load_task(&mut p.acquire().await?, owner, id, now).await,
        }
    }
}

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

/// Make sure tags named `names` exist for the owner and return them (one lookup per existing tag). On
/// PostgreSQL each is share-locked, so it keeps the name and colour read here until the task is written.
async fn ensure_tags<D: Dialect>(
    tx: &mut sqlx::Transaction<'static, D>,
    owner: &Owner,
    names: &[String],
    now: Timestamp,
) -> StoreResult<Vec<TagRef>> {
    let mut tags: Vec<TagRef> = Vec::with_capacity(names.len());
    for name in names {
        let key = name.to_lowercase();
        let mut found: Option<(Uuid, String, String)> = query_as(D::TAG_BY_NAME_FOR_SHARE)
            .bind(owner.id)
            .bind(&key)
            .fetch_optional(tx)
            .await?;
        if found.is_none() {
            query(
                "INSERT INTO tags (id, user_id, name, name_key, color, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING",
            )
            .bind(Uuid::now_v7())
            .bind(owner.id)
            .bind(name)
            .bind(&key)
            .bind(DEFAULT_COLOR)
            .bind(ms(now))
            .execute(tx)
            .await?;
            found = Some(
                query_as(D::TAG_BY_NAME_FOR_SHARE)
                    .bind(owner.id)
                    .bind(&key)
                    .fetch_one(tx)
                    .await?,
            );
        }
        if let Some((id, name, color)) = found {
            tags.push(TagRef { id, name, color });
        }
    }
    Ok(tags)
}
