//! `Command`: every built-in command of the config file and management port (CFG-6, CFG-10..25,
//! MGMT-7..38), with typed arguments.
//!
//! [`Command::parse`] checks syntax only, with the original's usage and syntax messages. What
//! depends on server state (does the service exist, is the plugin loaded) is the server's job; the
//! messages for those are in [`CommandError`]. A first word that is not built in becomes
//! [`Command::Other`], for plugin commands (`vhost`, `access`, ...) or `unknown command: <word>`.

mod inspect;
mod objects;
mod parse;

use std::net::SocketAddrV4;

use crate::error::CommandError;
use crate::lexer::Line;
use crate::server_param::ServerParam;

/// One parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `aio` (MGMT-35)
    Aio,
    /// `backends` (MGMT-21)
    Backends,
    /// `crash` — any line whose first word is `crash` (MGMT-38, PROC-9).
    Crash,
    /// `create service|pool <name>` (CFG-11)
    Create { kind: ObjectKind, name: String },
    /// `default <param> = <value>` (CFG-16); not validated until a role is set, and then checked
    /// with [`Tunable::parse`](crate::Tunable::parse). The original recurses forever on a
    /// `DEFAULT role`; the server should not apply that one.
    Default { key: String, value: String },
    /// `disable <service>` (CFG-17)
    Disable { service: String },
    /// `dumpconfig` (MGMT-36); arguments are ignored, as in the original.
    Dumpconfig,
    /// `enable <service>` (CFG-17)
    Enable { service: String },
    /// `fd` (MGMT-18)
    Fd,
    /// `gladiator` (MGMT-31)
    Gladiator,
    /// `header <service> insert|remove <name>[: <value>]` (CFG-19)
    Header(HeaderCommand),
    /// `help` (MGMT-7)
    Help,
    /// `leaks [<expr>]` (MGMT-29)
    Leaks { expr: Option<String> },
    /// `load <plugin>` (CFG-20); the name keeps the case it was typed in.
    Load { plugin: String },
    /// `mime [list | set <ext> <type> | remove <ext>]` (MGMT-34)
    Mime(MimeCommand),
    /// `nodes` / `node` [`<ip>[:<port>]`] (MGMT-13). `node` is the `ip:port` key to look up
    /// (port 80 when omitted), exactly as the original builds it.
    Nodes { node: Option<String> },
    /// `noverify` (MGMT-22)
    Noverify,
    /// `obj` (MGMT-25)
    Obj,
    /// `pending` (MGMT-23)
    Pending,
    /// `plugins` (MGMT-27)
    Plugins,
    /// `pool [<name>] add|remove [<name>] <ip>[:<port>]` (CFG-18)
    Pool(PoolCommand),
    /// `proc` (MGMT-17)
    Proc,
    /// `prof on|off|data` (MGMT-32)
    Prof(ProfAction),
    /// `queues` (MGMT-16)
    Queues,
    /// `reload <plugin>` (CFG-22)
    Reload { plugin: String },
    /// `reproxy_state` (MGMT-24); arguments are ignored, as in the original.
    ReproxyState,
    /// `server <key> = <value>` (CFG-23, SRV)
    Server(ServerParam),
    /// `set [<target>(.| )]<key> = <value>` (CFG-13)
    Set(SetCommand),
    /// `show service|pool [<name>]` (MGMT-9..12)
    Show(ShowCommand),
    /// `shutdown [graceful [<secs>]]` (MGMT-37)
    Shutdown(ShutdownMode),
    /// `socks [all|summary|...]` (MGMT-19, MGMT-20)
    Socks(SocksMode),
    /// `state changes` (MGMT-28)
    StateChanges,
    /// `states [<service>]` (MGMT-14)
    States { service: Option<String> },
    /// `track` (MGMT-26)
    Track,
    /// `unload <plugin>` (CFG-21)
    Unload { plugin: String },
    /// `uptime` / `version` (MGMT-8)
    Uptime,
    /// `use <name>` (CFG-12)
    Use { name: String },
    /// `varsize` (MGMT-30)
    Varsize,
    /// `verbose on|off` (CFG-10)
    Verbose(bool),
    /// `xs [enable|disable <module>]` (MGMT-33)
    Xs(XsCommand),
    /// Not a built-in command: try the plugin command `word`, else answer
    /// [`CommandError::UnknownCommand`]. `line` is what plugin commands parse.
    Other { word: String, line: Line },
}

/// What `create` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// `create service`
    Service,
    /// `create pool`
    Pool,
}

/// `set` arguments (CFG-13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCommand {
    /// The named service or pool; `None` means "use the context" (CFG-8), which is also what
    /// the original does for an explicit name `0`.
    pub target: Option<String>,
    /// The key, lowercase (`[\w.]+`).
    pub key: String,
    /// The value, case preserved.
    pub value: String,
}

/// `pool` arguments (CFG-18).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolCommand {
    /// Add or remove.
    pub action: PoolAction,
    /// The pool's name.
    pub pool: String,
    /// The node; port 80 when omitted or given as 0.
    pub node: SocketAddrV4,
}

/// `pool add` / `pool remove`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolAction {
    /// Append the node (after removing an identical one).
    Add,
    /// Remove the node if present.
    Remove,
}

/// `header` arguments (CFG-19), before the server's checks.
///
/// The original checks that the service exists before it looks at the header, so the server
/// does that first and then calls [`HeaderCommand::edit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderCommand {
    /// The service name.
    pub service: String,
    /// Insert or remove.
    pub action: HeaderAction,
    /// The header name as typed (lowercased by CFG-5 unless an `=` came before it).
    pub name: String,
    /// The text after `:`, if any.
    pub value: Option<String>,
}

/// `header ... insert` / `header ... remove`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderAction {
    /// Replace or append the header on requests to backends.
    Insert,
    /// Remove the header from requests to backends.
    Remove,
}

/// A checked header edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderEdit {
    /// Set `name` to `value`.
    Insert { name: String, value: String },
    /// Remove `name`.
    Remove { name: String },
}

impl HeaderCommand {
    /// The edit, or `no header provided` / `no value provided`.
    pub fn edit(&self) -> Result<HeaderEdit, CommandError> {
        if self.name == "0" {
            return Err(CommandError::NoHeaderProvided);
        }
        match (self.action, &self.value) {
            (HeaderAction::Remove, _) => Ok(HeaderEdit::Remove {
                name: self.name.clone(),
            }),
            (HeaderAction::Insert, Some(value)) if !value.is_empty() => Ok(HeaderEdit::Insert {
                name: self.name.clone(),
                value: value.clone(),
            }),
            (HeaderAction::Insert, _) => Err(CommandError::NoValueProvided),
        }
    }
}

/// `mime` sub-commands (MGMT-34).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MimeCommand {
    /// `mime`, `mime list` (and, as in the original, `mime 0`).
    List,
    /// `mime set <ext> <type>`; prints `<ext> set to <type>.`
    Set { ext: String, mime_type: String },
    /// `mime remove <ext>`; `ext` is empty when omitted, which the original then reports as
    /// ` not a defined extension.`
    Remove { ext: String },
}

/// `xs` sub-commands (MGMT-33).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XsCommand {
    /// `xs`: status listing.
    Status,
    /// `xs enable <module>` (a name from [`KNOWN_XS_MODULES`](crate::error::KNOWN_XS_MODULES)).
    Enable(String),
    /// `xs disable <module>`.
    Disable(String),
}

/// `prof` sub-commands (MGMT-32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfAction {
    /// `prof on`
    On,
    /// `prof off`
    Off,
    /// `prof data`
    Data,
}

/// `show` forms (MGMT-9..12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShowCommand {
    /// `show service`: one line per service.
    Services,
    /// `show service <name>`
    Service(String),
    /// `show pool` (and, as in the original, `show pool 0`).
    Pools,
    /// `show pool <name>`
    Pool(String),
}

/// `shutdown` forms (MGMT-37, PROC-6..8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownMode {
    /// `shutdown` (a number without `graceful` is ignored, as in the original).
    Immediate,
    /// `shutdown graceful [<secs>]`: drain; exit anyway after `force_exit_after` seconds when
    /// given and non-zero.
    Graceful { force_exit_after: Option<u64> },
}

/// `socks` forms (MGMT-19, MGMT-20).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocksMode {
    /// `socks`, `socks all` (and `socks 0`): every socket.
    All,
    /// `socks summary`
    Summary,
    /// `socks <other word>`: prints only the terminating `.`.
    Nothing,
}

/// The built-in command names listed by `help`, sorted (MGMT-7).
const HELP_NAMES: [&str; 41] = [
    "aio",
    "backends",
    "create",
    "default",
    "disable",
    "dumpconfig",
    "enable",
    "fd",
    "gladiator",
    "header",
    "help",
    "leaks",
    "load",
    "mime",
    "node",
    "nodes",
    "noverify",
    "obj",
    "pending",
    "plugins",
    "pool",
    "proc",
    "prof",
    "queues",
    "reload",
    "reproxy_state",
    "server",
    "set",
    "show",
    "shutdown",
    "socks",
    "state",
    "states",
    "track",
    "unload",
    "uptime",
    "use",
    "varsize",
    "verbose",
    "version",
    "xs",
];

impl Command {
    /// Parses a normalised line (CFG-6).
    pub fn parse(line: &Line) -> Result<Command, CommandError> {
        parse::parse(line)
    }

    /// The names `help` prints, sorted (MGMT-7). Plugin commands are not included.
    pub fn help_names() -> &'static [&'static str] {
        &HELP_NAMES
    }
}

#[cfg(test)]
mod spacing_tests;
#[cfg(test)]
mod tests;
