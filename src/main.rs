//! The `pfe` binary: arguments in, one request to the library crates,
//! rendered output and an exit code out.

mod cli;
mod cmd;
mod error;
mod output;

use std::process::ExitCode;

use clap::Parser as _;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    output::install();
    match cmd::run(cli::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.exit(),
    }
}
