//! The Today and Upcoming views: open tasks by day in the user's zone, and the coming occurrences of
//! recurring tasks where they fall. Built on the listing (so archived projects stay out, and every task is
//! read as a listing reads it).

use crate::domain::due::{Due, local_day_bounds};
use crate::domain::filter::{Cursor, MAX_PAGE_SIZE, Order, SortKey, TagMode, TaskQuery};
use crate::domain::task::Status;
use crate::error::{Invalid, StoreResult};
use crate::model::{ProjectedOccurrence, Task, TodayView, UpcomingDay, UpcomingView};
use crate::store::Store;
use crate::store::rows::Owner;
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};

/// The most days Upcoming spans.
const MAX_UPCOMING_DAYS: u16 = 60;
/// Days Upcoming spans unless asked.
const DEFAULT_UPCOMING_DAYS: u16 = 14;
/// The most tasks one view reads (pages of the listing); a view is for a person to read.
const MAX_VIEW_TASKS: usize = 1000;
/// The most coming occurrences shown for one series (a daily one over 60 days).
const MAX_PROJECTED: usize = 60;

impl Store {
    pub async fn today(&self, owner: &Owner, now: Timestamp) -> StoreResult<TodayView> {
        let date = now.to_zoned(owner.tz.clone()).date();
        let (start, end) = local_day_bounds(date, &owner.tz);
        let tasks = self.open_due_before(owner, end, now).await?;
        let (overdue, today) = tasks
            .into_iter()
            .partition(|t| t.due.as_ref().is_some_and(|d| d.at < start));
        Ok(TodayView {
            date,
            overdue,
            today,
        })
    }

    pub async fn upcoming(
        &self,
        owner: &Owner,
        days: Option<u16>,
        now: Timestamp,
    ) -> StoreResult<UpcomingView> {
        let days = days.unwrap_or(DEFAULT_UPCOMING_DAYS);
        if !(1..=MAX_UPCOMING_DAYS).contains(&days) {
            return Err(Invalid::new(
                "out_of_range",
                "days",
                format!("days must be 1..={MAX_UPCOMING_DAYS}"),
            )
            .into());
        }
        let tz = &owner.tz;
        let first = now.to_zoned(tz.clone()).date();
        let dates: Vec<Date> = first.series(1.day()).take(usize::from(days)).collect();
        let last = *dates.last().unwrap_or(&first);
        let (start, _) = local_day_bounds(first, tz);
        let (_, end) = local_day_bounds(last, tz);
        let tasks = self.open_due_before(owner, end, now).await?;
        let mut out: Vec<UpcomingDay> = dates
            .iter()
            .map(|&date| UpcomingDay {
                date,
                tasks: vec![],
                occurrences: vec![],
            })
            .collect();
        let day_of = |date: Date| dates.iter().position(|d| *d == date);
        for task in tasks {
            let Some(due) = task.due.clone() else {
                continue;
            };
            if let (Some(series), Some(position)) = (task.recurrence.as_ref(), task.occurrence) {
                let stored = Due::from_stored(due.at.as_millisecond(), due.all_day);
                let current = stored.local_datetime(tz);
                let anchor = task.series_anchor.unwrap_or(current);
                let coming = series.rule.upcoming(
                    tz,
                    anchor,
                    current,
                    due.all_day,
                    position,
                    MAX_PROJECTED + 1,
                );
                for (i, next) in coming.into_iter().enumerate().skip(1) {
                    if next.at_ms() >= end.as_millisecond() {
                        break;
                    }
                    let shown = next.view(tz);
                    if let Some(day) = day_of(shown.date) {
                        out[day].occurrences.push(ProjectedOccurrence {
                            task_id: task.id,
                            title: task.title.clone(),
                            project_id: task.project_id,
                            due: shown,
                            occurrence: position + i as u32,
                        });
                    }
                }
            }
            if due.at >= start
                && let Some(day) = day_of(due.date)
            {
                out[day].tasks.push(task);
            }
        }
        for day in &mut out {
            day.occurrences.sort_by_key(|o| o.due.at);
        }
        Ok(UpcomingView { days: out })
    }

    /// The owner's open tasks due before `end`, earliest first (archived projects left out).
    async fn open_due_before(
        &self,
        owner: &Owner,
        end: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Vec<Task>> {
        let mut query = TaskQuery {
            statuses: vec![Status::Open, Status::InProgress],
            priorities: vec![],
            tags: vec![],
            tag_mode: TagMode::Any,
            due_after: None,
            due_before: Some(end),
            overdue: None,
            due_within: None,
            has_due: Some(true),
            recurring: None,
            project: None,
            parent: None,
            search: None,
            sort: SortKey::Due,
            order: Order::Asc,
            limit: MAX_PAGE_SIZE,
            after: None,
            now,
        };
        let mut tasks = Vec::new();
        loop {
            let page = self.list_tasks(owner, &query).await?;
            tasks.extend(page.items);
            match page.next_cursor {
                Some(cursor) if tasks.len() < MAX_VIEW_TASKS => {
                    query.after = Some(Cursor::decode(&cursor)?);
                }
                _ => return Ok(tasks),
            }
        }
    }
}
