//! The Today and Upcoming views.

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::routes::CommonErrors;
use crate::routes::deliveries::attach;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use todo_core::model::{TodayView, UpcomingParams, UpcomingView};

/// Today, in your zone: open tasks overdue from earlier days, then those due today (all-day ones and those
/// whose time has passed too), each by due time. Archived projects are left out.
#[utoipa::path(get, path = "/api/v1/views/today", tag = "tasks",
    responses((status = 200, body = TodayView), CommonErrors), security(("bearer" = [])))]
pub async fn today(State(s): State<AppState>, Auth(owner): Auth) -> ApiResult<Json<TodayView>> {
    let mut view = s.store.today(&owner, Timestamp::now()).await?;
    attach(&s.store, owner.id, &mut view.overdue).await?;
    attach(&s.store, owner.id, &mut view.today).await?;
    Ok(Json(view))
}

/// The next `days` days from today (default 14), each with its open tasks and the coming occurrences of
/// recurring tasks that fall on it. Archived projects are left out.
#[utoipa::path(get, path = "/api/v1/views/upcoming", tag = "tasks", params(UpcomingParams),
    responses((status = 200, body = UpcomingView), CommonErrors), security(("bearer" = [])))]
pub async fn upcoming(
    State(s): State<AppState>,
    Auth(owner): Auth,
    ApiQuery(params): ApiQuery<UpcomingParams>,
) -> ApiResult<Json<UpcomingView>> {
    let mut view = s
        .store
        .upcoming(&owner, params.days()?, Timestamp::now())
        .await?;
    for day in &mut view.days {
        attach(&s.store, owner.id, &mut day.tasks).await?;
    }
    Ok(Json(view))
}
