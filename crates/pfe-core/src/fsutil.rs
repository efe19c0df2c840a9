//! Every file pfe reads from the user goes through [`read_bounded`], and
//! every file it writes through [`write_atomic`].
//!
//! Reading: the file is opened without blocking (`O_NONBLOCK`, so a FIFO
//! cannot stall the open), its type is checked on the opened descriptor
//! (`fstat`, so nothing can be swapped in between), anything that is not a
//! regular file (FIFO, character or block device, directory, socket) is
//! refused, and at most the [`Kind`]'s limit plus one byte is read, whatever
//! the metadata claims. Symbolic links are followed: mounted secrets and
//! ConfigMaps are links.
//!
//! Writing: `-o PATH` replaces a regular file or creates a new one through a
//! temporary file and a rename. A symbolic link at PATH is replaced by a new
//! regular file (the rename replaces the link itself; the file it pointed to
//! is never written). Any other existing target (device, FIFO, directory,
//! socket) is refused, with or without `--force`, and nothing is replaced.

use std::io::{Read as _, Write as _};
use std::path::Path;

use miette::Diagnostic;

/// What a file input is: it sets the size limit and names the file in
/// messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--env-file`: NAME=value lines.
    EnvFile,
    /// A Prosody config: the `pfe lint` target, each file it `Include`s,
    /// `pfe entrypoint --use-config`.
    Config,
    /// A file of a `--config-dir` catalog tree.
    CatalogFile,
    /// `--ca-file` of `pfe check` / `pfe healthcheck`: PEM certificates.
    CaFile,
    /// A secret: `<VAR>_FILE`, `$CREDENTIALS_DIRECTORY/<name>`.
    Secret,
}

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

impl Kind {
    /// The largest file of this kind pfe reads, in bytes. Generous for real
    /// use: a config with 10,000 hosts is a few MB, a CA bundle of every
    /// public root is about 250 KB, a password is a line.
    pub const fn limit(self) -> u64 {
        match self {
            Kind::EnvFile => MIB,
            Kind::Config | Kind::CatalogFile => 16 * MIB,
            Kind::CaFile => 4 * MIB,
            Kind::Secret => 64 * KIB,
        }
    }

    /// How messages name a file of this kind.
    pub const fn noun(self) -> &'static str {
        match self {
            Kind::EnvFile => "env file",
            Kind::Config => "config file",
            Kind::CatalogFile => "catalog file",
            Kind::CaFile => "CA file",
            Kind::Secret => "secret file",
        }
    }
}

/// `n` bytes as a short human figure ("16 MiB", "64 KiB", "100 bytes").
pub fn size_text(n: u64) -> String {
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= KIB && n.is_multiple_of(KIB) {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} bytes")
    }
}

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadProblem {
    #[error("it is {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("it is larger than the {} limit for a {kind}", size_text(*.limit))]
    TooLarge { limit: u64, kind: &'static str },
    #[error("it is not UTF-8 text (invalid byte at line {line})")]
    NotUtf8 { line: usize },
    #[error("{0}")]
    Io(std::io::Error),
}

/// A file input that was refused or could not be read; names the file.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("cannot read {kind} {path}: {problem}")]
#[diagnostic(code(pfe::read))]
pub struct ReadError {
    pub path: String,
    pub kind: &'static str,
    pub problem: ReadProblem,
    #[help]
    pub help: Option<String>,
}

impl ReadError {
    fn new(path: &Path, kind: Kind, problem: ReadProblem) -> ReadError {
        let help = match &problem {
            ReadProblem::NotRegular(_) => Some(format!(
                "give the path of a regular file as the {}",
                kind.noun()
            )),
            ReadProblem::TooLarge { .. } => Some(format!(
                "a {} may be at most {}; see docs/security.md",
                kind.noun(),
                size_text(kind.limit())
            )),
            ReadProblem::NotUtf8 { .. } => Some("save the file as UTF-8".into()),
            ReadProblem::Io(_) => None,
        };
        ReadError {
            path: path.display().to_string(),
            kind: kind.noun(),
            problem,
            help,
        }
    }

    /// The problem without the path, for messages that already name it.
    pub fn reason(&self) -> String {
        self.problem.to_string()
    }
}

/// Identifies a file whatever path reached it (device and inode): two
/// paths to the same file, through `..` or a link, compare equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

/// What a file that is not regular is, for messages ("a FIFO (named
/// pipe)", ...).
pub fn type_text(ft: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// Reads the file at `path` as a `kind` input: a regular file of at most
/// `kind.limit()` bytes (see the module docs). Never blocks on a FIFO and
/// never reads more than the limit plus one byte.
pub fn read_bounded(path: &Path, kind: Kind) -> Result<Vec<u8>, ReadError> {
    read_bounded_file(path, kind).map(|(bytes, _)| bytes)
}

/// [`read_bounded`] as UTF-8 text (env, config, catalog and secret files:
/// they become strings, and a secret must never be altered silently).
pub fn read_bounded_text(path: &Path, kind: Kind) -> Result<String, ReadError> {
    let (bytes, _) = read_bounded_file(path, kind)?;
    into_text(path, kind, bytes)
}

/// [`read_bounded_text`] with the identity of the file read.
pub fn read_bounded_text_id(path: &Path, kind: Kind) -> Result<(String, FileId), ReadError> {
    let (bytes, id) = read_bounded_file(path, kind)?;
    Ok((into_text(path, kind, bytes)?, id))
}

fn into_text(path: &Path, kind: Kind, bytes: Vec<u8>) -> Result<String, ReadError> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count();
        ReadError::new(path, kind, ReadProblem::NotUtf8 { line })
    })
}

fn read_bounded_file(path: &Path, kind: Kind) -> Result<(Vec<u8>, FileId), ReadError> {
    let fail = |problem| ReadError::new(path, kind, problem);
    let limit = kind.limit();
    // Refuse a device or FIFO before opening it (opening some devices acts);
    // the check that counts is on the opened descriptor below.
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
    {
        return Err(fail(ReadProblem::NotRegular(type_text(meta.file_type()))));
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = opts.open(path).map_err(|e| {
        // A socket cannot be opened (ENXIO): say what it is.
        match std::fs::metadata(path) {
            Ok(meta) if !meta.is_file() => {
                fail(ReadProblem::NotRegular(type_text(meta.file_type())))
            }
            _ => fail(ReadProblem::Io(e)),
        }
    })?;
    let meta = file.metadata().map_err(|e| fail(ReadProblem::Io(e)))?;
    if !meta.is_file() {
        return Err(fail(ReadProblem::NotRegular(type_text(meta.file_type()))));
    }
    let too_large = || {
        fail(ReadProblem::TooLarge {
            limit,
            kind: kind.noun(),
        })
    };
    if meta.len() > limit {
        return Err(too_large());
    }
    #[cfg(unix)]
    let id = {
        use std::os::unix::fs::MetadataExt;
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    };
    #[cfg(not(unix))]
    let id = FileId { dev: 0, ino: 0 };
    // The size can change after fstat (a growing file, a procfs file that
    // reports 0): the cap is on what is read.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(ReadProblem::Io(e)))?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok((bytes, id))
}

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum WriteError {
    #[error("{path} already exists")]
    #[diagnostic(
        code(pfe::write::exists),
        help("pass --force to replace it, or choose another path with -o")
    )]
    Exists { path: String },
    #[error("refusing to write {path}: it is {what}, not a regular file")]
    #[diagnostic(
        code(pfe::write::special),
        help(
            "-o replaces only regular files (or symbolic links), even with --force; use -o - for standard output"
        )
    )]
    NotAFile { path: String, what: &'static str },
    #[error("cannot write {path}: {reason}")]
    #[diagnostic(
        code(pfe::write::io),
        help("check that the directory exists and is writable")
    )]
    Io { path: String, reason: String },
}

/// What is at `path` now, as far as writing there goes.
enum Target {
    Missing,
    /// A regular file: its metadata (mode and owner are kept).
    File(std::fs::Metadata),
    /// A symbolic link: replaced by the new file, never followed.
    Link,
}

fn target(path: &Path, overwrite: bool) -> Result<Target, WriteError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Target::Missing),
        Err(e) => {
            return Err(WriteError::Io {
                path: path.display().to_string(),
                reason: e.to_string(),
            });
        }
    };
    let ft = meta.file_type();
    if !ft.is_file() && !ft.is_symlink() {
        return Err(WriteError::NotAFile {
            path: path.display().to_string(),
            what: type_text(ft),
        });
    }
    if !overwrite {
        return Err(WriteError::Exists {
            path: path.display().to_string(),
        });
    }
    Ok(if ft.is_symlink() {
        Target::Link
    } else {
        Target::File(meta)
    })
}

/// Whether [`write_atomic`] may write `path`: a new path, or (with
/// `overwrite`) a regular file or a symbolic link. For checking every
/// target of a multi-file write before writing any.
pub fn check_target(path: &Path, overwrite: bool) -> Result<(), WriteError> {
    target(path, overwrite).map(|_| ())
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so readers see the old file or the new one, never half of
/// one. Without `overwrite`, an existing path is an error and stays as it
/// was. With it, a regular file is replaced (keeping its mode and owner when
/// `mode` is None) and a symbolic link is replaced by a new regular file
/// (the link itself, not what it points to). A device, FIFO, directory or
/// socket is never replaced. `mode` None keeps the permissions of the file
/// being replaced, else 0644 (world-readable, as a config the server's own
/// user must read; secrets are written with an explicit mode).
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    mode: Option<u32>,
    overwrite: bool,
) -> Result<(), WriteError> {
    let io = |e: std::io::Error| WriteError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    // Checked before the temporary file exists, and again just before the
    // rename.
    let old = target(path, overwrite)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".pfe-")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let old = match &old {
            Target::File(m) => Some(m),
            _ => None,
        };
        let mode = mode.unwrap_or_else(|| old.map_or(0o644, |m| m.permissions().mode() & 0o7777));
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(io)?;
        // Replacing /etc/prosody/prosody.cfg.lua (root:prosody 0640) keeps
        // its owner and group where we may set them.
        if let Some(old) = old {
            let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(old.uid()), Some(old.gid()));
        }
    }
    #[cfg(not(unix))]
    let _ = (mode, &old);
    tmp.as_file().sync_all().map_err(io)?;
    if overwrite {
        // A device or FIFO put there since the first check is not replaced.
        target(path, overwrite)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                WriteError::Exists {
                    path: path.display().to_string(),
                }
            } else {
                io(e.error)
            }
        })?;
    }
    Ok(())
}

/// Makes output to a closed or full standard stream end the process quietly
/// with exit status 1, where `println!`/`eprintln!` would panic ("failed
/// printing to stderr", exit 101). Call once, first thing in `main`. Other
/// panics still go to the default hook.
pub fn quiet_broken_stdio() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info.payload_as_str().unwrap_or("");
        if msg.starts_with("failed printing to stdout")
            || msg.starts_with("failed printing to stderr")
        {
            // Nothing can be said: the stream that would carry it is gone.
            std::process::exit(1);
        }
        default(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_clobber_and_keeps_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.lua");
        write_atomic(&p, b"one", None, false).unwrap();
        let err = write_atomic(&p, b"two", None, false).unwrap_err();
        assert!(matches!(err, WriteError::Exists { .. }));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "one");
        write_atomic(&p, b"two", None, true).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left behind"
        );
    }

    #[cfg(unix)]
    #[test]
    fn default_mode_is_readable_and_replacing_keeps_the_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("prosody.cfg.lua");
        write_atomic(&p, b"a", None, false).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o644
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&p, b"b", None, true).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }

    #[cfg(unix)]
    #[test]
    fn sets_the_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".env");
        write_atomic(&p, b"A=1\n", Some(0o600), false).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn missing_directory_is_an_io_error() {
        let err =
            write_atomic(Path::new("/nonexistent-dir/x/out.lua"), b"x", None, false).unwrap_err();
        assert!(matches!(err, WriteError::Io { .. }), "{err}");
    }

    #[cfg(unix)]
    fn mkfifo(path: &Path) {
        use std::os::unix::ffi::OsStrExt as _;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    }

    /// `read_bounded` on another thread, failing the test (not hanging it)
    /// if it blocks.
    fn read_soon(path: &Path, kind: Kind) -> Result<Vec<u8>, ReadError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.to_path_buf();
        std::thread::spawn(move || {
            let _ = tx.send(read_bounded(&p, kind));
        });
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("reading {} blocked", path.display()))
    }

    #[test]
    fn reads_regular_files_through_links() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "secret\n").unwrap();
        assert_eq!(read_bounded_text(&p, Kind::Secret).unwrap(), "secret\n");
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&p, &link).unwrap();
            let (_, a) = read_bounded_text_id(&p, Kind::Secret).unwrap();
            let (_, b) = read_bounded_text_id(&link, Kind::Secret).unwrap();
            assert_eq!(a, b, "one file, one identity");
        }
    }

    #[cfg(unix)]
    #[test]
    fn refuses_what_is_not_a_regular_file_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let link = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        for (path, what) in [
            (Path::new("/dev/zero"), "a character device"),
            (Path::new("/dev/urandom"), "a character device"),
            (fifo.as_path(), "a FIFO (named pipe)"),
            (link.as_path(), "a character device"),
            (dir.path(), "a directory"),
        ] {
            for kind in [
                Kind::EnvFile,
                Kind::Config,
                Kind::CatalogFile,
                Kind::CaFile,
                Kind::Secret,
            ] {
                let e = read_soon(path, kind).unwrap_err();
                assert!(
                    matches!(e.problem, ReadProblem::NotRegular(w) if w == what),
                    "{e}"
                );
                let msg = e.to_string();
                assert!(msg.contains(&path.display().to_string()), "{msg}");
                assert!(msg.contains(kind.noun()), "{msg}");
            }
        }
    }

    #[test]
    fn caps_the_size_per_kind() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(Kind::Secret.limit()).unwrap();
        assert_eq!(
            read_bounded(&p, Kind::Secret).unwrap().len() as u64,
            Kind::Secret.limit()
        );
        f.set_len(Kind::Secret.limit() + 1).unwrap();
        let e = read_bounded(&p, Kind::Secret).unwrap_err();
        assert!(matches!(e.problem, ReadProblem::TooLarge { .. }), "{e}");
        assert!(e.to_string().contains("64 KiB"), "{e}");
        // The same file is fine as an env file (1 MiB).
        assert!(read_bounded(&p, Kind::EnvFile).is_ok());
        assert_eq!(Kind::Config.limit(), 16 * 1024 * 1024);
    }

    #[test]
    fn reports_the_line_of_invalid_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".env");
        std::fs::write(&p, b"A=1\nB=\xff\n").unwrap();
        let e = read_bounded_text(&p, Kind::EnvFile).unwrap_err();
        assert!(matches!(e.problem, ReadProblem::NotUtf8 { line: 2 }), "{e}");
        // A CA file is bytes.
        assert!(read_bounded(&p, Kind::CaFile).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn never_replaces_a_fifo_or_a_directory() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("out.lua");
        mkfifo(&fifo);
        for force in [false, true] {
            let e = write_atomic(&fifo, b"x", None, force).unwrap_err();
            assert!(matches!(e, WriteError::NotAFile { .. }), "{e}");
            assert!(e.to_string().contains("FIFO"), "{e}");
        }
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let e = write_atomic(&sub, b"x", None, true).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        assert!(check_target(&sub, true).is_err());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temp file left behind"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_replaced_never_followed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let target = other.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("out.lua");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = write_atomic(&link, b"new", None, false).unwrap_err();
        assert!(matches!(e, WriteError::Exists { .. }), "{e}");
        write_atomic(&link, b"new", None, true).unwrap();
        let meta = std::fs::symlink_metadata(&link).unwrap();
        assert!(meta.file_type().is_file());
        // Not the mode of the file the link pointed to.
        assert_eq!(meta.permissions().mode() & 0o777, 0o644);
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "new");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        // A dangling link exists too.
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(other.path().join("nowhere"), &dangling).unwrap();
        assert!(matches!(
            check_target(&dangling, false),
            Err(WriteError::Exists { .. })
        ));
    }
}
