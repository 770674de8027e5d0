//! Who else is here: how many are watching a channel and, for a signed-in user, who
//! (`presence/{channel}/people`; anonymous pages get counts only, see SECURITY.md).

use leptos::prelude::*;

use crate::events::Watching;

/// `watching` in words: `alice, bob and 2 guests`; the count alone where no names came.
pub fn who(watching: &Watching) -> String {
    let mut parts: Vec<String> = watching.people.clone();
    if !parts.is_empty() && watching.more > 0 {
        parts.push(format!("{} more", watching.more));
    }
    if watching.guests > 0 {
        let s = if watching.guests == 1 { "" } else { "s" };
        parts.push(format!("{} guest{s}", watching.guests));
    }
    match parts.len() {
        0 => String::new(),
        1 => parts.remove(0),
        n => {
            let last = parts.remove(n - 1);
            format!("{} and {last}", parts.join(", "))
        }
    }
}

/// A pill with how many watch, the names beside it where the page may know them.
#[component]
pub fn WatchingNow(watching: RwSignal<Watching>) -> impl IntoView {
    let count = move || watching.with(|w| w.streams.to_string());
    view! {
        <span class="presence" data-testid="presence" title=move || watching.with(who)>
            <span class="presence-count" data-testid="presence-count">{count}</span>
            " watching"
            <span
                class="presence-names"
                data-testid="presence-names"
                hidden=move || watching.with(|w| w.people.is_empty())
            >
                ": "
                {move || watching.with(who)}
            </span>
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names, then the rest counted; guests by number.
    #[test]
    fn who_reads_as_a_sentence() {
        let w = |people: &[&str], more, guests| Watching {
            streams: 0,
            guests,
            people: people.iter().map(|p| p.to_string()).collect(),
            more,
        };
        assert_eq!(who(&w(&[], 0, 0)), "");
        assert_eq!(who(&w(&["alice"], 0, 0)), "alice");
        assert_eq!(who(&w(&["alice", "bob"], 0, 2)), "alice, bob and 2 guests");
        assert_eq!(who(&w(&["alice"], 3, 1)), "alice, 3 more and 1 guest");
        assert_eq!(
            who(&w(&[], 2, 1)),
            "1 guest",
            "counts-only: no names, no 'more'"
        );
    }
}
