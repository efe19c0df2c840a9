//! Nothing pfe writes can become code (issue 8).
//!
//! A property test puts arbitrary strings (newlines, `]]`, `--`, quotes,
//! backslashes, NUL, Unicode line separators, bidi controls,
//! `Lua.os.execute(...)` payloads) into every slot a user controls, runs the
//! real `pfe` binary, and accepts exactly two outcomes:
//!
//! * refused: exit 1 or 2, a message on stderr, no panic, nothing written;
//! * written: the config loads through Prosody's own configmanager
//!   (tests/support/configcheck.lua, run by /usr/bin/lua5.4) with every Lua
//!   global removed and `Lua.*` trapped, and defines exactly the intended
//!   options and hosts (host names compared after Prosody's nameprep), and
//!   nothing else; YAML outputs parse to exactly the intended values.
//!
//! Fixed seed, regressions in tests/injection_props.proptest-regressions.
//! PROPTEST_CASES sets the number of cases (default [`DEFAULT_CASES`]).
//!
//! The deterministic tests at the end are the injections the hostile-input
//! pass found; each failed before the emitter existed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, RngSeed};

/// Cases per run when PROPTEST_CASES is not set: about a minute on a
/// loaded 2-core machine (a case runs pfe once or twice and Lua once or twice).
const DEFAULT_CASES: u32 = 160;
const SEED: u64 = 0x0008_e417_c0de;
const DRIVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/configcheck.lua");
const LUA: &str = "/usr/bin/lua5.4";

// ---------------------------------------------------------------- helpers

/// `s` as a Lua string literal using only `\xNN` escapes: the test's own
/// quoting, independent of pfe's emitter.
fn hexquote(s: &str) -> String {
    let mut out = String::from("\"");
    for b in s.bytes() {
        out.push_str(&format!("\\x{b:02x}"));
    }
    out.push('"');
    out
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(h: &str) -> String {
    let bytes: Vec<u8> = (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex"))
        .collect();
    String::from_utf8(bytes).expect("utf-8 from the driver")
}

/// A value as the driver prints it.
#[derive(Debug, Clone, PartialEq)]
enum V {
    S(String),
    B(bool),
    T(Vec<(String, String)>),
}

impl V {
    fn canon(&self) -> String {
        match self {
            V::S(s) => format!("s{}", hex(s)),
            V::B(b) => format!("b{}", u8::from(*b)),
            V::T(entries) => {
                let mut items: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("s{}=s{}", hex(k), hex(v)))
                    .collect();
                items.sort();
                format!("t{{{}}}", items.join(";"))
            }
        }
    }
}

/// The intended config: host ("*" or a name before nameprep) → options.
#[derive(Debug, Clone, Default)]
struct Intended {
    hosts: BTreeMap<String, BTreeMap<String, V>>,
}

impl Intended {
    fn set(&mut self, host: &str, name: &str, v: V) {
        self.hosts
            .entry(host.to_string())
            .or_default()
            .insert(name.to_string(), v);
    }
}

/// What the driver reports: each asked-for host after nameprep (None: refused),
/// and (host, option) → value of everything the config defined.
type Loaded = (
    BTreeMap<String, Option<String>>,
    BTreeMap<(String, String), String>,
);

/// Runs the driver on `config`; returns (host after nameprep, option) → value.
fn load(config: &Path, hosts: &[&str]) -> Result<Loaded, String> {
    let out = Command::new(LUA)
        .arg(DRIVER)
        .arg(config)
        .args(hosts.iter().map(|h| hex(h)))
        .output()
        .map_err(|e| format!("cannot run {LUA}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !stdout.ends_with("ok\n") {
        return Err(format!(
            "configmanager did not load it (status {:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut prepped = BTreeMap::new();
    let mut options = BTreeMap::new();
    for line in stdout.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts.as_slice() {
            ["nameprep", i, o] => {
                prepped.insert(unhex(i), (*o != "-").then(|| unhex(o)));
            }
            ["opt", h, n, v] => {
                options.insert((unhex(h), unhex(n)), v.to_string());
            }
            ["ok"] => {}
            other => return Err(format!("driver said {other:?}")),
        }
    }
    Ok((prepped, options))
}

/// Asserts the config at `path` loads to exactly `intended`.
fn assert_loads(path: &Path, intended: &Intended) -> Result<(), TestCaseError> {
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("{e}")))?;
    if let Some(c) = text.chars().find(|&c| {
        c != '\n'
            && (c.is_control()
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}'))
    }) {
        return Err(fail(format!("raw {c:?} in the output:\n{text}")));
    }
    let names: Vec<&str> = intended
        .hosts
        .keys()
        .map(String::as_str)
        .filter(|h| *h != "*")
        .collect();
    let (prepped, got) = load(path, &names).map_err(|e| fail(format!("{e}\n{text}")))?;
    let mut want = BTreeMap::new();
    for (host, opts) in &intended.hosts {
        let key = if host == "*" {
            "*".to_string()
        } else {
            match prepped.get(host) {
                Some(Some(p)) => p.clone(),
                _ => {
                    return Err(fail(format!(
                        "pfe wrote host {host:?}, which Prosody's nameprep refuses\n{text}"
                    )));
                }
            }
        };
        for (name, v) in opts {
            want.insert((key.clone(), name.clone()), v.canon());
        }
    }
    if want != got {
        return Err(fail(format!(
            "loaded config differs\nwanted: {want:?}\ngot:    {got:?}\n{text}"
        )));
    }
    Ok(())
}

fn fail(m: String) -> TestCaseError {
    TestCaseError::fail(m)
}

/// A catalog tree that replaces everything of the built-in one that a build
/// of profile `p` in environment `e` reads, so the intended config is known.
struct Tree {
    dir: tempfile::TempDir,
    feature: String,
    option_name: Option<String>,
    core_file: Option<String>,
}

impl Tree {
    fn new() -> Tree {
        Tree {
            dir: tempfile::tempdir().expect("tempdir"),
            feature: "one".into(),
            option_name: None,
            core_file: None,
        }
    }

    fn write(&self) -> std::io::Result<()> {
        let d = self.dir.path();
        for sub in ["core", "profiles/p", "environments", "features/t"] {
            std::fs::create_dir_all(d.join(sub))?;
        }
        std::fs::write(
            d.join("core/global.cfg.lua"),
            "-- replaced\nComponent(\"svc.\" .. pfe.domain) \"muc\"\nsvc_opt = pfe.domain\n",
        )?;
        std::fs::write(d.join("core/database.cfg.lua"), "-- replaced\n")?;
        std::fs::write(d.join("core/security.cfg.lua"), "-- replaced\n")?;
        if let Some(f) = &self.core_file {
            std::fs::write(d.join(format!("core/{f}.cfg.lua")), "opt_core = \"c\"\n")?;
        }
        std::fs::write(
            d.join("variables.cfg.lua"),
            "variables = { { name = \"PROSODY_T\", group = \"basic\", description = \"a test variable\" } }\n",
        )?;
        std::fs::write(
            d.join("profiles/p/profile.cfg.lua"),
            format!(
                "profile_info = {{ name = \"P\", description = \"d\", features = {{ {} }}, optional_features = {{}},\n  resource_requirements = {{ memory = \"256MB\", cpu = \"1 core\", storage = \"5GB\" }} }}\n",
                hexquote(&format!("t/{}", self.feature))
            ),
        )?;
        std::fs::write(
            d.join("environments/e.cfg.lua"),
            "environment_info = { name = \"E\", description = \"d\" }\n",
        )?;
        let mut feature = String::from(
            "feature_info = { name = \"T\", description = \"d\", stability = \"stable\", dependencies = {}, conflicts = {}, modules = {} }\nopt_a = \"value\"\nopt_env = os.getenv(\"PROSODY_T\") or \"unset\"\n",
        );
        if let Some(n) = &self.option_name {
            feature.push_str(&format!("_ENV[{}] = \"x\"\n", hexquote(n)));
        }
        std::fs::write(
            d.join(format!("features/t/{}.cfg.lua", self.feature)),
            feature,
        )
    }

    /// The config the tree gives for `domain`, before any slot changes it.
    fn intended(&self, domain: &str) -> Intended {
        let mut i = Intended::default();
        i.set("*", "opt_a", V::S("value".into()));
        i.set("*", "opt_env", V::S("unset".into()));
        i.set(domain, "defined", V::B(true));
        let svc = format!("svc.{domain}");
        i.set(&svc, "component_module", V::S("muc".into()));
        i.set(&svc, "load_global_modules", V::B(false));
        i.set(&svc, "svc_opt", V::S(domain.into()));
        if self.core_file.is_some() {
            i.set("*", "opt_core", V::S("c".into()));
        }
        if let Some(n) = &self.option_name {
            i.set("*", n, V::S("x".into()));
        }
        i
    }
}

fn pfe(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pfe"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::var_os("HOME").unwrap_or_default())
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run pfe")
}

enum Outcome {
    Refused(String),
    Written,
}

/// Refused cleanly (exit 1/2, a message, nothing at `written`), or written.
fn outcome(out: &Output, written: &[PathBuf]) -> Result<Outcome, TestCaseError> {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    if stderr.contains("panicked") {
        return Err(fail(format!("pfe panicked: {stderr}")));
    }
    match out.status.code() {
        Some(0) => Ok(Outcome::Written),
        Some(1 | 2) => {
            if stderr.trim().is_empty() {
                return Err(fail("refused without a message".into()));
            }
            if let Some(p) = written.iter().find(|p| p.exists()) {
                return Err(fail(format!("refused but wrote {}: {stderr}", p.display())));
            }
            Ok(Outcome::Refused(stderr))
        }
        other => Err(fail(format!("exit {other:?}: {stderr}"))),
    }
}

/// Every YAML document in `path` parses; returns them.
fn yaml_docs(path: &Path) -> Result<Vec<saphyr::Yaml<'static>>, TestCaseError> {
    use saphyr::LoadableYamlNode;
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("{e}")))?;
    if let Some(c) = text.chars().find(|&c| {
        c != '\n'
            && (c.is_control() || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}'))
    }) {
        return Err(fail(format!("raw {c:?} in {}:\n{text}", path.display())));
    }
    let owned: &'static str = Box::leak(text.clone().into_boxed_str());
    saphyr::Yaml::load_from_str(owned)
        .map_err(|e| fail(format!("{} does not parse: {e}\n{text}", path.display())))
}

/// Every value under a key named `key`, anywhere in `node`.
fn find_key<'a>(
    node: &'a saphyr::Yaml<'static>,
    key: &str,
    out: &mut Vec<&'a saphyr::Yaml<'static>>,
) {
    match node {
        saphyr::Yaml::Mapping(m) => {
            for (k, v) in m {
                if k.as_str() == Some(key) {
                    out.push(v);
                }
                find_key(v, key, out);
            }
        }
        saphyr::Yaml::Sequence(s) => s.iter().for_each(|v| find_key(v, key, out)),
        _ => {}
    }
}

/// Lua's reading of a long-bracket string: a first newline is skipped and
/// every \r, \n, \r\n or \n\r becomes \n.
fn long_string(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut first = true;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' || c == '\r' {
            if i + 1 < chars.len()
                && (chars[i + 1] == '\n' || chars[i + 1] == '\r')
                && chars[i + 1] != c
            {
                i += 1;
            }
            if !first {
                out.push('\n');
            }
        } else {
            out.push(c);
        }
        first = false;
        i += 1;
    }
    out
}

// ---------------------------------------------------------------- strategies

const FRAGMENTS: &[&str] = &[
    "\n",
    "\r",
    "\r\n",
    "]]",
    "]==]",
    "[[",
    "[==[",
    "--",
    "--[[",
    "\"",
    "'",
    "\\",
    "\\n",
    "\0",
    "\u{85}",
    "\u{2028}",
    "\u{2029}",
    "\u{202e}",
    "\u{2066}",
    "\u{feff}",
    "\u{200b}",
    "\t",
    " ",
    "=",
    ":",
    ".",
    ";",
    ",",
    "#",
    ": ",
    " #",
    "- ",
    "? ",
    "&a",
    "*a",
    "!!str",
    "{",
    "}",
    "(",
    ")",
    "$(id)",
    "`id`",
    "${X}",
    "%",
    "end",
    "Lua.os.execute(\"touch /tmp/pfe-pwned\")",
    "os.exit(3)",
    "require(\"os\")",
    "x = 1\n",
    "_ENV",
    "ENV_HOME",
    "VirtualHost",
    "example.org",
    "Ex.Org",
    "é",
    "ß",
    "\u{05d0}",
    "\u{0627}",
    "\u{fb01}",
    "1",
    "a_b",
    "---",
    "...",
];

fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::sample::select(FRAGMENTS).prop_map(str::to_string),
        3 => any::<char>().prop_map(String::from),
        3 => "[a-z0-9_.]{1,8}",
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

/// Strings the OS passes as an argument or variable: no NUL.
fn arg(s: String) -> String {
    s.replace('\0', "\u{1}")
}

fn domain() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => hostile(),
        1 => "[a-z]{1,10}\\.[a-z]{2,5}",
        1 => (hostile(), "[a-z]{1,5}").prop_map(|(h, t)| format!("{h}.{t}")),
    ]
    .prop_map(arg)
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![2 => hostile(), 1 => "[A-Za-z_][A-Za-z0-9_]{0,12}"]
}

fn file_name() -> impl Strategy<Value = String> {
    hostile().prop_map(|s| {
        let s: String = s.replace(['/', '\0'], "_");
        let mut s = s.trim_start_matches('.').to_string();
        while s.len() > 180 {
            s.pop();
        }
        if s.is_empty() || ["global", "database", "security", "one"].contains(&s.as_str()) {
            format!("f{s}")
        } else {
            s
        }
    })
}

#[derive(Debug, Clone)]
enum Form {
    Quoted,
    Long,
    TableKey,
}

#[derive(Debug, Clone)]
enum Slot {
    Domain { domain: String, via_env: bool },
    SetKey(String),
    SetValue(String, Form),
    OptionName(String),
    CoreFile(String),
    Feature(String),
    EnvValue(String),
    Image(String),
}

fn slot() -> impl Strategy<Value = Slot> {
    prop_oneof![
        (domain(), any::<bool>()).prop_map(|(domain, via_env)| Slot::Domain { domain, via_env }),
        name()
            .prop_map(arg)
            .prop_filter("'=' ends the key", |k| !k.contains('='))
            .prop_map(Slot::SetKey),
        (
            hostile().prop_map(arg),
            prop_oneof![Just(Form::Quoted), Just(Form::Long), Just(Form::TableKey)]
        )
            .prop_map(|(v, f)| Slot::SetValue(v, f)),
        name()
            .prop_filter("metadata tables are not options", |n| {
                ![
                    "feature_info",
                    "profile_info",
                    "environment_info",
                    "variables",
                ]
                .contains(&n.as_str())
            })
            .prop_map(Slot::OptionName),
        file_name().prop_map(Slot::CoreFile),
        file_name().prop_map(Slot::Feature),
        hostile()
            .prop_map(arg)
            .prop_filter("an empty variable is unset", |v| !v.is_empty())
            .prop_map(Slot::EnvValue),
        hostile().prop_map(arg).prop_map(Slot::Image),
    ]
}

// ---------------------------------------------------------------- the property

const DOMAIN: &str = "ex.org";

fn generate(tree: &Tree, extra: &[&str], env: &[(&str, &str)]) -> (Output, PathBuf) {
    let out_path = tree.dir.path().join("out.cfg.lua");
    let dir = tree.dir.path().to_str().expect("utf-8 temp path");
    let out_str = out_path.to_str().expect("utf-8 temp path");
    let mut args = vec!["--config-dir", dir, "generate", "p", "e", "-o", out_str];
    args.extend_from_slice(extra);
    (pfe(&args, env), out_path)
}

/// Checks one case; true when pfe wrote its (first) output.
fn check(slot: &Slot) -> Result<bool, TestCaseError> {
    let mut written = false;
    let mut tree = Tree::new();
    let mut intended;
    match slot {
        Slot::Domain { domain, via_env } => {
            tree.write().map_err(|e| fail(e.to_string()))?;
            let (out, path) = if *via_env {
                generate(&tree, &[], &[("PROSODY_DOMAIN", domain)])
            } else {
                generate(&tree, &[&format!("--domain={domain}")], &[])
            };
            // An empty variable is unset: the default domain applies.
            let domain = if *via_env && domain.is_empty() {
                "localhost"
            } else {
                domain.as_str()
            };
            intended = tree.intended(domain);
            if let Outcome::Written = outcome(&out, std::slice::from_ref(&path))? {
                assert_loads(&path, &intended)?;
                written = true;
            }
        }
        Slot::SetKey(key) => {
            tree.write().map_err(|e| fail(e.to_string()))?;
            // --set=VALUE: a value starting with '-' is still a value.
            let set = format!("--set={key}=\"v\"");
            let (out, path) = generate(&tree, &["--domain", DOMAIN, &set], &[]);
            intended = tree.intended(DOMAIN);
            // [HOST:]OPTION: a host without a dot is a sub-domain of the domain.
            let (scope, name) = match key.split_once(':') {
                Some((h, n)) => {
                    let h = h.trim();
                    let scope = if h == "*" || h.is_empty() {
                        "*".to_string()
                    } else if h.contains('.') || h == DOMAIN {
                        h.to_string()
                    } else {
                        format!("{h}.{DOMAIN}")
                    };
                    (scope, n.trim())
                }
                None => ("*".to_string(), key.trim()),
            };
            let svc = format!("svc.{DOMAIN}");
            if scope == "*" || scope == svc {
                intended.set(&scope, name, V::S("v".into()));
            }
            // A host the catalog does not define: the option has nowhere to go
            // (refused, or at least never written anywhere else).
            if let Outcome::Written = outcome(&out, std::slice::from_ref(&path))? {
                assert_loads(&path, &intended)?;
                written = true;
            }
        }
        Slot::SetValue(v, form) => {
            tree.write().map_err(|e| fail(e.to_string()))?;
            let (set, value) = match form {
                Form::Quoted => (format!("opt_b={}", hexquote(v)), V::S(v.clone())),
                Form::Long if !v.contains("]==]") => {
                    (format!("opt_b=[==[{v}]==]"), V::S(long_string(v)))
                }
                Form::Long => (format!("opt_b={}", hexquote(v)), V::S(v.clone())),
                Form::TableKey => (
                    format!("opt_b={{[{}]={}}}", hexquote(v), hexquote(v)),
                    V::T(vec![(v.clone(), v.clone())]),
                ),
            };
            intended = tree.intended(DOMAIN);
            intended.set("*", "opt_b", value);
            let set = format!("--set={set}");
            let (out, path) = generate(&tree, &["--domain", DOMAIN, &set], &[]);
            if let Outcome::Written = outcome(&out, std::slice::from_ref(&path))? {
                assert_loads(&path, &intended)?;
                written = true;
            }
            // The same --set through `pfe k8s`: every manifest parses, and the
            // config in the ConfigMap loads to the same options.
            let k8s = tree.dir.path().join("k8s");
            let dir = tree.dir.path().to_str().expect("utf-8");
            let out = pfe(
                &[
                    "--config-dir",
                    dir,
                    "k8s",
                    "p",
                    "e",
                    "--domain",
                    DOMAIN,
                    &set,
                    "-o",
                    k8s.to_str().expect("utf-8"),
                ],
                &[],
            );
            let cm = k8s.join("configmap.yaml");
            if let Outcome::Written = outcome(&out, std::slice::from_ref(&cm))? {
                for f in ["service.yaml", "statefulset.yaml"] {
                    yaml_docs(&k8s.join(f))?;
                }
                let docs = yaml_docs(&cm)?;
                let mut found = Vec::new();
                find_key(&docs[0], "prosody.cfg.lua", &mut found);
                let text = found
                    .first()
                    .and_then(|y| y.as_str())
                    .ok_or_else(|| fail("no prosody.cfg.lua in the ConfigMap".into()))?;
                let embedded = tree.dir.path().join("embedded.cfg.lua");
                std::fs::write(&embedded, text).map_err(|e| fail(e.to_string()))?;
                assert_loads(&embedded, &intended)?;
            }
        }
        Slot::OptionName(n) => {
            tree.option_name = Some(n.clone());
            tree.write().map_err(|e| fail(e.to_string()))?;
            let (out, path) = generate(&tree, &["--domain", DOMAIN], &[]);
            intended = tree.intended(DOMAIN);
            match outcome(&out, std::slice::from_ref(&path))? {
                Outcome::Written => {
                    assert_loads(&path, &intended)?;
                    written = true;
                }
                Outcome::Refused(msg) => {
                    // A name that is not an identifier is refused at its file:line.
                    if !n.is_empty()
                        && !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        && !msg.contains("one.cfg.lua:4")
                    {
                        return Err(fail(format!("refusal does not name the file:line: {msg}")));
                    }
                }
            }
        }
        Slot::CoreFile(f) => {
            tree.core_file = Some(f.clone());
            tree.write().map_err(|e| fail(e.to_string()))?;
            let (out, path) = generate(&tree, &["--domain", DOMAIN], &[]);
            intended = tree.intended(DOMAIN);
            if let Outcome::Written = outcome(&out, std::slice::from_ref(&path))? {
                assert_loads(&path, &intended)?;
                written = true;
            }
        }
        Slot::Feature(f) => {
            tree.feature = f.clone();
            tree.write().map_err(|e| fail(e.to_string()))?;
            let (out, path) = generate(&tree, &["--domain", DOMAIN], &[]);
            intended = tree.intended(DOMAIN);
            if let Outcome::Written = outcome(&out, std::slice::from_ref(&path))? {
                assert_loads(&path, &intended)?;
                written = true;
            }
        }
        Slot::EnvValue(v) => {
            tree.write().map_err(|e| fail(e.to_string()))?;
            let (out, path) = generate(&tree, &["--domain", DOMAIN], &[("PROSODY_T", v)]);
            intended = tree.intended(DOMAIN);
            intended.set("*", "opt_env", V::S(v.clone()));
            if let Outcome::Written = outcome(&out, std::slice::from_ref(&path))? {
                assert_loads(&path, &intended)?;
                written = true;
            }
        }
        Slot::Image(image) => {
            tree.write().map_err(|e| fail(e.to_string()))?;
            let dir = tree.dir.path().to_str().expect("utf-8").to_string();
            let k8s = tree.dir.path().join("k8s");
            let out = pfe(
                &[
                    "--config-dir",
                    &dir,
                    "k8s",
                    "p",
                    "e",
                    "--domain",
                    DOMAIN,
                    &format!("--image={image}"),
                    "-o",
                    k8s.to_str().expect("utf-8"),
                ],
                &[],
            );
            let sts = k8s.join("statefulset.yaml");
            if let Outcome::Written = outcome(&out, std::slice::from_ref(&sts))? {
                written = true;
                let docs = yaml_docs(&sts)?;
                let mut images = Vec::new();
                docs.iter().for_each(|d| find_key(d, "image", &mut images));
                let want = if tagged(image) {
                    image.clone()
                } else {
                    format!("{image}:latest")
                };
                if images.is_empty() || images.iter().any(|y| y.as_str() != Some(want.as_str())) {
                    return Err(fail(format!("images {images:?}, wanted {want:?}")));
                }
                for f in ["configmap.yaml", "service.yaml"] {
                    yaml_docs(&k8s.join(f))?;
                }
            }
            // compose reads the built-in catalog (the container has no other).
            let compose = tree.dir.path().join("compose");
            let out = pfe(
                &[
                    "compose",
                    "minimal",
                    "development",
                    "--domain",
                    DOMAIN,
                    &format!("--image={image}"),
                    "-o",
                    compose.to_str().expect("utf-8"),
                ],
                &[("PROSODY_TURN_HOST", "turn.example.org")],
            );
            let file = compose.join("compose.yaml");
            if let Outcome::Written = outcome(&out, std::slice::from_ref(&file))? {
                let docs = yaml_docs(&file)?;
                yaml_docs(&compose.join("compose.development.yaml"))?;
                let mut images = Vec::new();
                find_key(&docs[0], "image", &mut images);
                let want = if tagged(image) {
                    image.clone()
                } else {
                    format!("{image}:${{PROSODY_VERSION:-latest}}")
                };
                if !images.iter().any(|y| y.as_str() == Some(want.as_str())) {
                    return Err(fail(format!("images {images:?}, wanted {want:?}")));
                }
            }
        }
    }
    if std::env::var_os("PFE_PROP_TRACE").is_some() {
        // `PFE_PROP_TRACE=1 cargo test ... -- --nocapture`: what each case did.
        eprintln!(
            "case {} {slot:?}",
            if written { "written" } else { "refused" }
        );
    }
    Ok(written)
}

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases,
        // PROPTEST_RNG_SEED explores other cases; CI uses the fixed seed.
        rng_seed: RngSeed::Fixed(
            std::env::var("PROPTEST_RNG_SEED")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(SEED),
        ),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/injection_props.proptest-regressions",
        ))),
        max_shrink_iters: 256,
        max_shrink_time: 60_000,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn nothing_pfe_writes_becomes_code(slot in slot()) {
        check(&slot)?;
    }
}

// ---------------------------------------------------------------- regressions

const PAYLOAD: &str = "Lua.os.execute(\"touch pfe-pwned\")";

/// Whether an image reference already names a tag or digest (then pfe adds
/// no default tag): a `:` in its last path component, or an `@`.
fn tagged(image: &str) -> bool {
    image.contains('@')
        || image
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':'))
}

/// The case must be written, and load to exactly what was intended.
fn run_check(slot: Slot) {
    match check(&slot) {
        Ok(true) => {}
        Ok(false) => panic!("{slot:?}: refused, expected a config"),
        Err(e) => panic!("{slot:?}: {e}"),
    }
}

#[test]
fn newline_in_the_domain_is_refused_not_written_into_the_header() {
    let tree = Tree::new();
    tree.write().unwrap();
    let domain = format!("x.example.org\n{PAYLOAD} --");
    for env in [false, true] {
        let (out, path) = if env {
            generate(&tree, &[], &[("PROSODY_DOMAIN", &domain)])
        } else {
            generate(&tree, &["--domain", &domain], &[])
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(!path.exists(), "a config was written");
        assert!(
            stderr.contains("x.example.org\\nLua.os.execute"),
            "{stderr}"
        );
    }
}

#[test]
fn newline_in_a_set_value_stays_in_the_string() {
    // The raw newline is in the --set text that the Regenerate line and the
    // provenance comment repeat.
    let v = format!("a\n{PAYLOAD}--");
    run_check(Slot::SetValue(v.clone(), Form::Long));
    run_check(Slot::SetValue(
        format!("\n{v}\r\n\u{2028}x: 1 #"),
        Form::Long,
    ));
    run_check(Slot::SetValue(v, Form::TableKey));
}

#[test]
fn newline_in_a_set_value_keeps_the_k8s_yaml_whole() {
    let tree = Tree::new();
    tree.write().unwrap();
    let k8s = tree.dir.path().join("k8s");
    let set = "opt_b=[==[a\n  b: c #x]==]";
    let out = pfe(
        &[
            "--config-dir",
            tree.dir.path().to_str().unwrap(),
            "k8s",
            "p",
            "e",
            "--domain",
            DOMAIN,
            "--set",
            set,
            "-o",
            k8s.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in ["configmap.yaml", "service.yaml", "statefulset.yaml"] {
        let text = std::fs::read_to_string(k8s.join(f)).unwrap();
        // The header comment stays comment lines: no top-level "  b" key.
        assert!(!text.lines().any(|l| l.starts_with("  b: c")), "{text}");
        yaml_docs(&k8s.join(f)).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn catalog_option_names_that_are_not_identifiers_are_refused_at_file_line() {
    for name in [format!("x = 1\n{PAYLOAD}--"), "end".to_string()] {
        let mut tree = Tree::new();
        tree.option_name = Some(name.clone());
        tree.write().unwrap();
        let (out, path) = generate(&tree, &["--domain", DOMAIN], &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name:?}: {stderr}");
        assert!(!path.exists(), "{name:?}: a config was written");
        assert!(stderr.contains("features/t/one.cfg.lua:4"), "{stderr}");
        assert!(stderr.contains("option name"), "{stderr}");
    }
}

#[test]
fn catalog_file_names_with_newlines_stay_in_comments() {
    run_check(Slot::CoreFile(format!("a\n{PAYLOAD}--")));
    run_check(Slot::CoreFile(format!("a\r{PAYLOAD}\u{2028}x")));
    run_check(Slot::Feature(format!("b\n{PAYLOAD}--")));
}

#[test]
fn env_values_and_images_stay_data() {
    run_check(Slot::EnvValue(format!("a\n{PAYLOAD}--\"]]")));
    run_check(Slot::Image(
        "registry.example:5000/team/prosody:1.0".to_string(),
    ));
    // An image reference with a newline is not a reference: refused (naming
    // --image), never written as YAML.
    let hostile = Slot::Image("img\nx: 1 #\u{2028}".to_string());
    match check(&hostile) {
        Ok(false) => {}
        Ok(true) => panic!("{hostile:?}: written, expected a refusal"),
        Err(e) => panic!("{hostile:?}: {e}"),
    }
}

#[test]
fn env_references_that_are_not_names_are_refused() {
    // ENV_<anything> read in a catalog file is a reference kept as written;
    // one that is not a plain name must never reach the config as code.
    let tree = Tree::new();
    tree.write().unwrap();
    let feature = tree.dir.path().join("features/t/one.cfg.lua");
    let mut text = std::fs::read_to_string(&feature).unwrap();
    text.push_str(&format!(
        "opt_r = _ENV[{}]\n",
        hexquote(&format!("ENV_X\n{PAYLOAD}--"))
    ));
    std::fs::write(&feature, text).unwrap();
    let (out, path) = generate(&tree, &["--domain", DOMAIN], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!path.exists(), "a config was written");
    assert!(stderr.contains("features/t/one.cfg.lua:4"), "{stderr}");
}

#[test]
fn pfe_create_keeps_a_hostile_description_in_its_string() {
    let dir = tempfile::tempdir().unwrap();
    let description = format!("a\n]]\"--\r\n{PAYLOAD}\u{2028}end");
    let out = pfe(
        &[
            "--config-dir",
            dir.path().to_str().unwrap(),
            "create",
            "mine",
            "minimal",
            &format!("--description={description}"),
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = dir.path().join("profiles/mine/profile.cfg.lua");
    // Load it with nothing of Lua in reach and read the description back.
    let lua = r#"
        local f = assert(io.open(arg[1])); local text = f:read("a"); f:close()
        local env = {}
        local chunk = assert(load(text, "=profile", "t", env))
        chunk()
        io.write((env.profile_info.description:gsub(".", function(c) return string.format("%02x", c:byte()) end)))
    "#;
    let script = dir.path().join("read.lua");
    std::fs::write(&script, lua).unwrap();
    let out = Command::new(LUA).arg(&script).arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&file).unwrap()
    );
    assert_eq!(unhex(&String::from_utf8_lossy(&out.stdout)), description);
}
