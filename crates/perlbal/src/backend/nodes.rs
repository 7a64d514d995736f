//! Process-wide statistics per backend node (`ip:port`), for pool nodes and reproxy targets
//! alike (STAT-2, MGMT-13), and the list of nodes whose verify failed (RP-9, MGMT-22).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddrV4;
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::registry::unix_now;

/// How many recent status codes are kept per node (RP-40).
const RECENT_CODES: usize = 500;

/// How long a node whose verify failed is connected to without verifying (RP-9).
pub const NOVERIFY_SECONDS: u64 = 60;

/// What is known about one node. Fields stay `None` until the event first happens, so `nodes`
/// lists only the keys the original would have.
#[derive(Debug, Default)]
struct NodeStat {
    attempts: Option<u64>,
    lastattempt: Option<u64>,
    connects: Option<u64>,
    lastconnect: Option<u64>,
    requests: Option<u64>,
    lastresponse: Option<u64>,
    verifies: Option<u64>,
    codes: VecDeque<u16>,
}

#[derive(Default)]
struct Nodes {
    stats: HashMap<SocketAddrV4, NodeStat>,
    /// Node → Unix time until which it is not verified.
    noverify: HashMap<SocketAddrV4, u64>,
}

fn nodes() -> MutexGuard<'static, Nodes> {
    static NODES: OnceLock<Mutex<Nodes>> = OnceLock::new();
    NODES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn bump(counter: &mut Option<u64>) {
    *counter = Some(counter.unwrap_or(0) + 1);
}

/// A connection attempt to `node` starts.
pub fn record_attempt(node: SocketAddrV4) {
    let mut n = nodes();
    let stat = n.stats.entry(node).or_default();
    bump(&mut stat.attempts);
    stat.lastattempt = Some(unix_now());
}

/// A connection attempt finished — successfully or not, as the original counts (MGMT-13 ⚠).
pub fn record_connect(node: SocketAddrV4) {
    let mut n = nodes();
    let stat = n.stats.entry(node).or_default();
    bump(&mut stat.connects);
    stat.lastconnect = Some(unix_now());
}

/// A verify OPTIONS succeeded.
pub fn record_verify(node: SocketAddrV4) {
    let mut n = nodes();
    let stat = n.stats.entry(node).or_default();
    bump(&mut stat.verifies);
    stat.lastresponse = Some(unix_now());
}

/// A response with `status` arrived from `node` (RP-40).
pub fn record_status(node: SocketAddrV4, status: u16) {
    let mut n = nodes();
    let codes = &mut n.stats.entry(node).or_default().codes;
    if codes.len() == RECENT_CODES {
        codes.pop_front();
    }
    codes.push_back(status);
}

/// A response from `node` was read completely.
pub fn record_request_done(node: SocketAddrV4) {
    let mut n = nodes();
    let stat = n.stats.entry(node).or_default();
    bump(&mut stat.requests);
    stat.lastresponse = Some(unix_now());
}

/// Verify failed: connect to `node` without verifying for the next minute (RP-9).
pub fn mark_noverify(node: SocketAddrV4) {
    nodes().noverify.insert(node, unix_now() + NOVERIFY_SECONDS);
}

/// Whether connections to `node` should skip verification now.
pub fn skips_verify(node: SocketAddrV4) -> bool {
    let mut n = nodes();
    match n.noverify.get(&node) {
        Some(&until) if until >= unix_now() => true,
        Some(_) => {
            n.noverify.remove(&node);
            false
        }
        None => false,
    }
}

/// `noverify` lines: `<ip:port> <seconds left>` (MGMT-22).
pub fn noverify_report() -> Vec<String> {
    let now = i128::from(unix_now());
    let n = nodes();
    let mut lines: Vec<String> = n
        .noverify
        .iter()
        .map(|(node, &until)| format!("{node} {}", i128::from(until) - now))
        .collect();
    lines.sort();
    lines
}

/// `nodes [<ip:port>]` lines (MGMT-13), sorted by node for a stable order.
pub fn report(only: Option<&str>) -> Vec<String> {
    let n = nodes();
    let sorted: BTreeMap<String, &NodeStat> = n
        .stats
        .iter()
        .map(|(node, stat)| (node.to_string(), stat))
        .filter(|(node, _)| only.is_none_or(|o| o == node))
        .collect();
    let mut lines = Vec::new();
    for (node, stat) in sorted {
        let scalars = [
            ("attempts", stat.attempts),
            ("lastattempt", stat.lastattempt),
            ("connects", stat.connects),
            ("lastconnect", stat.lastconnect),
            ("requests", stat.requests),
            ("lastresponse", stat.lastresponse),
            ("verifies", stat.verifies),
        ];
        for (key, value) in scalars {
            if let Some(value) = value {
                lines.push(format!("{node} {key} {value}"));
            }
        }
        let mut counts: BTreeMap<u16, u64> = BTreeMap::new();
        for code in &stat.codes {
            *counts.entry(*code).or_default() += 1;
        }
        for (code, count) in counts {
            lines.push(format!("{node} responsecodes {code} {count}"));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_lists_only_what_happened_mgmt_13() {
        let node: SocketAddrV4 = "10.9.8.7:81".parse().unwrap_or_else(|e| panic!("{e}"));
        record_attempt(node);
        record_connect(node);
        record_status(node, 200);
        record_status(node, 200);
        record_status(node, 204);
        let lines = report(Some("10.9.8.7:81"));
        assert!(lines.contains(&"10.9.8.7:81 attempts 1".to_string()));
        assert!(lines.contains(&"10.9.8.7:81 connects 1".to_string()));
        assert!(lines.contains(&"10.9.8.7:81 responsecodes 200 2".to_string()));
        assert!(lines.contains(&"10.9.8.7:81 responsecodes 204 1".to_string()));
        assert!(!lines.iter().any(|l| l.contains("verifies")));
        assert!(report(Some("10.9.8.7:82")).is_empty());
    }

    #[test]
    fn only_the_last_500_codes_are_kept_rp_40() {
        let node: SocketAddrV4 = "10.9.8.6:80".parse().unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..600 {
            record_status(node, 500);
        }
        assert_eq!(
            report(Some("10.9.8.6:80")),
            vec!["10.9.8.6:80 responsecodes 500 500".to_string()]
        );
    }

    #[test]
    fn noverify_expires_after_its_minute_rp_9() {
        let node: SocketAddrV4 = "10.9.8.5:80".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(!skips_verify(node));
        mark_noverify(node);
        assert!(skips_verify(node));
        assert!(noverify_report().contains(&"10.9.8.5:80 60".to_string()));
    }
}
