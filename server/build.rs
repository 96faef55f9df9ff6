//! Embeds the built review app (`web/dist`) in the `baton` binary, so
//! `baton serve` serves it from any working directory and a container
//! image needs nothing beside the binary.
//!
//! When `web/dist` has no `index.html` (the app was not built, e.g.
//! `cargo build` without npm), the binary is built with the API alone and
//! says so, here as a cargo warning and at start in its log.
//!
//! Writes `$OUT_DIR/embedded_web.rs`: a slice of `(path, bytes, etag)`
//! sorted by path, for a binary search. The ETag is computed here (FNV-1a
//! over the bytes, as `http::spa` does for files read from disk), so a
//! request never hashes a file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let web = manifest.join("..").join("web");
    let dist = web.join("dist");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());

    println!("cargo:rerun-if-changed=build.rs");
    // A directory is scanned as a whole. Watching a path that does not
    // exist would rerun this script (and rebuild the crate) on every
    // build, so without a dist, watch `web/` to notice one appearing.
    if dist.is_dir() {
        println!("cargo:rerun-if-changed={}", dist.display());
    } else if web.is_dir() {
        println!("cargo:rerun-if-changed={}", web.display());
    }

    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        collect(&dist, &dist, &mut files);
    }
    files.sort();

    let mut code = String::from(
        "/// The review app's files: (path below `web/dist`, bytes, ETag), sorted by path.\n\
         pub static FILES: &[(&str, &[u8], &str)] = &[\n",
    );
    for (rel, path) in &files {
        let bytes = std::fs::read(path).unwrap_or_default();
        let _ = writeln!(
            code,
            "    ({rel:?}, include_bytes!({path:?}), {etag:?}),",
            path = path.display().to_string(),
            etag = etag(&bytes),
        );
    }
    code.push_str("];\n");
    if files.is_empty() {
        println!(
            "cargo:warning=web/dist is not built: this baton binary serves the API alone \
             (build the review app with `npm --prefix web ci && npm --prefix web run build`, then rebuild)"
        );
    }
    if let Err(e) = std::fs::write(out.join("embedded_web.rs"), code) {
        panic!("writing embedded_web.rs: {e}");
    }
}

/// Every file below `dir`, as (`/`-separated path relative to `root`, path).
fn collect(root: &Path, dir: &Path, into: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, into);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            into.push((rel, path));
        }
    }
}

/// The same weak validator `http::spa::etag` gives a file read from disk.
fn etag(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("W/\"{hash:016x}-{}\"", bytes.len())
}
