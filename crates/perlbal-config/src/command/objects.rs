//! Commands that create and change services, pools and plugins: `create`, `use`, `set`,
//! `default`, `enable`/`disable`, `pool`, `header`, `load`/`unload`/`reload`, `server`.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::parse::invalid;
use super::{
    Command, HeaderAction, HeaderCommand, ObjectKind, PoolAction, PoolCommand, SetCommand,
};
use crate::error::CommandError;
use crate::lexer::Line;
use crate::server_param::ServerParam;
use crate::text::{
    assignment_value, is_space, is_word, is_word_str, loose_quad_with_port, space_len, spaced_rest,
    word_len,
};
use crate::value::perl_truthy;

const CREATE_USAGE: &str = "usage: CREATE {service|pool} <name>";
const USE_USAGE: &str = "usage: USE <service_or_pool_name>";
const SET_USAGE: &str = "usage: SET [<service>] <param> = <value>";
const DEFAULT_USAGE: &str = "usage: DEFAULT <param> = <value>";
const ENABLE_USAGE: &str = "Usage: {ENABLE|DISABLE} <service>";
const HEADER_USAGE: &str = "Usage: HEADER <service> {INSERT|REMOVE} <header>[: <value>]";

/// ` <word>$` — a single space, then one word to the end.
fn single_word(args: &str) -> Option<&str> {
    args.strip_prefix(' ').filter(|w| is_word_str(w))
}

/// `create (service|pool) (\w+)$`
pub(super) fn create(args: &str) -> Result<Command, CommandError> {
    let usage = || CommandError::Usage(CREATE_USAGE);
    let (kind, name) = args
        .strip_prefix(' ')
        .and_then(|r| r.split_once(' '))
        .ok_or_else(usage)?;
    let kind = match kind {
        "service" => ObjectKind::Service,
        "pool" => ObjectKind::Pool,
        _ => return Err(usage()),
    };
    if !is_word_str(name) {
        return Err(usage());
    }
    Ok(Command::Create {
        kind,
        name: name.to_owned(),
    })
}

/// `use (\w+)$`
pub(super) fn use_object(args: &str) -> Result<Command, CommandError> {
    let name = single_word(args).ok_or(CommandError::Usage(USE_USAGE))?;
    Ok(Command::Use {
        name: name.to_owned(),
    })
}

/// `set (?:(\w+)[. ])?([\w.]+) ?= ?(.+)$` (CFG-13). The optional target is only taken when the
/// rest still matches, so `set zz3 = x` has key `zz3`, and `set extra.foo = x` has target
/// `extra` (the original's quirk).
pub(super) fn set(args: &str) -> Result<Command, CommandError> {
    let usage = || CommandError::Usage(SET_USAGE);
    let rest = args.strip_prefix(' ').ok_or_else(usage)?;
    let name_len = word_len(rest);
    if name_len > 0 && matches!(rest.as_bytes().get(name_len), Some(b'.' | b' ')) {
        if let Some((key, value)) = key_assignment(&rest[name_len + 1..]) {
            let name = &rest[..name_len];
            // `$name ||= <context>`: a target named `0` falls back to the context.
            let target = perl_truthy(name).then(|| name.to_owned());
            return Ok(set_command(target, key, value));
        }
    }
    let (key, value) = key_assignment(rest).ok_or_else(usage)?;
    Ok(set_command(None, key, value))
}

fn set_command(target: Option<String>, key: &str, value: &str) -> Command {
    Command::Set(SetCommand {
        target,
        key: key.to_owned(),
        value: value.to_owned(),
    })
}

/// `([\w.]+) ?= ?(.+)$`
fn key_assignment(s: &str) -> Option<(&str, &str)> {
    let key_len = s
        .bytes()
        .take_while(|&b| is_word(char::from(b)) || b == b'.')
        .count();
    if key_len == 0 {
        return None;
    }
    assignment_value(&s[key_len..]).map(|value| (&s[..key_len], value))
}

/// `default (\w+) ?= ?(.+)$` (CFG-16)
pub(super) fn default(args: &str) -> Result<Command, CommandError> {
    let usage = || CommandError::Usage(DEFAULT_USAGE);
    let rest = args.strip_prefix(' ').ok_or_else(usage)?;
    let key_len = word_len(rest);
    let value = (key_len > 0)
        .then(|| assignment_value(&rest[key_len..]))
        .flatten()
        .ok_or_else(usage)?;
    Ok(Command::Default {
        key: rest[..key_len].to_owned(),
        value: value.to_owned(),
    })
}

/// `(disable|enable) (\w+)$` (CFG-17)
pub(super) fn enable_disable(word: &str, args: &str) -> Result<Command, CommandError> {
    let service = single_word(args)
        .ok_or(CommandError::Usage(ENABLE_USAGE))?
        .to_owned();
    Ok(if word == "enable" {
        Command::Enable { service }
    } else {
        Command::Disable { service }
    })
}

/// `pool (\w+) (\w+) (\d+.\d+.\d+.\d+)(?::(\d+))?$` (CFG-18): verb and pool name in either
/// order. The address must be a real IPv4 address; the original accepted anything its loose
/// pattern let through (`1x2x3x4`) and failed later, on connect.
pub(super) fn pool(args: &str) -> Result<Command, CommandError> {
    let syntax = || invalid("pool");
    let rest = args.strip_prefix(' ').ok_or_else(syntax)?;
    let (first, rest) = rest
        .split_once(' ')
        .filter(|(w, _)| is_word_str(w))
        .ok_or_else(syntax)?;
    let (second, rest) = rest
        .split_once(' ')
        .filter(|(w, _)| is_word_str(w))
        .ok_or_else(syntax)?;
    let (ip, port) = loose_quad_with_port(rest).ok_or_else(syntax)?;
    let (verb, name) = if is_pool_verb(second) {
        (second, first)
    } else {
        (first, second)
    };
    let action = match verb {
        "add" => PoolAction::Add,
        "remove" => PoolAction::Remove,
        _ => return Err(CommandError::PoolVerb),
    };
    let ip: Ipv4Addr = ip.parse().map_err(|_| syntax())?;
    let port = match port.map(str::parse::<u16>) {
        None | Some(Ok(0)) => 80,
        Some(Ok(port)) => port,
        Some(Err(_)) => return Err(syntax()),
    };
    Ok(Command::Pool(PoolCommand {
        action,
        pool: name.to_owned(),
        node: SocketAddrV4::new(ip, port),
    }))
}

fn is_pool_verb(word: &str) -> bool {
    word == "add" || word == "remove"
}

/// `header\s+(\w+)\s+(insert|remove)\s+(.+?)(?:\s*:\s*(.+))?$`, case-insensitive (CFG-19).
pub(super) fn header(args: &str) -> Result<Command, CommandError> {
    let usage = || CommandError::Usage(HEADER_USAGE);
    let rest = after_spaces(args).ok_or_else(usage)?;
    let service_len = word_len(rest);
    let service = &rest[..service_len];
    let rest = after_spaces(&rest[service_len..])
        .filter(|_| service_len > 0)
        .ok_or_else(usage)?;
    let (action, rest) = header_action(rest).ok_or_else(usage)?;
    let spec = spaced_rest(rest).ok_or_else(usage)?;
    let (name, value) = split_header_spec(spec);
    Ok(Command::Header(HeaderCommand {
        service: service.to_owned(),
        action,
        name: name.to_owned(),
        value: value.map(str::to_owned),
    }))
}

/// `\s+` followed by something: the text after the whitespace.
fn after_spaces(s: &str) -> Option<&str> {
    let n = space_len(s);
    (n > 0).then(|| &s[n..])
}

fn header_action(s: &str) -> Option<(HeaderAction, &str)> {
    let word = s.get(..6)?;
    let action = if word.eq_ignore_ascii_case("insert") {
        HeaderAction::Insert
    } else if word.eq_ignore_ascii_case("remove") {
        HeaderAction::Remove
    } else {
        return None;
    };
    Some((action, &s[6..]))
}

/// `(.+?)(?:\s*:\s*(.+))?$`: the name ends where the first `:` that has a value after it begins
/// (with the whitespace before that colon); without one, the whole text is the name.
fn split_header_spec(spec: &str) -> (&str, Option<&str>) {
    for (colon, _) in spec.match_indices(':').filter(|&(i, _)| i > 0) {
        if let Some(value) = colon_value(&spec[colon + 1..]) {
            let name_end = spec[..colon].trim_end_matches(is_space).len().max(1);
            return (&spec[..name_end], Some(value));
        }
    }
    (spec, None)
}

/// `\s*(.+)$` after the colon; `s` is already free of `\n` (it comes from [`spaced_rest`]).
fn colon_value(s: &str) -> Option<&str> {
    let n = space_len(s);
    if n < s.len() {
        Some(&s[n..])
    } else {
        // Only whitespace: `.+` takes the last character back.
        n.checked_sub(1).map(|last| &s[last..])
    }
}

/// `load \w+$` (CFG-20). The name comes from the text before expansion and lowercasing, so it
/// keeps the case it was typed in; when that text is not a plain `load <name>` (the name came
/// from `$VAR`), the expanded name is used.
pub(super) fn load(line: &Line, args: &str) -> Result<Command, CommandError> {
    let name = single_word(args).ok_or_else(|| invalid("load"))?;
    let original = line.original();
    let typed = original
        .get(..5)
        .filter(|w| w.eq_ignore_ascii_case("load "))
        .map(|_| &original[5..])
        .filter(|n| is_word_str(n))
        .unwrap_or(name);
    Ok(Command::Load {
        plugin: typed.to_owned(),
    })
}

/// `unload (\w+)$` / `reload (\w+)$` (CFG-21, CFG-22)
pub(super) fn unload_reload(word: &str, args: &str) -> Result<Command, CommandError> {
    let plugin = single_word(args).ok_or_else(|| invalid(word))?.to_owned();
    Ok(if word == "unload" {
        Command::Unload { plugin }
    } else {
        Command::Reload { plugin }
    })
}

/// `server (\S+) ?= ?(.+)$` (CFG-23)
pub(super) fn server(args: &str) -> Result<Command, CommandError> {
    let rest = args.strip_prefix(' ').ok_or_else(|| invalid("server"))?;
    match ServerParam::parse_assignment(rest) {
        Some(param) => param.map(Command::Server),
        None => Err(invalid("server")),
    }
}
