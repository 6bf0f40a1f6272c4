//! The blocking pool's connection factory (held by each environment), and its
//! connection: to one server, or to a cluster (routing each command by slot).

use redis::{ConnectionLike, RedisResult, Value};

use super::Client;

/// Makes the blocking pool's connections: connect within the environment's
/// `connection_timeout`, then every reply awaited at most `response_timeout`.
pub(crate) struct Connector {
    pub(crate) client: Client,
    pub(crate) connect: std::time::Duration,
    pub(crate) response: std::time::Duration,
    /// The environment's cluster topology generation (see `EnvInner::topology`).
    pub(crate) topology: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// One pooled connection (a cluster's with the topology generation it was made in).
pub(crate) enum Conn {
    Single(redis::Connection),
    Cluster(Box<redis::cluster::ClusterConnection>, u64),
}

impl Conn {
    /// Whether this is a cluster connection made before the topology last changed.
    pub(crate) fn stale(&self, topology: u64) -> bool {
        matches!(self, Conn::Cluster(_, made) if *made != topology)
    }

    /// Sets how long a reply is awaited (every node's, on a cluster).
    pub(crate) fn set_read_timeout(&self, d: Option<std::time::Duration>) -> RedisResult<()> {
        match self {
            Conn::Single(c) => c.set_read_timeout(d),
            Conn::Cluster(c, _) => c.set_read_timeout(d),
        }
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c, _) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c, _) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c, _) => c.get_db(),
        }
    }

    fn check_connection(&mut self) -> bool {
        match self {
            Conn::Single(c) => c.check_connection(),
            Conn::Cluster(c, _) => c.check_connection(),
        }
    }

    fn is_open(&self) -> bool {
        match self {
            Conn::Single(c) => c.is_open(),
            Conn::Cluster(c, _) => c.is_open(),
        }
    }
}

impl r2d2::ManageConnection for Connector {
    type Connection = Conn;
    type Error = redis::RedisError;

    fn connect(&self) -> RedisResult<Conn> {
        // a zero timeout would mean "none" to the socket: the smallest bound instead
        let response = Some(self.response.max(std::time::Duration::from_millis(1)));
        match &self.client {
            Client::Single(client) => {
                let conn = client.get_connection_with_timeout(self.connect)?;
                conn.set_read_timeout(response)?;
                conn.set_write_timeout(response)?;
                Ok(Conn::Single(conn))
            }
            Client::Cluster(client) => {
                let made = self.topology.load(std::sync::atomic::Ordering::Relaxed);
                let conn = client.get_connection()?;
                conn.set_read_timeout(response)?;
                conn.set_write_timeout(response)?;
                Ok(Conn::Cluster(Box::new(conn), made))
            }
        }
    }

    fn is_valid(&self, conn: &mut Conn) -> RedisResult<()> {
        redis::cmd("PING").query::<()>(conn)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        !conn.is_open() || conn.stale(self.topology.load(std::sync::atomic::Ordering::Relaxed))
    }
}
