//! The structure the bindings must keep (issue 14), checked on the source so that a change that
//! breaks it fails here rather than in review:
//! - this crate cannot reach a key: no dependency on `signet-keys`, of any kind;
//! - the top-level modules import each other without a circle;
//! - the DSS-X binding never imports the CSC binding, and no binding imports another's
//!   internals except the OAuth2 request types the consent pages render.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{crate_dir, rust_files};

/// The top-level module a source file belongs to (`csc/sign_doc.rs` → `csc`).
fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("file under src");
    let first = rel
        .components()
        .next()
        .expect("a path component")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_owned()
}

/// Source without `//` comments (doc links name modules without importing them).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Which top-level module imports which (`crate::x` paths and `use crate::{x, y}` groups).
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = crate_dir().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| top_module(&src, f))
        .filter(|m| m != "lib")
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = top_module(&src, file);
        let code = code_of(&std::fs::read_to_string(file).expect("readable source"));
        let mut named = Vec::new();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                named.extend(
                    group[..end]
                        .split(',')
                        .map(|item| item.trim().split("::").next().unwrap_or("").to_owned()),
                );
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                named.push(name);
            }
        }
        for to in named {
            if to != from && modules.contains(&to) {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    graph
}

/// A circle in `graph`, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

#[test]
fn the_bindings_cannot_reach_a_key() {
    let manifest =
        std::fs::read_to_string(crate_dir().join("Cargo.toml")).expect("readable Cargo.toml");
    assert!(
        !manifest.contains("signet-keys"),
        "signet-server must not depend on signet-keys: keys are reached through the SAM and \
         the service layer's capabilities only"
    );
}

#[test]
fn modules_import_each_other_without_a_circle() {
    let graph = module_graph();
    assert!(graph.contains_key("csc"), "the scan finds the CSC binding");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import circle: {}", cycle.join(" -> "));
    }
}

#[test]
fn dss_x_never_imports_csc() {
    let graph = module_graph();
    let dss = graph.get("dss").cloned().unwrap_or_default();
    assert!(!dss.contains("csc"), "dss imports {dss:?}");
    let oauth2 = graph.get("oauth2").cloned().unwrap_or_default();
    assert!(
        !oauth2.contains("consent") && !oauth2.contains("csc"),
        "oauth2 imports {oauth2:?}"
    );
}

#[test]
fn the_cycle_finder_finds_a_circle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_cycle(&graph), None);
    graph.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}
