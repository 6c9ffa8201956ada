//! The store's behaviour, run against both SQLite and PostgreSQL (each test expands to `::sqlite` and
//! `::postgres`).

use jiff::{SignedDuration, Timestamp};
use todo_core::domain::filter::TaskQueryParams;
use todo_core::domain::recurrence::RuleInput;
use todo_core::domain::reminder::ReminderInput;
use todo_core::domain::task::{Priority, Status};
use todo_core::model::{
    NewTask, ProfilePatch, ProjectInput, ProjectPatch, ProjectTasks, TagInput, TagPatch, Task,
    TaskPatch,
};
use todo_core::store::{AccessTokenInput, Owner, TOKEN_PREFIX, TokenCheck, TokenGrant, TokenScope};
use todo_core::{Store, StoreError, store_test};

fn now() -> Timestamp {
    "2026-03-10T12:00:00Z".parse().unwrap()
}

async fn user(store: &Store, email: &str, tz: &str) -> Owner {
    store
        .create_user(email, "argon2-hash", Some("Test"), Some(tz), now())
        .await
        .unwrap()
}

fn new(title: &str) -> NewTask {
    NewTask {
        title: title.into(),
        ..Default::default()
    }
}

async fn list(store: &Store, owner: &Owner, params: TaskQueryParams) -> Vec<Task> {
    let q = params.validate(&owner.tz, now()).unwrap();
    store.list_tasks(owner, &q).await.unwrap().items
}

fn titles(tasks: &[Task]) -> Vec<&str> {
    tasks.iter().map(|t| t.title.as_str()).collect()
}

/// Count outbox rows of a given event type (claiming them, which is fine in a test).
async fn events(store: &Store) -> Vec<(String, String)> {
    let rows = store
        .claim_outbox(now() + SignedDuration::from_hours(1000), 10_000, 1)
        .await
        .unwrap();
    rows.into_iter()
        .map(|r| {
            let v: serde_json::Value = serde_json::from_str(&r.payload).unwrap();
            (r.topic, v["type"].as_str().unwrap().to_owned())
        })
        .collect()
}

store_test!(
    /// Accounts: unique emails, and a task of another user is invisible (404, not 403).
    accounts_and_scoping, |store| {
    let ada = user(&store, "ada@example.com", "Europe/London").await;
    let err = store.create_user("ada@example.com", "h", None, None, now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { code: "email_taken", .. }));
    let bob = user(&store, "bob@example.com", "UTC").await;
    let task = store.create_task(&ada, new("Ada's"), now()).await.unwrap();
    assert!(matches!(store.get_task(&bob, task.id, now()).await, Err(StoreError::NotFound("task"))));
    assert!(matches!(store.update_task(&bob, task.id, TaskPatch::default(), now()).await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.delete_task(&bob, task.id, now()).await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.complete_task(&bob, task.id, now()).await, Err(StoreError::NotFound(_))));
    assert!(list(&store, &bob, TaskQueryParams::default()).await.is_empty());
    assert_eq!(store.get_task(&ada, task.id, now()).await.unwrap().title, "Ada's");
});

store_test!(
    /// Create, read, partial update, complete, reopen, delete — each writes its event in the same transaction.
    task_lifecycle_and_events, |store| {
    let ada = user(&store, "ada@example.com", "America/New_York").await;
    let t = store
        .create_task(&ada, NewTask {
            title: "  Pay rent ".into(),
            description: Some("to landlord".into()),
            priority: Some(Priority::High),
            due: Some("2026-03-31".into()),
            tags: Some(vec!["Home".into(), "money".into(), "home".into()]),
            ..Default::default()
        }, now())
        .await
        .unwrap();
    assert_eq!(t.title, "Pay rent");
    assert_eq!(t.priority, Priority::High);
    assert_eq!(t.status, Status::Open);
    let due = t.due.clone().unwrap();
    assert_eq!(due.date.to_string(), "2026-03-31");
    assert!(due.all_day);
    assert_eq!(due.time_zone, "America/New_York");
    assert_eq!(t.tags.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["Home", "money"]);
    assert_eq!(store.get_task(&ada, t.id, now()).await.unwrap(), t, "what create returns is what a read returns");

    let u = store.update_task(&ada, t.id, TaskPatch { title: Some("Pay the rent".into()), ..Default::default() }, now()).await.unwrap();
    assert_eq!(u.title, "Pay the rent");
    assert_eq!(u.description, "to landlord", "absent fields are left alone");
    assert_eq!(u.priority, Priority::High);

    let c = store.complete_task(&ada, t.id, now()).await.unwrap();
    assert_eq!(c.status, Status::Completed);
    assert!(c.completed_at.is_some());
    let again = store.complete_task(&ada, t.id, now()).await.unwrap();
    assert_eq!(again.completed_at, c.completed_at, "completing twice changes nothing");
    let r = store.reopen_task(&ada, t.id, now()).await.unwrap();
    assert_eq!((r.status, r.completed_at), (Status::Open, None));
    store.delete_task(&ada, t.id, now()).await.unwrap();
    assert!(matches!(store.get_task(&ada, t.id, now()).await, Err(StoreError::NotFound(_))));

    let kinds: Vec<String> = events(&store).await.into_iter().filter(|(topic, _)| topic == "task-events").map(|(_, k)| k).collect();
    assert_eq!(kinds, [
        "todo.task.created.v1", "todo.task.updated.v1", "todo.task.completed.v1", "todo.task.reopened.v1", "todo.task.deleted.v1",
    ]);
});

store_test!(
    /// A task naming only tags its owner has (on PostgreSQL: written in one statement) and one that also
    /// names a new tag (a transaction that creates it) are each returned, read back, listed, searched and
    /// published identically: stored tag names, reminders in fire order, recurrence, one event per topic.
    create_with_known_and_new_tags, |store| {
    let ada = user(&store, "ada@example.com", "Europe/Berlin").await;
    let work = store.create_tag(&ada, TagInput { name: "Work".into(), color: Some("#112233".into()) }, now()).await.unwrap();
    let input = |title: &str, tags: &[&str]| NewTask {
        title: title.into(),
        description: Some("quarterly numbers".into()),
        priority: Some(Priority::Urgent),
        due: Some("2026-03-29T09:30".into()),
        recurrence: Some(RuleInput { rrule: Some("FREQ=WEEKLY;BYDAY=SU".into()), ..Default::default() }),
        tags: Some(tags.iter().map(|t| (*t).to_owned()).collect()),
        reminders: Some(vec![
            ReminderInput { at: Some("2026-03-20T08:00:00.123456Z".into()), minutes_before: None },
            ReminderInput { at: None, minutes_before: Some(30) },
        ]),
        ..Default::default()
    };
    let known = store.create_task(&ada, input("Budget review", &["WORK"]), now()).await.unwrap();
    let fresh = store.create_task(&ada, input("Budget draft", &["work", "Finance"]), now()).await.unwrap();
    assert_eq!(known.tags, [todo_core::model::TagRef { id: work.id, name: "Work".into(), color: "#112233".into() }]);
    assert_eq!(fresh.tags.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["Finance", "Work"]);
    for t in [&known, &fresh] {
        assert_eq!(&store.get_task(&ada, t.id, now()).await.unwrap(), t, "what create returns is what a read returns");
        let fires: Vec<String> = t.reminders.iter().map(|r| r.fire_at.unwrap().to_string()).collect();
        assert_eq!(fires, ["2026-03-20T08:00:00.123Z", "2026-03-29T07:00:00Z"], "stored to the millisecond, in fire order");
        assert_eq!(t.occurrence, Some(1));
        assert_eq!(t.series_id, Some(t.id));
    }
    let listed = list(&store, &ada, TaskQueryParams { tags: Some("work".into()), sort: Some("title".into()), ..p() }).await;
    assert_eq!(listed, [fresh.clone(), known.clone()]);
    let found = list(&store, &ada, TaskQueryParams { q: Some("work quarter".into()), ..p() }).await;
    assert_eq!(found.len(), 2, "title, description and stored tag names are searchable");
    let published: Vec<(String, serde_json::Value)> = store
        .claim_outbox(now() + SignedDuration::from_hours(1000), 100, 1).await.unwrap()
        .into_iter().map(|r| (r.topic, serde_json::from_str(&r.payload).unwrap())).collect();
    for t in [&known, &fresh] {
        let topics: Vec<&str> = published.iter().filter(|(_, e)| e["subject"] == t.id.to_string()).map(|(topic, _)| topic.as_str()).collect();
        assert_eq!(topics, ["task-events", "task-updates"]);
        let (_, event) = published.iter().find(|(_, e)| e["subject"] == t.id.to_string()).unwrap();
        assert_eq!(event["type"], "todo.task.created.v1");
        assert_eq!(event["partitionkey"], ada.id.to_string());
        assert_eq!(serde_json::from_value::<Task>(event["data"]["task"].clone()).unwrap(), *t);
    }
});

store_test!(
    /// An update that changes nothing writes no event; clearing the due date clears the recurrence too.
    noop_update_and_clearing_due, |store| {
    let ada = user(&store, "ada@example.com", "UTC").await;
    let t = store.create_task(&ada, NewTask {
        due: Some("2026-03-11T09:00".into()),
        recurrence: Some(RuleInput { rrule: Some("FREQ=DAILY".into()), ..Default::default() }),
        ..new("Stretch")
    }, now()).await.unwrap();
    assert_eq!(t.recurrence.as_ref().unwrap().rrule, "FREQ=DAILY");
    events(&store).await;
    store.update_task(&ada, t.id, TaskPatch { title: Some("Stretch".into()), ..Default::default() }, now()).await.unwrap();
    assert!(events(&store).await.is_empty(), "no change, no event");
    let cleared = store.update_task(&ada, t.id, TaskPatch { due: Some(None), ..Default::default() }, now()).await.unwrap();
    assert!(cleared.due.is_none());
    assert!(cleared.recurrence.is_none());
    let err = store.update_task(&ada, t.id, TaskPatch {
        recurrence: Some(Some(RuleInput { rrule: Some("FREQ=WEEKLY".into()), ..Default::default() })), ..Default::default()
    }, now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(ref i) if i.field.as_deref() == Some("recurrence")));
});

store_test!(
    /// Tags: unique per user case-insensitively, rename/recolour, delete detaches and never deletes tasks.
    tags_lifecycle, |store| {
    let ada = user(&store, "ada@example.com", "UTC").await;
    let bob = user(&store, "bob@example.com", "UTC").await;
    let work = store.create_tag(&ada, TagInput { name: "Work".into(), color: Some("#ABC".into()) }, now()).await.unwrap();
    assert_eq!(work.color, "#aabbcc");
    let dup = store.create_tag(&ada, TagInput { name: "work".into(), color: None }, now()).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict { code: "tag_exists", field: "name", .. }));
    store.create_tag(&bob, TagInput { name: "work".into(), color: None }, now()).await.expect("names are per user");
    let t = store.create_task(&ada, NewTask { tags: Some(vec!["WORK".into()]), ..new("Report") }, now()).await.unwrap();
    assert_eq!(t.tags[0].id, work.id, "an existing tag is reused whatever the case");
    let renamed = store.update_tag(&ada, work.id, TagPatch { name: Some("Office".into()), color: Some("#000000".into()) }, now()).await.unwrap();
    assert_eq!((renamed.name.as_str(), renamed.color.as_str(), renamed.task_count), ("Office", "#000000", 1));
    assert!(matches!(store.update_tag(&bob, work.id, TagPatch::default(), now()).await, Err(StoreError::NotFound("tag"))));
    let other = store.create_tag(&ada, TagInput { name: "Errands".into(), color: None }, now()).await.unwrap();
    let conflict = store.update_tag(&ada, other.id, TagPatch { name: Some("office".into()), color: None }, now()).await.unwrap_err();
    assert!(matches!(conflict, StoreError::Conflict { .. }));
    let with_two = store.set_task_tag(&ada, t.id, other.id, true, now()).await.unwrap();
    assert_eq!(with_two.tags.len(), 2);
    let detached = store.set_task_tag(&ada, t.id, other.id, false, now()).await.unwrap();
    assert_eq!(detached.tags.len(), 1);
    store.delete_tag(&ada, work.id).await.unwrap();
    let t = store.get_task(&ada, t.id, now()).await.unwrap();
    assert!(t.tags.is_empty(), "the tag is gone from the task");
    assert_eq!(store.list_tags(&ada).await.unwrap().len(), 1);
    assert!(matches!(store.delete_tag(&ada, work.id).await, Err(StoreError::NotFound(_))));
});

/// Title, priority, due, tags, recurring.
type SeedTask = (
    &'static str,
    Priority,
    Option<&'static str>,
    &'static [&'static str],
    bool,
);

/// Seed a user with a known mix of tasks for filter and sort tests.
async fn seed(store: &Store, owner: &Owner) {
    let specs: [SeedTask; 8] = [
        (
            "alpha",
            Priority::Urgent,
            Some("2026-03-09T08:00"),
            &["work"],
            false,
        ), // overdue
        ("bravo", Priority::Low, Some("2026-03-10"), &["home"], false), // due today (all day)
        ("charlie", Priority::None, None, &[], false),
        (
            "delta",
            Priority::High,
            Some("2026-03-20T10:00"),
            &["work", "urgent"],
            false,
        ),
        (
            "echo",
            Priority::Medium,
            Some("2026-03-10T18:30"),
            &["home", "work"],
            true,
        ), // today, recurring
        ("foxtrot", Priority::High, None, &["work"], false),
        ("golf", Priority::Low, Some("2026-04-01"), &[], false),
        (
            "hotel",
            Priority::Urgent,
            Some("2026-03-01"),
            &["home"],
            false,
        ), // overdue but completed below
    ];
    for (title, priority, due, tags, recurring) in specs {
        let t = store
            .create_task(
                owner,
                NewTask {
                    title: title.into(),
                    priority: Some(priority),
                    due: due.map(Into::into),
                    tags: Some(tags.iter().map(|t| t.to_string()).collect()),
                    recurrence: recurring.then(|| RuleInput {
                        rrule: Some("FREQ=WEEKLY".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                now(),
            )
            .await
            .unwrap();
        if title == "hotel" {
            store.complete_task(owner, t.id, now()).await.unwrap();
        }
    }
}

fn p() -> TaskQueryParams {
    TaskQueryParams::default()
}

/// Each task's tags, `(title, [(name, colour)])` by title, after checking that a read of the task, a list
/// page and a search page all show the same ones.
async fn tags_as_read(store: &Store, owner: &Owner) -> Vec<(String, Vec<(String, String)>)> {
    let by_title = || TaskQueryParams {
        sort: Some("title".into()),
        ..p()
    };
    let listed = list(store, owner, by_title()).await;
    let found = list(
        store,
        owner,
        TaskQueryParams {
            q: Some("chore".into()),
            ..by_title()
        },
    )
    .await;
    assert_eq!(titles(&listed), titles(&found));
    let mut out = Vec::new();
    for (in_list, in_search) in listed.iter().zip(&found) {
        let read = store.get_task(owner, in_list.id, now()).await.unwrap();
        assert_eq!(
            in_list.tags, read.tags,
            "{}: a list page shows what a read shows",
            read.title
        );
        assert_eq!(
            in_search.tags, read.tags,
            "{}: a search page shows what a read shows",
            read.title
        );
        let tags = read
            .tags
            .iter()
            .map(|g| (g.name.clone(), g.color.clone()))
            .collect();
        out.push((read.title, tags));
    }
    out
}

fn tagged(title: &str, tags: &[(&str, &str)]) -> (String, Vec<(String, String)>) {
    (
        title.to_owned(),
        tags.iter()
            .map(|(n, c)| ((*n).to_owned(), (*c).to_owned()))
            .collect(),
    )
}

store_test!(
    /// A task row carries a copy of its tags for reads: after every way a tag or a task's tags change
    /// (created with known and new tags, rename, recolour, attach, detach, replace, delete, next
    /// occurrence), reads, list pages and search pages show the current names and colours, in name order.
    tasks_show_current_tags, |store| {
    let ada = user(&store, "ada@example.com", "UTC").await;
    let work = store.create_tag(&ada, TagInput { name: "Work".into(), color: Some("#112233".into()) }, now()).await.unwrap();
    let with = |title: &str, tags: &[&str]| NewTask { tags: Some(tags.iter().map(|t| (*t).to_owned()).collect()), ..new(title) };
    let a = store.create_task(&ada, with("Chore a", &["work", "Home"]), now()).await.unwrap();
    let b = store.create_task(&ada, with("Chore b", &["WORK"]), now()).await.unwrap();
    let c = store.create_task(&ada, with("Chore c", &[]), now()).await.unwrap();
    let grey = "#808080";
    assert_eq!(tags_as_read(&store, &ada).await, [
        tagged("Chore a", &[("Home", grey), ("Work", "#112233")]),
        tagged("Chore b", &[("Work", "#112233")]),
        tagged("Chore c", &[]),
    ]);

    store.update_tag(&ada, work.id, TagPatch { name: Some("Office".into()), color: None }, now()).await.unwrap();
    let home = store.list_tags(&ada).await.unwrap().into_iter().find(|g| g.name == "Home").unwrap();
    store.update_tag(&ada, home.id, TagPatch { name: None, color: Some("#445566".into()) }, now()).await.unwrap();
    assert_eq!(tags_as_read(&store, &ada).await, [
        tagged("Chore a", &[("Home", "#445566"), ("Office", "#112233")]),
        tagged("Chore b", &[("Office", "#112233")]),
        tagged("Chore c", &[]),
    ], "renamed and recoloured (and re-sorted by name)");

    store.set_task_tag(&ada, c.id, home.id, true, now()).await.unwrap();
    store.set_task_tag(&ada, a.id, home.id, false, now()).await.unwrap();
    let patch = TaskPatch { tags: Some(vec!["errands".into(), "office".into()]), ..Default::default() };
    store.update_task(&ada, b.id, patch, now()).await.unwrap();
    assert_eq!(tags_as_read(&store, &ada).await, [
        tagged("Chore a", &[("Office", "#112233")]),
        tagged("Chore b", &[("errands", grey), ("Office", "#112233")]),
        tagged("Chore c", &[("Home", "#445566")]),
    ], "attached, detached, replaced");

    store.delete_tag(&ada, work.id).await.unwrap();
    assert_eq!(tags_as_read(&store, &ada).await, [
        tagged("Chore a", &[]),
        tagged("Chore b", &[("errands", grey)]),
        tagged("Chore c", &[("Home", "#445566")]),
    ], "a deleted tag is gone from every task");

    let daily = RuleInput { rrule: Some("FREQ=DAILY".into()), ..Default::default() };
    let recurring = NewTask { due: Some("2026-03-10".into()), recurrence: Some(daily), ..with("Chore d", &["Home"]) };
    let d = store.create_task(&ada, recurring, now()).await.unwrap();
    store.update_tag(&ada, home.id, TagPatch { name: Some("House".into()), color: None }, now()).await.unwrap();
    store.complete_task(&ada, d.id, now()).await.unwrap();
    let next = store.create_next_occurrence(&ada, d.id, now()).await.unwrap().next.unwrap();
    assert_eq!(next.tags.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["House"]);
    assert_eq!(tags_as_read(&store, &ada).await.last().unwrap(), &tagged("Chore d", &[("House", "#445566")]),
        "the next occurrence carries the tags as they are now");
});

store_test!(
    /// Every filter alone and combined, judged in the user's zone.
    filters, |store| {
    let ada = user(&store, "ada@example.com", "UTC").await;
    seed(&store, &ada).await;
    let sorted = |mut v: Vec<Task>| { v.sort_by(|a, b| a.title.cmp(&b.title)); v };
    let q = |params| { let store = store.clone(); let ada = ada.clone(); async move { sorted(list(&store, &ada, params).await) } };
    assert_eq!(titles(&q(TaskQueryParams { status: Some("completed".into()), ..p() }).await), ["hotel"]);
    assert_eq!(titles(&q(TaskQueryParams { priority: Some("urgent,high".into()), ..p() }).await), ["alpha", "delta", "foxtrot", "hotel"]);
    assert_eq!(titles(&q(TaskQueryParams { tags: Some("home,urgent".into()), ..p() }).await), ["bravo", "delta", "echo", "hotel"]);
    assert_eq!(titles(&q(TaskQueryParams { tags: Some("home,work".into()), tag_mode: Some("all".into()), ..p() }).await), ["echo"]);
    assert_eq!(titles(&q(TaskQueryParams { tags: Some("Work,home,WORK".into()), tag_mode: Some("all".into()), ..p() }).await), ["echo"],
        "a repeated name is one tag");
    let delta = q(TaskQueryParams { tags: Some("urgent".into()), ..p() }).await.remove(0);
    assert_eq!(delta.tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["urgent", "work"], "a page carries tags by name");
    assert_eq!(titles(&q(TaskQueryParams { overdue: Some("true".into()), ..p() }).await), ["alpha"]);
    assert_eq!(titles(&q(TaskQueryParams { due_today: Some("true".into()), ..p() }).await), ["bravo", "echo"]);
    assert_eq!(titles(&q(TaskQueryParams { has_due: Some("false".into()), ..p() }).await), ["charlie", "foxtrot"]);
    assert_eq!(titles(&q(TaskQueryParams { recurring: Some("true".into()), ..p() }).await), ["echo"]);
    assert_eq!(titles(&q(TaskQueryParams { due_after: Some("2026-03-10".into()), due_before: Some("2026-03-21".into()), ..p() }).await),
        ["bravo", "delta", "echo"]);
    assert_eq!(
        titles(&q(TaskQueryParams { status: Some("open".into()), tags: Some("work".into()), priority: Some("urgent,high,medium".into()),
            has_due: Some("true".into()), ..p() }).await),
        ["alpha", "delta", "echo"]
    );
    assert_eq!(titles(&q(TaskQueryParams { overdue: Some("false".into()), status: Some("open".into()), ..p() }).await).len(), 6);
});

store_test!(
    /// "Due today" follows the user's zone: at 12:00 UTC it is already the 11th in Auckland.
    due_today_in_user_zone, |store| {
    let kiwi = user(&store, "kiwi@example.com", "Pacific/Auckland").await;
    store.create_task(&kiwi, NewTask { due: Some("2026-03-11".into()), ..new("tomorrow in UTC, today here") }, now()).await.unwrap();
    store.create_task(&kiwi, NewTask { due: Some("2026-03-10".into()), ..new("yesterday here") }, now()).await.unwrap();
    let today = list(&store, &kiwi, TaskQueryParams { due_today: Some("true".into()), ..p() }).await;
    assert_eq!(titles(&today), ["tomorrow in UTC, today here"]);
    let overdue = list(&store, &kiwi, TaskQueryParams { overdue: Some("true".into()), ..p() }).await;
    assert_eq!(titles(&overdue), ["yesterday here"]);
    assert!(overdue[0].overdue && !overdue[0].due_today);
});

store_test!(
    /// Every sort key in both directions, paged 3 at a time through cursors, equals the full ordering with a
    /// stable tie-break and no row twice or missing.
    sorting_and_cursor_pages, |store| {
    let ada = user(&store, "ada@example.com", "UTC").await;
    seed(&store, &ada).await;
    for sort in ["due", "priority", "title", "created", "updated"] {
        for order in ["asc", "desc"] {
            let all = list(&store, &ada, TaskQueryParams { sort: Some(sort.into()), order: Some(order.into()), limit: Some("200".into()), ..p() }).await;
            assert_eq!(all.len(), 8);
            let mut paged = Vec::new();
            let mut cursor = None;
            loop {
                let q = TaskQueryParams { sort: Some(sort.into()), order: Some(order.into()), limit: Some("3".into()), cursor: cursor.clone(), ..p() }
                    .validate(&ada.tz, now()).unwrap();
                let page = store.list_tasks(&ada, &q).await.unwrap();
                paged.extend(page.items);
                match page.next_cursor { Some(c) => cursor = Some(c), None => break }
            }
            assert_eq!(titles(&paged), titles(&all), "{sort} {order}");
            let key = |t: &Task| -> (i64, String) {
                match sort {
                    "due" => (t.due.as_ref().map(|d| d.at.as_millisecond()).unwrap_or(if order == "asc" { i64::MAX } else { i64::MIN }), String::new()),
                    "priority" => (t.priority as i64, String::new()),
                    "title" => (0, t.title.to_lowercase()),
                    _ => (0, String::new()),
                }
            };
            for w in all.windows(2) {
                let (a, b) = (key(&w[0]), key(&w[1]));
                if order == "asc" { assert!(a <= b, "{sort} asc: {:?} then {:?}", w[0].title, w[1].title) }
                else { assert!(a >= b, "{sort} desc: {:?} then {:?}", w[0].title, w[1].title) }
            }
        }
    }
    let due_asc = list(&store, &ada, TaskQueryParams { sort: Some("due".into()), ..p() }).await;
    assert_eq!(titles(&due_asc)[..2], ["hotel", "alpha"]);
    assert_eq!(&titles(&due_asc)[6..], ["charlie", "foxtrot"], "no due date sorts last");
    let prio = list(&store, &ada, TaskQueryParams { sort: Some("priority".into()), ..p() }).await;
    assert_eq!(prio[0].priority, Priority::Urgent);
    assert_eq!(prio[7].priority, Priority::None);
});

store_test!(
    /// Ranked full-text search: stems, prefixes, tag names, description; title matches rank first; per user.
    search, |store| {
    let ada = user(&store, "ada@example.com", "UTC").await;
    let bob = user(&store, "bob@example.com", "UTC").await;
    store.create_task(&ada, NewTask { description: Some("remember to go running tomorrow".into()), ..new("Morning routine") }, now()).await.unwrap();
    store.create_task(&ada, new("Running shoes"), now()).await.unwrap();
    store.create_task(&ada, NewTask { tags: Some(vec!["groceries".into()]), ..new("Milk and eggs") }, now()).await.unwrap();
    store.create_task(&bob, new("Running club"), now()).await.unwrap();
    let q = |text: &str| TaskQueryParams { q: Some(text.into()), ..p() };
    let runs = list(&store, &ada, q("run")).await;
    assert_eq!(titles(&runs), ["Running shoes", "Morning routine"], "stemmed; title outranks description; Bob's hidden");
    assert!(runs[0].rank.unwrap() > runs[1].rank.unwrap());
    let mut paged = Vec::new();
    let mut cursor = None;
    loop {
        let q = TaskQueryParams { q: Some("run".into()), limit: Some("1".into()), cursor: cursor.clone(), ..p() }.validate(&ada.tz, now()).unwrap();
        let page = store.list_tasks(&ada, &q).await.unwrap();
        paged.extend(page.items);
        match page.next_cursor { Some(c) => cursor = Some(c), None => break }
    }
    assert_eq!(titles(&paged), titles(&runs), "rank-ordered pages through the cursor");
    assert_eq!(titles(&list(&store, &ada, q("groc")).await), ["Milk and eggs"], "prefix of a tag name");
    assert_eq!(titles(&list(&store, &ada, q("milk egg")).await), ["Milk and eggs"], "all words required");
    assert!(list(&store, &ada, q("milk shoes")).await.is_empty());
    let tag = store.list_tags(&ada).await.unwrap().remove(0);
    store.update_tag(&ada, tag.id, TagPatch { name: Some("shopping".into()), color: None }, now()).await.unwrap();
    assert_eq!(titles(&list(&store, &ada, q("shopping")).await), ["Milk and eggs"], "renamed tags are searchable");
    assert!(list(&store, &ada, q("groceries")).await.is_empty());
    let filtered = list(&store, &ada, TaskQueryParams { q: Some("run".into()), status: Some("completed".into()), ..p() }).await;
    assert!(filtered.is_empty(), "search combines with filters");
});

store_test!(
    /// Reminders: relative ones follow the due date, absolute ones stay; fire exactly once under racing
    /// scanners; a completed task's reminder is retired without an event.
    reminders, |store| {
    let ada = user(&store, "ada@example.com", "Europe/Berlin").await;
    let t = store.create_task(&ada, NewTask {
        due: Some("2026-03-12T10:00".into()),
        reminders: Some(vec![
            ReminderInput { at: None, minutes_before: Some(30) },
            ReminderInput { at: Some("2026-03-11T08:00".into()), minutes_before: None },
        ]),
        ..new("Dentist")
    }, now()).await.unwrap();
    let fire: Vec<String> = t.reminders.iter().map(|r| r.fire_at.unwrap().to_string()).collect();
    assert_eq!(fire, ["2026-03-11T07:00:00Z", "2026-03-12T08:30:00Z"]);
    assert_eq!(store.get_task(&ada, t.id, now()).await.unwrap(), t, "create's answer equals the read path's");
    let moved = store.update_task(&ada, t.id, TaskPatch { due: Some(Some("2026-03-13T10:00".into())), ..Default::default() }, now()).await.unwrap();
    let fire: Vec<String> = moved.reminders.iter().map(|r| r.fire_at.unwrap().to_string()).collect();
    assert_eq!(fire, ["2026-03-11T07:00:00Z", "2026-03-13T08:30:00Z"], "the relative one followed the due date");
    assert_eq!(list(&store, &ada, p()).await, std::slice::from_ref(&moved), "a listed task equals the read path's");
    let bad = store.add_reminder(&ada, t.id, ReminderInput { at: None, minutes_before: Some(600_000) }, now()).await.unwrap_err();
    assert!(matches!(bad, StoreError::Invalid(ref i) if i.field.as_deref() == Some("minutes_before")));

    events(&store).await;
    let at = "2026-03-11T07:00:01Z".parse::<Timestamp>().unwrap();
    let (a, b) = tokio::join!(store.fire_due_reminders(at, 10), store.fire_due_reminders(at, 10));
    assert_eq!(a.unwrap().len() + b.unwrap().len(), 1, "two scanners, one firing");
    assert!(store.fire_due_reminders(at, 10).await.unwrap().is_empty());
    let evs = events(&store).await;
    let due = |topic: &str| (topic.to_owned(), "todo.reminder.due.v1".to_owned());
    assert_eq!(evs, [due("reminders"), due("task-updates")], "to the notifier, and to the user's open tabs");

    store.complete_task(&ada, t.id, now()).await.unwrap();
    events(&store).await;
    let later = "2026-03-14T00:00:00Z".parse::<Timestamp>().unwrap();
    store.fire_due_reminders(later, 10).await.unwrap();
    assert!(events(&store).await.is_empty(), "completed tasks send no reminders");
    assert_eq!(store.next_reminder_at().await.unwrap(), None);
});

store_test!(
    /// Moving a task's due date after its relative reminder fired re-arms the reminder when its new time
    /// is still ahead: it fires again, as a new event (the notifier keys deliveries by event, so it sends
    /// again). Moved to a time already past, it stays fired; an absolute reminder never follows the due
    /// date. Each firing records its event's id on the reminder.
    moved_due_rearms_fired_reminder, |store| {
    let ada = user(&store, "ada@example.com", "UTC").await;
    let t = store.create_task(&ada, NewTask {
        due: Some("2026-03-10T12:30".into()),
        reminders: Some(vec![
            ReminderInput { at: None, minutes_before: Some(60) },
            ReminderInput { at: Some("2026-03-10T11:00".into()), minutes_before: None },
        ]),
        ..new("Standup")
    }, now()).await.unwrap();
    assert!(t.reminders.iter().all(|r| r.fired_at.is_none() && r.fired_event_id.is_none()));
    events(&store).await;
    let fired = store.fire_due_reminders(now(), 10).await.unwrap();
    assert_eq!(fired.len(), 2);
    let relative_id = t.reminders.iter().find(|r| r.minutes_before.is_some()).unwrap().id;
    let first_event = fired.iter().find(|f| f.reminder_id == relative_id).unwrap().event_id;
    let read = store.get_task(&ada, t.id, now()).await.unwrap();
    for r in &read.reminders {
        let event = fired.iter().find(|f| f.reminder_id == r.id).unwrap().event_id;
        assert_eq!((r.fired_at, r.fired_event_id), (Some(now()), Some(event)), "{r:?}");
    }
    let published: Vec<uuid::Uuid> = store.claim_outbox(now() + SignedDuration::from_hours(1), 100, 1).await.unwrap()
        .iter().map(|r| r.event_id).collect();
    assert!(published.contains(&first_event), "the recorded id is the event's");
    let relative = |task: &Task| task.reminders.iter().find(|r| r.id == relative_id).unwrap().clone();
    let absolute = |task: &Task| task.reminders.iter().find(|r| r.id != relative_id).unwrap().clone();

    // Its new time (12:00) is not ahead of now (12:00): it stays fired.
    let moved = store.update_task(&ada, t.id, TaskPatch { due: Some(Some("2026-03-10T13:00".into())), ..Default::default() }, now()).await.unwrap();
    assert_eq!(relative(&moved).fired_event_id, Some(first_event));
    assert!(store.fire_due_reminders(now(), 10).await.unwrap().is_empty());

    let moved = store.update_task(&ada, t.id, TaskPatch { due: Some(Some("2026-03-11T12:30".into())), ..Default::default() }, now()).await.unwrap();
    let r = relative(&moved);
    assert_eq!((r.fire_at, r.fired_at, r.fired_event_id), (Some("2026-03-11T11:30:00Z".parse().unwrap()), None, None), "re-armed");
    assert_eq!(absolute(&moved).fired_at, Some(now()), "an absolute reminder stays fired");
    assert_eq!(store.get_task(&ada, t.id, now()).await.unwrap(), moved);
    assert_eq!(store.next_reminder_at().await.unwrap(), Some("2026-03-11T11:30:00Z".parse().unwrap()));
    events(&store).await;
    let again = store.fire_due_reminders("2026-03-11T11:30:00Z".parse().unwrap(), 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].reminder_id, relative_id);
    assert_ne!(again[0].event_id, first_event, "a new firing is a new event");
    let due = |topic: &str| (topic.to_owned(), "todo.reminder.due.v1".to_owned());
    assert_eq!(events(&store).await, [due("reminders"), due("task-updates")]);
    let refired = relative(&store.get_task(&ada, t.id, now()).await.unwrap());
    assert_eq!(refired.fired_event_id, Some(again[0].event_id));
});

store_test!(
    /// Recurrence: the next occurrence is created once per completed occurrence, carries tags and
    /// reminders, and the series ends at its count. The rule is the month-end one ("the 31st, or the last
    /// day of a shorter month", as RFC 5545 spells it): a plain monthly rule skips February.
    next_occurrence, |store| {
    let ada = user(&store, "ada@example.com", "America/Los_Angeles").await;
    let first = store.create_task(&ada, NewTask {
        due: Some("2026-01-31T09:00".into()),
        tags: Some(vec!["bills".into()]),
        recurrence: Some(RuleInput {
            rrule: Some("FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1;COUNT=3".into()),
            ..Default::default()
        }),
        reminders: Some(vec![ReminderInput { at: None, minutes_before: Some(60) }]),
        ..new("Rent")
    }, now()).await.unwrap();
    assert_eq!(first.occurrence, Some(1));
    store.complete_task(&ada, first.id, now()).await.unwrap();
    let n1 = store.create_next_occurrence(&ada, first.id, now()).await.unwrap();
    assert!(n1.created);
    let second = n1.next.unwrap();
    assert_eq!(second.due.as_ref().unwrap().date.to_string(), "2026-02-28");
    assert_eq!(second.due.as_ref().unwrap().time.unwrap().to_string(), "09:00:00");
    assert_eq!((second.occurrence, second.series_id), (Some(2), first.series_id));
    assert_eq!(second.tags[0].name, "bills");
    assert_eq!(second.reminders.len(), 1);
    assert_eq!(second.status, Status::Open);
    let repeat = store.create_next_occurrence(&ada, first.id, now()).await.unwrap();
    assert!(!repeat.created);
    assert_eq!(repeat.next.unwrap().id, second.id, "a redelivered completion creates nothing new");
    store.complete_task(&ada, second.id, now()).await.unwrap();
    let third = store.create_next_occurrence(&ada, second.id, now()).await.unwrap().next.unwrap();
    assert_eq!(third.due.as_ref().unwrap().date.to_string(), "2026-03-31", "back to the 31st");
    assert!(store.create_next_occurrence(&ada, third.id, now()).await.unwrap().next.is_none(), "COUNT=3 reached");
    let series = list(&store, &ada, TaskQueryParams { recurring: Some("true".into()), ..p() }).await;
    assert_eq!(series.len(), 3);
});

store_test!(
    /// Skipping an occurrence moves the same task to the series' next date: the skipped date becomes an
    /// EXDATE, the wall time holds across the DST change, absolute reminders move with it, and the skipped
    /// one counts towards COUNT. Skipping what cannot be skipped is a conflict naming why.
    skip_occurrence, |store| {
    let ada = user(&store, "ada@example.com", "Europe/Berlin").await;
    let bob = user(&store, "bob@example.com", "UTC").await;
    let weekly = store.create_task(&ada, NewTask {
        due: Some("2026-03-23T09:00".into()),
        tags: Some(vec!["gym".into()]),
        recurrence: Some(RuleInput { rrule: Some("FREQ=WEEKLY;COUNT=3".into()), ..Default::default() }),
        reminders: Some(vec![
            ReminderInput { at: Some("2026-03-23T08:00".into()), minutes_before: None },
            ReminderInput { at: None, minutes_before: Some(30) },
        ]),
        ..new("Swim")
    }, now()).await.unwrap();
    task_event_data(&store).await;
    let err = store.skip_occurrence(&bob, weekly.id, now()).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");

    let skipped = store.skip_occurrence(&ada, weekly.id, now()).await.unwrap();
    assert_eq!(skipped.id, weekly.id);
    assert_eq!(skipped.status, Status::Open);
    let due = skipped.due.as_ref().unwrap();
    assert_eq!((due.date.to_string(), due.time.unwrap().to_string()), ("2026-03-30".into(), "09:00:00".into()));
    assert_eq!(due.at.to_string(), "2026-03-30T07:00:00Z", "09:00 in summer time");
    assert_eq!(skipped.occurrence, Some(2));
    let rule = &skipped.recurrence.as_ref().unwrap().rule;
    assert_eq!(rule.exdates.iter().map(|d| d.to_string()).collect::<Vec<_>>(), ["2026-03-23"]);
    assert_eq!(skipped.tags[0].name, "gym");
    let absolute = skipped.reminders.iter().find(|r| r.at.is_some()).unwrap();
    assert_eq!(absolute.at.unwrap().to_string(), "2026-03-30T06:00:00Z", "still an hour before");
    let relative = skipped.reminders.iter().find(|r| r.minutes_before.is_some()).unwrap();
    assert_eq!(relative.fire_at.unwrap().to_string(), "2026-03-30T06:30:00Z");
    let data = task_event_data(&store).await;
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["changed"], serde_json::json!(["due", "occurrence", "recurrence"]));

    store.complete_task(&ada, weekly.id, now()).await.unwrap();
    let err = store.skip_occurrence(&ada, weekly.id, now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { code: "task_completed", .. }), "{err:?}");
    let last = store.create_next_occurrence(&ada, weekly.id, now()).await.unwrap().next.unwrap();
    assert_eq!(last.due.as_ref().unwrap().date.to_string(), "2026-04-06");
    assert_eq!(last.occurrence, Some(3), "the skipped occurrence counted");
    let err = store.skip_occurrence(&ada, last.id, now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { code: "last_occurrence", .. }), "{err:?}");
    store.reopen_task(&ada, weekly.id, now()).await.unwrap();
    let err = store.skip_occurrence(&ada, weekly.id, now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { code: "occurrence_exists", .. }), "{err:?}");

    let plain = store.create_task(&ada, NewTask { due: Some("2026-03-23".into()), ..new("Once") }, now()).await.unwrap();
    let err = store.skip_occurrence(&ada, plain.id, now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { code: "not_recurring", field: "recurrence", .. }), "{err:?}");

    // From completion: nothing to mark skipped; the next one is measured from now (10 March), at 08:00.
    let chore = store.create_task(&ada, NewTask {
        due: Some("2026-03-01T08:00".into()),
        recurrence: Some(RuleInput {
            rrule: Some("FREQ=DAILY;INTERVAL=3".into()),
            basis: Some(todo_core::domain::recurrence::Basis::Completion),
            ..Default::default()
        }),
        ..new("Water plants")
    }, now()).await.unwrap();
    let moved = store.skip_occurrence(&ada, chore.id, now()).await.unwrap();
    assert_eq!(moved.due.as_ref().unwrap().date.to_string(), "2026-03-13");
    assert_eq!(moved.due.as_ref().unwrap().time.unwrap().to_string(), "08:00:00");
    assert!(moved.recurrence.as_ref().unwrap().rule.exdates.is_empty());
});

store_test!(
    /// A month-end series stored by a version before the RFC 5545 engine ("monthly on the 31st", which then
    /// meant the month's last day in shorter months) is rewritten by `migrate` into the rule that says so,
    /// and its next occurrence is still 28 February rather than a skipped month; running `migrate` again
    /// changes nothing.
    legacy_month_end_rules_keep_their_meaning, |store| {
    let ada = user(&store, "ada@example.com", "Europe/Berlin").await;
    let rent = store.create_task(&ada, NewTask {
        due: Some("2026-01-31T09:00".into()),
        recurrence: Some(RuleInput { rrule: Some("FREQ=MONTHLY".into()), ..Default::default() }),
        ..new("Rent")
    }, now()).await.unwrap();
    let stored = r#"{"frequency":"monthly","interval":1,"weekdays":[],"month_day":null,"nth_weekday":null,"month":null,"until":null,"count":null,"basis":"due"}"#;
    let set = "UPDATE tasks SET recurrence = $1 WHERE id = $2";
    match store.pool() {
        todo_core::store::Pool::Postgres(p) => sqlx::query(set).bind(stored).bind(rent.id).execute(p).await.unwrap().rows_affected(),
        todo_core::store::Pool::Sqlite(p) => sqlx::query(set).bind(stored).bind(rent.id).execute(p).await.unwrap().rows_affected(),
    };
    store.migrate().await.unwrap();
    let upgraded = store.get_task(&ada, rent.id, now()).await.unwrap();
    assert_eq!(upgraded.recurrence.as_ref().unwrap().rrule, "FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1");
    store.migrate().await.unwrap();
    assert_eq!(store.get_task(&ada, rent.id, now()).await.unwrap().recurrence, upgraded.recurrence);
    store.complete_task(&ada, rent.id, now()).await.unwrap();
    let next = store.create_next_occurrence(&ada, rent.id, now()).await.unwrap().next.unwrap();
    assert_eq!(next.due.as_ref().unwrap().date.to_string(), "2026-02-28");
});

store_test!(
    /// An `UNTIL` given as a UTC time ends the series at that instant in the user's zone: in New York,
    /// 20:00 on 2 January is 01:00Z on the 3rd, after `UNTIL=20260103T000000Z`, so the first occurrence is
    /// the last (read as UTC wall times, there was a second).
    until_instant_is_compared_in_the_users_zone, |store| {
    let ada = user(&store, "ada@example.com", "America/New_York").await;
    let first = store.create_task(&ada, NewTask {
        due: Some("2026-01-01T20:00".into()),
        recurrence: Some(RuleInput { rrule: Some("FREQ=DAILY;UNTIL=20260103T000000Z".into()), ..Default::default() }),
        ..new("Evening walk")
    }, now()).await.unwrap();
    store.complete_task(&ada, first.id, now()).await.unwrap();
    let next = store.create_next_occurrence(&ada, first.id, now()).await.unwrap();
    assert!(next.next.is_none(), "the series ended at UNTIL: {:?}", next.next.map(|t| t.due));
});

store_test!(
    /// Changing zone keeps all-day tasks on their date and timed tasks at their instant.
    zone_change, |store| {
    let ada = user(&store, "ada@example.com", "America/New_York").await;
    let all_day = store.create_task(&ada, NewTask { due: Some("2026-05-01".into()), ..new("all day") }, now()).await.unwrap();
    let timed = store.create_task(&ada, NewTask { due: Some("2026-05-01T09:00".into()), ..new("timed") }, now()).await.unwrap();
    let ada2 = store.update_profile(&ada, ProfilePatch { time_zone: Some("Asia/Tokyo".into()), display_name: None }, now()).await.unwrap();
    assert_eq!(ada2.time_zone, "Asia/Tokyo");
    let a = store.get_task(&ada2, all_day.id, now()).await.unwrap();
    assert_eq!(a.due.unwrap().date.to_string(), "2026-05-01");
    let t = store.get_task(&ada2, timed.id, now()).await.unwrap();
    assert_eq!(t.due.as_ref().unwrap().at, timed.due.as_ref().unwrap().at);
    assert_eq!(t.due.unwrap().time.unwrap().to_string(), "22:00:00");
    let bad = store.update_profile(&ada2, ProfilePatch { time_zone: Some("Nowhere/Land".into()), display_name: None }, now()).await;
    assert!(matches!(bad, Err(StoreError::Invalid(ref i)) if i.code == "invalid_time_zone"));
});

store_test!(
    /// Outbox claims are leased: a claimed row is invisible to a second relay until released or expired, and a
    /// published row leaves the outbox.
    outbox_claims, |store| {
    let ada = user(&store, "ada@example.com", "UTC").await;
    store.create_task(&ada, new("one"), now()).await.unwrap();
    let t = now() + SignedDuration::from_hours(1);
    let first = store.claim_outbox(t, 10, 60_000).await.unwrap();
    assert_eq!(first.len(), 2, "task-events and task-updates");
    assert!(store.claim_outbox(t, 10, 60_000).await.unwrap().is_empty(), "leased");
    store.remove_published(&[first[0].seq]).await.unwrap();
    store.release_claims(&[first[1].seq], t).await.unwrap();
    let again = store.claim_outbox(t, 10, 60_000).await.unwrap();
    assert_eq!(again.iter().map(|r| r.seq).collect::<Vec<_>>(), [first[1].seq]);
    let expired = store.claim_outbox(t + SignedDuration::from_mins(2), 10, 60_000).await.unwrap();
    assert_eq!(expired.len(), 1, "an expired lease is claimable again");
    assert_eq!(store.outbox_backlog().await.unwrap().pending, 1);
});

/// Another replica of the store on the same database.
async fn replica(url: &str) -> Store {
    Store::connect(url, 2, "/todoplatform/test-replica")
        .await
        .unwrap()
}

/// The `data` of every task event in the outbox, oldest first (claiming the rows).
async fn task_event_data(store: &Store) -> Vec<serde_json::Value> {
    let rows = store
        .claim_outbox(now() + SignedDuration::from_hours(1000), 10_000, 1)
        .await
        .unwrap();
    rows.into_iter()
        .filter(|r| r.topic == "task-events")
        .map(|r| serde_json::from_str::<serde_json::Value>(&r.payload).unwrap()["data"].clone())
        .collect()
}

store_test!(
    /// A profile remembered from a moment ago (`Store::caller`) saves reads a lookup, but a task created
    /// with it after the zone changed through another replica is still due at 09:30 in the new zone, and
    /// its event names the new zone: the write checks the profile and re-plans with the current one.
    remembered_profile_never_writes_a_stale_zone, |here, url| {
    let there = replica(&url).await;
    let ada = user(&here, "ada@example.com", "Europe/Berlin").await;
    // The tag exists, so on PostgreSQL the creation below takes the one-statement path.
    here.create_tag(&ada, TagInput { name: "work".into(), color: None }, now()).await.unwrap();
    let remembered = here.caller(ada.id).await.unwrap();
    there
        .update_profile(&ada, ProfilePatch { time_zone: Some("America/New_York".into()), display_name: Some("Ada L".into()) }, now())
        .await
        .unwrap();
    assert_eq!(here.caller(ada.id).await.unwrap().time_zone, "Europe/Berlin", "reads may see the change late");

    let task = here
        .create_task(&remembered, NewTask { due: Some("2026-12-10T09:30".into()), tags: Some(vec!["work".into()]), ..new("Call") }, now())
        .await
        .unwrap();
    let due = task.due.clone().unwrap();
    assert_eq!((due.time_zone.as_str(), due.time.unwrap().to_string()), ("America/New_York", "09:30:00".into()));
    assert_eq!(due.at.to_string(), "2026-12-10T14:30:00Z");
    let fresh = here.owner(ada.id).await.unwrap();
    assert_eq!(here.get_task(&fresh, task.id, now()).await.unwrap(), task, "what create returns is what a read returns");
    let data = task_event_data(&here).await;
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["user"]["time_zone"], "America/New_York");
    assert_eq!(data[0]["user"]["display_name"], "Ada L");
    assert_eq!(data[0]["task"]["due"]["at"], "2026-12-10T14:30:00Z");
    assert_eq!(here.caller(ada.id).await.unwrap().time_zone, "America/New_York", "a stale profile found by a write is forgotten");

    here
        .update_profile(&fresh, ProfilePatch { time_zone: Some("Asia/Tokyo".into()), display_name: None }, now())
        .await
        .unwrap();
    assert_eq!(here.caller(ada.id).await.unwrap().time_zone, "Asia/Tokyo", "a change through this store is seen at once");
    there.close().await;
});

store_test!(
    /// Tags remembered from an earlier task creation are not trusted either: after another replica renames
    /// and recolours the tag, a new task shows (and indexes) its current name and colour; after it deletes
    /// the tag, a new task gets a new tag of that name instead of failing on the old one.
    remembered_tags_never_write_a_stale_tag, |here, url| {
    let there = replica(&url).await;
    let ada = user(&here, "ada@example.com", "UTC").await;
    let with_work = |title: &str| NewTask { tags: Some(vec!["work".into()]), ..new(title) };
    let first = here.create_task(&ada, with_work("first"), now()).await.unwrap();
    here.create_task(&ada, with_work("second"), now()).await.unwrap();
    let work = first.tags[0].clone();

    there
        .update_tag(&ada, work.id, TagPatch { name: Some("WORK".into()), color: Some("#112233".into()) }, now())
        .await
        .unwrap();
    let third = here.create_task(&ada, with_work("third"), now()).await.unwrap();
    assert_eq!((third.tags[0].id, third.tags[0].name.as_str(), third.tags[0].color.as_str()), (work.id, "WORK", "#112233"));
    assert_eq!(here.get_task(&ada, third.id, now()).await.unwrap(), third);
    let data = task_event_data(&here).await;
    assert_eq!(data.last().unwrap()["task"]["tags"][0]["color"], "#112233");
    let found = list(&here, &ada, TaskQueryParams { q: Some("third".into()), ..Default::default() }).await;
    assert_eq!(titles(&found), ["third"]);

    there.delete_tag(&ada, work.id).await.unwrap();
    let fourth = here.create_task(&ada, with_work("fourth"), now()).await.unwrap();
    assert_ne!(fourth.tags[0].id, work.id, "a new tag, not the deleted one");
    assert_eq!(fourth.tags[0].name, "work");
    let tags = here.list_tags(&ada).await.unwrap();
    assert_eq!(tags.iter().map(|t| t.id).collect::<Vec<_>>(), [fourth.tags[0].id]);
    let tagged = list(&here, &ada, TaskQueryParams { tags: Some("work".into()), ..Default::default() }).await;
    assert_eq!(titles(&tagged), ["fourth"]);
    there.close().await;
});

fn token_input(name: &str, scope: &str, days: Option<i64>) -> AccessTokenInput {
    AccessTokenInput {
        name: name.into(),
        scope: scope.into(),
        expires_in_days: days,
    }
}

async fn last_used(store: &Store, owner: &Owner, name: &str) -> Option<Timestamp> {
    let tokens = store.list_access_tokens(owner).await.unwrap();
    tokens
        .into_iter()
        .find(|t| t.name == name)
        .unwrap()
        .last_used_at
}

fn granted(check: TokenCheck) -> TokenGrant {
    match check {
        TokenCheck::Valid(grant) => grant,
        other => panic!("expected a valid token, got {other:?}"),
    }
}

store_test!(
    /// Access tokens: created with a secret shown once and stored only as a hash; listed by metadata;
    /// found by their secret with their owner and scope; never another user's to list or revoke.
    access_tokens, |store| {
    let ada = user(&store, "ada@example.com", "UTC").await;
    let bob = user(&store, "bob@example.com", "UTC").await;
    let reader = store.create_access_token(&ada, token_input("  laptop script ", "read", None), now()).await.unwrap();
    assert!(reader.secret.starts_with(TOKEN_PREFIX));
    assert_eq!(reader.secret.len(), TOKEN_PREFIX.len() + 43, "32 bytes, base64url");
    assert_eq!((reader.token.name.as_str(), reader.token.scope, reader.token.expires_at), ("laptop script", TokenScope::Read, None));
    let writer = store.create_access_token(&ada, token_input("mcp", "read-write", Some(30)), now()).await.unwrap();
    assert_eq!(writer.token.expires_at, Some(now() + SignedDuration::from_hours(30 * 24)));
    assert_ne!(reader.secret, writer.secret);

    let listed = store.list_access_tokens(&ada).await.unwrap();
    assert_eq!(listed, [reader.token.clone(), writer.token.clone()]);
    assert!(store.list_access_tokens(&bob).await.unwrap().is_empty());
    let stored: Vec<String> = match store.pool() {
        todo_core::store::Pool::Postgres(p) => sqlx::query_scalar("SELECT encode(secret_hash, 'hex') FROM access_tokens").fetch_all(p).await.unwrap(),
        todo_core::store::Pool::Sqlite(p) => sqlx::query_scalar("SELECT lower(hex(secret_hash)) FROM access_tokens").fetch_all(p).await.unwrap(),
    };
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|h| h.len() == 64 && !h.contains("tp_")), "only hashes are stored: {stored:?}");

    let grant = granted(store.check_access_token(&reader.secret, now()).await.unwrap());
    assert_eq!((grant.token_id, grant.user_id, grant.scope), (reader.token.id, ada.id, TokenScope::Read));
    assert_eq!(granted(store.check_access_token(&writer.secret, now()).await.unwrap()).scope, TokenScope::ReadWrite);
    for wrong in ["tp_not-a-token", "", "eyJhbGciOiJIUzI1NiJ9.e30.x", &reader.secret[..reader.secret.len() - 1]] {
        assert_eq!(store.check_access_token(wrong, now()).await.unwrap(), TokenCheck::Unknown, "{wrong}");
    }

    let err = store.revoke_access_token(&bob, reader.token.id).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound("token")), "{err:?}");
    assert!(store.check_access_token(&reader.secret, now()).await.unwrap() != TokenCheck::Unknown, "bob's attempt revoked nothing");
    store.revoke_access_token(&ada, reader.token.id).await.unwrap();
    assert_eq!(store.check_access_token(&reader.secret, now()).await.unwrap(), TokenCheck::Unknown, "revoked at once");
    assert!(matches!(store.revoke_access_token(&ada, reader.token.id).await.unwrap_err(), StoreError::NotFound("token")));
    assert_eq!(store.list_access_tokens(&ada).await.unwrap().iter().map(|t| t.id).collect::<Vec<_>>(), [writer.token.id]);
});

store_test!(
    /// A token stops working the moment it expires, even while remembered; its use is recorded at most
    /// once a minute.
    access_token_expiry_and_use, |store| {
    let ada = user(&store, "ada@example.com", "UTC").await;
    let token = store.create_access_token(&ada, token_input("ci", "read", Some(1)), now()).await.unwrap();
    let expires = now() + SignedDuration::from_hours(24);
    assert!(matches!(store.check_access_token(&token.secret, expires - SignedDuration::from_millis(1)).await.unwrap(), TokenCheck::Valid(_)));
    assert_eq!(store.check_access_token(&token.secret, expires).await.unwrap(), TokenCheck::Expired);
    let first_use = expires - SignedDuration::from_millis(1);
    assert_eq!(last_used(&store, &ada, "ci").await, Some(first_use), "an expired check records nothing");

    let fresh = store.create_access_token(&ada, token_input("cron", "read-write", None), now()).await.unwrap();
    assert_eq!(last_used(&store, &ada, "cron").await, None);
    store.check_access_token(&fresh.secret, now()).await.unwrap();
    store.check_access_token(&fresh.secret, now() + SignedDuration::from_secs(59)).await.unwrap();
    assert_eq!(last_used(&store, &ada, "cron").await, Some(now()), "not again within the minute");
    store.check_access_token(&fresh.secret, now() + SignedDuration::from_secs(60)).await.unwrap();
    assert_eq!(last_used(&store, &ada, "cron").await, Some(now() + SignedDuration::from_secs(60)));
});

store_test!(
    /// Bad token input names the field; a user's tokens go with the account.
    access_token_validation, |store| {
    let ada = user(&store, "ada@example.com", "UTC").await;
    for (input, code, field) in [
        (token_input("   ", "read", None), "required", "name"),
        (token_input(&"x".repeat(101), "read", None), "too_long", "name"),
        (token_input("a\u{7}b", "read", None), "invalid_characters", "name"),
        (token_input("ok", "write", None), "invalid_scope", "scope"),
        (token_input("ok", "READ", None), "invalid_scope", "scope"),
        (token_input("ok", "read", Some(0)), "out_of_range", "expires_in_days"),
        (token_input("ok", "read", Some(366)), "out_of_range", "expires_in_days"),
        (token_input("ok", "read", Some(-1)), "out_of_range", "expires_in_days"),
    ] {
        match store.create_access_token(&ada, input, now()).await {
            Err(StoreError::Invalid(e)) => assert_eq!((e.code, e.field.as_deref()), (code, Some(field))),
            other => panic!("expected {code} on {field}, got {:?}", other.map(|c| c.token)),
        }
    }
    assert!(store.list_access_tokens(&ada).await.unwrap().is_empty());
    let longest = store.create_access_token(&ada, token_input("ok", "read", Some(365)), now()).await.unwrap();
    assert_eq!(longest.token.expires_at, Some(now() + SignedDuration::from_hours(365 * 24)));
    let grant = granted(store.check_access_token(&longest.secret, now()).await.unwrap());
    let deleted = match store.pool() {
        todo_core::store::Pool::Postgres(p) => sqlx::query("DELETE FROM users WHERE id = $1").bind(ada.id).execute(p).await.unwrap().rows_affected(),
        todo_core::store::Pool::Sqlite(p) => sqlx::query("DELETE FROM users WHERE id = $1").bind(ada.id).execute(p).await.unwrap().rows_affected(),
    };
    assert_eq!(deleted, 1);
    let left: i64 = match store.pool() {
        todo_core::store::Pool::Postgres(p) => sqlx::query_scalar("SELECT COUNT(*) FROM access_tokens WHERE id = $1").bind(grant.token_id).fetch_one(p).await.unwrap(),
        todo_core::store::Pool::Sqlite(p) => sqlx::query_scalar("SELECT COUNT(*) FROM access_tokens WHERE id = $1").bind(grant.token_id).fetch_one(p).await.unwrap(),
    };
    assert_eq!(left, 0, "ON DELETE CASCADE");
});

store_test!(
    /// Projects: every account has an Inbox (its id is the account's) where tasks go by default; projects
    /// are created last in the order, renamed, recoloured, moved, archived (left out of listings, closed to
    /// new tasks) and deleted with their tasks moved to the Inbox or deleted, each with its event. Another
    /// user's project is not found, and not usable for a task.
    projects, |store| {
    let ada = user(&store, "ada@example.com", "Europe/Paris").await;
    let bob = user(&store, "bob@example.com", "UTC").await;
    let projects = store.list_projects(&ada, false).await.unwrap();
    assert_eq!(projects.iter().map(|p| (p.name.as_str(), p.inbox, p.id)).collect::<Vec<_>>(), [("Inbox", true, ada.id)]);
    let loose = store.create_task(&ada, new("Loose end"), now()).await.unwrap();
    assert_eq!(loose.project_id, ada.id, "the Inbox by default");

    let work = store.create_project(&ada, ProjectInput { name: " Work ".into(), color: Some("#F80".into()) }, now()).await.unwrap();
    assert_eq!((work.name.as_str(), work.color.as_str(), work.position, work.inbox), ("Work", "#ff8800", 1, false));
    let home = store.create_project(&ada, ProjectInput { name: "Home".into(), color: None }, now()).await.unwrap();
    assert_eq!(home.position, 2);
    let err = store.create_project(&ada, ProjectInput { name: "WORK".into(), color: None }, now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { code: "project_exists", field: "name", .. }), "{err:?}");
    let err = store.create_project(&ada, ProjectInput { name: " ".into(), color: None }, now()).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(i) if i.field.as_deref() == Some("name")), "{err:?}");
    assert!(store.create_project(&bob, ProjectInput { name: "Work".into(), color: None }, now()).await.is_ok(), "names are per user");

    let report = store.create_task(&ada, NewTask { project_id: Some(work.id), ..new("Quarterly report") }, now()).await.unwrap();
    assert_eq!(report.project_id, work.id);
    let err = store.create_task(&bob, NewTask { project_id: Some(work.id), ..new("Sneaky") }, now()).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(i) if i.code == "unknown_project" && i.field.as_deref() == Some("project_id")), "{err:?}");
    assert!(matches!(store.get_project(&bob, work.id).await.unwrap_err(), StoreError::NotFound("project")));
    let counted = store.get_project(&ada, work.id).await.unwrap();
    assert_eq!((counted.open_tasks, counted.task_count), (1, 1));
    let in_work = list(&store, &ada, TaskQueryParams { project: Some(work.id.to_string()), ..p() }).await;
    assert_eq!(titles(&in_work), ["Quarterly report"]);

    let moved = store.update_project(&ada, home.id, ProjectPatch { position: Some(1), name: Some("House".into()), color: Some("#123456".into()), ..Default::default() }, now()).await.unwrap();
    assert_eq!((moved.name.as_str(), moved.color.as_str(), moved.position), ("House", "#123456", 1));
    let order: Vec<String> = store.list_projects(&ada, false).await.unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(order, ["Inbox", "House", "Work"]);
    let err = store.update_project(&ada, ada.id, ProjectPatch { archived: Some(true), ..Default::default() }, now()).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(i) if i.code == "inbox_protected"), "{err:?}");
    let inbox = store.update_project(&ada, ada.id, ProjectPatch { name: Some("Unsorted".into()), ..Default::default() }, now()).await.unwrap();
    assert_eq!((inbox.name.as_str(), inbox.inbox), ("Unsorted", true), "the Inbox can be renamed");

    task_event_data(&store).await;
    let patched = store.update_task(&ada, loose.id, TaskPatch { project_id: Some(home.id), ..Default::default() }, now()).await.unwrap();
    assert_eq!(patched.project_id, home.id);
    let data = task_event_data(&store).await;
    assert_eq!(data[0]["changed"], serde_json::json!(["project"]));
    assert_eq!(data[0]["task"]["project_id"], home.id.to_string());

    let archived = store.update_project(&ada, work.id, ProjectPatch { archived: Some(true), ..Default::default() }, now()).await.unwrap();
    assert!(archived.archived);
    assert_eq!(store.list_projects(&ada, false).await.unwrap().len(), 2);
    assert_eq!(store.list_projects(&ada, true).await.unwrap().len(), 3);
    assert_eq!(titles(&list(&store, &ada, p()).await), ["Loose end"], "an archived project's tasks are left out");
    let in_work = list(&store, &ada, TaskQueryParams { project: Some(work.id.to_string()), ..p() }).await;
    assert_eq!(titles(&in_work), ["Quarterly report"], "unless asked for by id");
    let err = store.create_task(&ada, NewTask { project_id: Some(work.id), ..new("Late") }, now()).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(i) if i.code == "project_archived"), "{err:?}");
    store.update_project(&ada, work.id, ProjectPatch { archived: Some(false), ..Default::default() }, now()).await.unwrap();

    task_event_data(&store).await;
    store.delete_project(&ada, home.id, ProjectTasks::Move, now()).await.unwrap();
    assert_eq!(store.get_task(&ada, loose.id, now()).await.unwrap().project_id, ada.id, "back in the Inbox");
    store.delete_project(&ada, work.id, ProjectTasks::Delete, now()).await.unwrap();
    assert!(matches!(store.get_task(&ada, report.id, now()).await.unwrap_err(), StoreError::NotFound(_)));
    let kinds: Vec<(String, String)> = task_event_data(&store).await.iter()
        .map(|d| (d["task"]["title"].as_str().unwrap().to_owned(), d["changed"].to_string())).collect();
    assert_eq!(kinds, [("Loose end".to_owned(), r#"["project"]"#.to_owned()), ("Quarterly report".to_owned(), "null".to_owned())]);
    let err = store.delete_project(&ada, ada.id, ProjectTasks::Move, now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { code: "inbox_protected", .. }), "{err:?}");
    assert_eq!(store.list_projects(&ada, true).await.unwrap().len(), 1);
});

/// The projects migration on a database of the release before it: each existing account gets an Inbox
/// and each existing task lands in its owner's.
mod projects_migration {
    use super::*;
    use todo_core::testing::TestDb;

    const PROJECTS: i64 = 20261214000009;

    async fn run(db: &TestDb) {
        let store = &db.store;
        let users = [uuid::Uuid::now_v7(), uuid::Uuid::now_v7()];
        let tasks = [uuid::Uuid::now_v7(), uuid::Uuid::now_v7()];
        // As the release before wrote them (its store cannot run here: it is this one without projects).
        for (sql, binds) in [
            (
                "INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES ($1, 'ada@example.com', 'h', 0, 0)",
                vec![users[0]],
            ),
            (
                "INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES ($1, 'bob@example.com', 'h', 0, 0)",
                vec![users[1]],
            ),
            (
                "INSERT INTO tasks (id, user_id, title, created_at, updated_at) VALUES ($1, $2, 'Ada''s', 0, 0)",
                vec![tasks[0], users[0]],
            ),
            (
                "INSERT INTO tasks (id, user_id, title, created_at, updated_at) VALUES ($1, $2, 'Bob''s', 0, 0)",
                vec![tasks[1], users[1]],
            ),
        ] {
            match store.pool() {
                todo_core::store::Pool::Postgres(p) => {
                    binds
                        .iter()
                        .fold(sqlx::query(sql), |q, b| q.bind(*b))
                        .execute(p)
                        .await
                        .unwrap();
                }
                todo_core::store::Pool::Sqlite(p) => {
                    binds
                        .iter()
                        .fold(sqlx::query(sql), |q, b| q.bind(*b))
                        .execute(p)
                        .await
                        .unwrap();
                }
            }
        }
        store.migrate().await.unwrap();
        let (ada, bob) = (
            store.owner(users[0]).await.unwrap(),
            store.owner(users[1]).await.unwrap(),
        );
        for (owner, id) in [(&ada, tasks[0]), (&bob, tasks[1])] {
            let projects = store.list_projects(owner, true).await.unwrap();
            assert_eq!(projects.len(), 1);
            assert_eq!(
                (projects[0].id, projects[0].inbox, projects[0].task_count),
                (owner.id, true, 1)
            );
            assert_eq!(
                store.get_task(owner, id, now()).await.unwrap().project_id,
                owner.id
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let db = TestDb::sqlite_before(Some(PROJECTS)).await;
        run(&db).await;
        db.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some(db) = TestDb::postgres_before(Some(PROJECTS)).await else {
            return;
        };
        run(&db).await;
        db.cleanup().await;
    }
}

store_test!(
    /// Subtasks: in their parent's project, at most four levels, never repeating on their own; counted on
    /// the parent, listed by parent, found by search; completed, moved and deleted with their parent, each
    /// with its event; and brought back open by a recurring parent's next occurrence.
    subtasks, |store| {
    let ada = user(&store, "ada@example.com", "UTC").await;
    let bob = user(&store, "bob@example.com", "UTC").await;
    let work = store.create_project(&ada, ProjectInput { name: "Work".into(), color: None }, now()).await.unwrap();
    let sub = |title: &str, parent: uuid::Uuid| NewTask { parent_id: Some(parent), ..new(title) };
    let party = store.create_task(&ada, NewTask { project_id: Some(work.id), ..new("Plan the party") }, now()).await.unwrap();
    let a = store.create_task(&ada, sub("Buy balloons", party.id), now()).await.unwrap();
    assert_eq!((a.parent_id, a.project_id), (Some(party.id), work.id), "in the parent's project");
    let a1 = store.create_task(&ada, sub("Pick colours", a.id), now()).await.unwrap();
    let a1a = store.create_task(&ada, sub("Ask the kids", a1.id), now()).await.unwrap();
    let too_deep = store.create_task(&ada, sub("Fifth level", a1a.id), now()).await.unwrap_err();
    assert!(matches!(&too_deep, StoreError::Invalid(i) if i.code == "too_deep" && i.field.as_deref() == Some("parent_id")), "{too_deep:?}");
    let elsewhere = store.create_task(&ada, NewTask { project_id: Some(ada.id), ..sub("x", party.id) }, now()).await.unwrap_err();
    assert!(matches!(&elsewhere, StoreError::Invalid(i) if i.code == "subtask_project"), "{elsewhere:?}");
    let repeating = store.create_task(&ada, NewTask {
        due: Some("2026-03-20".into()),
        recurrence: Some(RuleInput { rrule: Some("FREQ=DAILY".into()), ..Default::default() }),
        ..sub("x", party.id)
    }, now()).await.unwrap_err();
    assert!(matches!(&repeating, StoreError::Invalid(i) if i.code == "subtask_recurrence"), "{repeating:?}");
    let foreign = store.create_task(&bob, sub("Mine now", party.id), now()).await.unwrap_err();
    assert!(matches!(&foreign, StoreError::Invalid(i) if i.code == "unknown_parent"), "{foreign:?}");

    store.complete_task(&ada, a1a.id, now()).await.unwrap();
    let got = store.get_task(&ada, a1.id, now()).await.unwrap();
    assert_eq!((got.subtask_count, got.subtasks_done), (1, 1));
    let children = list(&store, &ada, TaskQueryParams { parent: Some(party.id.to_string()), ..p() }).await;
    assert_eq!(titles(&children), ["Buy balloons"]);
    let top = list(&store, &ada, TaskQueryParams { parent: Some("none".into()), status: None, ..p() }).await;
    assert_eq!(titles(&top), ["Plan the party"]);
    let found = list(&store, &ada, TaskQueryParams { q: Some("balloons".into()), ..p() }).await;
    assert_eq!(titles(&found), ["Buy balloons"], "search finds subtasks");

    let err = store.update_task(&ada, a.id, TaskPatch { project_id: Some(ada.id), ..Default::default() }, now()).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(i) if i.code == "subtask_project"), "{err:?}");
    task_event_data(&store).await;
    store.update_task(&ada, party.id, TaskPatch { project_id: Some(ada.id), ..Default::default() }, now()).await.unwrap();
    for t in [&a, &a1, &a1a] {
        assert_eq!(store.get_task(&ada, t.id, now()).await.unwrap().project_id, ada.id, "{} moved with its parent", t.title);
    }
    assert_eq!(task_event_data(&store).await.len(), 4);
    store.complete_task(&ada, party.id, now()).await.unwrap();
    let completed: Vec<String> = task_event_data(&store).await.iter().map(|d| d["task"]["title"].as_str().unwrap().to_owned()).collect();
    assert_eq!(completed, ["Buy balloons", "Pick colours", "Plan the party"], "the open subtasks first, then the parent");
    let err = store.create_task(&ada, sub("Late idea", party.id), now()).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(i) if i.code == "parent_completed"), "{err:?}");
    store.delete_task(&ada, party.id, now()).await.unwrap();
    for t in [&a, &a1, &a1a] {
        assert!(matches!(store.get_task(&ada, t.id, now()).await.unwrap_err(), StoreError::NotFound(_)));
    }
    let deleted: Vec<String> = task_event_data(&store).await.iter().map(|d| d["task"]["title"].as_str().unwrap().to_owned()).collect();
    assert_eq!(deleted, ["Buy balloons", "Pick colours", "Ask the kids", "Plan the party"]);

    let chores = store.create_task(&ada, NewTask {
        due: Some("2026-03-23T09:00".into()),
        recurrence: Some(RuleInput { rrule: Some("FREQ=WEEKLY".into()), ..Default::default() }),
        ..new("Weekly clean")
    }, now()).await.unwrap();
    let kitchen = store.create_task(&ada, NewTask { due: Some("2026-03-23T08:00".into()), tags: Some(vec!["home".into()]), ..sub("Kitchen", chores.id) }, now()).await.unwrap();
    store.create_task(&ada, sub("Oven", kitchen.id), now()).await.unwrap();
    store.complete_task(&ada, chores.id, now()).await.unwrap();
    let next = store.create_next_occurrence(&ada, chores.id, now()).await.unwrap().next.unwrap();
    assert_eq!((next.subtask_count, next.subtasks_done), (1, 0));
    let again = list(&store, &ada, TaskQueryParams { parent: Some(next.id.to_string()), ..p() }).await;
    assert_eq!(titles(&again), ["Kitchen"]);
    assert_eq!(again[0].status, Status::Open);
    assert_eq!(again[0].due.as_ref().unwrap().at.to_string(), "2026-03-30T08:00:00Z", "a week on, as the series moved");
    assert_eq!(again[0].tags[0].name, "home");
    let oven = list(&store, &ada, TaskQueryParams { parent: Some(again[0].id.to_string()), ..p() }).await;
    assert_eq!(titles(&oven), ["Oven"]);
    let repeat = store.create_next_occurrence(&ada, chores.id, now()).await.unwrap();
    assert!(!repeat.created);
    let kitchens = list(&store, &ada, TaskQueryParams { q: Some("kitchen".into()), ..p() }).await;
    assert_eq!(kitchens.len(), 2, "a repeated completion copies nothing again");
});

store_test!(
    /// Today: open tasks due before today (overdue) and during today in the user's zone, by due time.
    /// Upcoming: each of the next days with its open tasks and the coming occurrences of recurring tasks
    /// where they fall. Completed tasks and archived projects stay out of both.
    today_and_upcoming, |store| {
    // 13:00 on 10 March in Berlin.
    let ada = user(&store, "ada@example.com", "Europe/Berlin").await;
    let due = |title: &str, due: &str| NewTask { due: Some(due.into()), ..new(title) };
    store.create_task(&ada, due("Old bill", "2026-03-08T09:00"), now()).await.unwrap();
    store.create_task(&ada, due("Lunch", "2026-03-10T12:00"), now()).await.unwrap();
    store.create_task(&ada, due("Sometime today", "2026-03-10"), now()).await.unwrap();
    store.create_task(&ada, due("Dentist", "2026-03-11T15:00"), now()).await.unwrap();
    store.create_task(&ada, due("Far off", "2026-04-30"), now()).await.unwrap();
    store.create_task(&ada, new("Undated"), now()).await.unwrap();
    store.create_task(&ada, NewTask {
        recurrence: Some(RuleInput { rrule: Some("FREQ=WEEKLY;BYDAY=TU,TH;COUNT=3".into()), ..Default::default() }),
        ..due("Standup", "2026-03-10T09:30")
    }, now()).await.unwrap();
    let done = store.create_task(&ada, due("Done already", "2026-03-10T08:00"), now()).await.unwrap();
    store.complete_task(&ada, done.id, now()).await.unwrap();
    let shelf = store.create_project(&ada, ProjectInput { name: "Someday".into(), color: None }, now()).await.unwrap();
    store.create_task(&ada, NewTask { project_id: Some(shelf.id), ..due("Shelved", "2026-03-10T10:00") }, now()).await.unwrap();
    store.update_project(&ada, shelf.id, ProjectPatch { archived: Some(true), ..Default::default() }, now()).await.unwrap();

    let today = store.today(&ada, now()).await.unwrap();
    assert_eq!(today.date.to_string(), "2026-03-10");
    assert_eq!(titles(&today.overdue), ["Old bill"]);
    assert_eq!(titles(&today.today), ["Standup", "Lunch", "Sometime today"]);

    let upcoming = store.upcoming(&ada, Some(8), now()).await.unwrap();
    let days: Vec<String> = upcoming.days.iter().map(|d| d.date.to_string()).collect();
    assert_eq!(days.first().map(String::as_str), Some("2026-03-10"));
    assert_eq!((days.len(), days.last().map(String::as_str)), (8, Some("2026-03-17")));
    assert_eq!(titles(&upcoming.days[0].tasks), ["Standup", "Lunch", "Sometime today"]);
    assert!(upcoming.days[0].occurrences.is_empty());
    assert_eq!(titles(&upcoming.days[1].tasks), ["Dentist"]);
    let standups: Vec<(String, String, u32)> = upcoming.days.iter()
        .flat_map(|d| d.occurrences.iter().map(|o| (o.due.date.to_string(), o.due.at.to_string(), o.occurrence)))
        .collect();
    assert_eq!(standups, [
        ("2026-03-12".to_owned(), "2026-03-12T08:30:00Z".to_owned(), 2),
        ("2026-03-17".to_owned(), "2026-03-17T08:30:00Z".to_owned(), 3),
    ], "Thursday, then Tuesday; COUNT=3 ends the series");
    let err = store.upcoming(&ada, Some(0), now()).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(i) if i.field.as_deref() == Some("days")), "{err:?}");
});

store_test!(
    /// Snoozing a reminder that fired re-arms it at the snooze time: it fires again then, as a new event,
    /// and the task's change is an event too. A completed task's reminder is a conflict; another user's is
    /// not found.
    snooze_a_reminder, |store| {
    let ada = user(&store, "ada@example.com", "UTC").await;
    let bob = user(&store, "bob@example.com", "UTC").await;
    let task = store.create_task(&ada, NewTask {
        reminders: Some(vec![ReminderInput { at: Some("2026-03-10T12:00:00Z".into()), minutes_before: None }]),
        ..new("Take the cake out")
    }, now()).await.unwrap();
    let rid = task.reminders[0].id;
    let fired = store.fire_due_reminders(now(), 10).await.unwrap();
    assert_eq!(fired.len(), 1);
    events(&store).await;
    let at: Timestamp = "2026-03-10T12:10:00Z".parse().unwrap();
    let err = store.snooze_reminder(&bob, task.id, rid, at, now()).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    let snoozed = store.snooze_reminder(&ada, task.id, rid, at, now()).await.unwrap();
    assert_eq!((snoozed.fire_at, snoozed.fired_at, snoozed.fired_event_id), (Some(at), None, None));
    assert_eq!(events(&store).await, [
        ("task-events".to_owned(), "todo.task.updated.v1".to_owned()),
        ("task-updates".to_owned(), "todo.task.updated.v1".to_owned()),
    ]);
    assert!(store.fire_due_reminders(now(), 10).await.unwrap().is_empty(), "not before its time");
    let again = store.fire_due_reminders(at, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_ne!(again[0].event_id, fired[0].event_id, "a new firing");
    store.complete_task(&ada, task.id, now()).await.unwrap();
    let err = store.snooze_reminder(&ada, task.id, rid, at, now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { code: "task_completed", .. }), "{err:?}");
});

store_test!(
    /// Alerts: a reminder that fired is an alert until it is dismissed (once; again is a no-op, and the
    /// other tabs hear of it on task-updates only), snoozed, or its task completed, and for at most a week.
    /// Firing again makes it an alert again. Another user's reminder is not found; one that has not fired
    /// cannot be dismissed.
    alerts_until_dismissed, |store| {
    let ada = user(&store, "ada@example.com", "UTC").await;
    let bob = user(&store, "bob@example.com", "UTC").await;
    let at = |s: &str| ReminderInput { at: Some(s.into()), minutes_before: None };
    let cake = store.create_task(&ada, NewTask { reminders: Some(vec![at("2026-03-10T11:00")]), ..new("Cake") }, now()).await.unwrap();
    let call = store.create_task(&ada, NewTask { reminders: Some(vec![at("2026-03-10T11:30"), at("2026-03-12T09:00")]), ..new("Call") }, now()).await.unwrap();
    let (cake_r, call_r, later_r) = (cake.reminders[0].id, call.reminders[0].id, call.reminders[1].id);
    assert!(store.alerts(&ada, now()).await.unwrap().is_empty());
    assert_eq!(store.fire_due_reminders(now(), 10).await.unwrap().len(), 2);
    let alerts = store.alerts(&ada, now()).await.unwrap();
    let seen: Vec<(uuid::Uuid, &str, String)> = alerts.iter().map(|a| (a.reminder_id, a.task.title.as_str(), a.fire_at.to_string())).collect();
    assert_eq!(seen, [(call_r, "Call", "2026-03-10T11:30:00Z".to_owned()), (cake_r, "Cake", "2026-03-10T11:00:00Z".to_owned())]);
    assert_eq!(alerts[0].task, store.get_task(&ada, call.id, now()).await.unwrap());
    assert!(store.alerts(&bob, now()).await.unwrap().is_empty(), "only the owner's");

    events(&store).await;
    assert!(matches!(store.dismiss_reminder(&bob, cake.id, cake_r, now()).await.unwrap_err(), StoreError::NotFound("reminder")));
    let err = store.dismiss_reminder(&ada, call.id, later_r, now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { code: "not_fired", .. }), "{err:?}");
    store.dismiss_reminder(&ada, cake.id, cake_r, now()).await.unwrap();
    store.dismiss_reminder(&ada, cake.id, cake_r, now()).await.unwrap();
    assert_eq!(events(&store).await, [("task-updates".to_owned(), "todo.reminder.dismissed.v1".to_owned())], "one event, for the open tabs only");
    let ids = |alerts: Vec<todo_core::model::Alert>| alerts.into_iter().map(|a| a.reminder_id).collect::<Vec<_>>();
    assert_eq!(ids(store.alerts(&ada, now()).await.unwrap()), [call_r]);

    // Snoozed: no longer an alert; fired again: an alert again, even after a dismissal.
    store.snooze_reminder(&ada, cake.id, cake_r, now() + SignedDuration::from_mins(10), now()).await.unwrap();
    let err = store.dismiss_reminder(&ada, cake.id, cake_r, now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { code: "not_fired", .. }), "{err:?}");
    let later = now() + SignedDuration::from_mins(10);
    assert_eq!(store.fire_due_reminders(later, 10).await.unwrap().len(), 1);
    assert_eq!(ids(store.alerts(&ada, later).await.unwrap()), [cake_r, call_r]);

    store.complete_task(&ada, call.id, later).await.unwrap();
    assert_eq!(ids(store.alerts(&ada, later).await.unwrap()), [cake_r], "a completed task's alerts go");
    let next_week = later + SignedDuration::from_hours(7 * 24) + SignedDuration::from_secs(1);
    assert!(store.alerts(&ada, next_week).await.unwrap().is_empty(), "for a week at most");
});

store_test!(
    /// Each project change tells the owner's open tabs (task-updates only, nothing else reads projects),
    /// in the transaction that made it: creating, changing, deleting (after its tasks' own events).
    project_changes_reach_open_tabs, |store| {
    let ada = user(&store, "ada@example.com", "UTC").await;
    let changed = || ("task-updates".to_owned(), "todo.project.changed.v1".to_owned());
    events(&store).await;
    let garden = store.create_project(&ada, ProjectInput { name: "Garden".into(), color: None }, now()).await.unwrap();
    assert_eq!(events(&store).await, [changed()]);
    store.update_project(&ada, garden.id, ProjectPatch { archived: Some(true), ..Default::default() }, now()).await.unwrap();
    assert_eq!(events(&store).await, [changed()]);
    let err = store.update_project(&ada, ada.id, ProjectPatch { archived: Some(true), ..Default::default() }, now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert!(events(&store).await.is_empty(), "a refused change tells no one");
    store.update_project(&ada, garden.id, ProjectPatch { archived: Some(false), ..Default::default() }, now()).await.unwrap();
    store.create_task(&ada, NewTask { project_id: Some(garden.id), ..new("Mow") }, now()).await.unwrap();
    events(&store).await;
    store.delete_project(&ada, garden.id, ProjectTasks::Move, now()).await.unwrap();
    let updated = |topic: &str| (topic.to_owned(), "todo.task.updated.v1".to_owned());
    assert_eq!(events(&store).await, [updated("task-events"), updated("task-updates"), changed()]);
});
