//! Test support (feature `testing`): fresh databases on both backends for behavioural suites.
//!
//! PostgreSQL comes from `TODO_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! each test gets its own database, dropped afterwards. Without a reachable server the PostgreSQL half of a
//! test is skipped with a message — unless `CI` is set, where that is a failure.

use crate::Store;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn admin_url() -> String {
    std::env::var("TODO_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// A database that exists for one test.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    drop_name: Option<String>,
    _dir: Option<TempDir>,
}

/// A directory removed on drop (no extra dependency for one helper).
pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl TestDb {
    /// A migrated SQLite database in a fresh file.
    pub async fn sqlite() -> TestDb {
        Self::sqlite_before(None).await
    }

    /// The same, migrated only up to the migrations older than `version` (`None`: all of them), for a
    /// test of what a later migration does to the data it finds.
    pub async fn sqlite_before(version: Option<i64>) -> TestDb {
        let dir = TempDir::new("todo-sqlite");
        let url = format!("sqlite://{}", dir.0.join("todo.db").display());
        let store = Store::connect(&url, 4, "/todoplatform/test")
            .await
            .expect("sqlite opens");
        match version {
            Some(v) => store.migrate_before(v).await,
            None => store.migrate().await,
        }
        .expect("sqlite migrates");
        TestDb {
            store,
            url,
            drop_name: None,
            _dir: Some(dir),
        }
    }

    /// A migrated PostgreSQL database of its own, or `None` (skip) when no server is reachable outside CI.
    pub async fn postgres() -> Option<TestDb> {
        Self::postgres_before(None).await
    }

    /// [`TestDb::postgres`], migrated as [`TestDb::sqlite_before`] says.
    pub async fn postgres_before(version: Option<i64>) -> Option<TestDb> {
        let admin = admin_url();
        let mut conn = match PgConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!(
                    "SKIPPED (PostgreSQL half): cannot reach {admin}: {e}; set TODO_TEST_POSTGRES_URL"
                );
                return None;
            }
            Err(e) => panic!("CI requires PostgreSQL at {admin}: {e}"),
        };
        let name = format!("todo_test_{}", uuid::Uuid::now_v7().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_owned())
            .unwrap_or(admin.clone());
        let url = format!("{base}/{name}");
        let store = Store::connect(&url, 8, "/todoplatform/test")
            .await
            .expect("postgres connects");
        match version {
            Some(v) => store.migrate_before(v).await,
            None => store.migrate().await,
        }
        .expect("postgres migrates");
        Some(TestDb {
            store,
            url,
            drop_name: Some(name),
            _dir: None,
        })
    }

    /// Close the pool and drop a PostgreSQL test database.
    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some(name) = self.drop_name
            && let Ok(mut conn) = PgConnection::connect(&admin_url()).await
        {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
}

/// Generate one `#[tokio::test]` per backend from an async body taking a `Store`.
#[macro_export]
macro_rules! store_test {
    ($(#[$meta:meta])* $name:ident, |$store:ident| $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($store: todo_core::Store) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = todo_core::testing::TestDb::sqlite().await;
                run(db.store.clone()).await;
                db.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = todo_core::testing::TestDb::postgres().await else { return };
                run(db.store.clone()).await;
                db.cleanup().await;
            }
        }
    };
    // The same, with the database's URL too: for a test that opens a second store on it (another replica).
    ($(#[$meta:meta])* $name:ident, |$store:ident, $url:ident| $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($store: todo_core::Store, $url: String) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = todo_core::testing::TestDb::sqlite().await;
                run(db.store.clone(), db.url.clone()).await;
                db.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = todo_core::testing::TestDb::postgres().await else { return };
                run(db.store.clone(), db.url.clone()).await;
                db.cleanup().await;
            }
        }
    };
}
