//! Command line (CLI-1..4, 6..8, 10): options and their Getopt abbreviations, usage text, exit
//! codes, startup errors of config files, and foreground output.
mod support;

use std::time::Duration;

use support::{expect_divergence, is_reference, run_perlbal, Kind, Perlbal, TempDir};

const USAGE: &str = "Usage: perlbal [OPTS]
  --help           This usage info
  --version        Print perlbal release version
  --config=[file]  Specify Perlbal config file
                   (default: /etc/perlbal/perlbal.conf)
  --daemon         Daemonize
";
const VERSION: &str = "Perlbal version 1.80\n";
const NOTHING_TO_DO: &str =
    "No services or management port configured.  Nothing to do.  Stopping.\n";
const WAIT: Duration = Duration::from_secs(10);

fn run(args: &[&str]) -> support::RunOutput {
    let dir = TempDir::new("cli");
    run_perlbal(Kind::UnderTest, args, dir.path(), WAIT)
}

/// Writes `config` to a temp dir and runs `perlbal --config=<file>` to its exit.
fn run_config(config: &str) -> (support::RunOutput, String) {
    let dir = TempDir::new("cli");
    let path = dir.path().join("perlbal.conf");
    std::fs::write(&path, config).expect("writing config");
    let arg = format!("--config={}", path.display());
    let out = run_perlbal(Kind::UnderTest, &[&arg], dir.path(), WAIT);
    (out, path.display().to_string())
}

#[test]
fn version_long_short_and_abbreviated_print_version_on_stdout() {
    for args in [
        &["--version"][..],
        &["-v"],
        &["--vers"],
        &["--config=/nonexistent", "--version"],
    ] {
        let out = run(args);
        assert_eq!(out.code(), 0, "{args:?}: {out:?}");
        assert_eq!(out.stdout, VERSION, "{args:?}");
        assert_eq!(out.stderr, "", "{args:?}");
    }
}

#[test]
fn help_long_short_and_abbreviated_print_usage_on_stderr() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["--he"],
        &["--help", "--version"],
        &["--version", "--help"],
    ] {
        let out = run(args);
        assert_eq!(out.code(), 0, "{args:?}: {out:?}");
        assert_eq!(
            out.stderr, USAGE,
            "{args:?} (CLI-3: --help wins over --version)"
        );
        assert_eq!(out.stdout, "", "{args:?}");
    }
}

#[test]
fn unknown_option_prints_name_and_usage_and_exits_1() {
    for (args, name) in [
        (&["--bogus"][..], "bogus"),
        (&["-x"], "x"),
        (&["--help", "--bogus"], "bogus"),
        (&["--bogus", "--version"], "bogus"),
    ] {
        let out = run(args);
        assert_eq!(out.code(), 1, "{args:?}: {out:?}");
        assert_eq!(
            out.stderr,
            format!("Unknown option: {name}\n{USAGE}"),
            "{args:?}"
        );
        assert_eq!(out.stdout, "", "{args:?}");
    }
}

#[test]
fn config_option_without_argument_is_a_usage_error() {
    let out = run(&["--config"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert_eq!(
        out.stderr,
        format!("Option config requires an argument\n{USAGE}")
    );
}

#[test]
fn missing_config_file_exits_with_errno() {
    // CLI-1 spellings of the option all reach the loader; CLI-6 message and errno exit code.
    let missing = "/nonexistent-perlbal-dir/perlbal.conf";
    let joined = format!("--config={missing}");
    let conf = format!("--conf={missing}");
    let abbrev = format!("--c={missing}");
    for args in [
        &[joined.as_str()][..],
        &["--config", missing],
        &["-c", missing],
        &[conf.as_str()],
        &[abbrev.as_str()],
    ] {
        let out = run(args);
        assert_eq!(out.code(), 2, "{args:?}: ENOENT is errno 2; {out:?}");
        assert_eq!(
            out.stderr,
            format!("Error opening config file ({missing}): No such file or directory\n"),
            "{args:?}"
        );
        assert_eq!(out.stdout, "", "{args:?}");
    }
}

#[test]
fn empty_or_comment_only_config_has_nothing_to_do() {
    // CLI-8: no listener after loading → exit 255.
    for config in [
        "",
        "# only a comment\n\n   \n",
        "CREATE SERVICE w\nSET w.role = web_server\n",
    ] {
        let (out, _) = run_config(config);
        assert_eq!(out.code(), 255, "config {config:?}: {out:?}");
        assert_eq!(out.stderr, NOTHING_TO_DO, "config {config:?}");
        assert_eq!(out.stdout, "", "config {config:?}");
    }
}

#[test]
fn bad_config_line_prints_error_and_stops_startup() {
    // CLI-7 / OBS-50: the failing line's ERROR on stdout, `Error starting up.` on stderr.
    let cases = [
        (
            "CREATE SERVICE a\nbogus line here\nSET x = 1\n",
            "unknown command: bogus",
            2,
        ),
        (
            "POOL ADD 127.0.0.1:18084\n",
            "Invalid syntax to 'pool' command",
            1,
        ),
        ("CREATE SERVICE a\n!x\n", "invalid command", 2),
        (
            "CREATE SERVICE w\nSET role = web_server\nSET docroot = /nonexistent-dir\n",
            "Directory not found for service w",
            3,
        ),
    ];
    for (config, message, line) in cases {
        let (out, path) = run_config(config);
        assert_ne!(out.code(), 0, "config {config:?} must fail: {out:?}");
        assert!(
            out.stderr.ends_with("Error starting up.\n"),
            "config {config:?}: stderr {:?}",
            out.stderr
        );
        let error_lines: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.starts_with("ERROR: "))
            .collect();
        assert_eq!(
            error_lines.len(),
            1,
            "config {config:?}: stdout {:?}",
            out.stdout
        );
        assert!(
            error_lines[0].ends_with(message),
            "config {config:?}: {:?} should end with {message:?}",
            error_lines[0]
        );
        if is_reference() {
            assert_eq!(out.stdout, format!("ERROR: {message}\n"));
            assert_eq!(out.stderr, "Error starting up.\n");
        } else {
            // Ours also says where (CLI-7, LIM-9): file:line, on stdout or stderr.
            let location = format!("{path}:{line}");
            assert!(
                out.stdout.contains(&location) || out.stderr.contains(&location),
                "config {config:?}: expected {location} in output {out:?}"
            );
        }
    }
}

#[test]
fn verbose_config_prints_ok_for_lines_before_the_failure() {
    // CFG-10, CFG-29: lines before the failing one were applied (and acknowledged).
    let config = "VERBOSE ON\nCREATE SERVICE w\nSET role = web_server\nSET docroot = /nonexistent-dir\nCREATE SERVICE never\n";
    let (out, _) = run_config(config);
    assert_ne!(out.code(), 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    // `VERBOSE ON` itself answers OK (verbose already), then CREATE and SET role.
    assert_eq!(lines.len(), 4, "{out:?}");
    assert_eq!(&lines[..3], &["OK", "OK", "OK"][..]);
    assert!(
        lines[3].starts_with("ERROR: ") && lines[3].ends_with("Directory not found for service w")
    );
}

#[test]
fn unknown_pool_parameter_in_config_fails_startup() {
    // POOL-7 / OBS-50: the original prints no ERROR line at all; we name the key.
    let (out, _) = run_config("CREATE POOL p\nSET p foo = bar\n");
    assert_ne!(out.code(), 0, "{out:?}");
    assert!(out.stderr.ends_with("Error starting up.\n"), "{out:?}");
    if is_reference() {
        assert_eq!(out.stdout, "");
    }
    if expect_divergence("POOL-7") {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with("ERROR: ") && l.ends_with("Unknown pool parameter 'foo'")),
            "{out:?}"
        );
    }
}

#[test]
fn foreground_run_prints_running_and_shutdown_exits_zero() {
    // CLI-10: `Running.` on stdout; PROC-6: `shutdown` exits 0. The original block-buffers stdout
    // so the text only appears at exit; ours writes it while running.
    let server = Perlbal::under_test(
        "CREATE SERVICE mgmt\nSET role = management\nSET listen = 127.0.0.1:{mgmt_port}\nENABLE mgmt\n",
    );
    if expect_divergence("CLI-10") {
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while !server.stdout().starts_with("Running.\n") && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            server.stdout().starts_with("Running.\n"),
            "{}",
            server.describe()
        );
    }
    let mut m = server.mgmt();
    m.send_line("shutdown");
    let status = server
        .wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("still running after shutdown\n{}", server.describe()));
    assert_eq!(status.code(), Some(0), "{}", server.describe());
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        server.stdout().starts_with("Running.\n"),
        "{}",
        server.describe()
    );
}
