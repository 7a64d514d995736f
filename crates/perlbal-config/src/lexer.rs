//! Line normalisation and expansion (CFG-1..5): raw text in, one [`Line`] (or nothing) out.
//!
//! Order, as in the original: drop everything from the first `#`; trim; collapse whitespace runs
//! to one space (this is the `original` text, kept for LOAD's plugin-name case, CFG-20); expand
//! `${ip:<iface>}`; expand `$NAME` from the environment (unset → empty); lowercase everything
//! before the first `=`. A result that does not start with a non-space character is no command.
//!
//! Expansion goes through [`Environment`], which the server implements (process environment and
//! `getifaddrs`). A failed `${...}` is an ordinary error here; the original crashed (PROC-9).

use crate::error::CommandError;
use crate::text::{ascii_lower, is_space, is_word_str, word_len};

/// Where `$NAME` and `${ip:<iface>}` get their values.
pub trait Environment {
    /// The value of environment variable `name`, if set.
    fn var(&self, name: &str) -> Option<String>;
    /// The IPv4 address of network interface `iface` in dotted-quad form, if it has one.
    fn interface_ip(&self, iface: &str) -> Option<String>;
}

/// An environment with no variables and no interfaces: `$X` expands to nothing and every
/// `${ip:...}` fails. Useful for commands the server generates itself, and for fuzzing.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyEnvironment;

impl Environment for EmptyEnvironment {
    fn var(&self, _name: &str) -> Option<String> {
        None
    }

    fn interface_ip(&self, _iface: &str) -> Option<String> {
        None
    }
}

/// One normalised command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    original: String,
    text: String,
}

impl Line {
    /// Normalises and expands one raw line. `Ok(None)` means there is nothing to run (blank,
    /// comment-only, or expanded to something starting with whitespace); such lines succeed
    /// silently (CFG-2, MGMT-41).
    pub fn lex(raw: &str, env: &dyn Environment) -> Result<Option<Line>, CommandError> {
        let original = normalise(raw);
        let expanded = expand_env_vars(&expand_config_vars(&original, env)?, env);
        let text = lowercase_before_equals(&expanded);
        if text.chars().next().is_none_or(is_space) {
            return Ok(None);
        }
        Ok(Some(Line { original, text }))
    }

    /// The text commands are parsed from: expanded, and lowercased before the first `=`.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The normalised text before expansion and lowercasing.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// The leading `\w+` word of [`Line::text`], which selects the command (CFG-6); `None` when
    /// the line starts with something else (`ERROR: invalid command`).
    pub fn command_word(&self) -> Option<&str> {
        let len = word_len(&self.text);
        (len > 0).then(|| &self.text[..len])
    }
}

/// Removes the first `#` up to the end of its line, trims, and collapses whitespace runs.
fn normalise(raw: &str) -> String {
    let (before, after) = match raw.find('#') {
        Some(hash) => {
            let end = raw[hash..].find('\n').map_or(raw.len(), |nl| hash + nl);
            (&raw[..hash], &raw[end..])
        }
        None => (raw, ""),
    };
    let mut out = String::with_capacity(before.len() + after.len());
    let words = before.split(is_space).chain(after.split(is_space));
    for word in words.filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// `${type:arg}` expansion; the body is the shortest non-empty text up to a `}`.
fn expand_config_vars(line: &str, env: &dyn Environment) -> Result<String, CommandError> {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find("${") {
        let body_start = start + 2;
        // The body needs at least one character, so the closing brace is searched after it.
        let close = rest[body_start..].chars().next().and_then(|first| {
            let from = body_start + first.len_utf8();
            rest[from..].find('}').map(|i| from + i)
        });
        match close {
            Some(close) => {
                out.push_str(&rest[..start]);
                out.push_str(&config_var(&rest[body_start..close], env)?);
                rest = &rest[close + 1..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Resolves one `${...}` body.
fn config_var(body: &str, env: &dyn Environment) -> Result<String, CommandError> {
    let kind_len = word_len(body);
    let arg = body[kind_len..].strip_prefix(':').filter(|a| !a.is_empty());
    let (kind, arg) = match arg {
        Some(arg) if kind_len > 0 => (&body[..kind_len], arg),
        _ => return Err(CommandError::UnknownConfigVariable(body.to_owned())),
    };
    if kind != "ip" {
        return Err(CommandError::UnknownConfigVariableType(kind.to_owned()));
    }
    if !is_word_str(arg) {
        return Err(CommandError::BogusIfaceName);
    }
    env.interface_ip(arg)
        .ok_or_else(|| CommandError::InterfaceIpNotFound(arg.to_owned()))
}

/// `$NAME` expansion (CFG-4): a `$` followed by word characters; unset variables expand to "".
fn expand_env_vars(line: &str, env: &dyn Environment) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let name_len = word_len(after);
        if name_len == 0 {
            out.push('$');
        } else if let Some(value) = env.var(&after[..name_len]) {
            out.push_str(&value);
        }
        rest = &after[name_len..];
    }
    out.push_str(rest);
    out
}

/// Lowercases everything before the first `=` (CFG-5).
fn lowercase_before_equals(line: &str) -> String {
    match line.find('=') {
        Some(eq) => {
            let mut out = ascii_lower(&line[..eq]);
            out.push_str(&line[eq..]);
            out
        }
        None => ascii_lower(line),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A fixed environment for tests.
    #[derive(Default)]
    pub(crate) struct FakeEnv {
        pub vars: HashMap<String, String>,
        pub ifaces: HashMap<String, String>,
    }

    impl FakeEnv {
        pub(crate) fn with_var(mut self, k: &str, v: &str) -> Self {
            self.vars.insert(k.to_owned(), v.to_owned());
            self
        }
        pub(crate) fn with_iface(mut self, k: &str, v: &str) -> Self {
            self.ifaces.insert(k.to_owned(), v.to_owned());
            self
        }
    }

    impl Environment for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.vars.get(name).cloned()
        }
        fn interface_ip(&self, iface: &str) -> Option<String> {
            self.ifaces.get(iface).cloned()
        }
    }

    fn lex(raw: &str) -> Option<Line> {
        Line::lex(raw, &EmptyEnvironment).expect("lexes")
    }

    fn text(raw: &str) -> Option<String> {
        lex(raw).map(|l| l.text().to_owned())
    }

    #[test]
    fn comment_is_cut_from_first_hash_even_inside_values() {
        assert_eq!(text("set x = a#b"), Some("set x = a".into()));
        assert_eq!(text("# only a comment"), None);
        assert_eq!(text("  "), None);
        assert_eq!(text(""), None);
    }

    #[test]
    fn comment_stops_at_newline_like_perl_dot() {
        assert_eq!(text("a#b\nc#d"), Some("a c#d".into()));
    }

    #[test]
    fn whitespace_is_trimmed_and_collapsed() {
        assert_eq!(
            text(" \tCREATE\tPOOL   x \r\n"),
            Some("create pool x".into())
        );
        assert_eq!(text("a\x0B\x0Cb"), Some("a b".into()));
    }

    #[test]
    fn lowercases_only_before_first_equals() {
        let line = lex("SET Svc.Key = MixedCase=More").expect("line");
        assert_eq!(line.text(), "set svc.key = MixedCase=More");
        assert_eq!(line.original(), "SET Svc.Key = MixedCase=More");
        assert_eq!(
            text("HEADER svc INSERT X-Foo: Bar"),
            Some("header svc insert x-foo: bar".into())
        );
        assert_eq!(text("=FOO"), Some("=FOO".into()));
    }

    #[test]
    fn non_ascii_letters_are_not_lowercased() {
        assert_eq!(text("CRÉER"), Some("crÉer".into()));
    }

    #[test]
    fn env_vars_expand_and_unset_ones_vanish() {
        let env = FakeEnv::default()
            .with_var("PORT", "8080")
            .with_var("Mixed", "ABC");
        let line = Line::lex("SET listen = $PORT", &env).unwrap().unwrap();
        assert_eq!(line.text(), "set listen = 8080");
        assert_eq!(line.original(), "SET listen = $PORT");
        let line = Line::lex("set x = $Mixed$UNSET-$ $", &env)
            .unwrap()
            .unwrap();
        assert_eq!(line.text(), "set x = ABC-$ $");
        let line = Line::lex("set x = $$Mixed", &env).unwrap().unwrap();
        assert_eq!(line.text(), "set x = $ABC");
    }

    #[test]
    fn expansion_to_leading_space_is_no_command() {
        assert_eq!(text("$UNSET create pool x"), None);
        assert_eq!(text("$UNSET"), None);
        let env = FakeEnv::default().with_var("SP", " x");
        assert_eq!(Line::lex("$SP", &env), Ok(None));
    }

    #[test]
    fn env_values_are_not_renormalised() {
        let env = FakeEnv::default().with_var("V", "A  B");
        let line = Line::lex("set x = $V", &env).unwrap().unwrap();
        assert_eq!(line.text(), "set x = A  B");
        // Before the `=`, expanded text is lowercased too.
        let line = Line::lex("$V = 1", &env).unwrap().unwrap();
        assert_eq!(line.text(), "a  b = 1");
    }

    #[test]
    fn ip_variable_expands_through_environment() {
        let env = FakeEnv::default().with_iface("eth0", "10.0.0.5");
        let line = Line::lex("SET listen = ${ip:eth0}:80", &env)
            .unwrap()
            .unwrap();
        assert_eq!(line.text(), "set listen = 10.0.0.5:80");
        assert_eq!(line.original(), "SET listen = ${ip:eth0}:80");
    }

    #[test]
    fn config_variable_errors_are_ordinary_errors_not_crashes() {
        let env = FakeEnv::default();
        let err = |raw: &str| Line::lex(raw, &env).unwrap_err();
        assert_eq!(
            err("${foo}"),
            CommandError::UnknownConfigVariable("foo".into())
        );
        assert_eq!(
            err("${ip:}"),
            CommandError::UnknownConfigVariable("ip:".into())
        );
        assert_eq!(
            err("${:x}"),
            CommandError::UnknownConfigVariable(":x".into())
        );
        assert_eq!(
            err("${xx:lo}"),
            CommandError::UnknownConfigVariableType("xx".into())
        );
        assert_eq!(
            err("${IP:lo}"),
            CommandError::UnknownConfigVariableType("IP".into())
        );
        assert_eq!(err("${ip:lo-x}"), CommandError::BogusIfaceName);
        assert_eq!(
            err("${ip:lo}"),
            CommandError::InterfaceIpNotFound("lo".into())
        );
        assert_eq!(
            err("x ${ip:lo} ${foo}"),
            CommandError::InterfaceIpNotFound("lo".into())
        );
    }

    #[test]
    fn config_variable_body_is_shortest_non_empty() {
        let env = FakeEnv::default();
        assert_eq!(
            Line::lex("${}}", &env).unwrap_err(),
            CommandError::UnknownConfigVariable("}".into())
        );
        assert_eq!(
            Line::lex("${a}b}", &env).unwrap_err(),
            CommandError::UnknownConfigVariable("a".into())
        );
        // Unclosed or empty bodies are left alone.
        assert_eq!(
            Line::lex("set x = ${", &env).unwrap().unwrap().text(),
            "set x = ${"
        );
        assert_eq!(
            Line::lex("set x = ${}", &env).unwrap().unwrap().text(),
            "set x = ${}"
        );
    }

    #[test]
    fn command_word_is_leading_word() {
        assert_eq!(lex("show service").unwrap().command_word(), Some("show"));
        assert_eq!(lex("-foo").unwrap().command_word(), None);
        assert_eq!(lex("=foo").unwrap().command_word(), None);
        assert_eq!(lex("help=x").unwrap().command_word(), Some("help"));
    }
}
