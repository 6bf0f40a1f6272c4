//! Queries on plain Redis, checked against an in-memory oracle. Written once for both
//! modes.

use super::common::{self, models::*};
use super::{Api, Go, RunQuery, maybe_async, mode_test, search_by_name};
use rapyer::{Error, Expr, Id, Model};

/// A small random query language with an oracle: each case becomes both a rapyer
/// expression and a predicate on the Rust value.
#[derive(Debug, Clone)]
enum Q {
    Age(u8, i64),
    Status(u8, String),
    Score(f64, f64),
    Active(bool),
    Nick(String),
    City(String),
    In(Vec<i64>),
    And(Box<Q>, Box<Q>),
    Or(Box<Q>, Box<Q>),
    Not(Box<Q>),
}

impl Q {
    fn expr(&self) -> Expr {
        let f = Person::fields();
        match self {
            Q::Age(0, v) => f.age.eq(*v),
            Q::Age(1, v) => f.age.gt(*v),
            Q::Age(2, v) => f.age.ge(*v),
            Q::Age(3, v) => f.age.lt(*v),
            Q::Age(4, v) => f.age.le(*v),
            Q::Age(_, v) => f.age.ne(*v),
            Q::Status(0, v) => f.status.eq(v.as_str()),
            Q::Status(1, v) => f.status.starts_with(v),
            Q::Status(2, v) => f.status.gt(v.as_str()),
            Q::Status(_, v) => f.status.le(v.as_str()),
            Q::Score(lo, hi) => f.score.between(*lo, *hi),
            Q::Active(b) => f.active.eq(*b),
            Q::Nick(v) => f.nick.eq(v.as_str()),
            Q::City(v) => f.home.city.eq(v.as_str()),
            Q::In(vs) => f.age.is_in(vs.iter().copied()),
            Q::And(a, b) => a.expr() & b.expr(),
            Q::Or(a, b) => a.expr() | b.expr(),
            Q::Not(a) => !a.expr(),
        }
    }

    fn eval(&self, p: &Person) -> bool {
        match self {
            Q::Age(0, v) => p.age == *v,
            Q::Age(1, v) => p.age > *v,
            Q::Age(2, v) => p.age >= *v,
            Q::Age(3, v) => p.age < *v,
            Q::Age(4, v) => p.age <= *v,
            Q::Age(_, v) => p.age != *v,
            Q::Status(0, v) => p.status == *v,
            Q::Status(1, v) => p.status.as_bytes().starts_with(v.as_bytes()),
            Q::Status(2, v) => p.status.as_bytes() > v.as_bytes(),
            Q::Status(_, v) => p.status.as_bytes() <= v.as_bytes(),
            Q::Score(lo, hi) => p.score >= *lo && p.score <= *hi,
            Q::Active(b) => p.active == *b,
            Q::Nick(v) => p.nick.as_deref() == Some(v.as_str()),
            Q::City(v) => p.home.city == *v,
            Q::In(vs) => vs.contains(&p.age),
            Q::And(a, b) => a.eval(p) && b.eval(p),
            Q::Or(a, b) => a.eval(p) || b.eval(p),
            Q::Not(a) => !a.eval(p),
        }
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

const STATUSES: [&str; 8] = [
    "active",
    "idle",
    "",
    "a\0b",
    "ünï:{x}*",
    "act",
    "\"q\"",
    "zz",
];
const CITIES: [&str; 3] = ["Oslo", "Rome", ""];

fn random_person(r: &mut Rng) -> Person {
    Person {
        id: Id::new(),
        age: r.below(40) as i64 - 5,
        status: r.pick(&STATUSES).to_string(),
        score: r.below(20) as f64 / 4.0 - 1.0,
        active: r.below(2) == 0,
        nick: (r.below(3) == 0).then(|| format!("n{}", r.below(4))),
        home: Home {
            city: r.pick(&CITIES).to_string(),
            street: "s".into(),
        },
        tags: vec![],
    }
}

fn random_query(r: &mut Rng, depth: u32) -> Q {
    let leaf = depth == 0 || r.below(3) == 0;
    if leaf {
        match r.below(8) {
            0 => Q::Age(r.below(6) as u8, r.below(40) as i64 - 5),
            1 => Q::Status(r.below(4) as u8, r.pick(&STATUSES).to_string()),
            2 => {
                let lo = r.below(20) as f64 / 4.0 - 1.0;
                Q::Score(lo, lo + r.below(8) as f64 / 2.0)
            }
            3 => Q::Active(r.below(2) == 0),
            4 => Q::Nick(format!("n{}", r.below(4))),
            5 => Q::City(r.pick(&CITIES).to_string()),
            6 => Q::In((0..r.below(4)).map(|_| r.below(40) as i64 - 5).collect()),
            _ => Q::Status(1, "a".into()),
        }
    } else {
        match r.below(3) {
            0 => Q::And(
                Box::new(random_query(r, depth - 1)),
                Box::new(random_query(r, depth - 1)),
            ),
            1 => Q::Or(
                Box::new(random_query(r, depth - 1)),
                Box::new(random_query(r, depth - 1)),
            ),
            _ => Q::Not(Box::new(random_query(r, depth - 1))),
        }
    }
}

#[maybe_async]
#[mode_test]
async fn random_queries_match_an_in_memory_oracle() {
    let _t = common::env();
    let mut r = Rng(0x5DEE_CE66_D1CE_4E5B);
    let mut people: Vec<Person> = (0..80).map(|_| random_person(&mut r)).collect();
    for p in &people {
        p.insert().await.unwrap();
    }
    // random writes through every path: saves, atomic ops, deletes
    for i in 0..40 {
        let k = r.below(people.len() as u64) as usize;
        match i % 4 {
            0 => {
                let mut next = random_person(&mut r);
                next.id = people[k].id.clone();
                next.save().await.unwrap();
                people[k] = next;
            }
            1 => {
                people[k]
                    .atomic()
                    .age
                    .incr(r.below(5) as i64 - 2)
                    .go()
                    .await
                    .unwrap();
            }
            2 => {
                let status = r.pick(&STATUSES).to_string();
                people[k].atomic().status.set(status).go().await.unwrap();
            }
            _ => {
                let gone = people.remove(k);
                gone.delete().await.unwrap();
            }
        }
    }
    for round in 0..120 {
        let q = random_query(&mut r, 3);
        let mut expected: Vec<&Person> = people.iter().filter(|p| q.eval(p)).collect();
        let query = Person::find(q.expr());
        let count = query.run_count().await.unwrap();
        assert_eq!(count as usize, expected.len(), "count of {q:?}");
        // order by age (then id), a page
        expected.sort_by(|a, b| {
            b.age
                .cmp(&a.age)
                .then_with(|| b.id.as_str().cmp(a.id.as_str()))
        });
        let (offset, limit) = (r.below(5) as usize, 1 + r.below(10) as usize);
        let page = query
            .clone()
            .order_by(Person::fields().age.desc())
            .offset(offset)
            .limit(limit)
            .run_all()
            .await
            .unwrap();
        let want: Vec<&Person> = expected.iter().skip(offset).take(limit).copied().collect();
        assert_eq!(
            page.iter().collect::<Vec<_>>(),
            want,
            "page {round} of {q:?}"
        );
        if round % 10 == 0 {
            let mut ids = query.run_ids().await.unwrap();
            ids.sort();
            let mut want_ids: Vec<Id> = expected.iter().map(|p| p.id.clone()).collect();
            want_ids.sort();
            assert_eq!(ids, want_ids, "ids of {q:?}");
        }
    }
}

#[maybe_async]
#[mode_test]
async fn string_order_exact_values_and_the_query_api() {
    let t = common::env();
    let f = Person::fields();
    let mk = |age: i64, status: &str| Person {
        id: Id::new(),
        age,
        status: status.into(),
        ..Person::default()
    };
    let big = 9_007_199_254_740_992i64; // 2^53
    let docs = vec![
        mk(big, "b"),
        mk(big + 1, "a\0z"),
        mk(big - 1, ""),
        mk(-big - 1, "ü"),
        mk(3, "{*}:\"q\""),
    ];
    for d in &docs {
        d.insert().await.unwrap();
    }
    // beyond ±2^53 the score is approximate: the documents decide
    let hit = Person::find(f.age.eq(big + 1)).run_all().await.unwrap();
    assert_eq!(hit, vec![docs[1].clone()]);
    let n = Person::find(f.age.eq(big)).run_count().await.unwrap();
    assert_eq!(n, 1);
    let n = Person::find(f.age.gt(big - 1)).run_count().await.unwrap();
    assert_eq!(n, 2);
    let n = Person::find(f.age.lt(-big)).run_count().await.unwrap();
    assert_eq!(n, 1);
    // floats at the 2^53 boundary are exact scores: queries on them are exact
    for (i, score) in [
        9_007_199_254_740_992.0f64,
        9_007_199_254_740_994.0,
        -9_007_199_254_740_992.0,
    ]
    .iter()
    .enumerate()
    {
        let p = Person {
            score: *score,
            status: format!("f{i}"),
            ..Person::default()
        };
        p.insert().await.unwrap();
    }
    let n = Person::find(f.score.eq(9_007_199_254_740_992.0))
        .run_count()
        .await
        .unwrap();
    assert_eq!(n, 1);
    let n = Person::find(f.score.gt(9_007_199_254_740_992.0))
        .run_count()
        .await
        .unwrap();
    assert_eq!(n, 1);
    let n = Person::find(f.score.le(-9_007_199_254_740_992.0))
        .run_count()
        .await
        .unwrap();
    assert_eq!(n, 1);
    for i in 0..3 {
        let gone = Person::find(f.status.eq(format!("f{i}")))
            .run_delete()
            .await
            .unwrap();
        assert_eq!(gone, 1);
    }
    // awkward string values query exactly
    for d in &docs {
        let found = Person::find(f.status.eq(d.status.as_str()))
            .run_all()
            .await
            .unwrap();
        assert_eq!(found, vec![d.clone()], "status {:?}", d.status);
    }
    let n = Person::find(f.status.starts_with("a"))
        .run_count()
        .await
        .unwrap();
    assert_eq!(n, 1);
    // string order, both ways
    let asc = Person::query()
        .order_by(f.status.asc())
        .run_all()
        .await
        .unwrap();
    let mut want: Vec<String> = docs.iter().map(|d| d.status.clone()).collect();
    want.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(
        asc.iter().map(|p| p.status.clone()).collect::<Vec<_>>(),
        want
    );
    let desc = Person::query()
        .order_by(f.status.desc())
        .limit(2)
        .run_all()
        .await
        .unwrap();
    want.reverse();
    assert_eq!(
        desc.iter().map(|p| p.status.clone()).collect::<Vec<_>>(),
        want[..2].to_vec()
    );
    // first, exists, delete
    let first = Person::query()
        .order_by(f.age.asc())
        .run_first()
        .await
        .unwrap();
    assert_eq!(first.as_ref(), Some(&docs[3]));
    let exists = Person::find(f.status.eq("nope"))
        .run_exists()
        .await
        .unwrap();
    assert!(!exists);
    let deleted = Person::find(f.age.ge(big - 1)).run_delete().await.unwrap();
    assert_eq!(deleted, 3);
    let left = Person::count().await.unwrap();
    assert_eq!(left, 2);
    common::check_person_indexes(&t);
    // an unindexed field is a typed error, not a scan
    let r = Person::find(Person::fields().age.eq(1))
        .order_by(rapyer::FieldPath::<i64>::new("tags".into()).asc())
        .run_count()
        .await;
    assert!(
        matches!(r, Err(Error::InvalidInput(_))),
        "a bad order is refused everywhere: {r:?}"
    );
    let r = Person::query()
        .order_by(rapyer::FieldPath::<i64>::new("tags".into()).asc())
        .run_all()
        .await;
    assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
}

#[maybe_async]
#[mode_test]
async fn queries_never_scan_and_leave_no_keys() {
    let t = common::private_env();
    for i in 0..12 {
        Person {
            age: i,
            status: format!("s{}", i % 3),
            ..Person::default()
        }
        .insert()
        .await
        .unwrap();
    }
    let mut raw = t.raw();
    let dbsize: i64 = redis::cmd("DBSIZE").query(&mut raw).unwrap();
    let (keys, scan) = (
        common::command_calls(&mut raw, "keys"),
        common::command_calls(&mut raw, "scan"),
    );
    let before = t.stats();
    let f = Person::fields();
    let q = Person::find(f.age.gt(3) & (f.status.eq("s1") | !f.active.eq(true)));
    let n = q.run_count().await.unwrap();
    let docs = q
        .clone()
        .order_by(f.age.asc())
        .limit(3)
        .run_all()
        .await
        .unwrap();
    assert!(n >= docs.len() as u64 && !docs.is_empty());
    let spent = t.stats() - before;
    assert_eq!(
        spent.planned_round_trips(),
        3,
        "count: 1; all: ids 1 + documents 1"
    );
    assert_eq!(common::command_calls(&mut raw, "keys"), keys);
    assert_eq!(common::command_calls(&mut raw, "scan"), scan);
    let after: i64 = redis::cmd("DBSIZE").query(&mut raw).unwrap();
    assert_eq!(after, dbsize, "no temporary keys");
}

#[maybe_async]
#[mode_test]
async fn find_one_find_by_and_bulk_get() {
    let _t = common::env();
    let a = Person {
        age: 1,
        status: "x".into(),
        home: Home {
            city: "Oslo".into(),
            street: "s".into(),
        },
        ..Person::default()
    };
    let b = Person {
        age: 2,
        status: "x".into(),
        ..Person::default()
    };
    a.insert().await.unwrap();
    b.insert().await.unwrap();
    let one = Person::find_one(Person::fields().age.eq(2)).await.unwrap();
    assert_eq!(one, Some(b.clone()));
    let none = Person::find_one(Person::fields().age.eq(3)).await.unwrap();
    assert_eq!(none, None);
    let found = rapyer::find_by!(Person, status = "x", home.city = "Oslo")
        .run_all()
        .await
        .unwrap();
    assert_eq!(found, vec![a.clone()]);
    let n = rapyer::find_by!(Person, status = "x")
        .run_count()
        .await
        .unwrap();
    assert_eq!(n, 2);
    // by keys, in the order asked
    let got = Person::bulk_get([&b.id, &a.id]).await.unwrap();
    assert_eq!(got, vec![b.clone(), a.clone()]);
    let ghost = Id::new();
    let r = Person::bulk_get([&a.id, &ghost]).await;
    match r {
        Err(Error::Missing { ids, .. }) => assert_eq!(ids, vec![ghost.to_string()]),
        other => panic!("expected Missing, got {other:?}"),
    }
    let got = Person::bulk_get_existing([&ghost, &a.id]).await.unwrap();
    assert_eq!(got, vec![a]);
}

#[maybe_async]
#[mode_test]
async fn expired_documents_leave_query_results_and_their_index_entries() {
    let t = common::env();
    let keep = Person {
        age: 7,
        status: "s".into(),
        ..Person::default()
    };
    let gone = Person {
        age: 7,
        status: "s".into(),
        ..Person::default()
    };
    keep.insert().await.unwrap();
    gone.insert().await.unwrap();
    let expired = gone
        .set_ttl(std::time::Duration::from_millis(20))
        .await
        .unwrap();
    assert!(expired);
    std::thread::sleep(std::time::Duration::from_millis(60));
    let f = Person::fields();
    let found = Person::find(f.age.eq(7) & f.status.eq("s"))
        .run_all()
        .await
        .unwrap();
    assert_eq!(found, vec![keep.clone()]);
    let n = Person::find(f.age.eq(7)).run_count().await.unwrap();
    assert_eq!(n, 1);
    // the expired document's entries were dropped by the queries that met them
    let mut raw = t.raw();
    for key in t
        .keys()
        .iter()
        .filter(|k| k.ends_with(":i:age") || k.ends_with(":i:status"))
    {
        let members: Vec<Vec<u8>> = redis::cmd("ZRANGE")
            .arg(key)
            .arg(0)
            .arg(-1)
            .query(&mut raw)
            .unwrap();
        let gone_id = gone.id.as_str().as_bytes();
        assert!(
            members
                .iter()
                .all(|m| m.windows(gone_id.len()).all(|w| w != gone_id)),
            "{key} still lists the expired document"
        );
    }
}

#[maybe_async]
#[mode_test]
async fn documents_without_a_value_sort_last_both_ways() {
    let _t = common::env();
    let mk = |nick: Option<&str>| Person {
        nick: nick.map(str::to_owned),
        ..Person::default()
    };
    let docs = [
        mk(Some("b")),
        mk(None),
        mk(Some("a")),
        mk(None),
        mk(Some("c")),
    ];
    for d in &docs {
        d.insert().await.unwrap();
    }
    let f = Person::fields();
    for limit in [None, Some(4)] {
        let mut q = Person::query().order_by(f.nick.asc());
        if let Some(l) = limit {
            q = q.limit(l);
        }
        let asc: Vec<Option<String>> = q
            .run_all()
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.nick)
            .collect();
        let want = [Some("a"), Some("b"), Some("c"), None, None];
        let want: Vec<Option<String>> = want
            .iter()
            .take(limit.unwrap_or(5))
            .map(|n| n.map(str::to_owned))
            .collect();
        assert_eq!(asc, want, "asc, limit {limit:?}");
        let mut q = Person::query().order_by(f.nick.desc());
        if let Some(l) = limit {
            q = q.limit(l);
        }
        let desc: Vec<Option<String>> = q
            .run_all()
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.nick)
            .collect();
        let want = [Some("c"), Some("b"), Some("a"), None, None];
        let want: Vec<Option<String>> = want
            .iter()
            .take(limit.unwrap_or(5))
            .map(|n| n.map(str::to_owned))
            .collect();
        assert_eq!(desc, want, "desc, limit {limit:?}");
    }
}

#[maybe_async]
#[mode_test]
async fn fieldless_enums_are_stored_by_name_and_queryable() {
    let t = common::env();
    let a = Ticket {
        id: Id::new(),
        state: State::Open,
        previous: None,
        history: vec![State::Open],
    };
    let mut b = Ticket {
        id: Id::new(),
        state: State::Closed,
        previous: Some(State::OnHold),
        history: vec![State::OnHold, State::Closed],
    };
    a.insert().await.unwrap();
    b.insert().await.unwrap();
    let back = Ticket::get(&b.id).await.unwrap();
    assert_eq!(back, b);
    let root = format!("{}:{{Ticket:0}}:d:{}", t.ns, b.id);
    let stored: String = redis::cmd("HGET")
        .arg(&root)
        .arg("state")
        .query(&mut t.raw())
        .unwrap();
    assert_eq!(stored, "Closed");
    let f = Ticket::fields();
    let open = Ticket::find(f.state.eq(State::Open))
        .run_all()
        .await
        .unwrap();
    assert_eq!(open, vec![a.clone()]);
    let held = Ticket::find(f.previous.eq(State::OnHold))
        .run_count()
        .await
        .unwrap();
    assert_eq!(held, 1);
    b.atomic().state.set(State::Open).go().await.unwrap();
    let open = Ticket::find(f.state.eq(State::Open))
        .run_count()
        .await
        .unwrap();
    assert_eq!(open, 2);
    let _: () = redis::cmd("HSET")
        .arg(&root)
        .arg("state")
        .arg("Reopened")
        .query(&mut t.raw())
        .unwrap();
    let r = Ticket::get(&b.id).await;
    assert!(
        matches!(r, Err(Error::Decode { ref field, .. }) if field == "state"),
        "{r:?}"
    );
}

/// Text queries: `Model::search(text)` runs the same query as the typed paths, against
/// Redis; bad text is `InvalidInput` naming the position.
#[maybe_async]
#[mode_test]
async fn text_queries_run_like_typed_ones() {
    let _t = common::env();
    for (age, status) in [(30, "active"), (40, "active"), (20, "active"), (50, "idle")] {
        Person {
            age,
            status: status.into(),
            ..Person::default()
        }
        .save()
        .await
        .unwrap();
    }
    let f = Person::fields();
    let typed = Person::find(f.age.gt(25) & f.status.eq("active"))
        .order_by(f.age.desc())
        .limit(10);
    let text = Person::search("age > 25 & status == \"active\"")
        .unwrap()
        .order_by_str("-age")
        .unwrap()
        .limit(10);
    assert_eq!(text.expr(), typed.expr());
    assert_eq!(text.expr().to_string(), "age > 25 & status == \"active\"");
    let by_text: Vec<i64> = text
        .run_all()
        .await
        .unwrap()
        .iter()
        .map(|p| p.age)
        .collect();
    let by_type: Vec<i64> = typed
        .run_all()
        .await
        .unwrap()
        .iter()
        .map(|p| p.age)
        .collect();
    assert_eq!(by_text, [40, 30]);
    assert_eq!(by_text, by_type);
    let n = Person::search("age in [20, 50] | (status starts_with \"id\" & !age == 50)")
        .unwrap()
        .run_count()
        .await
        .unwrap();
    assert_eq!(n, 2);
    match Person::search("age > \"x\"") {
        Err(Error::InvalidInput(m)) => assert!(m.contains("byte 6") && m.contains("number"), "{m}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert!(matches!(
        Person::query().order_by_str("tags"),
        Err(Error::InvalidInput(_))
    ));
}

/// By name, when the type is not at hand: `rapyer::search("Person", text)` gives the
/// same ids as the typed query; unknown models are `InvalidInput` naming the known ones.
#[maybe_async]
#[mode_test]
async fn text_queries_by_model_name() {
    let _t = common::env();
    for age in [10, 30, 40] {
        Person {
            age,
            status: "active".into(),
            ..Person::default()
        }
        .save()
        .await
        .unwrap();
    }
    assert!(rapyer::model_names().contains(&"Person"));
    let mut by_name = search_by_name("Person", "age > 25 & status == \"active\"")
        .await
        .unwrap();
    let f = Person::fields();
    let mut typed: Vec<String> = Person::find(f.age.gt(25) & f.status.eq("active"))
        .run_ids()
        .await
        .unwrap()
        .iter()
        .map(|id| id.to_string())
        .collect();
    by_name.sort();
    typed.sort();
    assert_eq!(by_name.len(), 2);
    assert_eq!(by_name, typed);
    match search_by_name("Nobody", "age > 1").await {
        Err(Error::InvalidInput(m)) => assert!(m.contains("Person"), "{m}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    let bad = search_by_name("Person", "agee > 1").await;
    assert!(matches!(bad, Err(Error::InvalidInput(_))), "{bad:?}");
}
