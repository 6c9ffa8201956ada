//! Projects over HTTP, on SQLite and PostgreSQL: the Inbox, creating, ordering, archiving, moving tasks,
//! deleting with the tasks' fate chosen, and another user's projects out of reach.

use crate::common::*;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

fn names(body: &Value) -> Vec<&str> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect()
}

fn titles(body: &Value) -> Vec<&str> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect()
}

http_test!(
    /// A new account has its Inbox, where tasks go by default; projects take tasks, are listed in the
    /// user's order with their counts, archive (out of listings, closed to new tasks) and delete.
    project_flow, |app| {
    let token = signup(&app, "ada@example.com", "Europe/Rome").await;
    let t = Some(token.as_str());
    let r = call(&app, Method::GET, "/api/v1/projects", t, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(names(&r.body), ["Inbox"]);
    let inbox = r.body[0]["id"].as_str().unwrap().to_owned();
    let me = call(&app, Method::GET, "/api/v1/me", t, None).await;
    assert_eq!(me.body["id"], inbox, "the Inbox's id is the user's");

    let work = call(&app, Method::POST, "/api/v1/projects", t, Some(json!({"name": "Work", "color": "#0a0"}))).await;
    assert_eq!(work.status, StatusCode::CREATED, "{}", work.body);
    assert_eq!(work.body["color"], "#00aa00");
    let work_id = work.body["id"].as_str().unwrap().to_owned();
    let errand = call(&app, Method::POST, "/api/v1/projects", t, Some(json!({"name": "Errands"}))).await;
    let errand_id = errand.body["id"].as_str().unwrap().to_owned();
    let dup = call(&app, Method::POST, "/api/v1/projects", t, Some(json!({"name": "work"}))).await;
    assert_error(&dup, StatusCode::CONFLICT, "project_exists", Some("name"));

    let task = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"title": "Slides", "project_id": work_id}))).await;
    assert_eq!(task.status, StatusCode::CREATED, "{}", task.body);
    assert_eq!(task.body["project_id"], work_id.as_str());
    let milk = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"title": "Milk"}))).await;
    assert_eq!(milk.body["project_id"], inbox.as_str());
    let moved = call(&app, Method::PATCH, &format!("/api/v1/tasks/{}", milk.body["id"].as_str().unwrap()), t,
        Some(json!({"project_id": errand_id}))).await;
    assert_eq!(moved.body["project_id"], errand_id.as_str());
    let listed = call(&app, Method::GET, &format!("/api/v1/tasks?project={work_id}"), t, None).await;
    assert_eq!(titles(&listed.body), ["Slides"]);

    let r = call(&app, Method::PATCH, &format!("/api/v1/projects/{errand_id}"), t, Some(json!({"position": 1}))).await;
    assert_eq!(r.body["position"], 1);
    let r = call(&app, Method::GET, "/api/v1/projects", t, None).await;
    assert_eq!(names(&r.body), ["Inbox", "Errands", "Work"]);
    assert_eq!((r.body[2]["open_tasks"].as_i64(), r.body[2]["task_count"].as_i64()), (Some(1), Some(1)));

    let r = call(&app, Method::PATCH, &format!("/api/v1/projects/{work_id}"), t, Some(json!({"archived": true}))).await;
    assert_eq!(r.body["archived"], true);
    assert_eq!(names(&call(&app, Method::GET, "/api/v1/projects", t, None).await.body), ["Inbox", "Errands"]);
    assert_eq!(names(&call(&app, Method::GET, "/api/v1/projects?archived=true", t, None).await.body), ["Inbox", "Errands", "Work"]);
    assert_eq!(titles(&call(&app, Method::GET, "/api/v1/tasks", t, None).await.body), ["Milk"]);
    let closed = call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"title": "Late", "project_id": work_id}))).await;
    assert_error(&closed, StatusCode::UNPROCESSABLE_ENTITY, "project_archived", Some("project_id"));
    let r = call(&app, Method::PATCH, &format!("/api/v1/projects/{inbox}"), t, Some(json!({"archived": true}))).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "inbox_protected", Some("archived"));
    let r = call(&app, Method::DELETE, &format!("/api/v1/projects/{inbox}"), t, None).await;
    assert_error(&r, StatusCode::CONFLICT, "inbox_protected", Some("id"));

    let r = call(&app, Method::DELETE, &format!("/api/v1/projects/{errand_id}"), t, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let milk = call(&app, Method::GET, &format!("/api/v1/tasks/{}", milk.body["id"].as_str().unwrap()), t, None).await;
    assert_eq!(milk.body["project_id"], inbox.as_str(), "moved to the Inbox by default");
    let r = call(&app, Method::DELETE, &format!("/api/v1/projects/{work_id}?tasks=delete"), t, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let gone = call(&app, Method::GET, &format!("/api/v1/tasks/{}", task.body["id"].as_str().unwrap()), t, None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    for (method, uri, body, field) in [
        (Method::POST, "/api/v1/projects".to_owned(), Some(json!({"name": "  "})), "name"),
        (Method::POST, "/api/v1/projects".to_owned(), Some(json!({"name": "x", "color": "teal"})), "color"),
        (Method::GET, "/api/v1/tasks?project=nope".to_owned(), None, "project"),
        (Method::POST, "/api/v1/tasks".to_owned(), Some(json!({"title": "x", "project_id": work_id})), "project_id"),
    ] {
        let r = call(&app, method, &uri, t, body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {}", r.body);
        assert_eq!(r.body["error"]["field"], field, "{}", r.body);
    }
});

http_test!(
    /// Another user's project is a 404 on its routes, cannot take a task, and filters to nothing.
    projects_are_private, |app| {
    let ada = signup(&app, "ada@example.com", "UTC").await;
    let bob = signup(&app, "bob@example.com", "UTC").await;
    let p = call(&app, Method::POST, "/api/v1/projects", Some(&ada), Some(json!({"name": "Secret plans"}))).await;
    let id = p.body["id"].as_str().unwrap();
    call(&app, Method::POST, "/api/v1/tasks", Some(&ada), Some(json!({"title": "Plan", "project_id": id}))).await;
    for (method, uri, body) in [
        (Method::GET, format!("/api/v1/projects/{id}"), None),
        (Method::PATCH, format!("/api/v1/projects/{id}"), Some(json!({"name": "Mine"}))),
        (Method::DELETE, format!("/api/v1/projects/{id}?tasks=delete"), None),
    ] {
        let r = call(&app, method, &uri, Some(&bob), body).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found", None);
    }
    let r = call(&app, Method::POST, "/api/v1/tasks", Some(&bob), Some(json!({"title": "x", "project_id": id}))).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "unknown_project", Some("project_id"));
    let r = call(&app, Method::GET, &format!("/api/v1/tasks?project={id}"), Some(&bob), None).await;
    assert_eq!(titles(&r.body), Vec::<&str>::new());
    assert_eq!(names(&call(&app, Method::GET, "/api/v1/projects", Some(&bob), None).await.body), ["Inbox"]);
    let r = call(&app, Method::GET, &format!("/api/v1/projects/{id}"), Some(&ada), None).await;
    assert_eq!((r.body["name"].as_str(), r.body["task_count"].as_i64()), (Some("Secret plans"), Some(1)));
});

http_test!(
    /// An assistant organises through MCP as the REST API does: it creates a project, files a task there
    /// (by id, and by `+name` in a quick-add line), and lists the project's tasks and the projects.
    projects_through_mcp, |app| {
    let token = signup(&app, "ada@example.com", "UTC").await;
    let t = Some(token.as_str());
    let tool = |id: u32, name: &str, arguments: Value| json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": name, "arguments": arguments}});
    let garden = call(&app, Method::POST, "/mcp", t, Some(tool(1, "create_project", json!({"name": "Garden", "color": "#2e7d32"})))).await;
    assert_eq!(garden.body["result"]["isError"], false, "{}", garden.body);
    let id = garden.body["result"]["structuredContent"]["id"].as_str().unwrap().to_owned();
    let a = call(&app, Method::POST, "/mcp", t, Some(tool(2, "create_task", json!({"title": "Prune roses", "project_id": id})))).await;
    assert_eq!(a.body["result"]["structuredContent"]["project_id"], id.as_str(), "{}", a.body);
    let b = call(&app, Method::POST, "/mcp", t, Some(tool(3, "create_task", json!({"text": "Mow the lawn saturday +garden"})))).await;
    assert_eq!(b.body["result"]["structuredContent"]["project_id"], id.as_str(), "{}", b.body);
    call(&app, Method::POST, "/api/v1/tasks", t, Some(json!({"title": "Elsewhere"}))).await;
    let listed = call(&app, Method::POST, "/mcp", t, Some(tool(4, "list_tasks", json!({"project": id, "sort": "title"})))).await;
    assert_eq!(titles(&listed.body["result"]["structuredContent"]), ["Mow the lawn", "Prune roses"]);
    let projects = call(&app, Method::POST, "/mcp", t, Some(tool(5, "list_projects", json!({})))).await;
    let counts: Vec<(&str, i64)> = projects.body["result"]["structuredContent"].as_array().unwrap().iter()
        .map(|p| (p["name"].as_str().unwrap(), p["task_count"].as_i64().unwrap())).collect();
    assert_eq!(counts, [("Inbox", 1), ("Garden", 2)]);
    let dup = call(&app, Method::POST, "/mcp", t, Some(tool(6, "create_project", json!({"name": "garden"})))).await;
    assert_eq!(dup.body["result"]["isError"], true);
    assert!(dup.body["result"]["content"][0]["text"].as_str().unwrap().starts_with("project_exists"), "{}", dup.body);
});
