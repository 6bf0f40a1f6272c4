//! The blocking backend: an r2d2 pool of redis connections with the environment's
//! timeouts, counting what it sends (DESIGN §4: the same method names as the tokio
//! backend, so `core/` compiles against either).

use redis::Value;

use crate::env::{Connector, Environment};
use crate::error::{Error, Result};
use crate::failure::Access;
use crate::scripts::{Invocation, batch_access, is_unrun};

/// One pooled connection of an environment, counting what it sends.
pub(crate) struct Backend {
    env: Environment,
    conn: r2d2::PooledConnection<Connector>,
}

impl Backend {
    pub(crate) fn connect(env: &Environment) -> Result<Self> {
        Ok(Self {
            env: env.clone(),
            conn: Self::checkout(env)?,
        })
    }

    fn checkout(env: &Environment) -> Result<r2d2::PooledConnection<Connector>> {
        let inner = &env.0;
        let conn_err = |reason: String| Error::Connection {
            env: inner.name.clone(),
            reason,
        };
        let pool = inner.pool.get_or_try_init(|| {
            r2d2::Pool::builder()
                .max_size(inner.config.pool_size)
                .min_idle(Some(0))
                .connection_timeout(inner.config.connection_timeout)
                // A PING per checkout would double the round trips; broken connections
                // are detected by `has_broken` and replaced (and reads retried once).
                .test_on_check_out(false)
                .build(Self::connector(env))
                .map_err(|e| conn_err(e.to_string()))
        })?;
        let mut conn = pool.get().map_err(|e| conn_err(e.to_string()))?;
        // a cluster connection made before a node went away may route to it: replaced
        let now = inner.topology.load(std::sync::atomic::Ordering::Relaxed);
        if conn.stale(now) {
            *conn = r2d2::ManageConnection::connect(&Self::connector(env))
                .map_err(|e| conn_err(e.to_string()))?;
        }
        Ok(conn)
    }

    fn connector(env: &Environment) -> Connector {
        let inner = &env.0;
        Connector {
            client: inner.client.clone(),
            connect: inner.config.connection_timeout,
            response: inner.config.response_timeout,
            topology: inner.topology.clone(),
        }
    }

    pub(crate) fn sleep(d: std::time::Duration) {
        std::thread::sleep(d);
    }

    /// Sends with `send`; a read whose connection broke is sent once more on a live
    /// connection (pooled connections left idle across a server restart are dead: each
    /// is checked with a PING before the retry, on this recovery path only).
    fn send<T>(
        &mut self,
        access: Access,
        commands: usize,
        mut send: impl FnMut(&mut crate::env::Conn) -> redis::RedisResult<T>,
    ) -> Result<T> {
        self.env.record(commands);
        let start = std::time::Instant::now();
        let first = send(&mut self.conn);
        if let Err(e) = &first {
            self.env.topology_changed(e);
        }
        match first {
            Ok(v) => Ok(v),
            Err(e) if crate::failure::retry_read(access, &e) => {
                self.revive(&e)?;
                self.env.record_retry(commands);
                send(&mut self.conn)
                    .map_err(|e| crate::failure::transport(&self.env, access, start.elapsed(), e))
            }
            Err(e) => Err(crate::failure::transport(
                &self.env,
                access,
                start.elapsed(),
                e,
            )),
        }
    }

    /// Replaces the broken connection with a live one.
    fn revive(&mut self, cause: &redis::RedisError) -> Result<()> {
        let tries = self.env.0.config.pool_size as usize + 1;
        for _ in 0..tries {
            self.conn = Self::checkout(&self.env)?;
            if redis::cmd("PING").query::<()>(&mut *self.conn).is_ok() {
                return Ok(());
            }
        }
        Err(Error::Connection {
            env: self.env.name().to_owned(),
            reason: format!("no live connection after {cause}"),
        })
    }

    pub(crate) fn query_pipe(
        &mut self,
        access: Access,
        pipe: &redis::Pipeline,
    ) -> Result<Vec<Value>> {
        let n = pipe.len() + if pipe.is_transaction() { 2 } else { 0 };
        self.env
            .record_slot(pipe.cmd_iter().next().and_then(crate::env::first_key));
        self.send(access, n, |c| pipe.query(c))
    }

    /// `CLUSTER SLOTS` (to any node).
    pub(crate) fn cluster_slots(&mut self) -> Result<Value> {
        let cmd = redis::cmd("CLUSTER").arg("SLOTS").to_owned();
        self.send(Access::Read, 1, |c| cmd.query(c))
    }

    /// A blocking command (`BZPOPMIN key timeout`) that the server holds up to `wait`:
    /// on this pooled connection, its read timeout raised to `wait` plus the
    /// environment's `response_timeout` for this command only. Sent once (a pop is a
    /// write; a client-side timeout is `Timeout { may_have_applied: true }`): a broken
    /// connection is dropped by the pool, one that timed out skips the late reply.
    pub(crate) fn blocking_cmd(
        &mut self,
        cmd: &redis::Cmd,
        wait: std::time::Duration,
    ) -> Result<Value> {
        let normal = self
            .env
            .0
            .config
            .response_timeout
            .max(std::time::Duration::from_millis(1));
        self.conn
            .set_read_timeout(Some(normal + wait))
            .map_err(|e| {
                crate::failure::transport(&self.env, Access::Write, Default::default(), e)
            })?;
        self.env.record_slot(crate::env::first_key(cmd));
        let reply = self.send(Access::Write, 1, |c| cmd.query(c));
        // fails on a broken connection too, which the pool then drops (`has_broken`)
        let _ = self.conn.set_read_timeout(Some(normal));
        reply
    }

    /// A command that only reads.
    pub(crate) fn query_cmd(&mut self, cmd: &redis::Cmd) -> Result<Value> {
        self.env.record_slot(crate::env::first_key(cmd));
        self.send(Access::Read, 1, |c| cmd.query(c))
    }

    /// Script calls in one pipeline; the calls answered `NOSCRIPT` or `Function not found`
    /// (which ran nothing)
    /// are sent once more as `EVAL`.
    pub(crate) fn invoke_batch(&mut self, calls: &[Invocation]) -> Result<Vec<Value>> {
        if !self.env.is_cluster() {
            return self.invoke_pipelined(calls);
        }
        // a cluster pipelines per slot: one pipeline per group, replies put back in order
        let groups = crate::scripts::slot_groups(calls);
        if groups.len() == 1 {
            return self.invoke_pipelined(calls);
        }
        // the slots' pipelines run concurrently, each on a pooled connection of its own
        // (at most the pool's size at a time); every one runs to its end, the first
        // error is reported
        let mut out = vec![Value::Nil; calls.len()];
        let width = self.env.0.config.pool_size.max(1) as usize;
        for wave in groups.chunks(width) {
            let env = &self.env;
            let results: Vec<(Vec<usize>, Result<Vec<Value>>)> = std::thread::scope(|scope| {
                let runs: Vec<_> = wave
                    .iter()
                    .map(|group| {
                        let mine: Vec<Invocation> =
                            group.iter().map(|&i| calls[i].clone()).collect();
                        scope.spawn(move || {
                            (
                                group.clone(),
                                Self::connect(env).and_then(|mut b| b.invoke_slot(&mine)),
                            )
                        })
                    })
                    .collect();
                runs.into_iter()
                    .map(|r| r.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            });
            for (group, replies) in results {
                for (i, v) in group.into_iter().zip(replies?) {
                    out[i] = v;
                }
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
    fn invoke_slot(&mut self, calls: &[Invocation]) -> Result<Vec<Value>> {
        if batch_access(calls) == Access::Read && calls.len() > 1 {
            match self.invoke_pipelined(calls) {
                Err(Error::Redis(e)) if is_unrun(&e) => {
                    self.env.forget_scripts();
                    let all: Vec<usize> = (0..calls.len()).collect();
                    let pipe = crate::scripts::batch_eval(calls, &all);
                    self.env.record_retry(calls.len());
                    let replies = self.send_pipe_again(Access::Read, &pipe)?;
                    return Ok(crate::scripts::batch_replies(replies)?);
                }
                other => return other,
            }
        }
        let mut out = Vec::with_capacity(calls.len());
        for call in calls {
            out.push(self.invoke(call)?);
        }
        Ok(out)
    }

    /// [`invoke_batch`](Self::invoke_batch) as one pipeline.
    fn invoke_pipelined(&mut self, calls: &[Invocation]) -> Result<Vec<Value>> {
        self.load_functions();
        let access = batch_access(calls);
        let pipe = crate::scripts::batch(calls, &self.env);
        self.env.record_slot(
            calls
                .first()
                .and_then(|c| c.keys.first())
                .map(|k| k.as_bytes()),
        );
        let mut replies: Vec<Value> = self.send(access, calls.len(), |c| pipe.query(c))?;
        let again = crate::scripts::unrun_replies(&replies);
        if !again.is_empty() {
            self.env.forget_scripts();
            let pipe = crate::scripts::batch_eval(calls, &again);
            self.env.record_retry(again.len());
            let redone = self.send_pipe_again(access, &pipe)?;
            for (i, v) in again.into_iter().zip(redone) {
                replies[i] = v;
            }
        }
        Ok(crate::scripts::batch_replies(replies)?)
    }

    /// Loads the function library when this environment is to (`Environment::take_load`):
    /// one round trip, counted as a retry (it belongs to no operation's plan). A cluster
    /// client sends `FUNCTION LOAD` to every master.
    fn load_functions(&mut self) {
        if self.env.take_load() {
            let claim = crate::env::LoadClaim::new(self.env.clone());
            self.env.record_retry(1);
            let outcome = crate::scripts::load_command().query::<Value>(&mut *self.conn);
            if let Err(e) = &outcome {
                self.env.topology_changed(e);
            }
            let outcome = outcome.map_err(|e| self.lost(Access::Read, e));
            claim.done(outcome.map(drop).map_err(|e| crate::scripts::refusal(&e)));
        }
    }

    pub(crate) fn invoke(&mut self, call: &Invocation) -> Result<Value> {
        self.load_functions();
        let cmd = call.command(&self.env);
        self.env
            .record_slot(call.keys.first().map(|k| k.as_bytes()));
        match self.send(call.access(), 1, |c| cmd.query(c)) {
            Err(Error::Redis(e)) if is_unrun(&e) => {
                self.env.forget_scripts();
                self.env.record_retry(1);
                call.eval()
                    .query(&mut *self.conn)
                    .map_err(|e| self.lost(call.access(), e))
            }
            other => other,
        }
    }

    /// Sends `pipe` once more (a retry: counted by the caller).
    fn send_pipe_again(&mut self, access: Access, pipe: &redis::Pipeline) -> Result<Vec<Value>> {
        pipe.query(&mut *self.conn)
            .map_err(|e| self.lost(access, e))
    }

    fn lost(&self, access: Access, e: redis::RedisError) -> Error {
        let waited = self.env.0.config.response_timeout;
        crate::failure::transport(&self.env, access, waited, e)
    }
}
