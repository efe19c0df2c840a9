use super::*;
use std::time::{Duration, Instant};

fn src(id: &str, text: &str) -> Source {
    Source {
        id: id.into(),
        path: format!("test/{id}"),
        text: text.into(),
    }
}

fn sandbox_with(env: &[(&str, &str)]) -> Sandbox {
    let env = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ctx = Context {
        domain: "example.org".into(),
        domains: Vec::new(),
        profile: "standard".into(),
        environment: "production".into(),
    };
    Sandbox::new(env, &ctx).unwrap()
}

fn eval_one(text: &str) -> Result<Evaluated, SandboxError> {
    let sb = sandbox_with(&[]);
    sb.eval(&src("a.cfg.lua", text))?;
    sb.finish()
}

#[test]
fn assignments_record_file_and_line() {
    let sb = sandbox_with(&[]);
    sb.set_layer("core");
    sb.eval(&src(
        "one.cfg.lua",
        "-- comment\nc2s_require_encryption = false\n",
    ))
    .unwrap();
    sb.set_layer("environment");
    sb.eval(&src("two.cfg.lua", "\n\n\nc2s_require_encryption = true\n"))
        .unwrap();
    let ev = sb.finish().unwrap();
    let opt = &ev.global().options["c2s_require_encryption"];
    assert_eq!(opt.value, Value::Bool(true));
    let hist: Vec<_> = opt
        .history
        .iter()
        .map(|o| (&*o.file, o.line, &*o.layer))
        .collect();
    assert_eq!(
        hist,
        vec![
            ("one.cfg.lua", 2, "core"),
            ("two.cfg.lua", 4, "environment")
        ]
    );
    assert_eq!(ev.display_origin(opt.origin()), "test/two.cfg.lua:4");
}

#[test]
fn table_insert_and_append_both_extend_modules_with_origins() {
    let ev = eval_one(
        "modules_enabled = modules_enabled or {}\n\
         table.insert(modules_enabled, \"mam\")\n\
         modules_enabled:append { \"carbons\", \"csi_simple\" }\n\
         modules_enabled { \"smacks\" }\n",
    )
    .unwrap();
    let m = &ev.global().options["modules_enabled"];
    assert_eq!(
        m.value.string_list(),
        vec!["mam", "carbons", "csi_simple", "smacks"]
    );
    assert_eq!(m.item_origins["mam"].line, 2);
    assert_eq!(m.item_origins["csi_simple"].line, 3);
    assert_eq!(m.item_origins["smacks"].line, 4);
}

#[test]
fn os_getenv_reads_the_resolved_environment_only() {
    let sb = sandbox_with(&[("PROSODY_FEATURES_AUTH_FAST", "true")]);
    sb.eval(&src(
        "a.cfg.lua",
        "fast = os.getenv('PROSODY_FEATURES_AUTH_FAST') == 'true'\nmissing = os.getenv('HOME') == nil\n",
    ))
    .unwrap();
    let ev = sb.finish().unwrap();
    assert_eq!(ev.global().options["fast"].value, Value::Bool(true));
    assert_eq!(ev.global().options["missing"].value, Value::Bool(true));
}

#[test]
fn escapes_are_refused_with_file_line_and_reason() {
    for (code, needle) in [
        ("x = 1\nos.execute('id')", "os.execute is not available"),
        (
            "x = 1\nlocal f = io.open('/etc/passwd')",
            "io is not available",
        ),
        ("x = 1\nrequire('socket')", "require is not available"),
        ("x = 1\nload('return 1')()", "load is not available"),
        ("x = 1\ndofile('/etc/passwd')", "dofile is not available"),
        (
            "x = 1\nlocal mt = getmetatable('')",
            "getmetatable is not available",
        ),
        ("x = 1\nstring.rep = nil", "read-only"),
    ] {
        let err = eval_one(code).unwrap_err();
        assert_eq!(err.line, 2, "{code}: {err}");
        assert!(err.message.contains(needle), "{code}: {}", err.message);
        assert_eq!(err.path, "test/a.cfg.lua");
        assert!(err.help.is_some());
    }
}

#[test]
fn bytecode_chunks_are_refused() {
    let err = eval_one("\x1bLua\x54\x00garbage").unwrap_err();
    assert!(
        err.message.contains("binary") || err.message.contains("attempt to load"),
        "{}",
        err.message
    );
}

#[test]
fn runaway_loop_is_stopped_within_a_second_even_under_pcall() {
    for code in [
        "x = 1\nwhile true do end",
        "x = 1\nwhile true do pcall(function() while true do end end) end",
    ] {
        let started = Instant::now();
        let err = eval_one(code).unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
        assert!(err.message.contains("ran too long"), "{}", err.message);
        assert_eq!(err.path, "test/a.cfg.lua");
    }
}

#[test]
fn memory_bomb_is_stopped() {
    for code in [
        "x = string.rep('x', 1024 * 1024 * 1024)",
        "x = ('x'):rep(200 * 1024 * 1024)",
        "local t = {} for i = 1, 1e9 do t[i] = i end",
    ] {
        assert_stopped(code, &["memory", "ran too long"]);
    }
}

/// Evaluating `code` fails with a message holding one of `why`.
fn assert_stopped(code: &str, why: &[&str]) {
    let err = eval_one(code).unwrap_err();
    assert!(
        why.iter().any(|w| err.message.contains(w)),
        "{code}: {}",
        err.message
    );
}

#[test]
fn log_is_both_an_option_and_a_function() {
    let ev = eval_one(
        "log = { { levels = { \"error\" }, to = \"console\" } }\n\
         log(\"info\", \"loaded %s with %d modules\", \"production\", 3)\n",
    )
    .unwrap();
    assert!(matches!(ev.global().options["log"].value, Value::List(_)));
    assert_eq!(ev.logs.len(), 1);
    assert_eq!(ev.logs[0].message, "loaded production with 3 modules");
    assert_eq!(ev.logs[0].origin.line, 2);
}

#[test]
fn metadata_is_read_from_globals_and_locals_and_is_not_an_option() {
    let sb = sandbox_with(&[]);
    let meta = sb
        .eval(&src("f.cfg.lua", "local feature_info = { name = \"X\", xeps = { \"XEP-0001\" } }\nfoo = feature_info.name\n"))
        .unwrap();
    assert_eq!(meta["feature_info"].get_str("name"), Some("X"));
    let meta = sb
        .eval(&src("p.cfg.lua", "profile_info = { name = \"P\" }\n"))
        .unwrap();
    assert_eq!(meta["profile_info"].get_str("name"), Some("P"));
    let ev = sb.finish().unwrap();
    assert!(!ev.global().options.contains_key("feature_info"));
    assert!(!ev.global().options.contains_key("profile_info"));
    assert_eq!(ev.global().options["foo"].value, Value::Str("X".into()));
}

#[test]
fn hosts_and_components_scope_the_following_options() {
    let ev = eval_one(
        "a = 1\n\
         VirtualHost \"example.org\"\n\
         b = 2\n\
         Component \"conference.example.org\" \"muc\"\n\
         modules_enabled = { \"muc_mam\" }\n\
         restrict_room_creation = \"local\"\n",
    )
    .unwrap();
    assert!(ev.global().options.contains_key("a"));
    let vh = ev.section("example.org").unwrap();
    assert_eq!(vh.kind, SectionKind::VirtualHost);
    assert!(vh.options.contains_key("b"));
    let muc = ev.section("conference.example.org").unwrap();
    assert_eq!(
        muc.kind,
        SectionKind::Component {
            module: "muc".into()
        }
    );
    assert_eq!(
        muc.options["modules_enabled"].value.string_list(),
        vec!["muc_mam"]
    );
    assert_eq!(
        muc.options["restrict_room_creation"].value,
        Value::Str("local".into())
    );
}

#[test]
fn scope_resets_to_global_for_each_file() {
    let sb = sandbox_with(&[]);
    sb.eval(&src(
        "a.cfg.lua",
        "Component \"proxy.example.org\" \"proxy65\"\nproxy65_acl = { \"example.org\" }\n",
    ))
    .unwrap();
    sb.eval(&src("b.cfg.lua", "c2s_require_encryption = true\n"))
        .unwrap();
    let ev = sb.finish().unwrap();
    assert!(ev.global().options.contains_key("c2s_require_encryption"));
    assert!(
        ev.section("proxy.example.org")
            .unwrap()
            .options
            .contains_key("proxy65_acl")
    );
}

#[test]
fn credentials_and_env_references_are_kept_as_written() {
    let ev = eval_one("sql = { driver = \"PostgreSQL\", password = Credential(\"db_password\") }\nturn_external_secret = ENV_TURN_SECRET\n").unwrap();
    let sql = &ev.global().options["sql"].value;
    assert_eq!(
        sql.get("password"),
        Some(&Value::Expr("Credential(\"db_password\")".into()))
    );
    assert_eq!(
        ev.global().options["turn_external_secret"].value,
        Value::Expr("ENV_TURN_SECRET".into())
    );
}

#[test]
fn syntax_errors_point_at_the_line_with_a_snippet() {
    let err = eval_one("a = 1\nb = = 2\n").unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.span.is_some());
    assert!(err.src.is_some());
}

#[test]
fn runtime_errors_from_error_calls_keep_the_message() {
    let err =
        eval_one("a = 1\nerror(\"PROSODY_STORAGE must be sqlite or postgres\")\n").unwrap_err();
    assert_eq!(err.line, 2);
    assert_eq!(err.message, "PROSODY_STORAGE must be sqlite or postgres");
}

#[test]
fn functions_cannot_be_option_values() {
    let err = eval_one("a = 1\nb = function() end\n").unwrap_err();
    assert!(
        err.message.contains("cannot hold a function"),
        "{}",
        err.message
    );
    assert_eq!(err.line, 2);
}

#[test]
fn set_assigns_lua_literals_into_a_scope() {
    let sb = sandbox_with(&[]);
    sb.eval(&src(
        "a.cfg.lua",
        "Component \"conference.example.org\" \"muc\"\n",
    ))
    .unwrap();
    let origin = Source {
        id: "--set".into(),
        path: "--set".into(),
        text: "enabled=false".into(),
    };
    sb.assign("conference.example.org", "enabled", "false", &origin)
        .unwrap();
    sb.assign("*", "c2s_ports", "{ 15222 }", &origin).unwrap();
    let ev = sb.finish().unwrap();
    assert_eq!(
        ev.section("conference.example.org").unwrap().options["enabled"].value,
        Value::Bool(false)
    );
    assert_eq!(
        ev.global().options["c2s_ports"].value,
        Value::List(vec![Value::Int(15222)])
    );
    let bad = sb.assign("*", "x", "{ unclosed", &origin).unwrap_err();
    assert!(bad.path == "--set");
}

#[test]
fn include_evaluates_resolved_files_in_place() {
    let sb = sandbox_with(&[]);
    sb.set_include(|path, from| {
        assert_eq!(from, "test/main.cfg.lua");
        match path {
            "conf.d/*.cfg.lua" => Ok(vec![
                src("conf.d/a.cfg.lua", "VirtualHost \"a.example\"\nx = 1\n"),
                src(
                    "conf.d/b.cfg.lua",
                    "y = 2 -- global again\nlocal t = 0\nfor i = 1, 10 do t = t + i end\n",
                ),
            ]),
            "broken.cfg.lua" => Ok(vec![src("broken.cfg.lua", "\n\nz = = 1\n")]),
            other => Err(format!("cannot read {other}")),
        }
    })
    .unwrap();
    sb.eval(&src(
        "main.cfg.lua",
        "VirtualHost \"main.example\"\nInclude \"conf.d/*.cfg.lua\"\nw = Lua.os.getenv(\"NOPE\") or 3\n",
    ))
    .unwrap();
    let ev = sb.finish().unwrap();
    assert_eq!(
        ev.section("a.example").unwrap().options["x"].value,
        Value::Int(1)
    );
    assert_eq!(ev.global().options["y"].value, Value::Int(2));
    // back in the includer's scope after the Include
    assert_eq!(
        ev.section("main.example").unwrap().options["w"].value,
        Value::Int(3)
    );
    assert_eq!(
        ev.display_origin(ev.global().options["y"].origin()),
        "test/conf.d/b.cfg.lua:1"
    );
    assert!(ev.texts["conf.d/a.cfg.lua"].contains("x = 1"));

    let sb = sandbox_with(&[]);
    sb.set_include(|path, _| match path {
        "broken.cfg.lua" => Ok(vec![src("broken.cfg.lua", "\n\nz = = 1\n")]),
        other => Err(format!("cannot read {other}")),
    })
    .unwrap();
    let e = sb
        .eval(&src("main.cfg.lua", "Include \"broken.cfg.lua\"\n"))
        .unwrap_err();
    assert_eq!((e.path.as_str(), e.line), ("test/broken.cfg.lua", 3), "{e}");
    let e = sb
        .eval(&src("other.cfg.lua", "\nInclude \"missing.cfg.lua\"\n"))
        .unwrap_err();
    assert_eq!((e.path.as_str(), e.line), ("test/other.cfg.lua", 2), "{e}");
    assert!(e.message.contains("cannot read missing.cfg.lua"), "{e}");
}

#[test]
fn included_files_keep_the_instruction_limit_of_their_includer() {
    let sb = sandbox_with(&[]);
    sb.set_include(|_, _| Ok(vec![src("inc.cfg.lua", "a = 1\n")]))
        .unwrap();
    let start = Instant::now();
    let e = sb
        .eval(&src(
            "main.cfg.lua",
            "Include \"inc.cfg.lua\"\nwhile true do end\n",
        ))
        .unwrap_err();
    assert!(e.message.contains("ran too long"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn pfe_env_and_flag_read_variables_strictly() {
    let sb = sandbox_with(&[("A", "x"), ("EMPTY", ""), ("ON", "yes"), ("BAD", "maybe")]);
    sb.eval(&src(
        "a.cfg.lua",
        "a = pfe.env('A')\nempty = pfe.env('EMPTY') == nil\non = pfe.flag('ON', false)\ndefault = pfe.flag('UNSET', true)\n",
    ))
    .unwrap();
    let ev = sb.finish().unwrap();
    let g = &ev.global().options;
    assert_eq!(g["a"].value, Value::Str("x".into()));
    assert_eq!(g["empty"].value, Value::Bool(true));
    assert_eq!(g["on"].value, Value::Bool(true));
    assert_eq!(g["default"].value, Value::Bool(true));
    let err =
        eval_one_with(&[("BAD", "maybe")], "x = 1\ny = pfe.flag('BAD', false)\n").unwrap_err();
    assert_eq!(err.line, 2);
    assert!(
        err.message.contains("BAD=maybe is not a boolean"),
        "{}",
        err.message
    );
}

fn eval_one_with(env: &[(&str, &str)], text: &str) -> Result<Evaluated, SandboxError> {
    let sb = sandbox_with(env);
    sb.eval(&src("a.cfg.lua", text))?;
    sb.finish()
}

/// A long file buys a larger budget (so a 20,000-host config of plain
/// assignments is not taken for a loop), and a loop in it is still stopped,
/// at the line that loops.
#[test]
fn the_instruction_limit_grows_with_the_text() {
    let padding = "-- a comment line of the kind long configs have plenty of\n".repeat(4096);
    let text = format!("x = 1\n{padding}while true do end\n");
    let want = INSTRUCTION_LIMIT + INSTRUCTIONS_PER_BYTE * text.len() as u64;
    let err = eval_one(&text).unwrap_err();
    assert!(
        err.message
            .contains(&format!("more than {want} instructions")),
        "{}",
        err.message
    );
    assert_eq!(
        (err.path.as_str(), err.line),
        ("test/a.cfg.lua", 4096 + 2),
        "{err}"
    );
}

/// The words that can make a loop are looked for as words, anywhere: a
/// file is unhooked only when none of them occurs.
#[test]
fn only_a_file_without_loop_words_is_loop_free() {
    for text in [
        "a = 1\nVirtualHost \"x\"\n\tmodules_enabled = { \"format\", \"forward\" }\n",
        "functions = true\nrepeated = 1\nwhile_x = 2\nx_goto = 3\n",
        "s = \"fortune\" -- informal\n",
    ] {
        assert!(super::loop_free(text), "{text}");
    }
    for text in [
        "x = 1 -- for each host\n",
        "s = \"while\"\n",
        "::a:: goto a\n",
        "repeat until false\n",
        "f = function() end\n",
        "for i = 1, 2 do end\n",
        "x=1;while(true)do end",
    ] {
        assert!(!super::loop_free(text), "{text}");
    }
}

/// Every way to run code again is still stopped: the hook is on for a file
/// with a loop word, and for an Included file that has one when its
/// includer has none.
#[test]
fn loops_are_stopped_whatever_makes_them() {
    for code in [
        "x = 1\n::again:: goto again\n",
        "x = 1\nrepeat until false\n",
        "x = 1\nlocal function f() return f() end\nf()\n",
    ] {
        assert_stopped(code, &["ran too long"]);
    }
    let sb = sandbox_with(&[]);
    sb.set_include(|_, _| Ok(vec![src("inc.cfg.lua", "a = 1\nwhile true do end\n")]))
        .unwrap();
    let start = Instant::now();
    let e = sb
        .eval(&src("main.cfg.lua", "b = 2\nInclude \"inc.cfg.lua\"\n"))
        .unwrap_err();
    assert!(e.message.contains("ran too long"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(10));
}
