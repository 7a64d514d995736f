//! Tests of the tunable table and value checks (SVC-1..58, CFG-9, CFG-15, MGMT-36).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use super::*;

fn t(name: &str) -> &'static Tunable {
    tunable(name).unwrap_or_else(|| panic!("tunable {name} missing"))
}

fn parse(name: &str, raw: &str) -> Result<Setting, CommandError> {
    t(name).parse(raw, "svc")
}

fn value(name: &str, raw: &str) -> TunableValue {
    parse(name, raw).expect("valid").value
}

fn stored(name: &str, raw: &str) -> String {
    parse(name, raw).expect("valid").stored
}

fn message(name: &str, raw: &str) -> String {
    parse(name, raw).expect_err("invalid").to_string()
}

#[test]
fn table_is_in_dumpconfig_order() {
    let names: Vec<&str> = tunables().iter().map(|t| t.name).collect();
    assert_eq!(&names[..3], ["role", "listen", "pool"]);
    let mut rest = names[3..].to_vec();
    rest.sort_unstable();
    assert_eq!(rest, names[3..]);
}

#[test]
fn table_has_every_builtin_and_plugin_tunable() {
    let builtin = tunables().iter().filter(|t| t.plugin.is_none()).count();
    let by_plugin = |p: &str| tunables().iter().filter(|t| t.plugin == Some(p)).count();
    assert_eq!(builtin, 54);
    assert_eq!(by_plugin("Throttle"), 17);
    assert_eq!(by_plugin("EchoService"), 1);
    assert_eq!(by_plugin("MaxContentLength"), 1);
    assert_eq!(by_plugin("XFFExtras"), 2);
    assert_eq!(by_plugin("LazyCDN"), 2);
    assert!(tunables().iter().all(|t| !t.description.is_empty()));
    assert!(tunable("nodefile").is_none() && tunable("plugins").is_none());
}

#[test]
fn roles_read_builtin_or_plugin() {
    for (name, role) in Role::BUILTIN {
        assert_eq!(Role::from_name(name), role);
        assert_eq!(role.as_str(), name);
    }
    assert_eq!(Role::from_name("echo"), Role::Plugin("echo".into()));
    assert_eq!(Role::Plugin("echo".into()).to_string(), "echo");
    assert_eq!(
        value("role", "web_server"),
        TunableValue::Role(Role::WebServer)
    );
    assert_eq!(
        value("role", "bogus"),
        TunableValue::Role(Role::Plugin("bogus".into()))
    );
    // The original answers `ERROR: ` with nothing after it.
    assert_eq!(parse("role", "0"), Err(CommandError::EmptyRole));
    assert_eq!(CommandError::EmptyRole.to_string(), "");
    let not_valid = CommandError::RoleNotValid {
        service: "web".into(),
    };
    assert_eq!(not_valid.to_string(), "Role not valid for service web");
}

#[test]
fn role_check_message_names_required_role() {
    assert_eq!(
        t("pool")
            .check_role(Some("web_server"))
            .unwrap_err()
            .to_string(),
        "The 'pool' option can only be set on a 'reverse_proxy' service"
    );
    assert_eq!(
        t("echo_delay").check_role(None).unwrap_err().to_string(),
        "The 'echo_delay' option can only be set on a 'echo' service"
    );
    assert!(t("pool").check_role(Some("reverse_proxy")).is_ok());
    assert!(t("persist_client").check_role(None).is_ok());
    assert!(t("latency").applies_to("selector") && !t("latency").applies_to("web_server"));
    assert!(t("idle_timeout").applies_to("echo"));
}

#[test]
fn bool_tunable_stores_one_or_zero() {
    assert_eq!(
        parse("persist_client", "YES").unwrap(),
        Setting {
            value: TunableValue::Bool(true),
            stored: "1".into()
        }
    );
    assert_eq!(stored("server_tokens", "off"), "0");
    assert_eq!(
        message("persist_client", "\"on\""),
        "Expecting boolean value for parameter 'persist_client'"
    );
}

#[test]
fn int_tunable_keeps_text() {
    assert_eq!(
        parse("idle_timeout", "007").unwrap(),
        Setting {
            value: TunableValue::Int(7),
            stored: "007".into()
        }
    );
    assert_eq!(
        message("idle_timeout", "-1"),
        "Expecting integer value for parameter 'idle_timeout'"
    );
    assert_eq!(
        message("ssl_verify_mode", "x"),
        "Expecting integer value for parameter 'ssl_verify_mode'"
    );
}

#[test]
fn size_tunable_stores_bytes() {
    assert_eq!(
        parse("max_put_size", "0099K").unwrap(),
        Setting {
            value: TunableValue::Size(101_376),
            stored: "101376".into()
        }
    );
    assert_eq!(message("max_put_size", "1G"),
        "Expecting size unit value for parameter 'max_put_size' in bytes, or suffixed with 'K' or 'M'");
}

#[test]
fn enum_tunable_lists_choices() {
    assert_eq!(
        value("default_action", "allow"),
        TunableValue::Text("allow".into())
    );
    assert_eq!(
        message("default_action", "deny"),
        "Value of 'default_action' must be one of: allow, throttle"
    );
    assert_eq!(
        message("blacklist_action", "x"),
        "Value of 'blacklist_action' must be one of: deny, throttle"
    );
}

#[test]
fn listen_forms() {
    let addr = |a: [u8; 4], p| TunableValue::Listen(Some(SocketAddrV4::new(Ipv4Addr::from(a), p)));
    assert_eq!(
        value("listen", "127.0.0.1:8080"),
        addr([127, 0, 0, 1], 8080)
    );
    assert_eq!(value("listen", "81"), addr([0, 0, 0, 0], 81));
    assert_eq!(value("listen", "00"), addr([0, 0, 0, 0], 0));
    assert_eq!(value("listen", "0"), TunableValue::Listen(None));
    let msg = "Listen argument must be ip:port or port. e.g. 192.168.0.1:80 or 81";
    for bad in [
        "1.2.3:80",
        "localhost:80",
        "x",
        ":80",
        "1.2.3.4:",
        "1.2.3.4:99999",
        "300.1.1.1:80",
        "-1",
    ] {
        assert_eq!(message("listen", bad), msg, "{bad}");
    }
}

#[test]
fn queue_relief_chance_is_zero_to_hundred() {
    assert_eq!(
        value("queue_relief_chance", "00100"),
        TunableValue::Percent(100)
    );
    assert_eq!(stored("queue_relief_chance", "00100"), "00100");
    assert_eq!(value("queue_relief_chance", "0"), TunableValue::Percent(0));
    for bad in ["101", "-1", "x", "99999999999999999999999"] {
        assert_eq!(
            message("queue_relief_chance", bad),
            "Expecting integer value between 0 and 100, inclusive.",
            "{bad}"
        );
    }
}

#[test]
fn trusted_upstream_proxies_parse_and_errors() {
    assert!(
        matches!(value("trusted_upstream_proxies", "10.0.0.0/8, 1.2.3.4"),
        TunableValue::Netmasks(n) if n.len() == 2)
    );
    assert_eq!(
        stored("trusted_upstream_proxies", "10.0.0.0/8, 1.2.3.4"),
        "10.0.0.0/8, 1.2.3.4"
    );
    assert_eq!(
        message("trusted_upstream_proxies", "10.0.0"),
        "Error defining trusted upstream proxies: could not parse 10.0.0"
    );
    assert_eq!(
        message("trusted_upstream_proxies", ","),
        "Error defining trusted upstream proxies: None found"
    );
}

#[test]
fn upload_status_listeners_endpoints() {
    assert_eq!(
        value("upload_status_listeners", "1.2.3.4:5, 2.3.4.5:6"),
        TunableValue::UdpEndpoints(vec![
            SocketAddrV4::new(Ipv4Addr::new(1, 2, 3, 4), 5),
            SocketAddrV4::new(Ipv4Addr::new(2, 3, 4, 5), 6),
        ])
    );
    assert_eq!(
        value("upload_status_listeners", ""),
        TunableValue::UdpEndpoints(vec![])
    );
    assert_eq!(
        value("upload_status_listeners", "0,1.2.3.4:5"),
        TunableValue::UdpEndpoints(vec![SocketAddrV4::new(Ipv4Addr::new(1, 2, 3, 4), 5)])
    );
    assert_eq!(
        message("upload_status_listeners", "1.2.3.4:5, x"),
        "Invalid UDP endpoint: \"x\".  Must be of form a.b.c.d:port"
    );
    assert_eq!(
        message("upload_status_listeners", "1.2.3.4"),
        "Invalid UDP endpoint: \"1.2.3.4\".  Must be of form a.b.c.d:port"
    );
}

#[test]
fn error_retry_schedule_never_refuses() {
    assert_eq!(
        value("error_retry_schedule", "0,.25,.50,1"),
        TunableValue::RetrySchedule(vec![
            Duration::ZERO,
            Duration::from_millis(250),
            Duration::from_millis(500),
            Duration::from_secs(1),
        ])
    );
    assert_eq!(
        value("error_retry_schedule", "x,y"),
        TunableValue::RetrySchedule(vec![Duration::ZERO, Duration::ZERO])
    );
    assert_eq!(
        value("error_retry_schedule", "-5,1e400"),
        TunableValue::RetrySchedule(vec![Duration::ZERO, Duration::MAX])
    );
    assert_eq!(stored("error_retry_schedule", "x,y"), "x,y");
}

#[test]
fn index_files_split_and_joined() {
    assert_eq!(
        parse("index_files", "a,b  c").unwrap(),
        Setting {
            value: TunableValue::WordList(vec!["a".into(), "b".into(), "c".into()]),
            stored: "a, b, c".into(),
        }
    );
}

#[test]
fn max_backend_uses_accepts_anything() {
    assert_eq!(
        value("max_backend_uses", "0"),
        TunableValue::MaxBackendUses(None)
    );
    assert_eq!(
        value("max_backend_uses", "5"),
        TunableValue::MaxBackendUses(Some(5))
    );
    assert_eq!(
        value("max_backend_uses", "abc"),
        TunableValue::MaxBackendUses(Some(0))
    );
    assert_eq!(
        value("max_backend_uses", "-3"),
        TunableValue::MaxBackendUses(Some(0))
    );
    assert_eq!(stored("max_backend_uses", "abc"), "abc");
}

#[test]
fn plugin_regexp_tunables() {
    assert_eq!(
        value("fallback_udp_ping_addr", "1.2.3.4:5"),
        TunableValue::Text("1.2.3.4:5".into())
    );
    assert_eq!(
        message("fallback_udp_ping_addr", "x"),
        "Expecting IP:port of form a.b.c.d:port."
    );
    assert_eq!(
        value("log_events", "ban, unban"),
        TunableValue::Text("ban, unban".into())
    );
    assert!(parse("log_events", "banned,all,none").is_ok());
    for bad in ["foo", "", "ban;unban"] {
        assert_eq!(
            message("log_events", bad),
            "log_events is a comma-separated list of loggable events"
        );
    }
}

#[test]
fn path_tunables_defer_to_server_with_right_messages() {
    assert_eq!(
        value("docroot", "/tmp/"),
        TunableValue::Path("/tmp/".into())
    );
    assert_eq!(
        t("docroot").external_check("/tmp/"),
        Some(ExternalCheck::IsDirectory)
    );
    assert_eq!(
        t("docroot").external_check_failed("/x", "web").to_string(),
        "Directory not found for service web"
    );
    assert_eq!(
        t("docroot").parse("0", "web").unwrap_err().to_string(),
        "Directory not found for service web"
    );
    assert_eq!(
        t("buffer_uploads_path")
            .external_check_failed("/nonexist/", "rp")
            .to_string(),
        "Directory (/nonexist/) not found for service rp (buffer_uploads_path)"
    );
    assert_eq!(
        t("server_process").external_check("/bin/true"),
        Some(ExternalCheck::IsExecutable)
    );
    assert_eq!(
        t("server_process")
            .external_check_failed("/x", "rp")
            .to_string(),
        "Server process (/x) not executable."
    );
    assert_eq!(
        t("ssl_ca_path")
            .external_check_failed("/x", "s")
            .to_string(),
        "Directory '/x' not found for 'ssl_ca_path'"
    );
    assert_eq!(
        t("ssl_key_file").external_check("certs/server-key.pem"),
        None
    );
    assert_eq!(
        t("ssl_key_file").external_check("/k.pem"),
        Some(ExternalCheck::IsFile)
    );
    assert_eq!(
        t("ssl_key_file")
            .external_check_failed("/k.pem", "s")
            .to_string(),
        "File '/k.pem' not found for 'ssl_key_file'"
    );
    assert_eq!(
        t("whitelist_file").external_check("x"),
        Some(ExternalCheck::IsFile)
    );
}

#[test]
fn pool_and_service_references_defer_to_server() {
    assert_eq!(value("pool", "MyPool"), TunableValue::Pool("MyPool".into()));
    assert_eq!(
        t("pool").external_check("MyPool"),
        Some(ExternalCheck::PoolExists)
    );
    assert_eq!(
        t("pool").external_check_failed("MyPool", "p").to_string(),
        "Pool 'MyPool' not found"
    );
    assert_eq!(
        value("default_service", "w2"),
        TunableValue::Service("w2".into())
    );
    assert_eq!(
        t("default_service").external_check("x"),
        Some(ExternalCheck::ServiceExists)
    );
    assert_eq!(
        t("default_service")
            .external_check_failed("x", "sel")
            .to_string(),
        "Service '' not found"
    );
    assert_eq!(t("persist_client").external_check("1"), None);
}

#[test]
fn defaults_as_original_stores_them() {
    assert_eq!(t("buffer_size").default, DefaultValue::Value("256k"));
    assert_eq!(t("buffer_size").default_stored().as_deref(), Some("262144"));
    assert_eq!(t("ssl_ca_path").default, DefaultValue::Unset);
    assert_eq!(t("listen").default, DefaultValue::None);
    assert_eq!(t("role").default, DefaultValue::None);
    // Every default value passes its own check.
    for tun in tunables() {
        if let DefaultValue::Value(v) = tun.default {
            assert!(tun.parse(v, "svc").is_ok(), "{} default {v:?}", tun.name);
        }
    }
}

#[test]
fn dump_lines_follow_dumpconfig_rules() {
    let web = Some("web_server");
    let proxy = Some("reverse_proxy");
    assert_eq!(
        t("role").dump_line(None, None).as_deref(),
        Some("SET role = ")
    );
    assert_eq!(
        t("role").dump_line(web, Some("web_server")).as_deref(),
        Some("SET role = web_server")
    );
    assert_eq!(
        t("persist_client").dump_line(web, Some("1")).as_deref(),
        Some("SET persist_client = on")
    );
    assert_eq!(t("persist_client").dump_line(web, Some("0")), None);
    assert_eq!(
        t("server_tokens").dump_line(web, Some("0")).as_deref(),
        Some("SET server_tokens = 0")
    );
    assert_eq!(t("buffer_size").dump_line(proxy, Some("262144")), None);
    assert_eq!(t("buffer_size").dump_line(web, Some("1")), None);
    assert_eq!(
        t("idle_timeout").dump_line(proxy, Some("007")).as_deref(),
        Some("SET idle_timeout = 007")
    );
    assert_eq!(
        t("index_files")
            .dump_line(web, Some("index.html"))
            .as_deref(),
        Some("SET index_files = index.html")
    );
    assert_eq!(t("persist_client_timeout").dump_line(web, Some("5")), None);
    assert_eq!(t("reproxy_cache_maxsize").dump_line(proxy, Some("5")), None);
    assert_eq!(t("listen").dump_line(proxy, None), None);
    assert_eq!(
        t("pool").dump_line(proxy, Some("p")).as_deref(),
        Some("SET pool = p")
    );
    assert_eq!(
        t("max_backend_uses")
            .dump_line(proxy, Some("abc"))
            .as_deref(),
        Some("SET max_backend_uses = abc")
    );
    assert_eq!(
        t("echo_delay")
            .dump_line(Some("echo"), Some("07"))
            .as_deref(),
        Some("SET echo_delay = 07")
    );
}

#[test]
fn plugin_tunables_removed_on_unload_only_for_two_plugins() {
    assert!(!tunables_survive_unload("EchoService"));
    assert!(!tunables_survive_unload("LazyCDN"));
    assert!(tunables_survive_unload("Throttle"));
    assert!(tunables_survive_unload("XFFExtras"));
    assert!(tunables_survive_unload("MaxContentLength"));
}
