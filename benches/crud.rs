//! Single-document CRUD: rapyer beside raw redis-rs doing the minimal equivalent commands,
//! in the same process against the same throwaway server. Prints the ratio ORM / raw.
//!
//! `cargo bench --bench crud` (set `BENCH_N` to change the operation count, default 3000).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports, missing_docs)]
mod common;
mod support;

use std::time::Instant;

use support::{report, time};

use common::models::User;
use rapyer::asynchronous::AsyncModel;
use rapyer::sync::SyncModel;

fn raw_save(pipe: &mut redis::Pipeline, ns: &str, u: &User) {
    let root = format!("{ns}:{{User:0}}:d:{}", u.id);
    let tags = format!("{ns}:{{User:0}}:c:tags:{}", u.id);
    pipe.clear();
    pipe.atomic()
        .del(&root)
        .ignore()
        .del(&tags)
        .ignore()
        .hset_multiple(
            &root,
            &[
                ("$v", "1".to_string()),
                ("name", u.name.clone()),
                ("age", u.age.to_string()),
                ("status", u.status.clone()),
                ("score", format!("{:?}", u.score)),
            ],
        )
        .ignore()
        .rpush(&tags, &u.tags)
        .ignore()
        .zadd(format!("{ns}:{{User:0}}:ids"), u.id.as_str(), 0)
        .ignore();
}

fn main() {
    let n = support::n();
    let server = common::Server::start();
    rapyer::register_environment(
        "bench",
        rapyer::EnvironmentConfig::new(server.url.as_str()).namespace("orm"),
    )
    .unwrap();
    let _g = rapyer::use_environment("bench").unwrap();
    let users: Vec<User> = (0..n + 200)
        .map(|i| User::new(&format!("user{i}"), i as i64))
        .collect();
    let mut raw = server.raw();
    let mut pipe = redis::pipe();

    // --- blocking
    let orm_save = time(n, |i| users[i].sync_save().unwrap());
    let raw_save_t = time(n, |i| {
        raw_save(&mut pipe, "raw", &users[i]);
        let () = pipe.query(&mut raw).unwrap();
    });
    let orm_get = time(n, |i| {
        User::sync_get(&users[i].id).unwrap();
    });
    let raw_get = time(n, |i| {
        let id = &users[i].id;
        let (fields, tags): (std::collections::HashMap<String, String>, Vec<String>) =
            redis::pipe()
                .atomic()
                .hgetall(format!("raw:{{User:0}}:d:{id}"))
                .lrange(format!("raw:{{User:0}}:c:tags:{id}"), 0, -1)
                .query(&mut raw)
                .unwrap();
        let u = User {
            id: id.clone(),
            name: fields["name"].clone(),
            age: fields["age"].parse().unwrap(),
            status: fields["status"].clone(),
            score: fields["score"].parse().unwrap(),
            tags,
        };
        std::hint::black_box(u);
    });
    let orm_del = time(n, |i| {
        users[i].sync_delete().unwrap();
    });
    let raw_del = time(n, |i| {
        let id = &users[i].id;
        let _: (i64,) = redis::pipe()
            .atomic()
            .del(format!("raw:{{User:0}}:d:{id}"))
            .del(format!("raw:{{User:0}}:c:tags:{id}"))
            .ignore()
            .zrem("raw:{User:0}:ids", id.as_str())
            .ignore()
            .query(&mut raw)
            .unwrap();
    });
    report(
        "blocking API, one connection, sequential",
        &[
            ("save", orm_save, raw_save_t),
            ("get", orm_get, raw_get),
            ("delete", orm_del, raw_del),
        ],
        n,
    );

    // --- tokio
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = redis::Client::open(server.url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let mut pipe = redis::pipe();
        let start = Instant::now();
        for u in &users[..n] {
            u.save().await.unwrap();
        }
        let orm_save = start.elapsed();
        let start = Instant::now();
        for u in &users[..n] {
            raw_save(&mut pipe, "raw", u);
            let () = pipe.query_async(&mut conn).await.unwrap();
        }
        let raw_save_t = start.elapsed();
        let start = Instant::now();
        for u in &users[..n] {
            User::get(&u.id).await.unwrap();
        }
        let orm_get = start.elapsed();
        let start = Instant::now();
        for u in &users[..n] {
            let (_f, _t): (std::collections::HashMap<String, String>, Vec<String>) = redis::pipe()
                .atomic()
                .hgetall(format!("raw:{{User:0}}:d:{}", u.id))
                .lrange(format!("raw:{{User:0}}:c:tags:{}", u.id), 0, -1)
                .query_async(&mut conn)
                .await
                .unwrap();
        }
        let raw_get = start.elapsed();
        report(
            "tokio API, sequential awaits",
            &[("save", orm_save, raw_save_t), ("get", orm_get, raw_get)],
            n,
        );
    });
}
