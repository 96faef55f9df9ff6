//! `schema.graphql` at the repository root is exactly what `baton schema`
//! prints. Integrators read the file; this keeps it honest.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn schema_graphql_matches_the_served_schema() {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .arg("schema")
        .output()
        .unwrap_or_else(|e| panic!("running baton schema: {e}"));
    assert!(out.status.success(), "baton schema failed: {out:?}");
    let printed = String::from_utf8(out.stdout).unwrap_or_default();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        printed == checked_in,
        "schema.graphql is out of date; regenerate it with:\n  cargo run -p baton -- schema > schema.graphql"
    );
    assert!(printed.contains("type Query"), "the SDL has no Query type");
}
