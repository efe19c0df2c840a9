//! `pfe generate`, `pfe env` and `pfe explain`: one build, three views.

use std::path::{Path, PathBuf};

use pfe_core::engine::Request;
use pfe_core::explain::{self, Explanation};
use pfe_core::{envfile, validate};

use super::Ctx;
use crate::cli::Selection;
use crate::error::{Error, Result};
use crate::output::{print_json, say, sayln, stdout, write_output};

pub fn generate(ctx: &Ctx, sel: &Selection, output: Option<&Path>, force: bool) -> Result {
    let build = ctx.build(&ctx.request(sel)?)?;
    ctx.warn_unknown_toggles(&build);
    // Validate before anything is written: errors stop here.
    let findings = validate::check_build(&build);
    if !findings.is_empty() {
        say!("{}", validate::render(&findings, false, ""));
    }
    if validate::failed(&findings, false) {
        return Err(Error::failed(
            "not writing the config: fix the errors above (`pfe validate` shows them with context)",
        ));
    }
    write_output(output, build.config.as_bytes(), None, force)
}

pub fn env(ctx: &Ctx, sel: &Selection, output: Option<PathBuf>, force: bool) -> Result {
    // Toggles of every feature go into the file.
    let req = Request {
        all_features: true,
        ..ctx.request(sel)?
    };
    let build = ctx.build(&req)?;
    ctx.warn_unknown_toggles(&build);
    let text = envfile::render(&build);
    let path = output.unwrap_or_else(|| envfile::default_path(&req));
    write_output(Some(&path), text.as_bytes(), Some(0o600), force)?;
    if path.as_os_str() != "-" {
        sayln!("wrote {}", path.display());
    }
    Ok(())
}

pub fn explain(ctx: &Ctx, subject: &str, sel: &Selection, json: bool) -> Result {
    // Any feature can be asked about, enabled or not.
    let build = ctx.build(&Request {
        all_features: true,
        ..ctx.request(sel)?
    })?;
    ctx.warn_unknown_toggles(&build);
    let Some(exp) = explain::explain(&build, subject) else {
        return Err(Error::failed_hint(
            format!(
                "'{subject}' is neither a feature, an option set in this config, nor an enabled module"
            ),
            "`pfe features` lists features; `pfe generate` shows every option",
        ));
    };
    if json {
        return print_json(&serde_json::to_value(&exp).expect("serializable"));
    }
    stdout(render_explanation(exp).as_bytes())
}

fn section_name(section: &str) -> &str {
    if section == "*" { "global" } else { section }
}

fn render_explanation(exp: Explanation) -> String {
    let mut out = String::new();
    match exp {
        Explanation::Feature {
            name,
            enabled,
            chain,
            disabled_by,
            path,
            modules,
            xeps,
        } => {
            out += &format!("feature {name} ({path})\n");
            if enabled {
                out += &format!("  enabled: {}\n", chain.join(" ← "));
            } else {
                out += &format!(
                    "  disabled{}\n",
                    disabled_by
                        .map(|d| format!(" by {d}"))
                        .unwrap_or_else(|| " (not in the profile)".into())
                );
            }
            out += &format!(
                "  modules: {}\n  xeps: {}\n",
                modules.join(", "),
                xeps.join(", ")
            );
        }
        Explanation::Option {
            name,
            values,
            assignments,
        } => {
            for (section, value) in &values {
                out += &format!("{name} = {value}   [{}]\n", section_name(section));
            }
            for a in assignments {
                let mark = if a.winner { "set  " } else { "was  " };
                let section = if a.section == "*" {
                    String::new()
                } else {
                    format!(", {}", a.section)
                };
                out += &format!("  {mark} {} ({}{section})\n", a.at, a.layer);
            }
        }
        Explanation::Module { name, sections } => {
            for (section, at) in sections {
                out += &format!(
                    "module {name} [{}] enabled at {at}\n",
                    section_name(&section)
                );
            }
        }
    }
    out
}
