//! Calendar feeds in the store, on SQLite and PostgreSQL: created with a secret shown once and kept only as
//! its hash, listed without it, found by it only while not revoked, and never another user's.

use jiff::Timestamp;
use todo_core::model::{NewTask, ProjectInput, ProjectPatch};
use todo_core::store::{CalendarFeedInput, FEED_PREFIX, Owner};
use todo_core::{Store, StoreError, store_test};

fn now() -> Timestamp {
    "2026-03-10T12:00:00Z".parse().unwrap()
}

async fn user(store: &Store, email: &str) -> Owner {
    store
        .create_user(
            email,
            "argon2-hash",
            Some("Test"),
            Some("Europe/Berlin"),
            now(),
        )
        .await
        .unwrap()
}

fn named(name: Option<&str>) -> CalendarFeedInput {
    CalendarFeedInput {
        name: name.map(str::to_owned),
    }
}

fn dated(title: &str, due: &str) -> NewTask {
    NewTask {
        title: title.into(),
        due: Some(due.into()),
        ..Default::default()
    }
}

store_test!(
    /// A feed's secret opens it (and only its owner's), listings never carry it, revoking closes it at
    /// once, and another user can neither list nor revoke it; bad names are refused naming `name`.
    calendar_feeds, |store| {
    let ada = user(&store, "ada@example.com").await;
    let bob = user(&store, "bob@example.com").await;
    let feed = store.create_calendar_feed(&ada, named(Some("  Work ")), now()).await.unwrap();
    assert!(feed.secret.starts_with(FEED_PREFIX));
    assert_eq!(feed.secret.len(), FEED_PREFIX.len() + 43, "32 bytes, base64url");
    assert_eq!((feed.feed.name.as_str(), feed.feed.created_at), ("Work", now()));
    let other = store.create_calendar_feed(&ada, named(None), now()).await.unwrap();
    assert_eq!(other.feed.name, "TodoPlatform");
    assert_ne!(other.secret, feed.secret);
    let bobs = store.create_calendar_feed(&bob, named(Some("Bob")), now()).await.unwrap();

    assert_eq!(store.list_calendar_feeds(&ada).await.unwrap(), [feed.feed.clone(), other.feed.clone()]);
    assert_eq!(store.list_calendar_feeds(&bob).await.unwrap(), std::slice::from_ref(&bobs.feed));

    let found = store.find_calendar_feed(&feed.secret).await.unwrap().unwrap();
    assert_eq!((found.feed_id, found.user_id, found.name.as_str()), (feed.feed.id, ada.id, "Work"));
    assert_eq!(store.find_calendar_feed(&bobs.secret).await.unwrap().unwrap().user_id, bob.id);
    for wrong in [format!("{}x", feed.secret), feed.secret.replace(FEED_PREFIX, "tp_"), String::new()] {
        assert_eq!(store.find_calendar_feed(&wrong).await.unwrap(), None, "{wrong}");
    }

    assert!(matches!(store.revoke_calendar_feed(&bob, feed.feed.id).await, Err(StoreError::NotFound(_))),
        "another user's feed is not found");
    assert!(store.find_calendar_feed(&feed.secret).await.unwrap().is_some());
    store.revoke_calendar_feed(&ada, feed.feed.id).await.unwrap();
    assert_eq!(store.find_calendar_feed(&feed.secret).await.unwrap(), None, "revoked");
    assert!(matches!(store.revoke_calendar_feed(&ada, feed.feed.id).await, Err(StoreError::NotFound(_))));
    assert_eq!(store.list_calendar_feeds(&ada).await.unwrap(), std::slice::from_ref(&other.feed));
    assert!(store.find_calendar_feed(&other.secret).await.unwrap().is_some());

    for (name, code) in [("   ", "required"), (&"x".repeat(101)[..], "too_long"), ("a\nb", "invalid_characters")] {
        match store.create_calendar_feed(&ada, named(Some(name)), now()).await {
            Err(StoreError::Invalid(e)) => assert_eq!((e.code, e.field.as_deref()), (code, Some("name"))),
            Err(e) => panic!("{e:?}"),
            Ok(_) => panic!("{name:?} was accepted"),
        }
    }
});

store_test!(
    /// The feed shows the owner's dated tasks outside archived projects, by due date; its version changes
    /// when one changes, is added, or leaves with its project, and stays put otherwise.
    feed_tasks_and_version, |store| {
    let ada = user(&store, "ada@example.com").await;
    let bob = user(&store, "bob@example.com").await;
    let empty = store.calendar_feed_version(&ada).await.unwrap();
    assert_eq!((empty.tasks, empty.latest_update, empty.updates_sum), (0, None, 0));
    store.create_task(&ada, dated("later", "2026-04-02T09:00"), now()).await.unwrap();
    store.create_task(&ada, dated("sooner", "2026-04-01"), now()).await.unwrap();
    store.create_task(&ada, NewTask { title: "undated".into(), ..Default::default() }, now()).await.unwrap();
    store.create_task(&bob, dated("bob's", "2026-04-01"), now()).await.unwrap();
    let project = store.create_project(&ada, ProjectInput { name: "Old".into(), color: None }, now()).await.unwrap();
    store.create_task(&ada, NewTask { project_id: Some(project.id), ..dated("in project", "2026-04-03") }, now()).await.unwrap();
    let titles = |tasks: Vec<todo_core::model::Task>| tasks.into_iter().map(|t| t.title).collect::<Vec<_>>();
    assert_eq!(titles(store.calendar_feed_tasks(&ada, now()).await.unwrap()), ["sooner", "later", "in project"]);
    let v1 = store.calendar_feed_version(&ada).await.unwrap();
    assert_eq!(v1.tasks, 3);
    assert_eq!(store.calendar_feed_version(&ada).await.unwrap(), v1, "stable while nothing changes");
    assert_ne!(v1.etag("a"), v1.etag("b"));

    store.update_project(&ada, project.id, ProjectPatch { archived: Some(true), ..Default::default() }, now()).await.unwrap();
    assert_eq!(titles(store.calendar_feed_tasks(&ada, now()).await.unwrap()), ["sooner", "later"]);
    let v2 = store.calendar_feed_version(&ada).await.unwrap();
    assert_ne!(v2, v1);
    let later = Timestamp::from_second(now().as_second() + 60).unwrap();
    store.create_task(&ada, dated("new", "2026-05-01"), later).await.unwrap();
    let v3 = store.calendar_feed_version(&ada).await.unwrap();
    assert_eq!((v3.tasks, v3.latest_update), (3, Some(later.as_millisecond())));
});
