//! `perlbal-sendstats`: announces a backend host's spare capacity to a pool's StatsListener
//! (`SET <pool>.balance_method = sendstats`, `SET <pool>.sendstats.listen = ip:port`).
//!
//! ```text
//! perlbal-sendstats --to 10.0.0.1:4000 --free 12 --active 4 [--port 8080] [--once]
//! perlbal-sendstats --to 10.0.0.1:4000 --from /run/myapp/workers [--interval 1]
//! ```
//!
//! With `--from`, the file is read before every announcement; it holds two numbers, free and
//! active workers (`"12 4"`, or lines `free=12` / `active=4`), so an application server can
//! keep it current. Each announcement is one UDP datagram:
//! `bcast_ver=1\nfree=<n>\nactive=<n>\n[port=<n>\n]`.

use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "Usage: perlbal-sendstats --to IP:PORT (--free N --active N | --from FILE)
                         [--port NODE_PORT] [--interval SECONDS] [--once]
";

struct Options {
    to: SocketAddr,
    source: Source,
    port: Option<u16>,
    interval: Duration,
    once: bool,
}

enum Source {
    Fixed { free: u64, active: u64 },
    File(String),
}

fn parse_options(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let (mut to, mut free, mut active, mut from, mut port) = (None, None, None, None, None);
    let mut interval = Duration::from_secs(1);
    let mut once = false;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--to" => to = Some(value("--to")?.parse().map_err(|_| "--to must be ip:port")?),
            "--free" => {
                free = Some(
                    value("--free")?
                        .parse()
                        .map_err(|_| "--free must be a number")?,
                )
            }
            "--active" => {
                active = Some(
                    value("--active")?
                        .parse()
                        .map_err(|_| "--active must be a number")?,
                )
            }
            "--from" => from = Some(value("--from")?),
            "--port" => {
                port = Some(
                    value("--port")?
                        .parse()
                        .map_err(|_| "--port must be a port")?,
                )
            }
            "--interval" => {
                let secs: f64 = value("--interval")?
                    .parse()
                    .map_err(|_| "--interval must be seconds")?;
                interval = Duration::from_secs_f64(secs.max(0.1));
            }
            "--once" => once = true,
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let source = match (from, free, active) {
        (Some(path), None, None) => Source::File(path),
        (None, Some(free), Some(active)) => Source::Fixed { free, active },
        _ => return Err("give either --from FILE or both --free and --active".into()),
    };
    Ok(Options {
        to: to.ok_or("--to is required")?,
        source,
        port,
        interval,
        once,
    })
}

/// Reads `free active` (or `free=`/`active=` lines) from `text`.
fn parse_counts(text: &str) -> Option<(u64, u64)> {
    let mut numbers = Vec::new();
    for token in text.split(|c: char| c.is_whitespace() || c == ',') {
        let value = token.rsplit('=').next().unwrap_or(token);
        if let Ok(n) = value.parse::<u64>() {
            numbers.push(n);
        }
    }
    match numbers.as_slice() {
        [free, active, ..] => Some((*free, *active)),
        _ => None,
    }
}

fn datagram(free: u64, active: u64, port: Option<u16>) -> String {
    let mut text = format!("bcast_ver=1\nfree={free}\nactive={active}\n");
    if let Some(port) = port {
        text.push_str(&format!("port={port}\n"));
    }
    text
}

fn main() -> ExitCode {
    let opts = match parse_options(std::env::args().skip(1)) {
        Ok(opts) => opts,
        Err(why) => {
            if !why.is_empty() {
                eprintln!("perlbal-sendstats: {why}");
            }
            eprint!("{USAGE}");
            return ExitCode::from(if why.is_empty() { 0 } else { 1 });
        }
    };
    let bind = if opts.to.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = match UdpSocket::bind(bind) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("perlbal-sendstats: cannot open a UDP socket: {e}");
            return ExitCode::from(1);
        }
    };
    loop {
        let counts = match &opts.source {
            Source::Fixed { free, active } => Some((*free, *active)),
            Source::File(path) => std::fs::read_to_string(path)
                .ok()
                .as_deref()
                .and_then(parse_counts),
        };
        match counts {
            Some((free, active)) => {
                if let Err(e) =
                    socket.send_to(datagram(free, active, opts.port).as_bytes(), opts.to)
                {
                    eprintln!("perlbal-sendstats: sending to {}: {e}", opts.to);
                }
            }
            None => eprintln!("perlbal-sendstats: no worker counts to announce"),
        }
        if opts.once {
            return ExitCode::SUCCESS;
        }
        std::thread::sleep(opts.interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_read_in_either_form() {
        assert_eq!(parse_counts("12 4\n"), Some((12, 4)));
        assert_eq!(parse_counts("free=12\nactive=4\n"), Some((12, 4)));
        assert_eq!(parse_counts("nothing"), None);
    }

    #[test]
    fn datagrams_have_the_announcement_format() {
        assert_eq!(datagram(3, 7, None), "bcast_ver=1\nfree=3\nactive=7\n");
        assert_eq!(
            datagram(0, 1, Some(8080)),
            "bcast_ver=1\nfree=0\nactive=1\nport=8080\n"
        );
    }
}
