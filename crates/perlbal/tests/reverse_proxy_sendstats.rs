//! The StatsListener (issue: `balance_method = sendstats`), which Perl Perlbal 1.80 no longer
//! has: backends announce free workers over UDP with `perlbal-sendstats`, and new backend
//! connections go to the nodes with spare capacity. Ours only.

mod support;

use std::process::Command;
use std::time::Duration;

use support::configs::MGMT;
use support::proxy::{eventually, Rig};
use support::{free_port, is_reference, Kind};

/// Two nodes on 127.0.0.1; no backend persistence, so every request opens a new connection
/// and goes through a node pick.
fn template(stats_port: u16) -> String {
    format!(
        "{MGMT}CREATE POOL backends
  POOL backends ADD 127.0.0.1:{{busy_port}}
  POOL backends ADD 127.0.0.1:{{idle_port}}
  SET balance_method = sendstats
  SET backends.sendstats.listen = 127.0.0.1:{stats_port}
CREATE SERVICE proxy
  SET role = reverse_proxy
  SET listen = 127.0.0.1:{{proxy_port}}
  SET pool = backends
ENABLE proxy
"
    )
}

fn announce(stats_port: u16, node_port: u16, free: u64, active: u64) {
    let status = Command::new(env!("CARGO_BIN_EXE_perlbal-sendstats"))
        .args(["--to", &format!("127.0.0.1:{stats_port}")])
        .args(["--port", &node_port.to_string()])
        .args(["--free", &free.to_string(), "--active", &active.to_string()])
        .arg("--once")
        .status()
        .expect("running perlbal-sendstats");
    assert!(status.success(), "perlbal-sendstats failed: {status}");
}

#[test]
fn new_connections_go_to_nodes_announcing_free_workers() {
    if is_reference() {
        return; // Perl Perlbal 1.80 has no StatsListener.
    }
    let stats_port = free_port();
    let rig = Rig::launch(Kind::UnderTest, &template(stats_port))
        .backend("busy", Default::default())
        .backend("idle", Default::default())
        .start();
    let (busy, idle) = (rig.named("busy").port(), rig.named("idle").port());
    announce(stats_port, busy, 0, 20);
    announce(stats_port, idle, 50, 2);
    let mut m = rig.mgmt();
    let heard = eventually(Duration::from_secs(3), || {
        m.listing("sendstats")
            .iter()
            .any(|l| l.contains(&format!("127.0.0.1:{idle} free=50 active=2 heard=")))
    });
    assert!(heard, "{:?}", m.listing("sendstats"));
    for _ in 0..20 {
        assert_eq!(rig.get("/hello").status(), 200);
    }
    assert_eq!(
        rig.named("busy").request_count(),
        0,
        "the busy node got no connection"
    );
    assert_eq!(rig.named("idle").request_count(), 20);
    let lines = m.listing("sendstats");
    assert!(
        lines.iter().any(
            |l| l.starts_with(&format!("backends 127.0.0.1:{idle} free=30 active=2"))
                && l.ends_with("uses=20")
        ),
        "each pick consumes one announced worker: {lines:?}"
    );
    assert!(
        m.command("dumpconfig")
            .iter()
            .any(|l| l == &format!("  SET backends.sendstats.listen = 127.0.0.1:{stats_port}")),
        "dumpconfig keeps the setting"
    );
}

#[test]
fn announcements_from_non_members_are_ignored_and_bad_settings_refused() {
    if is_reference() {
        return;
    }
    let stats_port = free_port();
    let rig = Rig::launch(Kind::UnderTest, &template(stats_port))
        .backend("busy", Default::default())
        .backend("idle", Default::default())
        .start();
    announce(stats_port, 1, 99, 0); // no node listens on port 1
    std::thread::sleep(Duration::from_millis(300));
    let mut m = rig.mgmt();
    assert!(
        m.listing("sendstats").iter().all(|l| l.contains("free=0 ")),
        "{:?}",
        m.listing("sendstats")
    );
    assert_eq!(
        m.one_line("set backends.balance_method = leastconn"),
        "ERROR: Unknown balance method"
    );
    assert_eq!(
        m.one_line("set backends.sendstats.listen = nowhere"),
        "ERROR: sendstats.listen must be ip:port"
    );
}
