//! The parking lot: keep-alive client connections that stay idle between requests leave the
//! workers' event loops, so that thousands of idle clients cost little more than their sockets
//! and registry entries.
//!
//! A connection with no request for [`PARK_AFTER`] is parked: its task ends and its socket
//! leaves the worker's epoll (with them go tokio's per-socket state and the task's memory; its
//! read buffer was released as soon as it went idle). What remains is a [`ParkedConn`] — the
//! socket and its registry entry, so `socks` and `states` still show it waiting, and the idle
//! sweeper still enforces `persist_client_idle_timeout` and graceful shutdown on it (shutting
//! the socket down wakes it like a request would). One thread watches every parked socket with
//! a one-shot epoll; when one becomes readable it goes back to the worker it came from, which
//! starts the role's request loop again.
//!
//! Parking and waking cost a few system calls, paid once per idle spell by connections that
//! waited at least [`PARK_AFTER`]; connections in a burst of requests never park.

use std::collections::HashMap;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use crate::client::{ClientConn, LoopStart, ParkedConn, Parking, Resume};
use crate::sys::epoll::{Epoll, Events};

/// How long a keep-alive connection waits on its worker for its next request before parking.
pub const PARK_AFTER: Duration = Duration::from_millis(100);

/// Events taken from the epoll per wait.
const EVENTS_PER_WAIT: usize = 256;

/// A parked connection and how to resume it.
struct Ticket {
    conn: ParkedConn,
    service: Arc<str>,
    start: LoopStart,
    resume: Resume,
    /// The worker the connection came from, and goes back to.
    worker: usize,
}

impl Ticket {
    /// Runs on the connection's worker: its request loop again.
    fn resume_here(self) {
        match ClientConn::unpark(self.conn) {
            Ok(conn) => (self.resume)(conn, self.service, self.start),
            Err(e) => tracing::debug!("closing a parked connection that cannot resume: {e}"),
        }
    }
}

struct Lot {
    epoll: Epoll,
    /// Parked connections by socket.
    tickets: Mutex<HashMap<RawFd, Ticket>>,
}

/// The parking lot, started on first use; `None` when it could not be (connections then just
/// stay with their workers).
fn lot() -> Option<&'static Lot> {
    static LOT: OnceLock<Option<&'static Lot>> = OnceLock::new();
    *LOT.get_or_init(|| {
        let epoll = Epoll::new()
            .map_err(|e| tracing::warn!("idle connections will not be parked: epoll: {e}"))
            .ok()?;
        let lot: &'static Lot = Box::leak(Box::new(Lot {
            epoll,
            tickets: Mutex::new(HashMap::new()),
        }));
        std::thread::Builder::new()
            .name("perlbal-parking".into())
            .spawn(move || lot.run())
            .map_err(|e| tracing::warn!("idle connections will not be parked: {e}"))
            .ok()?;
        Some(lot)
    })
}

/// Parks `conn`, a connection of `service` between requests. Call from a worker.
pub fn park(conn: ClientConn, service: &Arc<str>, start: LoopStart, resume: Resume) -> Parking {
    let (Some(worker), Some(lot)) = (crate::runtime::current_worker(), lot()) else {
        return Parking::Kept(conn);
    };
    let conn = match conn.into_parked() {
        Ok(Ok(parked)) => parked,
        Ok(Err(e)) => {
            tracing::debug!("closing an idle connection that could not be parked: {e}");
            return Parking::Lost;
        }
        Err(busy) => return Parking::Kept(busy),
    };
    let fd = conn.fd();
    let ticket = Ticket {
        conn,
        service: Arc::clone(service),
        start,
        resume,
        worker,
    };
    // In the table before the socket is watched, so that an immediate event finds it.
    lot.tickets().insert(fd, ticket);
    let token = u64::try_from(fd).unwrap_or(u64::MAX);
    if let Err(e) = lot.epoll.add_oneshot_readable(fd, token) {
        tracing::debug!("keeping an idle connection on its worker: epoll: {e}");
        return match lot.tickets().remove(&fd).map(|t| ClientConn::unpark(t.conn)) {
            Some(Ok(conn)) => Parking::Kept(conn),
            Some(Err(_)) | None => Parking::Lost,
        };
    }
    Parking::Parked
}

impl Lot {
    fn tickets(&self) -> MutexGuard<'_, HashMap<RawFd, Ticket>> {
        self.tickets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lot's thread: hands every socket that becomes readable back to its worker.
    fn run(&self) {
        let mut events = Events::with_capacity(EVENTS_PER_WAIT);
        loop {
            if let Err(e) = self.epoll.wait(&mut events, None) {
                tracing::error!("parking lot: epoll_wait: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            for token in events.tokens() {
                let Ok(fd) = RawFd::try_from(token) else {
                    continue;
                };
                let Some(ticket) = self.tickets().remove(&fd) else {
                    continue;
                };
                // Out of this epoll before the worker adds the socket to its own.
                let _ = self.epoll.delete(fd);
                hand_back(ticket);
            }
        }
    }
}

/// Sends `ticket` to its worker; if the worker is gone (shutting down), the connection closes.
fn hand_back(ticket: Ticket) {
    if let Some(workers) = crate::control::workers() {
        let worker = ticket.worker;
        workers.run_on(worker, Box::new(move || ticket.resume_here()));
    }
}
