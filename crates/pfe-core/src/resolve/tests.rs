use super::*;
use crate::catalog::{EnvironmentInfo, FeatureInfo, ProfileInfo, Resources, Stability};

fn feat(
    id: &str,
    deps: &[&str],
    conflicts: &[&str],
    stability: Stability,
) -> (String, FeatureInfo) {
    (
        id.to_string(),
        FeatureInfo {
            id: id.into(),
            name: id.into(),
            description: String::new(),
            xeps: vec![],
            stability,
            dependencies: deps.iter().map(|s| s.to_string()).collect(),
            conflicts: conflicts.iter().map(|s| s.to_string()).collect(),
            modules: vec![],
            toggles: vec![],
            checks: vec![],
            path: format!("config/features/{id}.cfg.lua"),
        },
    )
}

fn catalog() -> BTreeMap<String, FeatureInfo> {
    let mut web = feat("web/websocket", &["web/http"], &[], Stability::Stable);
    web.1.toggles = vec!["PROSODY_FEATURES_WEB_ENABLED".into()];
    let mut http = feat("web/http", &[], &[], Stability::Stable);
    http.1.toggles = vec!["PROSODY_FEATURES_WEB_ENABLED".into()];
    [
        feat("messaging/core", &[], &[], Stability::Stable),
        feat(
            "messaging/archive",
            &["messaging/core"],
            &[],
            Stability::Stable,
        ),
        feat(
            "authentication/basic",
            &["messaging/core"],
            &[],
            Stability::Stable,
        ),
        feat(
            "authentication/modern",
            &["authentication/basic"],
            &[],
            Stability::Beta,
        ),
        feat(
            "authentication/external",
            &["authentication/basic"],
            &["authentication/modern"],
            Stability::Alpha,
        ),
        http,
        web,
        feat("web/admin", &["web/http"], &[], Stability::Alpha),
    ]
    .into_iter()
    .collect()
}

fn profile(features: &[&str]) -> ProfileInfo {
    ProfileInfo {
        id: "standard".into(),
        name: "Standard".into(),
        description: String::new(),
        target_users: None,
        stability: None,
        resources: Resources::default(),
        features: features.iter().map(|s| s.to_string()).collect(),
        optional_features: vec![],
        variables: Default::default(),
        extends: None,
        path: "config/profiles/standard/profile.cfg.lua".into(),
    }
}

fn env(allow: &[Stability]) -> EnvironmentInfo {
    EnvironmentInfo {
        id: "production".into(),
        name: "production".into(),
        description: String::new(),
        allow_stability: allow.to_vec(),
        registration_open: None,
        public: false,
        variables: Default::default(),
        extends: None,
        path: "config/environments/production.cfg.lua".into(),
    }
}

const PROD: &[Stability] = &[Stability::Stable, Stability::Beta];

fn req(with: &[&str], without: &[&str], vars: &[(&str, &str)]) -> Request {
    Request {
        with: with.iter().map(|s| s.to_string()).collect(),
        without: without.iter().map(|s| s.to_string()).collect(),
        env: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        allow_unstable: false,
        known: None,
    }
}

#[test]
fn dependencies_come_first_and_record_why() {
    let r = resolve(
        &profile(&["messaging/archive", "web/websocket"]),
        &env(PROD),
        &catalog(),
        &req(&[], &[], &[]),
    )
    .unwrap();
    assert_eq!(
        r.order,
        vec![
            "messaging/core",
            "messaging/archive",
            "web/http",
            "web/websocket"
        ]
    );
    assert_eq!(
        r.reasons["web/http"],
        Reason::Dependency {
            of: "web/websocket".into()
        }
    );
    assert_eq!(
        r.chain("web/http"),
        vec!["web/http", "web/websocket", "profile 'standard'"]
    );
}

#[test]
fn variables_switch_features_on_and_off() {
    let r = resolve(
        &profile(&["messaging/core", "web/websocket"]),
        &env(PROD),
        &catalog(),
        &req(
            &[],
            &[],
            &[
                ("PROSODY_FEATURES_WEB_ENABLED", "false"),
                ("PROSODY_FEATURES_MESSAGING_ARCHIVE", "yes"),
            ],
        ),
    )
    .unwrap();
    assert_eq!(r.order, vec!["messaging/core", "messaging/archive"]);
    assert_eq!(
        r.reasons["messaging/archive"],
        Reason::Variable {
            name: "PROSODY_FEATURES_MESSAGING_ARCHIVE".into()
        }
    );
    assert_eq!(r.disabled["web/http"], "PROSODY_FEATURES_WEB_ENABLED=false");
}

#[test]
fn a_non_boolean_toggle_is_an_error_naming_the_variable() {
    let err = resolve(
        &profile(&[]),
        &env(PROD),
        &catalog(),
        &req(&[], &[], &[("PROSODY_FEATURES_WEB_ENABLED", "maybe")]),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("PROSODY_FEATURES_WEB_ENABLED=maybe is not a boolean"),
        "{err}"
    );
}

#[test]
fn without_a_dependency_drops_profile_dependents_but_refuses_explicit_ones() {
    let r = resolve(
        &profile(&["messaging/core", "web/websocket"]),
        &env(PROD),
        &catalog(),
        &req(&[], &["web/http"], &[]),
    )
    .unwrap();
    assert_eq!(r.order, vec!["messaging/core"]);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.to_string().contains("web/websocket is off too")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings.contains(&ResolveWarning::DependencyOff {
            feature: "web/websocket".into(),
            dependency: "web/http".into(),
            disabled_by: "--without".into(),
        }),
        "{:?}",
        r.warnings
    );
    let err = resolve(
        &profile(&[]),
        &env(PROD),
        &catalog(),
        &req(&["web/websocket"], &["web/http"], &[]),
    )
    .unwrap_err();
    assert!(
        matches!(err, ResolveError::DisabledDependency { .. }),
        "{err}"
    );
}

#[test]
fn unknown_features_get_a_suggestion_and_who_asked() {
    let err = resolve(
        &profile(&["messaging/archiv"]),
        &env(PROD),
        &catalog(),
        &req(&[], &[], &[]),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("did you mean 'messaging/archive'"), "{text}");
    assert!(text.contains("profile 'standard'"), "{text}");
}

#[test]
fn cycles_are_printed() {
    let mut c = catalog();
    c.get_mut("messaging/core")
        .unwrap()
        .dependencies
        .push("messaging/archive".into());
    let err = resolve(
        &profile(&["messaging/archive"]),
        &env(PROD),
        &c,
        &req(&[], &[], &[]),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("messaging/archive → messaging/core → messaging/archive")
            || text.contains("messaging/core → messaging/archive → messaging/core"),
        "{text}"
    );
}

#[test]
fn conflicts_name_both_features_and_who_asked() {
    let err = resolve(
        &profile(&["authentication/modern"]),
        &env(&[Stability::Stable, Stability::Beta, Stability::Alpha]),
        &catalog(),
        &req(&["authentication/external"], &[], &[]),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("authentication/external (enabled by --with)"),
        "{text}"
    );
    assert!(
        text.contains("authentication/modern (enabled by profile 'standard')"),
        "{text}"
    );
}

#[test]
fn alpha_in_production_is_an_error_unless_allowed() {
    let err = resolve(
        &profile(&["web/admin"]),
        &env(PROD),
        &catalog(),
        &req(&[], &[], &[]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("web/admin is alpha"), "{err}");
    let mut r = req(&[], &[], &[]);
    r.allow_unstable = true;
    let ok = resolve(&profile(&["web/admin"]), &env(PROD), &catalog(), &r).unwrap();
    assert!(
        ok.warnings
            .iter()
            .any(|w| w.to_string().contains("--allow-unstable"))
    );
    assert!(
        ok.warnings.iter().any(|w| matches!(w,
            ResolveWarning::AllowedUnstable { feature, stability: Stability::Alpha, .. }
                if feature == "web/admin")),
        "{:?}",
        ok.warnings
    );
}

#[test]
fn beta_only_as_dependency_warns_in_production() {
    let mut c = catalog();
    c.get_mut("messaging/archive")
        .unwrap()
        .dependencies
        .push("authentication/modern".into());
    let r = resolve(
        &profile(&["messaging/archive"]),
        &env(PROD),
        &c,
        &req(&[], &[], &[]),
    )
    .unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.to_string().contains("authentication/modern is beta")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings.iter().any(|w| matches!(w,
            ResolveWarning::BetaAsDependency { feature, reason: Reason::Dependency { of } }
                if feature == "authentication/modern" && of == "messaging/archive")),
        "{:?}",
        r.warnings
    );
    let r = resolve(
        &profile(&["messaging/archive", "authentication/modern"]),
        &env(PROD),
        &c,
        &req(&[], &[], &[]),
    )
    .unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}
