//! Every shared scenario (tests/suite/*.rs) against a real redis-server, tokio API.
#![allow(missing_docs)]

mod common;

use maybe_async::must_be_async as maybe_async;
pub use rapyer::asynchronous::AsyncModel as Api;
use tokio::test as mode_test;

/// Runs a pending atomic operation in this mode.
pub trait Go<R> {
    fn go(self) -> impl std::future::Future<Output = rapyer::Result<R>> + Send;
}
impl<'a, R: Send + 'a> Go<R> for rapyer::Pending<'a, R> {
    fn go(self) -> impl std::future::Future<Output = rapyer::Result<R>> + Send {
        std::future::IntoFuture::into_future(self)
    }
}

#[path = "suite/crud.rs"]
mod crud;

#[path = "suite/atomic.rs"]
mod atomic;

#[path = "suite/ttl.rs"]
mod ttl;

/// Tokio-only: many tasks on a multi-thread runtime.
mod tasks {
    use super::common::{self, models::*};
    use rapyer::Model;
    use rapyer::asynchronous::{AsyncModel, with_environment};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sixty_four_tasks_lose_no_increment_and_no_element() {
        let t = common::env();
        let g = Gauge::default();
        g.save().await.unwrap();
        let name = t.env.name().to_owned();
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let id = g.id.clone();
                tokio::spawn(with_environment(&name, async move {
                    for j in 0..1000 {
                        Gauge::at(&id).big.incr(1).await.unwrap();
                        if j % 50 == 0 {
                            Gauge::at(&id).log.push(format!("{i}-{j}")).await.unwrap();
                        }
                    }
                }))
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let stored = with_environment(&name, Gauge::get(g.id.clone()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.big, 64_000);
        assert_eq!(stored.log.len(), 64 * 20);
        let mut unique = stored.log.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 64 * 20, "no element lost or duplicated");
    }
}
