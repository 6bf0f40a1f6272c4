//! Conditional pipelines (`Pipeline::when`): conditions the server evaluates on stored
//! values (after the pipeline's earlier ops), branches with `else_when` chains and
//! nesting, the branch report, exact comparisons at the integer bounds, conditions on
//! other documents, and all or nothing when a branch fails. Written once for both modes.

use super::common::{self, models::*};
use super::structures::dump_all;
use super::{Api, Go, RunQuery, RunUpdate, global_pipeline, maybe_async, mode_test};
use rapyer::{Cond, Error, Model};

/// The stored age decides, not the local copy's: `then` runs for an adult, `otherwise`
/// for a minor, mirrored into the local copy only for the ops that ran; an `else_when`
/// chain takes its first holding branch; a nested chain in a branch that did not run
/// reports `None` and changes nothing.
#[maybe_async]
#[mode_test]
async fn branches_run_on_stored_values() {
    let _t = common::env();
    let mut m = Member {
        age: 20,
        score: 60,
        ..Member::default()
    };
    m.insert().await.unwrap();
    m.age = 5; // stale local copy: the condition reads Redis
    let (adult, tier, inner) = m
        .pipeline(|p, pipe| {
            let adult = pipe
                .when(p.age.gt(17))
                .then(|b| b.add(p.status.set("adult".into())))
                .otherwise(|b| b.add(p.status.set("minor".into())));
            let tier = pipe
                .when(p.score.ge(100))
                .then(|b| b.add(p.level.set("gold".into())))
                .else_when(p.score.ge(50), |b| b.add(p.level.set("silver".into())))
                .otherwise(|b| b.add(p.level.set("bronze".into())));
            let mut inner = None;
            pipe.when(p.age.lt(18)).then(|b| {
                inner = Some(
                    b.when(p.age.lt(13))
                        .then(|b| b.add(p.badges.push("child".into())))
                        .otherwise(|b| b.add(p.badges.push("teen".into()))),
                );
            });
            Ok((adult, tier, inner.unwrap()))
        })
        .await
        .unwrap();
    assert_eq!(adult.taken(), Some(0), "then");
    assert_eq!(tier.taken(), Some(1), "the else_when");
    assert_eq!(tier.outcomes(), [Some(false), Some(true)]);
    assert_eq!(inner.taken(), None, "its enclosing branch did not run");
    assert_eq!(inner.outcomes(), [None]);
    assert_eq!((m.status.as_str(), m.level.as_str()), ("adult", "silver"));
    assert!(m.badges.is_empty());
    let stored = Member::get(&m.id).await.unwrap();
    assert_eq!(
        (stored.status.as_str(), stored.level.as_str()),
        ("adult", "silver")
    );
    assert!(stored.badges.is_empty());
    // the index follows the branch's write
    let found = Member::find(Member::fields().status.eq("adult"))
        .run_all()
        .await;
    assert_eq!(found.unwrap().len(), 1);
}

/// A condition sees the values the pipeline's earlier ops left; comparisons of every
/// kind: integers exactly at `i64`/`u64` bounds, floats, text prefixes and substrings,
/// membership and ranges, optional fields, collection lengths, `& | !`.
#[maybe_async]
#[mode_test]
async fn conditions_compare_exactly_and_see_earlier_ops() {
    let _t = common::env();
    let m = Member {
        age: 20,
        status: "active".into(),
        score: u64::MAX,
        big: i64::MAX - 1,
        ratio: 0.1,
        badges: vec!["a".into(), "b".into()],
        ..Member::default()
    };
    m.insert().await.unwrap();
    let id = m.id.clone();
    let outcomes = global_pipeline(|pipe| {
        let p = Member::at(&id);
        pipe.add(p.big.incr(1));
        let conds: Vec<Cond> = vec![
            p.big.eq(i64::MAX),     // after the increment, exactly
            p.big.gt(i64::MAX - 1), // 2^63 − 1 > 2^63 − 2, beyond doubles
            p.score.eq(u64::MAX),
            p.score.gt(u64::MAX - 1),
            p.age.between(18, 20),
            p.age.is_in([1, 20, 30]),
            p.ratio.lt(0.10000000000000002),
            p.status.starts_with("act"),
            p.status.contains("tiv"),
            p.status.is_in(["idle".to_string(), "active".into()]),
            p.nick.is_none(),
            p.badges.length().eq(2),
            p.notes.length().eq(0),
            p.age.gt(30) | p.status.eq("active".into()),
            !(p.age.gt(30) & p.status.eq("active".into())),
            // false ones
            p.big.lt(i64::MAX),
            p.score.ne(u64::MAX),
            p.nick.is_some(),
            p.badges.length().gt(2),
            p.level.eq("x".into()),
        ];
        Ok(conds
            .into_iter()
            .map(|c| pipe.when(c).branch())
            .collect::<Vec<_>>())
    })
    .await
    .unwrap();
    let got: Vec<Option<bool>> = outcomes.iter().map(|b| b.outcomes()[0]).collect();
    let mut want = vec![Some(true); 15];
    want.extend([Some(false); 5]);
    assert_eq!(got, want);
}

/// Conditions on another document of the pipeline, and on documents that do not exist
/// (`exists` is false, their fields are missing, nothing fails); a branch that fails
/// after other branches wrote leaves every key, index included, byte for byte as it was;
/// NaN in a condition is refused before sending.
#[maybe_async]
#[mode_test]
async fn conditions_on_other_documents_and_all_or_nothing() {
    let t = common::env();
    let a = Member {
        age: 30,
        status: "a".into(),
        big: i64::MAX,
        ..Member::default()
    };
    a.insert().await.unwrap();
    let b = Member {
        age: 40,
        ..Member::default()
    };
    b.insert().await.unwrap();
    let ghost = rapyer::Id::new();
    let (ia, ib) = (a.id.clone(), b.id.clone());
    let (older, missing) = global_pipeline(|pipe| {
        let (pa, pb) = (Member::at(&ia), Member::at(&ib));
        let older = pipe
            .when(pb.age.gt(35) & Cond::exists::<Member>(&ib))
            .then(|x| x.add(pa.level.set("b is older".into())))
            .branch();
        let missing = pipe
            .when(Cond::exists::<Member>(&ghost) | Member::at(&ghost).age.gt(0))
            .then(|x| x.add(pa.level.set("ghost".into())))
            .branch();
        Ok((older, missing))
    })
    .await
    .unwrap();
    assert_eq!((older.taken(), missing.taken()), (Some(0), None));
    // field against field, across documents and within one
    let fields = global_pipeline(|pipe| {
        let (pa, pb) = (Member::at(&ia), Member::at(&ib));
        let ghost = Member::at(rapyer::Id::new());
        Ok([
            pipe.when(pb.age.gt_field(&pa.age)).branch(), // 40 > 30
            pipe.when(pa.age.ge_field(&pb.age)).branch(), // 30 >= 40: no
            pipe.when(pa.big.gt_field(&pa.age)).branch(), // i64::MAX > 30
            pipe.when(pa.status.ne_field(&pb.status)).branch(), // "a" vs ""
            pipe.when(pa.age.eq_field(&ghost.age)).branch(), // missing: no
            pipe.when(pa.age.ne_field(&ghost.age)).branch(), // missing: ne holds
        ])
    })
    .await
    .unwrap();
    let got: Vec<Option<bool>> = fields.iter().map(|b| b.outcomes()[0]).collect();
    assert_eq!(
        got,
        [
            Some(true),
            Some(false),
            Some(true),
            Some(true),
            Some(false),
            Some(true)
        ]
    );
    let stored = Member::get(&a.id).await.unwrap();
    assert_eq!(stored.level, "b is older");

    // a failure in a taken branch undoes the earlier branches' writes too
    let before = dump_all(&t);
    let r = global_pipeline(|pipe| {
        let pa = Member::at(&ia);
        pipe.when(pa.age.eq(30))
            .then(|x| x.add(pa.status.set("changed".into())));
        pipe.when(pa.status.eq("changed".into())).then(|x| {
            x.add(pa.badges.push("x".into()));
            x.add(pa.big.incr(1)); // i64::MAX + 1: refused
        });
        Ok(())
    })
    .await;
    assert!(matches!(r, Err(Error::Rejected { .. })), "{r:?}");
    assert_eq!(
        dump_all(&t),
        before,
        "every key as it was, the status index too"
    );

    let r = global_pipeline(|pipe| {
        let pa = Member::at(&ia);
        pipe.when(pa.ratio.gt(f64::NAN))
            .then(|x| x.add(pa.age.incr(1)));
        Ok(())
    })
    .await;
    assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    assert_eq!(dump_all(&t), before);
}

/// Updates by query: every matching document's program runs on the server, one script
/// per chunk of 100 (250 documents: 3), branch counts reported; a document that stops
/// matching before its turn (here: an earlier document's program changes its status in
/// the same chunk) is re-checked and left alone.
#[maybe_async]
#[mode_test]
async fn updates_by_query_recheck_the_filter_per_document() {
    let _t = common::env();
    let members: Vec<Member> = (0..250)
        .map(|i| Member {
            age: i,
            status: "bulk".into(),
            ..Member::default()
        })
        .collect();
    Member::bulk_save(&members).await.unwrap();
    let f = Member::fields();
    let report = Member::find(f.status.eq("bulk"))
        .run_update(|p, b| {
            b.add(p.badges.push("seen".into()));
            b.when(p.age.lt(50))
                .then(|b| b.add(p.level.set("young".into())))
                .otherwise(|b| b.add(p.level.set("older".into())))
        })
        .await
        .unwrap();
    assert_eq!(
        (report.matched, report.updated, report.skipped),
        (250, 250, 0)
    );
    assert_eq!(report.chunks, 3);
    assert_eq!(report.branches, [vec![50, 200]]);
    let young = Member::get(&members[10].id).await.unwrap();
    assert_eq!((young.level.as_str(), young.badges.len()), ("young", 1));

    // re-checked in the script: the first program moves the last document out of the
    // filter before its turn
    let few: Vec<Member> = (0..5)
        .map(|i| Member {
            age: 1000 + i,
            status: "few".into(),
            ..Member::default()
        })
        .collect();
    Member::bulk_save(&few).await.unwrap();
    let victim = few
        .iter()
        .max_by_key(|m| m.id.to_string())
        .unwrap()
        .id
        .clone();
    let first = std::sync::atomic::AtomicBool::new(true);
    let report = Member::find(f.status.eq("few"))
        .run_update(|p, b| {
            if first.swap(false, std::sync::atomic::Ordering::Relaxed) {
                b.add(Member::at(&victim).status.set("gone".into()));
            }
            b.add(p.badges.push("few".into()));
        })
        .await
        .unwrap();
    assert_eq!((report.matched, report.updated, report.skipped), (5, 4, 1));
    let left = Member::get(&victim).await.unwrap();
    assert!(left.badges.is_empty(), "left alone: {left:?}");
    assert_eq!(left.status, "gone");
}

/// Loops: over the list as it was when the loop started (removals by value skip and
/// repeat nothing, duplicates included), numeric element conditions, a set in byte order,
/// an empty collection (0 visited), a loop in a branch that did not run (nothing), and a
/// body failing at a later element undoes every earlier iteration; nested loops are
/// refused before sending.
#[maybe_async]
#[mode_test]
async fn loops_run_the_body_per_element_of_a_snapshot() {
    let t = common::env();
    let mut m = Member {
        badges: vec![
            "expired:a".into(),
            "ok".into(),
            "expired:b".into(),
            "ok".into(),
            "expired:a".into(),
        ],
        scores: vec![5, 50, 500, -3],
        tagset: ["a".to_string(), "b".into(), "c".into()].into(),
        ..Member::default()
    };
    m.insert().await.unwrap();
    let id = m.id.clone();
    let empty = Member::default();
    empty.insert().await.unwrap();
    let (badges, scores, set, none, skipped) = global_pipeline(|pipe| {
        let p = Member::at(&id);
        let badges = pipe.for_each(&p.badges, |item, b| {
            let _ = b.when(item.starts_with("expired:")).then(|b| {
                b.add(item.remove());
                b.add(p.big.incr(1));
            });
        });
        let scores = pipe.for_each(&p.scores, |item, b| {
            let _ = b.when(item.gt(10)).then(|b| b.add(p.age.incr(1)));
            let _ = b.when(item.lt(0)).then(|b| b.add(item.remove()));
        });
        let set = pipe.for_each(&p.tagset, |item, b| {
            let _ = b.when(item.ne("b".into())).then(|b| b.add(item.remove()));
        });
        let none = pipe.for_each(&Member::at(&empty.id).scores, |_, b| {
            b.add(p.level.set("never".into()));
        });
        let mut skipped = None;
        let _ = pipe.when(p.age.gt(1000)).then(|b| {
            skipped = Some(b.for_each(&p.badges, |item, b| {
                b.add(item.remove());
            }));
        });
        Ok((badges, scores, set, none, skipped.unwrap()))
    })
    .await
    .unwrap();
    assert_eq!(
        (
            badges.get(),
            scores.get(),
            set.get(),
            none.get(),
            skipped.get()
        ),
        (Some(&5), Some(&4), Some(&3), Some(&0), None)
    );
    let stored = Member::get(&id).await.unwrap();
    assert_eq!(stored.badges, ["ok", "ok"]);
    assert_eq!(stored.big, 3);
    assert_eq!(stored.scores, [5, 50, 500]);
    assert_eq!(stored.age, 2);
    assert_eq!(stored.tagset, ["b".to_string()].into());
    assert_eq!(stored.level, "", "a loop over nothing runs nothing");
    m.badges.clear(); // loops mirror nothing: the local copy is the caller's to reload

    // a later element's failure undoes the earlier iterations
    Member::at(&id).big.set(i64::MAX - 1).go().await.unwrap();
    let before = dump_all(&t);
    let r = global_pipeline(|pipe| {
        let p = Member::at(&id);
        let _ = pipe.for_each(&p.scores, |item, b| {
            b.add(item.remove());
            b.add(p.big.incr(1)); // the second element overflows
        });
        Ok(())
    })
    .await;
    assert!(matches!(r, Err(Error::Rejected { .. })), "{r:?}");
    assert_eq!(dump_all(&t), before, "every iteration undone");

    let r = global_pipeline(|pipe| {
        let p = Member::at(&id);
        let _ = pipe.for_each(&p.scores, |_, b| {
            let _ = b.for_each(&p.badges, |_, _| {});
        });
        Ok(())
    })
    .await;
    assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
}
