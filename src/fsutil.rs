//! Atomic file writes that never clobber without permission.

use std::io::Write as _;
use std::path::Path;

use miette::Diagnostic;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum WriteError {
    #[error("{path} already exists")]
    #[diagnostic(
        code(pfe::write::exists),
        help("pass --force to replace it, or choose another path with -o")
    )]
    Exists { path: String },
    #[error("cannot write {path}: {reason}")]
    #[diagnostic(
        code(pfe::write::io),
        help("check that the directory exists and is writable")
    )]
    Io { path: String, reason: String },
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so readers see the old file or the new one, never half of
/// one. Without `overwrite`, an existing file is an error and stays as it was.
/// `mode` None keeps the permissions of the file being replaced, else 0644
/// (world-readable, as a config the server's own user must read; secrets
/// are written with an explicit mode).
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
    if !overwrite && path.exists() {
        return Err(WriteError::Exists {
            path: path.display().to_string(),
        });
    }
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
        use std::os::unix::fs::PermissionsExt;
        let mode = mode.unwrap_or_else(|| {
            std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o7777)
        });
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(io)?;
        // Replacing /etc/prosody/prosody.cfg.lua (root:prosody 0640) keeps
        // its owner and group where we may set them.
        if let Ok(old) = std::fs::metadata(path) {
            use std::os::unix::fs::MetadataExt;
            let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(old.uid()), Some(old.gid()));
        }
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.as_file().sync_all().map_err(io)?;
    if overwrite {
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
}
