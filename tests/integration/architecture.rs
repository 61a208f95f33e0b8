//! The shape of `src/`, checked: layers as folders, imports that point down
//! (no cycle between top-level modules), and no file or function too long to
//! read. The limits are those of the architecture issue: 700 raw lines per
//! file outside its test module, 200 lines per function.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 700;
const MAX_FN_LINES: usize = 200;

fn src_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
}

fn sources() -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(src_dir())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// The top-level module a file belongs to (`engine/worst.rs` -> `engine`);
/// `None` for the crate root and `main.rs`.
fn top_module(rel: &str) -> Option<String> {
    let first = rel.split('/').next().unwrap();
    let name = first.trim_end_matches(".rs");
    (name != "lib" && name != "main").then(|| name.to_string())
}

/// Files that are a test module as a whole (declared under `#[cfg(test)]`).
fn is_test_file(rel: &str, all: &[(String, String)]) -> bool {
    let path = Path::new(rel);
    let stem = path.file_stem().unwrap().to_string_lossy();
    let parent_mod = path.parent().map(|p| p.join("mod.rs"));
    let Some(parent_mod) = parent_mod else {
        return false;
    };
    let parent_mod = parent_mod.to_string_lossy().into_owned();
    all.iter()
        .find(|(r, _)| *r == parent_mod)
        .is_some_and(|(_, text)| {
            let lines: Vec<&str> = text.lines().collect();
            lines.windows(2).any(|w| {
                w[0].trim() == "#[cfg(test)]"
                    && (w[1].trim() == format!("mod {stem};")
                        || w[1].trim() == format!("pub(crate) mod {stem};"))
            })
        })
}

/// Lines of a file before its `#[cfg(test)] mod tests` block.
fn lines_outside_tests(text: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .windows(2)
        .position(|w| w[0] == "#[cfg(test)]" && w[1].starts_with("mod "))
        .unwrap_or(lines.len())
}

/// Top-level modules named by `crate::NAME` in `text`.
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        if i > 0 && text.as_bytes()[i - 1].is_ascii_alphanumeric() {
            continue; // e.g. `pivotsim_crate::`
        }
        let rest = &text[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            refs.insert(name);
        }
    }
    refs
}

#[test]
fn no_import_cycle_between_top_level_modules() {
    let all = sources();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in &all {
        let Some(from) = top_module(rel) else {
            continue;
        };
        let code = &text[..text.find("#[cfg(test)]\nmod ").unwrap_or(text.len())];
        let deps = graph.entry(from.clone()).or_default();
        if is_test_file(rel, &all) {
            continue;
        }
        for to in crate_refs(code) {
            if to != from {
                deps.insert(to);
            }
        }
    }
    // Depth-first search for a back edge.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0 {
            let cycle = visit(node, &graph, &mut state, &mut Vec::new());
            assert!(
                cycle.is_none(),
                "import cycle: {}",
                cycle.unwrap().join(" -> ")
            );
        }
    }
}

#[test]
fn layers_are_folders_with_a_doc() {
    let folders: Vec<String> = fs::read_dir(src_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(folders.len() >= 6, "layer folders: {folders:?}");
    for folder in &folders {
        let m = src_dir().join(folder).join("mod.rs");
        let text = fs::read_to_string(&m).unwrap_or_else(|e| panic!("{}: {e}", m.display()));
        assert!(
            text.starts_with("//!"),
            "{folder}/mod.rs must open with a doc saying what the layer owns"
        );
    }
}

#[test]
fn no_file_over_the_line_limit() {
    let all = sources();
    let long: Vec<String> = all
        .iter()
        .filter(|(rel, _)| !is_test_file(rel, &all))
        .map(|(rel, text)| (rel, lines_outside_tests(text)))
        .filter(|(_, n)| *n > MAX_FILE_LINES)
        .map(|(rel, n)| format!("{rel}: {n} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "over {MAX_FILE_LINES} lines outside tests:\n{}",
        long.join("\n")
    );
}

/// Length of each `fn` with a body, from its `fn` line to the closing brace
/// at the same indentation (as rustfmt lays it out).
fn function_lengths(text: &str) -> Vec<(usize, usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
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
            "unsafe fn ",
            "pub unsafe fn ",
        ]
        .iter()
        .any(|p| trimmed.starts_with(p));
        if !is_fn {
            continue;
        }
        let close = format!("{indent}}}");
        for (j, l) in lines.iter().enumerate().skip(i) {
            if l.trim_end().ends_with(';') && j == i {
                break; // a declaration without a body
            }
            if *l == close {
                out.push((i + 1, j - i + 1, trimmed.chars().take(60).collect()));
                break;
            }
        }
    }
    out
}

#[test]
fn no_function_over_the_line_limit() {
    let long: Vec<String> = sources()
        .iter()
        .flat_map(|(rel, text)| {
            function_lengths(text)
                .into_iter()
                .filter(|(_, n, _)| *n > MAX_FN_LINES)
                .map(move |(line, n, sig)| format!("{rel}:{line}: {n} lines: {sig}"))
        })
        .collect();
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_checks_can_fail() {
    let text = "fn a() {\n    1;\n}\n";
    assert_eq!(function_lengths(text), vec![(1, 3, "fn a() {".to_string())]);
    assert_eq!(
        crate_refs("use crate::model::x; crate::stats::y"),
        BTreeSet::from(["model".to_string(), "stats".to_string()])
    );
    assert_eq!(
        lines_outside_tests("a\nb\n#[cfg(test)]\nmod tests {\n}\n"),
        2
    );
}
