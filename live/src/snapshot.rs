//! The page snapshot: state the server read for a page, carried in the HTML to the island that
//! hydrates it, so the browser starts from exactly what was rendered (no refetch) and resumes
//! the stream from the cursor taken before that state was read.
//!
//! On the server, a page awaits its state (a `Resource` on an `SsrMode::Async` route) and
//! renders [`embed`] beside its island: the value goes into context, for the island to render
//! from without a round trip through JSON, and into a `<script type="application/json">`. In
//! the browser, [`read`] decodes that script. (Not an island prop: the browser would serialize
//! props again when it hydrates, which puts the value's encoder into the wasm, and JSON in an
//! attribute is escaped twice.)
//!
//! ```
//! use leptos_live::snapshot;
//!
//! // Whatever a user typed, the script holds no `<`: nothing can close it or open a comment.
//! let text = snapshot::script_text(&vec!["</script><!--".to_string()]);
//! assert_eq!(text, r#"["\u003c/script>\u003c!--"]"#);
//! let back: Vec<String> = serde_json::from_str(&text).unwrap();
//! assert_eq!(back, ["</script><!--"]);
//! ```

use leptos::prelude::*;
use serde::{Serialize, de::DeserializeOwned};

/// `value` as the text of a JSON script element: every `<` escaped. Cannot fail for plain
/// data (strings, numbers, lists); if it did, [`read`] finds nothing and the island says so.
pub fn script_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_default()
        .replace('<', "\\u003c")
}

/// On the server: provides `value` to the islands rendered after it and writes it into the
/// page as the JSON script `id`, for [`read`] in the browser.
pub fn embed<T>(id: &'static str, value: T) -> impl IntoView
where
    T: Serialize + Clone + Send + Sync + 'static,
{
    let json = script_text(&value);
    provide_context(value);
    view! { <script type="application/json" id=id inner_html=json></script> }
}

/// The value an island starts from: on the server the one [`embed`] provided, in the browser
/// the JSON script `id` decoded. `None` when it is missing or unreadable.
pub fn read<T>(id: &str) -> Option<T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = id;
        use_context::<T>()
    }
    #[cfg(feature = "hydrate")]
    {
        document()
            .get_element_by_id(id)
            .and_then(|script| script.text_content())
            .and_then(|json| serde_json::from_str(&json).ok())
    }
}
