//! `pfe validate` (profile × environment pairs) and `pfe lint` (a
//! hand-written config).

use std::path::Path;

use pfe_core::engine::Request;
use pfe_core::validate::{self, Finding, Severity};

use super::Ctx;
use crate::cli::Selection;
use crate::error::{Error, Result};
use crate::output::{graphical, print_json, stdout};

pub fn validate(
    ctx: &Ctx,
    profile: Option<String>,
    environment: Option<String>,
    json: bool,
    deny_warnings: bool,
    allow_unstable: bool,
) -> Result {
    // A name that is not in the catalog is a usage error (exit 2).
    for (kind, name, known) in [
        ("profile", &profile, ctx.catalog.profiles()),
        ("environment", &environment, ctx.catalog.environments()),
    ] {
        if let Some(n) = name
            && !known.contains(n)
        {
            let hint = pfe_core::suggest::did_you_mean(n, known.iter().map(String::as_str))
                .map(|s| format!("did you mean '{s}'? "))
                .unwrap_or_default();
            return Err(Error::usage(
                format!("unknown {kind} '{n}'"),
                format!("{hint}`pfe list` shows them"),
            ));
        }
    }
    let profiles = profile.map_or_else(|| ctx.catalog.profiles(), |p| vec![p]);
    let envs = environment.map_or_else(|| ctx.catalog.environments(), |e| vec![e]);
    let mut jobs = Vec::new();
    for p in &profiles {
        for e in &envs {
            let req = ctx.request(&Selection {
                profile: Some(p.clone()),
                environment: Some(e.clone()),
                ..Default::default()
            })?;
            let req = Request {
                allow_unstable,
                all_features: true, // every feature's metadata is checked
                ..req
            };
            jobs.push((p.clone(), e.clone(), req));
        }
    }
    let results = validate::check_pairs(&ctx.catalog, &jobs);
    let all: Vec<&Finding> = results.iter().flat_map(|r| &r.findings).collect();
    let failed = all
        .iter()
        .any(|f| f.severity == Severity::Error || deny_warnings);
    if json {
        let items: Vec<_> = results
            .iter()
            .map(|r| {
                serde_json::json!({
                    "profile": r.profile,
                    "environment": r.environment,
                    "findings": r.findings,
                })
            })
            .collect();
        let errors = all.iter().filter(|f| f.severity == Severity::Error).count();
        print_json(&serde_json::json!({
            "ok": !failed,
            "errors": errors,
            "warnings": all.len() - errors,
            "results": items,
        }))?;
    } else {
        let graphical = graphical();
        let mut out = String::new();
        for r in &results {
            out += &format!(
                "{:<13} {:<12} {}\n",
                r.profile,
                r.environment,
                validate::summary(&r.findings)
            );
            out += &validate::render(&r.findings, graphical, "  ");
        }
        stdout(out.as_bytes())?;
    }
    if failed { Err(Error::Shown(1)) } else { Ok(()) }
}

pub fn lint(ctx: &Ctx, file: &Path, json: bool, deny_warnings: bool) -> Result {
    let lint =
        pfe_core::lint::lint_file(file, ctx.env.vars.clone()).map_err(Error::usage_report)?;
    let findings = &lint.findings;
    let failed = validate::failed(findings, deny_warnings);
    if json {
        let errors = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        let hosts: Vec<&str> = lint
            .evaluated
            .iter()
            .flat_map(|ev| ev.sections.iter().map(|s| s.name.as_str()))
            .collect();
        print_json(&serde_json::json!({
            "ok": !failed,
            "file": file.display().to_string(),
            "evaluated": lint.evaluated.is_some(),
            "sections": hosts,
            "errors": errors,
            "warnings": findings.len() - errors,
            "findings": findings,
        }))?;
    } else {
        let mut out = validate::render(findings, graphical(), "");
        out += &format!("{}: {}\n", file.display(), validate::summary(findings));
        stdout(out.as_bytes())?;
    }
    // The process ends after this command: freeing the Lua state and the
    // model would cost a twentieth of a 10,000-host lint, for nothing.
    std::mem::forget(lint);
    if failed { Err(Error::Shown(1)) } else { Ok(()) }
}

/// `pfe lint FILE --fix [--dry-run]`.
pub fn fix(ctx: &Ctx, file: &Path, json: bool, deny_warnings: bool, dry_run: bool) -> Result {
    let outcome = pfe_core::lint::fix_file(file, ctx.env.vars.clone(), dry_run)
        .map_err(Error::usage_report)?;
    let findings = &outcome.findings;
    let failed = validate::failed(findings, deny_warnings);
    if json {
        let changes: Vec<serde_json::Value> = outcome
            .changes
            .iter()
            .map(|c| serde_json::json!({"line": c.line, "code": c.code, "change": c.description}))
            .collect();
        print_json(&serde_json::json!({
            "ok": !failed,
            "file": file.display().to_string(),
            "written": outcome.written,
            "changes": changes,
            "diff": outcome.diff,
            "findings": findings,
        }))?;
    } else if dry_run {
        stdout(outcome.diff.as_bytes())?;
    } else {
        let mut out = String::new();
        for c in &outcome.changes {
            out += &format!(
                "fixed[{}]: {}:{}: {}\n",
                c.code,
                file.display(),
                c.line,
                c.description
            );
        }
        out += &validate::render(findings, graphical(), "");
        out += &format!(
            "{}: {} change(s) written; {}\n",
            file.display(),
            outcome.changes.len(),
            validate::summary(findings)
        );
        stdout(out.as_bytes())?;
    }
    if failed { Err(Error::Shown(1)) } else { Ok(()) }
}
