//! Hostile and careless input, through the real binary: endless devices,
//! FIFOs, directories and oversized files wherever pfe reads a file, an
//! Include cycle, `-o` pointed at a device, a FIFO, a directory or a link,
//! and closed or full standard streams.
//!
//! Every run is bounded: a wall-clock deadline (a FIFO that blocks shows up
//! as a failure naming the command, not a hung test) and an address-space
//! limit (an endless read fails fast instead of eating the machine's memory).

use pfe_testkit::command as pfe;
use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one pfe run may take before the test calls it hung.
const DEADLINE: Duration = Duration::from_secs(20);
/// Address space one pfe run may use.
const ADDRESS_SPACE: u64 = 2 * 1024 * 1024 * 1024;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Out {
    fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `cmd` to completion within [`DEADLINE`] and [`ADDRESS_SPACE`].
fn run(cmd: &mut Command) -> Out {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: ADDRESS_SPACE,
                rlim_max: ADDRESS_SPACE,
            };
            libc::setrlimit(libc::RLIMIT_AS, &lim);
            Ok(())
        });
    }
    let shown = format!("{cmd:?}");
    let mut child = cmd.spawn().unwrap();
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{shown} did not finish within {DEADLINE:?}: it blocks on its input");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Out {
        code: status.code(),
        stdout: String::from_utf8_lossy(&t_out.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&t_err.join().unwrap()).into_owned(),
    }
}

fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt as _;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o644) };
    assert_eq!(rc, 0, "mkfifo {}", path.display());
}

/// One hostile file input: where it is and what the message must say.
struct Case {
    path: PathBuf,
    says: &'static str,
}

/// Endless devices, a FIFO, a directory, a link to /dev/zero and a file one
/// byte over `limit`, made in `dir`.
fn hostile(dir: &Path, limit: u64) -> Vec<Case> {
    let fifo = dir.join("fifo");
    mkfifo(&fifo);
    let sub = dir.join("a-directory");
    std::fs::create_dir(&sub).unwrap();
    let link = dir.join("link-to-zero");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    let big = dir.join("big");
    // Sparse: limit + 1 zero bytes without writing them.
    std::fs::File::create(&big)
        .unwrap()
        .set_len(limit + 1)
        .unwrap();
    vec![
        Case {
            path: "/dev/zero".into(),
            says: "character device",
        },
        Case {
            path: "/dev/urandom".into(),
            says: "character device",
        },
        Case {
            path: fifo,
            says: "FIFO",
        },
        Case {
            path: sub,
            says: "directory",
        },
        Case {
            path: link,
            says: "character device",
        },
        Case {
            path: big,
            says: "larger than",
        },
    ]
}

/// Asserts a run refused `case`, naming its path and what is wrong.
fn refused(out: &Out, case: &Case, what: &str) {
    let text = out.text();
    let path = case.path.display().to_string();
    assert!(
        matches!(out.code, Some(1 | 2)),
        "{what} {path}: expected exit 1 or 2, got {:?}\n{text}",
        out.code
    );
    assert!(
        text.contains(&path),
        "{what} {path}: the message does not name the file:\n{text}"
    );
    assert!(
        text.contains(case.says),
        "{what} {path}: the message does not say '{}':\n{text}",
        case.says
    );
}

#[test]
fn env_file_must_be_a_bounded_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    for case in hostile(dir.path(), MIB) {
        let out = run(pfe()
            .arg("generate")
            .arg("--domain")
            .arg("example.org")
            .arg("--env-file")
            .arg(&case.path));
        refused(&out, &case, "--env-file");
    }
}

#[test]
fn lint_target_must_be_a_bounded_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    for case in hostile(dir.path(), 16 * MIB) {
        let out = run(pfe().arg("lint").arg(&case.path));
        refused(&out, &case, "lint");
    }
}

#[test]
fn included_files_must_be_bounded_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    for (i, case) in hostile(dir.path(), 16 * MIB).into_iter().enumerate() {
        let cfg = dir.path().join(format!("main{i}.cfg.lua"));
        std::fs::write(
            &cfg,
            format!(
                "admins = {{}}\nInclude {:?}\n",
                case.path.display().to_string()
            ),
        )
        .unwrap();
        let out = run(pfe().arg("lint").arg(&cfg));
        refused(&out, &case, "Include");
        // The Include line is named too.
        assert!(
            out.text().contains(&format!("main{i}.cfg.lua:2")),
            "{}",
            out.text()
        );
    }
}

#[test]
fn include_cycles_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.cfg.lua"), "admins = {}\nInclude \"b.cfg.lua\"\n").unwrap();
    // Reached again through another spelling of the same file.
    std::fs::write(d.join("b.cfg.lua"), "\n\nInclude \"./a.cfg.lua\"\n").unwrap();
    let out = run(pfe().arg("lint").arg(d.join("a.cfg.lua")));
    let text = out.text();
    assert_eq!(out.code, Some(1), "{text}");
    assert!(text.contains("Include cycle"), "{text}");
    assert!(!text.contains("stack overflow"), "{text}");
    let a = d.join("a.cfg.lua").display().to_string();
    let b = d.join("b.cfg.lua").display().to_string();
    assert!(
        text.contains(&format!("{a}:2 → {b}:3 → ")),
        "the cycle is not named with its lines:\n{text}"
    );

    std::fs::write(d.join("self.cfg.lua"), "Include \"self.cfg.lua\"\n").unwrap();
    let out = run(pfe().arg("lint").arg(d.join("self.cfg.lua")));
    assert_eq!(out.code, Some(1), "{}", out.text());
    assert!(out.text().contains("Include cycle"), "{}", out.text());
}

#[test]
fn deep_includes_are_bounded_but_real_nesting_works() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 17 files deep (the limit) is fine.
    for i in 0..16 {
        std::fs::write(
            d.join(format!("d{i}.cfg.lua")),
            format!("Include \"d{}.cfg.lua\"\n", i + 1),
        )
        .unwrap();
    }
    std::fs::write(d.join("d16.cfg.lua"), "admins = {}\n").unwrap();
    let out = run(pfe().arg("lint").arg(d.join("d0.cfg.lua")));
    assert_eq!(out.code, Some(0), "{}", out.text());
    // One more level is refused with the chain, not a C stack overflow.
    std::fs::write(d.join("d16.cfg.lua"), "Include \"d17.cfg.lua\"\n").unwrap();
    std::fs::write(d.join("d17.cfg.lua"), "admins = {}\n").unwrap();
    let out = run(pfe().arg("lint").arg(d.join("d0.cfg.lua")));
    assert_eq!(out.code, Some(1), "{}", out.text());
    assert!(out.text().contains("nested more than"), "{}", out.text());
}

/// A `--config-dir` tree whose `features/evil/x.cfg.lua` is `case`.
#[test]
fn catalog_files_must_be_bounded_regular_files() {
    let scratch = tempfile::tempdir().unwrap();
    for (i, case) in hostile(scratch.path(), 16 * MIB).into_iter().enumerate() {
        let tree = scratch.path().join(format!("tree{i}"));
        let evil = tree.join("features/evil");
        std::fs::create_dir_all(&evil).unwrap();
        let file = evil.join("x.cfg.lua");
        // A directory named x.cfg.lua is walked, not read: use the others.
        if case.says == "directory" {
            continue;
        }
        std::os::unix::fs::symlink(&case.path, &file).unwrap();
        let out = run(pfe().arg("--config-dir").arg(&tree).arg("list"));
        let named = Case {
            path: file,
            says: case.says,
        };
        refused(&out, &named, "--config-dir");
    }
    // The file itself a FIFO, not a link to one.
    let tree = scratch.path().join("fifo-tree");
    std::fs::create_dir_all(tree.join("features/evil")).unwrap();
    let fifo = tree.join("features/evil/x.cfg.lua");
    mkfifo(&fifo);
    let out = run(pfe().arg("--config-dir").arg(&tree).arg("list"));
    refused(
        &out,
        &Case {
            path: fifo,
            says: "FIFO",
        },
        "--config-dir",
    );
}

#[test]
fn a_catalog_tree_that_contains_itself_is_refused() {
    let scratch = tempfile::tempdir().unwrap();
    let tree = scratch.path().join("tree");
    std::fs::create_dir_all(tree.join("features")).unwrap();
    std::os::unix::fs::symlink(&tree, tree.join("features/loop")).unwrap();
    let out = run(pfe().arg("--config-dir").arg(&tree).arg("list"));
    let text = out.text();
    assert_eq!(out.code, Some(1), "{text}");
    assert!(text.contains("loops back"), "{text}");
    assert!(text.contains(&tree.display().to_string()), "{text}");
}

#[test]
fn ca_file_must_be_a_bounded_regular_file() {
    // The CA file is read once the TCP connection is up: a listener that
    // never answers is enough (the kernel completes the handshake).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    for case in hostile(dir.path(), 4 * MIB) {
        let out = run(pfe()
            .arg("healthcheck")
            .arg("--server")
            .arg(&addr)
            .arg("--domain")
            .arg("localhost")
            .arg("--direct-tls")
            .arg("--timeout")
            .arg("5000")
            .arg("--ca-file")
            .arg(&case.path));
        refused(&out, &case, "--ca-file");
    }
}

/// `pfe entrypoint --dry-run` with the admin password in `var`.
fn entrypoint(root: &Path, vars: &[(&str, &str)]) -> Out {
    let mut cmd = pfe();
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PFE_RUNTIME_DIR", root)
        .env("PROSODY_DOMAIN", "chat.example.org")
        .env("PROSODY_ADMINS", "admin@chat.example.org")
        .arg("entrypoint")
        .arg("--dry-run")
        .arg("--config-output")
        .arg(root.join("prosody.cfg.lua"));
    for (k, v) in vars {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

#[test]
fn secret_files_must_be_bounded_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    for case in hostile(dir.path(), 64 * KIB) {
        let path = case.path.display().to_string();
        let out = entrypoint(&root, &[("PROSODY_ADMIN_PASSWORD_FILE", &path)]);
        refused(&out, &case, "PROSODY_ADMIN_PASSWORD_FILE");
        assert!(
            out.text().contains("PROSODY_ADMIN_PASSWORD_FILE"),
            "{}",
            out.text()
        );
    }
    // $CREDENTIALS_DIRECTORY/admin_password as a FIFO.
    let creds = dir.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    let fifo = creds.join("admin_password");
    mkfifo(&fifo);
    let out = entrypoint(&root, &[("CREDENTIALS_DIRECTORY", creds.to_str().unwrap())]);
    refused(
        &out,
        &Case {
            path: fifo,
            says: "FIFO",
        },
        "CREDENTIALS_DIRECTORY",
    );
    assert!(!root.join("prosody.cfg.lua").exists(), "nothing is written");
}

#[test]
fn entrypoint_use_config_must_be_a_bounded_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    for case in hostile(dir.path(), 16 * MIB) {
        let path = case.path.display().to_string();
        let out = entrypoint(&root, &[("PFE_USE_CONFIG", &path)]);
        refused(&out, &case, "PFE_USE_CONFIG");
    }
}

/// `pfe generate -o target --force`.
fn generate_to(target: &Path) -> Out {
    run(pfe()
        .args(["generate", "--domain", "example.org", "--force", "-o"])
        .arg(target))
}

/// Asserts `-o target --force` was refused, naming it and what it is.
fn write_refused(out: &Out, target: &Path, what: &str) {
    let text = out.text();
    assert_eq!(out.code, Some(1), "-o {}: {text}", target.display());
    assert!(
        text.contains(&target.display().to_string()) && text.contains(what),
        "-o {}: the message must name the path and say '{what}':\n{text}",
        target.display()
    );
}

fn no_temp_files_left(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".pfe-"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[test]
fn output_to_a_character_device_is_refused_even_with_force() {
    use std::os::unix::fs::FileTypeExt as _;
    // A null device of our own (as root), so that a regression replaces a
    // node in a temporary directory, not the system's /dev/null.
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("null");
    let c = std::ffi::CString::new(node.to_str().unwrap()).unwrap();
    // SAFETY: a valid path; makedev(1, 3) is the null device.
    let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) } == 0;
    if made {
        let out = generate_to(&node);
        write_refused(&out, &node, "character device");
        let ft = std::fs::symlink_metadata(&node).unwrap().file_type();
        assert!(ft.is_char_device(), "the device node was replaced");
        no_temp_files_left(dir.path());
    }
    // /dev/null itself, when pfe could not replace it anyway (not root) or
    // the node above proved the refusal.
    let dev_null = Path::new("/dev/null");
    // SAFETY: geteuid has no preconditions.
    if made || unsafe { libc::geteuid() } != 0 {
        let out = generate_to(dev_null);
        write_refused(&out, dev_null, "character device");
        let ft = std::fs::symlink_metadata(dev_null).unwrap().file_type();
        assert!(ft.is_char_device(), "/dev/null was replaced");
    }
}

#[test]
fn output_to_a_fifo_is_refused_even_with_force() {
    use std::os::unix::fs::FileTypeExt as _;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.lua");
    mkfifo(&fifo);
    let out = generate_to(&fifo);
    write_refused(&out, &fifo, "FIFO");
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    no_temp_files_left(dir.path());
    // The same through `pfe env -o`.
    let out = run(pfe()
        .args(["env", "--domain", "example.org", "--force", "-o"])
        .arg(&fifo));
    write_refused(&out, &fifo, "FIFO");
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
}

#[test]
fn output_to_a_directory_is_refused_even_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.lua");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), "kept").unwrap();
    let out = generate_to(&target);
    write_refused(&out, &target, "a directory, not a regular file");
    assert_eq!(
        std::fs::read_to_string(target.join("keep")).unwrap(),
        "kept"
    );
    no_temp_files_left(dir.path());
}

#[test]
fn compose_output_with_a_fifo_among_its_files_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // compose writes compose.yaml and compose.<environment>.yaml: the
    // second is a FIFO, so the first must not be written either.
    let fifo = dir.path().join("compose.production.yaml");
    mkfifo(&fifo);
    let out = run(pfe().args(["compose", "--force", "-o"]).arg(dir.path()));
    write_refused(&out, &fifo, "FIFO");
    assert!(
        !dir.path().join("compose.yaml").exists(),
        "compose.yaml was written before the FIFO was refused"
    );
}

#[test]
fn output_to_a_symlink_replaces_the_link_not_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = elsewhere.path().join("victim.lua");
    std::fs::write(&victim, "untouched").unwrap();
    let link = dir.path().join("out.lua");
    std::os::unix::fs::symlink(&victim, &link).unwrap();

    // Without --force, the link is an existing path.
    let out = generate_to_without_force(&link);
    assert_eq!(out.code, Some(1), "{}", out.text());
    assert!(out.text().contains("already exists"), "{}", out.text());

    let out = generate_to(&link);
    assert_eq!(out.code, Some(0), "{}", out.text());
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_file(), "the link is now a regular file");
    assert!(
        std::fs::read_to_string(&link)
            .unwrap()
            .contains("VirtualHost")
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(meta.permissions().mode() & 0o777, 0o644);

    // A dangling link is replaced the same way, never followed.
    let dangling = dir.path().join("dangling.lua");
    let nowhere = elsewhere.path().join("created-through-link.lua");
    std::os::unix::fs::symlink(&nowhere, &dangling).unwrap();
    let out = generate_to(&dangling);
    assert_eq!(out.code, Some(0), "{}", out.text());
    assert!(!nowhere.exists(), "the link was followed");
    assert!(
        std::fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_file()
    );
}

fn generate_to_without_force(target: &Path) -> Out {
    run(pfe()
        .args(["generate", "--domain", "example.org", "-o"])
        .arg(target))
}

#[test]
fn output_dash_is_standard_output() {
    let out = run(pfe().args(["generate", "--domain", "example.org", "-o", "-"]));
    assert_eq!(out.code, Some(0), "{}", out.text());
    assert!(out.stdout.contains("VirtualHost"), "{}", out.text());
    assert!(!Path::new("-").exists());
}

/// Runs pfe `args` with the given standard output and error.
fn run_with_streams(args: &[&str], stdout: Stdio, stderr: Stdio) -> std::process::ExitStatus {
    let mut cmd = pfe();
    cmd.args(args).stdout(stdout).stderr(stderr);
    status_within_deadline(&mut cmd)
}

/// Runs `cmd` (stdin from /dev/null) to completion within [`DEADLINE`].
fn status_within_deadline(cmd: &mut Command) -> std::process::ExitStatus {
    let args = format!("{cmd:?}");
    let mut child = cmd.stdin(Stdio::null()).spawn().unwrap();
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args} did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn full() -> Stdio {
    Stdio::from(
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap(),
    )
}

/// A pipe whose reading end is already closed: every write is EPIPE.
fn broken_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Stdio::from(writer)
}

/// Output to a full or closed stream ends pfe quietly with 1 or 2, never
/// the panic's 101 ("failed printing to stderr").
#[test]
fn a_full_or_closed_stream_is_not_a_panic() {
    let quiet_failure = |st: std::process::ExitStatus, what: &str| {
        assert!(
            matches!(st.code(), Some(1 | 2)),
            "{what}: expected exit 1 or 2, got {st:?}"
        );
    };
    // An error message to a full stderr.
    let st = run_with_streams(
        &["lint", "/nonexistent/prosody.cfg.lua"],
        Stdio::null(),
        full(),
    );
    quiet_failure(st, "lint error to a full stderr");
    // An error message to a closed pipe.
    let st = run_with_streams(
        &["lint", "/nonexistent/prosody.cfg.lua"],
        Stdio::null(),
        broken_pipe(),
    );
    quiet_failure(st, "lint error to a closed stderr pipe");
    // Output and its error message both to full streams.
    let st = run_with_streams(&["list"], full(), full());
    quiet_failure(st, "list to a full stdout and stderr");
    // Output to a closed pipe, error to a closed pipe.
    let st = run_with_streams(
        &["generate", "--domain", "example.org"],
        broken_pipe(),
        broken_pipe(),
    );
    quiet_failure(st, "generate to closed pipes");
    // Closed descriptors (`>&- 2>&-`).
    let mut cmd = pfe();
    cmd.args(["lint", "/nonexistent/prosody.cfg.lua"]);
    // SAFETY: close is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::close(1);
            libc::close(2);
            Ok(())
        });
    }
    let st = status_within_deadline(&mut cmd);
    quiet_failure(st, "lint with stdout and stderr closed");
}
