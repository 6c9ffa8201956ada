//! Calendar feeds over HTTP, on SQLite and PostgreSQL: created, listed and revoked with a login session; the
//! feed served by its secret alone, only its owner's tasks, never its secret in logs or metrics; and the
//! feed read by independent libraries (python `icalendar` and `recurring-ical-events`, driven by
//! `calendar_oracle.py` beside this file), every occurrence compared with what the API says.

use crate::common::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;
use tracing::instrument::WithSubscriber;

async fn create(app: &axum::Router, session: &str, body: Value) -> Value {
    let r = call(
        app,
        Method::POST,
        "/api/v1/calendar-feeds",
        Some(session),
        Some(body),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

/// The feed URL's path (the URL is absolute when the request named its host).
fn path_of(created: &Value) -> String {
    let url = created["url"].as_str().unwrap();
    let at = url.find("/api/v1/calendar/").unwrap();
    url[at..].to_owned()
}

struct Fetched {
    status: StatusCode,
    content_type: String,
    etag: String,
    body: String,
}

/// GET a feed as a calendar app does: no Authorization header, maybe an If-None-Match.
async fn fetch(app: &axum::Router, path: &str, if_none_match: Option<&str>) -> Fetched {
    let mut req = Request::get(path);
    if let Some(tag) = if_none_match {
        req = req.header("if-none-match", tag);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (status, content_type, etag) = (resp.status(), header("content-type"), header("etag"));
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Fetched {
        status,
        content_type,
        etag,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

async fn task(app: &axum::Router, t: &str, body: Value) -> Value {
    let r = call(app, Method::POST, "/api/v1/tasks", Some(t), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

http_test!(
    /// Feeds are managed with a login session only; the URL is shown once (`tpcal_` secret), listings
    /// never show it; the feed needs no Authorization header, is text/calendar, holds only its owner's
    /// dated tasks (not another user's, not undated ones, not an archived project's), answers 304 to its
    /// ETag until something changes, and is a 404 once revoked, like an unknown secret. Bad names are 422s.
    feeds_over_http, |app| {
    let ada = signup(&app, "ada@example.com", "Europe/Berlin").await;
    let bob = signup(&app, "bob@example.com", "UTC").await;
    let token = call(&app, Method::POST, "/api/v1/tokens", Some(&ada), Some(json!({"name": "script", "scope": "read-write"}))).await;
    let token = token.body["secret"].as_str().unwrap().to_owned();
    let r = call(&app, Method::POST, "/api/v1/calendar-feeds", Some(&token), Some(json!({}))).await;
    assert_error(&r, StatusCode::FORBIDDEN, "session_required", None);
    assert_error(&call(&app, Method::GET, "/api/v1/calendar-feeds", Some(&token), None).await,
        StatusCode::FORBIDDEN, "session_required", None);
    for (name, code) in [(json!("  "), "required"), (json!("x".repeat(101)), "too_long"), (json!("a\u{7}b"), "invalid_characters")] {
        let r = call(&app, Method::POST, "/api/v1/calendar-feeds", Some(&ada), Some(json!({"name": name}))).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, code, Some("name"));
    }
    assert_error(&call(&app, Method::POST, "/api/v1/calendar-feeds", Some(&ada), Some(json!({"nmae": "x"}))).await,
        StatusCode::BAD_REQUEST, "unknown_field", Some("nmae"));

    let req = Request::post("/api/v1/calendar-feeds")
        .header("authorization", format!("Bearer {ada}"))
        .header("content-type", "application/json")
        .header("host", "todo.example.com")
        .header("x-forwarded-proto", "https")
        .body(Body::from(r#"{"name": "Ada's tasks"}"#)).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let feed: Value = serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let url = feed["url"].as_str().unwrap();
    assert!(url.starts_with("https://todo.example.com/api/v1/calendar/tpcal_") && url.ends_with(".ics"), "{url}");
    assert_eq!(feed["name"], "Ada's tasks");
    let unnamed = create(&app, &ada, json!({})).await;
    assert_eq!(unnamed["name"], "TodoPlatform");
    let listed = call(&app, Method::GET, "/api/v1/calendar-feeds", Some(&ada), None).await.body;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(!listed.to_string().contains("tpcal_"), "no secrets in listings: {listed}");
    assert_eq!(listed[0]["id"], feed["id"]);
    assert_eq!(call(&app, Method::GET, "/api/v1/calendar-feeds", Some(&bob), None).await.body, json!([]));

    let project = call(&app, Method::POST, "/api/v1/projects", Some(&ada), Some(json!({"name": "Old"}))).await.body;
    task(&app, &ada, json!({"title": "Dentist, then; lunch", "due": "2026-11-23T09:30", "description": "line one\nline two"})).await;
    task(&app, &ada, json!({"title": "someday"})).await;
    task(&app, &ada, json!({"title": "archived one", "due": "2026-11-24", "project_id": project["id"]})).await;
    task(&app, &bob, json!({"title": "bob's secret plan", "due": "2026-11-23"})).await;
    let pid = project["id"].as_str().unwrap();
    let r = call(&app, Method::PATCH, &format!("/api/v1/projects/{pid}"), Some(&ada), Some(json!({"archived": true}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let path = path_of(&feed);
    let first = fetch(&app, &path, None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.content_type, "text/calendar; charset=utf-8");
    let body = first.body.clone();
    assert!(body.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") && body.ends_with("END:VCALENDAR\r\n"), "{body}");
    for line in ["X-WR-CALNAME:Ada's tasks", "X-WR-TIMEZONE:Europe/Berlin", "CALSCALE:GREGORIAN",
        "TZID:Europe/Berlin", "DTSTART;TZID=Europe/Berlin:20261123T093000",
        "SUMMARY:Dentist\\, then\\; lunch", "DESCRIPTION:line one\\nline two"] {
        assert!(body.contains(&format!("{line}\r\n")), "{line} missing from {body}");
    }
    assert_eq!(body.matches("BEGIN:VEVENT").count(), 1, "undated, archived and bob's tasks stay out: {body}");
    assert!(!body.contains("bob's") && !body.contains("archived one") && !body.contains("someday"));
    assert!(body.split("\r\n").all(|l| l.len() <= 75), "folded: {body}");

    assert!(first.etag.starts_with("W/\""), "{}", first.etag);
    let again = fetch(&app, &path, Some(&first.etag)).await;
    assert_eq!((again.status, again.body.as_str()), (StatusCode::NOT_MODIFIED, ""));
    assert_eq!(again.etag, first.etag);
    assert_eq!(fetch(&app, &path, Some("W/\"other\"")).await.status, StatusCode::OK);
    let r = call(&app, Method::PATCH, &format!("/api/v1/projects/{pid}"), Some(&ada), Some(json!({"archived": false}))).await;
    assert_eq!(r.status, StatusCode::OK);
    let restored = fetch(&app, &path, Some(&first.etag)).await;
    assert_eq!(restored.status, StatusCode::OK, "restoring a project changes the feed");
    assert!(restored.body.contains("SUMMARY:archived one\r\n"));
    assert_ne!(restored.etag, first.etag);

    // Bob's feed is Bob's.
    let bobs = create(&app, &bob, json!({})).await;
    let bob_feed = fetch(&app, &path_of(&bobs), None).await.body;
    assert!(bob_feed.contains("bob's secret plan") && !bob_feed.contains("Dentist"), "{bob_feed}");
    // Another user's feed id is not theirs to revoke; an unknown, malformed or revoked secret is one 404.
    let fid = feed["id"].as_str().unwrap();
    assert_error(&call(&app, Method::DELETE, &format!("/api/v1/calendar-feeds/{fid}"), Some(&bob), None).await,
        StatusCode::NOT_FOUND, "not_found", None);
    assert_eq!(fetch(&app, &path, None).await.status, StatusCode::OK);
    let unknown = fetch(&app, "/api/v1/calendar/tpcal_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics", None).await;
    for other in ["/api/v1/calendar/nothing.ics", &path.replace(".ics", ""), &path.replace(".ics", ".json")] {
        let r = fetch(&app, other, None).await;
        assert_eq!((r.status, &r.body), (StatusCode::NOT_FOUND, &unknown.body), "{other}");
    }
    let r = call(&app, Method::DELETE, &format!("/api/v1/calendar-feeds/{fid}"), Some(&ada), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let revoked = fetch(&app, &path, None).await;
    assert_eq!((revoked.status, &revoked.body), (StatusCode::NOT_FOUND, &unknown.body));
    assert_eq!(fetch(&app, &path, Some(&first.etag)).await.status, StatusCode::NOT_FOUND);
    assert_error(&call(&app, Method::DELETE, &format!("/api/v1/calendar-feeds/{fid}"), Some(&ada), None).await,
        StatusCode::NOT_FOUND, "not_found", None);
    assert_eq!(fetch(&app, &path_of(&unnamed), None).await.status, StatusCode::OK, "the other feed still works");
});

/// Every span and event field a request produces, as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        span.record(&mut Fields(&mut self.0.lock().unwrap()));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut Fields(&mut self.0.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        event.record(&mut Fields(&mut self.0.lock().unwrap()));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

http_test!(
    /// The feed's secret is in its path, so logs and metrics name the route template instead: a request
    /// for a feed (found or not) leaves the template in the request span and the metrics, and the secret
    /// nowhere.
    secret_stays_out_of_logs_and_metrics, |app| {
    let ada = signup(&app, "ada@example.com", "UTC").await;
    let path = path_of(&create(&app, &ada, json!({})).await);
    let secret = path.trim_start_matches("/api/v1/calendar/").trim_end_matches(".ics").to_owned();
    let capture = Capture::default();
    async {
        assert_eq!(fetch(&app, &path, None).await.status, StatusCode::OK);
        assert_eq!(fetch(&app, &path.replace("tpcal_", "tpcal_x"), None).await.status, StatusCode::NOT_FOUND);
    }
    .with_subscriber(capture.clone())
    .await;
    let logged = capture.0.lock().unwrap().clone();
    assert!(logged.contains("path=/api/v1/calendar/{file}"), "{logged}");
    assert!(!logged.contains(&secret), "the secret was logged: {logged}");
    let metrics = raw(&app, Method::GET, "/metrics", None, None).await.body;
    let text = metrics.as_str().unwrap();
    assert!(text.contains(r#"route="/api/v1/calendar/{file}",status="200""#), "{text}");
    assert!(!text.contains(&secret), "the secret is a metrics label");
});

/// Without python3, icalendar and recurring-ical-events the test is skipped, except on CI.
fn oracle_missing() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import icalendar, recurring_ical_events, zoneinfo"])
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return false;
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "CI requires python3 with icalendar and recurring-ical-events (pip install icalendar recurring-ical-events)"
        );
    }
    eprintln!(
        "SKIPPED: python3 with icalendar and recurring-ical-events is not installed (pip install icalendar recurring-ical-events)"
    );
    true
}

const WINDOW: (&str, &str) = ("2026-02-01", "2027-01-01");

/// The feed as the python libraries expand it over `WINDOW`.
fn read_with_python(ics: &str, zone: &str) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/calendar_oracle.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    let input = json!({"ics": ics, "zone": zone, "start": WINDOW.0, "end": WINDOW.1});
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "calendar_oracle.py failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// An occurrence as the oracle writes it: the date of an all-day one, else the UTC instant.
fn occurrence(due: &Value) -> String {
    if due["all_day"].as_bool().unwrap() {
        due["date"].as_str().unwrap().to_owned()
    } else {
        let at: jiff::Timestamp = due["at"].as_str().unwrap().parse().unwrap();
        at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

fn in_window(occ: &str) -> bool {
    let date = &occ[..10];
    date >= WINDOW.0 && date < WINDOW.1
}

/// A user's tasks in one zone, around both of its DST changes: timed series through the spring gap (a
/// wall time inside it) and the autumn fold, all-day series, COUNT, UNTIL as a date and as an instant,
/// EXDATEs given and made by skipping, a completed occurrence and its successor, an occurrence moved off
/// its series' time by hand, and single tasks in the fold (both of its instants).
async fn seed(app: &axum::Router, t: &str, spring: &str, autumn: &str) {
    let rec = |title: &str, due: String, rrule: &str, exdates: Vec<String>| json!({"title": title, "due": due, "recurrence": {"rrule": rrule, "exdates": exdates}});
    let day = |d: &str, n: i64| -> String {
        let d: jiff::civil::Date = d.parse().unwrap();
        d.checked_add(jiff::Span::new().days(n))
            .unwrap()
            .to_string()
    };
    // Daily at 02:30 from four days before the spring change (02:30 does not exist that night).
    let daily = task(
        app,
        t,
        rec(
            "daily 02:30",
            format!("{}T02:30", day(spring, -4)),
            "FREQ=DAILY;COUNT=20",
            vec![day(spring, 3)],
        ),
    )
    .await;
    let id = daily["id"].as_str().unwrap();
    let r = call(
        app,
        Method::POST,
        &format!("/api/v1/tasks/{id}/skip"),
        Some(t),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Weekly at 09:00 on the change's weekday, through the autumn change, until a date, one skipped.
    task(
        app,
        t,
        rec(
            "weekly 09:00",
            format!("{}T09:00", day(autumn, -21)),
            "FREQ=WEEKLY;UNTIL=20261206",
            vec![day(autumn, 7)],
        ),
    )
    .await;
    // Every first Sunday at 01:30 (in New York the 1 November one is in the fold), until an instant.
    task(
        app,
        t,
        rec(
            "first sunday 01:30",
            "2026-06-07T01:30".into(),
            "FREQ=MONTHLY;BYDAY=1SU;UNTIL=20261206T063000Z",
            vec![],
        ),
    )
    .await;
    // All day, twice a week, across both changes.
    task(
        app,
        t,
        rec(
            "all day fri+sun",
            day(spring, -2),
            "FREQ=WEEKLY;BYDAY=FR,SU;COUNT=30",
            vec![day(spring, 7)],
        ),
    )
    .await;
    // All day, monthly on the last day, until an instant in the middle of a day (that day is out).
    task(
        app,
        t,
        rec(
            "month end",
            "2026-02-28".into(),
            "FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20261030T120000Z",
            vec![],
        ),
    )
    .await;
    // Completed once: the done occurrence stands alone, its successor carries the series.
    let monthly = task(
        app,
        t,
        rec(
            "monthly 10:00",
            "2026-03-10T10:00".into(),
            "FREQ=MONTHLY",
            vec![],
        ),
    )
    .await;
    let id = monthly["id"].as_str().unwrap();
    let r = call(
        app,
        Method::POST,
        &format!("/api/v1/tasks/{id}/complete"),
        Some(t),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Moved by hand to 11:00 while its series stays at 08:00.
    let moved = task(
        app,
        t,
        rec(
            "moved",
            "2026-06-01T08:00".into(),
            "FREQ=DAILY;INTERVAL=2;COUNT=8",
            vec![],
        ),
    )
    .await;
    let id = moved["id"].as_str().unwrap();
    let r = call(
        app,
        Method::PATCH,
        &format!("/api/v1/tasks/{id}"),
        Some(t),
        Some(json!({"due": "2026-06-01T11:00"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Single tasks: the autumn fold's wall time as given (its earlier instant), and its later instant.
    task(
        app,
        t,
        json!({"title": "fold, as wall time", "due": format!("{autumn}T01:30")}),
    )
    .await;
    let later = call(app, Method::GET, "/api/v1/me", Some(t), None).await;
    let zone: jiff::tz::TimeZone =
        jiff::tz::TimeZone::get(later.body["time_zone"].as_str().unwrap()).unwrap();
    let wall: jiff::civil::DateTime = format!("{autumn}T01:30").parse().unwrap();
    let second = zone.to_ambiguous_zoned(wall).later().unwrap().timestamp();
    task(
        app,
        t,
        json!({"title": "fold, later instant", "due": second.to_string()}),
    )
    .await;
    task(
        app,
        t,
        json!({"title": "plain all day", "due": "2026-07-04", "description": "a, b; c\\d\n✓"}),
    )
    .await;
}

/// Every task's occurrences in the window as the API gives them (a task's own due date, or its series from
/// it on), keyed by the UIDs the feed uses, and the oracle's: equal, task by task.
async fn compare(app: &axum::Router, t: &str, zone: &str) {
    let feed = create(app, t, json!({})).await;
    let ics = fetch(app, &path_of(&feed), None).await.body;
    let read = read_with_python(&ics, zone);
    assert_eq!(read["zone_mismatches"], json!([]), "{ics}");
    let tasks = call(app, Method::GET, "/api/v1/tasks?limit=100", Some(t), None)
        .await
        .body;
    let mut ours: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut titles = BTreeMap::new();
    for task in tasks["items"].as_array().unwrap() {
        let id = task["id"].as_str().unwrap();
        let occurrences = call(
            app,
            Method::GET,
            &format!("/api/v1/tasks/{id}/occurrences?limit=100"),
            Some(t),
            None,
        )
        .await;
        assert_eq!(occurrences.status, StatusCode::OK, "{}", occurrences.body);
        let list: Vec<String> = if task["status"] == "completed" {
            vec![occurrence(&task["due"])]
        } else {
            occurrences.body["occurrences"]
                .as_array()
                .unwrap()
                .iter()
                .map(occurrence)
                .collect()
        };
        let mut list: Vec<String> = list.into_iter().filter(|o| in_window(o)).collect();
        list.sort();
        let done = task["status"] == "completed";
        let title = task["title"].as_str().unwrap();
        titles.insert(
            id.to_owned(),
            if done {
                format!("✓ {title}")
            } else {
                title.to_owned()
            },
        );
        ours.insert(id.to_owned(), list);
    }
    let mut theirs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (uid, list) in read["events"].as_object().unwrap() {
        let id = uid
            .trim_end_matches("@todoplatform")
            .trim_end_matches("-series");
        assert_eq!(
            read["summaries"][uid].as_str(),
            titles.get(id).map(String::as_str),
            "{uid}"
        );
        let all = theirs.entry(id.to_owned()).or_default();
        all.extend(
            list.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned()),
        );
        all.sort();
    }
    ours.retain(|_, list| !list.is_empty());
    assert_eq!(
        theirs, ours,
        "python's reading of the feed (left) and the API's occurrences (right)\n{ics}"
    );
    assert!(ours.len() >= 10, "every kind of task took part: {ours:?}");
    assert!(
        read["status"]
            .as_object()
            .unwrap()
            .values()
            .any(|s| s == "completed")
    );
}

http_test!(
    /// The feed as independent libraries read it (python icalendar, recurring-ical-events expanding every
    /// series with its EXDATEs, the VTIMEZONE checked against zoneinfo) has exactly the occurrences the API
    /// gives, instant by instant and date by date, in Berlin and in New York across both DST changes.
    feed_agrees_with_python_icalendar, |app| {
    if oracle_missing() {
        return;
    }
    for (email, zone, spring, autumn) in [
        ("berlin@example.com", "Europe/Berlin", "2026-03-29", "2026-10-25"),
        ("newyork@example.com", "America/New_York", "2026-03-08", "2026-11-01"),
    ] {
        let t = signup(&app, email, zone).await;
        seed(&app, &t, spring, autumn).await;
        compare(&app, &t, zone).await;
    }
});
