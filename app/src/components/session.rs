//! Demo sign-in and sign-out.

use leptos::prelude::*;

use super::Failure;
use crate::actions::{SignIn, SignOut, action, failure};

/// Shows who is signed in with a sign-out button, or buttons to sign in as a demo user.
/// `on_change` runs after either succeeds (the page then reloads its snapshot).
#[component]
pub fn SessionPanel(user: Option<String>, on_change: Callback<()>) -> impl IntoView {
    let sign_in = action::<SignIn>();
    let sign_out = action::<SignOut>();
    Effect::new(move |_| {
        if matches!(sign_in.value(), Some(Ok(()))) || matches!(sign_out.value(), Some(Ok(()))) {
            on_change.run(());
        }
    });
    let failed = move || failure(sign_in).or_else(|| failure(sign_out));
    let pending = move || sign_in.pending().get() || sign_out.pending().get();
    view! {
        <div class="session" data-testid="session">
            {match user {
                Some(user) => view! {
                    <span class="who">"Signed in as " <strong data-testid="user">{user}</strong></span>
                    <button class="secondary" disabled=pending on:click=move |_| {
                        sign_out.dispatch(SignOut {});
                    }>"Sign out"</button>
                }.into_any(),
                None => view! {
                    <span class="who muted">"Sign in as"</span>
                    {["alice", "bob", "carol"].map(|name| view! {
                        <button disabled=pending on:click=move |_| {
                            sign_in.dispatch(SignIn { user: name.to_string() });
                        }>{name}</button>
                    })}
                }.into_any(),
            }}
            <Failure reason=Signal::derive(failed)/>
        </div>
    }
    .into_any()
}
