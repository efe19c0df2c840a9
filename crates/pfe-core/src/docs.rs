//! Markdown tables of the catalog, for the README (kept in sync by a test).

use std::fmt::Write as _;

use crate::catalog::{Catalog, CatalogError};
use crate::sandbox::{Context, Sandbox};

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The README's catalog section: profiles, environments, features, variables.
pub fn catalog_tables(catalog: &Catalog) -> Result<String, CatalogError> {
    let sb = Sandbox::new(
        Default::default(),
        &Context {
            domain: "localhost".into(),
            ..Default::default()
        },
    )?;
    let mut out = String::new();
    out += "### Profiles\n\n| profile | users | memory / cpu / storage | features | optional | description |\n|---|---|---|---|---|---|\n";
    for name in catalog.profiles() {
        let p = catalog.profile_info(&sb, &name)?;
        let r = &p.resources;
        let res = [&r.memory, &r.cpu, &r.storage]
            .iter()
            .map(|v| v.as_deref().unwrap_or("-"))
            .collect::<Vec<_>>()
            .join(" / ");
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            p.id,
            p.target_users.as_deref().unwrap_or("-"),
            res,
            p.features
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(" "),
            p.optional_features
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(" "),
            cell(&p.description)
        );
    }
    out +=
        "\n### Environments\n\n| environment | allowed stability | description |\n|---|---|---|\n";
    for name in catalog.environments() {
        let e = catalog.environment_info(&sb, &name)?;
        let allowed: Vec<&str> = e.allow_stability.iter().map(|s| s.as_str()).collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            e.id,
            allowed.join(", "),
            cell(&e.description)
        );
    }
    out += "\n### Features\n\n| feature | stability | modules | XEPs | needs | description |\n|---|---|---|---|---|---|\n";
    for (id, f) in catalog.feature_infos(&sb)? {
        let _ = writeln!(
            out,
            "| `{id}` | {} | {} | {} | {} | {} |",
            f.stability.as_str(),
            f.modules.join(", "),
            f.xeps.join(", "),
            f.dependencies
                .iter()
                .map(|d| format!("`{d}`"))
                .collect::<Vec<_>>()
                .join(" "),
            cell(&f.description)
        );
    }
    out += "\n### Environment variables\n\n| variable | default | description |\n|---|---|---|\n";
    for v in catalog.variables(&sb)? {
        let default = match (&v.default, v.secret) {
            (_, true) => "(secret: a file, never a variable in production)".to_string(),
            (Some(d), _) if !d.is_empty() => format!("`{d}`"),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            v.name,
            default,
            cell(&v.description)
        );
    }
    Ok(out)
}
