//! The parking lot: client connections that stay idle waiting for a request (a first one, or
//! the next on a kept-alive connection) leave the workers' event loops, so that thousands of
//! idle clients cost little more than their sockets and registry entries.
//!
//! A connection with no request for 50 to 100 ms is parked: its task ends and its socket
//! leaves the worker's epoll (with them go tokio's per-socket state and the task's memory; its
//! read buffer was released as soon as it went idle). What remains is a [`ParkedConn`] — the
//! socket and its registry entry, so `socks` and `states` still show it waiting, and the idle
//! sweeper still enforces `persist_client_idle_timeout` and graceful shutdown on it (shutting
//! the socket down wakes it like a request would). One thread watches every parked socket with
//! a one-shot epoll; when one becomes readable it goes back to the worker it came from, which
//! starts the role's request loop again.
//!
//! Parking and waking cost a few system calls, paid once per idle spell by connections that
//! waited 50 to 100 ms; connections in a burst of requests never park. Telling idle
//! connections apart costs no timer per request: each worker keeps a queue of the connections
//! waiting for a request, and one coarse ticker per worker wakes those that have waited two
//! ticks (50 to 100 ms).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Poll, Waker};
use std::time::Duration;

use crate::client::{ClientConn, LoopStart, ParkedConn, Parking, ReadHeadError, Resume};
use crate::registry::{SockEntry, SockState};
use crate::sys::epoll::{Epoll, Events};

/// The period of each worker's idle ticker.
const TICK: Duration = Duration::from_millis(50);

/// Ticks a connection waits for its next request on its worker before it parks: between 50
/// and 100 ms.
const TICKS_BEFORE_PARKING: u64 = 2;

/// One connection waiting for its next request, as a worker's ticker sees it.
struct Waiting {
    /// The tick at which the wait began.
    since: u64,
    waker: Waker,
    sock: Arc<SockEntry>,
    /// The connection's request count when the wait began: a different count, or a state other
    /// than waiting (`persist_wait`, or `reading_headers` before a first request), means this
    /// wait is over.
    requests: u32,
}

/// Each worker's connections waiting for a request, oldest first, and its tick count.
#[derive(Default)]
struct IdleWatch {
    tick: u64,
    waiting: VecDeque<Waiting>,
    ticker_running: bool,
}

thread_local! {
    static WATCH: RefCell<IdleWatch> = RefCell::default();
}

/// Waits for `conn`'s next request: `Some` as [`ClientConn::await_bytes`] when bytes (or the
/// end) come, `None` once the connection has been idle long enough to park.
pub async fn await_bytes_or_idle(conn: &mut ClientConn) -> Option<Result<bool, ReadHeadError>> {
    let mut since = None;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(arrived) = conn.poll_await_bytes(cx) {
            return Poll::Ready(Some(arrived));
        }
        WATCH.with_borrow_mut(|watch| match since {
            None => {
                since = Some(watch.tick);
                watch.waiting.push_back(Waiting {
                    since: watch.tick,
                    waker: cx.waker().clone(),
                    sock: conn.sock().entry(),
                    requests: conn.sock().requests(),
                });
                if !watch.ticker_running {
                    watch.ticker_running = true;
                    tokio::task::spawn_local(tick_while_waiting());
                }
                Poll::Pending
            }
            Some(since) if watch.tick >= since + TICKS_BEFORE_PARKING => Poll::Ready(None),
            Some(_) => Poll::Pending,
        })
    })
    .await
}

/// A worker's ticker: wakes the connections that waited long enough, while any wait.
async fn tick_while_waiting() {
    loop {
        tokio::time::sleep(TICK).await;
        let (due, more) = WATCH.with_borrow_mut(|watch| {
            watch.tick += 1;
            let mut due = Vec::new();
            while let Some(oldest) = watch.waiting.front() {
                if oldest.since + TICKS_BEFORE_PARKING > watch.tick {
                    break;
                }
                if let Some(w) = watch.waiting.pop_front() {
                    // Waiting for a first request (`reading_headers`, none read yet) or a next one.
                    let state = w.sock.state();
                    let still_waiting = w.sock.requests() == w.requests
                        && (state == SockState::PersistWait
                            || (state == SockState::ReadingHeaders && w.requests == 0));
                    if still_waiting {
                        due.push(w.waker);
                    }
                }
            }
            // The next wait to begin starts a new ticker.
            watch.ticker_running = !watch.waiting.is_empty();
            (due, watch.ticker_running)
        });
        due.into_iter().for_each(Waker::wake);
        if !more {
            return;
        }
    }
}

/// Events taken from the epoll per wait.
const EVENTS_PER_WAIT: usize = 256;

/// A parked connection and how to resume it (kept small: one per idle connection).
struct Ticket {
    conn: ParkedConn,
    resume: Resume,
    start: LoopStart,
    /// The worker the connection came from, and goes back to.
    worker: u16,
}

impl Ticket {
    /// Runs on the connection's worker: its request loop again.
    fn resume_here(self) {
        let Some(service) = self.conn.service() else {
            return;
        };
        match ClientConn::unpark(self.conn) {
            Ok(conn) => (self.resume)(conn, service, self.start),
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

/// Parks `conn`, a connection waiting for a request. Call from a worker.
pub fn park(conn: ClientConn, start: LoopStart, resume: Resume) -> Parking {
    let worker = crate::runtime::current_worker().and_then(|w| u16::try_from(w).ok());
    let (Some(worker), Some(lot)) = (worker, lot()) else {
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
        resume,
        start,
        worker,
    };
    // In the table before the socket is watched, so that an immediate event finds it.
    lot.tickets().insert(fd, ticket);
    let token = u64::try_from(fd).unwrap_or(u64::MAX);
    if let Err(e) = lot.epoll.add_oneshot_readable(fd, token) {
        tracing::debug!("keeping an idle connection on its worker: epoll: {e}");
        return match lot
            .tickets()
            .remove(&fd)
            .map(|t| ClientConn::unpark(t.conn))
        {
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
        let worker = usize::from(ticket.worker);
        workers.run_on(worker, Box::new(move || ticket.resume_here()));
    }
}
