//! The table of every service tunable (SVC-1..58), in `dumpconfig` order: `role`, `listen`,
//! `pool`, then every other key sorted by name, plugin keys included (MGMT-36).

use super::{DefaultValue as D, Dump, Roles, Tunable, ValueKind as K};

const ANY: Roles = Roles::Any;
const PROXY: Roles = Roles::Only("reverse_proxy");
const WEB: Roles = Roles::Only("web_server");
const SELECTOR: Roles = Roles::Only("selector");

/// A built-in tunable shown by `dumpconfig` when it differs from its default.
const fn builtin(
    name: &'static str,
    kind: K,
    roles: Roles,
    default: D,
    description: &'static str,
) -> Tunable {
    Tunable {
        name,
        kind,
        roles,
        default,
        dump: Dump::IfChanged,
        plugin: None,
        description,
    }
}

/// A tunable added by a bundled plugin's `LOAD` (SVC-58).
const fn plugin(
    plugin: &'static str,
    name: &'static str,
    kind: K,
    roles: Roles,
    default: D,
    description: &'static str,
) -> Tunable {
    Tunable {
        name,
        kind,
        roles,
        default,
        dump: Dump::IfChanged,
        plugin: Some(plugin),
        description,
    }
}

/// A built-in tunable with a special `dumpconfig` rule.
const fn dumped(mut t: Tunable, dump: Dump) -> Tunable {
    t.dump = dump;
    t
}

const THROTTLE: &str = "Throttle";

#[rustfmt::skip]
static TUNABLES: [Tunable; 77] = [
    dumped(builtin("role", K::Role, ANY, D::None,
        "Kind of service: reverse_proxy, web_server, management, selector, upload_tracker, or a plugin role. Setting it resets every tunable of the role to its default."), Dump::Always),
    builtin("listen", K::Listen, ANY, D::None,
        "Address to accept connections on: a port, or ip:port; 0 means not listening."),
    dumped(builtin("pool", K::Pool, PROXY, D::None,
        "Name of the pool whose nodes receive the proxied requests."), Dump::WhenSet),
    builtin("always_trusted", K::Bool, ANY, D::Value("0"),
        "Trust forwarding headers (X-Forwarded-For and friends) from every client."),
    builtin("backend_persist_cache", K::Int, PROXY, D::Value("2"),
        "How many idle, already used backend connections to keep for reuse."),
    plugin(THROTTLE, "ban_expiration", K::Int, ANY, D::Value("60"),
        "Seconds an address stays banned."),
    plugin(THROTTLE, "ban_threshold", K::Int, ANY, D::Value("0"),
        "Violations after which an address is banned; 0 never bans."),
    plugin(THROTTLE, "blacklist_action", K::Enum(&["deny", "throttle"]), ANY, D::Value("deny"),
        "Whether blacklisted addresses are refused or merely throttled."),
    plugin(THROTTLE, "blacklist_file", K::File, ANY, D::None,
        "File of networks that are always refused."),
    builtin("blind_proxy", K::Bool, PROXY, D::Value("0"),
        "Pass X-Forwarded-For, X-Host and X-Forwarded-Host through untouched."),
    builtin("buffer_backend_connect", K::Size, PROXY, D::Value("100k"),
        "Request body bytes read into memory before a backend is asked for."),
    builtin("buffer_size", K::Size, PROXY, D::Value("256k"),
        "How far reading from a backend may run ahead of a slow client."),
    builtin("buffer_size_reproxy_url", K::Size, PROXY, D::Value("50k"),
        "How far reading a reproxied URL may run ahead of a slow client."),
    builtin("buffer_upload_threshold_rate", K::Int, PROXY, D::Value("0"),
        "Spool an upload to disk when it arrives slower than this many bytes per second; 0 disables."),
    builtin("buffer_upload_threshold_size", K::Size, PROXY, D::Value("250k"),
        "Spool an upload to disk when its body is at least this large; 0 disables."),
    builtin("buffer_upload_threshold_time", K::Int, PROXY, D::Value("5"),
        "Spool an upload to disk when it would take longer than this many seconds; 0 disables."),
    builtin("buffer_uploads", K::Bool, PROXY, D::Value("0"),
        "Allow request bodies to be spooled to disk before they go to a backend."),
    builtin("buffer_uploads_path", K::UploadsDirectory, PROXY, D::None,
        "Directory that holds spooled uploads."),
    builtin("client_sndbuf_size", K::Size, ANY, D::Value("0"),
        "Socket send buffer size for accepted clients; 0 leaves the system default."),
    builtin("connect_ahead", K::Int, PROXY, D::Value("0"),
        "Spare backend connections to open beyond current demand."),
    plugin(THROTTLE, "default_action", K::Enum(&["allow", "throttle"]), ANY, D::Value("throttle"),
        "What happens to addresses on neither list: allowed or throttled."),
    dumped(builtin("default_service", K::Service, SELECTOR, D::None,
        "Service that receives requests no selector rule claims."), Dump::WhenSet),
    builtin("dirindexing", K::Bool, WEB, D::Value("0"),
        "List directory contents when a directory without an index file is requested."),
    builtin("docroot", K::Docroot, WEB, D::None,
        "Directory the files are served from."),
    plugin("EchoService", "echo_delay", K::Int, Roles::Only("echo"), D::Value("0"),
        "Seconds to wait before echoing a line back."),
    builtin("enable_concatenate_get", K::Bool, WEB, D::Value("0"),
        "Serve several files in one response for a comma-list request."),
    builtin("enable_delete", K::Bool, WEB, D::Value("0"),
        "Accept DELETE requests."),
    builtin("enable_error_retries", K::Bool, PROXY, D::Value("0"),
        "Retry a request on another backend when one answers 500."),
    builtin("enable_md5", K::Bool, WEB, D::Value("1"),
        "Verify Content-MD5 on PUT bodies."),
    builtin("enable_put", K::Bool, WEB, D::Value("0"),
        "Accept PUT requests."),
    builtin("enable_reproxy", K::Bool, PROXY, D::Value("0"),
        "Let backends redirect responses internally to files or URLs (X-REPROXY-*)."),
    builtin("enable_ssl", K::Bool, ANY, D::Value("0"),
        "Speak TLS to clients on this service's listener."),
    builtin("error_retry_schedule", K::RetrySchedule, PROXY, D::Value("0,.25,.50,1,1,1,1,1"),
        "Seconds to wait before each successive retry after a 500."),
    plugin("LazyCDN", "fallback_service", K::Text, WEB, D::None,
        "Service that handles requests for files missing or older than asked for."),
    plugin("LazyCDN", "fallback_udp_ping_addr", K::IpPort, WEB, D::None,
        "ip:port that receives a UDP datagram naming each fallen-back URL."),
    builtin("high_priority_cookie", K::Text, PROXY, D::None,
        "Cookie whose presence puts a request in the high-priority queue."),
    builtin("high_priority_cookie_contents", K::Text, PROXY, D::None,
        "Text the high-priority cookie must contain."),
    builtin("idle_timeout", K::Int, ANY, D::Value("30"),
        "Seconds a connection may sit idle outside keep-alive waits before it is closed."),
    dumped(builtin("index_files", K::WordList, WEB, D::Value("index.html"),
        "Files tried, in order, when a directory is requested."), Dump::WhenSet),
    plugin(THROTTLE, "initial_delay", K::Int, ANY, D::Value("3"),
        "Seconds the first throttled request is delayed."),
    plugin(THROTTLE, "instance_name", K::Text, ANY, D::Value("Throttle"),
        "Name under which throttler instances share what they know."),
    builtin("latency", K::Int, SELECTOR, D::Value("0"),
        "Milliseconds of artificial delay added to each request."),
    plugin(THROTTLE, "log_events", K::LogEvents, ANY, D::Value("all"),
        "Which throttling events are logged."),
    plugin(THROTTLE, "log_only", K::Bool, ANY, D::Value("0"),
        "Compute throttling decisions and log them without enforcing them."),
    builtin("max_backend_uses", K::MaxBackendUses, PROXY, D::Value("0"),
        "Requests after which a kept-alive backend connection is closed; 0 means no limit."),
    builtin("max_chunked_request_size", K::Size, ANY, D::Value("209715200"),
        "Largest chunked request body accepted; 0 means no limit."),
    plugin(THROTTLE, "max_concurrent", K::Int, ANY, D::Value("2"),
        "Requests one address may have in flight at once."),
    plugin("MaxContentLength", "max_content_length", K::Int, ANY, D::Value("0"),
        "Largest Content-Length accepted before answering 413; 0 means no limit."),
    plugin(THROTTLE, "max_delay", K::Int, ANY, D::Value("300"),
        "Upper bound in seconds on a throttling delay."),
    builtin("max_put_size", K::Size, WEB, D::Value("0"),
        "Largest PUT body accepted; 0 means no limit."),
    plugin(THROTTLE, "memcached_async_clients", K::Int, ANY, D::Value("10"),
        "Parallel memcached clients used to share throttling state."),
    plugin(THROTTLE, "memcached_servers", K::Text, ANY, D::None,
        "memcached servers that hold shared throttling state."),
    plugin(THROTTLE, "method_regex", K::Text, ANY, D::None,
        "Only requests whose method matches this pattern are throttled."),
    builtin("min_put_directory", K::Int, WEB, D::Value("0"),
        "Leading path directories that must already exist for a PUT."),
    plugin(THROTTLE, "path_regex", K::Text, ANY, D::None,
        "Only requests whose path matches this pattern are throttled."),
    builtin("persist_backend", K::Bool, PROXY, D::Value("0"),
        "Keep backend connections alive and reuse them."),
    builtin("persist_client", K::Bool, ANY, D::Value("0"),
        "Keep client connections alive between requests."),
    builtin("persist_client_idle_timeout", K::Int, ANY, D::Value("30"),
        "Seconds a kept-alive client may take to send its next request."),
    dumped(builtin("persist_client_timeout", K::Int, ANY, D::None,
        "Old name that sets both persist_client_idle_timeout and idle_timeout."), Dump::Never),
    builtin("queue_relief_chance", K::Percent, PROXY, D::Value("0"),
        "Percent chance, under queue pressure, of serving a normal request before high-priority ones."),
    builtin("queue_relief_size", K::Int, PROXY, D::Value("0"),
        "Normal-queue length at which queue relief starts; 0 disables."),
    dumped(builtin("reproxy_cache_maxsize", K::Int, PROXY, D::Value("0"),
        "Entries kept in the reproxy URL cache; 0 disables and drops the cache."), Dump::Never),
    plugin("XFFExtras", "send_backend_port", K::Bool, PROXY, D::Value("0"),
        "Tell backends the port the client connected to (X-Forwarded-Port)."),
    plugin("XFFExtras", "send_backend_proto", K::Bool, PROXY, D::Value("0"),
        "Tell backends whether the client used http or https (X-Forwarded-Proto)."),
    builtin("server_process", K::Executable, PROXY, D::None,
        "Program spawned to act as the backend over a socket pair, when no pool is set."),
    builtin("server_tokens", K::Bool, ANY, D::Value("1"),
        "Add a Server header to responses Perlbal writes itself."),
    builtin("ssl_ca_path", K::Directory, ANY, D::Unset,
        "Directory of CA certificates for verifying client certificates."),
    builtin("ssl_cert_file", K::File, ANY, D::Value("certs/server-cert.pem"),
        "PEM certificate presented to TLS clients."),
    builtin("ssl_cipher_list", K::Text, ANY, D::Value("ALL:!LOW:!EXP"),
        "OpenSSL cipher list offered to TLS clients."),
    builtin("ssl_key_file", K::File, ANY, D::Value("certs/server-key.pem"),
        "PEM private key for the TLS certificate."),
    builtin("ssl_verify_mode", K::Int, ANY, D::Value("0"),
        "OpenSSL peer-verification flags for TLS clients."),
    plugin(THROTTLE, "throttle_threshold_seconds", K::Int, ANY, D::Value("60"),
        "A second request from an address within this many seconds is throttled."),
    builtin("trusted_upstream_proxies", K::Netmasks, ANY, D::None,
        "Networks whose forwarding headers are trusted."),
    builtin("upload_status_listeners", K::UdpEndpoints, PROXY, D::Value(""),
        "ip:port list that receives UDP upload-progress reports."),
    builtin("verify_backend", K::Bool, PROXY, D::Value("0"),
        "Send an OPTIONS request to a new backend connection before giving it a client."),
    builtin("verify_backend_path", K::Text, PROXY, D::Value("*"),
        "Request target of the verifying OPTIONS request."),
    plugin(THROTTLE, "whitelist_file", K::File, ANY, D::None,
        "File of networks that are never throttled."),
];

/// Every tunable, built-in and plugin, in `dumpconfig` order.
pub fn tunables() -> &'static [Tunable] {
    &TUNABLES
}

/// The tunable named `name`, built-in or from a bundled plugin (check [`Tunable::plugin`]).
pub fn tunable(name: &str) -> Option<&'static Tunable> {
    TUNABLES.iter().find(|t| t.name == name)
}

/// True when a plugin's tunables stay registered after its `UNLOAD` (the original only removes
/// them for EchoService and LazyCDN).
pub fn tunables_survive_unload(plugin: &str) -> bool {
    !matches!(plugin, "EchoService" | "LazyCDN")
}
