//! The example live collection (README, "Add a live collection"): tasks that any signed-in
//! user adds and only their owner marks done, shown live to every signed-in user on `/tasks`.
//!
//! Three files make it: this one (the item, its rules, its actions), one line registering its
//! channel (`server/src/feeds/mod.rs`) and its page (`pages/tasks.rs`). The engine does
//! the rest: ids, bounds, compare-and-set, storage in memory or Redis, the `task:created` /
//! `task:updated` events and folding them into the page (`leptos_live::collection`).

use leptos::prelude::*;
use leptos_live::collection::{Item, Listing, Rules};
use serde::{Deserialize, Serialize};

use crate::actions::{ActionError, JsonResult};

/// The channel of the tasks; signed-in users may listen.
pub const TASKS: &str = "tasks";

/// Open tasks per user, and done tasks kept (the oldest done go first).
pub const RULES: Rules = Rules {
    active_per_owner: 20,
    retired_kept: 100,
};

/// Tasks a page lists.
pub const SHOWN: usize = 50;

/// The longest title, in characters.
pub const TITLE_MAX: usize = 120;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: u64,
    /// 1 when added, 2 once done.
    pub version: u64,
    pub owner: String,
    pub title: String,
    pub done: bool,
}

impl Item for Task {
    const CREATED: &'static str = "task:created";
    const UPDATED: &'static str = "task:updated";

    fn id(&self) -> u64 {
        self.id
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn owner(&self) -> &str {
        &self.owner
    }

    fn is_active(&self) -> bool {
        !self.done
    }
}

/// What `/tasks` renders from: who is signed in and, if someone is, the newest tasks and the
/// cursor taken before they were read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskPage {
    pub user: Option<String>,
    pub tasks: Vec<Task>,
    pub cursor: String,
}

impl TaskPage {
    /// The listing the page folds events into.
    pub fn listing(&self) -> Listing<Task> {
        Listing {
            items: self.tasks.clone(),
            total: self.tasks.len(),
            cursor: self.cursor.clone(),
        }
    }
}

/// A title as it will be stored: trimmed, 1 to [`TITLE_MAX`] characters.
pub fn title(text: &str) -> Result<String, ActionError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > TITLE_MAX {
        return Err(ActionError::new(
            422,
            format!("title: 1 to {TITLE_MAX} characters"),
        ));
    }
    Ok(text.to_string())
}

/// The page's state for the current user.
#[server(output = JsonResult)]
pub async fn load_tasks() -> Result<TaskPage, ActionError> {
    use crate::actions::server::{collection, hub_refusal, user};
    let Some(user) = user()? else {
        return Ok(TaskPage::default());
    };
    let tasks = collection::<Task>(TASKS, RULES)?;
    let listing = tasks.listing(SHOWN).await.map_err(hub_refusal)?;
    Ok(TaskPage {
        user: Some(user),
        tasks: listing.items,
        cursor: listing.cursor,
    })
}

/// Adds a task for the signed-in user.
#[server(output = JsonResult)]
pub async fn add_task(text: String) -> Result<Task, ActionError> {
    use crate::actions::server::{collection, refusal, signed_in};
    let owner = signed_in()?;
    let title = title(&text).map_err(crate::actions::server::refused)?;
    let task = |id| Task {
        id,
        version: 1,
        owner,
        title,
        done: false,
    };
    let tasks = collection::<Task>(TASKS, RULES)?;
    tasks.create(task, None).await.map_err(refusal)
}

/// Marks one of the signed-in user's tasks done.
#[server(output = JsonResult)]
pub async fn finish_task(id: u64) -> Result<Task, ActionError> {
    use crate::actions::server::{collection, refusal, signed_in};
    let user = signed_in()?;
    let finish = |task: &Task| {
        if task.owner != user {
            return Err(ActionError::new(403, "only its owner can finish a task"));
        }
        if task.done {
            return Err(ActionError::new(409, "this task is done already"));
        }
        Ok(Task {
            done: true,
            version: task.version + 1,
            ..task.clone()
        })
    };
    let tasks = collection::<Task>(TASKS, RULES)?;
    tasks.update(id, None, finish).await.map_err(refusal)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Titles are trimmed; empty or overlong ones are refused with the rule.
    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(title("  ship it ").unwrap(), "ship it");
        for bad in ["", "   ", &"x".repeat(TITLE_MAX + 1)] {
            let err = title(bad).unwrap_err();
            assert_eq!(
                (err.status, err.reason.as_str()),
                (422, "title: 1 to 120 characters")
            );
        }
        assert!(
            title(&"é".repeat(TITLE_MAX)).is_ok(),
            "characters, not bytes"
        );
    }
}
