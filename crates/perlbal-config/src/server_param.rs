//! `SERVER <key> = <value>` (SRV-1..9, CFG-23): process-wide settings, checked and typed.
//!
//! What needs the running process (setrlimit, nice, "has the loop started") is left to the
//! server; the errors for those live in [`CommandError`] too.

use crate::error::CommandError;
use crate::text::{digit_len, greedy_assignment};

/// How disk operations run (SRV-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AioMode {
    /// Synchronous file operations in the event loop.
    None,
    /// Asynchronous file operations on worker threads (`ioaio`).
    IoAio,
    /// Linux kernel AIO (`linux`). The original refuses it since Linux::AIO was dropped; we
    /// accept it, as every mode maps onto the server's own non-blocking disk I/O (SRV-5).
    Linux,
}

/// One checked `SERVER` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerParam {
    /// `max_reproxy_connections[(<host>)] = <n>` (SRV-1, SRV-2): the global cap when `host` is
    /// `None`, otherwise the cap for that `ip:port`. 0 means unlimited.
    MaxReproxyConnections { host: Option<String>, limit: i64 },
    /// `max_connections = <n>`: RLIMIT_NOFILE soft and hard (SRV-3).
    MaxConnections(i64),
    /// `nice_level = <n>`: increment passed to `nice()` (SRV-4).
    NiceLevel(i64),
    /// `aio_mode = none|ioaio` (SRV-5).
    AioMode(AioMode),
    /// `aio_threads = <n>`: minimum AIO worker threads (SRV-6).
    AioThreads(i64),
    /// `track_obj = 0|1` (SRV-7).
    TrackObj(bool),
    /// `pidfile = <path>` (SRV-8, PROC-4). `None` when the value is `0`, which the original
    /// refuses with [`CommandError::PidfileExpected`] — but only after its own "has the event
    /// loop started" check ([`CommandError::PidfileAfterStart`]), so the server checks in that
    /// order.
    Pidfile(Option<String>),
    /// `crash_backtrace = 0|1` (SRV-9).
    CrashBacktrace(bool),
}

const KEY_MAX_REPROXY: &str = "max_reproxy_connections";

impl ServerParam {
    /// Parses the text after `server ` (CFG-23): `<key> ?= ?<value>`. `Ok(None)` means the line
    /// is not an assignment at all (`Invalid syntax to 'server' command`).
    pub(crate) fn parse_assignment(args: &str) -> Option<Result<ServerParam, CommandError>> {
        let (key, value) = greedy_assignment(args)?;
        Some(Self::parse(key, value))
    }

    /// Checks one key and value.
    pub fn parse(key: &str, value: &str) -> Result<ServerParam, CommandError> {
        // The original matches this key without anchoring its end (SRV-2).
        if let Some(rest) = key.strip_prefix(KEY_MAX_REPROXY) {
            let limit = numeric(value)?;
            return Ok(ServerParam::MaxReproxyConnections {
                host: reproxy_host(rest),
                limit,
            });
        }
        match key {
            "max_connections" => numeric(value).map(ServerParam::MaxConnections),
            "nice_level" => numeric(value).map(ServerParam::NiceLevel),
            "aio_mode" => aio_mode(value).map(ServerParam::AioMode),
            "aio_threads" => numeric(value).map(ServerParam::AioThreads),
            "track_obj" => one_or_zero(value).map(ServerParam::TrackObj),
            "pidfile" => Ok(ServerParam::Pidfile(
                (value != "0").then(|| value.to_owned()),
            )),
            "crash_backtrace" => one_or_zero(value).map(ServerParam::CrashBacktrace),
            _ => Err(CommandError::UnknownServerOption(value.to_owned())),
        }
    }
}

/// `(?:\((.+)\))?` after the key: everything up to the last `)`, if non-empty.
fn reproxy_host(rest: &str) -> Option<String> {
    let inner = rest.strip_prefix('(')?;
    let close = inner.rfind(')')?;
    (close > 0).then(|| inner[..close].to_owned())
}

/// `^-?\d+$`, saturating at the `i64` range.
fn numeric(value: &str) -> Result<i64, CommandError> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || digit_len(digits) != digits.len() {
        return Err(CommandError::ExpectedNumeric);
    }
    Ok(value.parse().unwrap_or(if value.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    }))
}

fn one_or_zero(value: &str) -> Result<bool, CommandError> {
    match value {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(CommandError::ExpectedOneOrZero),
    }
}

/// The original's check is `^none|linux|ioaio$` (an unanchored alternation), so `nonesuch` is
/// accepted and then behaves like `none`.
fn aio_mode(value: &str) -> Result<AioMode, CommandError> {
    let accepted = value.starts_with("none") || value.contains("linux") || value.ends_with("ioaio");
    match value {
        _ if !accepted => Err(CommandError::UnknownAioMode),
        "linux" => Ok(AioMode::Linux),
        "ioaio" => Ok(AioMode::IoAio),
        _ => Ok(AioMode::None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assign(args: &str) -> Option<Result<ServerParam, CommandError>> {
        ServerParam::parse_assignment(args)
    }

    #[test]
    fn max_reproxy_connections_global_and_per_host() {
        assert_eq!(
            ServerParam::parse("max_reproxy_connections", "5"),
            Ok(ServerParam::MaxReproxyConnections {
                host: None,
                limit: 5
            })
        );
        // SRV-2: the original clobbers the host capture and sets the global cap; we do not.
        assert_eq!(
            ServerParam::parse("max_reproxy_connections(127.0.0.1:18084)", "2"),
            Ok(ServerParam::MaxReproxyConnections {
                host: Some("127.0.0.1:18084".into()),
                limit: 2
            })
        );
        assert_eq!(
            ServerParam::parse("max_reproxy_connections(a)(b)", "-1"),
            Ok(ServerParam::MaxReproxyConnections {
                host: Some("a)(b".into()),
                limit: -1
            })
        );
        assert_eq!(
            ServerParam::parse("max_reproxy_connectionsxyz", "0"),
            Ok(ServerParam::MaxReproxyConnections {
                host: None,
                limit: 0
            })
        );
        assert_eq!(
            ServerParam::parse("max_reproxy_connections()", "0"),
            Ok(ServerParam::MaxReproxyConnections {
                host: None,
                limit: 0
            })
        );
        assert_eq!(
            ServerParam::parse("max_reproxy_connections", "x"),
            Err(CommandError::ExpectedNumeric)
        );
    }

    #[test]
    fn numeric_keys_take_signed_integers() {
        assert_eq!(
            ServerParam::parse("max_connections", "-3"),
            Ok(ServerParam::MaxConnections(-3))
        );
        assert_eq!(
            ServerParam::parse("nice_level", "5"),
            Ok(ServerParam::NiceLevel(5))
        );
        assert_eq!(
            ServerParam::parse("aio_threads", "10"),
            Ok(ServerParam::AioThreads(10))
        );
        assert_eq!(
            ServerParam::parse("aio_threads", "99999999999999999999"),
            Ok(ServerParam::AioThreads(i64::MAX))
        );
        for bad in ["x", "-", "1.5", "+1", ""] {
            assert_eq!(
                ServerParam::parse("nice_level", bad),
                Err(CommandError::ExpectedNumeric)
            );
            assert_eq!(
                ServerParam::parse("max_connections", bad),
                Err(CommandError::ExpectedNumeric)
            );
            assert_eq!(
                ServerParam::parse("aio_threads", bad),
                Err(CommandError::ExpectedNumeric)
            );
        }
    }

    #[test]
    fn aio_mode_keeps_unanchored_alternation_quirk() {
        assert_eq!(
            ServerParam::parse("aio_mode", "none"),
            Ok(ServerParam::AioMode(AioMode::None))
        );
        assert_eq!(
            ServerParam::parse("aio_mode", "ioaio"),
            Ok(ServerParam::AioMode(AioMode::IoAio))
        );
        assert_eq!(
            ServerParam::parse("aio_mode", "nonesuch"),
            Ok(ServerParam::AioMode(AioMode::None))
        );
        assert_eq!(
            ServerParam::parse("aio_mode", "xioaio"),
            Ok(ServerParam::AioMode(AioMode::None))
        );
        assert_eq!(
            ServerParam::parse("aio_mode", "linux"),
            Ok(ServerParam::AioMode(AioMode::Linux))
        );
        assert_eq!(
            ServerParam::parse("aio_mode", "linuxish"),
            Ok(ServerParam::AioMode(AioMode::None))
        );
        assert_eq!(
            ServerParam::parse("aio_mode", "foo"),
            Err(CommandError::UnknownAioMode)
        );
    }

    #[test]
    fn one_or_zero_keys() {
        assert_eq!(
            ServerParam::parse("track_obj", "1"),
            Ok(ServerParam::TrackObj(true))
        );
        assert_eq!(
            ServerParam::parse("track_obj", "0"),
            Ok(ServerParam::TrackObj(false))
        );
        assert_eq!(
            ServerParam::parse("track_obj", "2"),
            Err(CommandError::ExpectedOneOrZero)
        );
        assert_eq!(
            ServerParam::parse("crash_backtrace", "1"),
            Ok(ServerParam::CrashBacktrace(true))
        );
        assert_eq!(
            ServerParam::parse("crash_backtrace", "yes"),
            Err(CommandError::ExpectedOneOrZero)
        );
    }

    #[test]
    fn pidfile_zero_is_flagged_for_server() {
        assert_eq!(
            ServerParam::parse("pidfile", "/var/run/Perlbal.pid"),
            Ok(ServerParam::Pidfile(Some("/var/run/Perlbal.pid".into())))
        );
        assert_eq!(
            ServerParam::parse("pidfile", "0"),
            Ok(ServerParam::Pidfile(None))
        );
    }

    #[test]
    fn unknown_key_echoes_value_not_key() {
        assert_eq!(
            ServerParam::parse("foo", "bar"),
            Err(CommandError::UnknownServerOption("bar".into()))
        );
        assert_eq!(
            CommandError::UnknownServerOption("bar".into()).to_string(),
            "unknown server option 'bar'"
        );
    }

    #[test]
    fn assignment_forms() {
        assert_eq!(assign("track_obj=1"), Some(Ok(ServerParam::TrackObj(true))));
        assert_eq!(
            assign("track_obj = 1"),
            Some(Ok(ServerParam::TrackObj(true)))
        );
        assert_eq!(assign("foo"), None);
        assert_eq!(
            assign("a=b=c"),
            Some(Err(CommandError::UnknownServerOption("c".into())))
        );
    }
}
