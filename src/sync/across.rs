//! Running a query in several environments from blocking code: one scoped thread per
//! environment, each inside that environment.

use std::collections::BTreeMap;

use crate::across::Across;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::query::Query;

/// Each environment's result, by environment name.
pub type PerEnvironment<T> = BTreeMap<String, Result<T>>;

impl<M: Model> Across<M> {
    /// Runs `f` in every target environment at once (a scoped thread each).
    fn run_blocking<T: Send>(
        &self,
        query: &Query<M>,
        f: impl Fn(&Query<M>) -> Result<T> + Sync,
    ) -> Result<PerEnvironment<T>> {
        let names = self.targets()?;
        let f = &f;
        Ok(std::thread::scope(|s| {
            let running: Vec<_> = names
                .iter()
                .map(|name| {
                    s.spawn(move || {
                        let _in = crate::env::use_environment(name)?;
                        f(query)
                    })
                })
                .collect();
            names
                .iter()
                .cloned()
                .zip(running.into_iter().map(|t| {
                    t.join().unwrap_or_else(|_| {
                        Err(Error::InvalidInput("a query thread panicked".into()))
                    })
                }))
                .collect()
        }))
    }

    /// The matching documents of the page, per environment.
    pub fn sync_all(&self) -> Result<PerEnvironment<Vec<M>>> {
        self.run_blocking(&self.query, Query::sync_all)
    }

    /// The first matching document, per environment.
    pub fn sync_first(&self) -> Result<PerEnvironment<Option<M>>> {
        self.run_blocking(&self.query, Query::sync_first)
    }

    /// The number of matching documents, per environment.
    pub fn sync_count(&self) -> Result<PerEnvironment<u64>> {
        self.run_blocking(&self.query, Query::sync_count)
    }

    /// Whether any document matches, per environment.
    pub fn sync_exists(&self) -> Result<PerEnvironment<bool>> {
        self.run_blocking(&self.query, Query::sync_exists)
    }

    /// The ids of the page, per environment.
    pub fn sync_ids(&self) -> Result<PerEnvironment<Vec<M::Key>>> {
        self.run_blocking(&self.query, Query::sync_ids)
    }

    /// One list over every environment, ordered and cut (offset, limit) as the query
    /// says, each row with its environment's name; any environment's failure is the
    /// error.
    pub fn sync_merged(&self) -> Result<Vec<(String, M)>> {
        let q = self.merge_query();
        let pages = self.run_blocking(&q, Query::sync_all)?;
        self.merge(pages.into_iter().collect())
    }
}

/// `query` in every registered environment, in parallel: each environment's documents
/// (or its error) by name.
pub fn sync_search_all_environments<M: Model>(query: Query<M>) -> PerEnvironment<Vec<M>> {
    match query.in_all_environments().sync_all() {
        Ok(map) => map,
        // registered names always resolve; a registry race is reported per name
        Err(e) => BTreeMap::from([(String::new(), Err(e))]),
    }
}

/// The ids matching text query `text` on the model named `model`, when the type is not
/// at hand: the model registry finds its schema (`rapyer::model_names()` lists them).
/// An unknown model, field or value is [`Error::InvalidInput`]. One round trip.
pub fn sync_search(model: &str, text: &str) -> Result<Vec<String>> {
    let _s = tracing::debug_span!("rapyer.search", model).entered();
    super::ops::search_ids_by_name(model, text)
}

/// On a Redis Cluster environment, the planned round trips (retries not counted) sent
/// to each master so far, by `host:port`: the per-slot counts
/// ([`crate::Environment::slot_round_trips`]) summed by the node serving each slot now
/// (one `CLUSTER SLOTS` round trip). Empty for one server ([`crate::Environment::stats`]
/// has its totals).
pub fn sync_node_round_trips(
    env: &crate::Environment,
) -> Result<std::collections::BTreeMap<String, u64>> {
    super::ops::node_round_trips(env)
}
