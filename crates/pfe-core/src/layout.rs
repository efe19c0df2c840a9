//! Where the image keeps things (docker/Dockerfile): the one spelling of each
//! path that the entrypoint, compose, Kubernetes and the healthcheck share.

/// The config Prosody runs, rendered by the entrypoint.
pub const CONFIG_PATH: &str = "/etc/prosody/prosody.cfg.lua";
/// Prosody's data volume.
pub const DATA_DIR: &str = "/var/lib/prosody";
/// TLS certificates Prosody looks up by name.
pub const CERTS_DIR: &str = "/etc/prosody/certs";
/// Secrets as files, read when CREDENTIALS_DIRECTORY is unset.
pub const SECRETS_DIR: &str = "/run/secrets";
/// Where a `--config-dir` catalog tree is mounted in the container.
pub const CATALOG_MOUNT: &str = "/etc/pfe/catalog";
