//! Owns the deep merge used for imports, inheritance and overrides. Pure: no I/O, no errors.
//!
//! Maps merge key by key (the overlay's keys win, new keys are appended in order); scalars and
//! tagged values are replaced; lists follow [`ListStrategy`] (`replace` by default, as atmos).
//! As atmos' deep merge (`pkg/merge`, mergo's `WithOverride`), a `null` in the overlay replaces
//! the base's value: `vars: {x: null}` sets `x` to null.

use crate::yaml::{Map, Node};

/// `settings.list_merge_strategy` in `atmos.yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListStrategy {
    /// The overlay list replaces the base list.
    #[default]
    Replace,
    /// The overlay list is appended to the base list.
    Append,
    /// Items at the same index that are maps on both sides are deep-merged; any other item
    /// keeps the base's; the overlay's extra items are appended (atmos' `mergeSlicesNative`).
    Merge,
}

impl ListStrategy {
    /// Parses `replace`, `append` or `merge`.
    pub fn parse(s: &str) -> Option<ListStrategy> {
        match s {
            "replace" => Some(ListStrategy::Replace),
            "append" => Some(ListStrategy::Append),
            "merge" => Some(ListStrategy::Merge),
            _ => None,
        }
    }
}

/// Merges `overlay` into `base`.
pub fn merge_into(base: &mut Map, overlay: &Map, lists: ListStrategy) {
    for (k, v) in overlay {
        match base.get_mut(k) {
            Some(existing) => merge_node(existing, v, lists),
            None => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// [`merge_into`] skipping the top-level key `skip`.
pub fn merge_into_except(base: &mut Map, overlay: &Map, skip: &str, lists: ListStrategy) {
    for (k, v) in overlay {
        if k == skip {
            continue;
        }
        match base.get_mut(k) {
            Some(existing) => merge_node(existing, v, lists),
            None => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Merges `overlay` into `base` (maps key by key, lists by `lists`, anything else replaced).
pub fn merge_node(base: &mut Node, overlay: &Node, lists: ListStrategy) {
    match (base, overlay) {
        (Node::Map(b), Node::Map(o)) => merge_into(b, o, lists),
        (Node::Seq(b), Node::Seq(o)) if lists == ListStrategy::Append => {
            b.extend(o.iter().cloned())
        }
        (Node::Seq(b), Node::Seq(o)) if lists == ListStrategy::Merge => {
            for (i, item) in o.iter().enumerate() {
                match (b.get_mut(i), item) {
                    (Some(Node::Map(existing)), Node::Map(item)) => {
                        merge_into(existing, item, lists)
                    }
                    // As atmos (mergo's slice deep copy): an item that is not a map on both
                    // sides keeps the base's.
                    (Some(_), _) => {}
                    (None, _) => b.push(item.clone()),
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// [`merge_into`] taking the overlay by value: its values move into `base` instead of being
/// cloned (instance building merges freshly built layers). Same result as [`merge_into`].
pub fn merge_owned(base: &mut Map, overlay: Map, lists: ListStrategy) {
    if base.is_empty() {
        *base = overlay;
        return;
    }
    for (k, v) in overlay {
        match base.get_mut(&k) {
            Some(existing) => merge_node_owned(existing, v, lists),
            None => {
                base.insert(k, v);
            }
        }
    }
}

/// [`merge_node`] with the overlay by value (keep the two in step).
fn merge_node_owned(base: &mut Node, overlay: Node, lists: ListStrategy) {
    match (base, overlay) {
        (Node::Map(b), Node::Map(o)) => merge_owned(b, o, lists),
        (Node::Seq(b), Node::Seq(o)) if lists == ListStrategy::Append => b.extend(o),
        (Node::Seq(b), Node::Seq(o)) if lists == ListStrategy::Merge => {
            for (i, item) in o.into_iter().enumerate() {
                match (b.get_mut(i), item) {
                    (Some(Node::Map(existing)), Node::Map(item)) => {
                        merge_owned(existing, item, lists)
                    }
                    (Some(_), _) => {}
                    (None, item) => b.push(item),
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// Merges `layers` lowest → highest into a new map.
pub fn merge_all<'a>(layers: impl IntoIterator<Item = &'a Map>, lists: ListStrategy) -> Map {
    let mut out = Map::default();
    for layer in layers {
        merge_into(&mut out, layer, lists);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    fn m(text: &str) -> Map {
        parse(text, "t")
            .ok()
            .and_then(|n| n.as_map().cloned())
            .unwrap_or_default()
    }

    #[test]
    fn maps_merge_scalars_override_lists_replace() {
        let out = merge_all(
            [
                &m("a: {x: 1, y: 2}\nl: [1, 2]\ns: a"),
                &m("a: {y: 3, z: 4}\nl: [9]\ns: b"),
            ],
            ListStrategy::Replace,
        );
        assert_eq!(out, m("a: {x: 1, y: 3, z: 4}\nl: [9]\ns: b"));
    }

    #[test]
    fn list_strategies() {
        let base = m("l: [{a: 1}, 2]");
        let over = m("l: [{b: 1}]");
        assert_eq!(
            merge_all([&base, &over], ListStrategy::Append),
            m("l: [{a: 1}, 2, {b: 1}]")
        );
        assert_eq!(
            merge_all([&base, &over], ListStrategy::Merge),
            m("l: [{a: 1, b: 1}, 2]")
        );
        // As atmos (`TestDeepMergeNative_SliceDeepCopy…`): scalar items keep the base's, maps
        // merge with nested lists merged the same way, the overlay's extra items are appended.
        let base = m("l: [a, {k: [1, {x: 1}]}, [1]]");
        let over = m("l: [b, {k: [9, {y: 2}, 3], n: 1}, [2], c, {d: 1}]");
        assert_eq!(
            merge_all([&base, &over], ListStrategy::Merge),
            m("l: [a, {k: [1, {x: 1, y: 2}, 3], n: 1}, [1], c, {d: 1}]")
        );
        assert_eq!(
            merge_all([&base, &over], ListStrategy::Append),
            m("l: [a, {k: [1, {x: 1}]}, [1], b, {k: [9, {y: 2}, 3], n: 1}, [2], c, {d: 1}]")
        );
        assert_eq!(merge_all([&base, &over], ListStrategy::Replace), over);
    }

    #[test]
    fn null_in_the_overlay_replaces_the_base_value() {
        // atmos' `TestDeepMergeNative_SrcNilOverridesDst`: a null overrides, at every depth.
        let out = merge_all(
            [
                &m("vars: {x: 1, y: {z: 2}}
l: [1]"),
                &m("vars: {x: null, y: null}
l: null"),
            ],
            ListStrategy::Replace,
        );
        assert_eq!(
            out,
            m("vars: {x: null, y: null}
l: null")
        );
        // A key the overlay leaves out keeps the base value.
        let out = merge_all([&m("vars: {x: 1}"), &m("vars: {}")], ListStrategy::Replace);
        assert_eq!(out, m("vars: {x: 1}"));
    }

    #[test]
    fn owned_merge_matches_the_borrowing_one() {
        let cases = [
            (
                "a: {x: 1, y: 2}\nl: [1, 2]\ns: a",
                "a: {y: 3, z: 4}\nl: [9]\ns: b",
            ),
            ("l: [{a: 1}, 2]", "l: [{b: 1}]"),
            ("l: [a, {k: [1, {x: 1}]}]", "l: [b, {k: [9, {y: 2}, 3]}, c]"),
            ("a: {x: 1}", "a: str"),
            ("a: str", "a: {x: 1}"),
            ("a: {x: {y: 1}}\nb: null", "a: {x: null}\nb: {c: 1}"),
            ("", "a: 1"),
        ];
        for lists in [
            ListStrategy::Replace,
            ListStrategy::Append,
            ListStrategy::Merge,
        ] {
            for (base, over) in cases {
                let mut borrowed = m(base);
                merge_into(&mut borrowed, &m(over), lists);
                let mut owned = m(base);
                merge_owned(&mut owned, m(over), lists);
                assert_eq!(owned, borrowed, "{base} <- {over} ({lists:?})");
            }
        }
    }

    #[test]
    fn type_changes_replace() {
        let out = merge_all([&m("a: {x: 1}"), &m("a: str")], ListStrategy::Replace);
        assert_eq!(out, m("a: str"));
        let out = merge_all([&m("a: str"), &m("a: {x: 1}")], ListStrategy::Replace);
        assert_eq!(out, m("a: {x: 1}"));
    }
}
