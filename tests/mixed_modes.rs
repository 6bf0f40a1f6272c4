//! Both APIs in one scope, documents crossing modes, and environment scoping.
#![allow(missing_docs)]

mod common;

use common::models::User;
use rapyer::Model;
use rapyer::asynchronous::{AsyncModel, with_environment};
use rapyer::sync::SyncModel;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn both_traits_in_one_scope_and_documents_cross_modes() {
    let t = common::env();
    let env_name = t.env.name().to_owned();
    let rt = rt();

    let written_sync = User::new("sync-writer", 30);
    written_sync.sync_save().unwrap();
    let read_async = rt
        .block_on(with_environment(
            &env_name,
            User::get(written_sync.id.clone()),
        ))
        .unwrap()
        .unwrap();
    assert_eq!(read_async, written_sync);

    let written_async = User::new("async-writer", 40);
    rt.block_on(with_environment(&env_name, written_async.save()))
        .unwrap()
        .unwrap();
    assert_eq!(User::sync_get(&written_async.id).unwrap(), written_async);

    assert_eq!(User::sync_count().unwrap(), 2);
    let ids = rt
        .block_on(with_environment(&env_name, User::ids()))
        .unwrap()
        .unwrap();
    assert_eq!(ids, User::sync_ids().unwrap());
}

#[test]
fn futures_are_send_and_spawnable() {
    let t = common::env();
    let env_name = t.env.name().to_owned();
    let user = User::new("spawned", 1);
    user.sync_save().unwrap();
    let id = user.id.clone();
    let loaded = rt().block_on(async move {
        let handle = tokio::spawn(async move {
            with_environment(&env_name, async move { User::get(&id).await }).await
        });
        handle.await.unwrap()
    });
    assert_eq!(loaded.unwrap().unwrap(), user);
}

#[test]
fn nested_guards_restore_in_order() {
    let a = common::env();
    let a_name = a.env.name().to_owned();
    let b_ns = format!("{}-b", a.ns);
    rapyer::register_environment(
        "mixed-b",
        rapyer::EnvironmentConfig::new(common::server().url.as_str()).namespace(b_ns.as_str()),
    )
    .unwrap();
    User::new("in-a", 1).sync_save().unwrap();
    {
        let _b = rapyer::use_environment("mixed-b").unwrap();
        assert_eq!(rapyer::current_environment().unwrap().name(), "mixed-b");
        User::new("in-b", 2).sync_save().unwrap();
        User::new("in-b", 3).sync_save().unwrap();
        {
            let _back_to_a = rapyer::use_environment(&a_name).unwrap();
            assert_eq!(User::sync_count().unwrap(), 1);
        }
        assert_eq!(User::sync_count().unwrap(), 2);
    }
    assert_eq!(rapyer::current_environment().unwrap().name(), a_name);
    assert_eq!(User::sync_count().unwrap(), 1);
    // the namespace really separates the data
    let mut raw = common::server().raw();
    let in_b = common::scan_keys(&mut raw, &format!("{b_ns}:*"));
    assert_eq!(in_b.len(), 5, "2 roots, 2 tag lists, 1 id index: {in_b:?}");
}

#[test]
fn task_local_scope_does_not_leak_to_other_tasks() {
    let t = common::env();
    let scoped = t.env.name().to_owned();
    rapyer::register_environment(
        "mixed-default",
        rapyer::EnvironmentConfig::new(common::server().url.as_str())
            .namespace(format!("{}-default", t.ns)),
    )
    .unwrap();
    rapyer::set_default_environment("mixed-default").unwrap();
    rt().block_on(async {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let inside = tokio::spawn(with_environment(&scoped.clone(), async move {
            let here = rapyer::current_environment().unwrap().name().to_owned();
            rx.await.unwrap();
            let still = rapyer::current_environment().unwrap().name().to_owned();
            // a task spawned from inside the scope does not inherit it
            let child =
                tokio::spawn(async { rapyer::current_environment().unwrap().name().to_owned() })
                    .await
                    .unwrap();
            (here, still, child)
        }));
        let outside =
            tokio::spawn(async { rapyer::current_environment().unwrap().name().to_owned() })
                .await
                .unwrap();
        tx.send(()).unwrap();
        let (here, still, child) = inside.await.unwrap().unwrap();
        assert_eq!(here, scoped);
        assert_eq!(still, scoped);
        assert_eq!(outside, "mixed-default");
        assert_eq!(child, "mixed-default");
    });
    let unknown = rt().block_on(with_environment("no-such-env", async {}));
    assert!(matches!(
        unknown,
        Err(rapyer::Error::UnknownEnvironment { .. })
    ));
}

#[test]
fn model_schema_and_typed_paths() {
    let schema = User::schema();
    assert_eq!(schema.name, "User");
    assert_eq!(schema.key_field, "id");
    let paths: Vec<&str> = schema.fields.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["name", "age", "status", "score", "tags"]);
    let f = common::models::Everything::fields();
    assert_eq!(f.address.geo.lat.path(), "address.geo.lat");
    assert_eq!(f.address.lines.path(), "address.lines");
    assert_eq!(f.profile.path(), "profile");
}

/// An environment used from one tokio runtime after another (each dropped before the
/// next starts): every runtime's first call works, no `broken pipe` first.
#[test]
fn each_runtime_gets_a_working_connection() {
    let t = common::env();
    let u = User::new("runtimes", 1);
    for round in 0..3 {
        let rt = rt();
        let name = t.env.name().to_owned();
        let u = u.clone();
        rt.block_on(rapyer::asynchronous::with_environment(&name, async move {
            // the first call of this runtime is a write (writes are never retried)
            let saved = u.save().await;
            assert!(saved.is_ok(), "round {round}: {saved:?}");
            let found = User::try_get(&u.id).await;
            assert!(found.is_ok(), "round {round}: {found:?}");
        }))
        .unwrap();
        drop(rt);
    }
}
