//! Why an action failed, in one line, announced to screen readers.

use leptos::prelude::*;

/// Shows `reason` while there is one. Every form and button row uses this one component, so
/// the browser bundle holds one copy of it.
#[component]
pub fn Failure(#[prop(into)] reason: Signal<Option<String>>) -> impl IntoView {
    move || {
        reason
            .get()
            .map(|reason| view! { <p class="error" role="alert">{reason}</p> })
    }
}
