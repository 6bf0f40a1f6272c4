//! A redis-server this test owns outright, for injecting faults: its own child process
//! (known pid) on a fixed port, which can be killed and restarted on that same port,
//! frozen (`SIGSTOP`) and thawed. Dropping it stops the server and removes its files.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Faulty {
    pub port: u16,
    pub url: String,
    dir: PathBuf,
    child: Option<Child>,
}

impl Faulty {
    /// Starts a server on a free port and waits until it answers.
    pub fn start() -> Faulty {
        let port = super::free_port();
        let dir = std::env::temp_dir().join(format!("rapyer-faults-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut f = Faulty {
            port,
            url: format!("redis://127.0.0.1:{port}/"),
            dir,
            child: None,
        };
        f.spawn();
        f
    }

    fn spawn(&mut self) {
        let bin = super::redis_server_binary();
        // DEBUG SLEEP needs this on Redis >= 7 (older servers allow DEBUG, and refuse
        // the unknown option)
        let version = Command::new(&bin)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let old = version.contains("v=6.") || version.contains("v=5.");
        let debug: &[&str] = if old {
            &[]
        } else {
            &["--enable-debug-command", "yes"]
        };
        let child = Command::new(&bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--logfile", ""])
            .args(debug)
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut c) = self.try_raw()
                && redis::cmd("PING").query::<String>(&mut c).is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not start", self.port);
    }

    fn try_raw(&self) -> redis::RedisResult<redis::Connection> {
        let c = redis::Client::open(self.url.as_str())?;
        let conn = c.get_connection_with_timeout(Duration::from_secs(2))?;
        conn.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(conn)
    }

    /// A plain redis-rs connection to this server.
    pub fn raw(&self) -> redis::Connection {
        self.try_raw().expect("raw connection")
    }

    fn signal(&self, sig: &str) {
        if let Some(child) = &self.child {
            let ok = Command::new("kill")
                .arg(sig)
                .arg(child.id().to_string())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(ok, "kill {sig} failed");
        }
    }

    /// `SIGKILL`: the server is gone at once, its data with it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A new server on the same port (empty: nothing is persisted).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// `SIGSTOP`: the server keeps its connections but answers nothing.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// `SIGCONT`: the server answers again (queued commands run now).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    /// Every key and its `DUMP`, to compare what the server holds before and after (the
    /// server is this test's own: `KEYS` blocks no one else).
    pub fn dump_all(&self) -> std::collections::BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        let mut raw = self.raw();
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut raw).unwrap();
        keys.into_iter()
            .map(|k| {
                let d: Option<Vec<u8>> = redis::cmd("DUMP").arg(&k).query(&mut raw).unwrap();
                (k, d)
            })
            .collect()
    }
}

impl Drop for Faulty {
    fn drop(&mut self) {
        self.thaw();
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
