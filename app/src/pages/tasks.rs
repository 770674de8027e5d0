//! `/tasks`: the example live collection's page (see `crate::tasks`). The server renders the
//! listing into the page; the island folds `task:created` / `task:updated` into it from the
//! listing's cursor, so every signed-in user's open page shows every change as it happens.

use leptos::prelude::*;
use leptos_live::{
    collection::{upsert, use_collection_from},
    snapshot,
};

use crate::{
    actions::call,
    components::{ConnectionBadge, Failure, SessionPanel},
    tasks::{AddTask, FinishTask, SHOWN, TASKS, TITLE_MAX, TaskPage, load_tasks},
};

const SNAPSHOT_ID: &str = "tasks-snapshot";

/// The page, rendered on the server only (`SsrMode::Async`: the HTML holds the tasks).
#[component]
pub fn Tasks() -> impl IntoView {
    let page = Resource::new(|| (), |_| load_tasks());
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the tasks…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { {snapshot::embed(SNAPSHOT_ID, page)} <TaskBoard/> }.into_any(),
                    Err(err) => view! { <p class="error">{err.reason}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The live part: the list, the form, who is signed in.
#[island]
fn TaskBoard() -> impl IntoView {
    let Some(page) = snapshot::read::<TaskPage>(SNAPSHOT_ID) else {
        return view! { <p class="error">"The tasks could not be read; reload the page."</p> }
            .into_any();
    };
    // A sign-in or sign-out changes what the page may show: it is rendered again.
    let connection = leptos_live::use_live_connection();
    let reload = Callback::new(move |()| {
        connection.session_changed();
        #[cfg(feature = "hydrate")]
        let _ = window().location().reload();
    });
    let list = match &page.user {
        Some(user) => view! { <TaskList user=user.clone() page=page.clone()/> }.into_any(),
        None => view! {
            <div class="card hint" data-testid="sign-in-hint">
                <h2>"Tasks"</h2>
                <p class="muted">"Sign in as a demo user (top right) to see and add tasks."</p>
            </div>
        }
        .into_any(),
    };
    // Signed out, nothing on the page is live: no badge saying it is connecting.
    let badge = page.user.is_some().then(|| view! { <ConnectionBadge/> });
    view! {
        <section class="page tasks">
            <div class="page-head">
                <div>
                    <h1>"Tasks"</h1>
                    <p class="lede">"A live collection: every signed-in page shows each change as it happens."</p>
                </div>
                <div class="head-tools">
                    {badge}
                    <SessionPanel user=page.user on_change=reload/>
                </div>
            </div>
            {list}
        </section>
    }
    .into_any()
}

#[component]
fn TaskList(user: String, page: TaskPage) -> impl IntoView {
    let tasks = use_collection_from(TASKS, page.listing(), SHOWN);
    let text = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let failed = RwSignal::new(None::<String>);
    // One change at a time; what this page changed shows at once (its own event, arriving
    // later, changes nothing). Plain tasks rather than two `Action`s: less wasm.
    let run = move |change: TaskChange| {
        pending.set(true);
        leptos::task::spawn_local(async move {
            let done = match change {
                TaskChange::Add(add) => {
                    let added = call(add).await;
                    if added.is_ok() {
                        text.set(String::new());
                    }
                    added
                }
                TaskChange::Finish(finish) => call(finish).await,
            };
            match done {
                Ok(task) => {
                    failed.set(None);
                    tasks.maybe_update(|held| upsert(held, task, SHOWN));
                }
                Err(err) => failed.set(Some(err.reason)),
            }
            pending.set(false);
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        run(TaskChange::Add(AddTask {
            text: text.get_untracked(),
        }));
    };
    view! {
        <section class="card" data-testid="tasks">
            <form class="form task-form" on:submit=submit>
                <label>
                    "New task"
                    <input name="text" bind:value=text maxlength=TITLE_MAX required/>
                </label>
                <button type="submit" disabled=pending>"Add"</button>
            </form>
            <Failure reason=failed/>
            <ul class="task-list">
                // Rebuilt in place on each change: a few dozen rows need no keyed diff (and the
                // diff would cost wasm).
                {move || {
                    tasks
                        .get()
                        .into_iter()
                        .map(|task| {
                            let id = task.id;
                            let can_finish = !task.done && task.owner == user;
                            view! {
                                <li data-testid="task" data-task=id data-done=task.done.to_string()>
                                    <span class=if task.done { "task-title done" } else { "task-title" }>
                                        {task.title}
                                    </span>
                                    <span class="muted">{task.owner}</span>
                                    {can_finish
                                        .then(|| {
                                            view! {
                                                <button
                                                    class="secondary"
                                                    disabled=pending
                                                    on:click=move |_| run(TaskChange::Finish(FinishTask { id }))
                                                >
                                                    "Done"
                                                </button>
                                            }
                                                .into_any()
                                        })}
                                </li>
                            }
                                // Type-erased rows: the renderer the Streams page's rows use.
                                .into_any()
                        })
                        .collect::<Vec<_>>()
                }}
            </ul>
            {move || {
                tasks
                    .with(Vec::is_empty)
                    .then(|| view! { <p class="muted empty">"No tasks yet."</p> })
            }}
        </section>
    }
}

enum TaskChange {
    Add(AddTask),
    Finish(FinishTask),
}
