use crate::auth::{Auth, RecentAuth};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::CommonErrors;
use crate::routes::deliveries::{attach, with_deliveries};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use todo_core::domain::filter::TaskQueryParams;
use todo_core::model::{
    NewTask, NextOccurrence, Occurrences, OccurrencesParams, RulePreview, Task, TaskPage, TaskPatch,
};
use uuid::Uuid;

/// List tasks: filters, sorting, search and cursor pagination, all combinable.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(TaskQueryParams),
    responses((status = 200, body = TaskPage), CommonErrors), security(("bearer" = [])))]
pub async fn list_tasks(
    State(s): State<AppState>,
    RecentAuth(owner): RecentAuth,
    ApiQuery(params): ApiQuery<TaskQueryParams>,
) -> ApiResult<Json<TaskPage>> {
    let now = Timestamp::now();
    let query = params.validate(&owner.tz, now)?;
    let mut page = s.store.list_tasks(&owner, &query).await?;
    attach(&s.store, owner.id, &mut page.items).await?;
    Ok(Json(page))
}

/// Create a task (with tags, reminders and a recurrence rule if given).
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", request_body = NewTask,
    responses((status = 201, body = Task), (status = 409, body = ErrorBody), CommonErrors), security(("bearer" = [])))]
pub async fn create_task(
    State(s): State<AppState>,
    RecentAuth(owner): RecentAuth,
    ApiJson(input): ApiJson<NewTask>,
) -> ApiResult<(StatusCode, Json<Task>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_task(&owner, input, Timestamp::now()).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = Uuid, Path)),
    responses((status = 200, body = Task), CommonErrors), security(("bearer" = [])))]
pub async fn get_task(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Task>> {
    let task = s.store.get_task(&owner, id, Timestamp::now()).await?;
    Ok(Json(with_deliveries(&s.store, owner.id, task).await?))
}

/// Partial update: only the fields present change; `null` clears `due` or `recurrence`.
#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = Uuid, Path)), request_body = TaskPatch,
    responses((status = 200, body = Task), (status = 409, body = ErrorBody), CommonErrors), security(("bearer" = [])))]
pub async fn update_task(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<TaskPatch>,
) -> ApiResult<Json<Task>> {
    let task = s
        .store
        .update_task(&owner, id, patch, Timestamp::now())
        .await?;
    Ok(Json(with_deliveries(&s.store, owner.id, task).await?))
}

#[utoipa::path(delete, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted"), CommonErrors), security(("bearer" = [])))]
pub async fn delete_task(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    s.store.delete_task(&owner, id, Timestamp::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Complete a task. Idempotent. A recurring task's next occurrence is created by the recurrence worker.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/complete", tag = "tasks", params(("id" = Uuid, Path)),
    responses((status = 200, body = Task), CommonErrors), security(("bearer" = [])))]
pub async fn complete_task(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Task>> {
    let task = s.store.complete_task(&owner, id, Timestamp::now()).await?;
    Ok(Json(with_deliveries(&s.store, owner.id, task).await?))
}

/// Reopen a completed task. Idempotent.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/reopen", tag = "tasks", params(("id" = Uuid, Path)),
    responses((status = 200, body = Task), CommonErrors), security(("bearer" = [])))]
pub async fn reopen_task(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Task>> {
    let task = s.store.reopen_task(&owner, id, Timestamp::now()).await?;
    Ok(Json(with_deliveries(&s.store, owner.id, task).await?))
}

/// Create the occurrence after this one in its series (what the recurrence worker calls). Idempotent:
/// repeating it returns the same next task with `created: false`.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/next-occurrence", tag = "tasks", params(("id" = Uuid, Path)),
    responses((status = 200, body = NextOccurrence), CommonErrors), security(("bearer" = [])))]
pub async fn next_occurrence(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<NextOccurrence>> {
    let mut next = s
        .store
        .create_next_occurrence(&owner, id, Timestamp::now())
        .await?;
    if let Some(task) = next.next.take() {
        next.next = Some(with_deliveries(&s.store, owner.id, task).await?);
    }
    Ok(Json(next))
}

/// The upcoming occurrences of a task's series, this task first: each one's local date, time and instant
/// in your zone. A task that does not recur lists its own due date only.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/occurrences", tag = "tasks", params(("id" = Uuid, Path), OccurrencesParams),
    responses((status = 200, body = Occurrences), CommonErrors), security(("bearer" = [])))]
pub async fn task_occurrences(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<OccurrencesParams>,
) -> ApiResult<Json<Occurrences>> {
    let task = s.store.get_task(&owner, id, Timestamp::now()).await?;
    Ok(Json(Occurrences::of_task(&task, &owner.tz, params.limit)?))
}

/// Preview a rule before saving it: the occurrences a task due `due` with this `recurrence` would have.
#[utoipa::path(post, path = "/api/v1/recurrence/preview", tag = "tasks", request_body = RulePreview,
    responses((status = 200, body = Occurrences), CommonErrors), security(("bearer" = [])))]
pub async fn preview_recurrence(
    Auth(owner): Auth,
    ApiJson(input): ApiJson<RulePreview>,
) -> ApiResult<Json<Occurrences>> {
    Ok(Json(input.occurrences(&owner.tz)?))
}

/// Attach a tag to a task.
#[utoipa::path(put, path = "/api/v1/tasks/{id}/tags/{tag_id}", tag = "tasks", params(("id" = Uuid, Path), ("tag_id" = Uuid, Path)),
    responses((status = 200, body = Task), CommonErrors), security(("bearer" = [])))]
pub async fn attach_tag(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath((id, tag_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<Task>> {
    let task = s
        .store
        .set_task_tag(&owner, id, tag_id, true, Timestamp::now())
        .await?;
    Ok(Json(with_deliveries(&s.store, owner.id, task).await?))
}

/// Detach a tag from a task.
#[utoipa::path(delete, path = "/api/v1/tasks/{id}/tags/{tag_id}", tag = "tasks", params(("id" = Uuid, Path), ("tag_id" = Uuid, Path)),
    responses((status = 200, body = Task), CommonErrors), security(("bearer" = [])))]
pub async fn detach_tag(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath((id, tag_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<Task>> {
    let task = s
        .store
        .set_task_tag(&owner, id, tag_id, false, Timestamp::now())
        .await?;
    Ok(Json(with_deliveries(&s.store, owner.id, task).await?))
}

#[cfg(test)]
mod tests {
    use crate::auth::TokenKeys;
    use crate::config::Cli;
    use crate::live::LiveHub;
    use crate::state::AppState;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use clap::Parser;
    use http_body_util::BodyExt;
    use serde_json::{Value, json};
    use std::sync::Arc;
    use tower::ServiceExt;

    async fn call(
        app: &axum::Router,
        method: &str,
        uri: &str,
        token: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if !token.is_empty() {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = req
            .header("content-type", "application/json")
            .body(if body.is_null() {
                Body::empty()
            } else {
                Body::from(body.to_string())
            })
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    fn instants(body: &Value) -> Vec<&str> {
        body["occurrences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["at"].as_str().unwrap())
            .collect()
    }

    /// A saved task's upcoming occurrences, and an unsaved rule's: in the user's zone, through a DST change,
    /// a skipped date and COUNT; a first due inside the gap keeps the series' 02:30.
    #[tokio::test]
    async fn occurrence_previews() {
        let db = todo_core::testing::TestDb::sqlite().await;
        let cli = Cli::parse_from(["todo-api"]);
        let app = crate::app::build(AppState {
            store: db.store.clone(),
            tokens: Arc::new(TokenKeys::new(b"test-secret", 60)),
            config: Arc::new(cli.config),
            metrics: crate::metrics::handle(),
            live: LiveHub::default(),
        });
        let (status, signup) = call(&app, "POST", "/api/v1/auth/signup", "",
            json!({"email": "ada@example.com", "password": "correct horse", "time_zone": "Europe/Berlin"})).await;
        assert_eq!(status, StatusCode::CREATED, "{signup}");
        let token = signup["token"].as_str().unwrap();
        let (status, task) = call(
            &app,
            "POST",
            "/api/v1/tasks",
            token,
            json!({
                "title": "Stretch", "due": "2026-03-27T09:00",
                "recurrence": {"rrule": "FREQ=DAILY;COUNT=4", "exdates": ["2026-03-29"]},
            }),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{task}");
        let uri = format!(
            "/api/v1/tasks/{}/occurrences?limit=5",
            task["id"].as_str().unwrap()
        );
        let (status, body) = call(&app, "GET", &uri, token, Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            instants(&body),
            [
                "2026-03-27T08:00:00Z",
                "2026-03-28T08:00:00Z",
                "2026-03-30T07:00:00Z"
            ]
        );
        assert_eq!(body["occurrences"][2]["time"], "09:00:00");
        assert_eq!(body["occurrences"][2]["time_zone"], "Europe/Berlin");

        let (status, body) = call(
            &app,
            "POST",
            "/api/v1/recurrence/preview",
            token,
            json!({
                "due": "2026-03-29T02:30", "recurrence": {"rrule": "FREQ=DAILY"}, "limit": 3,
            }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            instants(&body),
            [
                "2026-03-29T01:30:00Z",
                "2026-03-30T00:30:00Z",
                "2026-03-31T00:30:00Z"
            ]
        );

        let (status, plain) = call(
            &app,
            "POST",
            "/api/v1/tasks",
            token,
            json!({"title": "Once", "due": "2026-05-01"}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        let uri = format!(
            "/api/v1/tasks/{}/occurrences",
            plain["id"].as_str().unwrap()
        );
        let (_, body) = call(&app, "GET", &uri, token, Value::Null).await;
        assert_eq!(body["occurrences"].as_array().unwrap().len(), 1);
        assert_eq!(body["occurrences"][0]["date"], "2026-05-01");

        for (body, field) in [
            (
                json!({"due": "2026-01-01", "recurrence": {"rrule": "FREQ=DAILY"}, "limit": 0}),
                "limit",
            ),
            (
                json!({"due": "2026-01-01", "recurrence": {"rrule": "FREQ=DAILY;UNTIL=2027x"}}),
                "recurrence.rrule",
            ),
            (
                json!({"due": "soon", "recurrence": {"rrule": "FREQ=DAILY"}}),
                "due",
            ),
        ] {
            let (status, err) = call(&app, "POST", "/api/v1/recurrence/preview", token, body).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
            assert_eq!(err["error"]["field"], field, "{err}");
        }
        let uri = format!(
            "/api/v1/tasks/{}/occurrences?limit=101",
            task["id"].as_str().unwrap()
        );
        let (status, err) = call(&app, "GET", &uri, token, Value::Null).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert_eq!(err["error"]["field"], "limit");
        db.cleanup().await;
    }
}
