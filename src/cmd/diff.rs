//! `pfe diff A B`: renders [`pfe_core::diff`].

use std::path::Path;

use pfe_core::diff::{self, Difference, Subject};
use pfe_core::effective::Effective;
use pfe_core::index::Index;

use super::Ctx;
use crate::cli::{Selection, SideSelection};
use crate::error::{Error, Result};
use crate::output::{print_json, stdout};

/// What a `profile:` side selects.
pub const PROFILE_PREFIX: &str = "profile:";

/// The meaning of one side, and how it is named in the output.
pub fn side(ctx: &Ctx, which: &str, arg: &str, sel: &SideSelection) -> Result<(Effective, String)> {
    let index = Index::builtin();
    if let Some(rest) = arg.strip_prefix(PROFILE_PREFIX) {
        let (profile, environment) = match rest.split_once('/') {
            Some((p, e)) => (p, e),
            None => (rest, ""),
        };
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        // A selection that cannot be built is bad input (exit 2).
        let bad = |e: Error| match e {
            Error::Report { report, .. } => Error::Report { report, code: 2 },
            e => e,
        };
        let req = ctx
            .request(&Selection {
                profile: some(profile),
                environment: some(environment),
                domain: sel.domain.clone(),
                with: sel.with.clone(),
                without: sel.without.clone(),
                sets: sel.sets.clone(),
                allow_unstable: sel.allow_unstable,
            })
            .map_err(bad)?;
        let build = ctx.build(&req).map_err(bad)?;
        let eff = diff::effective_of_build(&build, index).map_err(|f| {
            Error::failed(format!(
                "{which}: the generated config does not load: {}",
                located(&f)
            ))
        })?;
        let name = format!(
            "{PROFILE_PREFIX}{}/{}",
            build.profile.id, build.environment.id
        );
        return Ok((eff, name));
    }
    let path = Path::new(arg);
    let eff = diff::effective_of_file(path, ctx.env.vars.clone(), index).map_err(|f| {
        Error::usage(
            format!("{which} ({arg}) does not load: {}", located(&f)),
            "fix it first (`pfe lint FILE` shows every problem), or give profile:PROFILE/ENVIRONMENT",
        )
    })?;
    Ok((eff, arg.to_string()))
}

fn located(f: &pfe_core::validate::Finding) -> String {
    match (&f.file, f.line) {
        (Some(file), Some(line)) if line > 0 => format!("{file}:{line}: {}", f.message),
        (Some(file), _) => format!("{file}: {}", f.message),
        _ => f.message.clone(),
    }
}

pub fn subject(d: &Difference) -> String {
    match &d.subject {
        Subject::Host => "host".into(),
        Subject::HostKind => "kind".into(),
        Subject::Option(o) => format!("option {o}"),
        Subject::Module(m) => format!("module mod_{m}"),
    }
}

fn side_line(label: &str, s: &diff::Side) -> String {
    let at = s
        .place
        .as_ref()
        .map(|p| format!(" at {p}"))
        .unwrap_or_default();
    format!("  {label}: {} ({}{at})\n", s.shown, s.how)
}

/// The differences as text, one block each.
pub fn render(diffs: &[Difference]) -> String {
    let mut out = String::new();
    for d in diffs {
        let host = if d.host == "*" {
            "global section".to_string()
        } else {
            d.host.clone()
        };
        out += &format!("{host}: {}\n", subject(d));
        out += &side_line("A", &d.a);
        out += &side_line("B", &d.b);
    }
    out
}

pub fn diff(ctx: &Ctx, a: &str, b: &str, sel: &SideSelection, json: bool) -> Result {
    // The two sides are independent: read them at the same time.
    let (ra, rb) = std::thread::scope(|s| {
        let ta = s.spawn(|| side(ctx, "A", a, sel));
        let rb = side(ctx, "B", b, sel);
        (ta.join(), rb)
    });
    let (ea, na) = ra.map_err(|_| Error::failed("reading side A failed"))??;
    let (eb, nb) = rb?;
    let diffs = diff::diff(&ea, &eb, Index::builtin());
    if json {
        print_json(&serde_json::json!({
            "same": diffs.is_empty(),
            "a": na,
            "b": nb,
            "differences": diffs,
        }))?;
    } else {
        let mut out = render(&diffs);
        out += &if diffs.is_empty() {
            format!("A ({na}) and B ({nb}) mean the same\n")
        } else {
            format!("A ({na}) and B ({nb}): {} difference(s)\n", diffs.len())
        };
        stdout(out.as_bytes())?;
    }
    // The process ends after this command: freeing the two models node by
    // node would cost a twentieth of a 1000-host diff, for nothing.
    std::mem::forget((ea, eb));
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(Error::Shown(1))
    }
}
