//! Response fields in the order the document asked for them.
//!
//! The GraphQL spec (§7.2.2, "Serialized Map Ordering") wants a response
//! object's keys in the selection set's order. async-graphql 7.2 resolves
//! the fields of an object concurrently and inserts each one as it
//! finishes (`do_resolve_container` drains a `FuturesUnordered`), so a field
//! that waits on the database (a loader, a related row) lands after the
//! plain fields selected after it. Clients that compare answers textually,
//! or read the first key, notice. [`reorder`] restores the order from the
//! parsed document after execution; it runs in the `observe` extension, on
//! every HTTP answer and every graphql-ws event.

use std::collections::HashMap;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use async_graphql::{Name, Value};

/// Puts the keys of every object in `data` in the order of the operation
/// `operation` (or the document's only operation) selects them.
pub fn reorder(doc: &ExecutableDocument, operation: Option<&str>, data: &mut Value) {
    let op = match (&doc.operations, operation) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
            Some(op) => op,
            None => return,
        },
        // Several operations and no name: execution refused it already.
        (DocumentOperations::Multiple(_), None) => return,
    };
    order_value(doc, &[&op.node.selection_set.node], data);
}

fn order_value(doc: &ExecutableDocument, sets: &[&SelectionSet], value: &mut Value) {
    match value {
        Value::List(items) => {
            for item in items {
                order_value(doc, sets, item);
            }
        }
        Value::Object(map) => {
            let mut keys: Vec<Name> = Vec::new();
            let mut subsets: HashMap<Name, Vec<&SelectionSet>> = HashMap::new();
            for set in sets {
                collect(doc, set, &mut keys, &mut subsets, 0);
            }
            let in_order = keys
                .iter()
                .filter(|k| map.contains_key(*k))
                .zip(map.keys())
                .all(|(want, have)| want == have);
            if !in_order {
                let mut old = std::mem::take(map);
                for k in &keys {
                    if let Some(v) = old.swap_remove(k) {
                        map.insert(k.clone(), v);
                    }
                }
                // Nothing should be left; keep whatever is rather than drop it.
                map.extend(old);
            }
            for (k, v) in map.iter_mut() {
                if let Some(sub) = subsets.get(k)
                    && !sub.is_empty()
                {
                    order_value(doc, sub, v);
                }
            }
        }
        _ => {}
    }
}

/// The response keys of `set` in first-appearance order (fragments
/// expanded, whatever their type condition: a key the object lacks is
/// simply absent from it), and for each the sub-selections merged under it.
fn collect<'d>(
    doc: &'d ExecutableDocument,
    set: &'d SelectionSet,
    keys: &mut Vec<Name>,
    subsets: &mut HashMap<Name, Vec<&'d SelectionSet>>,
    depth: usize,
) {
    // Validation refuses fragment cycles; the bound is only a backstop.
    if depth > 64 {
        return;
    }
    for sel in &set.items {
        match &sel.node {
            Selection::Field(f) => {
                let key = f.node.response_key().node.clone();
                let entry = subsets.entry(key.clone()).or_insert_with(|| {
                    keys.push(key);
                    Vec::new()
                });
                if !f.node.selection_set.node.items.is_empty() {
                    entry.push(&f.node.selection_set.node);
                }
            }
            Selection::FragmentSpread(s) => {
                if let Some(frag) = doc.fragments.get(&s.node.fragment_name.node) {
                    collect(doc, &frag.node.selection_set.node, keys, subsets, depth + 1);
                }
            }
            Selection::InlineFragment(i) => {
                collect(doc, &i.node.selection_set.node, keys, subsets, depth + 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn keys(v: &Value) -> Vec<String> {
        match v {
            Value::Object(m) => m.keys().map(|k| k.to_string()).collect(),
            _ => vec![],
        }
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (Name::new(k), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn restores_selection_order_through_aliases_fragments_and_lists() {
        let doc = parse_query(
            "query Q { a: approval { workflow { id type } ...F id } }
             fragment F on Approval { ... on Approval { status } votes { id } }",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let wf = obj(&[("type", Value::from("t")), ("id", Value::from("w"))]);
        let vote = obj(&[("id", Value::from("v"))]);
        let approval = obj(&[
            ("id", Value::from("a")),
            ("votes", Value::List(vec![vote])),
            ("status", Value::from("PENDING")),
            ("workflow", wf),
        ]);
        let mut data = obj(&[("a", approval)]);
        reorder(&doc, Some("Q"), &mut data);
        let Value::Object(top) = &data else {
            panic!("not an object")
        };
        let a = &top["a"];
        assert_eq!(keys(a), ["workflow", "status", "votes", "id"]);
        let Value::Object(am) = a else { panic!() };
        assert_eq!(keys(&am["workflow"]), ["id", "type"]);
    }

    #[test]
    fn picks_the_named_operation_and_leaves_scalars_alone() {
        let doc = parse_query("query A { x y } query B { y x }").unwrap_or_else(|e| panic!("{e}"));
        let mut data = obj(&[("x", Value::from(1)), ("y", Value::from(2))]);
        reorder(&doc, Some("B"), &mut data);
        assert_eq!(keys(&data), ["y", "x"]);
        reorder(&doc, Some("A"), &mut data);
        assert_eq!(keys(&data), ["x", "y"]);
        let mut scalar = Value::from(3);
        reorder(&doc, Some("A"), &mut scalar);
        assert_eq!(scalar, Value::from(3));
    }
}
