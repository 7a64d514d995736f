//! `CommandError`: every message the command language can answer with.
//!
//! `Display` renders exactly the text the original prints after `ERROR: ` (CFG-7), so the server
//! writes `ERROR: {err}` and nothing else. Messages that span lines keep their inner bare `\n`
//! (CFG-7, POOL-8); the server must not translate those to CRLF.
//!
//! Most variants are produced by this crate's parsers. The ones documented as *server* variants
//! depend on server state (existing services, pools, plugins, the file system); they live here so
//! that every interface string is defined in one place.

use std::fmt;

/// Known XS modules, as the `xs` command lists them (MGMT-33).
pub const KNOWN_XS_MODULES: &[&str] = &["headers"];

/// What went wrong while turning `trusted_upstream_proxies` into netmasks (SVC-9); the texts are
/// those of Net::Netmask 2.0002, which the original delegates to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetmaskError {
    /// `could not parse <item>`
    CouldNotParse(String),
    /// `illegal number of bits: <bits>`
    IllegalBits(String),
    /// `illegal netmask: <mask>`
    IllegalNetmask(String),
    /// `illegal dotted quad: <item>` (bad address in an `a-b` range)
    IllegalDottedQuad(String),
    /// `could not find exact fit for <item>` (an `a-b` range that is not one CIDR block)
    NoExactFit(String),
    /// `None found` (the list had no items at all)
    NoneFound,
}

impl fmt::Display for NetmaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CouldNotParse(item) => write!(f, "could not parse {item}"),
            Self::IllegalBits(bits) => write!(f, "illegal number of bits: {bits}"),
            Self::IllegalNetmask(mask) => write!(f, "illegal netmask: {mask}"),
            Self::IllegalDottedQuad(item) => write!(f, "illegal dotted quad: {item}"),
            Self::NoExactFit(item) => write!(f, "could not find exact fit for {item}"),
            Self::NoneFound => f.write_str("None found"),
        }
    }
}

/// An error answer to one command line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    // ---- line expansion (CFG-3) ----
    /// `${x}` without a `type:` prefix.
    UnknownConfigVariable(String),
    /// `${type:arg}` with a type other than `ip`.
    UnknownConfigVariableType(String),
    /// `${ip:<iface>}` where the interface name is not a word.
    BogusIfaceName,
    /// `${ip:<iface>}` for an interface without an IPv4 address.
    InterfaceIpNotFound(String),

    // ---- dispatch and syntax (CFG-6, CFG-7) ----
    /// The line does not start with a word character.
    InvalidCommand,
    /// Not a built-in command and no plugin took it. (server)
    UnknownCommand(String),
    /// A command's own usage text, e.g. `usage: CREATE {service|pool} <name>`.
    Usage(&'static str),
    /// `Invalid syntax to '<cmd>' command`.
    InvalidSyntax(String),
    /// `The '<cmd>' command takes no arguments`.
    TakesNoArguments(String),
    /// `POOL` with a verb other than add/remove (two spaces are part of the text).
    PoolVerb,
    /// `xs enable|disable <module>` for a module that is not known.
    UnknownXsModule,

    // ---- values (CFG-9) and tunables (SVC) ----
    /// `Expecting boolean value for parameter '<k>'`
    ExpectingBoolean(String),
    /// `Expecting integer value for parameter '<k>'`
    ExpectingInteger(String),
    /// `Expecting size unit value for parameter '<k>' in bytes, or suffixed with 'K' or 'M'`
    ExpectingSize(String),
    /// `Value of '<k>' must be one of: a, b`
    NotOneOf {
        key: String,
        allowed: &'static [&'static str],
    },
    /// A tunable's fixed check message (regexp checks: `listen`, `log_events`, ...; SVC-36).
    Invalid(&'static str),
    /// `The '<k>' option can only be set on a '<role>' service` (CFG-15)
    WrongRole { key: String, role: &'static str },
    /// `role` set to a false value (`0`): the original answers with an empty message.
    EmptyRole,
    /// `Role not valid for service <svc>` (CFG-15)
    RoleNotValid { service: String },
    /// `Invalid UDP endpoint: "<x>".  Must be of form a.b.c.d:port` (SVC-40)
    InvalidUdpEndpoint(String),
    /// `Error defining trusted upstream proxies: <why>` (SVC-9)
    TrustedUpstreamProxies(NetmaskError),
    /// `File '<v>' not found for '<k>'` (server: file check)
    FileNotFound { value: String, key: String },
    /// `Directory '<v>' not found for '<k>'` (server: directory check)
    DirectoryNotFound { value: String, key: String },
    /// `Directory not found for service <svc>` (docroot, SVC-45)
    DocrootNotFound { service: String },
    /// `Directory (<v>) not found for service <svc> (buffer_uploads_path)` (SVC-29)
    BufferUploadsPathNotFound { value: String, service: String },
    /// `Server process (<v>) not executable.` (SVC-43)
    ServerProcessNotExecutable(String),
    /// `Pool '<n>' not found` (SVC-18, CFG-18; server)
    PoolNotFound(String),
    /// `Service '' not found` — the original loses the name (SVC-54 quirk; server)
    DefaultServiceNotFound,
    /// `Unknown service parameter '<k>'` (CFG-14)
    UnknownServiceParameter(String),
    /// `Unknown pool parameter '<k>'` (POOL-7: the original prints nothing at all)
    UnknownPoolParameter(String),
    /// `Unknown balance method` (POOL-2)
    UnknownBalanceMethod,
    /// `File not found` (nodefile, POOL-3; server)
    NodefileNotFound,
    /// `No pool defined for service` (server)
    NoPoolDefined,
    /// The three-line auto-vivification refusal of POOL-8, doubled `ERROR:` included. (server)
    VivifyPoolConflict { service: String, key: String },

    // ---- SERVER (SRV) ----
    /// `Expected numeric parameter`
    ExpectedNumeric,
    /// `Unknown AIO mode`
    UnknownAioMode,
    /// `Expected 1 or 0`
    ExpectedOneOrZero,
    /// `Expected full pathname to pidfile`
    PidfileExpected,
    /// `pidfile must be configured at startup, before Perlbal::run is called` (server)
    PidfileAfterStart,
    /// `unknown server option '<value>'` — the original echoes the value, not the key (CFG-23)
    UnknownServerOption(String),
    /// `Need to be root to increase max connections.` (server)
    NeedRootForMaxConnections,
    /// `Unable to set limit.` (server)
    UnableToSetLimit,
    /// `Unable to renice: <err>` (server)
    UnableToRenice(String),

    // ---- server state (CFG-8 .. CFG-22, MGMT) ----
    /// `omitted service/pool name not implied from context` (CFG-8)
    NoContext,
    /// `No service name in context from CREATE SERVICE <name> or USE <service_name>` (CFG-8)
    NoServiceContext,
    /// `service/pool '<n>' does not exist` (CFG-13)
    NoSuchServiceOrPool(String),
    /// `Non-existent pool or service '<n>'` (CFG-12)
    NonExistentPoolOrService(String),
    /// `service '<n>' already exists` (CFG-11)
    ServiceExists(String),
    /// `pool '<n>' already exists` (CFG-11)
    PoolExists(String),
    /// `service '<n>' does not exist` (CFG-17, CFG-19)
    ServiceDoesNotExist(String),
    /// `service <n> is already enabled`
    AlreadyEnabled(String),
    /// `service <n> is already disabled`
    AlreadyDisabled(String),
    /// `can't disable management service`
    CantDisableManagement,
    /// `Can't start service '<n>' on <listen>: <reason>`
    CantStartService {
        service: String,
        listen: String,
        reason: String,
    },
    /// `Unknown service` (`show service <n>`)
    UnknownService,
    /// `Service not found.` (`states <n>`)
    ServiceNotFound,
    /// `pool '<n>' does not exist` (`show pool <n>`)
    PoolDoesNotExist(String),
    /// `no header provided` (CFG-19)
    NoHeaderProvided,
    /// `no value provided` (CFG-19)
    NoValueProvided,
    /// `Plugin <p> not loaded; not registered for <svc>.` (SVC-61)
    PluginNotLoaded { plugin: String, service: String },
    /// `Unknown/unloaded plugin '<p>'` (CFG-22)
    UnknownPlugin(String),
    /// `Plugin Perlbal::Plugin::<P> doesn't support reloading` (CFG-22)
    PluginCantReload(String),
    /// `<ext> not a defined extension.` (MGMT-34)
    MimeNotDefined(String),
    /// `Usage: set <ext> <mime>` (MGMT-34)
    MimeSetUsage,
    /// `Usage: list, remove <ext>, set <ext> <mime>` (MGMT-34)
    MimeUsage,
    /// `Usage: xs [ <enable|disable> <module> ]` (MGMT-33)
    XsUsage,
    /// `Unable to enable module.` (server)
    XsEnableFailed,
    /// `Unable to disable module.` (server)
    XsDisableFailed,
    /// `command disabled without $ENV{PERLBAL_DEBUG} set` (MGMT-29)
    LeaksDisabled,
    /// `Unable to enable profiling.  Please ensure you have the BSD::Resource module installed.`
    ProfilingUnavailable,
    /// `This command is not available unless BSD::Resource is installed`
    BsdResourceMissing,
    /// Free text from elsewhere (a plugin's own message, a failed LOAD).
    Other(String),
}

impl CommandError {
    /// The message when it is a fixed text.
    fn fixed_text(&self) -> Option<&'static str> {
        Some(match self {
            Self::BogusIfaceName => "Bogus-looking iface name",
            Self::InvalidCommand => "invalid command",
            Self::PoolVerb => "Invalid command:  must be 'add' or 'remove'",
            Self::DefaultServiceNotFound => "Service '' not found",
            Self::UnknownBalanceMethod => "Unknown balance method",
            Self::NodefileNotFound => "File not found",
            Self::NoPoolDefined => "No pool defined for service",
            Self::ExpectedNumeric => "Expected numeric parameter",
            Self::UnknownAioMode => "Unknown AIO mode",
            Self::ExpectedOneOrZero => "Expected 1 or 0",
            Self::PidfileExpected => "Expected full pathname to pidfile",
            Self::PidfileAfterStart => "pidfile must be configured at startup, before Perlbal::run is called",
            Self::NeedRootForMaxConnections => "Need to be root to increase max connections.",
            Self::UnableToSetLimit => "Unable to set limit.",
            Self::NoContext => "omitted service/pool name not implied from context",
            Self::NoServiceContext => "No service name in context from CREATE SERVICE <name> or USE <service_name>",
            Self::CantDisableManagement => "can't disable management service",
            Self::UnknownService => "Unknown service",
            Self::ServiceNotFound => "Service not found.",
            Self::NoHeaderProvided => "no header provided",
            Self::NoValueProvided => "no value provided",
            Self::MimeSetUsage => "Usage: set <ext> <mime>",
            Self::MimeUsage => "Usage: list, remove <ext>, set <ext> <mime>",
            Self::XsUsage => "Usage: xs [ <enable|disable> <module> ]",
            Self::XsEnableFailed => "Unable to enable module.",
            Self::XsDisableFailed => "Unable to disable module.",
            Self::LeaksDisabled => "command disabled without $ENV{PERLBAL_DEBUG} set",
            Self::ProfilingUnavailable => "Unable to enable profiling.  Please ensure you have the BSD::Resource module installed.",
            Self::BsdResourceMissing => "This command is not available unless BSD::Resource is installed",
            Self::EmptyRole => "",
            Self::Usage(text) | Self::Invalid(text) => text,
            _ => return None,
        })
    }

    /// Messages with arguments from parsing and value checks.
    fn fmt_parse_error(&self, f: &mut fmt::Formatter<'_>) -> Option<fmt::Result> {
        Some(match self {
            Self::UnknownConfigVariable(v) => write!(f, "Unknown config variable: {v}"),
            Self::UnknownConfigVariableType(t) => write!(f, "Unknown config variable type: {t}"),
            Self::InterfaceIpNotFound(i) => write!(f, "Can't find IP of interface '{i}'"),
            Self::UnknownCommand(w) => write!(f, "unknown command: {w}"),
            Self::InvalidSyntax(c) => write!(f, "Invalid syntax to '{c}' command"),
            Self::TakesNoArguments(c) => write!(f, "The '{c}' command takes no arguments"),
            Self::UnknownXsModule => write!(f, "Known XS modules: {}.", KNOWN_XS_MODULES.join(", ")),
            Self::ExpectingBoolean(k) => write!(f, "Expecting boolean value for parameter '{k}'"),
            Self::ExpectingInteger(k) => write!(f, "Expecting integer value for parameter '{k}'"),
            Self::ExpectingSize(k) => write!(
                f,
                "Expecting size unit value for parameter '{k}' in bytes, or suffixed with 'K' or 'M'"
            ),
            Self::NotOneOf { key, allowed } => {
                write!(f, "Value of '{key}' must be one of: {}", allowed.join(", "))
            }
            Self::WrongRole { key, role } => {
                write!(f, "The '{key}' option can only be set on a '{role}' service")
            }
            Self::RoleNotValid { service } => write!(f, "Role not valid for service {service}"),
            Self::InvalidUdpEndpoint(e) => {
                write!(f, "Invalid UDP endpoint: \"{e}\".  Must be of form a.b.c.d:port")
            }
            Self::TrustedUpstreamProxies(why) => {
                write!(f, "Error defining trusted upstream proxies: {why}")
            }
            Self::FileNotFound { value, key } => write!(f, "File '{value}' not found for '{key}'"),
            Self::DirectoryNotFound { value, key } => {
                write!(f, "Directory '{value}' not found for '{key}'")
            }
            Self::DocrootNotFound { service } => {
                write!(f, "Directory not found for service {service}")
            }
            Self::BufferUploadsPathNotFound { value, service } => write!(
                f,
                "Directory ({value}) not found for service {service} (buffer_uploads_path)"
            ),
            Self::ServerProcessNotExecutable(v) => write!(f, "Server process ({v}) not executable."),
            Self::PoolNotFound(p) => write!(f, "Pool '{p}' not found"),
            Self::UnknownServiceParameter(k) => write!(f, "Unknown service parameter '{k}'"),
            Self::UnknownPoolParameter(k) => write!(f, "Unknown pool parameter '{k}'"),
            Self::VivifyPoolConflict { service, key } => write!(
                f,
                "ERROR: Attempt to vivify pool {service}_pool but one or more pools\n       \
                 have already been created manually.  Please set {key} on a\n       \
                 previously created pool."
            ),
            Self::UnknownServerOption(v) => write!(f, "unknown server option '{v}'"),
            Self::UnableToRenice(e) => write!(f, "Unable to renice: {e}"),
            _ => return None,
        })
    }

    /// Messages with arguments that depend on server state.
    fn fmt_state_error(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSuchServiceOrPool(n) => write!(f, "service/pool '{n}' does not exist"),
            Self::NonExistentPoolOrService(n) => write!(f, "Non-existent pool or service '{n}'"),
            Self::ServiceExists(n) => write!(f, "service '{n}' already exists"),
            Self::PoolExists(n) => write!(f, "pool '{n}' already exists"),
            Self::ServiceDoesNotExist(n) => write!(f, "service '{n}' does not exist"),
            Self::AlreadyEnabled(n) => write!(f, "service {n} is already enabled"),
            Self::AlreadyDisabled(n) => write!(f, "service {n} is already disabled"),
            Self::CantStartService {
                service,
                listen,
                reason,
            } => {
                write!(f, "Can't start service '{service}' on {listen}: {reason}")
            }
            Self::PoolDoesNotExist(n) => write!(f, "pool '{n}' does not exist"),
            Self::PluginNotLoaded { plugin, service } => {
                write!(
                    f,
                    "Plugin {plugin} not loaded; not registered for {service}."
                )
            }
            Self::UnknownPlugin(p) => write!(f, "Unknown/unloaded plugin '{p}'"),
            Self::PluginCantReload(p) => {
                write!(f, "Plugin Perlbal::Plugin::{p} doesn't support reloading")
            }
            Self::MimeNotDefined(ext) => write!(f, "{ext} not a defined extension."),
            Self::Other(text) => f.write_str(text),
            // Every other variant is covered by the two functions above.
            _ => Ok(()),
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(text) = self.fixed_text() {
            return f.write_str(text);
        }
        self.fmt_parse_error(f)
            .unwrap_or_else(|| self.fmt_state_error(f))
    }
}

impl std::error::Error for CommandError {}

/// The stderr warning printed when `nodefile`/`balance_method` is set on a service whose pool was
/// auto-vivified (POOL-8). Three lines, bare `\n` between them, trailing `\n` included.
pub fn vivified_pool_warning(service: &str, key: &str) -> String {
    format!(
        "WARNING: '{key}' set on service {service} on auto-vivified pool.\n         \
         This behavior is obsolete.  This value should be set on a\n         \
         pool object and not on a service.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> String {
        text.to_owned()
    }

    fn check(cases: Vec<(CommandError, &str)>) {
        for (error, text) in cases {
            assert_eq!(error.to_string(), text, "{error:?}");
        }
    }

    #[test]
    fn syntax_messages_match_the_original() {
        use CommandError as E;
        check(vec![
            (
                E::UnknownConfigVariable(s("foo")),
                "Unknown config variable: foo",
            ),
            (
                E::UnknownConfigVariableType(s("xx")),
                "Unknown config variable type: xx",
            ),
            (E::BogusIfaceName, "Bogus-looking iface name"),
            (
                E::InterfaceIpNotFound(s("lo")),
                "Can't find IP of interface 'lo'",
            ),
            (E::InvalidCommand, "invalid command"),
            (E::UnknownCommand(s("foo")), "unknown command: foo"),
            (
                E::Usage("usage: USE <service_or_pool_name>"),
                "usage: USE <service_or_pool_name>",
            ),
            (
                E::InvalidSyntax(s("pool")),
                "Invalid syntax to 'pool' command",
            ),
            (
                E::TakesNoArguments(s("help")),
                "The 'help' command takes no arguments",
            ),
            (E::PoolVerb, "Invalid command:  must be 'add' or 'remove'"),
            (E::UnknownXsModule, "Known XS modules: headers."),
        ]);
    }

    #[test]
    fn value_messages_match_the_original() {
        use CommandError as E;
        check(vec![
            (
                E::ExpectingBoolean(s("k")),
                "Expecting boolean value for parameter 'k'",
            ),
            (
                E::ExpectingInteger(s("k")),
                "Expecting integer value for parameter 'k'",
            ),
            (
                E::ExpectingSize(s("k")),
                "Expecting size unit value for parameter 'k' in bytes, or suffixed with 'K' or 'M'",
            ),
            (
                E::NotOneOf {
                    key: s("k"),
                    allowed: &["allow", "throttle"],
                },
                "Value of 'k' must be one of: allow, throttle",
            ),
            (E::Invalid("fixed text"), "fixed text"),
            (
                E::WrongRole {
                    key: s("pool"),
                    role: "reverse_proxy",
                },
                "The 'pool' option can only be set on a 'reverse_proxy' service",
            ),
            (E::EmptyRole, ""),
            (
                E::RoleNotValid { service: s("web") },
                "Role not valid for service web",
            ),
            (
                E::InvalidUdpEndpoint(s("x")),
                "Invalid UDP endpoint: \"x\".  Must be of form a.b.c.d:port",
            ),
            (
                E::TrustedUpstreamProxies(NetmaskError::NoneFound),
                "Error defining trusted upstream proxies: None found",
            ),
            (
                E::FileNotFound {
                    value: s("/x"),
                    key: s("ssl_key_file"),
                },
                "File '/x' not found for 'ssl_key_file'",
            ),
            (
                E::DirectoryNotFound {
                    value: s("/x"),
                    key: s("ssl_ca_path"),
                },
                "Directory '/x' not found for 'ssl_ca_path'",
            ),
            (
                E::DocrootNotFound { service: s("web") },
                "Directory not found for service web",
            ),
            (
                E::BufferUploadsPathNotFound {
                    value: s("/x"),
                    service: s("rp"),
                },
                "Directory (/x) not found for service rp (buffer_uploads_path)",
            ),
            (
                E::ServerProcessNotExecutable(s("/x")),
                "Server process (/x) not executable.",
            ),
            (E::PoolNotFound(s("p")), "Pool 'p' not found"),
            (E::DefaultServiceNotFound, "Service '' not found"),
            (
                E::UnknownServiceParameter(s("k")),
                "Unknown service parameter 'k'",
            ),
            (
                E::UnknownPoolParameter(s("k")),
                "Unknown pool parameter 'k'",
            ),
            (E::UnknownBalanceMethod, "Unknown balance method"),
            (E::NodefileNotFound, "File not found"),
            (E::NoPoolDefined, "No pool defined for service"),
        ]);
    }

    #[test]
    fn server_messages_match_the_original() {
        use CommandError as E;
        check(vec![
            (E::ExpectedNumeric, "Expected numeric parameter"),
            (E::UnknownAioMode, "Unknown AIO mode"),
            (E::ExpectedOneOrZero, "Expected 1 or 0"),
            (E::PidfileExpected, "Expected full pathname to pidfile"),
            (
                E::PidfileAfterStart,
                "pidfile must be configured at startup, before Perlbal::run is called",
            ),
            (E::UnknownServerOption(s("v")), "unknown server option 'v'"),
            (
                E::NeedRootForMaxConnections,
                "Need to be root to increase max connections.",
            ),
            (E::UnableToSetLimit, "Unable to set limit."),
            (
                E::UnableToRenice(s("Permission denied")),
                "Unable to renice: Permission denied",
            ),
        ]);
    }

    #[test]
    fn state_messages_match_the_original() {
        use CommandError as E;
        check(vec![
            (
                E::NoContext,
                "omitted service/pool name not implied from context",
            ),
            (
                E::NoServiceContext,
                "No service name in context from CREATE SERVICE <name> or USE <service_name>",
            ),
            (
                E::NoSuchServiceOrPool(s("n")),
                "service/pool 'n' does not exist",
            ),
            (
                E::NonExistentPoolOrService(s("n")),
                "Non-existent pool or service 'n'",
            ),
            (E::ServiceExists(s("n")), "service 'n' already exists"),
            (E::PoolExists(s("n")), "pool 'n' already exists"),
            (E::ServiceDoesNotExist(s("n")), "service 'n' does not exist"),
            (
                E::AlreadyEnabled(s("web")),
                "service web is already enabled",
            ),
            (
                E::AlreadyDisabled(s("web")),
                "service web is already disabled",
            ),
            (E::CantDisableManagement, "can't disable management service"),
            (
                E::CantStartService {
                    service: s("web"),
                    listen: s("127.0.0.1:80"),
                    reason: s(
                        "Error creating listening socket: IO::Socket::INET: Address already in use",
                    ),
                },
                "Can't start service 'web' on 127.0.0.1:80: Error creating listening socket: \
                 IO::Socket::INET: Address already in use",
            ),
            (E::UnknownService, "Unknown service"),
            (E::ServiceNotFound, "Service not found."),
            (E::PoolDoesNotExist(s("p")), "pool 'p' does not exist"),
            (E::NoHeaderProvided, "no header provided"),
            (E::NoValueProvided, "no value provided"),
            (
                E::PluginNotLoaded {
                    plugin: s("nosuch"),
                    service: s("v2"),
                },
                "Plugin nosuch not loaded; not registered for v2.",
            ),
            (E::UnknownPlugin(s("x")), "Unknown/unloaded plugin 'x'"),
            (
                E::PluginCantReload(s("Vhosts")),
                "Plugin Perlbal::Plugin::Vhosts doesn't support reloading",
            ),
            (E::MimeNotDefined(s("zzz")), "zzz not a defined extension."),
            (E::MimeSetUsage, "Usage: set <ext> <mime>"),
            (E::MimeUsage, "Usage: list, remove <ext>, set <ext> <mime>"),
            (E::XsUsage, "Usage: xs [ <enable|disable> <module> ]"),
            (E::XsEnableFailed, "Unable to enable module."),
            (E::XsDisableFailed, "Unable to disable module."),
            (
                E::LeaksDisabled,
                "command disabled without $ENV{PERLBAL_DEBUG} set",
            ),
            (
                E::ProfilingUnavailable,
                "Unable to enable profiling.  Please ensure you have the BSD::Resource module \
                 installed.",
            ),
            (
                E::BsdResourceMissing,
                "This command is not available unless BSD::Resource is installed",
            ),
            (E::Other(s("free text")), "free text"),
        ]);
    }

    #[test]
    fn vivify_conflict_keeps_doubled_prefix_and_bare_newlines() {
        let e = CommandError::VivifyPoolConflict {
            service: s("v2"),
            key: s("nodefile"),
        };
        assert_eq!(
            e.to_string(),
            "ERROR: Attempt to vivify pool v2_pool but one or more pools\n       have already \
             been created manually.  Please set nodefile on a\n       previously created pool."
        );
    }

    #[test]
    fn vivified_pool_warning_text() {
        assert_eq!(
            vivified_pool_warning("v1", "nodefile"),
            "WARNING: 'nodefile' set on service v1 on auto-vivified pool.\n         This \
             behavior is obsolete.  This value should be set on a\n         pool object and not \
             on a service.\n"
        );
    }
}
