//! Which kind of service key a `SET` names (CFG-14), in the original's priority order.

use super::{table, Tunable};
use crate::error::CommandError;
use crate::pool_param::PoolParam;

/// The meaning of a key in `SET <service>.<key> = <value>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKey<'k> {
    /// `nodefile` / `balance_method`: forwarded to the service's pool (POOL-8); parse the value
    /// with [`PoolParam::parse`].
    Pool(&'k str),
    /// A built-in tunable, or a plugin tunable whose plugin has registered its tunables.
    Tunable(&'static Tunable),
    /// `plugins` (SVC-61); split the value with
    /// [`split_words_and_commas`](crate::value::split_words_and_commas), skipping `none`.
    Plugins,
    /// `extra.<name>`: free-form per-service text (SVC-60).
    Extra(&'k str),
    /// `<plugin>.<key>` (split at the last `.`): a plugin setter (PLUG-5). If the service has no
    /// setter registered under these (lowercase) names, the answer is
    /// [`CommandError::UnknownServiceParameter`] with the whole key.
    PluginSetter { plugin: &'k str, key: &'k str },
}

/// Classifies a service key. `plugin_tunables_registered` says whether a bundled plugin (by the
/// name in [`Tunable::plugin`], e.g. `Throttle`) currently has its tunables registered — from its
/// `LOAD` until, for some plugins, its `UNLOAD` (see
/// [`tunables_survive_unload`](super::tunables_survive_unload)).
pub fn classify_service_key<'k>(
    key: &'k str,
    plugin_tunables_registered: &dyn Fn(&str) -> bool,
) -> Result<ServiceKey<'k>, CommandError> {
    if PoolParam::is_pool_key(key) {
        return Ok(ServiceKey::Pool(key));
    }
    if let Some(t) = table::tunable(key) {
        if t.plugin.is_none_or(plugin_tunables_registered) {
            return Ok(ServiceKey::Tunable(t));
        }
    }
    if key == "plugins" {
        return Ok(ServiceKey::Plugins);
    }
    if let Some(name) = key.strip_prefix("extra.").filter(|n| !n.is_empty()) {
        return Ok(ServiceKey::Extra(name));
    }
    // `^(.+)\.(.+)$`: the last dot that leaves text on both sides.
    key.rmatch_indices('.')
        .map(|(dot, _)| (&key[..dot], &key[dot + 1..]))
        .find(|(plugin, setter)| !plugin.is_empty() && !setter.is_empty())
        .map(|(plugin, setter)| ServiceKey::PluginSetter {
            plugin,
            key: setter,
        })
        .ok_or_else(|| CommandError::UnknownServiceParameter(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(key: &str) -> Result<ServiceKey<'_>, CommandError> {
        classify_service_key(key, &|plugin| plugin == "Throttle")
    }

    #[test]
    fn pool_keys_come_first() {
        assert_eq!(classify("nodefile"), Ok(ServiceKey::Pool("nodefile")));
        assert_eq!(
            classify("balance_method"),
            Ok(ServiceKey::Pool("balance_method"))
        );
    }

    #[test]
    fn builtin_and_registered_plugin_tunables() {
        assert!(
            matches!(classify("persist_client"), Ok(ServiceKey::Tunable(t)) if t.name == "persist_client")
        );
        assert!(
            matches!(classify("max_delay"), Ok(ServiceKey::Tunable(t)) if t.plugin == Some("Throttle"))
        );
    }

    #[test]
    fn unregistered_plugin_tunable_is_unknown() {
        assert_eq!(
            classify("echo_delay"),
            Err(CommandError::UnknownServiceParameter("echo_delay".into()))
        );
    }

    #[test]
    fn plugins_extra_and_setters() {
        assert_eq!(classify("plugins"), Ok(ServiceKey::Plugins));
        assert_eq!(classify("extra.foo"), Ok(ServiceKey::Extra("foo")));
        assert_eq!(classify("extra.a.b"), Ok(ServiceKey::Extra("a.b")));
        assert_eq!(
            classify("highpri.uri_pattern"),
            Ok(ServiceKey::PluginSetter {
                plugin: "highpri",
                key: "uri_pattern"
            })
        );
        assert_eq!(
            classify("a.b.c"),
            Ok(ServiceKey::PluginSetter {
                plugin: "a.b",
                key: "c"
            })
        );
        assert_eq!(
            classify("a.b."),
            Ok(ServiceKey::PluginSetter {
                plugin: "a",
                key: "b."
            })
        );
        // `extra.` alone is neither extra storage nor a setter.
        assert_eq!(
            classify("extra."),
            Err(CommandError::UnknownServiceParameter("extra.".into()))
        );
    }

    #[test]
    fn unknown_key_message() {
        let err = classify("bogus").unwrap_err();
        assert_eq!(err.to_string(), "Unknown service parameter 'bogus'");
        assert!(matches!(
            classify(".x"),
            Err(CommandError::UnknownServiceParameter(_))
        ));
    }
}
