//! Property test (proptest): random conditional programs (conditions, `else_when` chains,
//! nested branches, increments, sets and pushes) over random documents, run by rapyer on
//! the server and by a plain-Rust oracle on a client-side copy: the stored document,
//! every branch report and the failure (an overflowing increment undoes the whole
//! program) agree. A mutated oracle (`gt` read as `ge`) is shown to disagree.
#![allow(missing_docs)]

mod common;

use proptest::prelude::*;
use rapyer::sync::SyncModel;
use rapyer::{Branch, Cond, Error, Id, Model, Pipeline};

#[derive(Model, Debug, Clone, PartialEq, Default)]
#[rapyer(name = "PropCond")]
struct Doc {
    id: Id,
    a: i64,
    b: i64,
    s: String,
    tags: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Num {
    A,
    B,
}

#[derive(Debug, Clone, Copy)]
enum Cmp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone)]
enum C {
    Num(Num, Cmp, i64),
    /// field against field
    Pair(Num, Cmp, Num),
    Text(u8, String), // 0 eq, 1 starts_with, 2 contains
    Len(Cmp, u64),
    And(Box<C>, Box<C>),
    Or(Box<C>, Box<C>),
    Not(Box<C>),
}

#[derive(Debug, Clone)]
enum S {
    Incr(Num, i64),
    Set(String),
    Push(String),
    When(C, Vec<S>, Vec<(C, Vec<S>)>, Option<Vec<S>>),
    /// for each tag (a snapshot): if it passes the test (0 eq, 1 starts_with,
    /// 2 contains), remove it and add 1 to the number
    Each(u8, String, Num),
}

fn num() -> impl Strategy<Value = Num> {
    prop_oneof![Just(Num::A), Just(Num::B)]
}

fn cmp() -> impl Strategy<Value = Cmp> {
    prop_oneof![
        Just(Cmp::Eq),
        Just(Cmp::Ne),
        Just(Cmp::Gt),
        Just(Cmp::Ge),
        Just(Cmp::Lt),
        Just(Cmp::Le)
    ]
}

/// Small values near the documents' values, and the `i64` bounds.
fn value() -> impl Strategy<Value = i64> {
    prop_oneof![
        -3i64..=3,
        Just(i64::MAX),
        Just(i64::MAX - 1),
        Just(i64::MIN)
    ]
}

fn text() -> impl Strategy<Value = String> {
    "[ab]{0,3}"
}

fn cond() -> impl Strategy<Value = C> {
    let leaf = prop_oneof![
        (num(), cmp(), value()).prop_map(|(n, c, v)| C::Num(n, c, v)),
        (num(), cmp(), num()).prop_map(|(n, c, m)| C::Pair(n, c, m)),
        (0u8..3, text()).prop_map(|(o, t)| C::Text(o, t)),
        (cmp(), 0u64..4).prop_map(|(c, n)| C::Len(c, n)),
    ];
    leaf.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| C::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| C::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| C::Not(Box::new(a))),
        ]
    })
}

fn stmts() -> impl Strategy<Value = Vec<S>> {
    let leaf = prop_oneof![
        (num(), -2i64..=2).prop_map(|(n, by)| S::Incr(n, by)),
        text().prop_map(S::Set),
        text().prop_map(S::Push),
    ];
    let stmt = leaf.prop_recursive(3, 24, 4, |inner| {
        let block = proptest::collection::vec(inner, 0..3);
        (
            cond(),
            block.clone(),
            proptest::collection::vec((cond(), block.clone()), 0..2),
            proptest::option::of(block),
        )
            .prop_map(|(c, t, e, o)| S::When(c, t, e, o))
    });
    let each = (0u8..3, text(), num()).prop_map(|(o, t, n)| S::Each(o, t, n));
    proptest::collection::vec(prop_oneof![3 => stmt, 1 => each], 1..5)
}

fn holds(c: Cmp, ord: std::cmp::Ordering, mutated: bool) -> bool {
    use std::cmp::Ordering::*;
    match c {
        Cmp::Eq => ord == Equal,
        Cmp::Ne => ord != Equal,
        Cmp::Gt if mutated => ord != Less,
        Cmp::Gt => ord == Greater,
        Cmp::Ge => ord != Less,
        Cmp::Lt => ord == Less,
        Cmp::Le => ord != Greater,
    }
}

fn field(d: &Doc, n: Num) -> i64 {
    match n {
        Num::A => d.a,
        Num::B => d.b,
    }
}

/// The oracle's evaluation of `c` on the copy `d`.
fn eval(c: &C, d: &Doc, mutated: bool) -> bool {
    match c {
        C::Num(n, op, v) => holds(*op, field(d, *n).cmp(v), mutated),
        C::Pair(n, op, m) => holds(*op, field(d, *n).cmp(&field(d, *m)), mutated),
        C::Text(0, t) => d.s == *t,
        C::Text(1, t) => d.s.starts_with(t.as_str()),
        C::Text(_, t) => d.s.contains(t.as_str()),
        C::Len(op, n) => holds(*op, (d.tags.len() as u64).cmp(n), mutated),
        C::And(a, b) => eval(a, d, mutated) & eval(b, d, mutated),
        C::Or(a, b) => eval(a, d, mutated) | eval(b, d, mutated),
        C::Not(a) => !eval(a, d, mutated),
    }
}

/// Number of `when`s in `stmts`, nested ones included (reports are in pre-order).
fn whens(stmts: &[S]) -> usize {
    stmts
        .iter()
        .map(|s| match s {
            S::When(_, t, e, o) => {
                1 + whens(t)
                    + e.iter().map(|(_, b)| whens(b)).sum::<usize>()
                    + o.as_deref().map_or(0, whens)
            }
            _ => 0,
        })
        .sum()
}

/// Runs `stmts` on the copy: the branch report of each `when` in pre-order (`None` for
/// the ones that did not run), or `Err` when an increment overflows.
fn oracle(
    stmts: &[S],
    d: &mut Doc,
    report: &mut Vec<Option<usize>>,
    mutated: bool,
) -> Result<(), ()> {
    for s in stmts {
        match s {
            S::Incr(n, by) => {
                let f = match n {
                    Num::A => &mut d.a,
                    Num::B => &mut d.b,
                };
                *f = f.checked_add(*by).ok_or(())?;
            }
            S::Each(o, t, n) => {
                // by position over the list as the loop started: a removal shifts the
                // positions after it
                let mut removed = 0;
                for (i, e) in d.tags.clone().into_iter().enumerate() {
                    let pass = match o {
                        0 => e == *t,
                        1 => e.starts_with(t.as_str()),
                        _ => e.contains(t.as_str()),
                    };
                    if pass {
                        d.tags.remove(i - removed);
                        removed += 1;
                        let f = match n {
                            Num::A => &mut d.a,
                            Num::B => &mut d.b,
                        };
                        *f = f.checked_add(1).ok_or(())?;
                    }
                }
            }
            S::Set(t) => d.s = t.clone(),
            S::Push(t) => d.tags.push(t.clone()),
            S::When(c, then, elses, otherwise) => {
                let at = report.len();
                report.push(None);
                let mut blocks: Vec<&Vec<S>> = vec![then];
                blocks.extend(elses.iter().map(|(_, b)| b));
                blocks.extend(otherwise.iter());
                let mut conds = vec![c];
                conds.extend(elses.iter().map(|(c, _)| c));
                let taken = conds
                    .iter()
                    .position(|c| eval(c, d, mutated))
                    .or(otherwise.as_ref().map(|_| conds.len()));
                report[at] = taken;
                for (i, block) in blocks.iter().enumerate() {
                    if Some(i) == taken {
                        oracle(block, d, report, mutated)?;
                    } else {
                        report.extend(std::iter::repeat_n(None, whens(block)));
                    }
                }
            }
        }
    }
    Ok(())
}

fn to_cond(c: &C, id: &Id) -> Cond {
    let p = Doc::at(id);
    let num = |n: Num| match n {
        Num::A => p.a,
        Num::B => p.b,
    };
    match c {
        C::Num(n, op, v) => {
            let h = num(*n);
            match op {
                Cmp::Eq => h.eq(*v),
                Cmp::Ne => h.ne(*v),
                Cmp::Gt => h.gt(*v),
                Cmp::Ge => h.ge(*v),
                Cmp::Lt => h.lt(*v),
                Cmp::Le => h.le(*v),
            }
        }
        C::Pair(n, op, m) => {
            let q = Doc::at(id);
            let other = match m {
                Num::A => q.a,
                Num::B => q.b,
            };
            let h = num(*n);
            match op {
                Cmp::Eq => h.eq_field(&other),
                Cmp::Ne => h.ne_field(&other),
                Cmp::Gt => h.gt_field(&other),
                Cmp::Ge => h.ge_field(&other),
                Cmp::Lt => h.lt_field(&other),
                Cmp::Le => h.le_field(&other),
            }
        }
        C::Text(0, t) => p.s.eq(t.clone()),
        C::Text(1, t) => p.s.starts_with(t),
        C::Text(_, t) => p.s.contains(t),
        C::Len(op, n) => {
            let l = p.tags.length();
            match op {
                Cmp::Eq => l.eq(*n),
                Cmp::Ne => l.ne(*n),
                Cmp::Gt => l.gt(*n),
                Cmp::Ge => l.ge(*n),
                Cmp::Lt => l.lt(*n),
                Cmp::Le => l.le(*n),
            }
        }
        C::And(a, b) => to_cond(a, id) & to_cond(b, id),
        C::Or(a, b) => to_cond(a, id) | to_cond(b, id),
        C::Not(a) => !to_cond(a, id),
    }
}

/// Adds `stmts` to the pipeline; each `when`'s report, in pre-order.
fn emit(stmts: &[S], id: &Id, pipe: &mut Pipeline<'static>, reports: &mut Vec<Branch>) {
    for s in stmts {
        let p = Doc::at(id);
        match s {
            S::Incr(Num::A, by) => {
                pipe.add(p.a.incr(*by));
            }
            S::Incr(Num::B, by) => {
                pipe.add(p.b.incr(*by));
            }
            S::Set(t) => {
                pipe.add(p.s.set(t.clone()));
            }
            S::Each(o, t, n) => {
                let _ = pipe.for_each(&p.tags, |item, b| {
                    let test = match o {
                        0 => item.eq(t.clone()),
                        1 => item.starts_with(t),
                        _ => item.contains(t),
                    };
                    let q = Doc::at(id);
                    let _ = b.when(test).then(|b| {
                        b.add(item.remove());
                        match n {
                            Num::A => b.add(q.a.incr(1)),
                            Num::B => b.add(q.b.incr(1)),
                        };
                    });
                });
            }
            S::Push(t) => {
                pipe.add(p.tags.push(t.clone()));
            }
            S::When(c, then, elses, otherwise) => {
                let at = reports.len();
                let mut nested = Vec::new();
                let mut w = pipe
                    .when(to_cond(c, id))
                    .then(|b| emit(then, id, b, &mut nested));
                for (c, block) in elses {
                    w = w.else_when(to_cond(c, id), |b| emit(block, id, b, &mut nested));
                }
                let branch = match otherwise {
                    Some(block) => w.otherwise(|b| emit(block, id, b, &mut nested)),
                    None => w.branch(),
                };
                reports.insert(at, branch);
                reports.extend(nested);
            }
        }
    }
}

/// Runs the program on the server: the reports, or the error.
fn run(stmts: &[S], id: &Id) -> rapyer::Result<Vec<Option<usize>>> {
    let reports = rapyer::sync_pipeline(|pipe| {
        let mut reports = Vec::new();
        emit(stmts, id, pipe, &mut reports);
        Ok(reports)
    })?;
    Ok(reports.iter().map(Branch::taken).collect())
}

fn start() -> impl Strategy<Value = (i64, i64, String, Vec<String>)> {
    (
        value(),
        value(),
        text(),
        proptest::collection::vec(text(), 0..3),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, max_shrink_iters: 64, ..ProptestConfig::default() })]

    #[test]
    fn server_programs_match_the_oracle((a, b, s, tags) in start(), program in stmts()) {
        let _t = common::env();
        let doc = Doc { id: Id::new(), a, b, s, tags };
        doc.sync_insert().unwrap();
        let mut copy = doc.clone();
        let mut want = Vec::new();
        let expected = oracle(&program, &mut copy, &mut want, false);
        let got = run(&program, &doc.id);
        let stored = Doc::sync_get(&doc.id).unwrap();
        match expected {
            Ok(()) => {
                let got = got.unwrap();
                prop_assert_eq!(&got, &want, "branch reports");
                prop_assert_eq!(stored, copy, "stored document");
            }
            Err(()) => {
                prop_assert!(matches!(got, Err(Error::Rejected { .. })), "{:?}", got);
                prop_assert_eq!(stored, doc, "nothing applied");
            }
        }
    }
}

/// The comparison has teeth: an oracle that reads `gt` as `ge` disagrees with the server
/// on `a > 5` at `a == 5`.
#[test]
fn a_mutated_oracle_disagrees() {
    let _t = common::env();
    let doc = Doc {
        id: Id::new(),
        a: 5,
        ..Doc::default()
    };
    doc.sync_insert().unwrap();
    let program = vec![S::When(
        C::Num(Num::A, Cmp::Gt, 5),
        vec![S::Incr(Num::B, 1)],
        vec![],
        None,
    )];
    let (mut right, mut wrong) = (doc.clone(), doc.clone());
    let (mut r1, mut r2) = (Vec::new(), Vec::new());
    oracle(&program, &mut right, &mut r1, false).unwrap();
    oracle(&program, &mut wrong, &mut r2, true).unwrap();
    let got = run(&program, &doc.id).unwrap();
    let stored = Doc::sync_get(&doc.id).unwrap();
    assert_eq!((got.clone(), stored.clone()), (r1, right));
    assert_ne!(
        (got, stored),
        (r2, wrong),
        "the mutated oracle must fail the property"
    );
}
