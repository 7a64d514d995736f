//! Dispatch on the command word (CFG-6) and the argument-less commands.

use super::{inspect, objects, Command};
use crate::error::CommandError;
use crate::lexer::Line;

pub(super) fn parse(line: &Line) -> Result<Command, CommandError> {
    let word = line.command_word().ok_or(CommandError::InvalidCommand)?;
    let args = &line.text()[word.len()..];
    let no_args = |command: Command| {
        if args.is_empty() {
            Ok(command)
        } else {
            Err(CommandError::TakesNoArguments(word.to_owned()))
        }
    };
    match word {
        "crash" => Ok(Command::Crash),
        "aio" => no_args(Command::Aio),
        "backends" => no_args(Command::Backends),
        "fd" => no_args(Command::Fd),
        "gladiator" => no_args(Command::Gladiator),
        "help" => no_args(Command::Help),
        "noverify" => no_args(Command::Noverify),
        "obj" => no_args(Command::Obj),
        "pending" => no_args(Command::Pending),
        "plugins" => no_args(Command::Plugins),
        "proc" => no_args(Command::Proc),
        "queues" => no_args(Command::Queues),
        "track" => no_args(Command::Track),
        "uptime" | "version" => no_args(Command::Uptime),
        "varsize" => no_args(Command::Varsize),
        "dumpconfig" => Ok(Command::Dumpconfig),
        "reproxy_state" => Ok(Command::ReproxyState),
        "create" => objects::create(args),
        "use" => objects::use_object(args),
        "set" => objects::set(args),
        "default" => objects::default(args),
        "enable" | "disable" => objects::enable_disable(word, args),
        "pool" => objects::pool(args),
        "header" => objects::header(args),
        "load" => objects::load(line, args),
        "unload" | "reload" => objects::unload_reload(word, args),
        "server" => objects::server(args),
        "verbose" => inspect::verbose(args),
        "shutdown" => inspect::shutdown(args),
        "mime" => inspect::mime(args),
        "xs" => inspect::xs(args),
        "node" | "nodes" => inspect::nodes(word, args),
        "prof" => inspect::prof(args),
        "socks" => inspect::socks(args),
        "states" => inspect::states(args),
        "state" => inspect::state(args),
        "leaks" => inspect::leaks(args),
        "show" => inspect::show(args),
        _ => Ok(Command::Other {
            word: word.to_owned(),
            line: line.clone(),
        }),
    }
}

/// `Invalid syntax to '<word>' command`
pub(super) fn invalid(word: &str) -> CommandError {
    CommandError::InvalidSyntax(word.to_owned())
}
