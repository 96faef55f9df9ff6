//! Canonical JSON text: object keys sorted at every level, no whitespace.
//! Whatever order a backend or `serde_json` keeps keys in (PostgreSQL's
//! `jsonb` reorders them), the same value gives the same text, so hashes of
//! it are stable: the offline model's answers, artifacts' `sha256`.

use serde_json::Value;

/// `value` as canonical JSON text.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// Appends `value` as canonical JSON text to `out`.
pub fn write(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(k) {
                    write(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn keys_are_sorted_at_every_level_and_nothing_else_changes() {
        assert_eq!(
            super::to_string(&json!({"b": 1, "a": [true, null, {"d": "x", "c": 2.5}]})),
            r#"{"a":[true,null,{"c":2.5,"d":"x"}],"b":1}"#
        );
        assert_eq!(super::to_string(&json!("é\"")), r#""é\"""#);
    }
}
