//! A real nginx as a proxy backend: a private, foreground, single-process instance on a loopback
//! port, with its config, pid file, logs and temp paths in a temp dir (nothing system-wide is
//! touched). It serves a docroot and two fixed locations:
//!
//! * `/ok` → `return 200 "ok <connection> <connection_requests>\n"` (text/plain), so a test can
//!   see on the backend's side which TCP connection served a request and how many requests that
//!   connection has carried (keep-alive reuse);
//! * `/status/418` → `return 418`.
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::ports::free_port;
use super::tempdir::TempDir;

/// Where Debian installs nginx.
pub const NGINX_BIN: &str = "/usr/sbin/nginx";

/// A running nginx; killed (with its config dir removed) on drop.
#[derive(Debug)]
pub struct Nginx {
    child: Child,
    dir: TempDir,
    port: u16,
}

fn config(dir: &Path, docroot: &Path, port: u16) -> String {
    let d = dir.display();
    format!(
        "# Test backend for the perlbal reverse-proxy suite.
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{
  worker_connections 1024;
}}
http {{
  default_type application/octet-stream;
  types {{ text/plain txt; }}
  access_log off;
  sendfile on;
  keepalive_requests 10000;
  keepalive_timeout 60s;
  client_body_temp_path {d}/client-body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {root};
    location = /ok {{
      default_type text/plain;
      return 200 \"ok $connection $connection_requests\\n\";
    }}
    location = /status/418 {{
      return 418;
    }}
    location / {{ }}
  }}
}}
",
        root = docroot.display()
    )
}

impl Nginx {
    /// Starts nginx serving `docroot`; panics if it is not installed or does not come up.
    pub fn start(docroot: &Path) -> Nginx {
        assert!(
            Path::new(NGINX_BIN).exists(),
            "{NGINX_BIN} is required by the reverse-proxy tests (apt-get install nginx)"
        );
        let mut last = String::new();
        for _attempt in 0..3 {
            match Nginx::try_start(docroot) {
                Ok(n) => return n,
                Err(why) => last = why,
            }
        }
        panic!("nginx did not start: {last}");
    }

    fn try_start(docroot: &Path) -> Result<Nginx, String> {
        let dir = TempDir::new("nginx");
        let port = free_port();
        let conf: PathBuf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config(dir.path(), docroot, port)).expect("writing nginx.conf");
        let child = Command::new(NGINX_BIN)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawning {NGINX_BIN}: {e}"))?;
        let mut nginx = Nginx { child, dir, port };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                return Err(format!("nginx exited with {status}: {}", nginx.error_log()));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(nginx);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "nginx not listening on {port}: {}",
                    nginx.error_log()
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    pub fn node(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses an `/ok` body into (connection serial, requests on that connection).
pub fn parse_ok(body: &[u8]) -> Option<(u64, u64)> {
    let text = std::str::from_utf8(body).ok()?;
    let mut words = text.trim_end().split(' ');
    if words.next()? != "ok" {
        return None;
    }
    let conn = words.next()?.parse().ok()?;
    let reqs = words.next()?.parse().ok()?;
    Some((conn, reqs))
}
