//! Feature resolution: which features a profile + environment + toggles
//! enable, in which order, and why.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use miette::Diagnostic;

use crate::catalog::{EnvironmentInfo, FeatureInfo, ProfileInfo, Stability};
use crate::suggest::did_you_mean;

/// Why a feature is on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Reason {
    /// Listed in the profile's `features`.
    Profile { profile: String },
    /// Switched on by a PROSODY_FEATURES_* variable.
    Variable { name: String },
    /// `--with`.
    Flag,
    /// Needed by another enabled feature.
    Dependency { of: String },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Profile { profile } => write!(f, "profile '{profile}'"),
            Reason::Variable { name } => write!(f, "{name}=true"),
            Reason::Flag => write!(f, "--with"),
            Reason::Dependency { of } => write!(f, "dependency of {of}"),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Request {
    pub with: Vec<String>,
    pub without: Vec<String>,
    /// The resolved environment (process env + --env-file).
    pub env: HashMap<String, String>,
    /// Allow features whose stability the environment does not allow.
    pub allow_unstable: bool,
    /// Every feature name in the catalog, when `features` holds the metadata
    /// of only those that can matter (see `engine::build`); None: all given.
    pub known: Option<BTreeSet<String>>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Resolution {
    /// Enabled features, dependencies before dependents.
    pub order: Vec<String>,
    pub reasons: BTreeMap<String, Reason>,
    /// Features switched off, and by what.
    pub disabled: BTreeMap<String, String>,
    pub warnings: Vec<ResolveWarning>,
}

/// Something the resolution went along with but the user should know.
/// Its Display is the sentence shown to people (and in JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveWarning {
    /// A profile feature dropped because a dependency was switched off.
    DependencyOff {
        feature: String,
        dependency: String,
        /// What switched the dependency off, e.g. `--without`.
        disabled_by: String,
    },
    /// A feature the environment does not allow, enabled by --allow-unstable.
    AllowedUnstable {
        feature: String,
        stability: Stability,
        environment: String,
    },
    /// A beta feature pulled in only as a dependency.
    BetaAsDependency { feature: String, reason: Reason },
}

impl ResolveWarning {
    /// The feature the warning is about.
    pub fn feature(&self) -> &str {
        match self {
            ResolveWarning::DependencyOff { feature, .. }
            | ResolveWarning::AllowedUnstable { feature, .. }
            | ResolveWarning::BetaAsDependency { feature, .. } => feature,
        }
    }
}

impl std::fmt::Display for ResolveWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResolveWarning::DependencyOff {
                feature,
                dependency,
                disabled_by,
            } => write!(
                f,
                "{feature} is off too: it needs {dependency}, which {disabled_by} switched off"
            ),
            ResolveWarning::AllowedUnstable {
                feature,
                stability,
                environment,
            } => write!(
                f,
                "{feature} is {} and environment '{environment}' does not allow it; enabled because of --allow-unstable",
                stability.as_str()
            ),
            ResolveWarning::BetaAsDependency { feature, reason } => write!(
                f,
                "{feature} is beta and only enabled as a {reason}; list it in the profile or pass --with {feature} to opt in"
            ),
        }
    }
}

/// Serialized as its sentence, as before it was typed.
impl serde::Serialize for ResolveWarning {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Resolution {
    /// The chain from a feature up to what asked for it, e.g.
    /// `web/http ← web/upload ← profile 'standard'`.
    pub fn chain(&self, feature: &str) -> Vec<String> {
        let mut out = vec![feature.to_string()];
        let mut current = feature.to_string();
        let mut guard = 0;
        while let Some(reason) = self.reasons.get(&current) {
            guard += 1;
            match reason {
                Reason::Dependency { of } if guard < 64 => {
                    out.push(of.clone());
                    current = of.clone();
                }
                other => {
                    out.push(other.to_string());
                    break;
                }
            }
        }
        out
    }
}

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum ResolveError {
    #[error("unknown feature '{name}', asked for by {by}{}", hint(.suggestion))]
    #[diagnostic(
        code(pfe::resolve::unknown_feature),
        help("`pfe features` lists the features of the catalog")
    )]
    UnknownFeature {
        name: String,
        by: String,
        suggestion: Option<String>,
    },
    #[error("{var}={value} is not a boolean")]
    #[diagnostic(
        code(pfe::resolve::bad_toggle),
        help("set {var} to true or false (also accepted: 1/0, yes/no, on/off)")
    )]
    BadToggle { var: String, value: String },
    #[error("dependency cycle: {}", .cycle.join(" → "))]
    #[diagnostic(
        code(pfe::resolve::cycle),
        help("remove one of these dependencies in the features' feature_info")
    )]
    Cycle { cycle: Vec<String> },
    #[error("feature {a} (enabled by {a_by}) conflicts with {b} (enabled by {b_by})")]
    #[diagnostic(
        code(pfe::resolve::conflict),
        help("switch one of them off with --without or its PROSODY_FEATURES_* variable")
    )]
    Conflict {
        a: String,
        a_by: String,
        b: String,
        b_by: String,
    },
    #[error(
        "feature {feature} is {stability}, which environment '{environment}' does not allow (it allows: {allowed})"
    )]
    #[diagnostic(
        code(pfe::resolve::stability),
        help("drop the feature, or pass --allow-unstable if you accept the risk")
    )]
    Stability {
        feature: String,
        stability: &'static str,
        environment: String,
        allowed: String,
    },
    #[error(
        "feature {feature} was asked for by {by}, but it needs {needs}, which {disabled_by} switched off"
    )]
    #[diagnostic(
        code(pfe::resolve::disabled_dependency),
        help("enable {needs} again, or drop {feature}")
    )]
    DisabledDependency {
        feature: String,
        by: String,
        needs: String,
        disabled_by: String,
    },
    #[error("feature {feature} is both in --with and --without")]
    #[diagnostic(code(pfe::resolve::with_and_without))]
    WithAndWithout { feature: String },
}

fn hint(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!(" (did you mean '{s}'?)"))
        .unwrap_or_default()
}

/// Parses a PROSODY_FEATURES_* value.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

pub fn resolve(
    profile: &ProfileInfo,
    environment: &EnvironmentInfo,
    features: &BTreeMap<String, FeatureInfo>,
    request: &Request,
) -> Result<Resolution, ResolveError> {
    let exists = |name: &str| match &request.known {
        Some(known) => known.contains(name),
        None => features.contains_key(name),
    };
    let unknown = |name: &str, by: String| ResolveError::UnknownFeature {
        name: name.to_string(),
        suggestion: match &request.known {
            Some(known) => did_you_mean(name, known.iter().map(String::as_str)),
            None => did_you_mean(name, features.keys().map(String::as_str)),
        },
        by,
    };

    // 1. What is asked for, and what is switched off.
    let mut wanted: BTreeMap<String, Reason> = BTreeMap::new();
    for f in &profile.features {
        if !exists(f) {
            return Err(unknown(
                f,
                format!("profile '{}' ({})", profile.id, profile.path),
            ));
        }
        wanted.insert(
            f.clone(),
            Reason::Profile {
                profile: profile.id.clone(),
            },
        );
    }
    for f in &profile.optional_features {
        if !exists(f) {
            return Err(unknown(
                f,
                format!(
                    "optional_features of profile '{}' ({})",
                    profile.id, profile.path
                ),
            ));
        }
    }
    let mut disabled: BTreeMap<String, String> = BTreeMap::new();
    // Variables in name order so the outcome does not depend on hashing.
    let mut toggles: Vec<(&String, &FeatureInfo, String)> = Vec::new();
    for (id, info) in features {
        for var in info.all_toggles() {
            toggles.push((id, info, var));
        }
    }
    toggles.sort_by(|a, b| a.2.cmp(&b.2).then(a.0.cmp(b.0)));
    for (id, _, var) in toggles {
        let Some(raw) = request.env.get(&var) else {
            continue;
        };
        if raw.trim().is_empty() {
            continue;
        }
        match parse_bool(raw) {
            Some(true) => {
                disabled.remove(id);
                wanted
                    .entry(id.clone())
                    .or_insert(Reason::Variable { name: var.clone() });
            }
            Some(false) => {
                wanted.remove(id);
                disabled.insert(id.clone(), format!("{var}=false"));
            }
            None => {
                return Err(ResolveError::BadToggle {
                    var,
                    value: raw.clone(),
                });
            }
        }
    }
    for f in &request.without {
        if request.with.contains(f) {
            return Err(ResolveError::WithAndWithout { feature: f.clone() });
        }
        if !exists(f) {
            return Err(unknown(f, "--without".into()));
        }
        wanted.remove(f);
        disabled.insert(f.clone(), "--without".into());
    }
    for f in &request.with {
        if !exists(f) {
            return Err(unknown(f, "--with".into()));
        }
        disabled.remove(f);
        wanted.insert(f.clone(), Reason::Flag);
    }

    // 2. Dependencies. A feature that needs a switched-off feature is dropped
    // too, unless it was asked for explicitly: then that is an error.
    let mut dropped_any = true;
    let mut warnings = Vec::new();
    while dropped_any {
        dropped_any = false;
        let mut reasons = wanted.clone();
        let mut stack: Vec<String> = wanted.keys().cloned().collect();
        let mut drop = None;
        while let Some(f) = stack.pop() {
            let info = &features[&f];
            for dep in &info.dependencies {
                if !exists(dep) {
                    return Err(unknown(
                        dep,
                        format!("the dependencies of {f} ({})", info.path),
                    ));
                }
                if let Some(by) = disabled.get(dep) {
                    // Find the explicitly wanted root that led here.
                    let mut root = f.clone();
                    while let Some(Reason::Dependency { of }) = reasons.get(&root) {
                        root = of.clone();
                    }
                    match &reasons[&root] {
                        Reason::Profile { .. } => {
                            drop = Some((root, dep.clone(), by.clone()));
                        }
                        r => {
                            return Err(ResolveError::DisabledDependency {
                                feature: root.clone(),
                                by: r.to_string(),
                                needs: dep.clone(),
                                disabled_by: by.clone(),
                            });
                        }
                    }
                    break;
                }
                if !reasons.contains_key(dep) {
                    reasons.insert(dep.clone(), Reason::Dependency { of: f.clone() });
                    stack.push(dep.clone());
                }
            }
            if drop.is_some() {
                break;
            }
        }
        if let Some((root, dep, by)) = drop {
            disabled.insert(root.clone(), format!("needs {dep}"));
            wanted.remove(&root);
            warnings.push(ResolveWarning::DependencyOff {
                feature: root,
                dependency: dep,
                disabled_by: by,
            });
            dropped_any = true;
            continue;
        }
        wanted = reasons;
    }
    let reasons = wanted;

    // 3. Order: dependencies first, ties by name; report cycles.
    let mut order = Vec::new();
    let mut state: HashMap<&str, u8> = HashMap::new(); // 1 = on stack, 2 = done
    fn visit<'a>(
        f: &'a str,
        features: &'a BTreeMap<String, FeatureInfo>,
        state: &mut HashMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
        order: &mut Vec<String>,
    ) -> Result<(), ResolveError> {
        match state.get(f) {
            Some(2) => return Ok(()),
            Some(1) => {
                let start = path.iter().position(|p| *p == f).unwrap_or(0);
                let mut cycle: Vec<String> = path[start..].iter().map(|s| s.to_string()).collect();
                cycle.push(f.to_string());
                return Err(ResolveError::Cycle { cycle });
            }
            _ => {}
        }
        state.insert(f, 1);
        path.push(f);
        let mut deps: Vec<&String> = features[f].dependencies.iter().collect();
        deps.sort();
        for d in deps {
            visit(d, features, state, path, order)?;
        }
        path.pop();
        state.insert(f, 2);
        order.push(f.to_string());
        Ok(())
    }
    for f in reasons.keys() {
        visit(f, features, &mut state, &mut Vec::new(), &mut order)?;
    }

    // 4. Conflicts, either direction.
    let enabled: BTreeSet<&str> = order.iter().map(String::as_str).collect();
    for f in &order {
        for c in &features[f].conflicts {
            if enabled.contains(c.as_str()) {
                let (a, b) = if f < c { (f, c) } else { (c, f) };
                return Err(ResolveError::Conflict {
                    a: a.clone(),
                    a_by: describe(&reasons, a),
                    b: b.clone(),
                    b_by: describe(&reasons, b),
                });
            }
        }
    }

    // 5. Stability against the environment.
    for f in &order {
        let s = features[f].stability;
        if !environment.allow_stability.contains(&s) {
            if request.allow_unstable {
                warnings.push(ResolveWarning::AllowedUnstable {
                    feature: f.clone(),
                    stability: s,
                    environment: environment.id.clone(),
                });
            } else {
                return Err(ResolveError::Stability {
                    feature: f.clone(),
                    stability: s.as_str(),
                    environment: environment.id.clone(),
                    allowed: environment
                        .allow_stability
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        } else if s == Stability::Beta
            && !environment.allow_stability.contains(&Stability::Alpha)
            && matches!(reasons.get(f), Some(Reason::Dependency { .. }))
        {
            warnings.push(ResolveWarning::BetaAsDependency {
                feature: f.clone(),
                reason: reasons[f].clone(),
            });
        }
    }

    Ok(Resolution {
        order,
        reasons,
        disabled,
        warnings,
    })
}

fn describe(reasons: &BTreeMap<String, Reason>, f: &str) -> String {
    let mut chain = Vec::new();
    let mut current = f.to_string();
    while let Some(r) = reasons.get(&current) {
        match r {
            Reason::Dependency { of } if chain.len() < 32 => {
                chain.push(format!("dependency of {of}"));
                current = of.clone();
            }
            other => {
                chain.push(other.to_string());
                break;
            }
        }
    }
    chain.join(", ")
}

#[cfg(test)]
mod tests;
