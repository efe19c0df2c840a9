//! `pfe migrate FILE -o DIR`: renders [`pfe_core::migrate`]'s report.

use std::path::Path;

use pfe_core::migrate::{self, Item, Options};

use super::Ctx;
use crate::error::{Error, Result};
use crate::output::{print_json, stdout};

fn items(out: &mut String, title: &str, list: &[Item]) {
    if list.is_empty() {
        return;
    }
    *out += &format!("{title} ({}):\n", list.len());
    for i in list {
        let host = if i.host == "*" { "global" } else { &i.host };
        let at = i
            .place
            .as_ref()
            .map(|p| format!("{p}: "))
            .unwrap_or_default();
        *out += &format!("  {at}[{host}] {}: {}\n", i.what, i.note);
    }
}

pub fn migrate(
    ctx: &Ctx,
    file: &Path,
    dir: &Path,
    force: bool,
    drop_dead: bool,
    json: bool,
) -> Result {
    let opts = Options { drop_dead, force };
    let report = migrate::migrate(file, dir, &ctx.env.vars, &opts).map_err(|e| match e {
        migrate::MigrateError::Load(_) | migrate::MigrateError::Exists { .. } => {
            Error::usage_report(e)
        }
        e => e.into(),
    })?;
    if json {
        print_json(&serde_json::to_value(&report).expect("the report serializes"))?;
    } else {
        let mut out = format!(
            "{} → {} (profile {}, environment {}, domain {})\n",
            file.display(),
            dir.display(),
            report.profile,
            report.environment,
            report.domain
        );
        if report.profile != report.base_profile {
            out += &format!("  extends {}", report.base_profile);
            for w in &report.with {
                out += &format!(" +{w}");
            }
            for w in &report.without {
                out += &format!(" -{w}");
            }
            out += "\n";
        }
        out += &format!(
            "recognised features ({}): {}\n",
            report.recognised.len(),
            report.recognised.join(", ")
        );
        items(&mut out, "kept in local.cfg.lua", &report.residue);
        items(&mut out, "renamed (deprecated)", &report.renamed);
        items(
            &mut out,
            "flagged: nothing reads them (kept; --drop-dead drops them)",
            &report.flagged,
        );
        items(&mut out, "dropped", &report.dropped);
        items(&mut out, "the catalog cannot express", &report.unexpressed);
        if !report.secrets.is_empty() {
            out += &format!(
                "secrets moved to Credential() ({}):\n",
                report.secrets.len()
            );
            for s in &report.secrets {
                let at = s
                    .item
                    .place
                    .as_ref()
                    .map(|p| format!("{p}: "))
                    .unwrap_or_default();
                out += &format!(
                    "  {at}{} → Credential(\"{}\"): {}\n",
                    s.item.what, s.credential, s.item.note
                );
            }
        }
        out += &format!(
            "proof: `pfe diff {} <tree>` shows {} difference(s), {} not explained above\n",
            file.display(),
            report.remaining.len(),
            report.unexplained.len()
        );
        if !report.unexplained.is_empty() {
            out += &super::diff::render(&report.unexplained);
        }
        out += &format!(
            "use it: pfe generate --config-dir {0} --env-file {0}/.env\n",
            dir.display()
        );
        stdout(out.as_bytes())?;
    }
    if report.unexplained.is_empty() {
        Ok(())
    } else {
        Err(Error::Shown(1))
    }
}
