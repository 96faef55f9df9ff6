//! The review app: static files, with client routes falling back to
//! `index.html`. They come from the copy of `web/dist` embedded in the
//! binary at build time (`server/build.rs`), or, when `--web-dir` is set,
//! from that directory on disk (for development: a rebuilt app shows up
//! without rebuilding Baton).
//!
//! Vite names assets by content hash (`/assets/index-3f2a1c.js`), so those
//! are cached for a year and marked immutable; `index.html` is never cached,
//! so a new build is picked up on the next load. Every file has an `ETag`
//! (a hash of its bytes), so revalidating `index.html` costs a `304` with
//! no body; the router gzips these responses when the client asks.

use std::path::{Component, Path, PathBuf};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

use super::HttpState;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_web.rs"));
}

/// True when this binary carries the review app (`web/dist` was built when
/// it was compiled).
pub fn app_embedded() -> bool {
    !embedded::FILES.is_empty()
}

/// Where the review app is served from, for the start log.
pub fn describe(web_dir: Option<&Path>) -> String {
    match web_dir {
        Some(d) => format!("the review app from {}", d.display()),
        None if app_embedded() => format!(
            "the review app embedded in this binary ({} files)",
            embedded::FILES.len()
        ),
        None => "no review app: this binary was built before web/dist was (API only)".into(),
    }
}

pub async fn serve(State(s): State<HttpState>, uri: Uri, headers: HeaderMap) -> Response {
    let Some(rel) = safe_relative(uri.path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match s.app.config.web_dir.as_deref() {
        Some(dir) => from_disk(dir, &rel, &headers).await,
        None => from_binary(&rel, &headers),
    }
}

/// A file of the embedded app, `index.html` for client routes.
fn from_binary(rel: &Path, headers: &HeaderMap) -> Response {
    if !app_embedded() {
        return not_built(None);
    }
    let key = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    let find = |k: &str| {
        embedded::FILES
            .binary_search_by(|(p, _, _)| (*p).cmp(k))
            .ok()
            .map(|i| embedded::FILES[i])
    };
    if !key.is_empty() {
        if let Some((path, bytes, tag)) = find(&key) {
            let body = Bytes::from_static(bytes);
            return respond(Path::new(path), body, tag, cache_for(rel), headers);
        }
        if is_file(rel) {
            return StatusCode::NOT_FOUND.into_response();
        }
    }
    match find("index.html") {
        Some((path, bytes, tag)) => respond(
            Path::new(path),
            Bytes::from_static(bytes),
            tag,
            REVALIDATE,
            headers,
        ),
        None => not_built(None),
    }
}

/// Hashed assets never change under their name; anything else is checked
/// again on every load.
fn cache_for(rel: &Path) -> &'static str {
    if rel.starts_with("assets") {
        IMMUTABLE
    } else {
        REVALIDATE
    }
}

/// A missing asset is a 404, not the app: a stale page asking for an old
/// hashed file must fail visibly. Other paths are client routes.
fn is_file(rel: &Path) -> bool {
    rel.starts_with("assets") || rel.extension().is_some()
}

async fn from_disk(dir: &Path, rel: &Path, headers: &HeaderMap) -> Response {
    if !rel.as_os_str().is_empty() {
        let path = dir.join(rel);
        if let Ok(bytes) = tokio::fs::read(&path).await {
            return file_response(&path, bytes, cache_for(rel), headers);
        }
        if is_file(rel) {
            return StatusCode::NOT_FOUND.into_response();
        }
    }
    let index = dir.join("index.html");
    match tokio::fs::read(&index).await {
        Ok(bytes) => file_response(&index, bytes, REVALIDATE, headers),
        Err(_) => not_built(Some(dir)),
    }
}

/// `/a/b.js` → `a/b.js`; `None` for anything that could leave the directory.
fn safe_relative(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(path.trim_start_matches('/')).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// A weak validator (the body may go out gzipped): FNV-1a over the bytes,
/// enough to tell builds apart, not a security measure.
fn etag(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("W/\"{hash:016x}-{}\"", bytes.len())
}

/// `If-None-Match` lists `etag` (weak comparison, as RFC 9110 §13.1.2 says).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || bare(t) == bare(etag))
}

fn file_response(
    path: &Path,
    bytes: Vec<u8>,
    cache: &'static str,
    headers: &HeaderMap,
) -> Response {
    let tag = etag(&bytes);
    respond(path, Bytes::from(bytes), &tag, cache, headers)
}

/// `bytes` as the file `path` (its content type from the extension), or a
/// `304` when the client holds `tag` already.
fn respond(
    path: &Path,
    bytes: Bytes,
    tag: &str,
    cache: &'static str,
    headers: &HeaderMap,
) -> Response {
    if not_modified(headers, tag) {
        let mut res = StatusCode::NOT_MODIFIED.into_response();
        let h = res.headers_mut();
        if let Ok(v) = HeaderValue::from_str(tag) {
            h.insert(header::ETAG, v);
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        return res;
    }
    let mime = match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

fn not_built(dir: Option<&Path>) -> Response {
    let where_ = dir.map_or_else(
        || {
            "this binary was built without it (web/dist did not exist when it was compiled)"
                .to_string()
        },
        |d| format!("{} has no index.html", d.display()),
    );
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(format!(
            "<!doctype html><title>Baton</title><h1>Baton</h1>\
             <p>The review app is not built: {where_}.</p>\
             <p>Build it with <code>npm --prefix web ci &amp;&amp; npm --prefix web run build</code> \
             (then rebuild Baton, or point <code>--web-dir</code> at <code>web/dist</code>), or use the API at <a href=\"/graphql\">/graphql</a>.</p>"
        )),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::{HeaderMap, etag, not_modified, safe_relative};

    #[test]
    fn a_listed_etag_weak_or_strong_is_not_modified() {
        let tag = etag(b"console.log(1)");
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, &tag));
        h.insert(
            "if-none-match",
            format!("\"x\", {tag}")
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert!(not_modified(&h, &tag));
        assert_ne!(etag(b"a"), etag(b"b"));
    }

    #[test]
    fn paths_cannot_escape_the_web_directory() {
        assert_eq!(safe_relative("/assets/a.js"), Some("assets/a.js".into()));
        assert_eq!(safe_relative("/"), Some("".into()));
        assert_eq!(
            safe_relative("/approvals/123"),
            Some("approvals/123".into())
        );
        assert_eq!(safe_relative("/../etc/passwd"), None);
        assert_eq!(safe_relative("/assets/../../x"), None);
    }
}
