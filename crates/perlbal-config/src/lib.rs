//! The perlbal command language, free of I/O.
//!
//! Config files and the management port speak one language (CFG): one command per line. This
//! crate turns a raw line into a typed [`Command`] with validated arguments, and every failure
//! into a [`CommandError`] whose `Display` is exactly the text the original Perlbal 1.80 prints
//! after `ERROR: `. Applying commands to services, pools and plugins is the server's job.
//!
//! ```text
//! raw line ──Line::lex──▶ Line ──Command::parse──▶ Command ──server──▶ state change / output
//!            (CFG-1..5)          (CFG-6, MGMT-7..38)
//! ```
//!
//! * [`lexer`] — comments, whitespace, `${ip:iface}` and `$ENV` expansion (through
//!   [`Environment`], which the server implements), lowercasing before `=`.
//! * [`command`] — the [`Command`] enum and its grammar.
//! * [`tunable`](mod@tunable) — the table of service tunables (SVC-1..58), [`Role`], value checks, the
//!   `SET` key classification of CFG-14 and the `dumpconfig` rules.
//! * [`server_param`] — `SERVER` keys (SRV-1..9).
//! * [`pool_param`] — pool keys (POOL-2..7).
//! * [`value`] — CFG-9 value types and the Perl value semantics they rest on.
//! * [`error`] — [`CommandError`].
//!
//! Lines are `&str`. The original reads bytes, and every rule here is ASCII-only, so any
//! decoding that keeps ASCII as ASCII parses the same; [`parse_line_bytes`] decodes lossily.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod command;
pub mod error;
pub mod lexer;
pub mod pool_param;
pub mod server_param;
mod text;
pub mod tunable;
pub mod value;

pub use command::{
    Command, HeaderAction, HeaderCommand, HeaderEdit, MimeCommand, ObjectKind, PoolAction,
    PoolCommand, ProfAction, SetCommand, ShowCommand, ShutdownMode, SocksMode, XsCommand,
};
pub use error::{vivified_pool_warning, CommandError, NetmaskError, KNOWN_XS_MODULES};
pub use lexer::{EmptyEnvironment, Environment, Line};
pub use pool_param::PoolParam;
pub use server_param::{AioMode, ServerParam};
pub use tunable::{
    classify_service_key, tunable, tunables, tunables_survive_unload, DefaultValue, Dump,
    ExternalCheck, Netmask, Role, Roles, ServiceKey, Setting, Tunable, TunableValue, ValueKind,
};

/// Lexes and parses one line. `Ok(None)` means the line holds no command (blank or comment).
/// Never panics, whatever the input.
pub fn parse_line(raw: &str, env: &dyn Environment) -> Result<Option<Command>, CommandError> {
    match Line::lex(raw, env)? {
        Some(line) => Command::parse(&line).map(Some),
        None => Ok(None),
    }
}

/// [`parse_line`] for raw bytes; invalid UTF-8 becomes U+FFFD, which no grammar rule matches.
pub fn parse_line_bytes(
    raw: &[u8],
    env: &dyn Environment,
) -> Result<Option<Command>, CommandError> {
    parse_line(&String::from_utf8_lossy(raw), env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_line_runs_lexer_then_parser() {
        assert_eq!(parse_line("  # nothing", &EmptyEnvironment), Ok(None));
        assert_eq!(
            parse_line("HELP", &EmptyEnvironment),
            Ok(Some(Command::Help))
        );
        assert_eq!(
            parse_line("-x", &EmptyEnvironment),
            Err(CommandError::InvalidCommand)
        );
        assert_eq!(
            parse_line("${x}", &EmptyEnvironment),
            Err(CommandError::UnknownConfigVariable("x".into()))
        );
    }

    #[test]
    fn parse_line_bytes_decodes_lossily() {
        assert_eq!(
            parse_line_bytes(b"use caf\xe9", &EmptyEnvironment),
            Err(CommandError::Usage("usage: USE <service_or_pool_name>"))
        );
        assert_eq!(
            parse_line_bytes(b"help\r\n", &EmptyEnvironment),
            Ok(Some(Command::Help))
        );
    }

    /// A small xorshift generator, so the property test needs no dependency and is repeatable.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Fragments that steer random lines into every parser's interesting corners.
    const FRAGMENTS: &[&str] = &[
        "set ",
        "create ",
        "pool ",
        "header ",
        "server ",
        "mime ",
        "xs ",
        "nodes ",
        "show ",
        "shutdown ",
        "socks ",
        "states ",
        "state ",
        "load ",
        "default ",
        "use ",
        "enable ",
        "verbose ",
        "prof ",
        "leaks ",
        "service ",
        "add ",
        "remove ",
        "insert ",
        "graceful",
        "=",
        " = ",
        ":",
        ".",
        ",",
        "#",
        "$",
        "${",
        "}",
        "ip:",
        "1.2.3.4",
        "0",
        "9999",
        " ",
        "\t",
        "\n",
        "\r",
        "é",
        "\u{FFFD}",
        "(",
        ")",
        "x",
        "_",
        "-",
        "/",
    ];

    #[test]
    fn hostile_random_lines_never_panic() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let len = (rng.next() % 40) as usize;
            let mut bytes = Vec::with_capacity(len * 4);
            for _ in 0..len {
                // One part in three is a raw byte, the rest are grammar fragments.
                if rng.next() % 3 < 2 {
                    let fragment = FRAGMENTS[(rng.next() as usize) % FRAGMENTS.len()];
                    bytes.extend_from_slice(fragment.as_bytes());
                } else {
                    bytes.push((rng.next() % 256) as u8);
                }
            }
            let _ = parse_line_bytes(&bytes, &EmptyEnvironment);
        }
    }

    #[test]
    fn hostile_long_lines_finish_quickly() {
        let started = std::time::Instant::now();
        for line in [
            format!("nodes {}", "1".repeat(100_000)),
            format!("pool add p {}", "1.".repeat(50_000)),
            format!("header s insert x{}", ":".repeat(100_000)),
            format!("header s insert {}", " :".repeat(50_000)),
            format!("set {} = v", "a.".repeat(50_000)),
            format!("server {} = v", "=".repeat(100_000)),
            format!("mime set {}", "a ".repeat(50_000)),
            "${".repeat(50_000),
            "$a".repeat(50_000),
        ] {
            let _ = parse_line(&line, &EmptyEnvironment);
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
