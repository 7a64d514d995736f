//! Service tunables (SVC-1..58): the table, the role model, and value checking.
//!
//! A [`Tunable`] says what a `SET <svc>.<key> = <value>` key accepts, on which roles, its default
//! as the original stores it, and how `dumpconfig` prints it. [`Tunable::parse`] does every check
//! that needs nothing but the text; [`Tunable::external_check`] names what the server must still
//! verify (file system, existing pools and services) and
//! [`Tunable::external_check_failed`] gives the message when that fails.
//!
//! Order of checks in the original, which the server follows: role ([`Tunable::check_role`]),
//! then value ([`Tunable::parse`]), then the external check.

mod key;
mod netmask;
mod parse;
mod table;

use std::fmt;
use std::net::SocketAddrV4;
use std::time::Duration;

use crate::error::CommandError;
use crate::value::{normalise_size_text, perl_truthy};

pub use key::{classify_service_key, ServiceKey};
pub use netmask::{parse_netmask, parse_netmask_list, Netmask};
pub use table::{tunable, tunables, tunables_survive_unload};

/// A service role (SVC-1, CFG-15).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    /// `reverse_proxy`
    ReverseProxy,
    /// `web_server`
    WebServer,
    /// `management`
    Management,
    /// `selector`
    Selector,
    /// `upload_tracker`
    UploadTracker,
    /// A role added by a plugin (e.g. `echo` from EchoService). Only valid while that plugin has
    /// registered it; the server checks and answers [`CommandError::RoleNotValid`] otherwise.
    Plugin(String),
}

impl Role {
    /// The built-in roles, by name.
    pub const BUILTIN: [(&'static str, Role); 5] = [
        ("reverse_proxy", Role::ReverseProxy),
        ("web_server", Role::WebServer),
        ("management", Role::Management),
        ("selector", Role::Selector),
        ("upload_tracker", Role::UploadTracker),
    ];

    /// Reads a role name: a built-in role, or else a plugin role of that name.
    pub fn from_name(name: &str) -> Role {
        Self::BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map_or_else(|| Role::Plugin(name.to_owned()), |(_, r)| r.clone())
    }

    /// The role's name as configured and shown.
    pub fn as_str(&self) -> &str {
        match self {
            Role::ReverseProxy => "reverse_proxy",
            Role::WebServer => "web_server",
            Role::Management => "management",
            Role::Selector => "selector",
            Role::UploadTracker => "upload_tracker",
            Role::Plugin(name) => name,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which roles a tunable may be set on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roles {
    /// Every role (`*`).
    Any,
    /// Only the named role.
    Only(&'static str),
}

/// The default the original applies when a role is set (CFG-15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// No default: setting the role leaves the current value alone.
    None,
    /// The default is "unset": setting the role clears the value.
    Unset,
    /// This text is run through [`Tunable::parse`] when the role is set (unless a `DEFAULT`
    /// override exists, CFG-16).
    Value(&'static str),
}

/// How `dumpconfig` treats a tunable (MGMT-36).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dump {
    /// Printed when set and different from the default.
    IfChanged,
    /// Printed whenever set, even at its default (`index_files`: the original compares a list
    /// with a string, so it never looks equal).
    WhenSet,
    /// Always printed, empty when unset (`role`).
    Always,
    /// Never printed (`persist_client_timeout` is an alias; `reproxy_cache_maxsize` is never
    /// stored by the original).
    Never,
}

/// The shape of a tunable's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// CFG-9 `bool`.
    Bool,
    /// CFG-9 `int`.
    Int,
    /// CFG-9 `size`.
    Size,
    /// Any text, unchecked.
    Text,
    /// One of a fixed list of words.
    Enum(&'static [&'static str]),
    /// `role` (SVC-1).
    Role,
    /// `listen` (SVC-2): `port` or `a.b.c.d:port`.
    Listen,
    /// `queue_relief_chance` (SVC-36): an int from 0 to 100.
    Percent,
    /// `trusted_upstream_proxies` (SVC-9).
    Netmasks,
    /// `upload_status_listeners` (SVC-40): `a.b.c.d:port` list.
    UdpEndpoints,
    /// `error_retry_schedule` (SVC-42): comma list of seconds, never refused.
    RetrySchedule,
    /// `index_files` (SVC-46): list split on commas and whitespace.
    WordList,
    /// `max_backend_uses` (SVC-24): anything, read as a number.
    MaxBackendUses,
    /// `fallback_udp_ping_addr` (LazyCDN): `a.b.c.d:port` text.
    IpPort,
    /// Throttle's `log_events`: words from a fixed set, commas and spaces.
    LogEvents,
    /// A file that must exist unless the value equals the default (`file_or_none`).
    File,
    /// A directory that must exist (`directory_or_none`, `ssl_ca_path`).
    Directory,
    /// `docroot` (SVC-45): an existing directory.
    Docroot,
    /// `buffer_uploads_path` (SVC-29): an existing directory.
    UploadsDirectory,
    /// `server_process` (SVC-43): an executable.
    Executable,
    /// `pool` (SVC-18): an existing pool.
    Pool,
    /// `default_service` (SVC-54): an existing service.
    Service,
}

/// One service tunable.
#[derive(Debug, PartialEq, Eq)]
pub struct Tunable {
    /// The key.
    pub name: &'static str,
    /// What it accepts.
    pub kind: ValueKind,
    /// Where it may be set.
    pub roles: Roles,
    /// Its default.
    pub default: DefaultValue,
    /// How `dumpconfig` prints it.
    pub dump: Dump,
    /// The bundled plugin whose `LOAD` adds it, if any (SVC-58, SVC-59).
    pub plugin: Option<&'static str>,
    /// What it does, in a sentence.
    pub description: &'static str,
}

/// A checked value.
#[derive(Debug, Clone, PartialEq)]
pub enum TunableValue {
    /// `bool`
    Bool(bool),
    /// `int`, saturating at `u64::MAX`.
    Int(u64),
    /// `size`, in bytes.
    Size(u64),
    /// Free text, an enum word, or an `ip:port` text.
    Text(String),
    /// `role`; a [`Role::Plugin`] still needs the server's registered-role check.
    Role(Role),
    /// `listen`; `None` for `0`, which means "not listening" (SVC-2).
    Listen(Option<SocketAddrV4>),
    /// `queue_relief_chance`
    Percent(u8),
    /// `trusted_upstream_proxies`
    Netmasks(Vec<Netmask>),
    /// `upload_status_listeners`
    UdpEndpoints(Vec<SocketAddrV4>),
    /// `error_retry_schedule`: one delay per retry.
    RetrySchedule(Vec<Duration>),
    /// `index_files`
    WordList(Vec<String>),
    /// `max_backend_uses`: `None` = unlimited; `Some(n)` = close after more than `n` uses.
    MaxBackendUses(Option<u64>),
    /// A path still to be checked by the server (see [`Tunable::external_check`]).
    Path(String),
    /// A pool name still to be resolved by the server.
    Pool(String),
    /// A service name still to be resolved by the server.
    Service(String),
}

/// A checked value plus the text the original stores for it, which is what `dumpconfig` prints
/// (for sizes the computed byte count, for bools `1`/`0`, for lists `a, b`).
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// The typed value.
    pub value: TunableValue,
    /// The stored text.
    pub stored: String,
}

/// A check that needs the file system or server state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalCheck {
    /// The path must be an existing regular file (`-f`).
    IsFile,
    /// The path must be an existing directory (`-d`).
    IsDirectory,
    /// The path must be executable (`-x`).
    IsExecutable,
    /// A pool of this name must exist.
    PoolExists,
    /// A service of this name must exist.
    ServiceExists,
}

impl Tunable {
    /// True when the tunable may be set on a service with this role (by name).
    pub fn applies_to(&self, role: &str) -> bool {
        match self.roles {
            Roles::Any => true,
            Roles::Only(required) => required == role,
        }
    }

    /// The role check of CFG-15, done before the value is looked at. `role` is the service's
    /// current role name, `None` when no role is set yet.
    pub fn check_role(&self, role: Option<&str>) -> Result<(), CommandError> {
        match self.roles {
            Roles::Any => Ok(()),
            Roles::Only(required) if role == Some(required) => Ok(()),
            Roles::Only(required) => Err(CommandError::WrongRole {
                key: self.name.to_owned(),
                role: required,
            }),
        }
    }

    /// Checks a value for this tunable on service `service` (named in some messages).
    pub fn parse(&self, raw: &str, service: &str) -> Result<Setting, CommandError> {
        parse::parse_value(self, raw, service)
    }

    /// What the server must still verify for `raw`, if anything.
    pub fn external_check(&self, raw: &str) -> Option<ExternalCheck> {
        match self.kind {
            ValueKind::File if matches!(self.default, DefaultValue::Value(d) if d == raw) => None,
            ValueKind::File => Some(ExternalCheck::IsFile),
            ValueKind::Directory | ValueKind::Docroot | ValueKind::UploadsDirectory => {
                Some(ExternalCheck::IsDirectory)
            }
            ValueKind::Executable => Some(ExternalCheck::IsExecutable),
            ValueKind::Pool => Some(ExternalCheck::PoolExists),
            ValueKind::Service => Some(ExternalCheck::ServiceExists),
            _ => None,
        }
    }

    /// The error when [`Tunable::external_check`] fails for `raw` on service `service`.
    pub fn external_check_failed(&self, raw: &str, service: &str) -> CommandError {
        parse::external_failure(self, raw, service)
    }

    /// The default text as `dumpconfig` compares it (sizes in bytes).
    pub fn default_stored(&self) -> Option<String> {
        match (self.default, self.kind) {
            (DefaultValue::Value(v), ValueKind::Size) => Some(normalise_size_text(v)),
            (DefaultValue::Value(v), _) => Some(v.to_owned()),
            _ => None,
        }
    }

    /// The `SET <key> = <value>` line `dumpconfig` prints for a service with role `role` whose
    /// stored text for this tunable is `stored` (`None` when unset), or `None` when it prints
    /// nothing.
    pub fn dump_line(&self, role: Option<&str>, stored: Option<&str>) -> Option<String> {
        if let Roles::Only(required) = self.roles {
            if role != Some(required) {
                return None;
            }
        }
        let value = match (self.dump, stored) {
            (Dump::Never, _) => return None,
            (Dump::Always, stored) => stored.unwrap_or(""),
            (_, None) => return None,
            (Dump::WhenSet, Some(stored)) => stored,
            (Dump::IfChanged, Some(stored)) => {
                if self.default_stored().as_deref() == Some(stored) {
                    return None;
                }
                stored
            }
        };
        let value = if self.kind == ValueKind::Bool && perl_truthy(value) {
            "on"
        } else {
            value
        };
        Some(format!("SET {} = {}", self.name, value))
    }
}

#[cfg(test)]
mod tests;
