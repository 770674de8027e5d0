//! The notification bell (unread count), toasts for new notifications, and the form that sends
//! one to a user.

use leptos::prelude::*;

use crate::components::Failure;
use crate::{
    actions::{action, failure},
    demo::{actions::SendNotification, events::Notification},
};

/// A bell with the number of unread notifications; clicking marks them read.
#[component]
pub fn NotificationBell(
    #[prop(into)] notifications: Signal<Vec<Notification>>,
    unread: RwSignal<usize>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    view! {
        <div class="bell-wrap">
            <button
                class="bell"
                data-testid="bell"
                aria-label=move || format!("{} unread notifications", unread.get())
                on:click=move |_| {
                    open.update(|o| *o = !*o);
                    unread.set(0);
                }
            >
                <svg viewBox="0 0 24 24" aria-hidden="true">
                    <path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5-6.71V3a2 2 0 1 0-4 0v1.29A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"></path>
                </svg>
                {move || {
                    let unread = unread.get();
                    (unread > 0).then(|| view! { <span class="count" data-testid="unread">{unread}</span> })
                }}
            </button>
            {move || {
                open.get()
                    .then(|| {
                        view! {
                <div class="dropdown" data-testid="notification-list">
                    // Read-only rows, rebuilt in place: no keyed diff needed (and none compiled).
                    {move || {
                        notifications
                            .get()
                            .into_iter()
                            .rev()
                            .map(|n| {
                                view! {
                                    <div class="note">
                                        <strong>{n.title}</strong>
                                        <span class="muted">" from " {n.from}</span>
                                        <p>{n.body}</p>
                                    </div>
                                }
                                    .into_any()
                            })
                            .collect::<Vec<_>>()
                    }}
                    {move || {
                        notifications
                            .with(Vec::is_empty)
                            .then(|| view! { <p class="muted">"Nothing yet."</p> })
                    }}
                </div>
                        }
                    })
            }}
        </div>
    }
    .into_any()
}

/// New notifications, shown briefly in a corner.
#[component]
pub fn Toasts(toasts: RwSignal<Vec<Notification>>) -> impl IntoView {
    view! {
        <div class="toasts" aria-live="polite">
            // A plain list, not a keyed `For`: a toast never changes, and the keyed diff is
            // kilobytes of wasm per item type.
            {move || {
                toasts
                    .get()
                    .into_iter()
                    .map(|n| {
                        view! {
                            <div class="toast" data-testid="toast">
                                <strong>{n.title}</strong>
                                <span class="muted">" from " {n.from}</span>
                                <p>{n.body}</p>
                            </div>
                        }
                    })
                    .collect::<Vec<_>>()
            }}
        </div>
    }
    .into_any()
}

/// Sends a notification to one of the demo users.
#[component]
pub fn SendNotificationForm() -> impl IntoView {
    let send = action::<SendNotification>();
    let to = RwSignal::new("bob".to_string());
    let title = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let failed = move || failure(send);
    let sent = move || matches!(send.value(), Some(Ok(_)));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        send.dispatch(SendNotification {
            to: to.get_untracked(),
            title: title.get_untracked(),
            body: body.get_untracked(),
        });
    };
    view! {
        <form class="card form" data-testid="notify-form" on:submit=submit>
            <h2>"Send a notification"</h2>
            <label>
                "To"
                <select name="to" on:change=move |ev| to.set(event_target_value(&ev))>
                    <option value="bob">"bob"</option>
                    <option value="alice">"alice"</option>
                    <option value="carol">"carol"</option>
                </select>
            </label>
            <label>"Title" <input name="title" bind:value=title maxlength="120" required/></label>
            <label>"Message" <textarea name="body" bind:value=body rows="2"></textarea></label>
            <button type="submit" disabled=send.pending()>
                {move || if send.pending().get() { "Sending…" } else { "Send" }}
            </button>
            {move || sent().then(|| view! { <p class="ok">"Sent."</p> })}
            <Failure reason=Signal::derive(failed)/>
        </form>
    }
    .into_any()
}
