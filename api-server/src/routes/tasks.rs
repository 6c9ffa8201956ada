use crate::auth::{Auth, ComputeAuth, RecentAuth};
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
use todo_core::domain::quick_add::{self, QuickAddInput, QuickAddView};
use todo_core::model::{
    NewTask, NextOccurrence, Occurrences, OccurrencesParams, RulePreview, Task, TaskPage, TaskPatch,
};
use todo_core::store::Owner;
use todo_core::{Store, StoreError};
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

/// Create a task (with tags, reminders and a recurrence rule if given), from the fields or from one
/// quick-add line in `text` (see `NewTask` for how the two combine).
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

/// Skip this occurrence of a recurring task: the same task moves to its series' next date, uncompleted.
/// A series on a schedule records the skipped date in `recurrence.exdates`; one measured from completion
/// measures the next date from now. The skipped occurrence counts towards `count`.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/skip", tag = "tasks", params(("id" = Uuid, Path)),
    responses((status = 200, body = Task),
        (status = 409, body = ErrorBody, description = "Cannot be skipped: `not_recurring`, `task_completed` \
            (reopen it first), `last_occurrence` (the series has no next date) or `occurrence_exists` (the next \
            occurrence was already created)"),
        CommonErrors), security(("bearer" = [])))]
pub async fn skip_occurrence(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Task>> {
    let task = s
        .store
        .skip_occurrence(&owner, id, Timestamp::now())
        .await?;
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
    ComputeAuth(owner): ComputeAuth,
    ApiJson(input): ApiJson<RulePreview>,
) -> ApiResult<Json<Occurrences>> {
    Ok(Json(input.occurrences(&owner.tz)?))
}

/// Read a quick-add line without creating anything: the title it leaves and what it sets (due date in your
/// zone, recurrence, tags, priority, `+project`, reminders), with the character and byte span of each
/// recognised piece for highlighting. What is read and what stays title is described in the README (Quick
/// add). `POST /api/v1/tasks` with the same `text` creates the task.
#[utoipa::path(post, path = "/api/v1/tasks/parse", tag = "tasks", request_body = QuickAddInput,
    responses((status = 200, body = QuickAddView), CommonErrors), security(("bearer" = [])))]
pub async fn parse_task(
    State(s): State<AppState>,
    // The profile as recently read: a preview asked for as the user types saves a lookup per keystroke.
    ComputeAuth(owner): ComputeAuth,
    ApiJson(input): ApiJson<QuickAddInput>,
) -> ApiResult<Json<QuickAddView>> {
    Ok(Json(read_text(&s.store, &owner, &input.text).await?))
}

/// How `text` reads for `owner` now, with the project it names looked up (as creating would).
pub async fn read_text(store: &Store, owner: &Owner, text: &str) -> ApiResult<QuickAddView> {
    quick_add::check_text(text)?;
    let read = quick_add::parse(text, &owner.tz, Timestamp::now());
    let mut view = read.view(&owner.tz);
    if let Some(name) = &read.project {
        view.project_id = match store.project_for_text(owner, name).await {
            Ok(id) => Some(id),
            Err(StoreError::Invalid(_)) => None,
            Err(e) => return Err(e.into()),
        };
    }
    Ok(view)
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
