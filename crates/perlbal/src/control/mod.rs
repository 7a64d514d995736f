//! The one path every command takes, from a config file at start-up or from the management
//! port at run time (CFG-*, MGMT-*): lex and parse with `perlbal_config`, apply to the
//! [`State`] under one lock, publish a new [`crate::service::Snapshot`] for the data path, and
//! report the output lines exactly as the original prints them.
//!
//! Work that must wait (letting every worker release a listening socket) is returned as an
//! [`Effect`] and awaited after the lock is dropped, before the reply is written.

pub use pool::NODEFILE_RECHECK_SECONDS;

mod dump;
mod inspect;
mod output;
mod pool;
mod service_set;
mod shutdown;
mod snapshot;
mod state;

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use perlbal_config::{Command, Environment, Line};

use crate::listener::{Acceptor, Listener};
use crate::runtime::Workers;

pub use output::Output;
pub use state::State;

/// Per-connection (or per-file) command state: the implied object of `SET` and friends, and
/// whether successes print `OK` (CFG-8, CFG-10).
#[derive(Debug, Default)]
pub struct CommandContext {
    pub last_created: Option<String>,
    pub verbose: bool,
}

impl CommandContext {
    /// A management connection: verbose (MGMT-1).
    pub fn management() -> Self {
        CommandContext {
            last_created: None,
            verbose: true,
        }
    }

    /// A config file, or a command run for a web page: quiet.
    pub fn quiet() -> Self {
        CommandContext::default()
    }
}

/// Work a command leaves to be done outside the state lock (after the new configuration is
/// published).
pub enum Effect {
    /// Stop accepting on a listener and wait until its socket is closed.
    CloseListener(Listener),
    /// Run a spawn pass for a reverse_proxy service (its `connect_ahead` changed, SVC-21).
    SpawnBackends(String),
}

impl Effect {
    async fn run(self) {
        match self {
            Effect::CloseListener(listener) => listener.shutdown().await,
            Effect::SpawnBackends(service) => {
                crate::backend::pool::service_pool(&Arc::from(service.as_str())).spawn_now();
            }
        }
    }
}

struct Control {
    state: Mutex<State>,
    workers: OnceLock<Arc<Workers>>,
}

fn control() -> &'static Control {
    static CONTROL: OnceLock<Control> = OnceLock::new();
    CONTROL.get_or_init(|| Control {
        state: Mutex::new(State::new()),
        workers: OnceLock::new(),
    })
}

fn lock_state() -> MutexGuard<'static, State> {
    control().state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The running workers, once the server has started them.
pub(crate) fn workers() -> Option<&'static Arc<Workers>> {
    control().workers.get()
}

/// The acceptor every listener hands new connections to.
pub(crate) fn acceptor() -> Acceptor {
    static ACCEPTOR: OnceLock<Acceptor> = OnceLock::new();
    ACCEPTOR
        .get_or_init(|| Arc::new(crate::service::accept))
        .clone()
}

/// Expansion of `$NAME` and `${ip:<iface>}` in command lines (CFG-3, CFG-4).
struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        match std::env::var(name) {
            Ok(v) => Some(v),
            // `$PWD` is what the quickstart config serves; fall back to the real directory.
            Err(_) if name == "PWD" => std::env::current_dir()
                .ok()
                .map(|d| d.to_string_lossy().into_owned()),
            Err(_) => None,
        }
    }

    fn interface_ip(&self, iface: &str) -> Option<String> {
        crate::sys::interface_ipv4(iface)
            .ok()
            .flatten()
            .map(|ip| ip.to_string())
    }
}

/// Runs one command line under the state lock.
fn run_locked(raw: &str, ctx: &mut CommandContext) -> (Output, Vec<Effect>) {
    let mut out = Output::default();
    let mut effects = Vec::new();
    let line = match Line::lex(raw, &ProcessEnvironment) {
        Ok(Some(line)) => line,
        Ok(None) => return (out, effects),
        Err(e) => {
            out.error(&e);
            return (out, effects);
        }
    };
    let command = match Command::parse(&line) {
        Ok(c) => c,
        Err(e) => {
            out.error(&e);
            return (out, effects);
        }
    };
    let mut state = lock_state();
    state.run(command, ctx, &mut out, &mut effects);
    if state.take_changed() {
        crate::service::publish(snapshot::build(&state));
    }
    (out, effects)
}

/// Runs one command line and returns its output lines (without line ends).
pub async fn execute(raw: &str, ctx: &mut CommandContext) -> Vec<String> {
    let (out, effects) = run_locked(raw, ctx);
    for effect in effects {
        effect.run().await;
    }
    out.into_lines()
}

/// A config line that failed at start-up (CLI-7), naming where it was.
#[derive(Debug)]
pub struct LoadError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Runs a config file line by line with one quiet context, printing output through `print`;
/// stops at the first failing line (CFG-29).
pub fn load_config(file: &str, text: &str, print: &mut dyn FnMut(&str)) -> Result<(), LoadError> {
    let mut ctx = CommandContext::quiet();
    for (index, raw) in text.split('\n').enumerate() {
        let (out, effects) = run_locked(raw, &mut ctx);
        for effect in effects {
            // Before the workers run, nothing else holds a listener: closing is immediate.
            drop(effect);
        }
        for line in out.lines() {
            print(line);
        }
        if !out.succeeded() {
            return Err(LoadError {
                file: file.to_string(),
                line: index + 1,
                message: out
                    .error_message()
                    .unwrap_or("command failed without a message")
                    .to_string(),
            });
        }
    }
    Ok(())
}

/// Whether any enabled service is listening (CLI-8).
pub fn has_listeners() -> bool {
    lock_state().has_listeners()
}

/// Starts accepting on every bound listener; from now on `ENABLE` activates at once.
pub fn start_serving(workers: Arc<Workers>) {
    let _ = control().workers.set(Arc::clone(&workers));
    let acceptor = acceptor();
    lock_state().activate_listeners(&workers, &acceptor);
}

/// POOL-4: when a connection to one of `pool`'s nodes is about to be made, re-reads its node
/// file if it changed (the caller limits this to once every few seconds). True if the nodes
/// changed (a new snapshot is then published).
pub fn refresh_nodefile(pool: &str) -> bool {
    let mut state = lock_state();
    if !pool::refresh_nodefile(&mut state, pool) {
        return false;
    }
    state.mark_changed();
    let snapshot = snapshot::build(&state);
    state.take_changed();
    crate::service::publish(snapshot);
    true
}

/// The pidfile configured with `SERVER pidfile`, if any.
pub fn pidfile() -> Option<String> {
    lock_state().server.pidfile.clone()
}

/// `(name, role, listen)` of every service, sorted by name (for the management index page).
pub fn service_summaries() -> Vec<(String, String, Option<String>)> {
    lock_state().service_summaries()
}
