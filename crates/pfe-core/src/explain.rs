//! `pfe explain`: why an option has its value, why a feature or module is on.

use serde::Serialize;

use crate::engine::Build;

#[derive(Debug, Serialize)]
pub struct Assignment {
    pub section: String,
    pub at: String,
    pub layer: String,
    pub winner: bool,
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Explanation {
    Option {
        name: String,
        values: Vec<(String, String)>,
        assignments: Vec<Assignment>,
    },
    Feature {
        name: String,
        enabled: bool,
        chain: Vec<String>,
        disabled_by: Option<String>,
        path: String,
        modules: Vec<String>,
        xeps: Vec<String>,
    },
    Module {
        name: String,
        sections: Vec<(String, String)>,
    },
}

/// Explains `subject`: a feature id (`web/upload`), an option name, or a
/// module name. None if the build knows nothing by that name.
pub fn explain(build: &Build, subject: &str) -> Option<Explanation> {
    if let Some(info) = build.features.get(subject) {
        let enabled = build.resolution.order.iter().any(|f| f == subject);
        return Some(Explanation::Feature {
            name: subject.to_string(),
            enabled,
            chain: if enabled {
                build.resolution.chain(subject)
            } else {
                Vec::new()
            },
            disabled_by: build.resolution.disabled.get(subject).cloned(),
            path: info.path.clone(),
            modules: info.modules.clone(),
            xeps: info.xeps.clone(),
        });
    }
    let ev = &build.evaluated;
    let mut values = Vec::new();
    let mut assignments = Vec::new();
    for section in &ev.sections {
        if let Some(opt) = section.options.get(subject) {
            values.push((section.name.clone(), opt.value.to_lua(0)));
            for (i, o) in opt.history.iter().enumerate() {
                assignments.push(Assignment {
                    section: section.name.clone(),
                    at: ev.display_origin(o),
                    layer: o.layer.to_string(),
                    winner: i + 1 == opt.history.len(),
                });
            }
        }
    }
    if !values.is_empty() {
        return Some(Explanation::Option {
            name: subject.to_string(),
            values,
            assignments,
        });
    }
    let mut sections = Vec::new();
    for section in &ev.sections {
        if let Some(opt) = section.options.get("modules_enabled")
            && opt.value.string_list().iter().any(|m| m == subject)
        {
            let at = opt.item_origins.get(subject).unwrap_or(opt.origin());
            sections.push((
                section.name.clone(),
                format!("{} ({})", ev.display_origin(at), at.layer),
            ));
        }
    }
    if !sections.is_empty() {
        return Some(Explanation::Module {
            name: subject.to_string(),
            sections,
        });
    }
    None
}
