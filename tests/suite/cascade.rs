//! Relations seen from their target (inverses, from the model registry) and cascading
//! deletes: `Restrict` refuses with nothing changed (DUMP before and after), `Nullify`
//! removes the references (root fields, lists) and their index entries, `Delete` goes
//! on recursively as each relation says, cycles end, round trips are one per level plus
//! one apply. Lazy relations load only when included. Written once for both modes.

use super::common;
use super::{Api, Go, RunQuery, maybe_async, mode_test};
use rapyer::{Cardinality, Cascade, Error, ForeignKey, Id, Model, OnDelete};

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "CasPublisher")]
pub struct Publisher {
    id: Id,
    name: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "CasAuthor")]
pub struct Author {
    id: Id,
    name: String,
    #[rapyer(inverse = "authors", on_delete = "nullify")]
    publisher: Option<ForeignKey<Publisher>>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "CasBook")]
pub struct Book {
    id: Id,
    title: String,
    #[rapyer(inverse = "books")]
    author: ForeignKey<Author>,
    #[rapyer(inverse = "catalog", on_delete = "nullify")]
    publisher: Option<ForeignKey<Publisher>>,
    #[rapyer(inverse = "featured_in", one_to_many)]
    reviews: Vec<ForeignKey<Review>>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "CasReview")]
pub struct Review {
    id: Id,
    #[rapyer(index)]
    stars: i64,
    #[rapyer(inverse = "reviews_of", on_delete = "delete", one_to_one)]
    book: ForeignKey<Book>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "CasUser")]
pub struct User {
    id: Id,
    name: String,
    #[rapyer(inverse = "friend_of", on_delete = "nullify")]
    friends: Vec<ForeignKey<User>>,
    #[rapyer(lazy)]
    best: Option<ForeignKey<User>>,
}

struct World {
    publisher: Publisher,
    authors: Vec<Author>,
    books: Vec<Book>,
    reviews: Vec<Review>,
}

/// One publisher, two authors (both with it), two books each (published by it), each
/// book with two reviews that it features.
#[maybe_async]
async fn world() -> World {
    let publisher = Publisher {
        id: Id::new(),
        name: "Pearson".into(),
    };
    publisher.save().await.unwrap();
    let mut w = World {
        publisher,
        authors: Vec::new(),
        books: Vec::new(),
        reviews: Vec::new(),
    };
    for name in ["Ada", "Grace"] {
        let a = Author {
            id: Id::new(),
            name: name.into(),
            publisher: Some(ForeignKey::to(&w.publisher)),
        };
        a.save().await.unwrap();
        for n in 0..2 {
            let mut b = Book {
                id: Id::new(),
                title: format!("{name} {n}"),
                author: ForeignKey::to(&a),
                publisher: Some(ForeignKey::to(&w.publisher)),
                reviews: Vec::new(),
            };
            for stars in [3, 5] {
                let r = Review {
                    id: Id::new(),
                    stars,
                    book: ForeignKey::to(&b),
                };
                r.save().await.unwrap();
                b.reviews.push(ForeignKey::to(&r));
                w.reviews.push(r);
            }
            b.save().await.unwrap();
            w.books.push(b);
        }
        w.authors.push(a);
    }
    w
}

fn dump(t: &common::TestEnv) -> Vec<(String, Vec<u8>)> {
    let mut raw = t.raw();
    t.keys()
        .into_iter()
        .map(|k| {
            let d: Vec<u8> = redis::cmd("DUMP").arg(&k).query(&mut raw).unwrap();
            (k, d)
        })
        .collect()
}

fn sorted(mut v: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    v.sort();
    v
}

#[maybe_async]
#[mode_test]
async fn targets_know_their_inverses_and_rules_are_checked() {
    let t = common::env();
    let inv = Author::schema().inverses();
    let names: Vec<String> = inv.iter().map(|i| i.name()).collect();
    assert_eq!(names, vec!["books".to_owned()]);
    assert_eq!(inv[0].qualified(), "CasBook.author");
    assert_eq!(inv[0].on_delete(), OnDelete::Restrict);
    let by_name = Publisher::schema().inverse("catalog").unwrap();
    assert_eq!(by_name.source.name, "CasBook");
    assert_eq!(by_name.on_delete(), OnDelete::Nullify);
    assert!(
        Publisher::schema()
            .inverse("CasPublisher.authors")
            .is_some()
    );
    assert!(Publisher::schema().inverse("CasAuthor.publisher").is_some());
    let field = |s: &'static rapyer::ModelSchema, p: &str| {
        s.fields
            .iter()
            .find(|f| f.path == p)
            .unwrap()
            .relation
            .unwrap()
    };
    assert_eq!(
        field(Review::schema(), "book").cardinality(),
        Cardinality::OneToOne
    );
    assert_eq!(
        field(Book::schema(), "author").cardinality(),
        Cardinality::ManyToOne
    );
    assert_eq!(
        field(Book::schema(), "reviews").cardinality(),
        Cardinality::OneToMany
    );
    assert_eq!(
        field(User::schema(), "friends").cardinality(),
        Cardinality::ManyToMany
    );
    assert!(field(User::schema(), "best").is_lazy());

    // a rule naming no relation, and a required key to nullify: refused before anything
    let w = world().await;
    let before = dump(&t);
    let r = Author::delete_with(
        &w.authors[0].id,
        Cascade::map([("bookz", OnDelete::Delete)]),
    )
    .go()
    .await;
    assert!(
        matches!(&r, Err(Error::InvalidInput(m)) if m.contains("bookz") && m.contains("books")),
        "{r:?}"
    );
    let r = Author::delete_with(&w.authors[0].id, Cascade::all(OnDelete::Nullify))
        .go()
        .await;
    assert!(
        matches!(&r, Err(Error::InvalidInput(m)) if m.contains("CasBook.author")),
        "{r:?}"
    );
    assert_eq!(dump(&t), before);
}

#[maybe_async]
#[mode_test]
async fn restrict_refuses_and_changes_nothing() {
    let t = common::env();
    let w = world().await;
    let before = dump(&t);
    let r = Author::delete_with(&w.authors[0].id, Cascade::declared())
        .go()
        .await;
    match &r {
        Err(Error::RelationViolation {
            model,
            id,
            relation,
            referring,
            ids,
            total,
        }) => {
            assert_eq!(*model, "CasAuthor");
            assert_eq!(id, w.authors[0].id.as_str());
            assert_eq!(relation, "books");
            assert_eq!(*referring, "CasBook");
            assert_eq!(*total, 2);
            let mut want: Vec<String> = w.books[..2].iter().map(|b| b.id.to_string()).collect();
            let mut got = ids.clone();
            want.sort();
            got.sort();
            assert_eq!(got, want);
        }
        other => panic!("expected RelationViolation, got {other:?}"),
    }
    assert_eq!(dump(&t), before);
    // nothing refers to a book's reviews' book once the books go: a book restricted only
    // by documents the same cascade deletes is deleted
    let report = Author::delete_with(
        &w.authors[0].id,
        Cascade::map([("books", OnDelete::Delete)]),
    )
    .go()
    .await
    .unwrap();
    assert_eq!(report.attempts, 1);
    let mut want = vec![("CasAuthor", w.authors[0].id.to_string())];
    want.extend(w.books[..2].iter().map(|b| ("CasBook", b.id.to_string())));
    want.extend(
        w.reviews[..4]
            .iter()
            .map(|r| ("CasReview", r.id.to_string())),
    );
    assert_eq!(sorted(report.deleted.clone()), sorted(want));
    assert!(report.nullified.is_empty());
    let gone_author = Author::try_get(&w.authors[0].id).await.unwrap();
    assert!(gone_author.is_none());
    for b in &w.books[..2] {
        let there = Book::exists(&b.id).await.unwrap();
        assert!(!there);
    }
    for r in &w.reviews[..4] {
        let there = Review::exists(&r.id).await.unwrap();
        assert!(!there);
    }
    // the other author's documents are untouched, and the indexes agree
    for b in &w.books[2..] {
        let stored = Book::get(&b.id).await.unwrap();
        assert_eq!(&stored, b);
    }
    let f = Book::fields();
    let gone = Book::find(f.author.eq(&w.authors[0].id))
        .run_count()
        .await
        .unwrap();
    assert_eq!(gone, 0);
    let left = Review::find(Review::fields().stars.eq(5))
        .run_count()
        .await
        .unwrap();
    assert_eq!(left, 2);
}

#[maybe_async]
#[mode_test]
async fn nullify_removes_references_and_their_index_entries() {
    let t = common::env();
    let w = world().await;
    // the publisher: authors and books lose it (both declared nullify)
    let report = Publisher::delete_with(&w.publisher.id, Cascade::declared())
        .go()
        .await
        .unwrap();
    assert_eq!(
        report.deleted,
        vec![("CasPublisher", w.publisher.id.to_string())]
    );
    let mut want: Vec<(&'static str, String, String)> = w
        .authors
        .iter()
        .map(|a| ("CasAuthor", a.id.to_string(), "publisher".to_owned()))
        .collect();
    want.extend(
        w.books
            .iter()
            .map(|b| ("CasBook", b.id.to_string(), "publisher".to_owned())),
    );
    let mut got = report.nullified.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    for a in &w.authors {
        let stored = Author::get(&a.id).await.unwrap();
        assert_eq!(stored.publisher, None);
    }
    for b in &w.books {
        let stored = Book::get(&b.id).await.unwrap();
        assert_eq!(stored.publisher, None);
        assert_eq!(stored.title, b.title);
    }
    let n = Book::find(Book::fields().publisher.eq(&w.publisher.id))
        .run_count()
        .await
        .unwrap();
    assert_eq!(n, 0);
    // no index entry of any document names the publisher any more
    let mut raw = t.raw();
    for model in ["CasBook", "CasAuthor"] {
        let key = format!("{}:{{{model}:0}}:i:publisher", t.ns);
        let entries: Vec<Vec<u8>> = redis::cmd("ZRANGE")
            .arg(&key)
            .arg(0)
            .arg(-1)
            .query(&mut raw)
            .unwrap();
        assert!(entries.is_empty(), "{model}: {entries:?}");
    }
    // a review, with its book's list nullified (not the declared restrict)
    let review = &w.reviews[0];
    let report = Review::delete_with(
        &review.id,
        Cascade::map([("featured_in", OnDelete::Nullify)]),
    )
    .go()
    .await
    .unwrap();
    assert_eq!(report.deleted, vec![("CasReview", review.id.to_string())]);
    assert_eq!(
        report.nullified,
        vec![("CasBook", w.books[0].id.to_string(), "reviews".to_owned())]
    );
    let book = Book::get(&w.books[0].id).await.unwrap();
    assert_eq!(book.reviews, w.books[0].reviews[1..].to_vec());
    let with = Book::find(Book::fields().reviews.contains(&review.id))
        .run_count()
        .await
        .unwrap();
    assert_eq!(with, 0);
    // deleting what nothing refers to is a plain delete; a missing document is reported
    // as not deleted
    let ghost = Id::new();
    let report = Review::delete_with(&ghost, Cascade::declared())
        .go()
        .await
        .unwrap();
    assert!(report.deleted.is_empty());
}

#[maybe_async]
#[mode_test]
async fn round_trips_are_one_per_level_plus_one() {
    let t = common::env();
    let w = world().await;
    let ids: Vec<&Id> = w.authors.iter().map(|a| &a.id).collect();
    let before = t.stats();
    let report = Author::delete_many_with(ids, Cascade::all(OnDelete::Delete))
        .go()
        .await
        .unwrap();
    let spent = (t.stats() - before).planned_round_trips();
    assert_eq!(report.deleted.len(), 2 + 4 + 8);
    // authors -> books -> reviews -> (books featuring them): three levels, one apply
    if common::single_server_budgets() {
        assert_eq!(spent, 4, "round trips");
    }
    let left: Vec<String> = t.keys();
    assert!(
        left.iter()
            .all(|k| !k.contains(":d:") || k.contains("CasPublisher")),
        "{left:?}"
    );
    let kept = Publisher::get(&w.publisher.id).await.unwrap();
    assert_eq!(kept, w.publisher);
}

#[maybe_async]
#[mode_test]
async fn cycles_end_and_lazy_relations_load_when_included() {
    let _t = common::env();
    let ids: Vec<Id> = (0..4).map(|_| Id::new()).collect();
    // a ring of friends, each also the next one's best friend
    for (i, id) in ids.iter().enumerate() {
        let next = &ids[(i + 1) % ids.len()];
        let prev = &ids[(i + ids.len() - 1) % ids.len()];
        User {
            id: id.clone(),
            name: format!("u{i}"),
            friends: vec![ForeignKey::new(next), ForeignKey::new(prev)],
            best: Some(ForeignKey::new(next)),
        }
        .save()
        .await
        .unwrap();
    }
    // a lazy relation is not followed unless included
    let u = User::load(&ids[0]).depth(1).go().await.unwrap();
    assert!(u.friends.iter().all(ForeignKey::is_loaded));
    assert!(!u.best.as_ref().unwrap().is_loaded());
    let u = User::load(&ids[0]).include(["best"]).go().await.unwrap();
    assert_eq!(u.best.as_ref().unwrap().loaded().unwrap().name, "u1");
    assert!(!u.friends[0].is_loaded());

    // nullify (declared) on the friends list; the lazy `best` is restrict: refused
    let r = User::delete_with(&ids[0], Cascade::declared()).go().await;
    assert!(
        matches!(&r, Err(Error::RelationViolation { relation, total: 1, .. }) if relation == "CasUser.best"),
        "{r:?}"
    );
    let report = User::delete_with(
        &ids[0],
        Cascade::declared().on("CasUser.best", OnDelete::Nullify),
    )
    .go()
    .await
    .unwrap();
    assert_eq!(report.deleted, vec![("CasUser", ids[0].to_string())]);
    let last = User::get(&ids[3]).await.unwrap();
    assert_eq!(last.best, None);
    assert_eq!(last.friends, vec![ForeignKey::new(&ids[2])]);
    let second = User::get(&ids[1]).await.unwrap();
    assert_eq!(second.friends, vec![ForeignKey::new(&ids[2])]);
    // delete along the cycle: every user once, and it ends
    let report = User::delete_with(&ids[1], Cascade::all(OnDelete::Delete))
        .go()
        .await
        .unwrap();
    let mut got: Vec<String> = report.deleted.iter().map(|(_, id)| id.clone()).collect();
    got.sort();
    let mut want: Vec<String> = ids[1..].iter().map(|i| i.to_string()).collect();
    want.sort();
    assert_eq!(got, want);
    let n = User::count().await.unwrap();
    assert_eq!(n, 0);
}

/// Sets book `id`'s publisher to `to` only while `to`'s document exists, in one script
/// (what a careful application does with `Cond::exists` in a pipeline), keeping the
/// index right: another client racing the cascades below.
const SET_IF_THERE: &str = r"
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
local old = redis.call('HGET', KEYS[1], 'publisher')
if old == ARGV[1] then return 1 end
local function member(v) return v .. '\0\0' .. ARGV[2] .. '\0' .. #ARGV[2] end
if old then redis.call('ZREM', KEYS[2], member(old)) end
redis.call('HSET', KEYS[1], 'publisher', ARGV[1])
redis.call('ZADD', KEYS[2], 0, member(ARGV[1]))
return 1
";

/// What must hold once a delete of publisher `p` returned, whatever the writers do
/// after: no book refers to it, stored or indexed, and every book's index entry is its
/// stored publisher.
fn no_reference_left(t: &common::TestEnv, p: &str, books: &[Id]) {
    let mut raw = t.raw();
    let index = format!("{}:{{CasBook:0}}:i:publisher", t.ns);
    let entries: std::collections::BTreeSet<Vec<u8>> = redis::cmd("ZRANGE")
        .arg(&index)
        .arg(0)
        .arg(-1)
        .query(&mut raw)
        .unwrap();
    for b in books {
        let root = format!("{}:{{CasBook:0}}:d:{b}", t.ns);
        let stored: Option<String> = redis::cmd("HGET")
            .arg(&root)
            .arg("publisher")
            .query(&mut raw)
            .unwrap();
        assert_ne!(stored.as_deref(), Some(p), "book {b} still refers to {p}");
        let _ = &entries;
    }
    let dangling = entries
        .iter()
        .filter(|m| m.starts_with(p.as_bytes()) && m.get(p.len()) == Some(&0))
        .count();
    assert_eq!(dangling, 0, "index entries still name {p}");
}

#[maybe_async]
#[mode_test]
async fn cascades_race_with_writers_and_leave_no_reference() {
    if common::single_server_only("the racing writer's script spans two models' slots") {
        return;
    }
    let t = common::env();
    let author = Author {
        id: Id::new(),
        name: "Ada".into(),
        publisher: None,
    };
    author.save().await.unwrap();
    let keep = Publisher {
        id: Id::new(),
        name: "kept".into(),
    };
    keep.save().await.unwrap();
    let books: Vec<Id> = (0..8).map(|_| Id::new()).collect();
    for id in &books {
        Book {
            id: id.clone(),
            title: "t".into(),
            author: ForeignKey::to(&author),
            publisher: Some(ForeignKey::to(&keep)),
            reviews: vec![],
        }
        .save()
        .await
        .unwrap();
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // the publisher the writers point books at, changed by each round
    let current = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (stop, current, ns) = (stop.clone(), current.clone(), t.ns.clone());
            let mine: Vec<Id> = books.iter().skip(w).step_by(2).cloned().collect();
            let keep = keep.id.to_string();
            let mut raw = t.raw();
            std::thread::spawn(move || {
                let script = redis::Script::new(SET_IF_THERE);
                let mut n = 0usize;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let p = current.lock().unwrap().clone();
                    let book = &mine[n % mine.len()];
                    // mostly towards the publisher being deleted, sometimes away
                    let to = if n % 3 == 2 { keep.clone() } else { p.clone() };
                    let _: i64 = script
                        .key(format!("{ns}:{{CasBook:0}}:d:{book}"))
                        .key(format!("{ns}:{{CasBook:0}}:i:publisher"))
                        .key(format!("{ns}:{{CasPublisher:0}}:d:{to}"))
                        .arg(&to)
                        .arg(book.as_str())
                        .invoke(&mut raw)
                        .unwrap();
                    n += 1;
                    std::thread::sleep(std::time::Duration::from_micros(300));
                }
                n
            })
        })
        .collect();
    let (mut replans, mut refused, mut conflicts) = (0, 0, 0);
    for round in 0..40 {
        let p = Publisher {
            id: Id::new(),
            name: format!("p{round}"),
        };
        p.save().await.unwrap();
        *current.lock().unwrap() = p.id.to_string();
        std::thread::sleep(std::time::Duration::from_millis(2));
        // nullify (even rounds) goes through whatever the writers do, unless they keep
        // changing the references past every re-plan (Conflict, nothing written: try
        // again); restrict (odd rounds) is refused while a book refers to it
        let rules = if round % 2 == 0 {
            Cascade::declared()
        } else {
            Cascade::map([("catalog", OnDelete::Restrict)])
        };
        let mut tries = 0;
        loop {
            tries += 1;
            assert!(tries < 500, "round {round}: no delete went through");
            match Publisher::delete_with(&p.id, rules.clone()).go().await {
                Ok(report) => {
                    replans += report.attempts - 1;
                    assert_eq!(report.deleted, vec![("CasPublisher", p.id.to_string())]);
                    break;
                }
                Err(Error::RelationViolation { .. }) if round % 2 == 1 => {
                    refused += 1;
                    // let a moment come when no book points at it
                    *current.lock().unwrap() = keep.id.to_string();
                }
                Err(Error::Conflict { .. }) => conflicts += 1,
                Err(e) => panic!("round {round}: {e:?}"),
            }
            // a refused or conflicting delete changed nothing: it is still there
            let there = Publisher::exists(&p.id).await.unwrap();
            assert!(there);
        }
        let gone = Publisher::exists(&p.id).await.unwrap();
        assert!(!gone);
        no_reference_left(&t, p.id.as_str(), &books);
        let audit = Book::validate_relations().go().await.unwrap();
        assert!(audit.dangling.is_empty(), "round {round}: {audit:?}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let writes: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(writes > 100, "the writers wrote {writes} times");
    eprintln!(
        "race: {writes} writes, {replans} re-plans, {conflicts} conflicts, {refused} restrict refusals"
    );
    // every book is whole and the index agrees with the stored references
    for id in &books {
        let b = Book::get(id).await.unwrap();
        let n = Book::find(
            Book::fields()
                .publisher
                .eq(b.publisher.as_ref().unwrap().id()),
        )
        .run_ids()
        .await
        .unwrap();
        assert!(n.contains(id));
    }
}

#[maybe_async]
#[mode_test]
async fn a_key_of_another_type_refuses_the_whole_cascade() {
    let t = common::env();
    let w = world().await;
    // the second book's review list, overwritten by another program with a string
    let list = format!("{}:{{CasBook:0}}:c:reviews:{}", t.ns, w.books[1].id);
    let () = redis::cmd("SET")
        .arg(&list)
        .arg("not a list")
        .query(&mut t.raw())
        .unwrap();
    let before = dump(&t);
    // deleting the first book's reviews nullifies the first book's list (fine) and
    // deletes the books' reviews of the second (its list is the wrong type)
    let ids: Vec<&Id> = w.reviews[..4].iter().map(|r| &r.id).collect();
    let r = Review::delete_many_with(ids, Cascade::map([("featured_in", OnDelete::Nullify)]))
        .go()
        .await;
    assert!(
        matches!(&r, Err(Error::WrongType { key, .. }) if *key == list),
        "{r:?}"
    );
    assert_eq!(dump(&t), before, "nothing changed");
}

#[maybe_async]
#[mode_test]
async fn validate_and_cleanup_relations_find_and_remove_dangling_references() {
    let t = common::env();
    let w = world().await;
    let clean = Book::validate_relations().go().await.unwrap();
    assert!(clean.dangling.is_empty(), "{clean:?}");
    // plain deletes leave the references behind
    let gone = [
        w.authors[0].delete().await.unwrap(),
        w.publisher.delete().await.unwrap(),
        w.reviews[2].delete().await.unwrap(),
    ];
    assert_eq!(gone, [true; 3]);
    let before = dump(&t);
    let stats = t.stats();
    let report = Book::validate_relations().go().await.unwrap();
    let spent = (t.stats() - stats).planned_round_trips();
    if common::single_server_budgets() {
        // the references, then three target models' existence in one pipeline
        assert_eq!(spent, 2, "round trips");
    }
    assert_eq!(dump(&t), before, "validating changes nothing");
    let mut want: Vec<(String, String, String)> = Vec::new();
    for b in &w.books[..2] {
        want.push((
            b.id.to_string(),
            "author".into(),
            w.authors[0].id.to_string(),
        ));
    }
    for b in &w.books {
        want.push((
            b.id.to_string(),
            "publisher".into(),
            w.publisher.id.to_string(),
        ));
    }
    want.push((
        w.books[1].id.to_string(),
        "reviews".into(),
        w.reviews[2].id.to_string(),
    ));
    want.sort();
    let mut got: Vec<(String, String, String)> = report
        .dangling
        .iter()
        .map(|d| (d.id.clone(), d.field.clone(), d.target_id.clone()))
        .collect();
    got.sort();
    assert_eq!(got, want);
    assert!(report.removed.is_empty());
    assert!(report.dangling.iter().all(|d| d.model == "CasBook"));
    match report.clone().into_result() {
        Err(Error::DanglingReferences { model, refs }) => {
            assert_eq!((model, refs.len()), ("CasBook", 7));
        }
        other => panic!("expected DanglingReferences, got {other:?}"),
    }

    // cleanup: the optional and list references go, the required ones stay reported
    let report = Book::cleanup_relations().go().await.unwrap();
    assert_eq!(report.dangling.len(), 7);
    assert_eq!(report.removed.len(), 5);
    assert!(report.removed.iter().all(|d| d.field != "author"));
    for b in &w.books {
        let stored = Book::get(&b.id).await.unwrap();
        assert_eq!(stored.publisher, None);
    }
    let second = Book::get(&w.books[1].id).await.unwrap();
    assert_eq!(second.reviews, vec![ForeignKey::new(&w.reviews[3].id)]);
    let left = Book::validate_relations().go().await.unwrap();
    let fields: Vec<&str> = left.dangling.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, vec!["author", "author"]);
    assert!(clean.into_result().is_ok());
    // the authors' references are checked on their own model
    let authors = Author::cleanup_relations().go().await.unwrap();
    assert_eq!(authors.removed.len(), 1, "{authors:?}");
    let n = Author::validate_relations().go().await.unwrap();
    assert!(n.dangling.is_empty());
}

#[maybe_async]
#[mode_test]
async fn duplicate_graph_copies_simply_fully_selectively_and_with_remaps() {
    let t = common::env();
    let w = world().await;
    let b0 = &w.books[0];
    // simple: the book alone, references as they were
    let copy = Book::duplicate_graph(&b0.id).go().await.unwrap();
    assert_ne!(copy.root.id, b0.id);
    assert_eq!(
        (copy.root.author.id(), &copy.root.reviews),
        (b0.author.id(), &b0.reviews)
    );
    assert_eq!(copy.ids.len(), 1);
    let stored = Book::get(&copy.root.id).await.unwrap();
    assert_eq!(stored, copy.root);

    // full: every document reached, references among the copies rewritten
    let before = t.stats();
    let full = Book::duplicate_graph(&b0.id)
        .cascade_all()
        .go()
        .await
        .unwrap();
    let spent = (t.stats() - before).planned_round_trips();
    if common::single_server_budgets() {
        // the book; its author, publisher and reviews; one write
        assert_eq!(spent, 3, "round trips");
    }
    let models: Vec<&str> = full.ids.iter().map(|(m, _, _)| *m).collect();
    assert_eq!(models.len(), 5, "{models:?}");
    let new_of = |model: &str, old: &str| {
        full.ids
            .iter()
            .find(|(m, o, _)| *m == model && o == old)
            .map(|(_, _, n)| n.clone())
            .unwrap_or_else(|| panic!("{model} {old} not copied"))
    };
    let book = Book::get(&full.root.id).await.unwrap();
    assert_eq!(book.title, b0.title);
    assert_eq!(book.author.id(), new_of("CasAuthor", b0.author.id()));
    let pub_new = new_of("CasPublisher", w.publisher.id.as_str());
    assert_eq!(book.publisher.as_ref().unwrap().id(), pub_new);
    for (r_new, r_old) in book.reviews.iter().zip(&b0.reviews) {
        assert_eq!(r_new.id(), new_of("CasReview", r_old.id()));
        let review = Review::get(r_new.id()).await.unwrap();
        assert_eq!(review.book.id(), book.id.as_str());
    }
    let author = Author::get(book.author.id()).await.unwrap();
    assert_eq!(author.name, "Ada");
    assert_eq!(author.publisher.as_ref().unwrap().id(), pub_new);
    // the copies are indexed; the originals are untouched
    let by_author = Book::find(Book::fields().author.eq(book.author.id()))
        .run_ids()
        .await
        .unwrap();
    assert_eq!(by_author, vec![book.id.clone()]);
    let original = Book::get(&b0.id).await.unwrap();
    assert_eq!(&original, b0);

    // selective: the reviews only; with a remap: the author is another existing one
    let sel = Book::duplicate_graph(&b0.id)
        .cascade(["reviews"])
        .remap("author", &w.authors[1].id)
        .go()
        .await
        .unwrap();
    assert_eq!(sel.ids.len(), 3);
    assert_eq!(sel.root.author.id(), w.authors[1].id.as_str());
    assert_eq!(sel.root.publisher, b0.publisher);
    for r in &sel.root.reviews {
        let review = Review::get(r.id()).await.unwrap();
        assert_eq!(review.book.id(), sel.root.id.as_str());
    }
    // checked before anything is sent; a missing document is NotFound
    let keys = t.keys();
    let bad = Book::duplicate_graph(&b0.id)
        .cascade(["reviewz"])
        .go()
        .await;
    assert!(
        matches!(&bad, Err(Error::InvalidInput(m)) if m.contains("reviewz")),
        "{bad:?}"
    );
    let missing = Book::duplicate_graph(Id::new()).cascade_all().go().await;
    assert!(
        matches!(&missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
    assert_eq!(t.keys(), keys);
}

#[maybe_async]
#[mode_test]
async fn ttl_cascades_set_each_path_its_ttl_and_tell_the_listeners() {
    use rapyer::{TtlCause, TtlEvent};
    use std::time::Duration;
    let t = common::env();
    let w = world().await;
    let b0 = &w.books[0];
    let seen: std::sync::Arc<std::sync::Mutex<Vec<TtlEvent>>> = Default::default();
    let listener = {
        let (seen, env) = (seen.clone(), t.env.name().to_owned());
        rapyer::on_ttl_extended(move |e| {
            if e.env == env {
                seen.lock().unwrap().push(e.clone());
            }
        })
    };
    let hour = Duration::from_secs(3600);
    let near = |d: Option<Duration>, want: Duration| {
        let d = d.expect("a TTL");
        assert!(
            d <= want && d + Duration::from_secs(5) > want,
            "{d:?} vs {want:?}"
        );
    };

    // alone: as set_ttl, one round trip, one Direct event
    let before = t.stats();
    let r = Book::extend_ttl(&b0.id, hour).go().await.unwrap();
    assert_eq!((t.stats() - before).planned_round_trips(), 1);
    assert_eq!(r.extended.len(), 1);
    near(Book::ttl(&b0.id).await.unwrap(), hour);
    let author_ttl = Author::ttl(b0.author.id()).await.unwrap();
    assert_eq!(author_ttl, None, "not cascaded");

    // per path: the author longer, the reviews shorter, nothing else
    let before = t.stats();
    let r = Book::extend_ttl(&b0.id, hour)
        .cascade_ttl([("author", 2 * hour), ("reviews", hour / 2)])
        .go()
        .await
        .unwrap();
    let spent = (t.stats() - before).planned_round_trips();
    if common::single_server_budgets() {
        assert_eq!(spent, 3, "two levels read, one script");
    }
    assert_eq!(r.extended.len(), 4, "{r:?}");
    assert!(r.missing.is_empty());
    near(Author::ttl(b0.author.id()).await.unwrap(), 2 * hour);
    for rv in &b0.reviews {
        near(Review::ttl(rv.id()).await.unwrap(), hour / 2);
    }
    let publisher_ttl = Publisher::ttl(&w.publisher.id).await.unwrap();
    assert_eq!(publisher_ttl, None);
    // every key of a document carries it, and its id stays listed
    let list = format!("{}:{{CasBook:0}}:c:reviews:{}", t.ns, b0.id);
    let pttl: i64 = redis::cmd("PTTL").arg(&list).query(&mut t.raw()).unwrap();
    assert!(pttl > 0 && pttl <= 3_600_000, "{pttl}");
    let ids = Book::ids().await.unwrap();
    assert!(ids.contains(&b0.id));

    // everything reached
    let r = Book::extend_ttl(&b0.id, hour / 4)
        .cascade_all()
        .go()
        .await
        .unwrap();
    assert_eq!(
        r.extended.len(),
        5,
        "book, author, publisher, two reviews: {r:?}"
    );
    near(Publisher::ttl(&w.publisher.id).await.unwrap(), hour / 4);

    // refused before anything is sent; a missing document is NotFound
    let zero = Book::extend_ttl(&b0.id, Duration::ZERO)
        .cascade_all()
        .go()
        .await;
    assert!(matches!(zero, Err(Error::InvalidInput(_))), "{zero:?}");
    let gone = Book::extend_ttl(Id::new(), hour).go().await;
    assert!(matches!(gone, Err(Error::NotFound { .. })), "{gone:?}");
    // set_ttl reports too
    let set = w.authors[1].set_ttl(hour).await.unwrap();
    assert!(set);
    assert!(rapyer::remove_ttl_listener(listener));

    let events = seen.lock().unwrap().clone();
    assert_eq!(events.len(), 1 + 4 + 5 + 1, "{events:?}");
    assert_eq!(events[0].cause, TtlCause::Direct);
    let cascaded: Vec<&TtlEvent> = events[1..5]
        .iter()
        .filter(|e| matches!(&e.cause, TtlCause::Cascade { model: "CasBook", path, .. } if path == "reviews" || path == "author"))
        .collect();
    assert_eq!(cascaded.len(), 3, "{events:?}");
    assert_eq!(events[10].id, w.authors[1].id.as_str());
    assert_eq!(events[10].ttl, Some(hour));
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "CasSession", ttl = 600)]
pub struct Session {
    id: Id,
    #[rapyer(inherit_ttl, on_delete = "delete")]
    user: ForeignKey<User>,
    #[rapyer(inherit_ttl, on_delete = "nullify")]
    seen: Vec<ForeignKey<User>>,
    other: Option<ForeignKey<User>>,
}

#[maybe_async]
#[mode_test]
async fn inherit_ttl_gives_references_the_savers_ttl() {
    use std::time::Duration;
    let t = common::env();
    let users: Vec<User> = (0..4)
        .map(|i| User {
            id: Id::new(),
            name: format!("u{i}"),
            friends: vec![],
            best: None,
        })
        .collect();
    for u in &users {
        u.save().await.unwrap();
    }
    let seen: std::sync::Arc<std::sync::Mutex<Vec<rapyer::TtlEvent>>> = Default::default();
    let listener = {
        let (seen, env) = (seen.clone(), t.env.name().to_owned());
        rapyer::on_ttl_extended(move |e| {
            if e.env == env {
                seen.lock().unwrap().push(e.clone());
            }
        })
    };
    let s = Session {
        id: Id::new(),
        user: ForeignKey::to(&users[0]),
        seen: vec![ForeignKey::to(&users[1]), ForeignKey::to(&users[2])],
        other: Some(ForeignKey::to(&users[3])),
    };
    let before = t.stats();
    s.save().await.unwrap();
    let spent = (t.stats() - before).planned_round_trips();
    if common::single_server_budgets() {
        assert_eq!(spent, 2, "the save, then the inherited TTLs");
    }
    for u in &users[..3] {
        let ttl = User::ttl(&u.id).await.unwrap().expect("inherited");
        assert!(
            ttl <= Duration::from_secs(600) && ttl > Duration::from_secs(590),
            "{ttl:?}"
        );
    }
    let not = User::ttl(&users[3].id).await.unwrap();
    assert_eq!(not, None, "a field without inherit_ttl");
    assert!(rapyer::remove_ttl_listener(listener));
    let events = seen.lock().unwrap().clone();
    let paths: Vec<String> = events
        .iter()
        .map(|e| match &e.cause {
            rapyer::TtlCause::Cascade {
                model: "CasSession",
                path,
                ..
            } => path.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(paths, vec!["user", "seen", "seen"]);
    let field = Session::schema()
        .fields
        .iter()
        .find(|f| f.path == "seen")
        .unwrap();
    assert!(field.relation.unwrap().inherits_ttl());
}

#[maybe_async]
#[mode_test]
async fn cleanup_orphans_deletes_what_lost_its_required_parent_in_batches() {
    let _t = common::env();
    let w = world().await;
    // the author goes without its books; the publisher too (an optional reference: no orphan)
    let gone = [
        w.authors[0].delete().await.unwrap(),
        w.publisher.delete().await.unwrap(),
    ];
    assert_eq!(gone, [true, true]);
    let steps = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = steps.clone();
    let report = Book::cleanup_orphans()
        .batch(1)
        .on_progress(move |p| seen.lock().unwrap().push((p.deleted, p.done, p.total)))
        .go()
        .await
        .unwrap();
    let mut orphans: Vec<String> = report.orphans.iter().map(|d| d.id.clone()).collect();
    orphans.sort();
    let mut want: Vec<String> = w.books[..2].iter().map(|b| b.id.to_string()).collect();
    want.sort();
    assert_eq!(orphans, want);
    assert!(report.orphans.iter().all(|d| d.field == "author"));
    assert_eq!(*steps.lock().unwrap(), vec![(1, 1, 2), (2, 2, 2)]);
    // each batch went as the relations say: the books' reviews with them
    let books = report
        .deleted
        .iter()
        .filter(|(m, _)| *m == "CasBook")
        .count();
    let reviews = report
        .deleted
        .iter()
        .filter(|(m, _)| *m == "CasReview")
        .count();
    assert_eq!((books, reviews), (2, 4));
    for b in &w.books[2..] {
        let there = Book::exists(&b.id).await.unwrap();
        assert!(there);
    }
    let again = Book::cleanup_orphans().go().await.unwrap();
    assert!(again.orphans.is_empty() && again.deleted.is_empty());
}

#[maybe_async]
#[mode_test]
async fn update_cascade_sets_values_along_relations_in_one_pipeline() {
    let t = common::env();
    let w = world().await;
    let b0 = &w.books[0];
    let before = t.stats();
    let changed = Book::update_cascade(&b0.id)
        .set(Book::fields().title, "Out of print".to_owned())
        .related("reviews", Review::fields().stars, 0)
        .related("author", Author::fields().name, "Ada L.".to_owned())
        .go()
        .await
        .unwrap();
    let spent = (t.stats() - before).planned_round_trips();
    if common::single_server_budgets() {
        assert_eq!(spent, 3, "two levels read, one pipeline");
    }
    assert_eq!(changed.len(), 4, "{changed:?}");
    let book = Book::get(&b0.id).await.unwrap();
    assert_eq!(book.title, "Out of print");
    let author = Author::get(b0.author.id()).await.unwrap();
    assert_eq!(author.name, "Ada L.");
    // the index follows: exactly the book's two reviews are at 0 stars
    let ids = Review::find(Review::fields().stars.eq(0))
        .run_ids()
        .await
        .unwrap();
    let mut zero: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    zero.sort();
    let mut want: Vec<String> = b0.reviews.iter().map(|r| r.id().to_owned()).collect();
    want.sort();
    assert_eq!(zero, want);
    // a change for another model's field at a path: refused, nothing written
    let keys = dump(&t);
    let bad = Book::update_cascade(&b0.id)
        .set(Book::fields().title, "x".to_owned())
        .related("reviews", Author::fields().name, "x".to_owned())
        .go()
        .await;
    assert!(
        matches!(&bad, Err(Error::InvalidInput(m)) if m.contains("CasReview")),
        "{bad:?}"
    );
    assert_eq!(dump(&t), keys);
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "CasShelf", inverse(items = "CasItem.shelf"))]
pub struct Shelf {
    id: Id,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "CasItem")]
pub struct Item {
    id: Id,
    name: String,
    shelf: Option<ForeignKey<Shelf>>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "CasGhost", inverse(haunts = "NoSuchModel.ghost"))]
pub struct Ghost {
    id: Id,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "CasMisnamed", inverse(named = "CasItem.name"))]
pub struct Misnamed {
    id: Id,
}

#[maybe_async]
#[mode_test]
async fn inverses_named_on_the_target_side_are_checked_at_first_use() {
    let t = common::env();
    let inv = Shelf::schema().inverses();
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0].name(), "items");
    assert_eq!(inv[0].target_name, Some("items"));
    let shelf = Shelf { id: Id::new() };
    shelf.save().await.unwrap();
    let item = Item {
        id: Id::new(),
        name: "lamp".into(),
        shelf: Some(ForeignKey::to(&shelf)),
    };
    item.save().await.unwrap();
    let r = Shelf::delete_with(&shelf.id, Cascade::declared())
        .go()
        .await;
    assert!(
        matches!(&r, Err(Error::RelationViolation { relation, .. }) if relation == "items"),
        "{r:?}"
    );
    let report = Shelf::delete_with(&shelf.id, Cascade::map([("items", OnDelete::Nullify)]))
        .go()
        .await
        .unwrap();
    assert_eq!(report.nullified.len(), 1);
    let stored = Item::get(&item.id).await.unwrap();
    assert_eq!(stored.shelf, None);
    // a relation named on the target side that does not exist: a clear error, nothing sent
    let keys = t.keys();
    let ghost = Ghost::delete_with(Id::new(), Cascade::declared())
        .go()
        .await;
    assert!(
        matches!(&ghost, Err(Error::InvalidInput(m)) if m.contains("no model NoSuchModel is registered")),
        "{ghost:?}"
    );
    let misnamed = Misnamed::delete_with(Id::new(), Cascade::declared())
        .go()
        .await;
    assert!(
        matches!(&misnamed, Err(Error::InvalidInput(m)) if m.contains("CasItem has no foreign-key field `name`")),
        "{misnamed:?}"
    );
    assert!(Ghost::schema().check_inverses().is_err());
    assert!(Shelf::schema().check_inverses().is_ok());
    assert_eq!(t.keys(), keys);
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "CasCatalog")]
pub struct Catalog {
    id: Id,
    #[rapyer(inverse = "catalogs", on_delete = "nullify")]
    publishers: std::collections::BTreeSet<ForeignKey<Publisher>>,
}

#[maybe_async]
#[mode_test]
async fn sets_of_foreign_keys_load_and_lose_deleted_members() {
    let _t = common::env();
    let ps: Vec<Publisher> = (0..3)
        .map(|i| Publisher {
            id: Id::new(),
            name: format!("p{i}"),
        })
        .collect();
    for p in &ps {
        p.save().await.unwrap();
    }
    let c = Catalog {
        id: Id::new(),
        publishers: ps.iter().map(ForeignKey::to).collect(),
    };
    c.save().await.unwrap();
    let loaded = Catalog::load(&c.id).depth(1).go().await.unwrap();
    assert_eq!(loaded, c, "members compare by id");
    let mut names: Vec<String> = loaded
        .publishers
        .iter()
        .map(|p| p.loaded().unwrap().name.clone())
        .collect();
    names.sort();
    assert_eq!(names, vec!["p0", "p1", "p2"]);
    let report = Publisher::delete_with(&ps[1].id, Cascade::declared())
        .go()
        .await
        .unwrap();
    assert_eq!(
        report.nullified,
        vec![("CasCatalog", c.id.to_string(), "publishers".to_owned())]
    );
    let stored = Catalog::get(&c.id).await.unwrap();
    let want: std::collections::BTreeSet<ForeignKey<Publisher>> =
        [&ps[0], &ps[2]].into_iter().map(ForeignKey::to).collect();
    assert_eq!(stored.publishers, want);
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "CasBlog", colocate = "casblog")]
pub struct Blog {
    id: Id,
    name: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "CasPost", colocate = "casblog")]
pub struct Post {
    id: Id,
    #[rapyer(must_exist, on_delete = "delete", inverse = "posts")]
    blog: ForeignKey<Blog>,
    #[rapyer(must_exist)]
    cites: Vec<ForeignKey<Blog>>,
}

#[maybe_async]
#[mode_test]
async fn must_exist_refuses_a_reference_to_a_missing_document() {
    let t = common::env();
    let blog = Blog {
        id: Id::new(),
        name: "b".into(),
    };
    blog.save().await.unwrap();
    let ghost = Id::new();
    let ok = Post {
        id: Id::new(),
        blog: ForeignKey::to(&blog),
        cites: vec![ForeignKey::to(&blog)],
    };
    ok.insert().await.unwrap();
    let before = dump(&t);
    for bad in [
        Post {
            id: Id::new(),
            blog: ForeignKey::new(&ghost),
            cites: vec![],
        },
        Post {
            cites: vec![ForeignKey::to(&blog), ForeignKey::new(&ghost)],
            ..ok.clone()
        },
    ] {
        let r = bad.save().await;
        match &r {
            Err(Error::Dangling {
                model: "CasPost",
                target: "CasBlog",
                ids,
                ..
            }) => assert_eq!(ids, &vec![ghost.to_string()]),
            other => panic!("expected Dangling, got {other:?}"),
        }
    }
    assert_eq!(dump(&t), before, "nothing written");
    // a cascade refused as bad input sets no fence either
    let bad = Blog::delete_with(&blog.id, Cascade::map([("nope", OnDelete::Delete)]))
        .go()
        .await;
    assert!(matches!(bad, Err(Error::InvalidInput(_))), "{bad:?}");
    let fences = t.keys().into_iter().filter(|k| k.contains(":f:")).count();
    assert_eq!(fences, 0);
    assert_eq!(dump(&t), before);
    let f = Post::schema()
        .fields
        .iter()
        .find(|f| f.path == "blog")
        .unwrap();
    assert!(f.relation.unwrap().must_exist());
}

/// Writers inserting posts into a blog while it is deleted with its posts: a post is
/// either deleted with the blog or refused, never left behind (the insert checks the
/// blog and its fence in its own script; the cascade fences the blog, then plans and
/// re-checks). Without the fence the writers outrun every plan (Conflict after Conflict).
#[cfg(feature = "blocking")]
#[maybe_async]
#[mode_test]
async fn inserts_racing_a_cascade_never_leave_a_dangling_reference() {
    use rapyer::sync::SyncModel;
    let t = common::env();
    let name = t.env.name().to_owned();
    let (mut replans, mut refused, mut total) = (0, 0, 0);
    for round in 0..10 {
        let blog = Blog {
            id: Id::new(),
            name: format!("b{round}"),
        };
        blog.save().await.unwrap();
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let (name, bid) = (name.clone(), blog.id.clone());
                std::thread::spawn(move || {
                    let _env = rapyer::use_environment(&name).unwrap();
                    // as fast as they can: the cascade fences the blog first (a must_exist
                    // relation), so inserts are refused from then on and the plan holds
                    let mut written = 0;
                    for _ in 0..20_000 {
                        let p = Post {
                            id: Id::new(),
                            blog: ForeignKey::new(&bid),
                            cites: vec![],
                        };
                        match p.sync_insert() {
                            Ok(()) => written += 1,
                            Err(Error::Dangling { .. }) => return written,
                            Err(e) => panic!("insert: {e:?}"),
                        }
                    }
                    panic!("the blog was never deleted")
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(3));
        if round % 2 == 1 {
            // restrict: refused while posts refer to the blog (they keep coming), and
            // nothing is deleted; then the posts go with it
            loop {
                let n = Post::find(Post::fields().blog.eq(&blog.id))
                    .run_count()
                    .await
                    .unwrap();
                if n > 0 {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let rules = Cascade::map([("posts", OnDelete::Restrict)]);
            for _ in 0..5 {
                let r = Blog::delete_with(&blog.id, rules.clone()).go().await;
                assert!(
                    matches!(&r, Err(Error::RelationViolation { relation, .. }) if relation == "posts"),
                    "round {round}: {r:?}"
                );
                let there = Blog::exists(&blog.id).await.unwrap();
                assert!(there);
                let audit = Post::validate_relations().go().await.unwrap();
                assert!(audit.dangling.is_empty(), "round {round}: {audit:?}");
            }
        }
        let report = loop {
            match Blog::delete_with(&blog.id, Cascade::declared()).go().await {
                Ok(r) => break r,
                Err(Error::Conflict { .. }) => refused += 1,
                Err(e) => panic!("round {round}: {e:?}"),
            }
        };
        replans += report.attempts - 1;
        let written: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
        total += written;
        // every post written went with the blog, and none refers to it now
        let posts = report
            .deleted
            .iter()
            .filter(|(m, _)| *m == "CasPost")
            .count();
        assert_eq!(posts, written, "round {round}");
        let left = Post::find(Post::fields().blog.eq(&blog.id))
            .run_count()
            .await
            .unwrap();
        assert_eq!(left, 0, "round {round}");
        let audit = Post::validate_relations().go().await.unwrap();
        assert!(audit.dangling.is_empty(), "round {round}: {audit:?}");
    }
    assert!(
        total > 20,
        "the writers inserted {total} posts before the deletes"
    );
    eprintln!("insert race: {total} posts, {replans} re-plans, {refused} conflicts");
}
