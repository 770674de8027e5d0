//! The template check of `./x test`: `cargo leptos new` from this working tree, as a user runs
//! it (see `cargo-generate.toml`), into a temporary folder, in both variants: with the demo
//! (the default) and without it (`CARGO_GENERATE_VALUE_DEMO=false`). Each must carry its name
//! and pass fmt and clippy (native and wasm), and the one without the demo must pass its own server tests. Their crates
//! build in this workspace's target folder, beside ours, so only they compile, not their
//! dependencies.
//!
//! Without the demo, the files that name it on lines marked `// demo` are swapped for their
//! twins in `template/blank/`: the same file without those lines, and with each
//! `// without the demo: CODE` comment turned into `CODE`. `./x template --write` makes the
//! twins; the check (and a unit test) fail when one is out of step with its file.

use std::{
    fs,
    path::{Path, PathBuf},
};

use crate::{Result, cargo, root, run, step};

/// The names the check gives its projects.
const NAME: &str = "acme-desk";
const BLANK: &str = "acme-blank";

/// End a line that only the demo variant keeps (the second in doc comments, where Markdown
/// hides it).
const DEMO_LINE: [&str; 2] = ["// demo", "<!-- demo -->"];
/// Starts a comment whose code only the variant without the demo has.
const BLANK_CODE: &str = "// without the demo: ";
/// Where the twins live.
const TWINS: &str = "template/blank";
/// Source folders whose files may name the demo (its own folders excepted).
const SOURCES: [&str; 2] = ["app/src", "server/src"];
/// The demo's own folders, which the variant without it does not have.
const DEMO_FOLDERS: [&str; 4] = [
    "app/src/demo",
    "server/src/demo",
    "server/tests/demo",
    "end2end/tests/demo",
];

/// The projects' crates have our crates' names and relative paths, so in our target folder
/// cargo would give them our crates' file names: each build would overwrite the other's, and
/// ours could take theirs for up to date. A profile setting of no consequence (codegen units:
/// `units` instead of the default 256) gives each project's crates names of their own; their
/// dependencies stay shared.
fn separate_builds(units: u32) -> Vec<String> {
    ["app", "bench", "frontend", "leptos-live", "server", "xtask"]
        .iter()
        .flat_map(|krate| {
            [
                "--config".to_string(),
                format!("profile.dev.package.{krate}.codegen-units={units}"),
            ]
        })
        .collect()
}

/// What `cargo leptos new` writes for the workspace manifest, for a project called `name`:
/// `template/workspace.toml` as Liquid renders it (its leading comment block dropped, the
/// placeholder filled).
fn workspace_manifest(template: &str, name: &str) -> Result<String> {
    let (_, body) = template
        .split_once("{% endcomment -%}\n")
        .ok_or("template/workspace.toml: no leading {% comment %} block")?;
    Ok(body.replace("{{project-name}}", name))
}

/// `source` without the demo: lines marked `// demo` dropped, `// without the demo: CODE`
/// comments made code.
fn blank_of(source: &str) -> String {
    source
        .split_inclusive('\n')
        .filter(|line| !is_demo_line(line))
        .map(|line| match line.trim_start().strip_prefix(BLANK_CODE) {
            Some(code) => format!("{}{code}", &line[..line.len() - line.trim_start().len()]),
            None => line.to_string(),
        })
        .collect()
}

fn is_demo_line(line: &str) -> bool {
    DEMO_LINE.iter().any(|mark| line.trim_end().ends_with(mark))
}

fn names_the_demo(source: &str) -> bool {
    source
        .lines()
        .any(|line| is_demo_line(line) || line.trim_start().starts_with(BLANK_CODE))
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|err| format!("cannot read {}: {err}", path.display()))
}

/// The `.rs` files under `dir` (relative to `root`), sorted.
fn rust_files(root: &Path, dir: &str, out: &mut Vec<String>) -> Result {
    let entries = fs::read_dir(root.join(dir)).map_err(|err| format!("{dir}: {err}"))?;
    let mut entries: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let rel = path
            .strip_prefix(root)
            .map_err(|err| err.to_string())?
            .to_string_lossy()
            .into_owned();
        if path.is_dir() {
            if !DEMO_FOLDERS.contains(&rel.as_str()) {
                rust_files(root, &rel, out)?;
            }
        } else if rel.ends_with(".rs") {
            out.push(rel);
        }
    }
    Ok(())
}

/// Each file that names the demo, with the twin it should have.
fn expected_twins(root: &Path) -> Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for dir in SOURCES {
        rust_files(root, dir, &mut files)?;
    }
    let mut twins = Vec::new();
    for file in files {
        let source = read(&root.join(&file))?;
        if names_the_demo(&source) {
            twins.push((file, blank_of(&source)));
        }
    }
    Ok(twins)
}

/// What is out of step in `template/blank/` (and, with `write`, puts it right): a twin that
/// differs from its file, is missing, has no file, or is not listed in `template/pre.rhai`.
fn sync_twins(root: &Path, write: bool) -> Result<Vec<String>> {
    let expected = expected_twins(root)?;
    let hook = read(&root.join("template/pre.rhai"))?;
    let mut wrong = Vec::new();
    for (file, twin) in &expected {
        let path = root.join(TWINS).join(file);
        if fs::read_to_string(&path).ok().as_deref() != Some(twin.as_str()) {
            wrong.push(format!("{TWINS}/{file} is not {file} without the demo"));
            if write {
                fs::create_dir_all(path.parent().expect("a file has a folder"))
                    .and_then(|()| fs::write(&path, twin))
                    .map_err(|err| format!("{}: {err}", path.display()))?;
            }
        }
        if !hook.contains(&format!("\"{file}\"")) {
            wrong.push(format!(
                "template/pre.rhai does not list {file} among its twins"
            ));
        }
    }
    let mut present = Vec::new();
    if root.join(TWINS).exists() {
        for dir in SOURCES {
            if root.join(TWINS).join(dir).exists() {
                rust_files(&root.join(TWINS), dir, &mut present)?;
            }
        }
    }
    for file in present {
        if !expected.iter().any(|(f, _)| *f == file) {
            wrong.push(format!("{TWINS}/{file} has no file that names the demo"));
            if write {
                fs::remove_file(root.join(TWINS).join(&file)).map_err(|err| err.to_string())?;
            }
        }
    }
    Ok(wrong)
}

/// `./x template --write`: makes the twins from their files.
pub fn write_twins() -> Result {
    let fixed = sync_twins(&root(), true)?;
    for line in &fixed {
        println!("    fixed: {line}");
    }
    println!("==> template: {} twin(s) rewritten", fixed.len());
    Ok(())
}

/// Whether this is the starter itself, not a project made from it (which has no template).
fn is_the_starter(root: &Path) -> bool {
    root.join("cargo-generate.toml").exists()
}

/// Generates both projects and checks them.
pub fn check() -> Result {
    let root = root();
    if !is_the_starter(&root) {
        step("template: skipped (a project made from the starter has no template to check)");
        return Ok(());
    }
    step("template: template/workspace.toml is the root Cargo.toml with the project's name");
    let template = read(&root.join("template/workspace.toml"))?;
    if workspace_manifest(&template, "leptos-live")? != read(&root.join("Cargo.toml"))? {
        return Err(
            "template/workspace.toml and Cargo.toml differ beyond the project's name: \
                    make the same change in both"
                .into(),
        );
    }
    step("template: template/blank/ holds each file that names the demo, without it");
    let wrong = sync_twins(&root, false)?;
    if !wrong.is_empty() {
        return Err(format!("{}; run ./x template --write", wrong.join("; ")));
    }

    let parent = std::env::temp_dir().join(format!("leptos-live-template-{}", std::process::id()));
    // Outside any workspace: cargo-generate adds a new project to an enclosing one.
    let _ = fs::remove_dir_all(&parent);
    fs::create_dir_all(&parent).map_err(|err| format!("{}: {err}", parent.display()))?;
    let result = generate_and_build(&root, &parent);
    let _ = fs::remove_dir_all(&parent);
    // Their server binary was also copied to target/debug/server, where our tests find ours:
    // remove it (cargo copies ours there again on our next build).
    let _ = fs::remove_file(root.join("target/debug/server"));
    result
}

fn generate(root: &Path, parent: &Path, name: &str, demo: bool) -> Result<PathBuf> {
    let mut command = cargo();
    command
        .current_dir(parent)
        .args(["leptos", "new", "--path"])
        .arg(root)
        .args(["--name", name]);
    let what = if demo {
        format!("template: cargo leptos new --path . --name {name}")
    } else {
        command.env("CARGO_GENERATE_VALUE_DEMO", "false");
        format!("template: CARGO_GENERATE_VALUE_DEMO=false cargo leptos new --path . --name {name}")
    };
    run(&what, &mut command)?;
    let project = parent.join(name);
    let read = |file: &str| read(&project.join(file));
    let manifest = read("Cargo.toml")?;
    if !manifest.contains(&format!("name = \"{name}\"")) || manifest.contains("leptos-live\"") {
        return Err(format!(
            "{name}/Cargo.toml does not carry the output name {name:?}"
        ));
    }
    let readme = read("README.md")?;
    if !readme.starts_with(&format!("# {name}\n")) {
        return Err(format!("{name}/README.md does not start with its name"));
    }
    for (file, text) in [("Cargo.toml", &manifest), ("README.md", &readme)] {
        if text.contains("{{") || text.contains("{%") {
            return Err(format!("{name}/{file} holds an unrendered placeholder"));
        }
    }
    for leftover in ["template", "cargo-generate.toml", "end2end/node_modules"] {
        if project.join(leftover).exists() {
            return Err(format!("{name}/{leftover} should not be in a new project"));
        }
    }
    if !project.join("GUIDE.md").exists() {
        return Err(format!("{name}/GUIDE.md (the starter's guide) is missing"));
    }
    for folder in DEMO_FOLDERS {
        if project.join(folder).exists() != demo {
            return Err(format!(
                "{name}/{folder} should {}be there",
                if demo { "" } else { "not " }
            ));
        }
    }
    if !demo {
        for (file, _) in expected_twins(root)? {
            if names_the_demo(&read(&file)?) {
                return Err(format!("{name}/{file} still names the demo"));
            }
        }
    }
    if readme.contains("demo") != demo {
        return Err(format!(
            "{name}/README.md should {}describe the demo",
            if demo { "" } else { "not " }
        ));
    }
    Ok(project)
}

fn generate_and_build(root: &Path, parent: &Path) -> Result {
    let target = root.join("target");
    for (name, demo, units) in [(NAME, true, 255), (BLANK, false, 254)] {
        let project = generate(root, parent, name, demo)?;
        let in_project = |args: &[&str]| {
            let mut command = cargo();
            command
                .current_dir(&project)
                .env("CARGO_TARGET_DIR", &target);
            if args[0] != "fmt" {
                command.args(separate_builds(units));
            }
            command.args(args);
            command
        };
        run(
            &format!("template: {name} is formatted (cargo fmt --check)"),
            &mut in_project(&["fmt", "--check"]),
        )?;
        run(
            &format!("template: {name} compiles without a lint (cargo clippy --all-targets)"),
            &mut in_project(&["clippy", "--all-targets", "--quiet", "--", "-D", "warnings"]),
        )?;
        run(
            &format!("template: {name}'s wasm compiles without a lint (cargo clippy, wasm32)"),
            &mut in_project(&[
                "clippy",
                "--package",
                "frontend",
                "--target",
                "wasm32-unknown-unknown",
                "--quiet",
                "--",
                "-D",
                "warnings",
            ]),
        )?;
        if !demo {
            run(
                &format!("template: {name} passes its server tests (cargo test -p server)"),
                &mut in_project(&["test", "--package", "server", "--quiet"]),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The project's manifest is the root one with the name swapped: a change to Cargo.toml
    /// that template/workspace.toml lacks fails here, before any project is generated.
    #[test]
    fn the_template_manifest_is_the_root_one() {
        let root = root();
        if !is_the_starter(&root) {
            return; // a project made from the starter has no template
        }
        let template = fs::read_to_string(root.join("template/workspace.toml")).unwrap();
        let ours = fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert_eq!(workspace_manifest(&template, "leptos-live").unwrap(), ours);
        let theirs = workspace_manifest(&template, NAME).unwrap();
        assert!(theirs.contains("name = \"acme-desk\""));
        assert!(!theirs.contains("leptos-live\""));
    }

    /// A file without the demo: its marked lines gone, its "without the demo" code in place,
    /// everything else as it was.
    #[test]
    fn blank_drops_demo_lines_and_keeps_the_rest() {
        let source = "//! - the demo <!-- demo -->\npub mod demo; // demo\npub mod tasks;\n    // without the demo: let home = 1;\n    let x = 2; // demo\n";
        assert_eq!(blank_of(source), "pub mod tasks;\n    let home = 1;\n");
        assert!(names_the_demo(source));
        assert!(!names_the_demo(&blank_of(source)));
        assert_eq!(blank_of("a // demonstrates\n"), "a // demonstrates\n");
    }

    /// Every twin in template/blank/ is its file without the demo, and pre.rhai swaps it in.
    #[test]
    fn the_twins_are_in_step() {
        if !is_the_starter(&root()) {
            return; // a project made from the starter has no template
        }
        let wrong = sync_twins(&root(), false).unwrap();
        assert!(wrong.is_empty(), "{wrong:#?}\nrun ./x template --write");
        assert!(expected_twins(&root()).unwrap().len() >= 5);
    }
}
