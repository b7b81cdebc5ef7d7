//! Keeps `docs/cloud-office-conformance.md` and the code from drifting
//! apart: its tables are read and checked against officed's route list, its
//! OpenAPI document and the conformance suite's cases (see the document's
//! introduction for the rules).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

const STATUSES: [&str; 4] = ["supported", "differs", "not supported", "extension"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One table: its header cells and its rows' cells, with the heading above.
struct Table {
    heading: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn col(&self, name: &str) -> Option<usize> {
        self.header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    }
}

fn cells(line: &str) -> Vec<String> {
    let t = line.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = t.strip_suffix('|').unwrap_or(t);
    t.split('|').map(|c| c.trim().to_string()).collect()
}

/// Every markdown table of the document.
fn tables(doc: &str) -> Vec<Table> {
    let mut out = Vec::new();
    let mut heading = String::new();
    let lines: Vec<&str> = doc.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.starts_with('#') {
            heading = l.trim_start_matches('#').trim().to_string();
        }
        if l.trim_start().starts_with('|')
            && i + 1 < lines.len()
            && lines[i + 1].trim_start().starts_with("|---")
        {
            let header = cells(l);
            let mut rows = Vec::new();
            i += 2;
            while i < lines.len() && lines[i].trim_start().starts_with('|') {
                rows.push(cells(lines[i]));
                i += 1;
            }
            out.push(Table {
                heading: heading.clone(),
                header,
                rows,
            });
            continue;
        }
        i += 1;
    }
    out
}

/// Backticked `file::case` names in a cell.
fn test_names(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `{anything}` → `{}` and lower case, for comparing route templates
/// (officed matches path words case-insensitively).
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for ch in path.chars() {
        match ch {
            '{' => {
                depth += 1;
                out.push('{');
            }
            '}' => {
                depth -= 1;
                out.push('}');
            }
            _ if depth > 0 => {}
            _ => out.push(ch.to_ascii_lowercase()),
        }
    }
    out
}

/// The cases of the conformance suite: `file -> {case}` from
/// `conformance!(case, ...)` and plain `#[test]` / `#[tokio::test]` functions.
fn suite() -> BTreeMap<String, BTreeSet<String>> {
    let dir = root().join("crates/officed/tests");
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(&dir).expect("tests directory") {
        let p = e.unwrap().path();
        let stem = p.file_stem().unwrap().to_string_lossy().to_string();
        if !stem.starts_with("conformance_") || stem == "conformance_doc" {
            continue;
        }
        let src = std::fs::read_to_string(&p).unwrap();
        let mut cases = BTreeSet::new();
        for (i, _) in src.match_indices("conformance!(") {
            let rest = src[i + "conformance!(".len()..].trim_start();
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            cases.insert(name);
        }
        for (i, _) in src
            .match_indices("#[test]")
            .chain(src.match_indices("#[tokio::test]"))
        {
            if let Some(f) = src[i..].find("fn ") {
                let name: String = src[i + f + 3..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                cases.insert(name);
            }
        }
        out.insert(stem, cases);
    }
    out
}

#[test]
fn conformance_document_matches_routes_openapi_and_suite() {
    let doc = std::fs::read_to_string(root().join("docs/cloud-office-conformance.md"))
        .expect("docs/cloud-office-conformance.md is committed");
    let suite = suite();
    assert!(!suite.is_empty(), "conformance test files found");
    let routes: BTreeSet<(String, String)> = officed::api::all_routes()
        .iter()
        .map(|r| (r.method.as_str().to_string(), shape(r.path)))
        .collect();
    let openapi = officed::openapi::document();
    let mut problems = Vec::new();
    let mut named: BTreeSet<String> = BTreeSet::new();
    let mut documented_routes: BTreeSet<(String, String)> = BTreeSet::new();
    let all = tables(&doc);
    assert!(
        all.len() >= 10,
        "the document's tables were read ({})",
        all.len()
    );
    for t in &all {
        let (Some(sc), tc) = (t.col("Status"), t.col("Tests")) else {
            continue;
        };
        let ops = t.col("Method").zip(t.col("Path"));
        for row in &t.rows {
            let what = format!(
                "{} / {}",
                t.heading,
                row.first().cloned().unwrap_or_default()
            );
            let status = row.get(sc).map(String::as_str).unwrap_or_default();
            if !STATUSES.contains(&status) {
                problems.push(format!(
                    "{what}: status {status:?} is not one of {STATUSES:?}"
                ));
            }
            let tests = tc
                .and_then(|c| row.get(c))
                .map(|c| test_names(c))
                .unwrap_or_default();
            if (status == "supported" || status == "differs") && tests.is_empty() {
                problems.push(format!("{what}: a {status} row names its tests"));
            }
            for n in &tests {
                match n.split_once("::") {
                    Some((file, case)) if suite.get(file).is_some_and(|s| s.contains(case)) => {
                        named.insert(n.clone());
                    }
                    _ => problems.push(format!("{what}: no test {n}")),
                }
            }
            if let Some((mc, pc)) = ops {
                let key = (row[mc].to_ascii_uppercase(), shape(&row[pc]));
                let served = routes.contains(&key);
                match status {
                    "supported" | "differs" | "extension" => {
                        if !served {
                            problems.push(format!(
                                "{what}: {} {} is {status} but not a route of officed",
                                key.0, key.1
                            ));
                        }
                        documented_routes.insert(key.clone());
                    }
                    _ => {
                        if served {
                            problems.push(format!(
                                "{what}: {} {} is a route but marked {status}",
                                key.0, key.1
                            ));
                        }
                    }
                }
                if status == "extension" && served {
                    let path_key = officed::api::all_routes()
                        .into_iter()
                        .find(|r| r.method.as_str() == key.0 && shape(r.path) == key.1)
                        .map(|r| r.path.to_string())
                        .unwrap_or_default();
                    let op = &openapi["paths"][&path_key][key.0.to_ascii_lowercase()];
                    let flagged = op.as_object().is_some_and(|o| {
                        o.iter().any(|(k, v)| {
                            k.starts_with("x-")
                                && k.to_ascii_lowercase().contains("extension")
                                && v != &serde_json::Value::Bool(false)
                                && !v.is_null()
                        })
                    }) || op["tags"]
                        .as_array()
                        .is_some_and(|t| t.iter().any(|x| x == "extension"));
                    if !flagged {
                        problems.push(format!(
                            "{what}: {} {} is an extension; mark it so in the OpenAPI document",
                            key.0, key.1
                        ));
                    }
                }
            }
        }
    }
    for r in &routes {
        if !documented_routes.contains(r) {
            problems.push(format!(
                "route {} {} is not in an operations table of the conformance document",
                r.0, r.1
            ));
        }
    }
    for (file, cases) in &suite {
        for c in cases {
            let n = format!("{file}::{c}");
            if !named.contains(&n) {
                problems.push(format!("conformance case {n} is not named by any row"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "docs/cloud-office-conformance.md and the code disagree:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn route_shapes_ignore_parameter_names() {
    assert_eq!(
        shape("/customers/{c}/domains/{d}/rs/mailboxes/{name}/loginToken"),
        "/customers/{}/domains/{}/rs/mailboxes/{}/logintoken"
    );
    assert_eq!(test_names("`a::b`, `c::d`"), ["a::b", "c::d"]);
    assert_eq!(cells("| a | b |c|"), ["a", "b", "c"]);
}
