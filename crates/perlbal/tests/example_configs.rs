//! The example configs load unchanged (CFG-30): the original's, as Debian ships them in
//! /usr/share/doc/perlbal/examples, and ours in conf/ — only listen addresses are moved to free
//! loopback ports and the node file is given by absolute path.
//!
//! The examples that need plugins or TLS stop start-up with a clear "not supported by this
//! build yet" error until those parts exist.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::http::get10;
use support::{is_reference, run_perlbal, Kind, Perlbal, TempDir};

const ORIGINAL_EXAMPLES: &str = "/usr/share/doc/perlbal/examples";

fn ours_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conf")
}

/// Moves every `SET listen = …` to 127.0.0.1 on `port(<service>)` and points
/// `conf/nodelist.dat` at `nodelist`.
fn localize(text: &str, nodelist: &Path, port: &dyn Fn(&str) -> String) -> String {
    let mut service = String::new();
    text.lines()
        .map(|line| {
            let trimmed = line.trim_start();
            if let Some(name) = trimmed.strip_prefix("CREATE SERVICE ") {
                service = name.trim().to_string();
            }
            if trimmed.starts_with("SET listen") {
                format!("  SET listen = 127.0.0.1:{}", port(&service))
            } else {
                line.replace("conf/nodelist.dat", &nodelist.display().to_string())
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// A template with a `{<service>_port}` placeholder per listening service.
fn template(dir: &Path, name: &str) -> String {
    localize(&read(dir, name), &dir.join("nodelist.dat"), &|service| {
        format!("{{{service}_port}}")
    })
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name))
        .unwrap_or_else(|e| panic!("reading {}/{name}: {e}", dir.display()))
}

fn example_dirs() -> Vec<PathBuf> {
    vec![PathBuf::from(ORIGINAL_EXAMPLES), ours_dir()]
}

#[test]
fn webserver_example_serves_its_docroot() {
    for dir in example_dirs() {
        let s = Perlbal::start(Kind::UnderTest, &template(&dir, "webserver.conf"));
        let r = get10(s.port("docs"), "/");
        assert_eq!(r.status_line, "HTTP/1.0 200 OK", "{}", dir.display());
        assert!(
            String::from_utf8_lossy(&r.body).contains("<a href='/perlbal/'>"),
            "listing of /usr/share/doc/"
        );
        let mut m = s.mgmt();
        assert_eq!(m.listing("show service").len(), 2);
    }
}

#[test]
fn load_balancer_example_loads_its_pools() {
    for dir in example_dirs() {
        let s = Perlbal::start(Kind::UnderTest, &template(&dir, "load-balancer.conf"));
        let mut m = s.mgmt();
        let pools = m.listing("show pool");
        assert!(
            pools.contains(&"my_apaches nodes 4".to_string()),
            "{pools:?}"
        );
        assert!(
            pools.contains(&"dynamic services 1".to_string()),
            "{pools:?}"
        );
        let nodes = m.listing("show pool dynamic");
        assert!(!nodes.is_empty(), "node file loaded: {nodes:?}");
    }
}

#[test]
fn examples_needing_plugins_or_tls_fail_clearly_for_now() {
    if is_reference() {
        return; // The original has them; these expectations are about this build.
    }
    let cases = [
        (
            "virtual-hosts.conf",
            "Plugin 'Vhosts' is not supported by this build yet",
        ),
        (
            "echoservice.conf",
            "Plugin 'EchoService' is not supported by this build yet",
        ),
        (
            "not-modified-plugin.conf",
            "Plugin 'Vhosts' is not supported by this build yet",
        ),
        ("ssl.conf", "TLS is not supported by this build yet"),
    ];
    for dir in example_dirs() {
        for (name, message) in cases {
            let tmp = TempDir::new("example");
            let text = localize(&read(&dir, name), &dir.join("nodelist.dat"), &|_| {
                "0".into()
            });
            let path = tmp.path().join(name);
            std::fs::write(&path, text).expect("writing config");
            let arg = format!("--config={}", path.display());
            let out = run_perlbal(
                Kind::UnderTest,
                &[&arg],
                tmp.path(),
                Duration::from_secs(10),
            );
            assert_ne!(out.code(), 0, "{name} must not start");
            assert!(
                out.stdout.contains(message) && out.stderr.contains("Error starting up."),
                "{}/{name}: {out:?}",
                dir.display()
            );
            assert!(
                out.stderr.contains(&format!("{name}:")),
                "names the file: {out:?}"
            );
        }
    }
}
