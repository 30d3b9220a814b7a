//! The import check of [`super`]: reads `src/`, so it runs wherever the tests build.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::LAYERS;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Module -> the modules it names as `crate::<module>`, outside tests and comments.
fn imports() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = Graph::new();
    let mut pending = vec![src.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if path.is_dir() {
                if name != "tests" {
                    pending.push(path);
                }
                continue;
            }
            if !name.ends_with(".rs") || name == "tests.rs" {
                continue;
            }
            let relative = path.strip_prefix(&src).expect("under src");
            let first = relative.components().next().expect("a component");
            let module = first.as_os_str().to_str().unwrap_or_default();
            let module = module.strip_suffix(".rs").unwrap_or(module).to_owned();
            if ["lib", "main", "architecture"].contains(&module.as_str()) {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read a source file");
            let code = without_inline_tests(&text);
            let named = graph.entry(module.clone()).or_default();
            for line in code.lines() {
                let line = line.split("//").next().unwrap_or_default();
                for target in named_modules(line) {
                    if target != module {
                        named.insert(target);
                    }
                }
            }
        }
    }
    graph
}

/// `text` up to its first inline test module (`#[cfg(test)]` then `mod <name> {`).
fn without_inline_tests(text: &str) -> &str {
    let mut from = 0;
    while let Some(at) = text[from..].find("#[cfg(test)]\nmod ") {
        let start = from + at;
        let line_end = text[start + "#[cfg(test)]\n".len()..]
            .find('\n')
            .map_or(text.len(), |i| start + "#[cfg(test)]\n".len() + i);
        if text[start..line_end].trim_end().ends_with('{') {
            return &text[..start];
        }
        from = line_end;
    }
    text
}

/// The modules `line` names as `crate::<module>` or in `crate::{<module>, ...}`.
fn named_modules(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in line.match_indices("crate::") {
        let rest = &line[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or_default();
            found.extend(group.split(',').map(|item| ident(item.trim())));
        } else {
            found.push(ident(rest));
        }
    }
    found.retain(|m| !m.is_empty());
    found
}

fn ident(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
        .collect()
}

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|layer| layer.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` is in no layer of src/architecture.rs"))
}

/// The strongly connected groups (more than one module) of `graph`'s edges within a layer.
fn cycles_within_layers(graph: &Graph) -> BTreeSet<Vec<String>> {
    let same_layer = |a: &str, b: &str| layer_of(a) == layer_of(b);
    let reaches = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_owned()];
        while let Some(m) = todo.pop() {
            for next in graph.get(&m).into_iter().flatten() {
                if same_layer(&m, next) && seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let mut groups = BTreeSet::new();
    for module in graph.keys() {
        let ahead = reaches(module);
        let group: Vec<String> = ahead
            .iter()
            .filter(|other| reaches(other).contains(module))
            .cloned()
            .chain(ahead.contains(module).then(|| module.clone()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if group.len() > 1 {
            groups.insert(group);
        }
    }
    groups
}

#[test]
fn every_module_is_in_a_layer() {
    for (module, named) in imports() {
        layer_of(&module);
        for target in named {
            layer_of(&target);
        }
    }
}

#[test]
fn imports_point_down() {
    let graph = imports();
    let upward: Vec<(&String, &String)> = graph
        .iter()
        .flat_map(|(m, named)| named.iter().map(move |t| (m, t)))
        .filter(|(m, t)| layer_of(t) > layer_of(m))
        .collect();
    assert!(
        upward.is_empty(),
        "imports from a lower layer to a higher one (src/architecture.rs): {upward:?}"
    );
}

#[test]
fn no_cycles_within_a_layer() {
    let found = cycles_within_layers(&imports());
    assert!(
        found.is_empty(),
        "modules of one layer that import each other (src/architecture.rs): {found:?}"
    );
}

#[test]
fn the_check_sees_an_upward_import_and_a_cycle() {
    let mut graph = Graph::new();
    graph
        .entry("rest".into())
        .or_default()
        .insert("notify".into());
    graph
        .entry("notify".into())
        .or_default()
        .insert("rest".into());
    graph
        .entry("store".into())
        .or_default()
        .insert("audit".into());
    assert_eq!(
        cycles_within_layers(&graph),
        BTreeSet::from([vec!["notify".to_owned(), "rest".to_owned()]])
    );
    assert!(layer_of("audit") > layer_of("store"));
}

#[test]
fn inline_test_modules_are_left_out() {
    let text = "use crate::fhir::X;\n#[cfg(test)]\nmod tests;\nfn a() {}\n#[cfg(test)]\nmod plan_tests {\n    use crate::store::Y;\n}\n";
    assert_eq!(
        without_inline_tests(text),
        "use crate::fhir::X;\n#[cfg(test)]\nmod tests;\nfn a() {}\n"
    );
}

#[test]
fn the_reader_finds_crate_paths_and_groups() {
    assert_eq!(
        named_modules("use crate::{fhir::ResourceType, store::Store};"),
        ["fhir", "store"]
    );
    assert_eq!(
        named_modules("let x = crate::audit::chain::hash(a);"),
        ["audit"]
    );
    assert!(named_modules("use super::thing;").is_empty());
}
