//! Everything the server and the browser both compile: the HTML shell, the router, pages,
//! components and the wire types.
//!
//! - [`events`]: the wire contract: stream URLs, channel names, one serde type per event.
//! - [`actions`]: sign in and out as server functions; how islands call server functions and
//!   how their bodies reach the server.
//! - [`components`]: the connection badge, the session panel, failures, the build banner.
//! - [`demo`]: the demo (the dashboard at `/` and everything it shows); delete it to remove it. <!-- demo -->
//! - [`tasks`]: the example live collection (README, "Add a live collection").
//! - [`pages`]: tasks (`/tasks`, and `/` without the demo), streams (`/streams`), about (`/about`).
//!
//! Features: `ssr` for the server (renders HTML, browser handles stay inert), `hydrate` for the
//! wasm bundle (hydrates that HTML and opens the streams).

pub mod actions;
pub mod components;
pub mod demo; // demo
pub mod events;
pub mod pages;
pub mod tasks;

use leptos::prelude::*;
use leptos_router::{
    SsrMode,
    components::{A, FlatRoutes, Route, Router},
    path,
};

/// The app's name: its build output's (`[[workspace.metadata.leptos]] name` in the root
/// Cargo.toml, which `cargo leptos new` sets), shown as the page title and the brand.
#[derive(Clone, Debug)]
pub struct AppName(pub String);

/// The HTML document around [`App`]; the server renders it for every page request.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let name = options.output_name.to_string();
    let stylesheet = stylesheet_href(&options);
    provide_context(AppName(name.clone()));
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <meta name="description" content="A live dashboard: every figure updates as it happens."/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                // One title and one stylesheet for every page, written here rather than with
                // leptos_meta (add it back for per-page titles; it costs ~5 KB of brotli wasm).
                // `cargo leptos watch` finds the stylesheet by its href to swap it on a change.
                <title>{name}</title>
                <link rel="stylesheet" href=stylesheet/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options islands=true/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The stylesheet's URL: its content-hashed name when the server renders with hashed names
/// (a release build's `hash.txt` beside the binary; see `server::assets`), else the plain one.
fn stylesheet_href(options: &LeptosOptions) -> String {
    let (pkg, name) = (&options.site_pkg_dir, &options.output_name);
    #[cfg(feature = "ssr")]
    if options.hash_files
        && let Some(hash) = css_hash(&options.hash_file)
    {
        return format!("/{pkg}/{name}.{hash}.css");
    }
    format!("/{pkg}/{name}.css")
}

/// The stylesheet's hash from the hash file beside the binary, read once.
#[cfg(feature = "ssr")]
fn css_hash(file: &str) -> Option<&'static str> {
    static HASH: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let read = || {
        let exe = std::env::current_exe().ok()?;
        let text = std::fs::read_to_string(exe.parent()?.join(file)).ok()?;
        text.lines().find_map(|line| {
            let (ext, hash) = line.split_once(':')?;
            (ext.trim() == "css").then(|| hash.trim().to_string())
        })
    };
    HASH.get_or_init(read).as_deref()
}

/// The application: navigation plus one route per page.
#[component]
pub fn App() -> impl IntoView {
    leptos_live::provide_live_connection();
    // Only the shell provides it; route listing renders without one.
    let name = use_context::<AppName>().map(|n| n.0).unwrap_or_default();

    view! {
        <Router>
            <header class="topbar">
                <a class="brand" href="/">
                    <span class="brand-dot"></span>
                    {name}
                </a>
                <nav>
                    <A href="/">"Dashboard"</A> // demo
                    <A href="/tasks">"Tasks"</A>
                    <A href="/streams">"Streams"</A>
                    <A href="/about">"About"</A>
                </nav>
            </header>
            <components::VersionBanner/>
            <main>
                <FlatRoutes fallback=pages::NotFound>
                    // Async: the server waits for the snapshot, so the HTML holds the data
                    // even for clients without JavaScript.
                    <Route path=path!("/") view=demo::Dashboard ssr=SsrMode::Async/> // demo
                    // without the demo: <Route path=path!("/") view=pages::Tasks ssr=SsrMode::Async/>
                    <Route path=path!("/tasks") view=pages::Tasks ssr=SsrMode::Async/>
                    <Route path=path!("/streams") view=pages::Streams/>
                    <Route path=path!("/about") view=pages::About/>
                </FlatRoutes>
            </main>
        </Router>
    }
}
