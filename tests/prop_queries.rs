//! Property test (proptest): random documents, random writes (saves, atomic ops on
//! indexed fields, deletes), then random expressions with random order/offset/limit give
//! the same results as an in-memory oracle — on a 1-shard and a 4-shard model.
#![allow(missing_docs)]

mod common;

use proptest::prelude::*;
use rapyer::sync::SyncModel;
use rapyer::{Expr, Id, Model};

const STATUSES: [&str; 6] = ["active", "idle", "", "a\0b", "ünï:{x}*", "act"];

#[derive(Debug, Clone)]
struct Doc {
    age: i64,
    status: usize,
    score: i8,
    active: bool,
    nick: Option<u8>,
}

#[derive(Debug, Clone)]
enum Write {
    Save(usize, Doc),
    Incr(usize, i64),
    SetStatus(usize, usize),
    Delete(usize),
}

#[derive(Debug, Clone)]
enum Q {
    Age(u8, i64),
    Status(u8, usize),
    Score(i8, i8),
    Active(bool),
    Nick(u8),
    In(Vec<i64>),
    And(Box<Q>, Box<Q>),
    Or(Box<Q>, Box<Q>),
    Not(Box<Q>),
}

fn doc() -> impl Strategy<Value = Doc> {
    (
        -5i64..30,
        0..STATUSES.len(),
        -4i8..16,
        any::<bool>(),
        proptest::option::of(0u8..3),
    )
        .prop_map(|(age, status, score, active, nick)| Doc {
            age,
            status,
            score,
            active,
            nick,
        })
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        (any::<usize>(), doc()).prop_map(|(i, d)| Write::Save(i, d)),
        (any::<usize>(), -3i64..4).prop_map(|(i, by)| Write::Incr(i, by)),
        (any::<usize>(), 0..STATUSES.len()).prop_map(|(i, s)| Write::SetStatus(i, s)),
        any::<usize>().prop_map(Write::Delete),
    ]
}

fn query() -> impl Strategy<Value = Q> {
    let leaf = prop_oneof![
        (0u8..6, -5i64..30).prop_map(|(op, v)| Q::Age(op, v)),
        (0u8..4, 0..STATUSES.len()).prop_map(|(op, s)| Q::Status(op, s)),
        (-4i8..16, 0i8..8).prop_map(|(lo, w)| Q::Score(lo, lo + w)),
        any::<bool>().prop_map(Q::Active),
        (0u8..3).prop_map(Q::Nick),
        proptest::collection::vec(-5i64..30, 0..4).prop_map(Q::In),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Q::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Q::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| Q::Not(Box::new(a))),
        ]
    })
}

/// One model per shard count, with the same fields, its expression builder and oracle.
macro_rules! person_model {
    ($name:ident, $key:literal, $shards:literal) => {
        #[derive(Model, Debug, Clone, PartialEq, Default)]
        #[rapyer(name = $key, shards = $shards)]
        pub struct $name {
            pub id: Id,
            #[rapyer(index)]
            pub age: i64,
            #[rapyer(index)]
            pub status: String,
            #[rapyer(index)]
            pub score: f64,
            #[rapyer(index)]
            pub active: bool,
            #[rapyer(index)]
            pub nick: Option<String>,
        }

        impl $name {
            fn from_doc(id: Id, d: &Doc) -> Self {
                Self {
                    id,
                    age: d.age,
                    status: STATUSES[d.status].into(),
                    score: f64::from(d.score) / 4.0,
                    active: d.active,
                    nick: d.nick.map(|n| format!("n{n}")),
                }
            }

            fn expr(q: &Q) -> Expr {
                let f = Self::fields();
                match q {
                    Q::Age(0, v) => f.age.eq(*v),
                    Q::Age(1, v) => f.age.gt(*v),
                    Q::Age(2, v) => f.age.ge(*v),
                    Q::Age(3, v) => f.age.lt(*v),
                    Q::Age(4, v) => f.age.le(*v),
                    Q::Age(_, v) => f.age.ne(*v),
                    Q::Status(0, s) => f.status.eq(STATUSES[*s]),
                    Q::Status(1, s) => f.status.starts_with(STATUSES[*s]),
                    Q::Status(2, s) => f.status.gt(STATUSES[*s]),
                    Q::Status(_, s) => f.status.le(STATUSES[*s]),
                    Q::Score(lo, hi) => f.score.between(f64::from(*lo) / 4.0, f64::from(*hi) / 4.0),
                    Q::Active(b) => f.active.eq(*b),
                    Q::Nick(n) => f.nick.eq(format!("n{n}")),
                    Q::In(vs) => f.age.is_in(vs.iter().copied()),
                    Q::And(a, b) => Self::expr(a) & Self::expr(b),
                    Q::Or(a, b) => Self::expr(a) | Self::expr(b),
                    Q::Not(a) => !Self::expr(a),
                }
            }

            fn eval(&self, q: &Q) -> bool {
                match q {
                    Q::Age(0, v) => self.age == *v,
                    Q::Age(1, v) => self.age > *v,
                    Q::Age(2, v) => self.age >= *v,
                    Q::Age(3, v) => self.age < *v,
                    Q::Age(4, v) => self.age <= *v,
                    Q::Age(_, v) => self.age != *v,
                    Q::Status(0, s) => self.status == STATUSES[*s],
                    Q::Status(1, s) => self.status.as_bytes().starts_with(STATUSES[*s].as_bytes()),
                    Q::Status(2, s) => self.status.as_bytes() > STATUSES[*s].as_bytes(),
                    Q::Status(_, s) => self.status.as_bytes() <= STATUSES[*s].as_bytes(),
                    Q::Score(lo, hi) => {
                        self.score >= f64::from(*lo) / 4.0 && self.score <= f64::from(*hi) / 4.0
                    }
                    Q::Active(b) => self.active == *b,
                    Q::Nick(n) => self.nick.as_deref() == Some(format!("n{n}").as_str()),
                    Q::In(vs) => vs.contains(&self.age),
                    Q::And(a, b) => self.eval(a) && self.eval(b),
                    Q::Or(a, b) => self.eval(a) || self.eval(b),
                    Q::Not(a) => !self.eval(a),
                }
            }

            fn check(
                docs: Vec<Doc>,
                writes: Vec<Write>,
                queries: Vec<(Q, bool, usize, usize)>,
            ) -> Result<(), TestCaseError> {
                let _t = common::env();
                let mut live: Vec<Self> =
                    docs.iter().map(|d| Self::from_doc(Id::new(), d)).collect();
                for p in &live {
                    p.sync_insert().unwrap();
                }
                for w in writes {
                    if live.is_empty() {
                        break;
                    }
                    match w {
                        Write::Save(i, d) => {
                            let k = i % live.len();
                            let next = Self::from_doc(live[k].id.clone(), &d);
                            next.sync_save().unwrap();
                            live[k] = next;
                        }
                        Write::Incr(i, by) => {
                            let k = i % live.len();
                            live[k].atomic().age.sync_incr(by).unwrap();
                        }
                        Write::SetStatus(i, s) => {
                            let k = i % live.len();
                            live[k]
                                .atomic()
                                .status
                                .sync_set(STATUSES[s].into())
                                .unwrap();
                        }
                        Write::Delete(i) => {
                            let gone = live.remove(i % live.len());
                            gone.sync_delete().unwrap();
                        }
                    }
                }
                for (q, desc, offset, limit) in queries {
                    let mut want: Vec<&Self> = live.iter().filter(|p| p.eval(&q)).collect();
                    let count = Self::find(Self::expr(&q)).sync_count().unwrap();
                    prop_assert_eq!(count as usize, want.len(), "count of {:?}", q);
                    want.sort_by(|a, b| {
                        let c = a
                            .age
                            .cmp(&b.age)
                            .then_with(|| a.id.as_str().as_bytes().cmp(b.id.as_str().as_bytes()));
                        if desc { c.reverse() } else { c }
                    });
                    let order = if desc {
                        Self::fields().age.desc()
                    } else {
                        Self::fields().age.asc()
                    };
                    let page = Self::find(Self::expr(&q))
                        .order_by(order)
                        .offset(offset)
                        .limit(limit)
                        .sync_all()
                        .unwrap();
                    let want: Vec<Self> =
                        want.into_iter().skip(offset).take(limit).cloned().collect();
                    prop_assert_eq!(page, want, "page of {:?}", q);
                }
                Ok(())
            }
        }
    };
}

person_model!(OneShard, "PropOne", 1);
person_model!(FourShards, "PropFour", 4);

fn cases() -> ProptestConfig {
    ProptestConfig {
        cases: 24,
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn queries_match_the_oracle_on_one_shard(
        docs in proptest::collection::vec(doc(), 0..30),
        writes in proptest::collection::vec(write(), 0..20),
        queries in proptest::collection::vec((query(), any::<bool>(), 0usize..4, 1usize..8), 1..6),
    ) {
        OneShard::check(docs, writes, queries)?;
    }

    #[test]
    fn queries_match_the_oracle_on_four_shards(
        docs in proptest::collection::vec(doc(), 0..30),
        writes in proptest::collection::vec(write(), 0..20),
        queries in proptest::collection::vec((query(), any::<bool>(), 0usize..4, 1usize..8), 1..6),
    ) {
        FourShards::check(docs, writes, queries)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any expression the typed paths build, printed, parses back to an equal one.
    #[test]
    fn printed_expressions_parse_back_equal(q in query()) {
        let e = OneShard::expr(&q);
        let text = e.to_string();
        let back = OneShard::search(&text).map_err(|err| TestCaseError::fail(format!("{text}: {err}")))?;
        prop_assert_eq!(back.expr(), &e, "{}", text);
    }

    /// Random text never panics the parser: it parses or is InvalidInput.
    #[test]
    fn random_text_never_panics(text in ".{0,60}", tokens in proptest::collection::vec(
        prop_oneof![
            Just("age"), Just("status"), Just("score"), Just("nick"), Just("x.y"), Just("=="),
            Just("!="), Just(">"), Just(">="), Just("<"), Just("<="), Just("&"), Just("|"),
            Just("!"), Just("("), Just(")"), Just("in"), Just("["), Just("]"), Just(","),
            Just("between"), Just("and"), Just("starts_with"), Just("contains"), Just("*"),
            Just("12"), Just("-3.5e2"), Just("true"), Just("\"s\\\"\""), Just("\"\\u{41}\""),
            Just("\""), Just("\\"), Just("é"), Just(" ")
        ], 0..24)) {
        for t in [text, tokens.concat(), tokens.join(" ")] {
            match OneShard::search(&t) {
                Ok(_) | Err(rapyer::Error::InvalidInput(_)) => {}
                Err(other) => prop_assert!(false, "{t:?}: {other:?}"),
            }
        }
    }
}
