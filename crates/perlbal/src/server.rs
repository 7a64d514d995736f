//! Start-up and the run loop (PROC-1): load the config (binding listeners as `ENABLE` lines run),
//! refuse to run with nothing to do, print `Running.`, start one worker per core, accept, and
//! wait until a shutdown asks the process to exit.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

use crate::cli::{Options, DEFAULT_CONFIG_PATH};
use crate::control;
use crate::logging;
use crate::registry::unix_now;
use crate::runtime::{default_worker_count, Workers};

/// The release this binary is a drop-in replacement for.
pub const VERSION: &str = "1.80";

/// The config `--quickstart` runs: a web server on the current directory and a management
/// port, both on loopback.
const QUICKSTART_CONFIG: &str = include_str!("../../../conf/quickstart.conf");

/// Process-wide facts and counters.
#[derive(Debug)]
pub struct Server {
    start_time: u64,
    requests: AtomicU64,
    exit_code: Mutex<Option<u8>>,
    exit_signal: Condvar,
}

/// The process's [`Server`].
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server {
        start_time: unix_now(),
        requests: AtomicU64::new(0),
        exit_code: Mutex::new(None),
        exit_signal: Condvar::new(),
    })
}

impl Server {
    /// When the process started, in Unix seconds.
    pub fn start_time(&self) -> u64 {
        self.start_time
    }

    /// Counts one parsed request head (the `reqs` of `proc`, MGMT-17).
    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Asks the run loop to end the process with `code`.
    pub fn request_exit(&self, code: u8) {
        let mut slot = self.exit_code.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(code);
        self.exit_signal.notify_all();
    }

    fn wait_for_exit(&self) -> u8 {
        let mut slot = self.exit_code.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(code) = *slot {
                return code;
            }
            slot = self
                .exit_signal
                .wait(slot)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

static DRAINING: AtomicBool = AtomicBool::new(false);

/// Starts a graceful shutdown: connections close after their current response, and the idle
/// sweeper closes those waiting for a next request right away.
pub fn begin_drain() {
    DRAINING.store(true, Ordering::SeqCst);
    crate::registry::wake_sweeper();
}

/// Whether a graceful shutdown is under way.
pub fn draining() -> bool {
    DRAINING.load(Ordering::SeqCst)
}

/// Where the startup config comes from.
enum ConfigSource {
    File(String),
    Quickstart,
    None,
}

fn config_source(opts: &Options) -> ConfigSource {
    if opts.quickstart {
        return ConfigSource::Quickstart;
    }
    match &opts.config {
        Some(path) => ConfigSource::File(path.clone()),
        None if std::path::Path::new(DEFAULT_CONFIG_PATH).exists() => {
            ConfigSource::File(DEFAULT_CONFIG_PATH.to_string())
        }
        None => ConfigSource::None,
    }
}

/// Runs the server until it is shut down; returns the process exit status.
pub fn run(opts: Options) -> ExitCode {
    logging::init();
    let _ = server();
    let mut print = |line: &str| println!("{line}");
    let loaded = match config_source(&opts) {
        ConfigSource::File(path) => match std::fs::read(&path) {
            Ok(bytes) => control::load_config(&path, &String::from_utf8_lossy(&bytes), &mut print),
            Err(e) => {
                eprintln!(
                    "Error opening config file ({path}): {}",
                    crate::listener::os_error_text(&e)
                );
                let errno = e.raw_os_error().unwrap_or(1);
                return ExitCode::from(u8::try_from(errno).unwrap_or(1));
            }
        },
        ConfigSource::Quickstart => {
            let loaded = control::load_config("<quickstart>", QUICKSTART_CONFIG, &mut print);
            if loaded.is_ok() {
                print_quickstart_banner();
            }
            loaded
        }
        ConfigSource::None => Ok(()),
    };
    if let Err(e) = loaded {
        eprintln!("{e}");
        eprintln!("Error starting up.");
        return ExitCode::from(1);
    }
    if !control::has_listeners() {
        eprintln!("No services or management port configured.  Nothing to do.  Stopping.");
        return ExitCode::from(255);
    }
    if opts.daemon {
        eprintln!(
            "perlbal: --daemon is not supported yet; run in the foreground under a supervisor."
        );
        return ExitCode::from(1);
    }
    println!("Running.");
    logging::log("beginning run");
    let pidfile = control::pidfile().filter(|path| write_pidfile(path));

    if let Err(e) = crate::registry::start_sweeper(draining) {
        eprintln!("Cannot start the idle sweeper thread: {e}");
        return ExitCode::from(1);
    }
    let workers = match Workers::start(worker_count()) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("Cannot start worker threads: {e}");
            return ExitCode::from(1);
        }
    };
    control::start_serving(workers);
    let code = server().wait_for_exit();
    // Only a clean end of the run removes the pidfile; `shutdown` and signals leave it (PROC-5).
    if let Some(path) = pidfile {
        let _ = std::fs::remove_file(path);
    }
    logging::log("ending run");
    ExitCode::from(code)
}

/// Writes `<pid>\n` to `path` (PROC-4); a failure is logged and the run goes on.
fn write_pidfile(path: &str) -> bool {
    match std::fs::write(path, format!("{}\n", std::process::id())) {
        Ok(()) => true,
        Err(e) => {
            logging::log(&format!(
                "couldn't create pidfile '{path}': {}",
                crate::listener::os_error_text(&e)
            ));
            false
        }
    }
}

/// Worker threads: every core this process may use, or `PERLBAL_WORKERS` if set.
fn worker_count() -> usize {
    std::env::var("PERLBAL_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(default_worker_count)
}

fn print_quickstart_banner() {
    for (name, role, listen) in control::service_summaries() {
        if let Some(listen) = listen {
            eprintln!("quickstart: service '{name}' ({role}) on {listen}");
        }
    }
    eprintln!(
        "quickstart: browse http://127.0.0.1:8080/ ; manage with `telnet 127.0.0.1 16000` or http://127.0.0.1:16000/"
    );
}
