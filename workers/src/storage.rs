//! The worker roles' own tables (audit log, deliveries, processed events, dead letters) and their
//! migrations. They live in the platform's database beside the API's tables and are written only by this
//! crate's code: the API reads activity and deliveries through it, and queues a failed delivery again
//! through `deliveries::replay`.

use todo_core::Store;
use todo_core::store::tolerant;

static PG_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub async fn migrate(store: &Store) -> Result<(), sqlx::migrate::MigrateError> {
    if let Some(p) = store.postgres() {
        tolerant(&PG_MIGRATIONS).run(p).await
    } else if let Some(p) = store.sqlite() {
        tolerant(&SQLITE_MIGRATIONS).run(p).await
    } else {
        Ok(())
    }
}

/// Run `$body` with `$p` bound to the store's concrete pool (both arms type-checked).
macro_rules! on_store {
    ($store:expr, $p:ident => $body:expr) => {
        if let Some($p) = $store.postgres() {
            $body
        } else if let Some($p) = $store.sqlite() {
            $body
        } else {
            unreachable!("a store is PostgreSQL or SQLite")
        }
    };
}
pub(crate) use on_store;
