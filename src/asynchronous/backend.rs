//! The tokio backend: the environment's shared `ConnectionManager` with its timeouts,
//! every call bounded by `max_wait`, counting what it sends (DESIGN §4: the same method
//! names as the blocking backend, so `core/` compiles against either).

use redis::Value;

use crate::env::{AsyncConn, Client, Environment};
use crate::error::{Error, Result};
use crate::failure::Access;
use crate::scripts::{Invocation, batch_access, is_unrun};

/// The environment's shared connection, counting what it sends.
pub(crate) struct Backend {
    env: Environment,
    runtime: tokio::runtime::Handle,
    conn: AsyncConn,
}

/// One request, as the shared connection sends it.
enum Request<'a> {
    Cmd(&'a redis::Cmd),
    Pipe(&'a redis::Pipeline),
}

impl Backend {
    pub(crate) async fn connect(env: &Environment) -> Result<Self> {
        let (runtime, conn) = Self::shared(env, false)?;
        Ok(Self {
            env: env.clone(),
            runtime,
            conn,
        })
    }

    /// The environment's shared connection (made on first use, lazily connecting), or
    /// with `replace` a new one on the current runtime.
    fn shared(env: &Environment, replace: bool) -> Result<(tokio::runtime::Handle, AsyncConn)> {
        let inner = &env.0;
        let mut slot = inner.manager.lock();
        if let (Some(shared), false) = (slot.as_ref(), replace) {
            return Ok(shared.clone());
        }
        let config = &inner.config;
        let conn = match &inner.client {
            Client::Single(client) => {
                let cfg = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(config.connection_timeout))
                    .set_response_timeout(Some(config.response_timeout))
                    // reconnects keep trying in the background; each call's own wait is
                    // bounded by `max_wait` (Backend::send)
                    .set_number_of_retries(3)
                    .set_max_delay(std::time::Duration::from_secs(1));
                AsyncConn::Single(redis::aio::ConnectionManager::new_lazy_with_config(
                    client.clone(),
                    cfg,
                )?)
            }
            Client::Cluster(client) => {
                let cfg = redis::cluster::ClusterConfig::new()
                    .set_connection_timeout(config.connection_timeout)
                    .set_response_timeout(config.response_timeout);
                // connects in the background; each call's wait is bounded by `max_wait`
                AsyncConn::Cluster(client.get_pending_async_connection_with_config(cfg))
            }
        };
        let shared = (tokio::runtime::Handle::current(), conn);
        *slot = Some(shared.clone());
        Ok(shared)
    }

    /// Whether the runtime that drives this connection has shut down (its tasks, the
    /// connection's included, are gone: a request given to it was never sent).
    async fn runtime_gone(&self) -> bool {
        self.runtime.spawn(async {}).await.is_err()
    }

    /// A blocking command (`BZPOPMIN key timeout`) that the server holds up to `wait`,
    /// on a connection of its own made for it (the shared connection never waits behind
    /// it), whose replies are awaited `wait` plus the environment's `response_timeout`.
    /// Sent once (a pop is a write).
    pub(crate) async fn blocking_cmd(
        env: &Environment,
        cmd: &redis::Cmd,
        wait: std::time::Duration,
    ) -> Result<Value> {
        let config = &env.0.config;
        let limit = config.response_timeout + wait;
        env.record(1);
        let start = std::time::Instant::now();
        let run = async {
            match &env.0.client {
                Client::Single(client) => {
                    let cfg = redis::AsyncConnectionConfig::new()
                        .set_connection_timeout(Some(config.connection_timeout))
                        .set_response_timeout(Some(limit));
                    let mut conn = client
                        .get_multiplexed_async_connection_with_config(&cfg)
                        .await?;
                    cmd.query_async::<Value>(&mut conn).await
                }
                Client::Cluster(client) => {
                    let cfg = redis::cluster::ClusterConfig::new()
                        .set_connection_timeout(config.connection_timeout)
                        .set_response_timeout(limit);
                    let mut conn = client.get_async_connection_with_config(cfg).await?;
                    cmd.query_async::<Value>(&mut conn).await
                }
            }
        };
        match tokio::time::timeout(config.connection_timeout + limit, run).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(crate::failure::transport(
                env,
                Access::Write,
                start.elapsed(),
                e,
            )),
            Err(_) => Err(crate::failure::timeout(env, Access::Write, start.elapsed())),
        }
    }

    pub(crate) async fn sleep(d: std::time::Duration) {
        tokio::time::sleep(d).await;
    }

    async fn once(&mut self, req: &Request<'_>) -> redis::RedisResult<Value> {
        match req {
            Request::Cmd(cmd) => cmd.query_async(&mut self.conn).await,
            Request::Pipe(pipe) => Ok(Value::Array(pipe.query_async(&mut self.conn).await?)),
        }
    }

    /// One attempt, waiting at most the environment's `connection_timeout +
    /// response_timeout` (a reconnect in progress included).
    async fn bounded(&mut self, access: Access, req: &Request<'_>) -> Result<Value> {
        let start = std::time::Instant::now();
        let max = self.env.0.config.max_wait();
        match tokio::time::timeout(max, self.once(req)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(crate::failure::transport(
                &self.env,
                access,
                start.elapsed(),
                e,
            )),
            Err(_) => Err(crate::failure::timeout(&self.env, access, start.elapsed())),
        }
    }

    /// Sends `req`; a read whose connection broke is sent once more (the connection
    /// manager reconnects meanwhile).
    ///
    /// A connection made on a runtime that has shut down since (an environment used from
    /// one runtime after another) fails without sending anything: the request goes
    /// again, read or write, on a new connection of the current runtime.
    async fn send(&mut self, access: Access, commands: usize, req: Request<'_>) -> Result<Value> {
        self.env.record(commands);
        match self.bounded(access, &req).await {
            Err(Error::Redis(e)) if e.is_io_error() || e.is_connection_dropped() => {
                if self.runtime_gone().await {
                    let (runtime, conn) = Self::shared(&self.env, true)?;
                    (self.runtime, self.conn) = (runtime, conn);
                    self.env.record_retry(commands);
                    return self.bounded(access, &req).await;
                }
                if crate::failure::retry_read(access, &e) {
                    self.env.record_retry(commands);
                    return self.bounded(access, &req).await;
                }
                Err(Error::Redis(e))
            }
            other => other,
        }
    }

    pub(crate) async fn query_pipe(
        &mut self,
        access: Access,
        pipe: &redis::Pipeline,
    ) -> Result<Vec<Value>> {
        let n = pipe.len() + if pipe.is_transaction() { 2 } else { 0 };
        self.env
            .record_slot(pipe.cmd_iter().next().and_then(crate::env::first_key));
        match self.send(access, n, Request::Pipe(pipe)).await? {
            Value::Array(items) => Ok(items),
            other => Err(crate::plan::unexpected("pipeline", &other)),
        }
    }

    /// `CLUSTER SLOTS` (to any node).
    pub(crate) async fn cluster_slots(&mut self) -> Result<Value> {
        let cmd = redis::cmd("CLUSTER").arg("SLOTS").to_owned();
        self.send(Access::Read, 1, Request::Cmd(&cmd)).await
    }

    /// A command that only reads.
    pub(crate) async fn query_cmd(&mut self, cmd: &redis::Cmd) -> Result<Value> {
        self.env.record_slot(crate::env::first_key(cmd));
        self.send(Access::Read, 1, Request::Cmd(cmd)).await
    }

    /// Script calls in one pipeline; the calls answered `NOSCRIPT` or `Function not found`
    /// (which ran nothing)
    /// are sent once more as `EVAL`.
    pub(crate) async fn invoke_batch(&mut self, calls: &[Invocation]) -> Result<Vec<Value>> {
        if !self.env.is_cluster() {
            return self.invoke_pipelined(calls).await;
        }
        // a cluster pipelines per slot: one pipeline per group, replies put back in order
        let groups = crate::scripts::slot_groups(calls);
        if groups.len() == 1 {
            return self.invoke_pipelined(calls).await;
        }
        // the slots' pipelines run concurrently on the shared cluster connection (each
        // to its node); every one runs to its end, the first error is reported
        let runs = groups.into_iter().map(|group| {
            let mut each = Backend {
                env: self.env.clone(),
                runtime: self.runtime.clone(),
                conn: self.conn.clone(),
            };
            let mine: Vec<Invocation> = group.iter().map(|&i| calls[i].clone()).collect();
            async move {
                let replies = each.invoke_slot(&mine).await;
                (group, replies)
            }
        });
        let mut out = vec![Value::Nil; calls.len()];
        for (group, replies) in futures_util::future::join_all(runs).await {
            for (i, v) in group.into_iter().zip(replies?) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// Calls of one slot on a cluster. A cluster connection fails a whole pipeline on
    /// one error reply (`NOSCRIPT` or `Function not found` from a node that has not seen
    /// a script or the library yet, say)
    /// without saying which calls ran: reads go as one pipeline and, on either, once
    /// more as `EVAL` (they may run twice); writes go one call at a time, each retried
    /// alone.
    async fn invoke_slot(&mut self, calls: &[Invocation]) -> Result<Vec<Value>> {
        if batch_access(calls) == Access::Read && calls.len() > 1 {
            match self.invoke_pipelined(calls).await {
                Err(Error::Redis(e)) if is_unrun(&e) => {
                    self.env.forget_scripts();
                    let all: Vec<usize> = (0..calls.len()).collect();
                    let pipe = crate::scripts::batch_eval(calls, &all);
                    self.env.record_retry(calls.len());
                    let replies = self.send_pipe_again(Access::Read, &pipe).await?;
                    return Ok(crate::scripts::batch_replies(replies)?);
                }
                other => return other,
            }
        }
        let mut out = Vec::with_capacity(calls.len());
        for call in calls {
            out.push(self.invoke(call).await?);
        }
        Ok(out)
    }

    /// [`invoke_batch`](Self::invoke_batch) as one pipeline.
    async fn invoke_pipelined(&mut self, calls: &[Invocation]) -> Result<Vec<Value>> {
        self.load_functions().await;
        let access = batch_access(calls);
        let pipe = crate::scripts::batch(calls, &self.env);
        let mut replies = self.query_pipe(access, &pipe).await?;
        let again = crate::scripts::unrun_replies(&replies);
        if !again.is_empty() {
            self.env.forget_scripts();
            let pipe = crate::scripts::batch_eval(calls, &again);
            self.env.record_retry(again.len());
            let redone = self.send_pipe_again(access, &pipe).await?;
            for (i, v) in again.into_iter().zip(redone) {
                replies[i] = v;
            }
        }
        Ok(crate::scripts::batch_replies(replies)?)
    }

    /// Sends `pipe` once more (a retry: counted by the caller).
    async fn send_pipe_again(
        &mut self,
        access: Access,
        pipe: &redis::Pipeline,
    ) -> Result<Vec<Value>> {
        match self.bounded(access, &Request::Pipe(pipe)).await? {
            Value::Array(items) => Ok(items),
            other => Err(crate::plan::unexpected("pipeline", &other)),
        }
    }

    /// Loads the function library when this environment is to (`Environment::take_load`):
    /// one round trip, counted as a retry (it belongs to no operation's plan). A cluster
    /// client sends `FUNCTION LOAD` to every master.
    async fn load_functions(&mut self) {
        if self.env.take_load() {
            let claim = crate::env::LoadClaim::new(self.env.clone());
            self.env.record_retry(1);
            let load = crate::scripts::load_command();
            let outcome = self.bounded(Access::Read, &Request::Cmd(&load)).await;
            claim.done(outcome.map(drop).map_err(|e| crate::scripts::refusal(&e)));
        }
    }

    pub(crate) async fn invoke(&mut self, call: &Invocation) -> Result<Value> {
        self.load_functions().await;
        let cmd = call.command(&self.env);
        self.env
            .record_slot(call.keys.first().map(|k| k.as_bytes()));
        match self.send(call.access(), 1, Request::Cmd(&cmd)).await {
            Err(Error::Redis(e)) if is_unrun(&e) => {
                self.env.forget_scripts();
                self.env.record_retry(1);
                let eval = call.eval();
                self.bounded(call.access(), &Request::Cmd(&eval)).await
            }
            other => other,
        }
    }
}
