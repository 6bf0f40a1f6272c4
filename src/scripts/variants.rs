//! Executor scripts holding only the kinds a plan uses. A script defines every helper and
//! op anew on each call, and with every kind's ops that is most of an executor call's
//! server time (about 30 µs of ~34 on the machine of `BENCHMARKS.md`); a plan of counter
//! increments needs the front (types, clock, refresh, index, specs, base, the root ops),
//! the structure ops and the back (`exec_head.lua`, `exec.lua`), nothing else.
//!
//! A kind unit is part of a plan's script when its source names one of the plan's op
//! codes as a word (its `OPS.<code>` definition, or an `OP_TYPES` entry for a code the
//! front defines): including a unit too many is harmless. Each variant is built once per
//! process, its source leaked (there are at most 2^8 of them, in practice a handful).

use std::collections::HashMap;

use once_cell::sync::Lazy;
use parking_lot::Mutex;

/// The executor's front: what every plan needs before the kinds' ops.
const FRONT: &str = concat!(
    include_str!("types.lua"),
    include_str!("clock.lua"),
    include_str!("refresh.lua"),
    include_str!("index.lua"),
    include_str!("specs.lua"),
    include_str!("../exec/base.lua"),
    include_str!("../exec/ops.lua"),
);

/// The kinds' op files, in `EXEC_SRC` order (a unit that calls into another one holds
/// both: `path.lua` walks with `path_read.lua`'s helpers).
const UNITS: [&str; 8] = [
    include_str!("../kinds/scalar.lua"),
    include_str!("../kinds/list.lua"),
    include_str!("../kinds/map.lua"),
    include_str!("../kinds/set.lua"),
    include_str!("../kinds/structure.lua"),
    include_str!("../kinds/pqueue.lua"),
    concat!(
        include_str!("../kinds/ratelimit.lua"),
        include_str!("../kinds/ratelimit_op.lua")
    ),
    concat!(
        include_str!("../kinds/path_read.lua"),
        include_str!("../kinds/path.lua")
    ),
];

/// The executor's back: the plan's parsing and the program.
const BACK: &str = concat!(
    include_str!("../exec/exec_head.lua"),
    include_str!("../exec/cond.lua"),
    include_str!("../exec/exec.lua")
);

type Variant = &'static super::Script;

static MASKS: Lazy<Mutex<HashMap<&'static str, u8>>> = Lazy::new(Default::default);
static VARIANTS: Lazy<Mutex<HashMap<u8, Variant>>> = Lazy::new(Default::default);

/// Whether `text` holds `word` with no identifier character on either side.
fn names(text: &str, word: &str) -> bool {
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    text.match_indices(word).any(|(at, _)| {
        !ident(text[..at].chars().next_back()) && !ident(text[at + word.len()..].chars().next())
    })
}

/// The units naming op `code`.
fn mask_of(code: &'static str) -> u8 {
    *MASKS.lock().entry(code).or_insert_with(|| {
        UNITS
            .iter()
            .enumerate()
            .filter(|(_, unit)| names(unit, code))
            .fold(0u8, |m, (i, _)| m | (1 << i))
    })
}

/// The source of the variant holding the units of `mask`.
fn source(mask: u8) -> String {
    let mut src = String::with_capacity(FRONT.len() + BACK.len() + 16_384);
    src.push_str(FRONT);
    for (i, unit) in UNITS.iter().enumerate() {
        if mask & (1 << i) != 0 {
            src.push_str(unit);
        }
    }
    src.push_str(BACK);
    src
}

/// The executor script for a plan of ops `codes` (as a script; as a function, every
/// variant is the library's whole executor).
pub(crate) fn exec_for<'c>(codes: impl Iterator<Item = &'c &'static str>) -> Variant {
    let mask = codes.fold(0u8, |m, code| m | mask_of(code));
    if mask == u8::MAX {
        return &super::EXEC;
    }
    let mut variants = VARIANTS.lock();
    let variant = variants.entry(mask).or_insert_with(|| {
        let src: &'static str = Box::leak(source(mask).into_boxed_str());
        // its function is the whole executor's: the library builds every kind once
        Box::leak(Box::new(super::Script::new("exec", src)))
    });
    Variant::clone(variant)
}

#[cfg(test)]
mod tests {
    use super::{UNITS, exec_for, source};

    /// All units together are the executor script itself.
    #[test]
    fn every_unit_makes_the_whole_executor() {
        assert_eq!(source(u8::MAX), crate::scripts::EXEC.source);
        assert_eq!(UNITS.len(), 8);
    }

    /// The variant chosen for each op code defines that op, and the type its key needs.
    #[test]
    fn each_ops_variant_defines_it() {
        let codes: Vec<&'static str> = crate::scripts::EXEC
            .source
            .lines()
            .filter_map(|l| l.strip_prefix("OPS."))
            .filter_map(|l| l.split_once(" = ").map(|(c, _)| c))
            .filter(|c| c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .collect();
        assert!(codes.len() > 30, "{codes:?}");
        for code in &codes {
            let src = exec_for(std::iter::once(code)).source;
            assert!(src.contains(&format!("OPS.{code} = ")), "{code}");
            for line in crate::scripts::EXEC
                .source
                .lines()
                .filter(|l| l.contains("OP_TYPES"))
            {
                if super::names(line, code) {
                    assert!(src.contains(line), "{code}: {line}");
                }
            }
        }
        // a counter's plan leaves out every other kind's ops
        let counter = exec_for(["structure_write_get"].iter()).source;
        for other in [
            "OPS.rpush =",
            "OPS.hpopitem =",
            "OPS.sadd =",
            "OPS.path_set =",
            "OPS.pq_push =",
        ] {
            assert!(!counter.contains(other), "{other}");
        }
        assert!(counter.contains("OPS.structure_write_get ="));
        assert!(
            counter.len() < crate::scripts::EXEC.source.len() * 3 / 5,
            "{}",
            counter.len()
        );
    }
}
