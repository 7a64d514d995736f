//! Config templates shared by the test files (placeholders: `{mgmt_port}`, `{web_port}`,
//! `{docroot}`, any `{NAME_port}`).

/// A management service on `{mgmt_port}`.
pub const MGMT: &str = "CREATE SERVICE mgmt
  SET role = management
  SET listen = 127.0.0.1:{mgmt_port}
ENABLE mgmt
";

/// The web_server of the spec's OBS setup, on `{web_port}`, with `{extra}` SET lines before
/// ENABLE.
const WEB_TEMPLATE: &str = "CREATE SERVICE web
  SET role = web_server
  SET listen = 127.0.0.1:{web_port}
  SET docroot = {docroot}
  SET dirindexing = on
  SET enable_put = on
  SET enable_delete = on
  SET enable_concatenate_get = on
  SET persist_client = on
  SET index_files = index.html, default.htm
";

/// Management + the OBS web_server.
pub fn web() -> String {
    web_with("")
}

/// Management + the OBS web_server with extra `SET` lines (one per line, context `web`).
pub fn web_with(extra: &str) -> String {
    format!("{MGMT}{WEB_TEMPLATE}{extra}ENABLE web\n")
}

/// A minimal web_server named `name` on `{NAME_port}` with only role, listen, docroot and the
/// given extra lines.
pub fn plain_web(name: &str, extra: &str) -> String {
    format!(
        "CREATE SERVICE {name}
  SET role = web_server
  SET listen = 127.0.0.1:{{{name}_port}}
  SET docroot = {{docroot}}
{extra}ENABLE {name}
"
    )
}
