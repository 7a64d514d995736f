//! Commands that inspect or steer the running process: `show`, `socks`, `states`, `state`,
//! `nodes`, `leaks`, `mime`, `xs`, `prof`, `verbose`, `shutdown`.

use super::parse::invalid;
use super::{Command, MimeCommand, ProfAction, ShowCommand, ShutdownMode, SocksMode, XsCommand};
use crate::error::{CommandError, KNOWN_XS_MODULES};
use crate::text::{
    is_digits, is_space, is_word_str, loose_quad_with_port, space_len, spaced_rest, word_len,
};
use crate::value::perl_truthy;

/// `verbose (on|off)$` (CFG-10)
pub(super) fn verbose(args: &str) -> Result<Command, CommandError> {
    match args {
        " on" => Ok(Command::Verbose(true)),
        " off" => Ok(Command::Verbose(false)),
        _ => Err(CommandError::Usage("usage: VERBOSE {on|off}")),
    }
}

/// Removes one leading whitespace character, if any (`\s?`).
fn strip_one_space(s: &str) -> &str {
    match s.chars().next() {
        Some(c) if is_space(c) => &s[c.len_utf8()..],
        _ => s,
    }
}

/// `shutdown(\s?graceful)?\s?(\d+)?$` (MGMT-37)
pub(super) fn shutdown(args: &str) -> Result<Command, CommandError> {
    // `\s?(\d+)?$`: the optional number after the optional `graceful`.
    let seconds = |tail: &str| -> Option<Option<u64>> {
        let digits = strip_one_space(tail);
        match digits {
            "" => Some(None),
            d if is_digits(d) => Some(Some(d.parse().unwrap_or(u64::MAX))),
            _ => None,
        }
    };
    if let Some(secs) = strip_one_space(args)
        .strip_prefix("graceful")
        .and_then(seconds)
    {
        let force_exit_after = secs.filter(|&s| s > 0);
        return Ok(Command::Shutdown(ShutdownMode::Graceful {
            force_exit_after,
        }));
    }
    match seconds(args) {
        Some(_) => Ok(Command::Shutdown(ShutdownMode::Immediate)),
        None => Err(invalid("shutdown")),
    }
}

/// `mime(?:\s+(\w+)(?:\s+(\w+))?(?:\s+(\S+))?)?$` (MGMT-34)
pub(super) fn mime(args: &str) -> Result<Command, CommandError> {
    if args.is_empty() {
        return Ok(Command::Mime(MimeCommand::List));
    }
    let spaces = space_len(args);
    let rest = &args[spaces..];
    let verb_len = word_len(rest);
    let parsed = (spaces > 0 && verb_len > 0)
        .then(|| mime_args(&rest[verb_len..]))
        .flatten();
    let (arg1, arg2) = parsed.ok_or_else(|| invalid("mime"))?;
    let mime = match &rest[..verb_len] {
        // `!$cmd`: a verb of `0` lists too.
        "list" | "0" => MimeCommand::List,
        "set" => match (arg1, arg2) {
            (Some(ext), Some(mime_type)) if perl_truthy(ext) && perl_truthy(mime_type) => {
                MimeCommand::Set {
                    ext: ext.to_owned(),
                    mime_type: mime_type.to_owned(),
                }
            }
            _ => return Err(CommandError::MimeSetUsage),
        },
        "remove" => MimeCommand::Remove {
            ext: arg1.unwrap_or_default().to_owned(),
        },
        _ => return Err(CommandError::MimeUsage),
    };
    Ok(Command::Mime(mime))
}

/// The two optional arguments after `mime <verb>`: `(?:\s+(\w+))?(?:\s+(\S+))?$`.
fn mime_args(rest: &str) -> Option<(Option<&str>, Option<&str>)> {
    if rest.is_empty() {
        return Some((None, None));
    }
    let spaces = space_len(rest);
    if spaces == 0 {
        return None;
    }
    let after = &rest[spaces..];
    let non_space_to_end = |s: &str| !s.is_empty() && !s.contains(is_space);
    let word = word_len(after);
    if word > 0 {
        let tail = &after[word..];
        if tail.is_empty() {
            return Some((Some(&after[..word]), None));
        }
        let third = &tail[space_len(tail)..];
        if space_len(tail) > 0 && non_space_to_end(third) {
            return Some((Some(&after[..word]), Some(third)));
        }
    }
    non_space_to_end(after).then_some((None, Some(after)))
}

/// `xs(?:\s+(\w+)\s+(\w+))?$` (MGMT-33). The module is checked before the verb.
pub(super) fn xs(args: &str) -> Result<Command, CommandError> {
    if args.is_empty() {
        return Ok(Command::Xs(XsCommand::Status));
    }
    let syntax = || invalid("xs");
    let spaces = space_len(args);
    let rest = &args[spaces..];
    let verb_len = word_len(rest);
    let after_verb = &rest[verb_len..];
    let gap = space_len(after_verb);
    let module = &after_verb[gap..];
    let well_formed = spaces > 0 && verb_len > 0 && gap > 0 && is_word_str(module);
    if !well_formed {
        return Err(syntax());
    }
    if !KNOWN_XS_MODULES.contains(&module) {
        return Err(CommandError::UnknownXsModule);
    }
    let module = module.to_owned();
    match &rest[..verb_len] {
        "enable" => Ok(Command::Xs(XsCommand::Enable(module))),
        "disable" => Ok(Command::Xs(XsCommand::Disable(module))),
        _ => Err(CommandError::XsUsage),
    }
}

/// `nodes?(?:\s+(\d+.\d+.\d+.\d+)(?::(\d+))?)?$` (MGMT-13)
pub(super) fn nodes(word: &str, args: &str) -> Result<Command, CommandError> {
    if args.is_empty() {
        return Ok(Command::Nodes { node: None });
    }
    let spaces = space_len(args);
    let (ip, port) = (spaces > 0)
        .then(|| loose_quad_with_port(&args[spaces..]))
        .flatten()
        .ok_or_else(|| invalid(word))?;
    // `$port || 80`
    let port = port.filter(|p| perl_truthy(p)).unwrap_or("80");
    Ok(Command::Nodes {
        node: Some(format!("{ip}:{port}")),
    })
}

/// `prof\w*\s+(on|off|data)$` (MGMT-32)
pub(super) fn prof(args: &str) -> Result<Command, CommandError> {
    let spaces = space_len(args);
    let action = match &args[spaces..] {
        _ if spaces == 0 => return Err(invalid("prof")),
        "on" => ProfAction::On,
        "off" => ProfAction::Off,
        "data" => ProfAction::Data,
        _ => return Err(invalid("prof")),
    };
    Ok(Command::Prof(action))
}

/// `socks(?: (\w+))?$` (MGMT-19, MGMT-20)
pub(super) fn socks(args: &str) -> Result<Command, CommandError> {
    let mode = match args.strip_prefix(' ') {
        None if args.is_empty() => SocksMode::All,
        Some(word) if is_word_str(word) => match word {
            "all" | "0" => SocksMode::All,
            "summary" => SocksMode::Summary,
            _ => SocksMode::Nothing,
        },
        _ => return Err(invalid("socks")),
    };
    Ok(Command::Socks(mode))
}

/// `(?:\s+(.+))?$`: an optional free-text argument.
fn optional_rest<'a>(word: &str, args: &'a str) -> Result<Option<&'a str>, CommandError> {
    if args.is_empty() {
        return Ok(None);
    }
    spaced_rest(args).map(Some).ok_or_else(|| invalid(word))
}

/// `states(?:\s+(.+))?$` (MGMT-14)
pub(super) fn states(args: &str) -> Result<Command, CommandError> {
    let service = optional_rest("states", args)?.map(str::to_owned);
    Ok(Command::States { service })
}

/// `leaks(?:\s+(.+))?$` (MGMT-29)
pub(super) fn leaks(args: &str) -> Result<Command, CommandError> {
    let expr = optional_rest("leaks", args)?.map(str::to_owned);
    Ok(Command::Leaks { expr })
}

/// `state changes$` (MGMT-28)
pub(super) fn state(args: &str) -> Result<Command, CommandError> {
    match args {
        " changes" => Ok(Command::StateChanges),
        _ => Err(invalid("state")),
    }
}

/// `show service (\w+)$`, `show pool(?:\s+(\w+))?$`, `show service$` (MGMT-9..12)
pub(super) fn show(args: &str) -> Result<Command, CommandError> {
    let show = if args == " service" {
        ShowCommand::Services
    } else if let Some(name) = args.strip_prefix(" service ").filter(|n| is_word_str(n)) {
        ShowCommand::Service(name.to_owned())
    } else if args == " pool" {
        ShowCommand::Pools
    } else {
        let name = args
            .strip_prefix(" pool")
            .filter(|r| space_len(r) > 0)
            .map(|r| &r[space_len(r)..])
            .filter(|n| is_word_str(n))
            .ok_or_else(|| invalid("show"))?;
        // `if ($pool)`: a pool named `0` lists every pool.
        if perl_truthy(name) {
            ShowCommand::Pool(name.to_owned())
        } else {
            ShowCommand::Pools
        }
    };
    Ok(Command::Show(show))
}
