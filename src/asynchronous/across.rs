//! Running a query in several environments from async code: one future per
//! environment, each in that environment's task-local scope, polled concurrently.

use std::collections::BTreeMap;
use std::future::Future;

use crate::across::Across;
use crate::error::Result;
use crate::model::Model;
use crate::query::Query;

/// Each environment's result, by environment name.
pub type PerEnvironment<T> = BTreeMap<String, Result<T>>;

impl<M: Model> Across<M> {
    /// Runs `f` in every target environment concurrently.
    async fn run_async<'q, T, F, Fut>(&self, query: &'q Query<M>, f: F) -> Result<PerEnvironment<T>>
    where
        F: Fn(&'q Query<M>) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let names = self.targets()?;
        let runs = names.iter().map(|name| {
            let fut = f(query);
            async move {
                match crate::env::environment(name) {
                    Ok(env) => crate::env::TASK_ENV.scope(env, fut).await,
                    Err(e) => Err(e),
                }
            }
        });
        let results = futures_util::future::join_all(runs).await;
        Ok(names.into_iter().zip(results).collect())
    }

    /// The matching documents of the page, per environment.
    pub async fn all(&self) -> Result<PerEnvironment<Vec<M>>> {
        self.run_async(&self.query, |q| q.all()).await
    }

    /// The first matching document, per environment.
    pub async fn first(&self) -> Result<PerEnvironment<Option<M>>> {
        self.run_async(&self.query, |q| q.first()).await
    }

    /// The number of matching documents, per environment.
    pub async fn count(&self) -> Result<PerEnvironment<u64>> {
        self.run_async(&self.query, |q| q.count()).await
    }

    /// Whether any document matches, per environment.
    pub async fn exists(&self) -> Result<PerEnvironment<bool>> {
        self.run_async(&self.query, |q| q.exists()).await
    }

    /// The ids of the page, per environment.
    pub async fn ids(&self) -> Result<PerEnvironment<Vec<M::Key>>> {
        self.run_async(&self.query, |q| q.ids()).await
    }

    /// One list over every environment, ordered and cut (offset, limit) as the query
    /// says, each row with its environment's name; any environment's failure is the
    /// error.
    pub async fn merged(&self) -> Result<Vec<(String, M)>> {
        let q = self.merge_query();
        let pages = self.run_async(&q, |q| q.all()).await?;
        self.merge(pages.into_iter().collect())
    }
}

/// `query` in every registered environment, concurrently: each environment's documents
/// (or its error) by name.
pub async fn search_all_environments<M: Model>(query: Query<M>) -> PerEnvironment<Vec<M>> {
    match query.in_all_environments().all().await {
        Ok(map) => map,
        Err(e) => BTreeMap::from([(String::new(), Err(e))]),
    }
}

/// The ids matching text query `text` on the model named `model`, when the type is not
/// at hand: the model registry finds its schema (`rapyer::model_names()` lists them).
/// An unknown model, field or value is [`crate::Error::InvalidInput`]. One round trip.
pub async fn search(model: &str, text: &str) -> Result<Vec<String>> {
    super::ops::search_ids_by_name(model, text).await
}

/// On a Redis Cluster environment, the planned round trips sent to each master so far,
/// by `host:port` (see [`crate::sync::sync_node_round_trips`]). Empty for one server.
pub async fn node_round_trips(
    env: &crate::Environment,
) -> Result<std::collections::BTreeMap<String, u64>> {
    super::ops::node_round_trips(env).await
}
