//! The template check of `./x test`: `cargo leptos new` from this working tree, as a user runs
//! it (see `cargo-generate.toml`), into a temporary folder, then the new project must carry its
//! name and compile. Its crates build in this workspace's target folder, beside ours, so only
//! they compile, not their dependencies.

use std::{fs, path::Path};

use crate::{Result, cargo, root, run, step};

/// The name the check gives its project.
const NAME: &str = "acme-desk";

/// What `cargo leptos new` writes for the workspace manifest, for a project called `name`:
/// `template/workspace.toml` as Liquid renders it (its leading comment block dropped, the
/// placeholder filled).
fn workspace_manifest(template: &str, name: &str) -> Result<String> {
    let (_, body) = template
        .split_once("{% endcomment -%}\n")
        .ok_or("template/workspace.toml: no leading {% comment %} block")?;
    Ok(body.replace("{{project-name}}", name))
}

/// Generates the project and checks it.
pub fn check() -> Result {
    let root = root();
    let read = |path: &Path| {
        fs::read_to_string(path).map_err(|err| format!("cannot read {}: {err}", path.display()))
    };
    step("template: template/workspace.toml is the root Cargo.toml with the project's name");
    let template = read(&root.join("template/workspace.toml"))?;
    if workspace_manifest(&template, "leptos-live")? != read(&root.join("Cargo.toml"))? {
        return Err(
            "template/workspace.toml and Cargo.toml differ beyond the project's name: \
                    make the same change in both"
                .into(),
        );
    }

    let parent = std::env::temp_dir().join(format!("leptos-live-template-{}", std::process::id()));
    // Outside any workspace: cargo-generate adds a new project to an enclosing one.
    let _ = fs::remove_dir_all(&parent);
    fs::create_dir_all(&parent).map_err(|err| format!("{}: {err}", parent.display()))?;
    let result = generate_and_build(&root, &parent);
    let _ = fs::remove_dir_all(&parent);
    result
}

fn generate_and_build(root: &Path, parent: &Path) -> Result {
    run(
        &format!("template: cargo leptos new --path . --name {NAME}"),
        cargo()
            .current_dir(parent)
            .args(["leptos", "new", "--path"])
            .arg(root)
            .args(["--name", NAME]),
    )?;
    let project = parent.join(NAME);
    let read = |file: &str| {
        fs::read_to_string(project.join(file)).map_err(|err| format!("{NAME}/{file}: {err}"))
    };
    let manifest = read("Cargo.toml")?;
    if !manifest.contains(&format!("name = \"{NAME}\"")) || manifest.contains("leptos-live\"") {
        return Err(format!(
            "{NAME}/Cargo.toml does not carry the output name {NAME:?}"
        ));
    }
    if !read("README.md")?.starts_with(&format!("# {NAME}\n")) {
        return Err(format!("{NAME}/README.md does not start with its name"));
    }
    for file in ["Cargo.toml", "README.md"] {
        if read(file)?.contains("{{") {
            return Err(format!("{NAME}/{file} holds an unrendered placeholder"));
        }
    }
    for leftover in ["template", "cargo-generate.toml", "end2end/node_modules"] {
        if project.join(leftover).exists() {
            return Err(format!("{NAME}/{leftover} should not be in a new project"));
        }
    }
    if !project.join("GUIDE.md").exists() {
        return Err(format!("{NAME}/GUIDE.md (the starter's guide) is missing"));
    }
    let target = root.join("target");
    run(
        &format!("template: {NAME} compiles (cargo check --all-targets)"),
        cargo()
            .current_dir(&project)
            .env("CARGO_TARGET_DIR", &target)
            .args(["check", "--all-targets", "--quiet"]),
    )?;
    run(
        &format!("template: {NAME}'s wasm compiles (cargo check -p frontend, wasm32)"),
        cargo()
            .current_dir(&project)
            .env("CARGO_TARGET_DIR", &target)
            .args([
                "check",
                "--package",
                "frontend",
                "--target",
                "wasm32-unknown-unknown",
                "--quiet",
            ]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The project's manifest is the root one with the name swapped: a change to Cargo.toml
    /// that template/workspace.toml lacks fails here, before any project is generated.
    #[test]
    fn the_template_manifest_is_the_root_one() {
        let root = root();
        let template = fs::read_to_string(root.join("template/workspace.toml")).unwrap();
        let ours = fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert_eq!(workspace_manifest(&template, "leptos-live").unwrap(), ours);
        let theirs = workspace_manifest(&template, NAME).unwrap();
        assert!(theirs.contains("name = \"acme-desk\""));
        assert!(!theirs.contains("leptos-live\""));
    }
}
