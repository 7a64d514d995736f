//! Logging: the original's `Perlbal::log` lines (LOG-2) and our own diagnostics.
//!
//! In the foreground the original prints its log lines to stdout; we do the same, one flushed
//! line at a time (the original block-buffers when stdout is not a terminal — CLI-10 — so a
//! log file stays empty until exit; we do not reproduce that). Diagnostics of our own go through
//! `tracing` to stderr; their verbosity follows `PERLBAL_DEBUG` (0–4, CLI-11) or `RUST_LOG`.

use std::io::Write;

/// Writes one log line the way the original's `Perlbal::log` does in the foreground.
pub fn log(message: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{message}");
    let _ = out.flush();
}

/// The `PERLBAL_DEBUG` level (0 when unset or not a number).
pub fn debug_level() -> u8 {
    std::env::var("PERLBAL_DEBUG")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Installs the diagnostics subscriber (stderr).
pub fn init() {
    let default = match debug_level() {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
