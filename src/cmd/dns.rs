//! `pfe dns`: renders [`pfe_core::dns::plan`] and [`pfe_probe::dns::verify`].

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use pfe_core::dns;
use pfe_probe::dns::{VerifyOptions, verify_blocking};

use super::Ctx;
use crate::cli::Selection;
use crate::error::{Error, Result};
use crate::output::{print_json, stdout};

pub struct Args {
    pub addresses: Vec<IpAddr>,
    pub target: Option<String>,
    pub verify: bool,
    pub resolver: Option<SocketAddr>,
    pub timeout: u64,
    pub json: bool,
}

pub fn dns(ctx: &Ctx, sel: &Selection, a: Args) -> Result {
    let build = ctx.build(&ctx.request(sel)?)?;
    let plan = dns::plan(
        &build,
        &dns::Inputs {
            domain: None,
            target: a.target,
            addresses: a.addresses,
        },
    )
    .map_err(|e| Error::usage(e.to_string(), "see `pfe dns --help`"))?;
    if !a.verify {
        if a.json {
            return print_json(&serde_json::to_value(&plan).expect("serializable"));
        }
        return stdout(dns::zone_snippet(&plan).as_bytes());
    }
    let verdicts = verify_blocking(
        &plan,
        &VerifyOptions {
            resolver: a.resolver,
            timeout: Duration::from_millis(a.timeout),
        },
    )
    .map_err(|e| Error::failed(e.to_string()))?;
    let failed = verdicts.iter().filter(|v| !v.pass).count();
    if a.json {
        print_json(&serde_json::to_value(&verdicts).expect("serializable"))?;
    } else {
        let mut out = String::new();
        for v in &verdicts {
            let found = if v.found.is_empty() {
                "nothing".to_string()
            } else {
                v.found.join(", ")
            };
            if v.pass {
                out += &format!("pass  {}\n", v.record.zone_line());
            } else {
                out += &format!(
                    "FAIL  {}\n      {}; found {found}\n",
                    v.record.zone_line(),
                    v.problem
                );
            }
        }
        out += &format!(
            "dns: {} of {} records as planned\n",
            verdicts.len() - failed,
            verdicts.len()
        );
        stdout(out.as_bytes())?;
    }
    if failed > 0 {
        Err(Error::Shown(1))
    } else {
        Ok(())
    }
}
