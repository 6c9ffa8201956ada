//! docs/crd-reference.md is generated from the CRD (which is generated from operator/src/crd.rs): every
//! field of the TodoPlatform schema with its type, default and description, and every validation rule.
//! `TODO_UPDATE_GENERATED=1` rewrites it; otherwise a drifted copy fails.

use crate::common;

use serde_json::Value;

const REFERENCE: &str = "docs/crd-reference.md";

/// One row of a field table.
struct Field {
    path: String,
    kind: String,
    default: String,
    description: String,
}

/// A table cell: one line, `|` escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn number(value: &Value) -> String {
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 => format!("{}", n as i64),
        _ => value.to_string(),
    }
}

/// What a schema node accepts, in words: type, format, enum, range, length, pattern.
fn kind(schema: &Value) -> String {
    let mut parts = Vec::new();
    let base = if schema["x-kubernetes-int-or-string"] == Value::Bool(true) {
        "integer or string".to_owned()
    } else {
        match schema["type"].as_str() {
            Some("array") => format!("array of {}", kind(&schema["items"])),
            Some("object") if schema.get("additionalProperties").is_some() => {
                format!("map of {}", kind(&schema["additionalProperties"]))
            }
            Some(other) => other.to_owned(),
            None => "any".to_owned(),
        }
    };
    parts.push(base);
    if let Some(format) = schema["format"].as_str() {
        parts.push(format!("format {format}"));
    }
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values
            .iter()
            .map(|v| format!("`{}`", cell(&v.to_string().replace('"', ""))))
            .collect();
        parts.push(format!("one of {}", values.join(", ")));
    }
    match (schema.get("minimum"), schema.get("maximum")) {
        (Some(min), Some(max)) => parts.push(format!("{} to {}", number(min), number(max))),
        (Some(min), None) => parts.push(format!("at least {}", number(min))),
        (None, Some(max)) => parts.push(format!("at most {}", number(max))),
        (None, None) => {}
    }
    match (schema.get("minLength"), schema.get("maxLength")) {
        (Some(min), Some(max)) => parts.push(format!("{}–{} characters", number(min), number(max))),
        (Some(min), None) => parts.push(format!("at least {} characters", number(min))),
        (None, Some(max)) => parts.push(format!("at most {} characters", number(max))),
        (None, None) => {}
    }
    if let Some(pattern) = schema["pattern"].as_str() {
        parts.push(format!("pattern `{}`", cell(pattern)));
    }
    parts.join(", ")
}

/// Every field under `schema` (an object's properties, an array's items, a map's values), depth first
/// in the schema's (alphabetical) order; validation rules collected on the way.
fn walk(path: &str, schema: &Value, fields: &mut Vec<Field>, rules: &mut Vec<(String, String)>) {
    for rule in schema["x-kubernetes-validations"]
        .as_array()
        .into_iter()
        .flatten()
    {
        rules.push((
            path.to_owned(),
            rule["message"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if let Some(properties) = schema["properties"].as_object() {
        for (name, child) in properties {
            let child_path = format!("{path}.{name}");
            let mut kind = kind(child);
            if required.contains(&name.as_str()) {
                kind.push_str(", required");
            }
            fields.push(Field {
                path: child_path.clone(),
                kind,
                default: child
                    .get("default")
                    .map(|d| format!("`{}`", cell(&d.to_string())))
                    .unwrap_or_default(),
                description: cell(child["description"].as_str().unwrap_or_default()),
            });
            walk(&child_path, child, fields, rules);
        }
    }
    if schema["items"].is_object() {
        walk(&format!("{path}[]"), &schema["items"], fields, rules);
    }
    if schema["additionalProperties"].is_object() {
        walk(
            &format!("{path}.<key>"),
            &schema["additionalProperties"],
            fields,
            rules,
        );
    }
}

fn table(fields: &[Field]) -> String {
    let mut out = String::from("| field | type | default | description |\n|---|---|---|---|\n");
    for field in fields {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            field.path, field.kind, field.default, field.description
        ));
    }
    out
}

/// The reference, from the CRD `todo-operator crd` prints.
fn generate() -> String {
    let crd: Value = serde_yaml::from_str(&todo_operator::render::crd_yaml()).expect("CRD YAML");
    let spec = &crd["spec"];
    let version = &spec["versions"][0];
    let root = &version["schema"]["openAPIV3Schema"];
    let mut out = String::new();
    out.push_str(&format!(
        "# TodoPlatform reference\n\n\
         <!-- Generated from the CRD (operator/src/crd.rs) by operator/tests/docs.rs. Do not edit; regenerate with\n\
         `TODO_UPDATE_GENERATED=1 cargo test -p todo-operator --test operator docs::` -->\n\n\
         `apiVersion: {}/{}`, `kind: {}` (short name `{}`), {}. The CRD is \
         [`crds/{}.yaml`](../crds/{}.yaml); the chart installs the same one. Examples: \
         [`examples/`](../examples/) and the [cloud guides](clouds/).\n\n\
         A field left out takes its default; `type` lists what the API server accepts (the operator's own \
         validation, and `todo-operator render`, check the same ranges and rules).\n",
        spec["group"].as_str().expect("group"),
        version["name"].as_str().expect("version"),
        spec["names"]["kind"].as_str().expect("kind"),
        spec["names"]["shortNames"][0].as_str().expect("short name"),
        spec["scope"].as_str().expect("scope").to_lowercase(),
        crd["metadata"]["name"].as_str().expect("name"),
        crd["metadata"]["name"].as_str().expect("name"),
    ));
    for section in ["spec", "status"] {
        let schema = &root["properties"][section];
        let mut fields = Vec::new();
        let mut rules = Vec::new();
        walk(section, schema, &mut fields, &mut rules);
        out.push_str(&format!("\n## `{section}`\n\n"));
        if let Some(description) = schema["description"].as_str() {
            out.push_str(&format!("{}\n\n", cell(description)));
        }
        out.push_str(&table(&fields));
        if !rules.is_empty() {
            out.push_str(&format!(
                "\n### Rules on `{section}`\n\nChecked by the API server (CEL) when a TodoPlatform is \
                 applied, and by the operator:\n\n| on | message |\n|---|---|\n"
            ));
            for (path, message) in rules {
                out.push_str(&format!("| `{path}` | {} |\n", cell(&message)));
            }
        }
    }
    out
}

/// docs/crd-reference.md is what the CRD says.
#[test]
fn crd_reference_matches_the_crd() {
    let generated = generate();
    let path = common::repo_root().join(REFERENCE);
    if std::env::var_os("TODO_UPDATE_GENERATED").is_some() {
        std::fs::write(&path, &generated).expect("write docs/crd-reference.md");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{REFERENCE} is out of date with the CRD; regenerate with \
         `TODO_UPDATE_GENERATED=1 cargo test -p todo-operator --test operator docs::` and commit it"
    );
}

/// The reference names every field of the schema, with its default, and every rule's message: a field
/// the walk skipped would be missing from it.
#[test]
fn crd_reference_covers_every_field_default_and_rule() {
    let generated = generate();
    let crd: Value = serde_yaml::from_str(&todo_operator::render::crd_yaml()).expect("CRD YAML");
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    for (path, default) in [
        ("spec.api.replicas", "`2`"),
        ("spec.database.managed.storage", "`\"1Gi\"`"),
        ("spec.eventing.topics.partitions", ""),
        ("spec.notifications.retry.giveUpAfter", ""),
    ] {
        let row = generated
            .lines()
            .find(|l| l.starts_with(&format!("| `{path}` |")))
            .unwrap_or_else(|| panic!("{path} has a row"));
        assert!(row.contains(default), "{path}: {row}");
    }
    fn count(schema: &Value) -> usize {
        let own = schema["properties"]
            .as_object()
            .map_or(0, |p| p.len() + p.values().map(count).sum::<usize>());
        own + count_nested(schema)
    }
    fn count_nested(schema: &Value) -> usize {
        [&schema["items"], &schema["additionalProperties"]]
            .into_iter()
            .filter(|s| s.is_object())
            .map(count)
            .sum()
    }
    let rows = generated
        .split("\n## `status`")
        .next()
        .and_then(|spec| spec.split("\n### Rules on `spec`").next())
        .expect("a spec section")
        .lines()
        .filter(|l| l.starts_with("| `spec."))
        .count();
    assert_eq!(rows, count(spec), "one row per field of spec");
    let crd_text = todo_operator::render::crd_yaml();
    for message in crd_text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("message: "))
    {
        let message = message.trim_matches(|c| c == '\'' || c == '"');
        assert!(
            generated.contains(&cell(message)),
            "rule message {message:?} is listed"
        );
    }
}

/// Every relative link in README.md and docs/ (the cloud guides included) names a file or directory
/// that exists, so moving an example or a page cannot leave a guide pointing nowhere.
#[test]
fn doc_links_resolve() {
    let root = common::repo_root();
    let mut pages = vec![root.join("README.md")];
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("docs/ exists") {
            let path = entry.expect("readable").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    assert!(
        pages.len() >= 9,
        "README, 5 pages, 4 cloud guides: {pages:?}"
    );
    let mut broken = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).expect("readable");
        for (_, rest) in text.match_indices("](").map(|(i, _)| text.split_at(i + 2)) {
            let target = rest.split(')').next().unwrap_or_default();
            let file = target.split('#').next().unwrap_or_default();
            if file.is_empty() || file.contains("://") || file.starts_with("mailto:") {
                continue;
            }
            let resolved = page.parent().expect("in a directory").join(file);
            if !resolved.exists() {
                broken.push(format!("{}: {target}", page.display()));
            }
        }
    }
    assert!(broken.is_empty(), "links to nothing: {broken:#?}");
}
