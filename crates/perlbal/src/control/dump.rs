//! `dumpconfig` (MGMT-36): pools, then services, as commands. Like the original's, the output
//! is not a complete, re-loadable config (CFG-28): `LOAD`, `HEADER`, `DEFAULT` and `SERVER`
//! lines are not part of it.

use super::output::Output;
use super::state::State;

pub fn dumpconfig(state: &State, out: &mut Output) {
    for pool in state.pools.values() {
        out.line(format!("CREATE POOL {}", pool.name));
        match &pool.nodefile {
            Some(nodefile) => out.line(format!("  SET nodefile = {}", nodefile.path.display())),
            None => {
                for node in &pool.nodes {
                    out.line(format!("  POOL ADD {} {node}", pool.name));
                }
            }
        }
        if pool.sendstats {
            out.line("  SET balance_method = sendstats");
        }
        if let Some(listener) = &pool.stats_listener {
            // With its pool named: `SET sendstats.listen` alone would name object `sendstats`.
            out.line(format!(
                "  SET {}.sendstats.listen = {}",
                pool.name,
                listener.addr()
            ));
        }
        out.line("");
    }
    for svc in state.services.values() {
        out.line(format!("CREATE SERVICE {}", svc.name));
        let role = svc.role_name();
        for tunable in perlbal_config::tunables() {
            if let Some(line) = tunable.dump_line(role, svc.stored(tunable.name)) {
                out.line(format!("  {line}"));
            }
        }
        for plugin in &svc.plugins {
            out.line(format!(
                "  # Plugin '{plugin}' isn't capable of dumping config."
            ));
        }
        let verb = if svc.enabled { "ENABLE" } else { "DISABLE" };
        out.line(format!("{verb} {}", svc.name));
        out.line("");
    }
}
