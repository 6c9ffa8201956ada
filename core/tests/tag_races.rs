//! PostgreSQL only: writes racing a change to a row they depend on. A task row carries a copy of its tags
//! (names and colours), so a change to a tag that commits while another transaction is tagging a task
//! must not leave that task showing the old name; and a task added to a project being deleted must not
//! land in it. Each test holds the change open on a raw connection, starts the store's write, waits until
//! PostgreSQL reports it waiting on a lock (or until it finished without waiting, which fails the test),
//! then commits the change.

use jiff::Timestamp;
use sqlx::{Connection, PgConnection};
use std::time::{Duration, Instant};
use todo_core::model::{NewTask, ProjectInput, TagInput, TagPatch, Task};
use todo_core::store::Owner;
use todo_core::testing::TestDb;
use todo_core::{Store, StoreError};

fn now() -> Timestamp {
    "2026-03-10T12:00:00Z".parse().unwrap()
}

async fn setup() -> Option<(TestDb, Owner)> {
    let db = TestDb::postgres().await?;
    let ada = db
        .store
        .create_user(
            "ada@example.com",
            "argon2-hash",
            Some("Ada"),
            Some("UTC"),
            now(),
        )
        .await
        .unwrap();
    Some((db, ada))
}

fn with_tags(title: &str, tags: &[&str]) -> NewTask {
    NewTask {
        title: title.into(),
        tags: Some(tags.iter().map(|t| (*t).to_owned()).collect()),
        ..Default::default()
    }
}

/// A raw session inside a transaction that has run `sql` (binding `id`), holding its row locks until the
/// test commits, and a second session to watch for waiting locks with.
async fn hold_open(db: &TestDb, sql: &str, id: uuid::Uuid) -> (PgConnection, PgConnection) {
    let mut holder = PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query(sql)
        .bind(id)
        .execute(&mut holder)
        .await
        .unwrap();
    let watch = PgConnection::connect(&db.url).await.unwrap();
    (holder, watch)
}

async fn commit(holder: &mut PgConnection) {
    sqlx::query("COMMIT").execute(holder).await.unwrap();
}

/// Wait until another session of this database waits for a lock, or `write` has finished (returning
/// false: it did not wait). Bounded, so a write that never gets there fails instead of hanging.
async fn waits_for_lock<T>(watch: &mut PgConnection, write: &tokio::task::JoinHandle<T>) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (waiting,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE NOT l.granted AND a.datname = current_database()",
        )
        .fetch_one(&mut *watch)
        .await
        .unwrap();
        if waiting > 0 {
            return true;
        }
        if write.is_finished() {
            return false;
        }
        assert!(
            Instant::now() < deadline,
            "the write neither waited nor finished"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn read(store: &Store, owner: &Owner, id: uuid::Uuid) -> Task {
    store.get_task(owner, id, now()).await.unwrap()
}

/// A tag recoloured (not yet committed) while a task is being tagged with it: the tagging waits for the
/// recolour and the task then shows the new colour. (A rename changes the tag's unique key, which the
/// tag link's foreign key check waits for anyway; a recolour is only caught by the store's own lock.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tagging_during_a_recolour_shows_the_new_colour() {
    let Some((db, ada)) = setup().await else {
        return;
    };
    let store = db.store.clone();
    let tag = store
        .create_tag(
            &ada,
            TagInput {
                name: "work".into(),
                color: None,
            },
            now(),
        )
        .await
        .unwrap();
    let task = store
        .create_task(&ada, with_tags("Report", &[]), now())
        .await
        .unwrap();

    let (mut recolourer, mut watch) = hold_open(
        &db,
        "UPDATE tags SET color = '#112233' WHERE id = $1",
        tag.id,
    )
    .await;
    let attach = tokio::spawn({
        let (store, ada) = (store.clone(), ada.clone());
        async move { store.set_task_tag(&ada, task.id, tag.id, true, now()).await }
    });
    let waited = waits_for_lock(&mut watch, &attach).await;
    // The store's recolour would now refresh the tagged tasks it sees: none, the tagging is not committed.
    commit(&mut recolourer).await;
    let attached = attach.await.unwrap().unwrap();
    assert!(waited, "the tagging waited for the recolour");
    assert_eq!(attached.tags[0].color, "#112233");
    assert_eq!(read(&store, &ada, task.id).await.tags, attached.tags);
    db.cleanup().await;
}

/// A task created in one statement with a remembered tag while that tag's rename is uncommitted: the
/// creation waits, finds the tag no longer named as asked, and tags the task with a new tag of the asked
/// name (as after a committed rename); the renamed tag is not shown under its old name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_with_a_tag_during_its_rename_uses_the_asked_name() {
    let Some((db, ada)) = setup().await else {
        return;
    };
    let store = db.store.clone();
    // The first creation looks the tag up and the store remembers it for the next one.
    let first = store
        .create_task(&ada, with_tags("First", &["work"]), now())
        .await
        .unwrap();
    let renamed = first.tags[0].clone();

    let rename = "UPDATE tags SET name = 'office', name_key = 'office' WHERE id = $1";
    let (mut renamer, mut watch) = hold_open(&db, rename, renamed.id).await;
    let create = tokio::spawn({
        let (store, ada) = (store.clone(), ada.clone());
        async move {
            store
                .create_task(&ada, with_tags("Second", &["work"]), now())
                .await
        }
    });
    let waited = waits_for_lock(&mut watch, &create).await;
    commit(&mut renamer).await;
    let second = create.await.unwrap().unwrap();
    assert!(waited, "the creation waited for the rename");
    assert_eq!(second.tags[0].name, "work");
    assert_ne!(second.tags[0].id, renamed.id, "a new tag named work");
    assert_eq!(read(&store, &ada, second.id).await.tags, second.tags);
    db.cleanup().await;
}

/// A rename that has to refresh a task another transaction holds, while that transaction waits for the
/// tag: PostgreSQL breaks the cycle by failing the rename, which the store runs again once the other
/// transaction is done. The rename succeeds and the task shows the new name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_that_loses_a_deadlock_runs_again() {
    let Some((db, ada)) = setup().await else {
        return;
    };
    let store = db.store.clone();
    let task = store
        .create_task(&ada, with_tags("Report", &["work"]), now())
        .await
        .unwrap();
    let tag = task.tags[0].clone();

    let (mut editor, mut watch) = hold_open(
        &db,
        "SELECT id FROM tasks WHERE id = $1 FOR UPDATE",
        task.id,
    )
    .await;
    // The editor checks for deadlocks much later than the store's sessions (1 s), so the rename is the
    // transaction PostgreSQL fails.
    sqlx::query("SET deadlock_timeout = '60s'")
        .execute(&mut editor)
        .await
        .unwrap();
    let rename = tokio::spawn({
        let (store, ada) = (store.clone(), ada.clone());
        async move {
            let patch = TagPatch {
                name: Some("office".into()),
                color: None,
            };
            store.update_tag(&ada, tag.id, patch, now()).await
        }
    });
    assert!(
        waits_for_lock(&mut watch, &rename).await,
        "the rename waits for the task"
    );
    // The editor now wants the tag the rename holds: a cycle. It gets the tag once the rename is failed.
    sqlx::query("SELECT id FROM tags WHERE id = $1 FOR SHARE")
        .bind(tag.id)
        .execute(&mut editor)
        .await
        .unwrap();
    commit(&mut editor).await;
    let renamed = rename
        .await
        .unwrap()
        .expect("the rename ran again and succeeded");
    assert_eq!(renamed.name, "office");
    assert_eq!(read(&store, &ada, task.id).await.tags[0].name, "office");
    db.cleanup().await;
}

/// A task added to a project while the project's deletion is uncommitted (its tasks already moved out, as
/// `delete_project` does holding the project's row): the creation waits for the deletion, then is refused
/// as naming an unknown project, and no task is left in the deleted project.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_in_a_project_being_deleted_is_refused() {
    let Some((db, ada)) = setup().await else {
        return;
    };
    let store = db.store.clone();
    let errands = store
        .create_project(
            &ada,
            ProjectInput {
                name: "Errands".into(),
                color: None,
            },
            now(),
        )
        .await
        .unwrap();
    let (mut deleter, mut watch) = hold_open(
        &db,
        "SELECT id FROM projects WHERE id = $1 FOR UPDATE",
        errands.id,
    )
    .await;
    sqlx::query("DELETE FROM projects WHERE id = $1")
        .bind(errands.id)
        .execute(&mut deleter)
        .await
        .unwrap();
    let create = tokio::spawn({
        let (store, ada) = (store.clone(), ada.clone());
        let input = NewTask {
            project_id: Some(errands.id),
            ..with_tags("Buy stamps", &[])
        };
        async move { store.create_task(&ada, input, now()).await }
    });
    let waited = waits_for_lock(&mut watch, &create).await;
    commit(&mut deleter).await;
    let err = create.await.unwrap().unwrap_err();
    assert!(waited, "the creation waited for the deletion");
    assert!(
        matches!(&err, StoreError::Invalid(i) if i.code == "unknown_project"),
        "{err:?}"
    );
    let (left,): (i64,) = sqlx::query_as("SELECT count(*) FROM tasks WHERE project_id = $1")
        .bind(errands.id)
        .fetch_one(&mut watch)
        .await
        .unwrap();
    assert_eq!(left, 0);
    db.cleanup().await;
}

/// The database itself refuses a task row whose project belongs to someone else (one foreign key on
/// owner and project), whatever a store bug might write.
#[tokio::test]
async fn a_task_row_cannot_name_another_users_project() {
    let Some((db, ada)) = setup().await else {
        return;
    };
    let bob = db
        .store
        .create_user(
            "bob@example.com",
            "argon2-hash",
            Some("Bob"),
            Some("UTC"),
            now(),
        )
        .await
        .unwrap();
    let mut raw = PgConnection::connect(&db.url).await.unwrap();
    let insert = "INSERT INTO tasks (id, user_id, title, description, status, priority, due_all_day, \
         created_at, updated_at, project_id, search) \
         VALUES ($1, $2, 'Sneaky', '', 'open', 0, false, 0, 0, $3, to_tsvector('english', 'Sneaky'))";
    let err = sqlx::query(insert)
        .bind(uuid::Uuid::now_v7())
        .bind(ada.id)
        .bind(bob.id)
        .execute(&mut raw)
        .await
        .unwrap_err();
    assert!(
        err.as_database_error()
            .is_some_and(|e| e.is_foreign_key_violation()),
        "{err}"
    );
    sqlx::query(insert)
        .bind(uuid::Uuid::now_v7())
        .bind(ada.id)
        .bind(ada.id)
        .execute(&mut raw)
        .await
        .expect("the same row in the owner's own Inbox is accepted");
    db.cleanup().await;
}
