//! The module map of docs/ARCHITECTURE.md, checked against the source: data
//! flows one way (store → stats → cache → jobs → web / cli), so a module
//! may name only modules of a lower layer, and the parts of `web` form no
//! cycle. A `use` that breaks the map fails here with the file and the name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The library's top-level modules, bottom layer first.
const LAYERS: &[&[&str]] = &[
    &["clock", "rules", "i18n", "accounts", "demo", "regions"],
    &["config"],
    &["store"],
    &["stats", "import"],
    &["cache"],
    &["app"],
    &["jobs", "writes"],
    &["control", "web"],
    &["cli"],
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a source file (`src/web/pages/mod.rs` → web::pages).
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix("src").unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The code of a file without its test module.
fn code(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    text.split("#[cfg(test)]").next().unwrap().to_string()
}

/// The first segments of every path after `prefix` (`crate::` or
/// `super::`), expanding one level of `{a, b::c}`.
fn names_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices(prefix) {
        let rest = &code[at + prefix.len()..];
        let group = if let Some(inner) = rest.strip_prefix('{') {
            inner.split('}').next().unwrap_or("")
        } else {
            rest
        };
        for item in group.split(',') {
            let name: String = item
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != "self" {
                names.insert(name);
            }
            if !rest.starts_with('{') {
                break;
            }
        }
    }
    names
}

/// Items `lib.rs` re-exports at the crate's root, with their module.
const ROOT_ITEMS: &[(&str, &str)] = &[("App", "app")];

fn layer_of(module: &str) -> usize {
    let module = ROOT_ITEMS
        .iter()
        .find(|(item, _)| *item == module)
        .map_or(module, |(_, home)| home);
    LAYERS
        .iter()
        .position(|layer| layer.contains(&module))
        .unwrap_or_else(|| panic!("module {module} is missing from LAYERS (and the map)"))
}

fn library_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    files.retain(|f| !f.starts_with("src/bin"));
    files.sort();
    files
}

#[test]
fn every_module_names_only_lower_layers() {
    let mut wrong = Vec::new();
    for file in library_files() {
        let module = module_of(&file);
        let Some(top) = module.first() else { continue };
        for name in names_after(&code(&file), "crate::") {
            if &name != top && layer_of(&name) >= layer_of(top) {
                wrong.push(format!("{}: {top} uses {name}", file.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "against the layer map:\n{}",
        wrong.join("\n")
    );
}

/// The edges between the parts of module `top` (`web::pages` → `web::app`),
/// through `crate::top::X` and, in a part's own file, `super::X`.
fn edges_between_parts(top: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let parts: BTreeSet<String> = library_files()
        .iter()
        .map(|f| module_of(f))
        .filter(|m| m.len() >= 2 && m[0] == top)
        .map(|m| m[1].clone())
        .collect();
    for file in library_files() {
        let module = module_of(&file);
        if module.len() < 2 || module[0] != top {
            continue;
        }
        let code = code(&file);
        let mut used = names_after(&code, &format!("crate::{top}::"));
        if module.len() == 2 {
            used.extend(names_after(&code, "super::"));
        }
        for name in used
            .into_iter()
            .filter(|n| parts.contains(n) && *n != module[1])
        {
            edges.entry(module[1].clone()).or_default().insert(name);
        }
    }
    edges
}

fn reaches(
    edges: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
    seen: &mut BTreeSet<String>,
) -> bool {
    edges
        .get(from)
        .into_iter()
        .flatten()
        .any(|next| next == to || (seen.insert(next.clone()) && reaches(edges, next, to, seen)))
}

#[test]
fn the_parts_of_the_web_layer_and_of_the_store_form_no_cycle() {
    for (top, at_least) in [("web", 10), ("store", 8)] {
        let edges = edges_between_parts(top);
        for part in edges.keys() {
            assert!(
                !reaches(&edges, part, part, &mut BTreeSet::new()),
                "{top}::{part} depends on itself through {edges:?}"
            );
        }
        assert!(
            edges.values().flatten().count() > at_least,
            "the parser found the imports of {top}: {edges:?}"
        );
    }
}

/// The engines behind the seams: only `cache` names the cache's engines
/// (redb, Redis), only `store` the store's (SQLite, PostgreSQL); the
/// modules above read rows through `store::Conn` and `store::DataView`.
#[test]
fn only_the_cache_and_the_store_name_their_engines() {
    let mut wrong = Vec::new();
    for file in library_files() {
        let module = module_of(&file);
        let Some(top) = module.first() else { continue };
        let code = code(&file);
        let mut forbidden = Vec::new();
        if top != "cache" {
            forbidden.extend(["redb::", "redis::"]);
        }
        if top != "store" {
            forbidden.extend(["rusqlite", "postgres::", "::postgres::", "PgStore"]);
        }
        for name in forbidden {
            if code.contains(name) {
                wrong.push(format!("{}: {top} names {name}", file.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "engines named:\n{}", wrong.join("\n"));
}

#[test]
fn no_unsafe_code_in_the_library_or_the_binary() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut unsafe_at = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|w| w == "unsafe")
            {
                unsafe_at.push(format!("{}:{}", file.display(), n + 1));
            }
        }
    }
    assert!(files.len() > 50, "the sources were found");
    assert!(unsafe_at.is_empty(), "unsafe code at {unsafe_at:?}");
}

#[test]
fn no_function_is_longer_than_eighty_lines() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut long = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            let is_fn = [
                "fn ",
                "pub fn ",
                "pub(crate) fn ",
                "pub(super) fn ",
                "const fn ",
                "pub const fn ",
            ]
            .iter()
            .any(|p| trimmed.starts_with(p));
            if !is_fn || line.trim_end().ends_with(';') {
                continue;
            }
            // The body ends at the first `}` at the indentation of `fn`.
            let end = lines[i + 1..]
                .iter()
                .position(|l| l.trim_end() == format!("{indent}}}"))
                .map_or(lines.len(), |n| i + 1 + n);
            if end - i + 1 > 80 {
                long.push(format!(
                    "{}:{} ({} lines)",
                    file.display(),
                    i + 1,
                    end - i + 1
                ));
            }
        }
    }
    assert!(long.is_empty(), "functions over 80 lines: {long:?}");
}
