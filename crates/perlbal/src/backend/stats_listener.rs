//! The StatsListener of Perlbal's design (dropped by the 1.80 release, brought back): backend
//! hosts announce their spare capacity over UDP, and new backend connections go where it is.
//!
//! A pool with `balance_method = sendstats` and `sendstats.listen = ip:port` binds a UDP
//! socket there. Each datagram reads
//!
//! ```text
//! bcast_ver=1
//! free=<idle workers>
//! active=<busy workers>
//! [port=<node port>]
//! ```
//!
//! and counts only when it comes from a pool member (by address; `port=` picks one node when
//! several share the address). New connections go to a node picked at random weighted by its
//! announced free workers, each pick consuming one; when no node announces free capacity, the
//! pick is weighted by past use; a node that stops announcing ages out after
//! [`STATS_MAX_AGE`]. `perlbal-sendstats` is the sender.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Announcements older than this are ignored.
pub const STATS_MAX_AGE: Duration = Duration::from_secs(10);

/// How long the listener thread blocks in one receive, so it notices when it is stopped.
const RECEIVE_TIMEOUT: Duration = Duration::from_millis(500);

/// What one announcement says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announcement {
    pub free: u64,
    pub active: u64,
    pub port: Option<u16>,
}

/// Parses a datagram; `None` unless it is a well-formed version 1 announcement.
pub fn parse_announcement(datagram: &[u8]) -> Option<Announcement> {
    let text = std::str::from_utf8(datagram).ok()?;
    let (mut version, mut free, mut active, mut port) = (None, None, None, None);
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (key, value) = line.split_once('=')?;
        match key.trim() {
            "bcast_ver" => version = Some(value.trim()),
            "free" => free = value.trim().parse().ok(),
            "active" => active = value.trim().parse().ok(),
            "port" => port = value.trim().parse().ok(),
            _ => {}
        }
    }
    (version? == "1").then_some(Announcement {
        free: free?,
        active: active?,
        port,
    })
}

#[derive(Debug, Default, Clone)]
struct Capacity {
    free: u64,
    active: u64,
    heard: Option<Instant>,
    uses: u64,
}

impl Capacity {
    fn fresh(&self) -> bool {
        self.heard.is_some_and(|h| h.elapsed() < STATS_MAX_AGE)
    }
}

/// What a pool knows of its nodes' capacity.
#[derive(Debug, Default)]
pub struct StatsTable {
    nodes: Mutex<HashMap<SocketAddrV4, Capacity>>,
}

impl StatsTable {
    fn lock(&self) -> MutexGuard<'_, HashMap<SocketAddrV4, Capacity>> {
        self.nodes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the table track exactly `members` (POOL ADD/REMOVE, node files).
    pub fn set_members(&self, members: &[SocketAddrV4]) {
        let mut nodes = self.lock();
        nodes.retain(|node, _| members.contains(node));
        for node in members {
            nodes.entry(*node).or_default();
        }
    }

    /// Applies an announcement from `sender`. False when it is not from a pool member.
    pub fn record(&self, sender: IpAddr, announcement: Announcement) -> bool {
        let mut nodes = self.lock();
        let mut matched = false;
        for (node, capacity) in nodes.iter_mut() {
            let same_host = IpAddr::V4(*node.ip()) == sender;
            if same_host && announcement.port.is_none_or(|p| p == node.port()) {
                capacity.free = announcement.free;
                capacity.active = announcement.active;
                capacity.heard = Some(Instant::now());
                matched = true;
            }
        }
        matched
    }

    /// Picks the node for a new connection among `nodes`.
    pub fn pick(&self, nodes: &[SocketAddrV4]) -> SocketAddrV4 {
        let mut table = self.lock();
        let weights: Vec<u64> = nodes
            .iter()
            .map(|n| table.get(n).filter(|c| c.fresh()).map_or(0, |c| c.free))
            .collect();
        let by_free = weights.iter().any(|&w| w > 0);
        let weights: Vec<u64> = if by_free {
            weights
        } else {
            // Nobody announces free workers: lean on what served well before.
            nodes
                .iter()
                .map(|n| table.get(n).map_or(1, |c| c.uses.max(1)))
                .collect()
        };
        let index = weighted_index(&weights);
        let node = nodes[index];
        let capacity = table.entry(node).or_default();
        capacity.uses += 1;
        if by_free {
            capacity.free = capacity.free.saturating_sub(1);
        }
        node
    }

    /// Management lines: `<node> free=<n> active=<n> heard=<s>s|never uses=<n>`.
    pub fn report(&self, nodes: &[SocketAddrV4]) -> Vec<String> {
        let table = self.lock();
        nodes
            .iter()
            .map(|node| {
                let c = table.get(node).cloned().unwrap_or_default();
                let heard = c.heard.map_or_else(
                    || "never".to_string(),
                    |h| format!("{}s", h.elapsed().as_secs()),
                );
                format!(
                    "{node} free={} active={} heard={heard} uses={}",
                    c.free, c.active, c.uses
                )
            })
            .collect()
    }
}

/// A random index weighted by `weights` (all zero: uniform).
fn weighted_index(weights: &[u64]) -> usize {
    let total: u64 = weights.iter().sum();
    if total == 0 {
        return super::random_index(weights.len());
    }
    let mut target = super::random_index(usize::try_from(total).unwrap_or(usize::MAX)) as u64;
    for (index, &weight) in weights.iter().enumerate() {
        if target < weight {
            return index;
        }
        target -= weight;
    }
    weights.len() - 1
}

/// A bound StatsListener socket and the thread that reads it.
#[derive(Debug)]
pub struct StatsListener {
    addr: SocketAddrV4,
    stop: Arc<AtomicBool>,
}

impl StatsListener {
    /// Binds `addr` and starts recording announcements into `table`.
    pub fn start(
        addr: SocketAddrV4,
        table: Arc<StatsTable>,
        pool: &str,
    ) -> io::Result<StatsListener> {
        let socket = UdpSocket::bind(addr)?;
        socket.set_read_timeout(Some(RECEIVE_TIMEOUT))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let pool = pool.to_string();
        std::thread::Builder::new()
            .name(format!("perlbal-stats-{pool}"))
            .spawn(move || receive(&socket, &table, &stopped, &pool))?;
        Ok(StatsListener { addr, stop })
    }

    pub fn addr(&self) -> SocketAddrV4 {
        self.addr
    }
}

impl Drop for StatsListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn receive(socket: &UdpSocket, table: &StatsTable, stop: &AtomicBool, pool: &str) {
    let mut buf = [0u8; 512];
    while !stop.load(Ordering::Relaxed) {
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                let Some(announcement) = parse_announcement(&buf[..n]) else {
                    tracing::debug!("pool {pool}: ignoring a malformed announcement from {from}");
                    continue;
                };
                if !table.record(from.ip(), announcement) {
                    tracing::debug!("pool {pool}: ignoring an announcement from non-member {from}");
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => {
                tracing::warn!("pool {pool}: stats listener stopped: {e}");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(s: &str) -> SocketAddrV4 {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn announcements_parse_and_reject_garbage() {
        assert_eq!(
            parse_announcement(b"bcast_ver=1\nfree=3\nactive=7\n"),
            Some(Announcement {
                free: 3,
                active: 7,
                port: None
            })
        );
        assert_eq!(
            parse_announcement(b"bcast_ver=1\nfree=0\nactive=2\nport=8080\n").and_then(|a| a.port),
            Some(8080)
        );
        assert_eq!(parse_announcement(b"bcast_ver=2\nfree=3\nactive=7\n"), None);
        assert_eq!(parse_announcement(b"free=3\nactive=7\n"), None);
        assert_eq!(parse_announcement(b"bcast_ver=1\nfree=x\nactive=7\n"), None);
        assert_eq!(parse_announcement(&[0xff, 0xfe]), None);
    }

    #[test]
    fn only_members_count_and_port_selects_a_node() {
        let table = StatsTable::default();
        let (a, b) = (node("10.0.0.1:80"), node("10.0.0.1:81"));
        table.set_members(&[a, b]);
        let ann = Announcement {
            free: 5,
            active: 1,
            port: Some(81),
        };
        assert!(table.record("10.0.0.1".parse().unwrap_or_else(|e| panic!("{e}")), ann));
        assert!(!table.record("10.0.0.9".parse().unwrap_or_else(|e| panic!("{e}")), ann));
        let report = table.report(&[a, b]);
        assert!(
            report[0].starts_with("10.0.0.1:80 free=0 active=0 heard=never"),
            "{report:?}"
        );
        assert!(
            report[1].starts_with("10.0.0.1:81 free=5 active=1 heard=0s"),
            "{report:?}"
        );
    }

    /// A table where a announced 3 free workers and b none: a's 3 are used up by 3 picks.
    fn table_after_a_ran_out() -> (StatsTable, SocketAddrV4, SocketAddrV4) {
        let table = StatsTable::default();
        let (a, b) = (node("10.0.0.1:80"), node("10.0.0.2:80"));
        table.set_members(&[a, b]);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or_else(|e| panic!("{e}"));
        let announce = |free, active| Announcement {
            free,
            active,
            port: None,
        };
        table.record(ip("10.0.0.1"), announce(3, 0));
        table.record(ip("10.0.0.2"), announce(0, 9));
        for _ in 0..3 {
            assert_eq!(table.pick(&[a, b]), a, "only a has free workers");
        }
        (table, a, b)
    }

    #[test]
    fn picks_follow_free_workers_and_consume_them() {
        // Once a's free workers are used up, picks lean on past use, where a leads 3 to 1: the
        // next pick is a three times in four. (Each pick adds to past use, so successive picks
        // on one table reinforce whoever wins early; fresh tables measure the bias itself.)
        let mut got_a = 0;
        for _ in 0..400 {
            let (table, a, b) = table_after_a_ran_out();
            if table.pick(&[a, b]) == a {
                got_a += 1;
            }
        }
        assert!(
            (240..=360).contains(&got_a),
            "past use favours a: {got_a}/400"
        );
    }

    #[test]
    fn silent_nodes_age_out() {
        let table = StatsTable::default();
        let a = node("10.0.0.1:80");
        table.set_members(&[a]);
        table.lock().entry(a).or_default().heard = Instant::now().checked_sub(STATS_MAX_AGE * 2);
        table.lock().entry(a).or_default().free = 10;
        table.pick(&[a]);
        assert_eq!(
            table.lock().get(&a).map(|c| c.free),
            Some(10),
            "stale free is not consumed"
        );
    }
}
