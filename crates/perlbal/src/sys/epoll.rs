//! A bare epoll instance for watching parked sockets ([`crate::parking`]): one-shot read
//! interest, removal, and a blocking wait that yields the tokens of ready sockets. The workers'
//! own event loops are tokio's; this one serves a single thread that only waits.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::cvt;

/// An epoll instance, closed on drop.
#[derive(Debug)]
pub struct Epoll(OwnedFd);

impl Epoll {
    /// `epoll_create1(EPOLL_CLOEXEC)`.
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: plain syscall; no memory is passed.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) }.into())?;
        let fd = RawFd::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
        Ok(Epoll(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Watches `fd` until it becomes readable or hung up, once: after one event it stays in
    /// the set, disarmed, until [`Epoll::delete`].
    pub fn add_oneshot_readable(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let flags = libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLONESHOT;
        let mut event = libc::epoll_event {
            events: flags as u32,
            u64: token,
        };
        // SAFETY: `event` is a valid epoll_event for the duration of the call.
        let ret =
            unsafe { libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) };
        cvt(ret.into()).map(drop)
    }

    /// Stops watching `fd`.
    pub fn delete(&self, fd: RawFd) -> io::Result<()> {
        let mut unused = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: a non-null event pointer, as kernels before 2.6.9 required; ignored otherwise.
        let ret =
            unsafe { libc::epoll_ctl(self.0.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, &mut unused) };
        cvt(ret.into()).map(drop)
    }

    /// Waits for events, up to `timeout` (`None`: without limit), into `events` (replacing what
    /// it held). Interrupted waits are retried.
    pub fn wait(
        &self,
        events: &mut Events,
        timeout: Option<std::time::Duration>,
    ) -> io::Result<()> {
        let capacity = libc::c_int::try_from(events.slots.len()).unwrap_or(libc::c_int::MAX);
        let timeout = timeout.map_or(-1, |t| {
            libc::c_int::try_from(t.as_millis()).unwrap_or(libc::c_int::MAX)
        });
        loop {
            // SAFETY: `slots` has room for `capacity` entries, which the kernel fills.
            let ret = unsafe {
                libc::epoll_wait(
                    self.0.as_raw_fd(),
                    events.slots.as_mut_ptr(),
                    capacity,
                    timeout,
                )
            };
            match cvt(ret.into()) {
                Ok(n) => {
                    events.ready = usize::try_from(n).unwrap_or(0);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Room for the events of one [`Epoll::wait`], reused across waits.
pub struct Events {
    slots: Vec<libc::epoll_event>,
    ready: usize,
}

impl Events {
    /// Room for at most `max` events per wait.
    pub fn with_capacity(max: usize) -> Events {
        Events {
            slots: vec![libc::epoll_event { events: 0, u64: 0 }; max.max(1)],
            ready: 0,
        }
    }

    /// The tokens of the sockets reported ready by the last wait.
    pub fn tokens(&self) -> impl Iterator<Item = u64> + '_ {
        self.slots[..self.ready].iter().map(|e| e.u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn a_oneshot_watch_reports_a_readable_socket_once() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        let epoll = Epoll::new().expect("epoll");
        epoll
            .add_oneshot_readable(server.as_raw_fd(), 42)
            .expect("add");
        client.write_all(b"x").expect("write");
        let mut events = Events::with_capacity(8);
        epoll.wait(&mut events, None).expect("wait");
        assert_eq!(events.tokens().collect::<Vec<_>>(), [42]);
        let quiet = Some(std::time::Duration::from_millis(10));
        epoll.wait(&mut events, quiet).expect("timed wait");
        assert_eq!(events.tokens().count(), 0, "one-shot: no second event");
        // Disarmed: re-adding is refused until the socket is deleted.
        assert!(epoll.add_oneshot_readable(server.as_raw_fd(), 42).is_err());
        epoll.delete(server.as_raw_fd()).expect("delete");
        epoll
            .add_oneshot_readable(server.as_raw_fd(), 7)
            .expect("re-add after delete");
    }
}
