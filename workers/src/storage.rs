//! The worker roles' own tables (audit log, deliveries, processed events, dead letters) and their
//! migrations. They live in the platform's database beside the API's tables and are written only by this
//! crate's code: the API reads activity and deliveries through it, and queues a failed delivery again
//! through `deliveries::replay`.

use todo_core::Store;
use todo_core::store::{Pool, tolerant};

static PG_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub async fn migrate(store: &Store) -> Result<(), sqlx::migrate::MigrateError> {
    match store.pool() {
        Pool::Postgres(p) => tolerant(&PG_MIGRATIONS).run(p).await,
        Pool::Sqlite(p) => tolerant(&SQLITE_MIGRATIONS).run(p).await,
    }
}
