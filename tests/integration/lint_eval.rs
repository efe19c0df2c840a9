//! pfe's Prosody-mode evaluation against Prosody's own: every config under
//! tests/lint-eval/ and tests/corpus/configs/ is evaluated by Prosody 13's
//! configmanager (tests/corpus/prosody-eval.lua run by Prosody's lua5.4) and
//! by `pfe_core::lint::lint_file`, under the same environment (the first
//! line `-- env: K=V ...`, else none). A config Prosody loads must load in
//! pfe, with the same hosts and the same value for every option pfe did not
//! mark unknown.

use pfe_core::lint::lint_file;
use pfe_core::sandbox::SectionKind;
use pfe_core::value::{Key, Value};
use pfe_testkit::{repo_root, require_tool};
use serde_json::Value as J;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Options configmanager adds itself: pfe keeps them as the section's kind.
const SYNTHETIC: &[&str] = &["defined", "component_module", "load_global_modules"];

fn cases() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for dir in ["tests/lint-eval", "tests/corpus/configs"] {
        let Ok(entries) = std::fs::read_dir(repo_root().join(dir)) else {
            continue;
        };
        v.extend(
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.is_file() && p.to_string_lossy().ends_with(".cfg.lua")),
        );
    }
    v.sort();
    v
}

/// The environment a config is evaluated in: its row's `env` column in
/// tests/corpus/MANIFEST.tsv (`K=V;K2=V2`, `-` for none), else
/// `-- env: K=V K2=V2` on its first or second line.
fn env_of(path: &Path) -> HashMap<String, String> {
    let id = path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .trim_end_matches(".cfg.lua")
        .to_string();
    if path.parent().is_some_and(|d| d.ends_with("corpus/configs"))
        && let Ok(manifest) = std::fs::read_to_string(repo_root().join("tests/corpus/MANIFEST.tsv"))
    {
        let header: Vec<&str> = manifest.lines().next().unwrap_or("").split('\t').collect();
        let col = header.iter().position(|h| *h == "env");
        if let Some(col) = col
            && let Some(row) = manifest
                .lines()
                .map(|l| l.split('\t').collect::<Vec<_>>())
                .find(|r| r.first() == Some(&id.as_str()))
        {
            let env = row.get(col).copied().unwrap_or("-");
            return env
                .split(';')
                .filter(|kv| *kv != "-")
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .collect();
        }
    }
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .take(2)
        .filter_map(|l| l.strip_prefix("-- env:"))
        .flat_map(|rest| rest.split_whitespace())
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn prosody_eval(path: &Path, env: &HashMap<String, String>) -> J {
    let lua = require_tool("lua5.4");
    let script = repo_root().join("tests/corpus/prosody-eval.lua");
    let out = std::process::Command::new(lua)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env)
        .current_dir(path.parent().unwrap())
        .arg(&script)
        .arg(path.file_name().unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "prosody-eval failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Why pfe's `ours` differs from Prosody's `theirs`, or None. An unknown or
/// a reference (Credential, FileContents) matches anything.
fn differs(ours: &Value, theirs: &J) -> Option<String> {
    let same = match (ours, theirs) {
        (Value::Unknown(_) | Value::Expr(_), _) => true,
        (Value::Bool(a), J::Bool(b)) => a == b,
        (Value::Int(a), J::Number(b)) => b.as_i64() == Some(*a),
        (Value::Float(a), J::Number(b)) => b.as_f64() == Some(*a),
        (Value::Str(a), J::String(b)) => a == b,
        (Value::List(a), J::Array(b)) => {
            if a.len() != b.len() {
                return Some(format!("{} items, Prosody has {}", a.len(), b.len()));
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                if let Some(d) = differs(x, y) {
                    return Some(format!("[{}]: {d}", i + 1));
                }
            }
            true
        }
        (Value::List(a), J::Object(b)) if a.is_empty() && b.is_empty() => true,
        (Value::Map(a), J::Object(b)) => {
            let key = |k: &Key| match k {
                Key::Str(s) => s.clone(),
                Key::Int(i) => format!("[{i}]"),
            };
            let mine: BTreeMap<String, &Value> = a.iter().map(|(k, v)| (key(k), v)).collect();
            for (k, y) in b {
                match mine.get(k) {
                    Some(x) => {
                        if let Some(d) = differs(x, y) {
                            return Some(format!(".{k}: {d}"));
                        }
                    }
                    None => return Some(format!(".{k} missing")),
                }
            }
            if let Some(k) = mine.keys().find(|k| !b.contains_key(*k)) {
                return Some(format!(".{k}: Prosody does not have it"));
            }
            true
        }
        _ => false,
    };
    (!same).then(|| format!("pfe {} vs Prosody {theirs}", ours.to_lua(0)))
}

/// Every difference between pfe's evaluation of `path` and Prosody's.
pub fn compare(path: &Path, env: &HashMap<String, String>) -> Vec<String> {
    let theirs = prosody_eval(path, env);
    let mut problems = Vec::new();
    let lint = lint_file(path, env.clone()).unwrap();
    if theirs["loads"] != J::Bool(true) {
        return problems;
    }
    let Some(ev) = lint.evaluated else {
        problems.push(format!(
            "Prosody loads it, pfe does not: {:?}",
            lint.findings
                .iter()
                .map(|f| f.message.clone())
                .collect::<Vec<_>>()
        ));
        return problems;
    };
    let hosts = theirs["hosts"].as_object().unwrap();
    let unknown_hosts = ev
        .sections
        .iter()
        .filter(|s| s.name.starts_with("<unknown host"))
        .count();
    let mut unmatched = 0;
    for (name, h) in hosts {
        let Some(section) = ev.section(name) else {
            unmatched += 1;
            continue;
        };
        let component = theirs["components"].get(name).and_then(J::as_str);
        match (&section.kind, component) {
            (SectionKind::Component { module }, Some(m)) if module == m => {}
            (SectionKind::VirtualHost | SectionKind::Global, None) => {}
            (k, m) => problems.push(format!("{name}: pfe {k:?}, Prosody component {m:?}")),
        }
        let own = h["own"].as_object().unwrap();
        for (k, v) in own {
            if SYNTHETIC.contains(&k.as_str()) || v.get("$kind") == Some(&J::from("function")) {
                continue;
            }
            match section.options.get(k) {
                Some(o) => {
                    if let Some(d) = differs(&o.value, v) {
                        problems.push(format!("{name} {k}: {d}"));
                    }
                }
                None => problems.push(format!("{name} {k}: pfe lacks it (Prosody: {v})")),
            }
        }
        for k in section.options.keys() {
            if !own.contains_key(k) {
                problems.push(format!("{name} {k}: Prosody does not set it"));
            }
        }
    }
    if unmatched > unknown_hosts {
        problems.push(format!(
            "{unmatched} of Prosody's hosts are not in pfe ({unknown_hosts} unknown ones)"
        ));
    }
    for s in &ev.sections {
        if s.name != "*" && !s.name.starts_with("<unknown host") && !hosts.contains_key(&s.name) {
            problems.push(format!("{}: Prosody has no such host", s.name));
        }
    }
    problems
}

#[test]
fn prosody_mode_evaluates_as_prosody_does() {
    let cases = cases();
    assert!(cases.len() >= 4, "no cases found");
    let mut failures = Vec::new();
    for path in &cases {
        for d in compare(path, &env_of(path)) {
            failures.push(format!("{}: {d}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn env_values_keep_their_origin() {
    let path = repo_root().join("tests/lint-eval/env-fallback.cfg.lua");
    let env = env_of(&path);
    let ev = lint_file(&path, env).unwrap().evaluated.unwrap();
    let g = ev.global();
    assert_eq!(g.options["admins"].env, vec!["PROSODY_ADMINS"]);
    assert_eq!(g.options["log"].env, vec!["PROSODY_LOGLEVEL"]);
    assert!(g.options["storage"].env.is_empty());
}
