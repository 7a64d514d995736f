//! Value checking per [`ValueKind`], with the original's messages.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use super::netmask::parse_netmask_list;
use super::{Role, Setting, Tunable, TunableValue, ValueKind};
use crate::error::CommandError;
use crate::text::is_digits;
use crate::value::{
    parse_bool, parse_int, parse_size, perl_numify, perl_truthy, split_commas,
    split_words_and_commas,
};

const LISTEN_MESSAGE: &str = "Listen argument must be ip:port or port. e.g. 192.168.0.1:80 or 81";
const PERCENT_MESSAGE: &str = "Expecting integer value between 0 and 100, inclusive.";
const IP_PORT_MESSAGE: &str = "Expecting IP:port of form a.b.c.d:port.";
const LOG_EVENTS_MESSAGE: &str = "log_events is a comma-separated list of loggable events";
const LOG_EVENT_TOKENS: [&str; 11] = [
    "ban",
    "unban",
    "whitelisted",
    "blacklisted",
    "concurrent",
    "throttled",
    "banned",
    "all",
    "none",
    " ",
    ",",
];

pub(super) fn parse_value(t: &Tunable, raw: &str, service: &str) -> Result<Setting, CommandError> {
    let key = || t.name.to_owned();
    let as_typed = |value| {
        Ok(Setting {
            value,
            stored: raw.to_owned(),
        })
    };
    match t.kind {
        ValueKind::Bool => {
            let b = parse_bool(raw).ok_or_else(|| CommandError::ExpectingBoolean(key()))?;
            Ok(Setting {
                value: TunableValue::Bool(b),
                stored: if b { "1" } else { "0" }.into(),
            })
        }
        ValueKind::Int => {
            let n = parse_int(raw).ok_or_else(|| CommandError::ExpectingInteger(key()))?;
            as_typed(TunableValue::Int(n))
        }
        ValueKind::Size => {
            let size = parse_size(raw).ok_or_else(|| CommandError::ExpectingSize(key()))?;
            Ok(Setting {
                value: TunableValue::Size(size.bytes),
                stored: size.stored,
            })
        }
        ValueKind::Text => as_typed(TunableValue::Text(raw.to_owned())),
        ValueKind::Enum(allowed) if allowed.contains(&raw) => {
            as_typed(TunableValue::Text(raw.to_owned()))
        }
        ValueKind::Enum(allowed) => Err(CommandError::NotOneOf {
            key: key(),
            allowed,
        }),
        ValueKind::Role if !perl_truthy(raw) => Err(CommandError::EmptyRole),
        ValueKind::Role => as_typed(TunableValue::Role(Role::from_name(raw))),
        ValueKind::Listen => as_typed(TunableValue::Listen(listen(raw)?)),
        ValueKind::Percent => as_typed(TunableValue::Percent(percent(raw)?)),
        ValueKind::Netmasks => parse_netmask_list(raw)
            .map_err(CommandError::TrustedUpstreamProxies)
            .and_then(|nets| as_typed(TunableValue::Netmasks(nets))),
        ValueKind::UdpEndpoints => as_typed(TunableValue::UdpEndpoints(udp_endpoints(raw)?)),
        ValueKind::RetrySchedule => as_typed(TunableValue::RetrySchedule(retry_schedule(raw))),
        ValueKind::WordList => {
            let words = split_words_and_commas(raw);
            let stored = words.join(", ");
            let value = TunableValue::WordList(words.into_iter().map(str::to_owned).collect());
            Ok(Setting { value, stored })
        }
        ValueKind::MaxBackendUses => as_typed(TunableValue::MaxBackendUses(max_uses(raw))),
        ValueKind::IpPort if is_loose_ip_port(raw) => as_typed(TunableValue::Text(raw.to_owned())),
        ValueKind::IpPort => Err(CommandError::Invalid(IP_PORT_MESSAGE)),
        ValueKind::LogEvents if is_log_events(raw) => as_typed(TunableValue::Text(raw.to_owned())),
        ValueKind::LogEvents => Err(CommandError::Invalid(LOG_EVENTS_MESSAGE)),
        // These three refuse a false value outright, whatever the file system says.
        ValueKind::Docroot | ValueKind::UploadsDirectory | ValueKind::Executable
            if !perl_truthy(raw) =>
        {
            Err(external_failure(t, raw, service))
        }
        ValueKind::File
        | ValueKind::Directory
        | ValueKind::Docroot
        | ValueKind::UploadsDirectory
        | ValueKind::Executable => as_typed(TunableValue::Path(raw.to_owned())),
        ValueKind::Pool => as_typed(TunableValue::Pool(raw.to_owned())),
        ValueKind::Service => as_typed(TunableValue::Service(raw.to_owned())),
    }
}

pub(super) fn external_failure(t: &Tunable, raw: &str, service: &str) -> CommandError {
    let value = raw.to_owned();
    match t.kind {
        ValueKind::File => CommandError::FileNotFound {
            value,
            key: t.name.to_owned(),
        },
        ValueKind::Docroot => CommandError::DocrootNotFound {
            service: service.to_owned(),
        },
        ValueKind::UploadsDirectory => CommandError::BufferUploadsPathNotFound {
            value,
            service: service.to_owned(),
        },
        ValueKind::Executable => CommandError::ServerProcessNotExecutable(value),
        ValueKind::Pool => CommandError::PoolNotFound(value),
        ValueKind::Service => CommandError::DefaultServiceNotFound,
        _ => CommandError::DirectoryNotFound {
            value,
            key: t.name.to_owned(),
        },
    }
}

/// `^(\d+\.\d+\.\d+\.\d+:)?\d+$`, then a real address: `0` means "not listening".
fn listen(raw: &str) -> Result<Option<SocketAddrV4>, CommandError> {
    if raw == "0" {
        return Ok(None);
    }
    let invalid = || CommandError::Invalid(LISTEN_MESSAGE);
    let (ip, port) = match raw.rsplit_once(':') {
        Some((ip, port)) if is_dotted_quad(ip) => (ip.parse().map_err(|_| invalid())?, port),
        Some(_) => return Err(invalid()),
        None => (Ipv4Addr::UNSPECIFIED, raw),
    };
    if !is_digits(port) {
        return Err(invalid());
    }
    let port = port.parse().map_err(|_| invalid())?;
    Ok(Some(SocketAddrV4::new(ip, port)))
}

/// `\d+\.\d+\.\d+\.\d+`
fn is_dotted_quad(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| is_digits(p))
}

/// `^\d+\.\d+\.\d+\.\d+:\d+$`
fn is_loose_ip_port(s: &str) -> bool {
    s.rsplit_once(':')
        .is_some_and(|(ip, port)| is_dotted_quad(ip) && is_digits(port))
}

fn percent(raw: &str) -> Result<u8, CommandError> {
    parse_int(raw)
        .filter(|&n| n <= 100)
        .and_then(|n| u8::try_from(n).ok())
        .ok_or(CommandError::Invalid(PERCENT_MESSAGE))
}

/// Items that are false (`""`, `0`) are skipped, as the original does.
fn udp_endpoints(raw: &str) -> Result<Vec<SocketAddrV4>, CommandError> {
    split_commas(raw)
        .into_iter()
        .filter(|item| perl_truthy(item))
        .map(|item| {
            let invalid = || CommandError::InvalidUdpEndpoint(item.to_owned());
            let (ip, port) = item.rsplit_once(':').ok_or_else(invalid)?;
            if !is_dotted_quad(ip) || !is_digits(port) {
                return Err(invalid());
            }
            let ip: Ipv4Addr = ip.parse().map_err(|_| invalid())?;
            Ok(SocketAddrV4::new(ip, port.parse().map_err(|_| invalid())?))
        })
        .collect()
}

/// Never refused: each item is read as a number of seconds (non-numbers as 0).
fn retry_schedule(raw: &str) -> Vec<Duration> {
    split_commas(raw)
        .into_iter()
        .map(|item| {
            let secs = perl_numify(item);
            Duration::try_from_secs_f64(secs).unwrap_or(if secs > 0.0 {
                Duration::MAX
            } else {
                Duration::ZERO
            })
        })
        .collect()
}

/// A false value means unlimited; anything else is read as a number (non-numbers as 0, which
/// closes a backend connection after every request, as the original does).
fn max_uses(raw: &str) -> Option<u64> {
    if !perl_truthy(raw) {
        return None;
    }
    let n = perl_numify(raw);
    // Saturating float-to-int conversion; NaN and negatives become 0.
    Some(if n.is_nan() || n <= 0.0 { 0 } else { n as u64 })
}

/// Throttle's `^(ban|unban|...|none| |,)+$`.
fn is_log_events(raw: &str) -> bool {
    // reachable[i]: raw[..i] is a sequence of tokens.
    let mut reachable = vec![false; raw.len() + 1];
    reachable[0] = true;
    for start in 0..raw.len() {
        if !reachable[start] {
            continue;
        }
        for token in LOG_EVENT_TOKENS {
            if raw[start..].starts_with(token) {
                reachable[start + token.len()] = true;
            }
        }
    }
    !raw.is_empty() && reachable[raw.len()]
}
