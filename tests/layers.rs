//! The module graph of `src/` has no circle (ARCHITECTURE.md): every `crate::…` and
//! `super::…` path in code (comments and strings aside) is an edge from the module that
//! writes it to the module it names. A node is a top-level module (a file or a folder
//! under `src/`); each kind under `src/kinds/` is a node of its own, so kinds may not
//! import each other in a circle either, while the files inside one kind's folder may.
//! Run by `cargo test` (so by `.ci/run`); on a circle it fails and prints it.
#![allow(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The module path of a source file: `src/a/b.rs` is `a::b`, `src/a/mod.rs` is `a`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_owned());
    }
    parts
}

/// The graph node a module belongs to.
fn node(path: &[String]) -> Option<String> {
    match path {
        [] => None,
        [k, kind, ..] if k == "kinds" => Some(format!("kinds::{kind}")),
        [first, ..] => Some(first.clone()),
    }
}

/// The text with comments, string and char literals blanked (so doc links and messages
/// are not edges).
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if b[i] == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // raw string r"…" / r#"…"#
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push(b[i]);
                i += 1;
                continue;
            }
            j += 1;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while j < b.len() && !b[j..].starts_with(&close) {
                j += 1;
            }
            i = j + close.len();
            out.extend_from_slice(b"\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.extend_from_slice(b"\"\"");
        } else if b[i] == b'\'' && (b.get(i + 2) == Some(&b'\'') || (b.get(i + 1) == Some(&b'\\')))
        {
            // a char literal ('x', '\n', '\''); lifetimes ('a) are left alone
            i += 1;
            if b[i] == b'\\' {
                i += 1;
            }
            while i < b.len() && b[i] != b'\'' {
                i += 1;
            }
            i += 1;
            out.extend_from_slice(b"' '");
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn ident_at(b: &[u8], mut i: usize) -> (String, usize) {
    let start = i;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
        i += 1;
    }
    (String::from_utf8_lossy(&b[start..i]).into_owned(), i)
}

/// Every path that follows `crate::` or `super::` in `code` (a `{…}` group counts each
/// of its items), as the segments after it, with how many `super`s led to it.
fn paths(code: &str) -> Vec<(usize, Vec<String>)> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let boundary = i == 0
            || !(b[i - 1].is_ascii_alphanumeric()
                || b[i - 1] == b'_'
                || b[i - 1] == b'$'
                || b[i - 1] == b':');
        if boundary && (b[i..].starts_with(b"crate::") || b[i..].starts_with(b"super::")) {
            let mut supers = 0;
            let mut j = i;
            let is_crate = b[j..].starts_with(b"crate::");
            if is_crate {
                j += "crate::".len();
            } else {
                while b[j..].starts_with(b"super::") {
                    supers += 1;
                    j += "super::".len();
                }
            }
            collect(b, j, supers, Vec::new(), &mut out);
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// Reads a path (or a `{…}` group of paths) at `i`, appending each to `out`.
fn collect(
    b: &[u8],
    mut i: usize,
    supers: usize,
    prefix: Vec<String>,
    out: &mut Vec<(usize, Vec<String>)>,
) {
    let mut segs = prefix;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] == b'{' {
            // a group: each item is a path continuing the prefix
            i += 1;
            loop {
                while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b',') {
                    i += 1;
                }
                if i >= b.len() || b[i] == b'}' {
                    return;
                }
                let start = i;
                let mut depth = 0;
                while i < b.len() {
                    match b[i] {
                        b'{' => depth += 1,
                        b'}' if depth == 0 => break,
                        b'}' => depth -= 1,
                        b',' if depth == 0 => break,
                        _ => {}
                    }
                    i += 1;
                }
                let item = &b[start..i];
                let mut sub = Vec::new();
                collect(item, 0, supers, segs.clone(), &mut sub);
                if sub.is_empty() {
                    out.push((supers, segs.clone()));
                }
                out.extend(sub);
            }
        }
        let (id, next) = ident_at(b, i);
        if id.is_empty() {
            break;
        }
        segs.push(id);
        i = next;
        if b[i..].starts_with(b"::") {
            i += 2;
        } else {
            break;
        }
    }
    if !segs.is_empty() || supers > 0 {
        out.push((supers, segs));
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The module graph: node -> nodes it imports (with one example file per edge).
fn graph(src: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(src, f)).collect();
    let mut g: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in &files {
        let me = module_of(src, file);
        let Some(from) = node(&me) else { continue }; // lib.rs: the facade
        g.entry(from.clone()).or_default();
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        let mut found = paths(&code);
        // `use child::…` (relative to this module): an edge to the child too
        for (k, _) in code.match_indices("use ") {
            let rest = &code[k + 4..];
            let id: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !id.is_empty()
                && rest[id.len()..].starts_with("::")
                && !["crate", "super", "self", "std", "core", "alloc"].contains(&id.as_str())
            {
                let mut child = me.clone();
                child.push(id);
                if modules.contains(&child) {
                    found.push((usize::MAX, child));
                }
            }
        }
        for (supers, segs) in found {
            if supers == usize::MAX {
                // an absolute module path already
                if let (Some(to), true) = (node(&segs), true)
                    && to != from
                {
                    g.get_mut(&from)
                        .unwrap()
                        .entry(to)
                        .or_insert_with(|| file.strip_prefix(src).unwrap().display().to_string());
                }
                continue;
            }
            // the module a path names: the longest prefix that is a module
            let base: Vec<String> = if supers == 0 {
                Vec::new()
            } else {
                // `super` from a mod.rs file is its parent's parent
                let here = if file.ends_with("mod.rs") {
                    me.clone()
                } else {
                    me[..me.len().saturating_sub(1)].to_vec()
                };
                let here: Vec<String> = if file.ends_with("mod.rs") {
                    here[..here.len().saturating_sub(1)].to_vec()
                } else {
                    here
                };
                here[..here.len().saturating_sub(supers - 1)].to_vec()
            };
            let mut full = base.clone();
            full.extend(segs.iter().cloned());
            let mut target = base;
            for k in (0..=full.len()).rev() {
                if modules.contains(&full[..k]) {
                    target = full[..k].to_vec();
                    break;
                }
            }
            if let Some(to) = node(&target)
                && to != from
            {
                g.get_mut(&from)
                    .unwrap()
                    .entry(to)
                    .or_insert_with(|| file.strip_prefix(src).unwrap().display().to_string());
            }
        }
    }
    g
}

/// A circle of `g`, if there is one.
fn circle(g: &BTreeMap<String, BTreeMap<String, String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeMap<String, String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_owned(), 1);
        stack.push(n.to_owned());
        for m in g.get(n).into_iter().flat_map(|e| e.keys()) {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|s| s == m).unwrap();
                    let mut c = stack[at..].to_vec();
                    c.push(m.clone());
                    return Some(c);
                }
                0 => {
                    if let Some(c) = visit(m, g, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in g.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(c) = visit(n, g, &mut state, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn the_module_graph_has_no_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let g = graph(&src);
    if std::env::var_os("RAPYER_PRINT_GRAPH").is_some() {
        for (n, e) in &g {
            println!(
                "{n} -> {}",
                e.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        }
    }
    if let Some(c) = circle(&g) {
        let steps: Vec<String> = c
            .windows(2)
            .map(|w| format!("{} -> {} (in {})", w[0], w[1], g[&w[0]][&w[1]]))
            .collect();
        let all: Vec<String> = g
            .iter()
            .map(|(n, e)| {
                format!(
                    "{n} -> {}",
                    e.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        panic!(
            "import circle:\n  {}\nthe whole graph:\n  {}",
            steps.join("\n  "),
            all.join("\n  ")
        );
    }
}

#[test]
fn the_checker_sees_paths_and_groups() {
    let code = code_only(
        "use crate::a::{b, c::{d, e}};\n// crate::comment\nlet s = \"crate::string\";\nsuper::super::x::y();",
    );
    let got = paths(&code);
    assert!(got.contains(&(0, vec!["a".into(), "b".into()])), "{got:?}");
    assert!(
        got.contains(&(0, vec!["a".into(), "c".into(), "d".into()])),
        "{got:?}"
    );
    assert!(got.contains(&(2, vec!["x".into(), "y".into()])), "{got:?}");
    assert!(!got.iter().any(|(_, s)| s.contains(&"comment".to_string())));
    assert!(!got.iter().any(|(_, s)| s.contains(&"string".to_string())));
    let mut g = BTreeMap::new();
    g.insert(
        "a".to_string(),
        BTreeMap::from([("b".to_string(), "a.rs".to_string())]),
    );
    g.insert(
        "b".to_string(),
        BTreeMap::from([("a".to_string(), "b.rs".to_string())]),
    );
    assert_eq!(circle(&g), Some(vec!["a".into(), "b".into(), "a".into()]));
}
