//! Per-worker pools of read buffers. Reading a request or a response takes a buffer from the
//! pool and gives it back once its bytes are consumed, so moving bytes costs no allocation and
//! an idle connection — client or backend — holds no buffer at all.

use std::cell::RefCell;

/// What a buffer is for, which sets its size and how many a worker keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferKind {
    /// Request heads and bodies from clients: small, grown for large heads.
    ClientRead,
    /// Response heads and bodies from backends: large, so a big body moves in few reads.
    BackendRead,
}

impl BufferKind {
    /// The capacity of a fresh buffer.
    pub const fn capacity(self) -> usize {
        match self {
            BufferKind::ClientRead => 4096,
            BufferKind::BackendRead => 64 * 1024,
        }
    }

    /// How many spare buffers a worker keeps.
    const fn kept(self) -> usize {
        match self {
            BufferKind::ClientRead => 64,
            BufferKind::BackendRead => 16,
        }
    }

    /// Buffers grown past this are freed rather than kept.
    const fn largest_kept(self) -> usize {
        match self {
            BufferKind::ClientRead => 4 * 4096,
            BufferKind::BackendRead => 64 * 1024,
        }
    }

    const fn slot(self) -> usize {
        self as usize
    }
}

thread_local! {
    static POOLS: RefCell<[Vec<Vec<u8>>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
}

/// An empty buffer of `kind`, from this worker's pool when it has one.
pub fn take(kind: BufferKind) -> Vec<u8> {
    POOLS
        .with(|pools| pools.borrow_mut()[kind.slot()].pop())
        .unwrap_or_else(|| Vec::with_capacity(kind.capacity()))
}

/// Returns a buffer to this worker's pool, or frees it when the pool is full or the buffer is
/// not of the pool's size.
pub fn give_back(kind: BufferKind, mut buf: Vec<u8>) {
    if buf.capacity() < kind.capacity() || buf.capacity() > kind.largest_kept() {
        return;
    }
    buf.clear();
    POOLS.with(|pools| {
        let mut pools = pools.borrow_mut();
        let pool = &mut pools[kind.slot()];
        if pool.len() < kind.kept() {
            pool.push(buf);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_and_odd_sizes_are_not_kept() {
        let mut buf = take(BufferKind::BackendRead);
        assert_eq!(buf.capacity(), BufferKind::BackendRead.capacity());
        buf.extend_from_slice(b"response");
        let at = buf.as_ptr();
        give_back(BufferKind::BackendRead, buf);
        let again = take(BufferKind::BackendRead);
        assert_eq!(again.as_ptr(), at, "the same allocation comes back");
        assert!(again.is_empty());

        give_back(BufferKind::ClientRead, Vec::with_capacity(1 << 20));
        give_back(BufferKind::ClientRead, Vec::new());
        assert_eq!(take(BufferKind::ClientRead).capacity(), 4096);
    }
}
