//! The two databases a store runs on, and the one way the store's shared code talks to either.
//!
//! Code shared by both backends is generic over [`Dialect`]. Rust does not carry a trait's `where`
//! clauses to the functions that use it, so bounds such as `Uuid: Encode<'q, D>` or
//! `for<'c> &'c mut D::Connection: Executor<'c>` would have to be repeated on every generic function.
//! Instead they are declared once here: [`Value`] and [`Record`] require both backends' encodings, and
//! each `Dialect` impl (where the database is a concrete type) makes the sqlx calls. Generic code builds
//! statements with [`query`] and [`query_as`], much as with `sqlx::query`.
//!
//! Where the dialects really differ (row locks, full-text search, list parameters) each impl writes its
//! SQL out in full; the statements both accept stay with the code that runs them.

use sqlx::postgres::{PgPool, PgRow};
use sqlx::query::{Query, QueryAs};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Database, Encode, FromRow, Pool, Postgres, Sqlite, Transaction, Type};
use std::sync::LazyLock;
use uuid::Uuid;

/// A value a statement binds: it must encode on both backends.
pub trait Value<'q>:
    Encode<'q, Postgres> + Type<Postgres> + Encode<'q, Sqlite> + Type<Sqlite> + Send + 'q
{
}

impl<'q, T> Value<'q> for T where
    T: Encode<'q, Postgres> + Type<Postgres> + Encode<'q, Sqlite> + Type<Sqlite> + Send + 'q
{
}

/// A row a statement reads: it must decode from both backends' rows.
pub trait Record:
    for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> + Send + Unpin
{
}

impl<T> Record for T where
    T: for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> + Send + Unpin
{
}

type Args<'q, D> = <D as Database>::Arguments<'q>;

/// A database the store runs on: how shared code runs statements on it, and the SQL it writes its own way.
pub trait Dialect: Database {
    /// Open a write transaction. SQLite needs `BEGIN IMMEDIATE`: a deferred transaction that reads and
    /// then writes can fail with SQLITE_BUSY instead of waiting for the lock.
    fn begin_write(
        pool: &Pool<Self>,
    ) -> impl Future<Output = sqlx::Result<Transaction<'static, Self>>> + Send;

    fn bind<'q>(
        q: Query<'q, Self, Args<'q, Self>>,
        value: impl Value<'q>,
    ) -> Query<'q, Self, Args<'q, Self>>;

    fn query_as<O: Record>(sql: &str) -> QueryAs<'_, Self, O, Args<'_, Self>>;

    fn bind_as<'q, O>(
        q: QueryAs<'q, Self, O, Args<'q, Self>>,
        value: impl Value<'q>,
    ) -> QueryAs<'q, Self, O, Args<'q, Self>>;

    /// Run `q`; the number of rows it affected.
    fn execute<'q>(
        q: Query<'q, Self, Args<'q, Self>>,
        conn: &mut Self::Connection,
    ) -> impl Future<Output = sqlx::Result<u64>> + Send;

    fn fetch_all<'q, O: Record>(
        q: QueryAs<'q, Self, O, Args<'q, Self>>,
        conn: &mut Self::Connection,
    ) -> impl Future<Output = sqlx::Result<Vec<O>>> + Send;

    fn fetch_optional<'q, O: Record>(
        q: QueryAs<'q, Self, O, Args<'q, Self>>,
        conn: &mut Self::Connection,
    ) -> impl Future<Output = sqlx::Result<Option<O>>> + Send;

    fn fetch_one<'q, O: Record>(
        q: QueryAs<'q, Self, O, Args<'q, Self>>,
        conn: &mut Self::Connection,
    ) -> impl Future<Output = sqlx::Result<O>> + Send;

    /// The columns a whole task is read with (`t` is the tasks table): its own, the tags the row carries
    /// (`tags_json`, kept by [`refresh_derived`](Dialect::refresh_derived)) and its reminders (by fire
    /// time) aggregated into a JSON array, so a task or a page of tasks is one statement. The aggregate
    /// functions differ by dialect; SQLite keeps ids as 16-byte blobs, so they travel as hex.
    fn task_columns() -> &'static str;

    /// One task of its owner (`$1` id, `$2` owner), its own columns, locked for the rest of the
    /// transaction where the database locks rows.
    const TASK_FOR_UPDATE: &'static str;

    /// A tag of its owner by name key (`$1` owner, `$2` key), share-locked where the database locks rows,
    /// so it keeps the name and colour read until the task naming it is written.
    const TAG_BY_NAME_FOR_SHARE: &'static str;

    /// The owner's tag (`$1` id, `$2` owner), locked in the mode the name says where the database locks
    /// rows (SQLite's write transaction already holds the whole database).
    const OWN_TAG_FOR_SHARE: &'static str;
    const OWN_TAG_FOR_UPDATE: &'static str;
    const OWN_TAG_FOR_NO_KEY_UPDATE: &'static str;

    /// The owner's project (`$1` id, `$2` owner) as `id, inbox, archived_at`, locked in the mode the name
    /// says where the database locks rows.
    const OWN_PROJECT_FOR_SHARE: &'static str;
    const OWN_PROJECT_FOR_UPDATE: &'static str;

    /// Whether [`INSERT_TASK`](Dialect::INSERT_TASK) writes the search document itself, from the tag
    /// names bound as `$17`; otherwise [`refresh_derived`](Dialect::refresh_derived) indexes the row.
    const INSERT_INDEXES_SEARCH: bool;

    /// A task row, binding its columns `$1`–`$16` (`$14` creation time, also its update time; `$15` project,
    /// `$16` parent).
    const INSERT_TASK: &'static str;

    /// Up to `$2` reminders due at `$1`, earliest first; replicas scanning at the same moment take
    /// different ones (PostgreSQL skips rows another transaction locked; SQLite holds the write lock).
    const DUE_REMINDERS: &'static str;

    /// Claim up to `$3` publishable outbox rows until `$1`, at time `$2`, oldest first.
    const CLAIM_OUTBOX: &'static str;

    /// Delete the outbox rows whose sequence numbers are in `$1` (see [`seq_list`](Dialect::seq_list)).
    const REMOVE_PUBLISHED: &'static str;

    /// Give back the outbox rows in `$2` without counting an attempt, retrying at `$1`.
    const RELEASE_CLAIMS: &'static str;

    /// Sequence numbers as one text parameter. One list parameter instead of a placeholder per row keeps
    /// the statement text fixed, so each connection prepares it once: with a placeholder per row, every
    /// batch size was a new statement to parse, plan and later evict from the statement cache.
    fn seq_list(seqs: &[i64]) -> String;

    /// Recompute what a task row derives from its title, description and tags: its search document
    /// (title A, description B, tag names C) and the tags it carries for reads (`tags_json`, see
    /// [`task_columns`](Dialect::task_columns)).
    fn refresh_derived(
        conn: &mut Self::Connection,
        task_id: Uuid,
    ) -> impl Future<Output = sqlx::Result<()>> + Send;

    /// The parts of a task listing a full-text search changes: the rank expression, a join, and the
    /// condition selecting the caller's matching rows. `user` and `q` are placeholders, bound to the
    /// caller's id and to [`search_terms`](Dialect::search_terms).
    fn search(user: &str, q: &str) -> Search;

    /// The search terms as the database's query syntax takes them.
    fn search_terms(terms: &crate::domain::filter::SearchTerms) -> String;
}

/// See [`Dialect::search`].
#[derive(Debug)]
pub struct Search {
    pub rank: String,
    pub join: &'static str,
    pub scope: String,
}

/// A task's own columns (`t` is the tasks table).
pub(crate) const TASK_COLUMNS: &str = "t.id, t.title, t.description, t.status, t.priority, t.project_id, \
     t.parent_id, t.subtask_count, t.subtasks_done, t.due_at, t.due_all_day, t.recurrence, t.series_id, \
     t.occurrence, t.series_anchor, t.completed_at, t.created_at, t.updated_at";

/// Where a statement runs: a transaction, or a connection taken from the pool. Statements take this
/// rather than `&mut D::Connection` so that `D` is known from the argument.
pub trait Conn<D: Database>: Send {
    fn conn(&mut self) -> &mut D::Connection;
}

impl<D: Database> Conn<D> for Transaction<'_, D> {
    fn conn(&mut self) -> &mut D::Connection {
        self
    }
}

impl<D: Database> Conn<D> for sqlx::pool::PoolConnection<D> {
    fn conn(&mut self) -> &mut D::Connection {
        self
    }
}

/// A statement both dialects accept, built like `sqlx::query`.
pub struct Statement<'q, D: Database>(Query<'q, D, Args<'q, D>>);

pub fn query<D: Dialect>(sql: &str) -> Statement<'_, D> {
    Statement(sqlx::query(sql))
}

impl<'q, D: Dialect> Statement<'q, D> {
    pub fn bind(self, value: impl Value<'q>) -> Self {
        Statement(D::bind(self.0, value))
    }

    /// Run it; the number of rows it affected.
    pub async fn execute(self, on: &mut impl Conn<D>) -> sqlx::Result<u64> {
        D::execute(self.0, on.conn()).await
    }
}

impl<'q> Statement<'q, Postgres> {
    /// The sqlx query, to bind what only PostgreSQL encodes (arrays) in a statement only it runs.
    pub fn into_postgres(self) -> Query<'q, Postgres, Args<'q, Postgres>> {
        self.0
    }
}

impl<D: Database> std::fmt::Debug for Statement<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Statement").finish_non_exhaustive()
    }
}

/// A query both dialects accept, reading rows as `O`; built like `sqlx::query_as`.
pub struct Fetch<'q, D: Database, O>(QueryAs<'q, D, O, Args<'q, D>>);

pub fn query_as<D: Dialect, O: Record>(sql: &str) -> Fetch<'_, D, O> {
    Fetch(D::query_as(sql))
}

impl<'q, D: Dialect, O: Record> Fetch<'q, D, O> {
    pub fn bind(self, value: impl Value<'q>) -> Self {
        Fetch(D::bind_as(self.0, value))
    }

    pub async fn fetch_all(self, on: &mut impl Conn<D>) -> sqlx::Result<Vec<O>> {
        D::fetch_all(self.0, on.conn()).await
    }

    pub async fn fetch_optional(self, on: &mut impl Conn<D>) -> sqlx::Result<Option<O>> {
        D::fetch_optional(self.0, on.conn()).await
    }

    pub async fn fetch_one(self, on: &mut impl Conn<D>) -> sqlx::Result<O> {
        D::fetch_one(self.0, on.conn()).await
    }
}

impl<D: Database, O> std::fmt::Debug for Fetch<'_, D, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetch").finish_non_exhaustive()
    }
}

impl Dialect for Postgres {
    async fn begin_write(pool: &PgPool) -> sqlx::Result<Transaction<'static, Postgres>> {
        pool.begin().await
    }

    fn bind<'q>(
        q: Query<'q, Self, Args<'q, Self>>,
        value: impl Value<'q>,
    ) -> Query<'q, Self, Args<'q, Self>> {
        q.bind(value)
    }

    fn query_as<O: Record>(sql: &str) -> QueryAs<'_, Self, O, Args<'_, Self>> {
        sqlx::query_as(sql)
    }

    fn bind_as<'q, O>(
        q: QueryAs<'q, Self, O, Args<'q, Self>>,
        value: impl Value<'q>,
    ) -> QueryAs<'q, Self, O, Args<'q, Self>> {
        q.bind(value)
    }

    async fn execute<'q>(
        q: Query<'q, Self, Args<'q, Self>>,
        conn: &mut sqlx::PgConnection,
    ) -> sqlx::Result<u64> {
        Ok(q.execute(conn).await?.rows_affected())
    }

    async fn fetch_all<'q, O: Record>(
        q: QueryAs<'q, Self, O, Args<'q, Self>>,
        conn: &mut sqlx::PgConnection,
    ) -> sqlx::Result<Vec<O>> {
        q.fetch_all(conn).await
    }

    async fn fetch_optional<'q, O: Record>(
        q: QueryAs<'q, Self, O, Args<'q, Self>>,
        conn: &mut sqlx::PgConnection,
    ) -> sqlx::Result<Option<O>> {
        q.fetch_optional(conn).await
    }

    async fn fetch_one<'q, O: Record>(
        q: QueryAs<'q, Self, O, Args<'q, Self>>,
        conn: &mut sqlx::PgConnection,
    ) -> sqlx::Result<O> {
        q.fetch_one(conn).await
    }

    fn task_columns() -> &'static str {
        static COLUMNS: LazyLock<String> = LazyLock::new(|| {
            format!(
                "{TASK_COLUMNS}, t.tags_json, \
                 (SELECT json_agg(json_build_array(r.id, r.at, r.minutes_before, r.fire_at, r.fired_at, r.fired_event_id) \
                   ORDER BY r.fire_at IS NULL, r.fire_at, r.id)::text \
                   FROM reminders r WHERE r.task_id = t.id) AS reminders_json"
            )
        });
        &COLUMNS
    }

    const TASK_FOR_UPDATE: &'static str = "SELECT t.id, t.title, t.description, t.status, t.priority, \
         t.project_id, t.parent_id, t.due_at, t.due_all_day, t.recurrence, t.series_id, t.occurrence, t.series_anchor, t.completed_at, \
         t.created_at, t.updated_at FROM tasks t WHERE t.id = $1 AND t.user_id = $2 FOR UPDATE";

    const TAG_BY_NAME_FOR_SHARE: &'static str =
        "SELECT id, name, color FROM tags WHERE user_id = $1 AND name_key = $2 FOR SHARE";

    const OWN_TAG_FOR_SHARE: &'static str =
        "SELECT id FROM tags WHERE id = $1 AND user_id = $2 FOR SHARE";
    const OWN_TAG_FOR_UPDATE: &'static str =
        "SELECT id FROM tags WHERE id = $1 AND user_id = $2 FOR UPDATE";
    const OWN_TAG_FOR_NO_KEY_UPDATE: &'static str =
        "SELECT id FROM tags WHERE id = $1 AND user_id = $2 FOR NO KEY UPDATE";

    const OWN_PROJECT_FOR_SHARE: &'static str =
        "SELECT id, inbox, archived_at FROM projects WHERE id = $1 AND user_id = $2 FOR SHARE";
    const OWN_PROJECT_FOR_UPDATE: &'static str =
        "SELECT id, inbox, archived_at FROM projects WHERE id = $1 AND user_id = $2 FOR UPDATE";

    const INSERT_INDEXES_SEARCH: bool = true;

    const INSERT_TASK: &'static str = "INSERT INTO tasks (id, user_id, title, description, status, priority, \
         due_at, due_all_day, recurrence, series_id, occurrence, series_anchor, completed_at, created_at, \
         updated_at, project_id, parent_id, search) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16, \
         setweight(to_tsvector('english', $3), 'A') || setweight(to_tsvector('english', $4), 'B') \
         || setweight(to_tsvector('english', $17), 'C'))";

    const DUE_REMINDERS: &'static str = "SELECT r.id, r.task_id, r.user_id, r.fire_at FROM reminders r \
         WHERE r.fired_at IS NULL AND r.fire_at IS NOT NULL AND r.fire_at <= $1 ORDER BY r.fire_at LIMIT $2 \
         FOR UPDATE OF r SKIP LOCKED";

    // The batch is chosen once, in a materialized CTE. As `WHERE seq IN (SELECT … LIMIT n FOR UPDATE SKIP
    // LOCKED)`, PostgreSQL may evaluate the subquery more than once: under load (10,000 writes while a
    // sidecar and the broker restarted) one claim took 4,256 rows with a limit of 200, in 18 s, holding
    // leases it could not publish within.
    const CLAIM_OUTBOX: &'static str = "WITH batch AS MATERIALIZED (SELECT seq FROM outbox \
         WHERE next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until < $2) \
         ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED) \
         UPDATE outbox SET claimed_until = $1, attempts = attempts + 1 WHERE seq IN (SELECT seq FROM batch) \
         RETURNING seq, event_id, topic, partition_key, payload, attempts, created_at, traceparent, tracestate";

    const REMOVE_PUBLISHED: &'static str = "DELETE FROM outbox WHERE seq = ANY($1::bigint[])";

    const RELEASE_CLAIMS: &'static str = "UPDATE outbox SET claimed_until = NULL, attempts = attempts - 1, \
         next_attempt_at = $1 WHERE seq = ANY($2::bigint[])";

    /// An array literal.
    fn seq_list(seqs: &[i64]) -> String {
        format!("{{{}}}", comma_separated(seqs))
    }

    /// The task's tags are share-locked and read at their latest committed version, so a rename or
    /// recolour running at the same time either finishes first (and is what this reads) or waits for
    /// this transaction and then refreshes this task itself: neither copy is left holding an old name.
    async fn refresh_derived(conn: &mut sqlx::PgConnection, task_id: Uuid) -> sqlx::Result<()> {
        sqlx::query(
            "WITH tagged AS (SELECT g.id, g.name, g.color, g.name_key FROM task_tags tt \
               JOIN tags g ON g.id = tt.tag_id WHERE tt.task_id = $1 FOR SHARE OF g) \
             UPDATE tasks SET search = setweight(to_tsvector('english', title), 'A') \
               || setweight(to_tsvector('english', description), 'B') \
               || setweight(to_tsvector('english', COALESCE((SELECT string_agg(name, ' ') FROM tagged), '')), 'C'), \
               tags_json = (SELECT json_agg(json_build_array(g.id, g.name, g.color) ORDER BY g.name_key)::text \
               FROM tagged g) \
             WHERE id = $1",
        )
        .bind(task_id)
        .execute(conn)
        .await?;
        Ok(())
    }

    fn search(user: &str, q: &str) -> Search {
        Search {
            rank: format!(
                "CAST(ts_rank_cd(t.search, to_tsquery('english', {q})) AS DOUBLE PRECISION)"
            ),
            join: "",
            // The owner-scoped index (migration 2) yields only the caller's matching rows, so it stands
            // in for `user_id =` here: with both, the planner ANDs in the user's whole btree range for
            // nothing. The outer query still checks the owner. The plain match keeps exact semantics
            // (words split into phrases need positions the index drops).
            scope: format!(
                "task_search_scoped(t.user_id, t.search) @@ \
                 task_search_scoped_query({user}, to_tsquery('english', {q})) \
                 AND t.search @@ to_tsquery('english', {q})"
            ),
        }
    }

    fn search_terms(terms: &crate::domain::filter::SearchTerms) -> String {
        terms.to_tsquery()
    }
}

impl Dialect for Sqlite {
    async fn begin_write(pool: &SqlitePool) -> sqlx::Result<Transaction<'static, Sqlite>> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }

    fn bind<'q>(
        q: Query<'q, Self, Args<'q, Self>>,
        value: impl Value<'q>,
    ) -> Query<'q, Self, Args<'q, Self>> {
        q.bind(value)
    }

    fn query_as<O: Record>(sql: &str) -> QueryAs<'_, Self, O, Args<'_, Self>> {
        sqlx::query_as(sql)
    }

    fn bind_as<'q, O>(
        q: QueryAs<'q, Self, O, Args<'q, Self>>,
        value: impl Value<'q>,
    ) -> QueryAs<'q, Self, O, Args<'q, Self>> {
        q.bind(value)
    }

    async fn execute<'q>(
        q: Query<'q, Self, Args<'q, Self>>,
        conn: &mut sqlx::SqliteConnection,
    ) -> sqlx::Result<u64> {
        Ok(q.execute(conn).await?.rows_affected())
    }

    async fn fetch_all<'q, O: Record>(
        q: QueryAs<'q, Self, O, Args<'q, Self>>,
        conn: &mut sqlx::SqliteConnection,
    ) -> sqlx::Result<Vec<O>> {
        q.fetch_all(conn).await
    }

    async fn fetch_optional<'q, O: Record>(
        q: QueryAs<'q, Self, O, Args<'q, Self>>,
        conn: &mut sqlx::SqliteConnection,
    ) -> sqlx::Result<Option<O>> {
        q.fetch_optional(conn).await
    }

    async fn fetch_one<'q, O: Record>(
        q: QueryAs<'q, Self, O, Args<'q, Self>>,
        conn: &mut sqlx::SqliteConnection,
    ) -> sqlx::Result<O> {
        q.fetch_one(conn).await
    }

    fn task_columns() -> &'static str {
        static COLUMNS: LazyLock<String> = LazyLock::new(|| {
            format!(
                "{TASK_COLUMNS}, t.tags_json, \
                 (SELECT json_group_array(json_array(hex(r.id), r.at, r.minutes_before, r.fire_at, r.fired_at, NULLIF(hex(r.fired_event_id), '')) \
                   ORDER BY r.fire_at IS NULL, r.fire_at, r.id) \
                   FROM reminders r WHERE r.task_id = t.id) AS reminders_json"
            )
        });
        &COLUMNS
    }

    const TASK_FOR_UPDATE: &'static str = "SELECT t.id, t.title, t.description, t.status, t.priority, \
         t.project_id, t.parent_id, t.due_at, t.due_all_day, t.recurrence, t.series_id, t.occurrence, t.series_anchor, t.completed_at, \
         t.created_at, t.updated_at FROM tasks t WHERE t.id = $1 AND t.user_id = $2";

    const TAG_BY_NAME_FOR_SHARE: &'static str =
        "SELECT id, name, color FROM tags WHERE user_id = $1 AND name_key = $2";

    const OWN_TAG_FOR_SHARE: &'static str = "SELECT id FROM tags WHERE id = $1 AND user_id = $2";
    const OWN_TAG_FOR_UPDATE: &'static str = "SELECT id FROM tags WHERE id = $1 AND user_id = $2";
    const OWN_TAG_FOR_NO_KEY_UPDATE: &'static str =
        "SELECT id FROM tags WHERE id = $1 AND user_id = $2";

    const OWN_PROJECT_FOR_SHARE: &'static str =
        "SELECT id, inbox, archived_at FROM projects WHERE id = $1 AND user_id = $2";
    const OWN_PROJECT_FOR_UPDATE: &'static str =
        "SELECT id, inbox, archived_at FROM projects WHERE id = $1 AND user_id = $2";

    const INSERT_INDEXES_SEARCH: bool = false;

    const INSERT_TASK: &'static str = "INSERT INTO tasks (id, user_id, title, description, status, priority, \
         due_at, due_all_day, recurrence, series_id, occurrence, series_anchor, completed_at, created_at, \
         updated_at, project_id, parent_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16)";

    const DUE_REMINDERS: &'static str = "SELECT r.id, r.task_id, r.user_id, r.fire_at FROM reminders r \
         WHERE r.fired_at IS NULL AND r.fire_at IS NOT NULL AND r.fire_at <= $1 ORDER BY r.fire_at LIMIT $2";

    const CLAIM_OUTBOX: &'static str = "WITH batch AS (SELECT seq FROM outbox \
         WHERE next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until < $2) \
         ORDER BY seq LIMIT $3) \
         UPDATE outbox SET claimed_until = $1, attempts = attempts + 1 WHERE seq IN (SELECT seq FROM batch) \
         RETURNING seq, event_id, topic, partition_key, payload, attempts, created_at, traceparent, tracestate";

    const REMOVE_PUBLISHED: &'static str =
        "DELETE FROM outbox WHERE seq IN (SELECT value FROM json_each($1))";

    const RELEASE_CLAIMS: &'static str = "UPDATE outbox SET claimed_until = NULL, attempts = attempts - 1, \
         next_attempt_at = $1 WHERE seq IN (SELECT value FROM json_each($2))";

    /// A JSON array.
    fn seq_list(seqs: &[i64]) -> String {
        format!("[{}]", comma_separated(seqs))
    }

    /// The search document lives in the FTS table, keyed by the task's `seq`.
    async fn refresh_derived(conn: &mut sqlx::SqliteConnection, task_id: Uuid) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO task_fts (rowid, title, description, tags) \
             SELECT t.seq, t.title, t.description, COALESCE((SELECT group_concat(g.name, ' ') FROM task_tags tt \
                    JOIN tags g ON g.id = tt.tag_id WHERE tt.task_id = t.id), '') \
             FROM tasks t WHERE t.id = $1",
        )
        .bind(task_id)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE tasks SET tags_json = (SELECT NULLIF(json_group_array(json_array(hex(g.id), g.name, g.color) \
               ORDER BY g.name_key), '[]') FROM task_tags tt JOIN tags g ON g.id = tt.tag_id WHERE tt.task_id = tasks.id) \
             WHERE id = $1",
        )
        .bind(task_id)
        .execute(conn)
        .await?;
        Ok(())
    }

    fn search(user: &str, q: &str) -> Search {
        Search {
            rank: "(-bm25(task_fts, 10.0, 4.0, 2.0))".to_owned(),
            join: " JOIN task_fts ON task_fts.rowid = t.seq",
            scope: format!("t.user_id = {user} AND task_fts MATCH {q}"),
        }
    }

    fn search_terms(terms: &crate::domain::filter::SearchTerms) -> String {
        terms.to_fts5()
    }
}

fn comma_separated(seqs: &[i64]) -> String {
    seqs.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
