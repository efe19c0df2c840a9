//! The per-catalog metadata cache must never serve metadata that depends on
//! the environment: two builds on one catalog with different variables.

use pfe_core::catalog::Catalog;
use pfe_core::engine::{self, Request};

#[test]
fn metadata_that_reads_variables_is_not_cached() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("features/x");
    std::fs::create_dir_all(&f).unwrap();
    std::fs::write(
        f.join("dyn.cfg.lua"),
        "feature_info = { name = os.getenv('DYN_NAME') or 'unset', dependencies = { 'messaging/core' } }\n",
    )
    .unwrap();
    std::fs::write(f.join("stat.cfg.lua"), "feature_info = { name = 'static', dependencies = { 'messaging/core' } }\nx_static = os.getenv('DYN_NAME')\n").unwrap();
    let catalog = Catalog::load(Some(dir.path())).unwrap();
    let build = |value: &str| {
        let mut req = Request::new("minimal", "production");
        req.with = vec!["x/dyn".into(), "x/stat".into()];
        req.all_features = true;
        req.env.insert("DYN_NAME".into(), value.into());
        engine::build(&catalog, &req).unwrap()
    };
    let one = build("first");
    let two = build("second");
    assert_eq!(one.features["x/dyn"].name, "first");
    assert_eq!(
        two.features["x/dyn"].name, "second",
        "metadata read from a variable is evaluated again"
    );
    assert_eq!(two.features["x/stat"].name, "static");
    // The body still runs in every build with its own environment.
    assert_eq!(
        two.evaluated.global().options["x_static"].value.as_str(),
        Some("second")
    );
}
