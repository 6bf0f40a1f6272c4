//! The blocking pool's connection factory (held by each environment).

/// Makes the blocking pool's connections: connect within the environment's
/// `connection_timeout`, then every reply awaited at most `response_timeout`.
pub(crate) struct Connector {
    pub(crate) client: redis::Client,
    pub(crate) connect: std::time::Duration,
    pub(crate) response: std::time::Duration,
}

impl r2d2::ManageConnection for Connector {
    type Connection = redis::Connection;
    type Error = redis::RedisError;

    fn connect(&self) -> redis::RedisResult<redis::Connection> {
        let conn = self.client.get_connection_with_timeout(self.connect)?;
        // a zero timeout would mean "none" to the socket: the smallest bound instead
        let response = Some(self.response.max(std::time::Duration::from_millis(1)));
        conn.set_read_timeout(response)?;
        conn.set_write_timeout(response)?;
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut redis::Connection) -> redis::RedisResult<()> {
        redis::cmd("PING").query::<()>(conn)
    }

    fn has_broken(&self, conn: &mut redis::Connection) -> bool {
        !redis::ConnectionLike::is_open(conn)
    }
}
