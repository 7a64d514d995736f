//! The backend side of the reverse proxy: connections to pool nodes ([`conn`]), the per-service
//! pool of idle connections and waiting clients ([`pool`]), per-node statistics ([`nodes`]),
//! and the StatsListener that steers connections to nodes with spare capacity
//! ([`stats_listener`]).

pub mod conn;
pub mod nodes;
pub mod pool;
pub mod reproxy_pool;
pub mod stats_listener;
pub mod transport;

use std::cell::Cell;
use std::fmt;
use std::net::SocketAddrV4;
use std::sync::Arc;

/// Where a backend connection goes: a pool node, or a program spawned per connection
/// (`server_process`, RP-14).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    Node(SocketAddrV4),
    Process(Arc<str>),
}

impl Endpoint {
    /// The node address, for what only pool nodes have (statistics, use counts).
    pub fn node(&self) -> Option<SocketAddrV4> {
        match self {
            Endpoint::Node(node) => Some(*node),
            Endpoint::Process(_) => None,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Node(node) => node.fmt(f),
            Endpoint::Process(program) => f.write_str(program),
        }
    }
}

/// A uniformly random index below `len` (`len` > 0), from a per-thread xorshift generator.
/// Node choice only needs to spread load, not to be unpredictable.
pub fn random_index(len: usize) -> usize {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(seed());
    }
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.set(x);
        (x % len.max(1) as u64) as usize
    })
}

fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let here = &nanos as *const u64 as u64;
    (nanos ^ here.rotate_left(32) ^ u64::from(std::process::id())) | 1
}

#[cfg(test)]
mod tests {
    use super::random_index;

    #[test]
    fn random_indexes_stay_in_range_and_spread() {
        let mut seen = [0u32; 4];
        for _ in 0..4000 {
            seen[random_index(4)] += 1;
        }
        assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
        assert_eq!(random_index(1), 0);
    }
}
