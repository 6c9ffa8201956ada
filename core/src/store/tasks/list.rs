//! Listing tasks: filters, sort orders, full-text search and cursor pages, as one statement built for
//! the query.

use crate::domain::filter::{Cursor, CursorKey, Order, Parent, SortKey, TagMode, TaskQuery};
use crate::error::StoreResult;
use crate::model::TaskPage;
use crate::store::dialect::{Dialect, Fetch, TASK_COLUMNS, query_as};
use crate::store::rows::{Owner, TaskRow};
use crate::store::{Pool, Store, ms};
use uuid::Uuid;

/// A bind value of a dynamically built statement.
#[derive(Debug, Clone)]
enum Arg {
    Int(i64),
    Small(i16),
    Float(f64),
    Text(String),
    Id(Uuid),
}

/// Collects SQL text and its bind values so `$n` numbering can't drift from the values.
#[derive(Default)]
struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }
}

fn bind_all<'q, D: Dialect>(mut q: Fetch<'q, D, TaskRow>, args: Vec<Arg>) -> Fetch<'q, D, TaskRow> {
    for a in args {
        q = match a {
            Arg::Int(v) => q.bind(v),
            Arg::Small(v) => q.bind(v),
            Arg::Float(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::Id(v) => q.bind(v),
        };
    }
    q
}

impl Store {
    pub async fn list_tasks(&self, owner: &Owner, query: &TaskQuery) -> StoreResult<TaskPage> {
        let archived = match query.project {
            Some(_) => Vec::new(),
            None => self.archived_projects(owner).await?,
        };
        let (items, next) = match &self.pool {
            Pool::Postgres(p) => list_page(p, owner, query, &archived).await?,
            Pool::Sqlite(p) => list_page(p, owner, query, &archived).await?,
        };
        let now = query.now;
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

/// The page of rows `query` asks for, and the cursor of the next page if there is one; tasks of the
/// `archived` projects are left out unless `query` names a project.
async fn list_page<D: Dialect>(
    pool: &sqlx::Pool<D>,
    owner: &Owner,
    query: &TaskQuery,
    archived: &[Uuid],
) -> StoreResult<(Vec<TaskRow>, Option<Cursor>)> {
    let mut conn = pool.acquire().await?;
    let mut sql = Sql::default();
    let user = sql.arg(Arg::Id(owner.id));
    // `scope` selects the caller's rows (and, when searching, the matching ones).
    let (rank_expr, search_join, scope) = match &query.search {
        Some(terms) => {
            let q = sql.arg(Arg::Text(D::search_terms(terms)));
            let search = D::search(&user, &q);
            (search.rank, search.join, search.scope)
        }
        None => ("NULL".to_owned(), "", format!("t.user_id = {user}")),
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
    // These read `project_id` and `parent_id`, which the owner index carries.
    if let Some(project) = query.project {
        let p = sql.arg(Arg::Id(project));
        sql.push(&format!(" AND t.project_id = {p}"));
    } else if !archived.is_empty() {
        // As values, not a subquery: a subquery's row estimate made PostgreSQL's cached generic plan of a
        // tag-filtered listing probe every open task's tags (measured 4x slower), and most users have no
        // archived project, so their statement is the one without this clause.
        let list: Vec<String> = archived.iter().map(|id| sql.arg(Arg::Id(*id))).collect();
        sql.push(&format!(" AND t.project_id NOT IN ({})", list.join(", ")));
    }
    match query.parent {
        Some(Parent::Of(parent)) => {
            let p = sql.arg(Arg::Id(parent));
            sql.push(&format!(" AND t.parent_id = {p}"));
        }
        Some(Parent::None) => sql.push(" AND t.parent_id IS NULL"),
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
    let rest =
        format!(", {k}.rank{sort_out} FROM {from} ORDER BY {k}.{sort_column} {dir}, {k}.id {dir}");
    let text = format!("SELECT {}{rest}", D::task_columns());
    let mut rows: Vec<TaskRow> = bind_all(query_as(&text), sql.args)
        .fetch_all(&mut conn)
        .await?;
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
    Ok((rows, next))
}
