//! Indexes never drift: every write path keeps them equal to the stored values.
//! Written once for both modes.

use super::common::{self, check_person_indexes, models::*};
use super::{Api, Go, global_pipeline, maybe_async, mode_test};
use rapyer::{Error, Id, Model};

fn person(age: i64, status: &str) -> Person {
    Person {
        id: Id::new(),
        age,
        status: status.into(),
        score: age as f64 / 2.0,
        active: age % 2 == 0,
        nick: (age % 3 == 0).then(|| format!("n{age}")),
        home: Home {
            city: format!("c{}", age % 4),
            street: "s".into(),
        },
        tags: vec!["t".into()],
    }
}

#[maybe_async]
#[mode_test]
async fn saves_inserts_and_deletes_keep_indexes_exact() {
    let t = common::env();
    let mut people: Vec<Person> = (0..30)
        .map(|i| person(i, if i % 2 == 0 { "active" } else { "idle" }))
        .collect();
    for p in &people {
        p.insert().await.unwrap();
    }
    // 30 docs × (age, status, score, active, city) + 10 nicks
    assert_eq!(check_person_indexes(&t), 30 * 5 + 10);
    // overwrite with changed indexed values, including None and values with awkward bytes
    for p in people.iter_mut().take(10) {
        p.age += 100;
        p.status = "a\0b:{x}*\"ü".into();
        p.nick = None;
        p.home.city = String::new();
        p.save().await.unwrap();
    }
    check_person_indexes(&t);
    for p in people.iter().skip(20) {
        let deleted = p.delete().await.unwrap();
        assert!(deleted);
    }
    check_person_indexes(&t);
    let r = Person {
        score: f64::NAN,
        ..person(1, "x")
    }
    .save()
    .await;
    assert!(
        matches!(r, Err(Error::InvalidInput(_))),
        "NaN is refused in an indexed float"
    );
    check_person_indexes(&t);
}

#[maybe_async]
#[mode_test]
async fn atomic_ops_and_pipelines_keep_indexes_exact() {
    let t = common::env();
    let mut p = person(10, "active");
    p.insert().await.unwrap();
    p.atomic().age.incr(5).go().await.unwrap();
    p.atomic().status.append("-ish").go().await.unwrap();
    p.atomic().score.mul(3.0).go().await.unwrap();
    p.atomic().active.toggle().go().await.unwrap();
    p.atomic()
        .nick
        .set(Some("nicky".into()))
        .go()
        .await
        .unwrap();
    p.atomic().home.city.set("Rome".into()).go().await.unwrap();
    check_person_indexes(&t);
    p.atomic().nick.clear().go().await.unwrap();
    Person::at(&p.id).age.set(-3).go().await.unwrap();
    check_person_indexes(&t);
    p.pipeline(|u, pipe| {
        pipe.add(u.age.incr(1));
        pipe.add(u.age.incr(1));
        pipe.add(u.status.set("busy".into()));
        Ok(())
    })
    .await
    .unwrap();
    check_person_indexes(&t);
    let stored = Person::get(&p.id).await.unwrap();
    assert_eq!(stored, p);
    // a failing pipeline rolls back its index changes too
    let mut q = person(20, "idle");
    q.insert().await.unwrap();
    let before: Vec<(String, Vec<u8>)> = {
        let mut raw = t.raw();
        t.keys()
            .into_iter()
            .map(|k| {
                let d: Vec<u8> = redis::cmd("DUMP").arg(&k).query(&mut raw).unwrap();
                (k, d)
            })
            .collect()
    };
    let r = global_pipeline(|pipe| {
        let (pa, qa) = (p.atomic(), q.atomic());
        pipe.add(pa.age.incr(1));
        pipe.add(pa.status.set("moved".into()));
        pipe.add(qa.home.city.set("Paris".into()));
        pipe.add(qa.age.incr(i64::MAX)); // overflow: refused
        Ok(())
    })
    .await;
    assert!(matches!(r, Err(Error::Rejected { .. })));
    let after: Vec<(String, Vec<u8>)> = {
        let mut raw = t.raw();
        t.keys()
            .into_iter()
            .map(|k| {
                let d: Vec<u8> = redis::cmd("DUMP").arg(&k).query(&mut raw).unwrap();
                (k, d)
            })
            .collect()
    };
    assert_eq!(after, before, "documents and indexes unchanged");
    check_person_indexes(&t);
}
