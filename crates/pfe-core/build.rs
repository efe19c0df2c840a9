//! Embeds the catalog under config/ into the binary as (relative path, text)
//! pairs, so pfe works without its source tree.
use std::fmt::Write as _;
use std::path::Path;

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

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = root.join("../../config");
    println!("cargo:rerun-if-changed=../../config");
    let mut files = Vec::new();
    if config.is_dir() {
        collect(&config, &config, &mut files);
    }
    let mut code = String::from("pub static BUILTIN_FILES: &[(&str, &str)] = &[\n");
    for rel in files {
        let abs = config.join(&rel);
        writeln!(
            code,
            "    ({rel:?}, include_str!({:?})),",
            abs.to_string_lossy()
        )
        .unwrap();
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("builtin_catalog.rs");
    std::fs::write(out, code).unwrap();
}
