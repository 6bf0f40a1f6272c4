//! Foreign keys: stored as ids, indexed without being asked (reverse lookups are index
//! reads), loaded with the referring document level by level (one round trip per
//! level whatever the number of documents), selected by `include`, cycles bounded by
//! `max_circular`, dangling references reported or skipped, fetched one at a time.
//! Written once for both modes.

use super::common;
use super::{Api, Fetch, Go, RunQuery, maybe_async, mode_test};
use rapyer::{Error, ForeignKey, Id, Model};

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "RelAuthor")]
pub struct Author {
    id: Id,
    name: String,
    publisher: Option<ForeignKey<Publisher>>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "RelPublisher")]
pub struct Publisher {
    id: Id,
    name: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "RelReview")]
pub struct Review {
    id: Id,
    stars: i64,
    reviewer: ForeignKey<Author>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "RelBook")]
pub struct Book {
    id: Id,
    title: String,
    author: ForeignKey<Author>,
    reviews: Vec<ForeignKey<Review>>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[rapyer(name = "RelUser")]
pub struct User {
    id: Id,
    name: String,
    friends: Vec<ForeignKey<User>>,
}

struct World {
    publisher: Publisher,
    authors: Vec<Author>,
    books: Vec<Book>,
}

/// Two authors (one with a publisher), `n` books alternating between them, each with
/// two reviews by the other author.
#[maybe_async]
async fn world(n: usize) -> World {
    let publisher = Publisher {
        id: Id::new(),
        name: "Pearson".into(),
    };
    publisher.save().await.unwrap();
    let authors = vec![
        Author {
            id: Id::new(),
            name: "Ada".into(),
            publisher: Some(ForeignKey::to(&publisher)),
        },
        Author {
            id: Id::new(),
            name: "Grace".into(),
            publisher: None,
        },
    ];
    for a in &authors {
        a.save().await.unwrap();
    }
    let mut books = Vec::new();
    for i in 0..n {
        let (author, other) = (&authors[i % 2], &authors[(i + 1) % 2]);
        let mut reviews = Vec::new();
        for stars in [4, 5] {
            let r = Review {
                id: Id::new(),
                stars,
                reviewer: ForeignKey::to(other),
            };
            r.save().await.unwrap();
            reviews.push(ForeignKey::to(&r));
        }
        let b = Book {
            id: Id::new(),
            title: format!("book {i}"),
            author: ForeignKey::to(author),
            reviews,
        };
        b.save().await.unwrap();
        books.push(b);
    }
    World {
        publisher,
        authors,
        books,
    }
}

#[maybe_async]
#[mode_test]
async fn references_store_ids_and_are_indexed_for_reverse_lookups() {
    let t = common::env();
    let w = world(4).await;
    let book = Book::get(&w.books[0].id).await.unwrap();
    assert_eq!(book, w.books[0]);
    assert!(!book.author.is_loaded());
    assert!(matches!(
        book.author.loaded(),
        Err(Error::NotLoaded {
            model: "RelAuthor",
            ..
        })
    ));
    // the id as stored: a root field holding the bare id, list members holding ids
    let root = format!("{}:{{RelBook:0}}:d:{}", t.ns, book.id);
    let stored: Option<String> = redis::cmd("HGET")
        .arg(&root)
        .arg("author")
        .query(&mut t.raw())
        .unwrap();
    assert_eq!(stored.as_deref(), Some(w.authors[0].id.as_str()));
    // reverse lookups are index reads
    let f = Book::fields();
    let by_ada = Book::find(f.author.eq(&w.authors[0].id))
        .run_ids()
        .await
        .unwrap();
    let mut want: Vec<Id> = w.books.iter().step_by(2).map(|b| b.id.clone()).collect();
    let mut got = by_ada.clone();
    want.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    got.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(got, want);
    let review = &w.books[1].reviews[0];
    let with = Book::find(f.reviews.contains(review))
        .run_ids()
        .await
        .unwrap();
    assert_eq!(with, vec![w.books[1].id.clone()]);
    let schema = Book::schema();
    let rel = |p: &str| schema.fields.iter().find(|f| f.path == p).unwrap().clone();
    assert_eq!(rel("author").index, Some(rapyer::IndexKind::Lex));
    assert_eq!(rel("author").relation.unwrap().target().name, "RelAuthor");
    assert!(rel("reviews").relation.unwrap().is_many());
    assert_eq!(rel("title").relation, None);
    // an atomic set of a reference keeps the index right
    Book::at(&w.books[0].id)
        .author
        .set(ForeignKey::to(&w.authors[1]))
        .go()
        .await
        .unwrap();
    let n = Book::find(f.author.eq(w.authors[1].id.as_str()))
        .run_count()
        .await
        .unwrap();
    assert_eq!(n, 3);
    // a reference without an id is refused before anything is sent
    let mut bad = w.books[2].clone();
    bad.author = ForeignKey::new("");
    let before = t.keys();
    let refused = bad.save().await;
    assert!(
        matches!(refused, Err(Error::Encode { .. })),
        "empty id: {refused:?}"
    );
    assert_eq!(t.keys(), before);
}

#[maybe_async]
#[mode_test]
async fn depths_load_one_level_per_round_trip() {
    let t = common::env();
    let w = world(10).await;
    let ids: Vec<Id> = w.books.iter().map(|b| b.id.clone()).collect();
    // depth 0: ids only
    let before = t.stats();
    let books = Book::load_many(&ids).go().await.unwrap();
    assert!(books.iter().all(|b| !b.author.is_loaded()));
    let rt0 = (t.stats() - before).planned_round_trips();
    // depth 1: authors and reviews
    let before = t.stats();
    let books = Book::load_many(&ids).depth(1).go().await.unwrap();
    let rt1 = (t.stats() - before).planned_round_trips();
    for (b, want) in books.iter().zip(&w.books) {
        assert_eq!(b, want);
        let a = b.author.loaded().unwrap();
        assert_eq!(a.id.as_str(), want.author.id());
        // level 2 is not loaded
        assert!(!a.publisher.as_ref().is_some_and(ForeignKey::is_loaded));
        assert_eq!(b.reviews.len(), 2);
        for r in &b.reviews {
            let r = r.loaded().unwrap();
            assert!(!r.reviewer.is_loaded());
        }
    }
    // one author document per id, shared by every book that refers to it
    let ada = books[0].author.shared().unwrap();
    assert!(std::sync::Arc::ptr_eq(
        ada,
        books[2].author.shared().unwrap()
    ));
    // depth 2: the reviews' reviewers and the authors' publisher too
    let before = t.stats();
    let books = Book::load_many(&ids).depth(2).go().await.unwrap();
    let rt2 = (t.stats() - before).planned_round_trips();
    let ada = books[0].author.loaded().unwrap();
    let publisher = ada.publisher.as_ref().unwrap().loaded().unwrap();
    assert_eq!(publisher, &w.publisher);
    let reviewer = books[0].reviews[1]
        .loaded()
        .unwrap()
        .reviewer
        .loaded()
        .unwrap();
    assert_eq!(reviewer.id, w.authors[1].id);
    // depth -1: everything reachable (three levels here: book, review, reviewer, publisher)
    let before = t.stats();
    let one = Book::load(&ids[1]).depth(-1).go().await.unwrap();
    let rt_all = (t.stats() - before).planned_round_trips();
    let reviewer = one.reviews[0].loaded().unwrap().reviewer.loaded().unwrap();
    assert_eq!(
        reviewer.publisher.as_ref().unwrap().loaded().unwrap(),
        &w.publisher
    );
    if common::single_server_budgets() {
        assert_eq!((rt0, rt1, rt2, rt_all), (1, 2, 3, 4));
    }
}

#[maybe_async]
#[mode_test]
async fn include_selects_relations_and_is_checked() {
    let t = common::env();
    let w = world(2).await;
    let id = &w.books[0].id;
    let before = t.stats();
    let b = Book::load(id).include(["author"]).go().await.unwrap();
    assert!(b.author.is_loaded());
    assert!(b.reviews.iter().all(|r| !r.is_loaded()));
    let b = Book::load(id)
        .include(["reviews.reviewer.publisher"])
        .go()
        .await
        .unwrap();
    assert!(!b.author.is_loaded());
    let reviewer = b.reviews[0].loaded().unwrap().reviewer.loaded().unwrap();
    assert_eq!(reviewer.name, "Grace");
    assert_eq!(reviewer.publisher, None);
    let before_bad = t.stats();
    for bad in ["title", "reviews.stars", "nope", "author.publisher.name"] {
        let e = Book::load(id).include([bad]).go().await;
        assert!(
            matches!(&e, Err(Error::InvalidInput(m)) if m.contains(bad) && m.contains("relations")),
            "{bad}: {e:?}"
        );
    }
    let e = Book::load(id).depth(-2).go().await;
    assert!(matches!(e, Err(Error::InvalidInput(_))), "{e:?}");
    assert_eq!(
        (t.stats() - before_bad).round_trips,
        0,
        "bad options send nothing"
    );
    let _ = before;
}

#[maybe_async]
#[mode_test]
async fn cycles_stop_and_max_circular_allows_more_rounds() {
    let t = common::env();
    let ids: Vec<Id> = (0..3).map(|_| Id::new()).collect();
    // a ring 0 -> 1 -> 2 -> 0, and 0 is its own friend too
    for i in 0..3 {
        let mut friends = vec![ForeignKey::new(&ids[(i + 1) % 3])];
        if i == 0 {
            friends.push(ForeignKey::new(&ids[0]));
        }
        User {
            id: ids[i].clone(),
            name: format!("u{i}"),
            friends,
        }
        .save()
        .await
        .unwrap();
    }
    let before = t.stats();
    let u = User::load(&ids[0]).depth(-1).go().await.unwrap();
    let rt = (t.stats() - before).planned_round_trips();
    let u1 = u.friends[0].loaded().unwrap();
    let u2 = u1.friends[0].loaded().unwrap();
    assert_eq!(u2.name, "u2");
    // back at u0: a cycle, kept as an id
    assert_eq!(u2.friends[0].id(), ids[0].as_str());
    assert!(!u2.friends[0].is_loaded());
    assert!(!u.friends[1].is_loaded(), "a self reference is a cycle");
    if common::single_server_budgets() {
        assert_eq!(rt, 3, "u0, then u1, then u2");
    }
    let u = User::load(&ids[0])
        .depth(-1)
        .max_circular(1)
        .go()
        .await
        .unwrap();
    let again = u.friends[0].loaded().unwrap().friends[0]
        .loaded()
        .unwrap()
        .friends[0]
        .loaded()
        .unwrap();
    assert_eq!(again.name, "u0");
    assert_eq!(again.friends[0].loaded().unwrap().name, "u1");
    assert_eq!(u.friends[1].loaded().unwrap().name, "u0");
    // a finite depth bounds it as well
    let u = User::load(&ids[0])
        .depth(2)
        .max_circular(5)
        .go()
        .await
        .unwrap();
    let u2 = u.friends[0].loaded().unwrap().friends[0].loaded().unwrap();
    assert!(!u2.friends[0].is_loaded());
}

#[maybe_async]
#[mode_test]
async fn dangling_references_are_reported_or_skipped() {
    let _t = common::env();
    let w = world(2).await;
    let gone = &w.books[0].reviews[1];
    let deleted = Review::delete_id(gone.id()).await.unwrap();
    assert!(deleted);
    let e = Book::load(&w.books[0].id).depth(1).go().await;
    match e {
        Err(Error::Dangling {
            model,
            field,
            target,
            ids,
        }) => {
            assert_eq!(
                (model, field.as_str(), target),
                ("RelBook", "reviews", "RelReview")
            );
            assert_eq!(ids, vec![gone.id().to_owned()]);
        }
        other => panic!("{other:?}"),
    }
    let b = Book::load(&w.books[0].id)
        .depth(1)
        .skip_missing()
        .go()
        .await
        .unwrap();
    assert!(b.reviews[0].is_loaded());
    assert!(!b.reviews[1].is_loaded());
    // missing roots: NotFound for one, Missing for many
    let nobody = Id::new();
    let e = Book::load(&nobody).depth(1).go().await;
    assert!(matches!(e, Err(Error::NotFound { .. })), "{e:?}");
    let e = Book::load_many([&w.books[1].id, &nobody])
        .depth(1)
        .go()
        .await;
    assert!(
        matches!(&e, Err(Error::Missing { ids, .. }) if ids == &vec![nobody.to_string()]),
        "{e:?}"
    );
}

#[maybe_async]
#[mode_test]
async fn fetch_loads_one_reference() {
    let t = common::env();
    let w = world(1).await;
    let mut b = Book::get(&w.books[0].id).await.unwrap();
    let before = t.stats();
    let name = b.author.fetch_it().await.unwrap().name.clone();
    assert_eq!(name, "Ada");
    if common::single_server_budgets() {
        assert_eq!((t.stats() - before).planned_round_trips(), 1);
    }
    assert_eq!(b.author.loaded().unwrap(), &w.authors[0]);
    // a save stores the id only, whatever is loaded
    b.save().await.unwrap();
    let again = Book::get(&b.id).await.unwrap();
    assert!(!again.author.is_loaded());
    assert_eq!(again, w.books[0]);
    let mut dangling: ForeignKey<Author> = ForeignKey::new(Id::new());
    let e = dangling.fetch_it().await;
    assert!(matches!(e, Err(Error::NotFound { .. })), "{e:?}");
    assert!(!dangling.is_loaded());
}
