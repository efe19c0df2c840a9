//! The Lua sandbox: evaluates catalog files (and hand-written Prosody
//! configs) with Prosody's config semantics, and records where every option
//! was set.
//!
//! What a file can reach is decided by `prelude.lua`: a whitelist of globals,
//! `os.getenv` over the environment pfe resolved, and Prosody's config
//! directives. Bytecode is refused, memory is capped, and an instruction hook
//! stops runaway files within a second.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use miette::{Diagnostic, NamedSource, SourceSpan};
use mlua::chunk::ChunkMode;
use mlua::{Function, Lua, LuaOptions, StdLib, Table};

use crate::sorted::SortedMap;
use crate::value::{Key, Value};

const PRELUDE: &str = include_str!("prelude.lua");
/// Memory a whole evaluation may use on top of the prelude, plus
/// [`MEMORY_PER_BYTE`] for each byte of text it evaluates (a config of
/// 20,000 hosts needs about 100 MiB; the reader caps the text at 64 MiB).
pub const MEMORY_LIMIT: usize = 64 * 1024 * 1024;
/// What each byte of evaluated text adds to the memory limit.
pub const MEMORY_PER_BYTE: usize = 16;
/// Lua's collector pause, in percent of the memory live after a cycle.
const GC_PAUSE: i32 = 1000;
/// Lua VM instructions one file may run, plus [`INSTRUCTIONS_PER_BYTE`]
/// for each byte of its text: a straight-line config of 20,000 hosts
/// (7.6 MB) runs about 40 million, and must not be taken for a loop.
pub const INSTRUCTION_LIMIT: u64 = 20_000_000;
/// What each byte of a file adds to its instruction limit.
pub const INSTRUCTIONS_PER_BYTE: u64 = 16;
/// CPU seconds one file may run, plus one for every [`BYTES_PER_SECOND`]
/// of its text.
pub const SECONDS_LIMIT: f64 = 1.0;
/// How much text buys one more second.
pub const BYTES_PER_SECOND: usize = 2 * 1024 * 1024;
/// Includes nest at most this deep (a config that Includes a file that
/// Includes another is 3 deep); deeper is refused with the chain named.
pub const MAX_INCLUDE_DEPTH: usize = 16;

/// One file to evaluate: `id` is the name Lua reports in errors (short and
/// unique, e.g. `features/messaging/core.cfg.lua`), `path` what users see.
#[derive(Debug, Clone)]
pub struct Source {
    pub id: String,
    pub path: String,
    pub text: String,
}

/// Where an option (or a module in a list) was set. The file id and the
/// layer are shared: a config has a few of each and hundreds of thousands
/// of origins.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Origin {
    pub file: Arc<str>,
    pub line: usize,
    pub layer: Arc<str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionKind {
    Global,
    VirtualHost,
    Component { module: String },
}

#[derive(Debug, Clone)]
pub struct OptionSetting {
    pub value: Value,
    /// Every assignment, oldest first; the last one won.
    pub history: Vec<Origin>,
    /// For lists such as modules_enabled: who added each item first.
    pub item_origins: ItemOrigins,
    /// Prosody mode: the `ENV_*` variables (names without `ENV_`) whose
    /// values this value carries, whole or as a part (`admins =
    /// split(ENV_ADMINS)`), in the order they were read.
    pub env: Vec<String>,
}

/// Each item of a list (`modules_enabled`) and where it was added first.
pub type ItemOrigins = SortedMap<Origin>;

impl OptionSetting {
    pub fn origin(&self) -> &Origin {
        self.history.last().expect("an option is set at least once")
    }
}

#[derive(Debug, Clone)]
pub struct Section {
    /// `*` for the global section, else the host name.
    pub name: String,
    pub kind: SectionKind,
    pub defined_at: Option<Origin>,
    pub options: SortedMap<OptionSetting>,
}

#[derive(Debug, Clone)]
pub struct LogLine {
    pub level: String,
    pub message: String,
    pub origin: Origin,
}

/// How files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// pfe's own catalog: `ENV_X`/`Credential` are references kept for
    /// Prosody, anything with a side effect is an error.
    Catalog,
    /// A hand-written Prosody config, read as Prosody 13's configmanager
    /// does: `ENV_X` is the variable's value (or nil), `Lua` is Prosody's
    /// `_G`, bare Lua globals work (deprecated), option reads see the
    /// current section only; what pfe does not run gives
    /// [`Value::Unknown`] and an [`EvalEvent`], never an error.
    Prosody,
}

/// Something the evaluation noticed in Prosody mode, where it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalEvent {
    pub kind: EventKind,
    /// The variable, name, construct or host concerned.
    pub name: String,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// `ENV_<name>` or `os.getenv(name)` was read; its value (None: unset).
    Env { value: Option<String> },
    /// pfe did not run this construct (`Lua.io.open`, `require "x"`,
    /// `RunScript`, `Lua.prosody`): the values depending on it are unknown.
    Refused { why: String },
    /// A Lua global reached without `Lua.` (Prosody: "direct usage of the
    /// Lua API is deprecated").
    LuaApi,
    /// A bare name that is neither an option of the section, a directive nor
    /// a Lua global: it evaluates to nil.
    NilName { scope: String },
    /// `Component("name", "module")`: the module argument is ignored, the
    /// component is an external one.
    ComponentCallForm { module: String },
    /// A host whose name is an unknown value; `name` is pfe's placeholder.
    UnknownHost { why: String },
}

/// The result of evaluating a sequence of files into one config.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// Prosody mode only, in evaluation order.
    pub events: Vec<EvalEvent>,
    /// The global section first, then hosts in the order they were defined.
    pub sections: Vec<Section>,
    pub logs: Vec<LogLine>,
    /// File id → path as users know it.
    pub files: BTreeMap<String, String>,
    /// File id → its text (for snippets and `pfe: allow(...)` comments),
    /// shared with the findings that show it.
    pub texts: BTreeMap<String, Arc<str>>,
}

impl Evaluated {
    pub fn global(&self) -> &Section {
        &self.sections[0]
    }

    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// `path:line`, invisible characters in the path (a newline in a file
    /// name, a bidi override) written as visible escapes.
    pub fn display_origin(&self, origin: &Origin) -> String {
        let path = self
            .files
            .get(&*origin.file)
            .map_or(&*origin.file, String::as_str);
        format!("{}:{}", crate::emit::visible(path), origin.line)
    }
}

/// The metadata tables a file set (`feature_info`, `profile_info`, ...).
pub type Meta = BTreeMap<String, Value>;

/// Values pfe exposes to catalog files as `pfe.*`.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The primary domain (`pfe.domain`).
    pub domain: String,
    /// Every served domain, the primary first (`pfe.domains`); empty means
    /// `domain` alone.
    pub domains: Vec<String>,
    pub profile: String,
    pub environment: String,
}

impl Context {
    /// `domains`, or `domain` alone when it is empty.
    pub fn domain_list(&self) -> Vec<String> {
        if self.domains.is_empty() {
            vec![self.domain.clone()]
        } else {
            self.domains.clone()
        }
    }
}

#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{path}:{line}: {message}")]
pub struct SandboxError {
    pub path: String,
    pub line: usize,
    pub message: String,
    #[source_code]
    pub src: Option<NamedSource<String>>,
    #[label("here")]
    pub span: Option<SourceSpan>,
    #[help]
    pub help: Option<String>,
}

pub struct Sandbox {
    mode: Mode,
    api: Table,
    state: Table,
    /// The table the prelude reads `getenv` (and `include`) from.
    host: Table,
    files: Rc<RefCell<HashMap<String, Source>>>,
    /// The layer each evaluated file belongs to (core, feature, ...).
    layers: Rc<RefCell<HashMap<String, String>>>,
    layer: Rc<RefCell<String>>,
    /// What `os.getenv` reads; replaceable between files (see `set_env`).
    env: Rc<RefCell<HashMap<String, String>>>,
    /// Each file is compiled once and re-run with a fresh environment.
    compiled: RefCell<HashMap<String, (String, Function)>>,
    /// What the prelude uses: the memory limit is counted above it.
    base_memory: usize,
    /// The metatables of kept expressions and of unknown values: a table
    /// value is one or the other when its metatable is that table.
    expr_mt: Table,
    unknown_mt: Table,
    /// Last, so it is dropped last: mlua collects garbage when the state is
    /// dropped, and with the tables above already released that collection
    /// has nothing left to mark (on a 10,000-host config the mark was a
    /// tenth of the evaluation).
    lua: Lua,
}

/// Turns `Include "path"` written in the file at `from` (its
/// [`Source::path`]) into the files to evaluate, in order, or a message.
pub type IncludeResolver = dyn Fn(&str, &str) -> Result<Vec<Source>, String>;

/// Raises the memory limit by [`MEMORY_PER_BYTE`] for each of `bytes`
/// bytes of text about to be evaluated (a limit of 0, none, stays none).
fn grow_memory_limit(lua: &Lua, bytes: usize) -> mlua::Result<()> {
    let limit = lua.set_memory_limit(0)?;
    if limit != 0 {
        lua.set_memory_limit(limit.saturating_add(bytes.saturating_mul(MEMORY_PER_BYTE)))?;
    }
    Ok(())
}

fn lua_error_text(e: &mlua::Error) -> String {
    let text = lua_error_text_full(e);
    match text.split_once("\nstack traceback:") {
        Some((head, _)) => head.to_string(),
        None => text,
    }
}

fn lua_error_text_full(e: &mlua::Error) -> String {
    match e {
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::MemoryError(_) => "not enough memory".into(),
        mlua::Error::CallbackError { cause, .. } => lua_error_text_full(cause),
        mlua::Error::WithContext { cause, .. } => lua_error_text_full(cause),
        other => other.to_string(),
    }
}

fn help_for(message: &str) -> Option<String> {
    if message.contains("not available in pfe's sandbox")
        || message.contains("read-only in pfe's sandbox")
    {
        Some(
            "configuration files are data: they may set options and call os.getenv, nothing else"
                .into(),
        )
    } else if message.contains("ran too long") {
        Some(
            "every file must finish within the instruction limit; remove the loop or bound it"
                .into(),
        )
    } else if message.contains("memory limit") {
        Some("a configuration file may not build huge strings or tables".into())
    } else if message.contains("expected near")
        || message.contains("unexpected symbol")
        || message.contains("'=' expected")
        || message.contains("near <eof>")
    {
        Some("fix the Lua syntax at the marked line".into())
    } else if message.contains("attempt to call a nil value") {
        Some("a function of that name does not exist in pfe's sandbox (see docs/catalog.md for what is available)".into())
    } else {
        None
    }
}

/// Whether `text` declares `local feature_info` (or profile_info,
/// environment_info, variables).
fn declares_local_meta(text: &str) -> bool {
    text.match_indices("local").any(|(i, _)| {
        let rest = text[i + 5..].trim_start();
        [
            "feature_info",
            "profile_info",
            "environment_info",
            "variables",
        ]
        .iter()
        .any(|m| rest.starts_with(m))
    })
}

/// Whether `text` cannot loop: none of `for`, `while`, `repeat`, `goto`
/// and `function` occurs in it as a word, even in a string or a comment.
/// Without them a chunk has no backward jump and makes no function, so
/// each of its instructions runs at most once, and everything it calls is
/// the prelude's or Lua's library, whose work is bounded by the memory
/// limit. Such a file runs without the instruction hook, which costs a
/// check at every VM instruction (an eighth of a 10,000-host lint).
fn loop_free(text: &str) -> bool {
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = text.as_bytes();
    !["for", "while", "repeat", "goto", "function"]
        .iter()
        .any(|word| {
            memchr::memmem::find_iter(bytes, word).any(|at| {
                let end = at + word.len();
                (at == 0 || !ident(bytes[at - 1])) && (end == bytes.len() || !ident(bytes[end]))
            })
        })
}

/// Byte span of line `line` (1-based) in `text`.
pub fn line_span(text: &str, line: usize) -> Option<SourceSpan> {
    if line == 0 {
        return None;
    }
    let mut start = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let trimmed = l.trim_end_matches(['\n', '\r']);
            let indent = trimmed.len() - trimmed.trim_start().len();
            return Some(SourceSpan::new(
                (start + indent).into(),
                trimmed.trim_start().len().max(1),
            ));
        }
        start += l.len();
    }
    None
}

impl Sandbox {
    /// A fresh sandbox for pfe's catalog whose `os.getenv` reads `env`.
    pub fn new(env: HashMap<String, String>, ctx: &Context) -> Result<Sandbox, SandboxError> {
        Sandbox::with_mode(env, ctx, Mode::Catalog)
    }

    /// A fresh sandbox reading files the way `mode` says; `os.getenv` and
    /// (in Prosody mode) `ENV_*` read `env`.
    pub fn with_mode(
        env: HashMap<String, String>,
        ctx: &Context,
        mode: Mode,
    ) -> Result<Sandbox, SandboxError> {
        let internal = |e: mlua::Error| SandboxError {
            path: "<pfe>".into(),
            line: 0,
            message: format!("could not set up the Lua sandbox: {}", lua_error_text(&e)),
            src: None,
            span: None,
            help: None,
        };
        // SAFETY: the debug library is loaded for the trusted prelude only; it
        // keeps what it needs in locals and config chunks run in environments
        // that never expose `debug`.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::STRING
                    | StdLib::TABLE
                    | StdLib::MATH
                    | StdLib::UTF8
                    | StdLib::OS
                    | StdLib::DEBUG,
                LuaOptions::default(),
            )
        };
        let env = Rc::new(RefCell::new(env));
        let setup = || -> mlua::Result<(Table, Table, Table)> {
            let host = lua.create_table()?;
            let env = env.clone();
            host.set(
                "getenv",
                lua.create_function(move |_, name: String| Ok(env.borrow().get(&name).cloned()))?,
            )?;
            let api: Table = lua
                .load(PRELUDE)
                .set_name("@pfe-prelude")
                .set_mode(ChunkMode::Text)
                .call(host.clone())?;
            let globals = lua.globals();
            for name in [
                "debug",
                "os",
                "load",
                "dofile",
                "loadfile",
                "require",
                "collectgarbage",
            ] {
                globals.raw_set(name, mlua::Nil)?;
            }
            let opts = lua.create_table()?;
            let pfe = lua.create_table()?;
            pfe.set("domain", ctx.domain.as_str())?;
            pfe.set("domains", ctx.domain_list())?;
            pfe.set("profile", ctx.profile.as_str())?;
            pfe.set("environment", ctx.environment.as_str())?;
            opts.set("pfe", pfe)?;
            opts.set("budget", INSTRUCTION_LIMIT)?;
            opts.set("per_byte", INSTRUCTIONS_PER_BYTE)?;
            opts.set("seconds", SECONDS_LIMIT)?;
            opts.set("bytes_per_second", BYTES_PER_SECOND)?;
            opts.set("prosody", mode == Mode::Prosody)?;
            let state: Table = api.get::<Function>("new_state")?.call(opts)?;
            Ok((api, state, host))
        };
        let (api, state, host) = setup().map_err(internal)?;
        let expr_mt: Table = api.raw_get("expr_mt").map_err(internal)?;
        let unknown_mt: Table = api.raw_get("unknown_mt").map_err(internal)?;
        let base_memory = lua.used_memory();
        lua.set_memory_limit(base_memory + MEMORY_LIMIT)
            .map_err(internal)?;
        // A config evaluation is short and keeps almost everything it
        // builds: collecting only when memory has grown tenfold (instead of
        // Lua's default, twofold) took a fifth off a 10,000-host lint. The
        // memory limit still holds: at the limit Lua collects before failing.
        lua.gc_set_mode(mlua::prelude::LuaGcMode::Incremental(
            mlua::prelude::LuaGcIncParams::default().pause(GC_PAUSE),
        ));
        Ok(Sandbox {
            lua,
            mode,
            api,
            state,
            host,
            files: Rc::new(RefCell::new(HashMap::new())),
            layers: Rc::new(RefCell::new(HashMap::new())),
            layer: Rc::new(RefCell::new("core".into())),
            env,
            compiled: RefCell::new(HashMap::new()),
            base_memory,
            expr_mt,
            unknown_mt,
        })
    }

    /// Replaces what `os.getenv` reads, for the files evaluated from now on.
    pub fn set_env(&self, env: HashMap<String, String>) {
        *self.env.borrow_mut() = env;
    }

    /// Replaces the values files see as `pfe.domain`, `pfe.profile`, `pfe.environment`.
    pub fn set_context(&self, ctx: &Context) -> Result<(), SandboxError> {
        let run = || -> mlua::Result<()> {
            let pfe = self.lua.create_table()?;
            pfe.set("domain", ctx.domain.as_str())?;
            pfe.set("domains", ctx.domain_list())?;
            pfe.set("profile", ctx.profile.as_str())?;
            pfe.set("environment", ctx.environment.as_str())?;
            self.call("set_pfe", (&self.state, pfe))
        };
        run().map_err(|e| SandboxError {
            path: "<pfe>".into(),
            line: 0,
            message: format!("could not set the pfe context: {}", lua_error_text(&e)),
            src: None,
            span: None,
            help: None,
        })
    }

    /// The compiled chunk of `src`, compiled on first use (when its text
    /// also raises the memory limit).
    fn chunk(&self, src: &Source, chunk_name: &str) -> mlua::Result<Function> {
        if let Some((text, f)) = self.compiled.borrow().get(&src.id)
            && *text == src.text
        {
            return Ok(f.clone());
        }
        grow_memory_limit(&self.lua, src.text.len())?;
        let f = self
            .lua
            .load(src.text.as_str())
            .set_name(chunk_name)
            .set_mode(ChunkMode::Text)
            .into_function()?;
        // A hand-written config is evaluated once: only catalog files, which
        // a build may run again, keep their chunk (and a copy of the text).
        if self.mode == Mode::Catalog {
            self.compiled
                .borrow_mut()
                .insert(src.id.clone(), (src.text.clone(), f.clone()));
        }
        Ok(f)
    }

    /// Lets config files use `Include`/`include` (hand-written Prosody
    /// configs; catalogs never do): `resolver` finds and reads the files,
    /// which are then evaluated into the same config, each starting in the
    /// global scope as Prosody does.
    ///
    /// A file that Includes itself, directly or through others, is refused
    /// and the cycle named (`a.cfg.lua:3 → b.cfg.lua:1 → a.cfg.lua`), as is
    /// nesting deeper than [`MAX_INCLUDE_DEPTH`]. Files are the same when
    /// their [`Source::id`]s are: the resolver gives one file one id
    /// whatever path reaches it.
    pub fn set_include(
        &self,
        resolver: impl Fn(&str, &str) -> Result<Vec<Source>, String> + 'static,
    ) -> Result<(), SandboxError> {
        let files = self.files.clone();
        let layers = self.layers.clone();
        let layer = self.layer.clone();
        // Each Included file's includer and the line of its Include. The
        // entry of a file being evaluated is the one that led to it, since a
        // file is only re-Included once it has finished (or it is a cycle).
        let parents: RefCell<HashMap<String, (String, usize)>> = RefCell::default();
        let install = || -> mlua::Result<()> {
            let f = self.lua.create_function(
                move |lua,
                      (path, from, line): (String, String, Option<usize>)|
                      -> mlua::Result<(Option<Table>, Option<String>)> {
                    let shown = |id: &str| {
                        files
                            .borrow()
                            .get(id)
                            .map_or_else(|| id.to_string(), |s| s.path.clone())
                    };
                    // The chain of Includes that led here, innermost first.
                    let mut chain = vec![(from.clone(), line.unwrap_or(0))];
                    {
                        let parents = parents.borrow();
                        while let Some(p) = parents.get(&chain[chain.len() - 1].0) {
                            chain.push(p.clone());
                            if chain.len() > MAX_INCLUDE_DEPTH + 1 {
                                break;
                            }
                        }
                    }
                    let chain_text = |end: Option<&str>| {
                        let mut parts: Vec<String> = chain
                            .iter()
                            .rev()
                            .map(|(id, line)| format!("{}:{line}", shown(id)))
                            .collect();
                        parts.extend(end.map(str::to_string));
                        parts.join(" → ")
                    };
                    if chain.len() > MAX_INCLUDE_DEPTH {
                        return Ok((
                            None,
                            Some(format!(
                                "Includes nested more than {MAX_INCLUDE_DEPTH} deep: {}",
                                chain_text(None)
                            )),
                        ));
                    }
                    let from_path = shown(&from);
                    let sources = match resolver(&path, &from_path) {
                        Ok(s) => s,
                        Err(m) => return Ok((None, Some(m))),
                    };
                    if let Some(src) = sources
                        .iter()
                        .find(|s| chain.iter().any(|(id, _)| *id == s.id))
                    {
                        return Ok((
                            None,
                            Some(format!(
                                "Include cycle: {} (a file cannot Include itself, directly or through others)",
                                chain_text(Some(&src.path))
                            )),
                        ));
                    }
                    for src in &sources {
                        parents
                            .borrow_mut()
                            .insert(src.id.clone(), (from.clone(), line.unwrap_or(0)));
                    }
                    grow_memory_limit(lua, sources.iter().map(|s| s.text.len()).sum())?;
                    let out = lua.create_table()?;
                    for src in sources {
                        let t = lua.create_table()?;
                        t.set("id", src.id.as_str())?;
                        t.set("text", src.text.as_str())?;
                        t.set("loop_free", loop_free(&src.text))?;
                        out.push(t)?;
                        layers
                            .borrow_mut()
                            .insert(src.id.clone(), layer.borrow().clone());
                        files.borrow_mut().insert(src.id.clone(), src);
                    }
                    Ok((Some(out), None))
                },
            )?;
            self.host.set("include", f)
        };
        install().map_err(|e| SandboxError {
            path: "<pfe>".into(),
            line: 0,
            message: format!("could not install Include: {}", lua_error_text(&e)),
            src: None,
            span: None,
            help: None,
        })
    }

    fn call<R: mlua::FromLuaMulti>(
        &self,
        name: &str,
        args: impl mlua::IntoLuaMulti,
    ) -> mlua::Result<R> {
        self.api.get::<Function>(name)?.call(args)
    }

    /// Turns a Lua error into a diagnostic pointing at the file and line.
    fn error_for(&self, fallback: &Source, e: &mlua::Error) -> SandboxError {
        let mut message = lua_error_text(e);
        if message == "not enough memory" {
            // The limit the evaluation had (grown with its text), not the base.
            let limit = self
                .lua
                .set_memory_limit(0)
                .and_then(|l| self.lua.set_memory_limit(l).map(|_| l))
                .map_or(MEMORY_LIMIT, |l| l.saturating_sub(self.base_memory));
            message = format!(
                "stopped at the memory limit ({} MiB)",
                limit / (1024 * 1024)
            );
        }
        let files = self.files.borrow();
        let mut source = fallback.clone();
        let mut line = 0;
        // Messages look like "<id>:<line>: text"; the id may be another file.
        if let Some((head, rest)) = message.split_once(": ")
            && let Some((id, num)) = head.rsplit_once(':')
            && let Ok(n) = num.parse::<usize>()
        {
            if let Some(s) = files.get(id) {
                source = s.clone();
            }
            line = n;
            message = rest.to_string();
        }
        let help = help_for(&message);
        SandboxError {
            path: source.path.clone(),
            line,
            span: line_span(&source.text, line),
            src: Some(
                NamedSource::new(source.path.clone(), source.text.clone()).with_language("lua"),
            ),
            message,
            help,
        }
    }

    /// Runs `src` in `state`; returns its metadata tables and the names of
    /// those set before the file read any variable or `pfe.*` (the same in
    /// every build, so callers may cache them).
    fn exec_in(
        &self,
        state: &Table,
        src: &Source,
        want_meta: bool,
    ) -> Result<(Meta, BTreeSet<String>), SandboxError> {
        self.files.borrow_mut().insert(src.id.clone(), src.clone());
        self.layers
            .borrow_mut()
            .insert(src.id.clone(), self.layer.borrow().clone());
        let chunk_name = format!("@{}", src.id);
        let run = || -> mlua::Result<(Table, Vec<String>)> {
            let new_env = match self.mode {
                Mode::Catalog => "new_env",
                Mode::Prosody => "new_prosody_env",
            };
            let (env, _meta): (Table, Table) = self.call(new_env, (state, src.id.as_str()))?;
            let func = self.chunk(src, &chunk_name)?;
            func.set_environment(env)?;
            // Metadata kept in a `local` (the seed's style) is read by a return
            // hook, which costs a Lua call per function return: only pay for
            // it when the text has such a local.
            let want_locals = want_meta && declares_local_meta(&src.text);
            self.call(
                "exec",
                (
                    state,
                    func,
                    src.id.as_str(),
                    chunk_name.as_str(),
                    want_locals,
                    src.text.len(),
                    loop_free(&src.text),
                ),
            )
        };
        let (meta, pure) = run().map_err(|e| self.error_for(src, &e))?;
        let mut out = Meta::new();
        for pair in meta.pairs::<String, mlua::Value>() {
            let (k, v) = pair.map_err(|e| self.error_for(src, &e))?;
            let value = self.to_value(&v, 0).map_err(|m| SandboxError {
                path: src.path.clone(),
                line: 0,
                message: format!("{k}: {m}"),
                src: None,
                span: None,
                help: None,
            })?;
            if let Some(value) = value {
                out.insert(k, value);
            }
        }
        Ok((out, pure.into_iter().collect()))
    }

    /// Evaluates a file into the config being built, returning its metadata
    /// tables (`feature_info` & co., global or `local`).
    pub fn eval(&self, src: &Source) -> Result<Meta, SandboxError> {
        self.exec_in(&self.state, src, true).map(|(meta, _)| meta)
    }

    /// Evaluates a file into the config being built when its metadata is
    /// already known: cheaper, `local` tables are not collected.
    pub fn eval_layer(&self, src: &Source) -> Result<(), SandboxError> {
        self.exec_in(&self.state, src, false).map(|_| ())
    }

    /// Evaluates a file on its own, discarding its options: for reading the
    /// metadata (`feature_info`, ...) before resolution.
    pub fn eval_isolated(&self, src: &Source) -> Result<Meta, SandboxError> {
        let state: Table = self
            .call("new_state", self.state.clone())
            .map_err(|e| self.error_for(src, &e))?;
        self.exec_in(&state, src, true).map(|(meta, _)| meta)
    }

    /// Like [`Sandbox::eval_isolated`], also naming the metadata tables that
    /// do not depend on variables or `pfe.*` (set before the file read any).
    pub fn eval_metadata(&self, src: &Source) -> Result<(Meta, BTreeSet<String>), SandboxError> {
        let state: Table = self
            .call("new_state", self.state.clone())
            .map_err(|e| self.error_for(src, &e))?;
        self.exec_in(&state, src, true)
    }

    pub fn set_layer(&self, layer: &str) {
        *self.layer.borrow_mut() = layer.to_string();
        let _: mlua::Result<()> = self.call("set_layer", (&self.state, layer));
    }

    pub fn set_features(&self, names: &[String]) {
        let _: mlua::Result<()> = self.call("set_features", (&self.state, names.to_vec()));
    }

    /// Sets `key` in `scope` (`*` = global) to the value of the Lua expression
    /// `expr`, recording `origin` as where it came from (e.g. `--set`).
    /// The kind of host `name` the layers so far defined: `VirtualHost`,
    /// `Component`, or None.
    pub fn host_kind(&self, name: &str) -> Option<String> {
        self.call("host_kind", (&self.state, name)).ok().flatten()
    }

    /// Defines the VirtualHost `name` (the served domain, which the catalog
    /// leaves to the renderer) as set by `origin`, so its options are kept.
    pub fn define_virtualhost(&self, name: &str, origin: &Source) -> Result<(), SandboxError> {
        self.files
            .borrow_mut()
            .insert(origin.id.clone(), origin.clone());
        self.call::<()>(
            "define_virtualhost",
            (&self.state, name, origin.id.as_str(), 1),
        )
        .map_err(|e| self.error_for(origin, &e))
    }

    pub fn assign(
        &self,
        scope: &str,
        key: &str,
        expr: &str,
        origin: &Source,
    ) -> Result<(), SandboxError> {
        self.files
            .borrow_mut()
            .insert(origin.id.clone(), origin.clone());
        self.layers
            .borrow_mut()
            .insert(origin.id.clone(), self.layer.borrow().clone());
        let chunk_name = format!("@{}", origin.id);
        let run = || -> mlua::Result<()> {
            let (env, _meta): (Table, Table) =
                self.call("new_env", (&self.state, origin.id.as_str()))?;
            let func = self
                .lua
                .load(format!("return {expr}"))
                .set_name(chunk_name.as_str())
                .set_mode(ChunkMode::Text)
                .set_environment(env)
                .into_function()?;
            // Run it as a file is run, under the instruction and time limits
            // (the memory limit covers the whole sandbox): the value is kept
            // by a trusted wrapper the config chunk cannot see.
            let boxed = self.lua.create_table()?;
            let wrapper: Function = self
                .lua
                .load("local f, box = ...\nreturn function() box[1] = f() end")
                .set_name("@pfe-assign")
                .set_mode(ChunkMode::Text)
                .call((func, boxed.clone()))?;
            let _: (Table, Table) = self.call(
                "exec",
                (
                    &self.state,
                    wrapper,
                    origin.id.as_str(),
                    chunk_name.as_str(),
                    false,
                    0,
                ),
            )?;
            let value: mlua::Value = boxed.raw_get(1)?;
            self.call(
                "assign",
                (&self.state, scope, key, value, origin.id.as_str(), 1),
            )
        };
        run().map_err(|e| self.error_for(origin, &e))
    }

    fn to_value(&self, v: &mlua::Value, depth: usize) -> Result<Option<Value>, String> {
        if depth > 32 {
            return Err("a table is nested too deeply or contains itself".into());
        }
        Ok(Some(match v {
            mlua::Value::Nil => return Ok(None),
            mlua::Value::Boolean(b) => Value::Bool(*b),
            mlua::Value::Integer(i) => Value::Int(*i),
            mlua::Value::Number(n) => Value::Float(*n),
            mlua::Value::String(s) => {
                Value::Str(s.to_str().map_err(|e| e.to_string())?.to_string())
            }
            // A config may define global functions (helpers): Prosody keeps
            // them as options no module reads.
            mlua::Value::Function(_) if self.mode == Mode::Prosody => return Ok(None),
            mlua::Value::Table(t) => {
                let mt = t.metatable();
                if mt.as_ref() == Some(&self.unknown_mt) {
                    let why: Option<String> = self
                        .call("unknown_why", t.clone())
                        .map_err(|e| e.to_string())?;
                    return Ok(Some(Value::Unknown(
                        why.unwrap_or_else(|| "unknown".into()),
                    )));
                }
                if mt.as_ref() == Some(&self.expr_mt)
                    && let Some(expr) = t
                        .raw_get::<Option<String>>("expr")
                        .map_err(|e| e.to_string())?
                {
                    return Ok(Some(Value::Expr(expr)));
                }
                let mut entries: Vec<(Key, Value)> = Vec::new();
                for pair in t.pairs::<mlua::Value, mlua::Value>() {
                    let (k, v) = pair.map_err(|e| e.to_string())?;
                    let key = match k {
                        mlua::Value::Integer(i) => Key::Int(i),
                        mlua::Value::String(s) => {
                            Key::Str(s.to_str().map_err(|e| e.to_string())?.to_string())
                        }
                        mlua::Value::Number(n) if n.fract() == 0.0 => Key::Int(n as i64),
                        other => {
                            return Err(format!(
                                "a table key of type {} cannot be rendered",
                                other.type_name()
                            ));
                        }
                    };
                    if let Some(v) = self.to_value(&v, depth + 1)? {
                        entries.push((key, v));
                    }
                }
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                let is_list = entries
                    .iter()
                    .enumerate()
                    .all(|(i, (k, _))| *k == Key::Int(i as i64 + 1));
                if is_list {
                    Value::List(entries.into_iter().map(|(_, v)| v).collect())
                } else {
                    Value::Map(entries)
                }
            }
            other => return Err(format!("a {} cannot be a config value", other.type_name())),
        }))
    }

    /// The events Prosody mode recorded, in order.
    fn events(&self) -> mlua::Result<Vec<EvalEvent>> {
        let mut out = Vec::new();
        let Some(list) = self.state.get::<Option<Table>>("events")? else {
            return Ok(out);
        };
        for e in list.sequence_values::<Table>() {
            let e = e?;
            let kind: String = e.get("kind")?;
            let text = |k: &str| -> mlua::Result<String> {
                Ok(e.get::<Option<String>>(k)?.unwrap_or_default())
            };
            let kind = match kind.as_str() {
                "env" => EventKind::Env {
                    value: e.get("value")?,
                },
                "refused" => EventKind::Refused { why: text("why")? },
                "lua-api" => EventKind::LuaApi,
                "nil-name" => EventKind::NilName {
                    scope: text("scope")?,
                },
                "component-call-form" => EventKind::ComponentCallForm {
                    module: text("module")?,
                },
                "unknown-host" => EventKind::UnknownHost { why: text("why")? },
                _ => continue,
            };
            let mut origin = Self::origin_from(&e)?;
            origin.layer = self
                .layers
                .borrow()
                .get(&*origin.file)
                .map_or_else(|| "".into(), |l| l.as_str().into());
            out.push(EvalEvent {
                kind,
                name: e.get("name")?,
                origin,
            });
        }
        Ok(out)
    }

    fn origin_from(t: &Table) -> mlua::Result<Origin> {
        Ok(Origin {
            file: t.raw_get::<String>("file")?.into(),
            line: t.raw_get::<Option<usize>>("line")?.unwrap_or(0),
            layer: t
                .raw_get::<Option<String>>("layer")?
                .unwrap_or_default()
                .into(),
        })
    }

    /// Reads the finished config out of the Lua state.
    pub fn finish(&self) -> Result<Evaluated, SandboxError> {
        let fail = |option: &str, origin: Option<&Origin>, message: String| {
            let files = self.files.borrow();
            let (path, line, src) =
                match origin.and_then(|o| files.get(&*o.file).map(|s| (s, o.line))) {
                    Some((s, line)) => (s.path.clone(), line, Some(s.clone())),
                    None => ("<config>".to_string(), 0, None),
                };
            SandboxError {
                span: src.as_ref().and_then(|s| line_span(&s.text, line)),
                src: src.map(|s| NamedSource::new(s.path, s.text).with_language("lua")),
                path,
                line,
                message: format!("option '{option}': {message}"),
                help: Some("only strings, numbers, booleans and tables of them can be written to a Prosody config".into()),
            }
        };
        let lua_fail = |e: mlua::Error| fail("?", None, lua_error_text(&e));
        let options: Table = self.state.raw_get("options").map_err(lua_fail)?;
        let history: Table = self.state.raw_get("history").map_err(lua_fail)?;
        let hosts: Table = self.state.raw_get("hosts").map_err(lua_fail)?;
        let list_places: Table = self.api.raw_get("list_places").map_err(lua_fail)?;
        let places = Places::read(&self.api, &self.layers.borrow()).map_err(lua_fail)?;

        // The keys of a host record (define_host in prelude.lua), made once:
        // a `&str` key makes a Lua string at every read.
        let key = |k: &str| self.lua.create_string(k).map_err(lua_fail);
        let [k_name, k_kind, k_module, k_place, k_options, k_history] =
            ["name", "kind", "module", "place", "options", "history"].map(key);
        let (k_name, k_kind, k_module, k_place, k_options, k_history) = (
            k_name?, k_kind?, k_module?, k_place?, k_options?, k_history?,
        );
        // Each section, with its options and their history as Lua has them.
        type Scope = (
            String,
            SectionKind,
            Option<Origin>,
            Option<Table>,
            Option<Table>,
        );
        let mut scopes: Vec<Scope> = vec![(
            "*".into(),
            SectionKind::Global,
            None,
            options.raw_get("*").map_err(lua_fail)?,
            history.raw_get("*").map_err(lua_fail)?,
        )];
        for h in hosts.sequence_values::<Table>() {
            let h = h.map_err(lua_fail)?;
            let name: String = h.raw_get(&k_name).map_err(lua_fail)?;
            let kind = if h.raw_get::<mlua::LuaString>(&k_kind).map_err(lua_fail)? == "Component" {
                SectionKind::Component {
                    module: h
                        .raw_get::<Option<String>>(&k_module)
                        .map_err(lua_fail)?
                        .unwrap_or_else(|| "component".into()),
                }
            } else {
                SectionKind::VirtualHost
            };
            let defined_at = places.origin(h.raw_get(&k_place).map_err(lua_fail)?);
            scopes.push((
                name,
                kind,
                Some(defined_at),
                h.raw_get(&k_options).map_err(lua_fail)?,
                h.raw_get(&k_history).map_err(lua_fail)?,
            ));
        }

        let events = self.events().map_err(lua_fail)?;
        let env_values: Vec<(String, String)> = events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Env { value: Some(v) } if !v.is_empty() => {
                    Some((e.name.clone(), v.clone()))
                }
                _ => None,
            })
            .collect();
        let mut sections = Vec::new();
        for (name, kind, defined_at, opts, hist) in scopes {
            let mut section = Section {
                name,
                kind,
                defined_at: defined_at.clone(),
                options: SortedMap::new(),
            };
            if let Some(opts) = opts {
                let mut entries = Vec::new();
                for pair in opts.pairs::<mlua::LuaString, mlua::Value>() {
                    let (lua_key, raw) = pair.map_err(lua_fail)?;
                    let key = lua_key.to_str().map_err(lua_fail)?.to_string();
                    // The key as Lua has it: looking it up makes no new string.
                    let set_at = match &hist {
                        Some(h) => h.raw_get::<mlua::Value>(&lua_key).map_err(lua_fail)?,
                        None => mlua::Value::Nil,
                    };
                    // One place, or a list of them (set_option).
                    let mut origins = match set_at {
                        mlua::Value::Integer(p) => vec![places.origin(p)],
                        mlua::Value::Table(h) => {
                            let mut v = Vec::with_capacity(h.raw_len());
                            for p in h.sequence_values::<i64>() {
                                v.push(places.origin(p.map_err(lua_fail)?));
                            }
                            v
                        }
                        _ => Vec::new(),
                    };
                    if origins.is_empty() {
                        // Set implicitly when the host was defined (modules_enabled = {}).
                        match &defined_at {
                            Some(o) => origins.push(o.clone()),
                            None => origins.push(Origin {
                                file: "<pfe>".into(),
                                line: 0,
                                layer: "core".into(),
                            }),
                        }
                    }
                    let value = match self.to_value(&raw, 0) {
                        Ok(Some(v)) => v,
                        Ok(None) => continue,
                        Err(m) => return Err(fail(&key, origins.last(), m)),
                    };
                    let mut item_origins = ItemOrigins::default();
                    // Only modules_enabled/modules_disabled remember where
                    // each item came from (prelude.lua set_option).
                    let tracked = key.starts_with("modules_");
                    if tracked && let mlua::Value::Table(t) = &raw {
                        let io: Option<Table> = list_places.raw_get(t).map_err(lua_fail)?;
                        if let Some(io) = io {
                            item_origins = io
                                .pairs::<String, i64>()
                                .map(|pair| pair.map(|(item, p)| (item, places.origin(p))))
                                .collect::<mlua::Result<_>>()
                                .map_err(lua_fail)?;
                        }
                    }
                    let env = env_sources(&value, &env_values);
                    entries.push((
                        key,
                        OptionSetting {
                            value,
                            history: origins,
                            item_origins,
                            env,
                        },
                    ));
                }
                // Sorted once, not an insertion at a time.
                section.options = entries.into_iter().collect();
            }
            sections.push(section);
        }

        let mut logs = Vec::new();
        let log_table: Table = self.state.get("logs").map_err(lua_fail)?;
        for l in log_table.sequence_values::<Table>() {
            let l = l.map_err(lua_fail)?;
            logs.push(LogLine {
                level: l.get("level").map_err(lua_fail)?,
                message: l.get("message").map_err(lua_fail)?,
                origin: Self::origin_from(&l).map_err(lua_fail)?,
            });
        }
        let files = self
            .files
            .borrow()
            .values()
            .map(|s| (s.id.clone(), s.path.clone()))
            .collect();
        let texts = self
            .files
            .borrow()
            .values()
            .map(|s| (s.id.clone(), Arc::from(s.text.as_str())))
            .collect();
        Ok(Evaluated {
            events,
            sections,
            logs,
            files,
            texts,
        })
    }
}

/// Decodes the places the prelude packs into one integer each (`place` in
/// prelude.lua): the line in the low 32 bits, the file's number in the 20
/// above, the layer's number in the 11 above those (0: the layer the file
/// was evaluated in).
struct Places {
    files: Vec<Arc<str>>,
    /// By file number: the layer the file was evaluated in.
    file_layers: Vec<Arc<str>>,
    layers: Vec<Arc<str>>,
}

impl Places {
    fn read(api: &Table, layer_of: &HashMap<String, String>) -> mlua::Result<Places> {
        // Number 0 is no file or layer.
        let mut files: Vec<Arc<str>> = vec!["?".into()];
        let mut file_layers: Vec<Arc<str>> = vec!["".into()];
        let mut layers: Vec<Arc<str>> = vec!["".into()];
        let mut shared: HashMap<String, Arc<str>> = HashMap::new();
        for name in api
            .raw_get::<Table>("layer_names")?
            .sequence_values::<String>()
        {
            let name = name?;
            let arc: Arc<str> = name.as_str().into();
            shared.insert(name, arc.clone());
            layers.push(arc);
        }
        for id in api
            .raw_get::<Table>("file_names")?
            .sequence_values::<String>()
        {
            let id = id?;
            let layer = layer_of.get(&id).map_or("", String::as_str);
            let layer = shared
                .entry(layer.to_string())
                .or_insert_with(|| layer.into())
                .clone();
            file_layers.push(layer);
            files.push(id.into());
        }
        Ok(Places {
            files,
            file_layers,
            layers,
        })
    }

    fn origin(&self, place: i64) -> Origin {
        let place = place as u64;
        let file = ((place >> 32) & 0xF_FFFF) as usize;
        let layer = (place >> 52) as usize;
        let line = (place & 0xFFFF_FFFF) as usize;
        let file_at = |v: &[Arc<str>], i: usize| v.get(i).unwrap_or(&v[0]).clone();
        Origin {
            file: file_at(&self.files, file),
            line,
            layer: if layer == 0 {
                file_at(&self.file_layers, file)
            } else {
                file_at(&self.layers, layer)
            },
        }
    }
}

/// The `ENV_*` variables whose values `value` carries: a string equal to a
/// variable's value, a part of it (a list split from it), or one that
/// contains it (`ENV_X .. "d"`); a number whose text is the value.
fn env_sources(value: &Value, env_values: &[(String, String)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if env_values.is_empty() {
        return out;
    }
    fn walk(v: &Value, f: &mut dyn FnMut(&str)) {
        match v {
            Value::Str(s) => f(s),
            Value::Int(i) => f(&i.to_string()),
            Value::List(l) => l.iter().for_each(|v| walk(v, f)),
            Value::Map(m) => m.iter().for_each(|(k, v)| {
                if let Key::Str(k) = k {
                    f(k);
                }
                walk(v, f);
            }),
            _ => {}
        }
    }
    walk(value, &mut |s: &str| {
        for (name, v) in env_values {
            let carried = s == v
                || (s.len() >= 2 && v.contains(s))
                || (v.len() >= 3 && s.contains(v.as_str()));
            if carried && !out.contains(name) {
                out.push(name.clone());
            }
        }
    });
    out
}

#[cfg(test)]
mod tests;
