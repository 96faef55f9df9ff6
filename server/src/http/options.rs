//! The HTTP surface's options (`Config.http`): which browser origins may
//! act with a session cookie or open a WebSocket, which may call across
//! origins (CORS), body and batch limits, GraphiQL, and the graphql-ws
//! timers. Each is a flag with a `BATON_…` variable (see `HttpArgs`).
//!
//! An origin list with an entry that is not an origin stops the start,
//! naming the option and the entry: such an entry would never match a
//! browser's `Origin`, and dropping it quietly leaves a deployment whose
//! dashboard or dev server is refused for no visible reason.

use std::time::Duration;

use clap::Args;

pub use crate::config::{DEFAULT_MAX_BODY_BYTES, HttpConfig};

#[derive(Debug, Args, Clone)]
pub struct HttpArgs {
    /// Comma-separated origins whose pages may use the session cookie and
    /// open WebSockets (e.g. http://localhost:5173 for `npm run dev`).
    /// Unset: the public URL's origin.
    #[arg(long, env = "BATON_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Comma-separated origins that may call the API across origins
    /// (CORS, with a bearer token). Unset: CORS is off.
    #[arg(long, env = "BATON_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Largest request body in bytes; larger ones are answered 413.
    #[arg(long, env = "BATON_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Most operations in one batched POST (a JSON array); 1: no batching.
    #[arg(long, env = "BATON_MAX_BATCH", default_value_t = 1)]
    pub max_batch: usize,
    /// Serve GraphiQL at `GET /graphql`.
    #[arg(long, env = "BATON_GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set)]
    pub graphiql: bool,
    /// Seconds a WebSocket has to send `connection_init`.
    #[arg(long, env = "BATON_WS_INIT_TIMEOUT_SECS", default_value_t = 10)]
    pub ws_init_timeout_secs: u64,
    /// Seconds between the server's pings on an open WebSocket.
    #[arg(long, env = "BATON_WS_KEEPALIVE_SECS", default_value_t = 30)]
    pub ws_keepalive_secs: u64,
}

impl HttpArgs {
    /// The HTTP options, or why one of them cannot be used.
    pub fn http(&self) -> anyhow::Result<HttpConfig> {
        Ok(HttpConfig {
            allowed_origins: origins("BATON_ALLOWED_ORIGINS", &self.allowed_origins)?,
            cors_origins: origins("BATON_CORS_ORIGINS", &self.cors_origins)?,
            max_body_bytes: self.max_body_bytes.max(1024),
            max_batch: self.max_batch.max(1),
            graphiql: self.graphiql,
            ws_init_timeout: Duration::from_secs(self.ws_init_timeout_secs.max(1)),
            ws_keepalive: Duration::from_secs(self.ws_keepalive_secs.max(1)),
        })
    }
}

/// The origins of a comma-separated option, each as `parse_origin` writes
/// it; empty entries (a trailing comma, an empty variable) are skipped.
fn origins(option: &str, list: &[String]) -> anyhow::Result<Vec<String>> {
    list.iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .map(|o| {
            parse_origin(o)
                .map_err(|why| anyhow::anyhow!("{option}: '{o}' is not an origin ({why})"))
        })
        .collect()
}

/// An origin as browsers send it in `Origin`
/// (<https://www.rfc-editor.org/rfc/rfc6454#section-6.1>):
/// `scheme://host[:port]`, http or https, without path, query, fragment or
/// credentials. A trailing `/` is forgiven (people paste URLs). Scheme and
/// host come back lowercased, as browsers send them: CORS compares the
/// header byte for byte.
pub fn parse_origin(entry: &str) -> Result<String, String> {
    let entry = entry.trim().trim_end_matches('/');
    if entry == "*" {
        return Err("any origin (`*`) is not allowed: list each origin".into());
    }
    let Some((scheme, rest)) = entry.split_once("://") else {
        return Err("it has no scheme: write http://HOST[:PORT] or https://HOST[:PORT]".into());
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(format!("the scheme must be http or https, not {scheme}"));
    }
    if rest.contains(['/', '?', '#']) {
        return Err("an origin has no path, query or fragment: only scheme://host[:port]".into());
    }
    if rest.contains('@') {
        return Err("an origin has no user or password".into());
    }
    // An IPv6 host is bracketed; its colons are not the port's.
    let (host, port) = match rest.strip_prefix('[') {
        Some(v6) => {
            let (addr, after) = v6
                .split_once(']')
                .ok_or("the IPv6 address has no closing `]`")?;
            if addr.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(format!("[{addr}] is not an IPv6 address"));
            }
            (format!("[{}]", addr.to_ascii_lowercase()), after)
        }
        None => {
            let (name, after) = match rest.find(':') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            if name.is_empty() {
                return Err("it names no host".into());
            }
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                return Err(format!(
                    "`{name}` is not a host name (letters, digits, `-` and `.`; an international name in its xn-- form)"
                ));
            }
            (name.to_ascii_lowercase(), after)
        }
    };
    let port = match port {
        "" => String::new(),
        p => match p.strip_prefix(':').map(str::parse::<u16>) {
            Some(Ok(n)) if n > 0 => format!(":{n}"),
            _ => return Err(format!("`{p}` is not a port (`:` and 1 to 65535)")),
        },
    };
    Ok(format!("{scheme}://{host}{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn origins_are_scheme_host_and_port_written_as_browsers_send_them() {
        for (given, origin) in [
            ("http://localhost:5173", "http://localhost:5173"),
            (
                "https://Dashboard.Example.com/",
                "https://dashboard.example.com",
            ),
            ("HTTP://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            (
                "https://xn--bcher-kva.example",
                "https://xn--bcher-kva.example",
            ),
        ] {
            assert_eq!(parse_origin(given).as_deref(), Ok(origin), "{given}");
        }
        for bad in [
            "localhost:5173",
            "*",
            "null",
            "ftp://files.example",
            "http://",
            "http://:8080",
            "http://example.com/app",
            "http://example.com?x=1",
            "http://user:pw@example.com",
            "http://example.com:0",
            "http://example.com:99999",
            "http://example.com:port",
            "http://exa mple.com",
            "http://bücher.example",
            "http://[::1",
            "http://[not-v6]:80",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad} should be refused");
        }
    }

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        http: HttpArgs,
    }

    fn http(args: &[&str]) -> anyhow::Result<HttpConfig> {
        let mut argv = vec!["baton"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv)?.http.http()
    }

    #[test]
    fn a_bad_origin_is_refused_naming_the_option_and_the_entry() {
        let err = http(&["--cors-origins", "https://dash.example, dash.example:8443"])
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "BATON_CORS_ORIGINS: 'dash.example:8443' is not an origin (it has no scheme: write http://HOST[:PORT] or https://HOST[:PORT])"
            )
        );
        let err = http(&["--allowed-origins", "http://localhost:5173/app"])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("BATON_ALLOWED_ORIGINS: 'http://localhost:5173/app' is not an origin"),
            "{err}"
        );
        // Good lists pass, cleaned; empty entries are no entries.
        let ok = http(&[
            "--allowed-origins",
            "http://localhost:5173/,",
            "--cors-origins",
            "",
        ])
        .ok();
        assert_eq!(
            ok.as_ref().map(|c| c.allowed_origins.clone()),
            Some(vec!["http://localhost:5173".to_string()])
        );
        assert_eq!(ok.map(|c| c.cors_origins), Some(Vec::new()));
    }
}
