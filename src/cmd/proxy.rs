//! `pfe proxy nginx`: renders [`pfe_deploy::nginx`].

use pfe_core::fsutil::{self, Kind};
use pfe_deploy::nginx;

use super::Ctx;
use crate::cli::ProxyKind;
use crate::error::{Error, Result};
use crate::output::{stdout, write_output};

pub fn proxy(ctx: &Ctx, kind: ProxyKind) -> Result {
    let ProxyKind::Nginx {
        sel,
        output,
        force,
        listen,
        upstream,
        certificate,
        key,
        verify,
    } = kind;
    let build = ctx.build(&ctx.request(&sel)?)?;
    let plan = nginx::plan(&build, upstream.as_deref())
        .map_err(|e| Error::failed_hint(e.to_string(), "see `pfe proxy nginx --help`"))?;
    if let Some(file) = verify {
        let text = fsutil::read_bounded_text(&file, Kind::Config)?;
        let found = nginx::verify(&plan, &text)
            .map_err(|e| Error::failed(format!("{}: {e}", file.display())))?;
        let mut out = String::new();
        for m in &found {
            if m.line > 0 {
                out += &format!("FAIL  {}:{}: {}\n", file.display(), m.line, m.message);
            } else {
                out += &format!("FAIL  {}: {}\n", file.display(), m.message);
            }
        }
        if found.is_empty() {
            out += &format!(
                "pass  {} fits the config (BOSH, WebSocket, uploads)\n",
                file.display()
            );
        }
        stdout(out.as_bytes())?;
        return if found.is_empty() {
            Ok(())
        } else {
            Err(Error::Shown(1))
        };
    }
    let text = nginx::render(
        &plan,
        &nginx::Listen {
            listen,
            certificate,
            key,
        },
    )
    .map_err(|e| Error::usage(e.to_string(), "the value must be plain text on one line"))?;
    write_output(output.as_deref(), text.as_bytes(), None, force)
}
