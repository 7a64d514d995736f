//! Pipes and `splice(2)`, for moving a response body from one socket to another inside the
//! kernel ([`crate::reverse_proxy`]'s relay of large bodies).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::cvt;

/// `pipe2(O_NONBLOCK | O_CLOEXEC)`: (read end, write end).
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors the kernel writes.
    let ret = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
    cvt(ret.into())?;
    // SAFETY: both descriptors were just created by the kernel and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `fcntl(F_SETPIPE_SZ)`: asks for a pipe of `bytes`; returns the size granted.
pub fn set_pipe_size(pipe: BorrowedFd<'_>, bytes: usize) -> io::Result<usize> {
    let bytes = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: plain fcntl on a live descriptor; no memory is passed.
    let ret = unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, bytes) };
    cvt(ret.into()).map(|n| usize::try_from(n).unwrap_or(0))
}

/// `splice(2)` of up to `len` bytes from `from` to `to` (one of them a pipe), without blocking
/// on the pipe (sockets must be non-blocking themselves): `WouldBlock` when `from` has nothing
/// or `to` has no room; `Ok(0)` at the end of `from`.
pub fn splice(from: BorrowedFd<'_>, to: BorrowedFd<'_>, len: usize) -> io::Result<usize> {
    let flags = libc::SPLICE_F_NONBLOCK | libc::SPLICE_F_MOVE;
    // SAFETY: both descriptors are live for their borrows; null offsets use the file positions.
    let ret = unsafe {
        libc::splice(
            from.as_raw_fd(),
            std::ptr::null_mut(),
            to.as_raw_fd(),
            std::ptr::null_mut(),
            len,
            flags,
        )
    };
    cvt(ret as libc::c_long).map(|n| n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;

    #[test]
    fn bytes_go_socket_to_pipe_to_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut from_peer = TcpStream::connect(addr).expect("connect");
        let (from, _) = listener.accept().expect("accept");
        let to = TcpStream::connect(addr).expect("connect");
        let (mut to_peer, _) = listener.accept().expect("accept");
        let (r, w) = pipe().expect("pipe");
        assert!(set_pipe_size(w.as_fd(), 1 << 16).expect("size") >= 1 << 16);
        from.set_nonblocking(true).expect("non-blocking");
        assert_eq!(
            splice(from.as_fd(), w.as_fd(), 10).map_err(|e| e.kind()),
            Err(io::ErrorKind::WouldBlock),
            "nothing to move yet"
        );
        from_peer.write_all(b"hello pipe").expect("write");
        from.set_nonblocking(false).expect("blocking read side");
        assert_eq!(splice(from.as_fd(), w.as_fd(), 64).expect("in"), 10);
        assert_eq!(splice(r.as_fd(), to.as_fd(), 64).expect("out"), 10);
        let mut got = [0u8; 10];
        to_peer.read_exact(&mut got).expect("read");
        assert_eq!(&got, b"hello pipe");
        drop(from_peer);
        assert_eq!(splice(from.as_fd(), w.as_fd(), 64).expect("eof"), 0);
    }
}
