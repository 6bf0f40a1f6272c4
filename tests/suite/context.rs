//! Pipeline context (an earlier op's result used later in the same program, on the
//! server) and loops over maps and lists of element structs: conditions on their fields,
//! writes in place, positional removal, moves. Written once for both modes.

use super::common::{self, models::*};
use super::structures::dump_all;
use super::{Api, RunQuery, global_pipeline, maybe_async, mode_test};
use rapyer::{Error, Model};

fn lot(sku: &str, qty: u64, delta: i64, expired: bool) -> Lot {
    Lot {
        sku: sku.into(),
        qty,
        delta,
        expired,
    }
}

/// A popped item is pushed elsewhere (a move on the server), a counter's new count
/// decides a branch, a read's `None` skips the op taking it; the local copy mirrors the
/// moved item from the reply.
#[maybe_async]
#[mode_test]
async fn results_flow_into_later_ops_and_conditions() {
    let _t = common::env();
    let mut s = Store {
        left: vec!["a".into(), "b".into()],
        prices: [("x".to_string(), 7)].into(),
        ..Store::default()
    };
    s.insert().await.unwrap();
    let (hot, popped) = s
        .pipeline(|p, pipe| {
            let job = pipe.add(p.left.pop());
            pipe.add(p.right.push_value(&job.value()));
            pipe.add(p.last.set_value(&job.value()));
            pipe.add(p.picked.add_value(&job.value()));
            let n = pipe.add(p.views.increment(5));
            pipe.add(p.prices.insert_value("views".into(), &n.value()));
            let hot = pipe
                .when(n.value().ge(5) & job.value().eq("b".into()))
                .then(|b| b.add(p.mode.set("hot".into())))
                .otherwise(|b| b.add(p.mode.set("cold".into())));
            let missing = pipe.add(p.prices.get("nope".into()));
            pipe.add(p.moved.set_value(&missing.value().some()));
            let present = pipe.add(p.prices.get("x".into()));
            pipe.add(p.moved.set_value(&present.value().some()));
            Ok((hot, job))
        })
        .await
        .unwrap();
    assert_eq!(popped.get().map(String::as_str), Some("b"));
    assert_eq!(hot.taken(), Some(0));
    assert_eq!(s.right, ["b"], "the local copy mirrors the moved item");
    assert_eq!((s.last.as_str(), s.moved), ("b", 7));
    assert!(s.picked.contains("b"), "{:?}", s.picked);
    assert_eq!(s.prices.get("views"), Some(&5));
    let stored = Store::get(&s.id).await.unwrap();
    assert_eq!(
        (
            stored.left,
            stored.right,
            stored.mode,
            stored.last,
            stored.moved
        ),
        (
            vec!["a".to_string()],
            vec!["b".to_string()],
            "hot".into(),
            "b".into(),
            7
        )
    );
    // the moved value is indexed like any write
    let found = Store::find(Store::fields().moved.eq(7))
        .run_ids()
        .await
        .unwrap();
    assert_eq!(found, [s.id.clone()]);

    // a counter read (missing: 0) in a condition; a `when`'s own outcome as a value
    let other = Store::default();
    other.insert().await.unwrap();
    let zero = global_pipeline(|pipe| {
        let o = Store::at(&other.id);
        let n = pipe.add(o.views.get());
        let w = pipe
            .when(n.value().eq(0))
            .then(|b| b.add(o.mode.set("fresh".into())))
            .branch();
        Ok(w)
    })
    .await
    .unwrap();
    assert_eq!(zero.taken(), Some(0));

    // results that are no values, or used before their op, are refused before sending
    let before = dump_all(&_t);
    let r = global_pipeline(|pipe| {
        let o = Store::at(&other.id);
        let later = {
            let mut side = rapyer::Pipeline::new();
            side.add(o.left.pop())
        };
        pipe.add(o.right.push_value(&later.value()));
        Ok(())
    })
    .await;
    assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    assert_eq!(dump_all(&_t), before, "nothing changed");
}

/// A loop over element structs: conditions on their fields (exact beyond 2^53 inside
/// msgpack), writes to a field in place, positional removal among equal elements, and
/// moves to another list; a path condition outside loops; a map loop with its keys.
#[maybe_async]
#[mode_test]
async fn loops_reach_into_elements_and_maps() {
    let _t = common::env();
    let big = (1u64 << 60) + 1;
    let s = Store {
        lots: vec![
            lot("a", 1, 0, true),
            lot("b", big, 0, false),
            lot("a", 1, 0, true),
            lot("c", 3, -2, false),
        ],
        prices: [
            ("apple".to_string(), 3),
            ("pear".into(), 12),
            ("plum".into(), 1),
        ]
        .into(),
        shelves: [
            ("s1".to_string(), lot("k", 2, 0, true)),
            ("s2".into(), lot("m", 9, 0, false)),
        ]
        .into(),
        ..Store::default()
    };
    s.insert().await.unwrap();
    let id = s.id.clone();
    let (lots, prices, shelves, first) = global_pipeline(|pipe| {
        let p = Store::at(&id);
        let lots = pipe.for_each(&p.lots, |item, b| {
            let _ = b
                .when(item.expired.eq(true))
                .then(|b| {
                    b.add(p.done.push_value(&item.value()));
                    b.add(item.remove());
                })
                // 2^60 and 2^60 + 1 are one double: only an exact comparison tells them apart
                .else_when(item.qty.eq(big - 1), |b| b.add(item.delta.set(99)))
                .else_when(item.qty.eq(big), |b| b.add(item.delta.set(1)))
                .otherwise(|b| b.add(item.delta.set(7)));
        });
        let prices = pipe.for_each(&p.prices, |e, b| {
            let _ = b
                .when(e.key().starts_with("p") & e.ge(2))
                .then(|b| b.add(p.right.push_value(&e.key())))
                .otherwise(|b| b.add(e.remove()));
        });
        let shelves = pipe.for_each(&p.shelves, |e, b| {
            let _ = b.when(e.expired.eq(true)).then(|b| b.add(e.qty.incr(10)));
        });
        let first = pipe
            .when(p.lots.at(0).sku.eq("b".into()) & p.shelves.key("s1".into()).qty.eq(12))
            .then(|b| b.add(p.mode.set("checked".into())))
            .branch();
        Ok((lots, prices, shelves, first))
    })
    .await
    .unwrap();
    assert_eq!(
        (lots.get(), prices.get(), shelves.get()),
        (Some(&4), Some(&3), Some(&2))
    );
    assert_eq!(first.taken(), Some(0));
    let stored = Store::get(&id).await.unwrap();
    assert_eq!(
        stored.lots,
        [lot("b", big, 1, false), lot("c", 3, 7, false)]
    );
    assert_eq!(stored.done, [lot("a", 1, 0, true), lot("a", 1, 0, true)]);
    assert_eq!(stored.right, ["pear"]);
    assert_eq!(stored.prices, [("pear".to_string(), 12)].into());
    assert_eq!(stored.shelves["s1"].qty, 12);
    assert_eq!(stored.shelves["s2"].qty, 9);
    assert_eq!(stored.mode, "checked");

    // path against path, existence of elements, keys and fields, the loop's position
    let (outcomes, at_one) = global_pipeline(|pipe| {
        let p = Store::at(&id);
        let a = pipe
            .when(p.lots.at(1).qty.lt_at(&p.lots.at(0).qty))
            .then(|b| b.add(p.last.set("lt".into())))
            .branch();
        let b = pipe
            .when(
                p.lots.at(0).delta.eq_at(&p.lots.at(1).delta)
                    | p.lots.at(5).qty.eq_at(&p.lots.at(5).qty),
            )
            .then(|b| b.add(p.last.set("never".into())))
            .branch();
        let c = pipe
            .when(
                p.lots.at(-1).sku.exists()
                    & !p.lots.at(2).exists()
                    & !p.shelves.key("zz".into()).exists(),
            )
            .then(|b| b.add(p.mode.set("exists".into())))
            .branch();
        let at_one = pipe.for_each(&p.lots, |item, b| {
            let _ = b
                .when(item.index().eq(1))
                .then(|b| b.add(item.delta.set(100)));
        });
        Ok(([a, b, c], at_one))
    })
    .await
    .unwrap();
    let taken: Vec<_> = outcomes.iter().map(|b| b.taken()).collect();
    assert_eq!(taken, [Some(0), None, Some(0)]);
    assert_eq!(at_one.get(), Some(&2));
    let stored = Store::get(&id).await.unwrap();
    assert_eq!(
        (stored.last.as_str(), stored.mode.as_str()),
        ("lt", "exists")
    );
    assert_eq!((stored.lots[0].delta, stored.lots[1].delta), (1, 100));
}

/// What a loop's body may not do is refused before anything is sent (an op moving the
/// positions of the looped list, a write to a set member by path, a loop element used
/// outside its loop), and a failure in a later iteration leaves every key as it was.
#[maybe_async]
#[mode_test]
async fn loop_misuse_is_refused_and_failures_undo_everything() {
    let t = common::env();
    let s = Store {
        lots: vec![lot("a", 1, 0, false), lot("b", 2, i64::MAX, false)],
        left: vec!["x".into()],
        ..Store::default()
    };
    s.insert().await.unwrap();
    let id = s.id.clone();
    let before = dump_all(&t);
    let shifting = global_pipeline(|pipe| {
        let p = Store::at(&id);
        let _ = pipe.for_each(&p.left, |_, b| {
            b.add(p.left.push_front("y".into()));
        });
        Ok(())
    })
    .await;
    assert!(
        matches!(&shifting, Err(Error::InvalidInput(m)) if m.contains("loops over")),
        "{shifting:?}"
    );
    let outside = global_pipeline(|pipe| {
        let p = Store::at(&id);
        let mut kept = None;
        let _ = pipe.for_each(&p.left, |item, _| kept = Some(item.value()));
        pipe.add(p.right.push_value(&kept.unwrap()));
        Ok(())
    })
    .await;
    assert!(
        matches!(outside, Err(Error::InvalidInput(_))),
        "{outside:?}"
    );
    // the second lot's delta overflows after the first was changed and a list written
    let overflow = global_pipeline(|pipe| {
        let p = Store::at(&id);
        let _ = pipe.for_each(&p.lots, |item, b| {
            b.add(p.done.push_value(&item.value()));
            b.add(item.delta.incr(1));
        });
        Ok(())
    })
    .await;
    assert!(
        matches!(overflow, Err(Error::Rejected { .. })),
        "{overflow:?}"
    );
    assert_eq!(dump_all(&t), before, "nothing changed");
}

/// The program of the mover workers (sync_suite / async_suite): move the first item of
/// the list `mode` names to the other one (`lr`: left to right), or, when that list is
/// empty, turn the direction around; with `flip`, turn it whatever the lists hold.
/// Returns whether an item moved.
pub(super) fn mover(
    pipe: &mut rapyer::Pipeline<'static>,
    id: &rapyer::Id,
    flip: bool,
) -> rapyer::Branch {
    let p = Store::at(id);
    let turn = |b: &mut rapyer::Pipeline<'static>| {
        let _ = b
            .when(p.mode.eq("lr".into()))
            .then(|b| b.add(p.mode.set("rl".into())))
            .otherwise(|b| b.add(p.mode.set("lr".into())));
    };
    if flip {
        turn(pipe);
    }
    pipe.when(p.mode.eq("lr".into()) & p.left.length().gt(0))
        .then(|b| {
            let item = b.add(p.left.pop_front());
            b.add(p.right.push_value(&item.value()));
            b.add(p.moved.incr(1));
        })
        .else_when(p.mode.eq("rl".into()) & p.right.length().gt(0), |b| {
            let item = b.add(p.right.pop_front());
            b.add(p.left.push_value(&item.value()));
            b.add(p.moved.incr(1));
        })
        .otherwise(turn)
}

/// The store the movers start from: 200 items on the left.
pub(super) fn mover_store() -> Store {
    Store {
        mode: "lr".into(),
        left: (0..200).map(|i| format!("item-{i}")).collect(),
        ..Store::default()
    }
}

/// After the movers: every item is in exactly one list, once, and the moves counted on
/// the server are the moves the workers saw.
pub(super) fn check_movers(stored: &Store, moves: u64) {
    let mut all: Vec<String> = stored.left.iter().chain(&stored.right).cloned().collect();
    all.sort();
    let mut want: Vec<String> = mover_store().left;
    want.sort();
    assert_eq!(all, want, "no item lost or duplicated");
    assert_eq!(stored.moved as u64, moves, "the branch reports agree");
    assert!(moves > 100, "the workers moved items: {moves}");
}

/// How long the mover workers run.
pub(super) const MOVE_FOR: std::time::Duration = std::time::Duration::from_secs(20);
