//! CRUD scenarios against a real redis-server, tokio API.
#![allow(missing_docs)]

mod common;

use maybe_async::must_be_async as maybe_async;
pub use rapyer::asynchronous::AsyncModel as Api;
use tokio::test as mode_test;

#[path = "suite/crud.rs"]
mod crud;
