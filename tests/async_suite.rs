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
