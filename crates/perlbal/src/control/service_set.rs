//! `SET` on a service (CFG-13..15, SVC-*): which kind of key it is, the role and file-system
//! checks, setting a role (which resets every tunable to its default or `DEFAULT` override),
//! re-binding on a `listen` change, `plugins`, `extra.*`, and `LOAD`.

use std::path::Path;

use perlbal_config::tunable::{classify_service_key, ExternalCheck, ServiceKey};
use perlbal_config::value::split_words_and_commas;
use perlbal_config::{CommandError, DefaultValue, Role, Setting, Tunable, TunableValue};

use super::output::Output;
use super::state::State;
use super::Effect;
use crate::listener::Listener;

/// The bundled plugins of the original (PLUG-*), none of which this build provides yet.
const BUNDLED_PLUGINS: [&str; 18] = [
    "AccessControl",
    "AutoRemoveLeadingDir",
    "Cgilike",
    "EchoService",
    "FlvStreaming",
    "Highpri",
    "Include",
    "LazyCDN",
    "MaxContentLength",
    "NotModified",
    "Palimg",
    "Queues",
    "Redirect",
    "Stats",
    "Throttle",
    "Vhosts",
    "Vpaths",
    "XFFExtras",
];

/// `LOAD <plugin>` (CFG-20).
pub fn load_plugin(_state: &mut State, name: &str) -> Result<(), CommandError> {
    let known = BUNDLED_PLUGINS
        .iter()
        .find(|p| p.eq_ignore_ascii_case(name));
    match known {
        Some(plugin) => Err(CommandError::Other(format!(
            "Plugin '{plugin}' is not supported by this build yet"
        ))),
        None => Err(CommandError::Other(format!(
            "Can't locate Perlbal/Plugin/{name}.pm in @INC (you may need to install the Perlbal::Plugin::{name} module)"
        ))),
    }
}

/// `SET <service>.<key> = <value>`.
pub fn set(
    state: &mut State,
    service: &str,
    key: &str,
    value: &str,
    out: &mut Output,
    effects: &mut Vec<Effect>,
) -> Result<(), CommandError> {
    let loaded = |plugin: &str| {
        state
            .loaded_plugins
            .contains_key(&plugin.to_ascii_lowercase())
    };
    match classify_service_key(key, &loaded)? {
        ServiceKey::Pool(key) => super::pool::set_on_service_pool(state, service, key, value),
        ServiceKey::Tunable(tunable) => set_tunable(state, service, tunable, value, effects),
        ServiceKey::Plugins => {
            set_plugins(state, service, value, out);
            Ok(())
        }
        ServiceKey::Extra(name) => {
            if let Some(svc) = state.services.get_mut(service) {
                svc.extra.insert(name.to_string(), value.to_string());
            }
            Ok(())
        }
        // No plugin registers setters yet.
        ServiceKey::PluginSetter { .. } => Err(CommandError::UnknownServiceParameter(key.into())),
    }
}

/// Checks what the config crate cannot: paths, pools, services.
fn external_check(
    state: &State,
    tunable: &Tunable,
    raw: &str,
    service: &str,
) -> Result<(), CommandError> {
    let Some(check) = tunable.external_check(raw) else {
        return Ok(());
    };
    let passes = match check {
        ExternalCheck::IsFile => Path::new(raw).is_file(),
        ExternalCheck::IsDirectory => Path::new(raw).is_dir(),
        ExternalCheck::IsExecutable => is_executable(Path::new(raw)),
        ExternalCheck::PoolExists => state.pools.contains_key(raw),
        ExternalCheck::ServiceExists => state.services.contains_key(raw),
    };
    if passes {
        Ok(())
    } else {
        Err(tunable.external_check_failed(raw, service))
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Sets one tunable with its role check, value check and side effects.
fn set_tunable(
    state: &mut State,
    service: &str,
    tunable: &'static Tunable,
    raw: &str,
    effects: &mut Vec<Effect>,
) -> Result<(), CommandError> {
    let role = state
        .services
        .get(service)
        .and_then(|s| s.role_name().map(str::to_string));
    tunable.check_role(role.as_deref())?;
    let setting = tunable.parse(raw, service)?;
    external_check(state, tunable, raw, service)?;
    match (tunable.name, &setting.value) {
        ("role", TunableValue::Role(role)) => set_role(state, service, role.clone()),
        ("enable_ssl", TunableValue::Bool(true)) => Err(CommandError::Other(
            "enable_ssl: TLS is not supported by this build yet".into(),
        )),
        ("listen", _) => set_listen(state, service, setting, effects),
        ("persist_client_timeout", _) => {
            // Deprecated alias for both timeouts (SVC-6); never stored itself.
            for alias in ["persist_client_idle_timeout", "idle_timeout"] {
                if let Some(t) = perlbal_config::tunable(alias) {
                    let aliased = t.parse(raw, service)?;
                    store(state, service, t, aliased);
                }
            }
            Ok(())
        }
        ("pool", _) => {
            store(state, service, tunable, setting);
            super::pool::recount_pool_users(state);
            Ok(())
        }
        ("connect_ahead", _) => {
            store(state, service, tunable, setting);
            // SVC-21: on an enabled service the change starts a spawn pass.
            if state.services.get(service).is_some_and(|s| s.enabled) {
                effects.push(Effect::SpawnBackends(service.to_string()));
            }
            Ok(())
        }
        _ => {
            store(state, service, tunable, setting);
            Ok(())
        }
    }
}

fn store(state: &mut State, service: &str, tunable: &'static Tunable, setting: Setting) {
    if let Some(svc) = state.services.get_mut(service) {
        svc.settings.insert(tunable.name, setting);
    }
}

/// Setting `role` re-initialises every tunable of the role (CFG-15): `DEFAULT` override first,
/// else the built-in default; a tunable without default keeps its value.
fn set_role(state: &mut State, service: &str, role: Role) -> Result<(), CommandError> {
    if let Role::Plugin(_) = role {
        return Err(CommandError::RoleNotValid {
            service: service.into(),
        });
    }
    let Some(svc) = state.services.get_mut(service) else {
        return Ok(());
    };
    let role_name = role.as_str().to_string();
    svc.settings.insert(
        "role",
        Setting {
            value: TunableValue::Role(role.clone()),
            stored: role_name.clone(),
        },
    );
    svc.role = Some(role);
    let loaded = state.loaded_plugins.clone();
    for tunable in perlbal_config::tunables() {
        if tunable.name == "role" || !tunable.applies_to(&role_name) {
            continue;
        }
        if tunable
            .plugin
            .is_some_and(|p| !loaded.contains_key(&p.to_ascii_lowercase()))
        {
            continue;
        }
        if let Some(value) = state.defaults.get(tunable.name).cloned() {
            let setting = tunable.parse(&value, service)?;
            external_check(state, tunable, &value, service)?;
            store(state, service, tunable, setting);
            continue;
        }
        match tunable.default {
            DefaultValue::Value(text) => {
                let setting = tunable.parse(text, service)?;
                store(state, service, tunable, setting);
            }
            DefaultValue::Unset => {
                if let Some(svc) = state.services.get_mut(service) {
                    svc.settings.remove(tunable.name);
                }
            }
            DefaultValue::None => {}
        }
    }
    super::pool::recount_pool_users(state);
    Ok(())
}

/// `SET listen` (SVC-2): on an enabled service the socket moves to the new address. Unlike the
/// original, a failed re-bind is an error and the service keeps listening where it was.
fn set_listen(
    state: &mut State,
    service: &str,
    setting: Setting,
    effects: &mut Vec<Effect>,
) -> Result<(), CommandError> {
    let Some(svc) = state.services.get_mut(service) else {
        return Ok(());
    };
    let new_listen = Some(setting.stored.as_str()).filter(|l| !l.is_empty() && *l != "0");
    if !svc.enabled || svc.listen() == new_listen {
        svc.settings.insert("listen", setting);
        return Ok(());
    }
    let new_listener = match new_listen {
        None => None,
        Some(listen) => match Listener::bind(listen, service) {
            Ok(l) => Some(l),
            Err(reason) => {
                return Err(CommandError::CantStartService {
                    service: service.into(),
                    listen: listen.into(),
                    reason,
                })
            }
        },
    };
    if let Some(old) = svc.listener.take() {
        effects.push(Effect::CloseListener(old));
    }
    svc.listener = new_listener.map(|mut l| {
        if let Some(workers) = super::workers() {
            l.activate(workers, &super::acceptor());
        }
        l
    });
    svc.settings.insert("listen", setting);
    Ok(())
}

/// `SET plugins` (SVC-61): registers each listed, loaded plugin in order. A plugin that is not
/// loaded gets an `ERROR:` line, and the command still answers `OK`, as in the original.
fn set_plugins(state: &mut State, service: &str, value: &str, out: &mut Output) {
    let mut registered: Vec<String> = Vec::new();
    for plugin in split_words_and_commas(value) {
        if plugin == "none" {
            continue;
        }
        let lower = plugin.to_ascii_lowercase();
        match state.loaded_plugins.get(&lower) {
            Some(display) if !registered.contains(display) => registered.push(display.clone()),
            Some(_) => {}
            None => out.warn_error(&CommandError::PluginNotLoaded {
                plugin: lower,
                service: service.into(),
            }),
        }
    }
    if let Some(svc) = state.services.get_mut(service) {
        svc.plugins = registered;
    }
}
