//! `pfe run`: a local server in one command (pfe_run::local decides
//! everything; this only shows it).

use pfe_run::local::{self, Options, RunError};

use super::Ctx;
use crate::error::{Error, Result};
use crate::output::sayln;

pub fn run(ctx: &Ctx, o: Options) -> Result {
    let prepared = local::prepare(&ctx.catalog, &ctx.env, &o).map_err(|e| match e {
        RunError::Server(e) => Error::failed(e.to_string()),
        e if e.is_usage() => Error::Usage {
            message: e.to_string(),
            hint: None,
        },
        e => e.into(),
    })?;
    ctx.show_build_notes(&prepared.build);
    sayln!("{}", prepared.summary());
    let err = local::exec(&prepared.config);
    Err(Error::failed_hint(
        format!("cannot run prosody: {err}"),
        "install Prosody 13 (scripts/install-deps.sh)",
    ))
}
