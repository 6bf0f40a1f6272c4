//! A graph load beside raw redis-rs, in the same process against the same throwaway
//! server: 1,000 books, each with an author (of 50, each with one of 10 publishers) and
//! 3 reviews (each by an author), loaded with `load_many(ids).depth(2)` (books, then
//! authors and reviews, then publishers and reviewers) against the raw version a user
//! would write: one pipeline of `HGETALL` + `LRANGE` per level, ids deduplicated and
//! decoded in the client. Prints the ratio and the round trips of each side.
//!
//! `cargo bench --bench relations` (`BENCH_N`: how many loads, default 20;
//! `BENCH_DOCS`: books, default 1000).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports, missing_docs)]
mod common;
mod support;

use std::collections::{HashMap, HashSet};

use rapyer::sync::SyncModel;
use rapyer::{ForeignKey, Id, Model};
use support::{report, time};

#[derive(Model, Debug, Clone)]
#[rapyer(name = "BPublisher")]
struct Publisher {
    id: Id,
    name: String,
}

#[derive(Model, Debug, Clone)]
#[rapyer(name = "BAuthor")]
struct Author {
    id: Id,
    name: String,
    publisher: ForeignKey<Publisher>,
}

#[derive(Model, Debug, Clone)]
#[rapyer(name = "BReview")]
struct Review {
    id: Id,
    stars: i64,
    reviewer: ForeignKey<Author>,
}

#[derive(Model, Debug, Clone)]
#[rapyer(name = "BBook")]
struct Book {
    id: Id,
    title: String,
    author: ForeignKey<Author>,
    reviews: Vec<ForeignKey<Review>>,
}

/// The raw side's documents, as decoded: a hash's fields, and a book's review ids.
type Hash = HashMap<String, String>;

struct RawGraph {
    books: Vec<(Hash, Vec<String>)>,
    authors: HashMap<String, Hash>,
    reviews: HashMap<String, Hash>,
    publishers: HashMap<String, Hash>,
}

/// One pipeline of `HGETALL raw:<prefix>:<id>` for every `(prefix, ids)` group (one
/// round trip), each group's hashes by id.
fn hashes(raw: &mut redis::Connection, groups: &[(&str, &[String])]) -> Vec<HashMap<String, Hash>> {
    let mut pipe = redis::pipe();
    for (prefix, ids) in groups {
        for id in *ids {
            pipe.cmd("HGETALL").arg(format!("raw:{prefix}:{id}"));
        }
    }
    let mut got = pipe.query::<Vec<Hash>>(raw).unwrap().into_iter();
    groups
        .iter()
        .map(|(_, ids)| ids.iter().cloned().zip(got.by_ref()).collect())
        .collect()
}

fn raw_load(raw: &mut redis::Connection, ids: &[String]) -> RawGraph {
    // level 0: the books and their review lists
    let mut pipe = redis::pipe();
    for id in ids {
        pipe.cmd("HGETALL").arg(format!("raw:book:{id}"));
        pipe.cmd("LRANGE")
            .arg(format!("raw:book:{id}:reviews"))
            .arg(0)
            .arg(-1);
    }
    let replies: Vec<redis::Value> = pipe.query(raw).unwrap();
    let mut books = Vec::with_capacity(ids.len());
    let mut it = replies.into_iter();
    while let (Some(h), Some(l)) = (it.next(), it.next()) {
        let h: Hash = redis::from_redis_value(h).unwrap();
        let l: Vec<String> = redis::from_redis_value(l).unwrap();
        books.push((h, l));
    }
    // level 1: authors and reviews, one pipeline
    let author_ids: Vec<String> = books
        .iter()
        .map(|(h, _)| h["author"].clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let review_ids: Vec<String> = books.iter().flat_map(|(_, l)| l.clone()).collect();
    let mut level = hashes(raw, &[("author", &author_ids), ("review", &review_ids)]);
    let reviews = level.pop().unwrap();
    let mut authors = level.pop().unwrap();
    // level 2: publishers of the authors, and reviewers not read yet
    let reviewers: Vec<String> = reviews
        .values()
        .map(|r| r["reviewer"].clone())
        .filter(|a| !authors.contains_key(a))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let publisher_ids: Vec<String> = authors
        .values()
        .map(|a| a["publisher"].clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut level = hashes(
        raw,
        &[("publisher", &publisher_ids), ("author", &reviewers)],
    );
    authors.extend(level.pop().unwrap());
    let publishers = level.pop().unwrap();
    RawGraph {
        books,
        authors,
        reviews,
        publishers,
    }
}

fn main() {
    let n = support::count_var("BENCH_N", 20);
    let docs = support::count_var("BENCH_DOCS", 1000);
    let (server, _g) = support::orm_server();
    let mut raw = server.conn();
    let publishers: Vec<Publisher> = (0..10)
        .map(|i| Publisher {
            id: Id::new(),
            name: format!("publisher {i}"),
        })
        .collect();
    let authors: Vec<Author> = (0..50)
        .map(|i| Author {
            id: Id::new(),
            name: format!("author {i}"),
            publisher: ForeignKey::to(&publishers[i % 10]),
        })
        .collect();
    Publisher::sync_bulk_save(&publishers).unwrap();
    Author::sync_bulk_save(&authors).unwrap();
    let mut reviews = Vec::new();
    let mut books = Vec::new();
    for i in 0..docs {
        let mine: Vec<Review> = (0..3)
            .map(|k| Review {
                id: Id::new(),
                stars: k,
                reviewer: ForeignKey::to(&authors[(i + k as usize + 1) % 50]),
            })
            .collect();
        books.push(Book {
            id: Id::new(),
            title: format!("book {i}"),
            author: ForeignKey::to(&authors[i % 50]),
            reviews: mine.iter().map(ForeignKey::to).collect(),
        });
        reviews.extend(mine);
    }
    Review::sync_bulk_save(&reviews).unwrap();
    Book::sync_bulk_save(&books).unwrap();
    // the same graph, raw
    let mut pipe = redis::pipe();
    for p in &publishers {
        pipe.cmd("HSET")
            .arg(format!("raw:publisher:{}", p.id))
            .arg("name")
            .arg(&p.name)
            .ignore();
    }
    for a in &authors {
        pipe.cmd("HSET")
            .arg(format!("raw:author:{}", a.id))
            .arg("name")
            .arg(&a.name)
            .arg("publisher")
            .arg(a.publisher.id())
            .ignore();
    }
    for r in &reviews {
        pipe.cmd("HSET")
            .arg(format!("raw:review:{}", r.id))
            .arg("stars")
            .arg(r.stars)
            .arg("reviewer")
            .arg(r.reviewer.id())
            .ignore();
    }
    for b in &books {
        pipe.cmd("HSET")
            .arg(format!("raw:book:{}", b.id))
            .arg("title")
            .arg(&b.title)
            .arg("author")
            .arg(b.author.id())
            .ignore();
        let ids: Vec<&str> = b.reviews.iter().map(ForeignKey::id).collect();
        pipe.cmd("RPUSH")
            .arg(format!("raw:book:{}:reviews", b.id))
            .arg(ids)
            .ignore();
    }
    let _: () = pipe.query(&mut raw).unwrap();

    let ids: Vec<String> = books.iter().map(|b| b.id.to_string()).collect();
    let env = rapyer::environment("bench").unwrap();
    let before = env.stats();
    let orm = time(n, |_| {
        let got = Book::load_many(&ids).depth(2).sync_run().unwrap();
        // depth 2: the author's publisher, and each review's reviewer
        let author = got[0].author.loaded().unwrap();
        assert!(author.publisher.is_loaded());
        let review = got[0].reviews[0].loaded().unwrap();
        assert!(review.reviewer.is_loaded());
    });
    let trips = (env.stats() - before).planned_round_trips() as f64 / (n + n.min(200)) as f64;
    let raw_time = time(n, |_| {
        let g = raw_load(&mut raw, &ids);
        let review = &g.reviews[&g.books[0].1[0]];
        let reviewer = &g.authors[&review["reviewer"]];
        assert!(g.publishers.contains_key(&reviewer["publisher"]));
    });
    report(
        &format!(
            "load_many({docs} books).depth(2): books, authors + reviews, publishers + reviewers"
        ),
        &[("graph load vs raw pipelines", orm, raw_time)],
        n,
    );
    println!(
        "round trips per load: rapyer {trips:.1}, raw 3 (books; authors + reviews; publishers + reviewers)"
    );
}
