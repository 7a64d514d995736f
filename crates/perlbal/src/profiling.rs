//! `prof on|off|data` (MGMT-32): while profiling is on, the CPU time and number of calls of
//! each kind of event (`Perlbal::ClientHTTP-read`, …), measured with the thread's rusage.
//! Off (the default) it costs one relaxed atomic load per event.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::sys::{thread_cpu_times, CpuTimes};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Per event kind: user time, system time, calls.
static DATA: Mutex<BTreeMap<&'static str, (Duration, Duration, u64)>> = Mutex::new(BTreeMap::new());

/// Turns profiling on or off.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Measures one event from its creation until it is dropped.
pub struct Span {
    event: &'static str,
    start: Option<CpuTimes>,
}

/// Starts measuring an event of kind `event` (e.g. `Perlbal::ClientHTTP-read`).
pub fn span(event: &'static str) -> Span {
    let start = if ENABLED.load(Ordering::Relaxed) {
        thread_cpu_times().ok()
    } else {
        None
    };
    Span { event, start }
}

impl Drop for Span {
    fn drop(&mut self) {
        let Some(start) = self.start else {
            return;
        };
        let Ok(end) = thread_cpu_times() else {
            return;
        };
        let mut data = DATA.lock().unwrap_or_else(|e| e.into_inner());
        let entry = data.entry(self.event).or_default();
        entry.0 += end.user.saturating_sub(start.user);
        entry.1 += end.system.saturating_sub(start.system);
        entry.2 += 1;
    }
}

/// The `prof data` lines: `<event> <utime> <stime> <calls> <utime/call> <stime/call>`.
pub fn report() -> Vec<String> {
    let data = DATA.lock().unwrap_or_else(|e| e.into_inner());
    data.iter()
        .map(|(event, (user, system, calls))| {
            let (u, s) = (user.as_secs_f64(), system.as_secs_f64());
            let n = (*calls).max(1) as f64;
            format!("{event} {u:.5} {s:.5} {calls} {:.7} {:.7}", u / n, s / n)
        })
        .collect()
}
