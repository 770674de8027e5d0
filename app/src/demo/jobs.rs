//! The progress demo: start a job, watch its bar fill from its stream, see it complete.

use leptos::prelude::*;
use leptos_live::use_channel_from;

use crate::components::Failure;
use crate::{
    actions::{action, failure},
    demo::{
        actions::StartJob,
        events::{JobComplete, JobStarted, Progress},
    },
};

/// `on_event` hears of each job started and finished here (for the activity feed).
#[component]
pub fn JobDemo(on_event: Callback<String>) -> impl IntoView {
    let start = action::<StartJob>();
    let job = move || start.value().and_then(|r| r.ok());
    Effect::new(move |_| {
        if let Some(job) = job() {
            on_event.run(format!("you started job {}", job.job));
        }
    });
    let failed = move || failure(start);
    view! {
        <section class="card job" data-testid="job">
            <header class="card-header">
                <h2>"Background job"</h2>
                <button disabled=start.pending() on:click=move |_| {
                    start.dispatch(StartJob {});
                }>"Start a job"</button>
            </header>
            {move || job().map(|job| view! { <JobProgress job on_event/> })}
            <Failure reason=Signal::derive(failed)/>
        </section>
    }
    .into_any()
}

/// Subscribes to one job's channel while mounted, from the cursor the job started at: its
/// first progress and its completion arrive however late the stream (re)opens.
#[component]
fn JobProgress(job: JobStarted, on_event: Callback<String>) -> impl IntoView {
    let progress = use_channel_from::<Progress>(job.channel.clone(), &job.cursor);
    let complete = use_channel_from::<JobComplete>(job.channel.clone(), &job.cursor);
    let done = move || complete.latest.get().is_some();
    let name = job.job.clone();
    Effect::new(move |told: Option<bool>| {
        let finished = done();
        if finished && told != Some(true) {
            on_event.run(format!("your job {name} finished"));
        }
        finished
    });
    let percent = move || {
        if done() {
            100
        } else {
            progress.latest.get().map_or(0, |p| p.percent)
        }
    };
    view! {
        <div class="progress" data-testid="progress" data-done=move || done().to_string()>
            <div
                class="bar"
                role="progressbar"
                aria-label="Job progress"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=percent
                // Through the CSS object model: the page's policy refuses `style` attributes.
                style:width=move || format!("{}%", percent())
            ></div>
        </div>
        <p class="muted">
            {job.job} ": "
            <span data-testid="progress-text">
                {move || if done() { "complete".to_string() } else { format!("{}%", percent()) }}
            </span>
        </p>
    }
    .into_any()
}
