//! The command line, parsed the way the original's Getopt::Long setup parses it (CLI-1..5).
//!
//! Long options may be abbreviated to any unique prefix, written with one or two dashes, in any
//! case, and take their value either as `--config=FILE` or as the next argument. Arguments that
//! are not options are ignored; `--` ends option processing. On top of the original's four
//! options we accept `--quickstart`, which runs the embedded demonstration config.

use std::fmt;

/// Where the original looks for a config when none is given (CLI-5).
pub const DEFAULT_CONFIG_PATH: &str = "/etc/perlbal/perlbal.conf";

/// The usage text printed by `--help` and after option errors (CLI-3).
pub const USAGE: &str = "Usage: perlbal [OPTS]
  --help           This usage info
  --version        Print perlbal release version
  --config=[file]  Specify Perlbal config file
                   (default: /etc/perlbal/perlbal.conf)
  --daemon         Daemonize
";

/// What the command line asked for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub config: Option<String>,
    pub daemon: bool,
    pub help: bool,
    pub version: bool,
    pub quickstart: bool,
}

/// One problem with the command line, worded as the original words it.
#[derive(Debug, PartialEq, Eq)]
pub enum OptionError {
    Unknown(String),
    Ambiguous(String, Vec<&'static str>),
    NeedsArgument(&'static str),
    TakesNoArgument(&'static str),
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionError::Unknown(name) => write!(f, "Unknown option: {name}"),
            OptionError::Ambiguous(name, candidates) => {
                write!(f, "Option {name} is ambiguous ({})", candidates.join(", "))
            }
            OptionError::NeedsArgument(name) => write!(f, "Option {name} requires an argument"),
            OptionError::TakesNoArgument(name) => {
                write!(f, "Option {name} does not take an argument")
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Spec {
    Flag(&'static str),
    Value(&'static str),
}

impl Spec {
    fn name(self) -> &'static str {
        match self {
            Spec::Flag(n) | Spec::Value(n) => n,
        }
    }
}

const SPECS: [Spec; 5] = [
    Spec::Flag("daemon"),
    Spec::Value("config"),
    Spec::Flag("help"),
    Spec::Flag("version"),
    Spec::Flag("quickstart"),
];

fn lookup(name: &str) -> Result<Spec, OptionError> {
    let lower = name.to_ascii_lowercase();
    if let Some(spec) = SPECS.iter().find(|s| s.name() == lower) {
        return Ok(*spec);
    }
    let matches: Vec<Spec> = SPECS
        .iter()
        .copied()
        .filter(|s| !lower.is_empty() && s.name().starts_with(&lower))
        .collect();
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => Err(OptionError::Unknown(name.to_string())),
        many => Err(OptionError::Ambiguous(
            name.to_string(),
            many.iter().map(|s| s.name()).collect(),
        )),
    }
}

/// Parses the arguments after the program name. All errors are collected, as the original
/// prints each before the usage text.
pub fn parse<I, S>(args: I) -> Result<Options, Vec<OptionError>>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut args = args.into_iter().map(Into::into);
    let mut opts = Options::default();
    let mut errors = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        let body = match arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) {
            Some(body) if !body.is_empty() => body,
            _ => continue, // not an option: ignored, as the original ignores it
        };
        let (name, inline_value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let spec = match lookup(name) {
            Ok(spec) => spec,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        match spec {
            Spec::Flag(flag) => {
                if inline_value.is_some() {
                    errors.push(OptionError::TakesNoArgument(flag));
                    continue;
                }
                match flag {
                    "daemon" => opts.daemon = true,
                    "help" => opts.help = true,
                    "version" => opts.version = true,
                    _ => opts.quickstart = true,
                }
            }
            Spec::Value(option) => match inline_value.or_else(|| args.next()) {
                Some(v) if !v.is_empty() => opts.config = Some(v),
                _ => errors.push(OptionError::NeedsArgument(option)),
            },
        }
    }
    if errors.is_empty() {
        Ok(opts)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(args: &[&str]) -> Options {
        match parse(args.iter().copied()) {
            Ok(o) => o,
            Err(e) => panic!("unexpected errors {e:?}"),
        }
    }

    fn errs(args: &[&str]) -> Vec<String> {
        match parse(args.iter().copied()) {
            Ok(o) => panic!("unexpected success {o:?}"),
            Err(e) => e.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn config_forms_cli_1() {
        for args in [
            &["--config=/x"][..],
            &["--config", "/x"],
            &["-c", "/x"],
            &["-c=/x"],
            &["--conf", "/x"],
            &["-CONFIG=/x"],
        ] {
            assert_eq!(ok(args).config.as_deref(), Some("/x"), "{args:?}");
        }
    }

    #[test]
    fn flags_take_any_unique_prefix_and_case() {
        assert!(ok(&["-v"]).version);
        assert!(ok(&["--VERSION"]).version);
        assert!(ok(&["-d"]).daemon);
        assert!(ok(&["--he"]).help);
        assert!(ok(&["--quick"]).quickstart);
    }

    #[test]
    fn config_value_may_look_like_an_option() {
        assert_eq!(
            ok(&["--config", "--version"]).config.as_deref(),
            Some("--version")
        );
    }

    #[test]
    fn later_config_wins_and_non_options_are_ignored() {
        let o = ok(&["foo", "--config=/a", "-", "--config=/b"]);
        assert_eq!(o.config.as_deref(), Some("/b"));
        assert!(ok(&["--", "--version"]) == Options::default());
    }

    #[test]
    fn errors_are_worded_like_getopt_long_cli_4() {
        assert_eq!(errs(&["--bogus"]), ["Unknown option: bogus"]);
        assert_eq!(errs(&["-vh"]), ["Unknown option: vh"]);
        assert_eq!(errs(&["---version"]), ["Unknown option: -version"]);
        assert_eq!(errs(&["--no-daemon"]), ["Unknown option: no-daemon"]);
        assert_eq!(errs(&["--config"]), ["Option config requires an argument"]);
        assert_eq!(errs(&["--config="]), ["Option config requires an argument"]);
        assert_eq!(
            errs(&["--daemon=1"]),
            ["Option daemon does not take an argument"]
        );
        assert_eq!(
            errs(&["-x", "-y"]),
            ["Unknown option: x", "Unknown option: y"]
        );
    }
}
