//! The `perlbal` binary: command line (CLI-1..11), then start-up and the run loop.

mod backend;
mod buffers;
mod cli;
mod client;
mod control;
mod listener;
mod logging;
mod management;
mod parking;
mod profiling;
mod registry;
mod reverse_proxy;
mod runtime;
mod server;
mod service;
mod static_files;
mod sys;
mod upload_tracker;
mod web_server;

use std::process::ExitCode;

fn main() -> ExitCode {
    let opts = match cli::parse(std::env::args().skip(1)) {
        Ok(opts) => opts,
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            eprint!("{}", cli::USAGE);
            return ExitCode::from(1);
        }
    };
    if opts.help {
        eprint!("{}", cli::USAGE);
        return ExitCode::SUCCESS;
    }
    if opts.version {
        println!("Perlbal version {}", server::VERSION);
        return ExitCode::SUCCESS;
    }
    server::run(opts)
}
