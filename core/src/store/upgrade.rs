//! Data that migrations in SQL cannot carry: stored values whose meaning is decided in Rust.

use crate::domain::recurrence::legacy;
use crate::error::StoreResult;
use crate::store::dialect::{Dialect, query, query_as};
use uuid::Uuid;

/// Rewrite the recurrence rules stored by versions before the RFC 5545 engine into today's form with the
/// same occurrences ([`legacy::upgrade`]); the number rewritten. Only rows that can hold such a rule are
/// read (the old form wrote keys the new one never does): once they are rewritten, a run is one scan that
/// matches nothing. The update checks the row still holds what was read.
pub(crate) async fn legacy_rules<D: Dialect>(pool: &sqlx::Pool<D>) -> StoreResult<u64> {
    let mut tx = D::begin_write(pool).await?;
    let rows: Vec<(Uuid, String, Option<String>)> = query_as(
        "SELECT id, recurrence, series_anchor FROM tasks WHERE recurrence LIKE '%\"month\\_day\"%' ESCAPE '\\' \
         OR recurrence LIKE '%\"nth\\_weekday\"%' ESCAPE '\\' OR recurrence LIKE '%\"month\":%'",
    )
    .fetch_all(&mut tx)
    .await?;
    let mut rewritten = 0;
    for (id, json, anchor) in rows {
        let Some(rule) = legacy::upgrade(&json, anchor.and_then(|a| a.parse().ok())) else {
            continue;
        };
        rewritten += query("UPDATE tasks SET recurrence = $1 WHERE id = $2 AND recurrence = $3")
            .bind(serde_json::to_string(&rule).unwrap_or(json.clone()))
            .bind(id)
            .bind(json)
            .execute(&mut tx)
            .await?;
    }
    tx.commit().await?;
    Ok(rewritten)
}
