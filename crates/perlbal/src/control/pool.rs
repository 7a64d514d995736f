//! Pools (POOL-*): ordered IPv4 node lists with per-node use counters, `POOL ADD/REMOVE`, the
//! `nodefile` they may be loaded from, and the `nodefile`/`balance_method` keys a service
//! forwards to its pool (auto-vivifying `<service>_pool`, POOL-8).

use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::SystemTime;

use perlbal_config::command::PoolAction;
use perlbal_config::{CommandError, PoolParam, Setting, TunableValue};

use super::state::State;
use crate::backend::stats_listener::{StatsListener, StatsTable};
use crate::service::NodeUsage;

/// One pool.
#[derive(Debug)]
pub struct PoolState {
    pub name: String,
    pub nodes: Vec<SocketAddrV4>,
    /// Requests assigned per node (RP-12), counted by the data path.
    pub usage: Arc<NodeUsage>,
    /// Services whose `pool` is this one.
    pub use_count: usize,
    pub nodefile: Option<Nodefile>,
    /// `balance_method = sendstats` (else random).
    pub sendstats: bool,
    /// Announced capacity of the nodes, for `sendstats`.
    pub stats: Arc<StatsTable>,
    /// The UDP socket announcements arrive on (`sendstats.listen`).
    pub stats_listener: Option<StatsListener>,
}

/// The node file a pool was loaded from (POOL-3), watched for changes (POOL-4).
#[derive(Debug, Clone)]
pub struct Nodefile {
    pub path: PathBuf,
    modified: Option<SystemTime>,
    /// When the data path last asked for a re-check (Unix seconds), shared with it.
    pub checked: Arc<AtomicU64>,
}

/// How often a node file is looked at again, at most (POOL-4).
pub const NODEFILE_RECHECK_SECONDS: u64 = 3;

/// Re-reads `pool`'s node file if it changed since it was loaded. True if the nodes changed.
pub fn refresh_nodefile(state: &mut State, pool: &str) -> bool {
    let Some(pool) = state.pools.get_mut(pool) else {
        return false;
    };
    let Some(nodefile) = pool.nodefile.as_mut() else {
        return false;
    };
    let modified = nodefile.path.metadata().and_then(|m| m.modified()).ok();
    if modified.is_none() || modified == nodefile.modified {
        return false;
    }
    nodefile.modified = modified;
    let Ok(text) = std::fs::read_to_string(&nodefile.path) else {
        return false;
    };
    pool.load_nodes(&text);
    true
}

impl PoolState {
    pub fn new(name: &str) -> PoolState {
        PoolState {
            name: name.to_string(),
            nodes: Vec::new(),
            usage: Arc::new(NodeUsage::default()),
            use_count: 0,
            nodefile: None,
            sendstats: false,
            stats: Arc::new(StatsTable::default()),
            stats_listener: None,
        }
    }

    /// `POOL ADD|REMOVE` (CFG-18): add moves an existing node to the end with a fresh counter.
    pub fn apply(&mut self, action: PoolAction, node: SocketAddrV4) {
        self.nodes.retain(|n| *n != node);
        self.usage.forget(&node);
        if action == PoolAction::Add {
            self.usage.reset(node);
            self.nodes.push(node);
        }
        self.stats.set_members(&self.nodes);
    }

    /// Replaces the nodes with those of a node file's text (POOL-3).
    fn load_nodes(&mut self, text: &str) {
        for old in &self.nodes {
            self.usage.forget(old);
        }
        self.nodes = parse_nodefile(text);
        for node in &self.nodes {
            self.usage.reset(*node);
        }
        self.stats.set_members(&self.nodes);
    }

    /// The use counter of a node.
    pub fn node_used(&self, node: &SocketAddrV4) -> u64 {
        self.usage.used(node)
    }
}

/// POOL-3: per line, text after `#` is ignored, and the first `a.b.c.d[:port]` found anywhere
/// on the line is a node (port 80 by default).
pub fn parse_nodefile(text: &str) -> Vec<SocketAddrV4> {
    text.lines()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or("");
            first_ipv4_node(line)
        })
        .collect()
}

/// Finds the first `\d+\.\d+\.\d+\.\d+(:\d+)?` in `line`.
fn first_ipv4_node(line: &str) -> Option<SocketAddrV4> {
    let bytes = line.as_bytes();
    (0..bytes.len())
        .filter(|&i| bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit()))
        .find_map(|start| node_at(&line[start..]))
}

/// Parses `a.b.c.d[:port]` at the start of `s`.
fn node_at(s: &str) -> Option<SocketAddrV4> {
    let mut end = 0;
    let mut dots = 0;
    let bytes = s.as_bytes();
    while end < bytes.len() && (bytes[end].is_ascii_digit() || (bytes[end] == b'.' && dots < 3)) {
        if bytes[end] == b'.' {
            dots += 1;
        }
        end += 1;
    }
    let ip: std::net::Ipv4Addr = s[..end].trim_end_matches('.').parse().ok()?;
    let rest = &s[end..];
    let port = rest
        .strip_prefix(':')
        .map(|p| p.bytes().take_while(u8::is_ascii_digit).count())
        .filter(|&len| len > 0)
        .and_then(|len| rest[1..=len].parse::<u16>().ok())
        .filter(|&p| p != 0)
        .unwrap_or(80);
    Some(SocketAddrV4::new(ip, port))
}

/// `SET <pool>.<key> = <value>` (POOL-2..7).
pub fn set_pool(state: &mut State, pool: &str, key: &str, value: &str) -> Result<(), CommandError> {
    let param = PoolParam::parse(key, value)?;
    let Some(pool) = state.pools.get_mut(pool) else {
        return Err(CommandError::PoolNotFound(pool.into()));
    };
    match param {
        PoolParam::NoNodefile => pool.nodefile = None,
        PoolParam::BalanceRandom => pool.sendstats = false,
        PoolParam::BalanceSendstats => pool.sendstats = true,
        PoolParam::NoSendstatsListen => pool.stats_listener = None,
        PoolParam::SendstatsListen(addr) => {
            if pool
                .stats_listener
                .as_ref()
                .is_some_and(|l| l.addr() == addr)
            {
                return Ok(());
            }
            // Release the old port first: it may be the same port on another address.
            pool.stats_listener = None;
            let listener = StatsListener::start(addr, Arc::clone(&pool.stats), &pool.name)
                .map_err(|e| {
                    CommandError::Other(format!(
                        "Can't listen for stats on {addr}: {}",
                        crate::listener::os_error_text(&e)
                    ))
                })?;
            pool.stats_listener = Some(listener);
        }
        PoolParam::Nodefile(path) => {
            let path = PathBuf::from(path);
            if !path.exists() {
                return Err(CommandError::NodefileNotFound);
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let modified = path.metadata().and_then(|m| m.modified()).ok();
            pool.load_nodes(&text);
            pool.nodefile = Some(Nodefile {
                path,
                modified,
                checked: Arc::new(AtomicU64::new(crate::registry::unix_now())),
            });
        }
    }
    Ok(())
}

/// `nodefile`/`balance_method` set on a service: forwarded to its pool, which is created as
/// `<service>_pool` when the service has none and no pool was ever created by hand (POOL-8).
pub fn set_on_service_pool(
    state: &mut State,
    service: &str,
    key: &str,
    value: &str,
) -> Result<(), CommandError> {
    let (current, is_proxy) = match state.services.get(service) {
        Some(s) => (
            s.stored("pool").map(str::to_string),
            s.role_name() == Some("reverse_proxy"),
        ),
        None => (None, false),
    };
    let pool = match current {
        Some(pool) => pool,
        None => {
            if !state.vivify_pools {
                return Err(CommandError::VivifyPoolConflict {
                    service: service.into(),
                    key: key.into(),
                });
            }
            let name = format!("{service}_pool");
            state
                .pools
                .entry(name.clone())
                .or_insert_with(|| PoolState::new(&name));
            // Only a reverse_proxy can take the pool; otherwise it is created but unassigned.
            if !is_proxy {
                eprint!("{}", perlbal_config::vivified_pool_warning(service, key));
                return Err(CommandError::NoPoolDefined);
            }
            if let Some(svc) = state.services.get_mut(service) {
                svc.settings.insert(
                    "pool",
                    Setting {
                        value: TunableValue::Pool(name.clone()),
                        stored: name.clone(),
                    },
                );
            }
            recount_pool_users(state);
            name
        }
    };
    if state.vivify_pools {
        eprint!("{}", perlbal_config::vivified_pool_warning(service, key));
    }
    set_pool(state, &pool, key, value)
}

/// Recomputes how many services use each pool.
pub fn recount_pool_users(state: &mut State) {
    for pool in state.pools.values_mut() {
        pool.use_count = 0;
    }
    let users: Vec<String> = state
        .services
        .values()
        .filter(|s| s.role_name() == Some("reverse_proxy"))
        .filter_map(|s| s.stored("pool").map(str::to_string))
        .collect();
    for name in users {
        if let Some(pool) = state.pools.get_mut(&name) {
            pool.use_count += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(s: &str) -> SocketAddrV4 {
        match s.parse() {
            Ok(n) => n,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn nodefile_lines_pool_3() {
        let text = "# whitespace and comments allowed\n\n10.1.0.10    # test machine\n\
                    #10.1.0.10:8083    # test machine\n  host 10.0.0.5:8081 extra\n\
                    # 10.1.0.4:80\nnothing here\n";
        assert_eq!(
            parse_nodefile(text),
            vec![node("10.1.0.10:80"), node("10.0.0.5:8081")]
        );
    }

    #[test]
    fn add_moves_a_node_to_the_end_and_remove_forgets_it_cfg_18() {
        let mut pool = PoolState::new("p");
        pool.apply(PoolAction::Add, node("10.0.0.1:80"));
        pool.apply(PoolAction::Add, node("10.0.0.2:80"));
        pool.usage.mark_used(node("10.0.0.1:80"));
        pool.apply(PoolAction::Add, node("10.0.0.1:80"));
        assert_eq!(pool.nodes, vec![node("10.0.0.2:80"), node("10.0.0.1:80")]);
        assert_eq!(pool.node_used(&node("10.0.0.1:80")), 0);
        pool.apply(PoolAction::Remove, node("10.0.0.9:80"));
        pool.apply(PoolAction::Remove, node("10.0.0.2:80"));
        assert_eq!(pool.nodes, vec![node("10.0.0.1:80")]);
    }
}
