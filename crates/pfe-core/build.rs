//! Embeds the catalog under config/ into the binary as (relative path, text)
//! pairs, so pfe works without its source tree, and evaluates the metadata
//! tables of the built-in files once, here, so that the common path does not
//! re-evaluate what cannot change.
//!
//! The evaluator is pfe's own sandbox (its source is compiled into this
//! script): a table is kept only when the sandbox calls it pure (set before
//! the file read any variable or `pfe.*`), the rule the runtime's metadata
//! cache follows. The result is generated Rust (`builtin_metadata.rs`) that
//! rebuilds the tables; `--config-dir` files are always evaluated fresh.
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

#[allow(dead_code, unused_imports)]
#[path = "src/value.rs"]
mod value;

#[allow(dead_code)]
#[path = "src/emit.rs"]
mod emit;

#[allow(dead_code)]
#[path = "src/sorted.rs"]
mod sorted;

#[allow(dead_code, clippy::all)]
#[path = "src/sandbox/mod.rs"]
mod sandbox;

use value::{Key, Value};

fn collect(dir: &Path, base: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read config dir")
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, base, out);
        } else if path.to_string_lossy().ends_with(".cfg.lua") {
            out.push(
                path.strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
    }
}

/// A Rust expression that builds `v`.
fn value_code(v: &Value, out: &mut String) {
    match v {
        Value::Bool(b) => write!(out, "V::Bool({b})").unwrap(),
        Value::Int(i) => write!(out, "V::Int({i})").unwrap(),
        Value::Float(f) => write!(out, "V::Float(f64::from_bits({:#x}))", f.to_bits()).unwrap(),
        Value::Str(s) => write!(out, "V::Str(String::from({s:?}))").unwrap(),
        Value::Expr(s) => write!(out, "V::Expr(String::from({s:?}))").unwrap(),
        Value::Unknown(s) => write!(out, "V::Unknown(String::from({s:?}))").unwrap(),
        Value::List(items) => {
            out.push_str("V::List(vec![");
            for item in items {
                value_code(item, out);
                out.push(',');
            }
            out.push_str("])");
        }
        Value::Map(entries) => {
            out.push_str("V::Map(vec![");
            for (k, item) in entries {
                match k {
                    Key::Int(i) => write!(out, "(K::Int({i}),").unwrap(),
                    Key::Str(s) => write!(out, "(K::Str(String::from({s:?})),").unwrap(),
                }
                value_code(item, out);
                out.push_str("),");
            }
            out.push_str("])");
        }
    }
}

/// `fn`s that rebuild the pure metadata of each built-in file, and the
/// table of them by file.
fn metadata_code(config: &Path, files: &[String]) -> String {
    // The files see the catalog's defaults and a plausible context, so that
    // they run to the end; a pure table does not depend on either.
    let ctx = sandbox::Context {
        domain: "localhost".into(),
        domains: Vec::new(),
        profile: "standard".into(),
        environment: "production".into(),
    };
    let sb = sandbox::Sandbox::new(HashMap::new(), &ctx).expect("sandbox");
    let source = |rel: &str| sandbox::Source {
        id: rel.to_string(),
        path: format!("config/{rel}"),
        text: std::fs::read_to_string(config.join(rel)).expect("read catalog file"),
    };
    let mut env = HashMap::new();
    if let Ok((meta, _)) = sb.eval_metadata(&source("variables.cfg.lua"))
        && let Some(Value::List(vars)) = meta.get("variables")
    {
        for v in vars {
            if let (Some(name), Some(default)) = (v.get_str("name"), v.get("default")) {
                env.insert(name.to_string(), default.display());
            }
        }
    }
    sb.set_env(env);
    let mut code = String::from(
        "use crate::value::{Key as K, Value as V};\nuse crate::sandbox::Meta;\n\n\
         /// Rebuilds one file's metadata tables.\npub type Builder = fn() -> Meta;\n\n",
    );
    let mut table = String::from("pub static BUILTIN_METADATA: &[(&str, Builder)] = &[\n");
    for (n, rel) in files.iter().enumerate() {
        // A file that fails here is evaluated at run time, where its error
        // is reported with the user's variables.
        let Ok((meta, pure)) = sb.eval_metadata(&source(rel)) else {
            continue;
        };
        if meta.is_empty() || !meta.keys().all(|k| pure.contains(k)) {
            continue;
        }
        write!(code, "fn m{n}() -> Meta {{\n    let mut m = Meta::new();\n").unwrap();
        for (k, v) in &meta {
            write!(code, "    m.insert(String::from({k:?}), ").unwrap();
            value_code(v, &mut code);
            code.push_str(");\n");
        }
        code.push_str("    m\n}\n");
        writeln!(table, "    ({rel:?}, m{n}),").unwrap();
    }
    table.push_str("];\n");
    code + &table
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = root.join("../../config");
    println!("cargo:rerun-if-changed=../../config");
    // The evaluator's own source.
    println!("cargo:rerun-if-changed=src/sandbox");
    println!("cargo:rerun-if-changed=src/value.rs");
    println!("cargo:rerun-if-changed=src/emit.rs");
    let mut files = Vec::new();
    if config.is_dir() {
        collect(&config, &config, &mut files);
    }
    let mut code = String::from("pub static BUILTIN_FILES: &[(&str, &str)] = &[\n");
    for rel in &files {
        let abs = config.join(rel);
        writeln!(
            code,
            "    ({rel:?}, include_str!({:?})),",
            abs.to_string_lossy()
        )
        .unwrap();
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).to_path_buf();
    std::fs::write(out.join("builtin_catalog.rs"), code).unwrap();
    std::fs::write(
        out.join("builtin_metadata.rs"),
        metadata_code(&config, &files),
    )
    .unwrap();
}
