//! The configuration as commands change it: services, pools, `DEFAULT` overrides, process-wide
//! `SERVER` settings and the MIME table; and the dispatch of every command to its handler.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use perlbal_config::command::{HeaderEdit, MimeCommand, ObjectKind, ProfAction, XsCommand};
use perlbal_config::{Command, CommandError, Role, Setting};
use perlbal_http::MimeTable;

use super::output::Output;
use super::pool::PoolState;
use super::{CommandContext, Effect};
use crate::listener::{Acceptor, Listener};
use crate::runtime::Workers;

/// One service's configuration and its listening socket.
#[derive(Debug)]
pub struct ServiceState {
    pub name: String,
    pub role: Option<Role>,
    /// Tunable values by key, as checked and stored.
    pub settings: BTreeMap<&'static str, Setting>,
    pub enabled: bool,
    pub listener: Option<Listener>,
    /// An `upload_tracker` service's UDP socket (UPT-2).
    pub upload_listener: Option<crate::upload_tracker::UploadListener>,
    pub header_edits: Vec<HeaderEdit>,
    pub plugins: Vec<String>,
    pub extra: BTreeMap<String, String>,
}

impl ServiceState {
    fn new(name: &str) -> ServiceState {
        ServiceState {
            name: name.to_string(),
            role: None,
            settings: BTreeMap::new(),
            enabled: false,
            listener: None,
            upload_listener: None,
            header_edits: Vec::new(),
            plugins: Vec::new(),
            extra: BTreeMap::new(),
        }
    }

    pub fn role_name(&self) -> Option<&str> {
        self.role.as_ref().map(Role::as_str)
    }

    /// The stored text of a setting.
    pub fn stored(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(|s| s.stored.as_str())
    }

    /// The `listen` value as configured (`None` when unset or `0`).
    pub fn listen(&self) -> Option<&str> {
        self.stored("listen").filter(|l| !l.is_empty() && *l != "0")
    }
}

/// Process-wide `SERVER` settings (SRV-*).
#[derive(Debug, Default)]
pub struct ServerSettings {
    pub max_reproxy_connections: i64,
    pub max_reproxy_connections_per_host: BTreeMap<String, i64>,
    /// `SERVER pidfile` (PROC-4): written when the run starts.
    pub pidfile: Option<String>,
    pub track_obj: bool,
    pub crash_backtrace: bool,
}

/// CPU seconds and requests at the last `proc`.
#[derive(Debug, Default)]
pub struct ProcTotals {
    pub utime: f64,
    pub stime: f64,
    pub reqs: u64,
}

/// Everything commands configure.
#[derive(Debug)]
pub struct State {
    pub services: BTreeMap<String, ServiceState>,
    pub pools: BTreeMap<String, PoolState>,
    /// `DEFAULT` overrides, applied when a role is set (CFG-16).
    pub defaults: HashMap<String, String>,
    /// False once a pool was created by hand (POOL-8).
    pub vivify_pools: bool,
    pub server: ServerSettings,
    pub mime: Arc<MimeTable>,
    /// Plugins loaded with `LOAD`, by lowercase name → display name.
    pub loaded_plugins: BTreeMap<String, String>,
    /// What `proc` printed last, for its deltas (MGMT-17).
    pub last_proc: ProcTotals,
    /// Set when something the data path reads has changed.
    changed: bool,
}

impl State {
    pub fn new() -> State {
        State {
            services: BTreeMap::new(),
            pools: BTreeMap::new(),
            defaults: HashMap::new(),
            vivify_pools: true,
            server: ServerSettings::default(),
            mime: Arc::new(MimeTable::new()),
            loaded_plugins: BTreeMap::new(),
            last_proc: ProcTotals::default(),
            changed: true,
        }
    }

    /// Whether the data path's snapshot needs rebuilding; clears the flag.
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    pub fn mark_changed(&mut self) {
        self.changed = true;
    }

    pub fn has_listeners(&self) -> bool {
        self.services
            .values()
            .any(|s| s.listener.is_some() || s.upload_listener.is_some())
    }

    pub fn activate_listeners(&mut self, workers: &Workers, acceptor: &Acceptor) {
        for svc in self.services.values_mut() {
            if let Some(listener) = svc.listener.as_mut() {
                listener.activate(workers, acceptor);
            }
        }
    }

    pub fn service_summaries(&self) -> Vec<(String, String, Option<String>)> {
        self.services
            .values()
            .map(|s| {
                (
                    s.name.clone(),
                    s.role_name().unwrap_or("").to_string(),
                    s.listen().map(str::to_string),
                )
            })
            .collect()
    }

    /// Applies one parsed command.
    pub fn run(
        &mut self,
        command: Command,
        ctx: &mut CommandContext,
        out: &mut Output,
        effects: &mut Vec<Effect>,
    ) {
        let result = match command {
            Command::Create { kind, name } => self.create(kind, &name, ctx),
            Command::Use { name } => self.use_object(&name, ctx),
            Command::Set(set) => self.set(set, ctx, out, effects),
            Command::Default { key, value } => {
                self.defaults.insert(key, value);
                Ok(())
            }
            Command::Enable { service } => self.enable(&service),
            Command::Disable { service } => self.disable(&service, effects),
            Command::Pool(pool) => self.pool_command(&pool),
            Command::Header(header) => self.header(&header),
            Command::Load { plugin } => super::service_set::load_plugin(self, &plugin),
            Command::Unload { plugin } => {
                self.loaded_plugins.remove(&plugin.to_ascii_lowercase());
                Ok(())
            }
            Command::Reload { plugin } => Err(CommandError::UnknownPlugin(plugin)),
            Command::Server(param) => self.server_param(param),
            // Per-event profiling does not exist here; `prof data` lists nothing (MGMT-32).
            Command::Prof(ProfAction::On) => {
                crate::profiling::set_enabled(true);
                Ok(())
            }
            Command::Prof(ProfAction::Off) => {
                crate::profiling::set_enabled(false);
                Ok(())
            }
            Command::Dumpconfig => {
                super::dump::dumpconfig(self, out);
                Ok(())
            }
            Command::Verbose(on) => {
                ctx.verbose = on;
                Ok(())
            }
            Command::Mime(mime) => return self.mime(mime, out),
            Command::Xs(xs) => return xs_command(&xs, out),
            Command::Crash => Err(CommandError::Other(
                "crash refused: no management command may take the server down".into(),
            )),
            Command::Shutdown(mode) => {
                return super::shutdown::shutdown(self, mode, ctx, out, effects)
            }
            // Not in the original: what the StatsListener knows (issue: sendstats).
            Command::Other { word, .. } if word == "sendstats" => {
                for pool in self.pools.values().filter(|p| p.sendstats) {
                    for line in pool.stats.report(&pool.nodes) {
                        out.line(format!("{} {line}", pool.name));
                    }
                }
                return out.end();
            }
            Command::Other { word, .. } => Err(CommandError::UnknownCommand(word)),
            inspect => return super::inspect::run(self, inspect, out),
        };
        match result {
            Ok(()) => out.ok(ctx),
            Err(e) => out.error(&e),
        }
    }

    fn create(
        &mut self,
        kind: ObjectKind,
        name: &str,
        ctx: &mut CommandContext,
    ) -> Result<(), CommandError> {
        let (service_taken, pool_taken) = (
            self.services.contains_key(name),
            self.pools.contains_key(name),
        );
        match kind {
            ObjectKind::Service => {
                if service_taken {
                    return Err(CommandError::ServiceExists(name.into()));
                }
                if pool_taken {
                    return Err(CommandError::PoolExists(name.into()));
                }
                self.services.insert(name.into(), ServiceState::new(name));
            }
            ObjectKind::Pool => {
                if pool_taken {
                    return Err(CommandError::PoolExists(name.into()));
                }
                if service_taken {
                    return Err(CommandError::ServiceExists(name.into()));
                }
                self.vivify_pools = false;
                self.pools.insert(name.into(), PoolState::new(name));
            }
        }
        ctx.last_created = Some(name.to_string());
        self.mark_changed();
        Ok(())
    }

    fn use_object(&mut self, name: &str, ctx: &mut CommandContext) -> Result<(), CommandError> {
        if !self.services.contains_key(name) && !self.pools.contains_key(name) {
            return Err(CommandError::NonExistentPoolOrService(name.into()));
        }
        ctx.last_created = Some(name.to_string());
        Ok(())
    }

    fn set(
        &mut self,
        set: perlbal_config::command::SetCommand,
        ctx: &mut CommandContext,
        out: &mut Output,
        effects: &mut Vec<Effect>,
    ) -> Result<(), CommandError> {
        let name = set
            .target
            .or_else(|| ctx.last_created.clone())
            .ok_or(CommandError::NoContext)?;
        if self.services.contains_key(&name) {
            self.mark_changed();
            return super::service_set::set(self, &name, &set.key, &set.value, out, effects);
        }
        if self.pools.contains_key(&name) {
            self.mark_changed();
            return super::pool::set_pool(self, &name, &set.key, &set.value);
        }
        Err(CommandError::NoSuchServiceOrPool(name))
    }

    /// `ENABLE` (CFG-17): binds the listener now; starts accepting if the workers run.
    pub fn enable(&mut self, name: &str) -> Result<(), CommandError> {
        let svc = self
            .services
            .get_mut(name)
            .ok_or_else(|| CommandError::ServiceDoesNotExist(name.into()))?;
        if svc.enabled {
            return Err(CommandError::AlreadyEnabled(name.into()));
        }
        if let Some(listen) = svc.listen().map(str::to_string) {
            let cant_start = |reason| CommandError::CantStartService {
                service: name.into(),
                listen: listen.clone(),
                reason,
            };
            if svc.role == Some(Role::UploadTracker) {
                let listener = crate::upload_tracker::UploadListener::bind(&listen, name)
                    .map_err(cant_start)?;
                svc.upload_listener = Some(listener);
                svc.enabled = true;
                self.mark_changed();
                return Ok(());
            }
            let mut listener =
                Listener::bind(&listen, name).map_err(|reason| CommandError::CantStartService {
                    service: name.into(),
                    listen: listen.clone(),
                    reason,
                })?;
            if let Some(workers) = super::workers() {
                listener.activate(workers, &super::acceptor());
            }
            svc.listener = Some(listener);
        }
        svc.enabled = true;
        self.mark_changed();
        Ok(())
    }

    /// `DISABLE` (CFG-17): closes the listener; established connections are untouched.
    fn disable(&mut self, name: &str, effects: &mut Vec<Effect>) -> Result<(), CommandError> {
        let svc = self
            .services
            .get_mut(name)
            .ok_or_else(|| CommandError::ServiceDoesNotExist(name.into()))?;
        if !svc.enabled {
            return Err(CommandError::AlreadyDisabled(name.into()));
        }
        if svc.role == Some(Role::Management) {
            return Err(CommandError::CantDisableManagement);
        }
        if let Some(listener) = svc.listener.take() {
            effects.push(Effect::CloseListener(listener));
        }
        svc.upload_listener = None;
        svc.enabled = false;
        self.mark_changed();
        Ok(())
    }

    fn pool_command(
        &mut self,
        pool: &perlbal_config::command::PoolCommand,
    ) -> Result<(), CommandError> {
        let state = self
            .pools
            .get_mut(&pool.pool)
            .ok_or_else(|| CommandError::PoolNotFound(pool.pool.clone()))?;
        state.apply(pool.action, pool.node);
        self.mark_changed();
        Ok(())
    }

    fn header(
        &mut self,
        header: &perlbal_config::command::HeaderCommand,
    ) -> Result<(), CommandError> {
        let svc = self
            .services
            .get_mut(&header.service)
            .ok_or_else(|| CommandError::ServiceDoesNotExist(header.service.clone()))?;
        svc.header_edits.push(header.edit()?);
        self.mark_changed();
        Ok(())
    }

    fn server_param(&mut self, param: perlbal_config::ServerParam) -> Result<(), CommandError> {
        use perlbal_config::ServerParam as P;
        match param {
            P::MaxReproxyConnections { host: None, limit } => {
                self.server.max_reproxy_connections = limit;
                self.mark_changed();
            }
            P::MaxReproxyConnections {
                host: Some(host),
                limit,
            } => {
                // SRV-2: the original sets the global cap here (a bug); we keep per-host caps.
                self.server
                    .max_reproxy_connections_per_host
                    .insert(host, limit);
                self.mark_changed();
            }
            P::MaxConnections(limit) => set_max_connections(limit)?,
            P::NiceLevel(increment) => {
                let increment = i32::try_from(increment).unwrap_or(i32::MAX);
                crate::sys::nice(increment).map_err(|e| {
                    CommandError::UnableToRenice(crate::listener::os_error_text(&e))
                })?;
            }
            // Disk I/O is always asynchronous here; every mode maps onto it (SRV-5).
            P::AioMode(_) | P::AioThreads(_) => {}
            P::TrackObj(on) => self.server.track_obj = on,
            P::Pidfile(path) => {
                if super::workers().is_some() {
                    return Err(CommandError::PidfileAfterStart);
                }
                self.server.pidfile = Some(path.ok_or(CommandError::PidfileExpected)?);
            }
            P::CrashBacktrace(on) => self.server.crash_backtrace = on,
        }
        Ok(())
    }

    fn mime(&mut self, mime: MimeCommand, out: &mut Output) {
        match mime {
            MimeCommand::List => {
                for (ext, mime_type) in self.mime.iter() {
                    out.line(format!("{ext} {mime_type}"));
                }
                out.end();
            }
            MimeCommand::Set { ext, mime_type } => {
                Arc::make_mut(&mut self.mime).set(&ext, &mime_type);
                out.line(format!("{ext} set to {mime_type}."));
                self.mark_changed();
            }
            MimeCommand::Remove { ext } => {
                if Arc::make_mut(&mut self.mime).remove(&ext) {
                    out.line(format!("{ext} removed."));
                    self.mark_changed();
                } else {
                    out.error(&CommandError::MimeNotDefined(ext));
                }
            }
        }
    }
}

/// `SERVER max_connections` (SRV-3): RLIMIT_NOFILE soft and hard.
fn set_max_connections(limit: i64) -> Result<(), CommandError> {
    let value = u64::try_from(limit).unwrap_or(0);
    let wanted = crate::sys::Limit {
        soft: value,
        hard: value,
    };
    crate::sys::set_nofile_limit(wanted).map_err(|_| {
        if crate::sys::is_root() {
            CommandError::UnableToSetLimit
        } else {
            CommandError::NeedRootForMaxConnections
        }
    })
}

/// `xs` (MGMT-33): there are no XS modules; the native parser is the only one.
fn xs_command(xs: &XsCommand, out: &mut Output) {
    match xs {
        XsCommand::Status => {
            // The original passes the blank line as a second argument that its writer drops,
            // so none follows the title.
            out.line("XS module status:");
            out.line("   headers: not installed");
            out.line("");
            out.line("To enable a module: xs enable <module>");
            out.line("To disable a module: xs disable <module>");
            out.end();
        }
        XsCommand::Enable(_) => out.error(&CommandError::XsEnableFailed),
        XsCommand::Disable(_) => out.error(&CommandError::XsDisableFailed),
    }
}
