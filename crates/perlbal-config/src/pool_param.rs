//! `SET <pool>.<key> = <value>` (POOL-2..7) and the pool-forwarded service keys (POOL-8).
//!
//! Beyond the original: `balance_method = sendstats` with `sendstats.listen = ip:port`, the
//! StatsListener of Perlbal's design (backends announce their free workers over UDP).

use std::net::SocketAddrV4;

use crate::error::CommandError;

/// A pool setting, checked as far as possible without the file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolParam {
    /// `nodefile = <path>`: load nodes from the file and watch it (POOL-3). The server checks
    /// that the path exists (`-e`), else [`CommandError::NodefileNotFound`].
    Nodefile(String),
    /// `nodefile = none|undef|null|""|''`: stop watching, keep the current nodes (POOL-5).
    NoNodefile,
    /// `balance_method = random` — the only method the original has (POOL-2).
    BalanceRandom,
    /// `balance_method = sendstats`: new connections go to nodes weighted by the free
    /// workers they announce over UDP (the StatsListener).
    BalanceSendstats,
    /// `sendstats.listen = ip:port`: where the StatsListener receives announcements.
    SendstatsListen(SocketAddrV4),
    /// `sendstats.listen = none`: stop listening.
    NoSendstatsListen,
}

impl PoolParam {
    /// True for the keys a service forwards to its pool (`nodefile`, `balance_method`, CFG-14).
    pub fn is_pool_key(key: &str) -> bool {
        matches!(key, "nodefile" | "balance_method")
    }

    /// Checks one pool key and value. Unknown keys get `Unknown pool parameter '<k>'`; the
    /// original printed nothing at all and failed the line (POOL-7).
    pub fn parse(key: &str, value: &str) -> Result<PoolParam, CommandError> {
        match key {
            "nodefile" => Ok(match value {
                "none" | "undef" | "null" | "\"\"" | "''" => PoolParam::NoNodefile,
                path => PoolParam::Nodefile(path.to_owned()),
            }),
            "balance_method" if value == "random" => Ok(PoolParam::BalanceRandom),
            "balance_method" if value == "sendstats" => Ok(PoolParam::BalanceSendstats),
            "balance_method" => Err(CommandError::UnknownBalanceMethod),
            "sendstats.listen" => match value {
                "none" | "undef" | "null" | "\"\"" | "''" => Ok(PoolParam::NoSendstatsListen),
                addr => addr
                    .parse::<SocketAddrV4>()
                    .map(PoolParam::SendstatsListen)
                    .map_err(|_| CommandError::Other("sendstats.listen must be ip:port".into())),
            },
            _ => Err(CommandError::UnknownPoolParameter(key.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sendstats_listen_takes_an_address_or_none() {
        assert_eq!(
            PoolParam::parse("sendstats.listen", "127.0.0.1:5000"),
            Ok(PoolParam::SendstatsListen(
                "127.0.0.1:5000".parse().unwrap_or_else(|e| panic!("{e}"))
            ))
        );
        assert_eq!(
            PoolParam::parse("sendstats.listen", "none"),
            Ok(PoolParam::NoSendstatsListen)
        );
        assert!(PoolParam::parse("sendstats.listen", "localhost:5000").is_err());
    }

    #[test]
    fn nodefile_path_or_unset_words() {
        assert_eq!(
            PoolParam::parse("nodefile", "/etc/perlbal/nodes"),
            Ok(PoolParam::Nodefile("/etc/perlbal/nodes".into()))
        );
        for unset in ["none", "undef", "null", "\"\"", "''"] {
            assert_eq!(
                PoolParam::parse("nodefile", unset),
                Ok(PoolParam::NoNodefile),
                "{unset}"
            );
        }
        // Case-sensitive, like the original: `NONE` is a file name.
        assert_eq!(
            PoolParam::parse("nodefile", "NONE"),
            Ok(PoolParam::Nodefile("NONE".into()))
        );
    }

    #[test]
    fn balance_method_random_only() {
        assert_eq!(
            PoolParam::parse("balance_method", "random"),
            Ok(PoolParam::BalanceRandom)
        );
        assert_eq!(
            PoolParam::parse("balance_method", "sendstats"),
            Ok(PoolParam::BalanceSendstats)
        );
        for bad in ["'random'", "round_robin", "Random"] {
            assert_eq!(
                PoolParam::parse("balance_method", bad),
                Err(CommandError::UnknownBalanceMethod),
                "{bad}"
            );
        }
        assert_eq!(
            CommandError::UnknownBalanceMethod.to_string(),
            "Unknown balance method"
        );
    }

    #[test]
    fn unknown_pool_key_gets_a_message() {
        let err = PoolParam::parse("foo", "bar").unwrap_err();
        assert_eq!(err.to_string(), "Unknown pool parameter 'foo'");
    }

    #[test]
    fn pool_keys_are_recognised() {
        assert!(PoolParam::is_pool_key("nodefile") && PoolParam::is_pool_key("balance_method"));
        assert!(!PoolParam::is_pool_key("pool"));
    }
}
