//! `shutdown` and `shutdown graceful [<secs>]` (MGMT-37, PROC-6..8).
//!
//! Immediate: the process exits at once; every connection, the asking one included, just sees
//! EOF. Graceful: listeners close (new connections are refused), idle keep-alive clients are
//! closed, busy ones are closed after their current response, and the process exits once no
//! client connection is left (management connections do not count), or after `<secs>`.

use std::time::{Duration, Instant};

use perlbal_config::command::ShutdownMode;

use super::output::Output;
use super::state::State;
use super::{CommandContext, Effect};
use crate::registry::{registry, SockClass};
use crate::server::{begin_drain, server};

/// How often the drain checks whether the last client is gone.
const DRAIN_POLL: Duration = Duration::from_millis(50);

pub fn shutdown(
    state: &mut State,
    mode: ShutdownMode,
    ctx: &CommandContext,
    out: &mut Output,
    effects: &mut Vec<Effect>,
) {
    let force_exit_after = match mode {
        ShutdownMode::Immediate => std::process::exit(0),
        ShutdownMode::Graceful { force_exit_after } => force_exit_after.filter(|s| *s > 0),
    };
    for svc in state.services.values_mut() {
        if let Some(listener) = svc.listener.take() {
            effects.push(Effect::CloseListener(listener));
        }
    }
    begin_drain();
    let deadline = force_exit_after.map(|secs| Instant::now() + Duration::from_secs(secs));
    let spawned = std::thread::Builder::new()
        .name("perlbal-drain".into())
        .spawn(move || wait_for_clients(deadline));
    if spawned.is_err() {
        server().request_exit(0);
    }
    out.ok(ctx);
}

fn has_clients() -> bool {
    registry()
        .snapshot()
        .iter()
        .any(|e| matches!(e.class(), SockClass::ClientHttp | SockClass::ClientProxy))
}

fn wait_for_clients(deadline: Option<Instant>) {
    while has_clients() {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            // PROC-8: in-flight requests are cut without a response.
            std::process::exit(0);
        }
        std::thread::sleep(DRAIN_POLL);
    }
    server().request_exit(0);
}
