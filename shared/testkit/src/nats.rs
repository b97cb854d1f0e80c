//! A real `nats-server` per test: random port, its own JetStream store, stopped on drop.

use std::{
    env,
    ffi::OsString,
    fs,
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{
        Arc, Mutex,
        mpsc::{self, Receiver, RecvTimeoutError, Sender},
    },
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow, bail};
use tempfile::TempDir;

/// How long a start (or restart) may take before it is reported as failed.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a graceful stop may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// The log line that names the client port (the same in 2.9 and 2.10+).
const LISTENING: &str = "Listening for client connections on ";
/// The log line after which the server accepts clients, JetStream included.
const READY: &str = "Server is ready";
/// Environment variable that names the nats-server binary explicitly.
const BINARY_ENV: &str = "NATS_SERVER_BIN";
/// Environment variable that, when set, copies the server's log to the test's stderr.
const ECHO_LOG_ENV: &str = "TESTKIT_NATS_LOG";

/// A `nats-server` with JetStream, listening on `127.0.0.1` on a port it chose itself.
///
/// The binary is `$NATS_SERVER_BIN` when set, else `nats-server` from `PATH`, else
/// `<workspace>/.tools/bin/nats-server` (what `tools/ensure-nats-server.sh` installs). The JetStream
/// store lives in a temporary directory owned by this value: it survives [`stop`](Self::stop) and
/// [`restart`](Self::restart) and is removed on drop, when the server is killed.
///
/// ```no_run
/// # async fn demo() -> anyhow::Result<()> {
/// let mut server = bangban_testkit::NatsServer::start().await?;
/// let client = async_nats::connect(server.url()).await?;
/// server.stop(); // the client sees `Disconnected` …
/// server.restart(); // … and reconnects to the same port.
/// # drop(client);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct NatsServer {
    binary: PathBuf,
    dir: TempDir,
    config: Option<PathBuf>,
    port: u16,
    running: Option<Running>,
    log: Arc<Mutex<String>>,
}

/// One run of the process and the events its log reader reports.
#[derive(Debug)]
struct Running {
    child: Child,
    events: Receiver<LogEvent>,
}

/// What the stderr reader thread tells the starter.
#[derive(Debug)]
enum LogEvent {
    Listening(u16),
    Ready,
    Closed,
}

impl NatsServer {
    /// Starts a server with JetStream on a random local port and waits until it is ready.
    ///
    /// Fails after 10 s, or as soon as the process exits, with the server's log in the error.
    /// Needs a tokio runtime (the wait runs on the blocking pool).
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(None).await
    }

    /// Like [`start`](Self::start), with `conf_text` written to `nats.conf` in the server's directory
    /// and passed with `-c` (for accounts, users, TLS, limits, …). The command line still sets the
    /// address, port and JetStream store, which take precedence over the file.
    pub async fn with_config(conf_text: &str) -> anyhow::Result<Self> {
        Self::start_with(Some(conf_text.to_owned())).await
    }

    async fn start_with(conf_text: Option<String>) -> anyhow::Result<Self> {
        tokio::task::spawn_blocking(move || Self::start_blocking(conf_text.as_deref()))
            .await
            .context("the nats-server start task panicked")?
    }

    fn start_blocking(conf_text: Option<&str>) -> anyhow::Result<Self> {
        let binary = find_binary()?;
        let dir =
            tempfile::Builder::new().prefix("nats-server-").tempdir().context("creating the nats-server directory")?;
        let config = match conf_text {
            Some(text) => {
                let path = dir.path().join("nats.conf");
                fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
                Some(path)
            }
            None => None,
        };
        let mut server = Self { binary, dir, config, port: 0, running: None, log: Arc::default() };
        server.spawn_and_wait(None)?;
        Ok(server)
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The client port the server chose at its first start (kept across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory under which JetStream keeps its store (`<dir>/jetstream`).
    pub fn store_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The `nats-server` binary in use.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// Whether the process is running (it has not been stopped or killed).
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Everything the server has logged so far, across restarts.
    pub fn log(&self) -> String {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }

    /// Connects a client with default options (no reconnect to another server: there is none).
    pub async fn client(&self) -> anyhow::Result<async_nats::Client> {
        async_nats::connect(self.url()).await.with_context(|| format!("connecting to {}", self.url()))
    }

    /// Stops the server gracefully (SIGTERM, so JetStream flushes its store) and waits for it to
    /// exit; kills it after 10 s. The store directory is kept for [`restart`](Self::restart).
    /// Does nothing when the server is not running.
    pub fn stop(&mut self) {
        let Some(mut running) = self.running.take() else {
            return;
        };
        let pid = running.child.id().to_string();
        // std can only SIGKILL; the shell's `kill` builtin sends the polite signal. The child is not
        // reaped yet, so its pid cannot have been reused.
        let signalled = Command::new("sh")
            .args(["-c", "kill -s TERM \"$0\"", &pid])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if signalled && wait_closed(&running.events, STOP_TIMEOUT) {
            let _ = running.child.wait();
        } else {
            kill_and_reap(&mut running.child);
        }
    }

    /// Kills the server at once (SIGKILL), as a crash would, and reaps it. Messages JetStream has
    /// acknowledged but not yet written may be lost, exactly as in a real crash. The store directory
    /// is kept. Does nothing when the server is not running.
    pub fn kill(&mut self) {
        if let Some(mut running) = self.running.take() {
            kill_and_reap(&mut running.child);
        }
    }

    /// Starts the server again on the same port with the same store (stopping it first when it is
    /// running), so connected clients reconnect and JetStream finds its streams again.
    ///
    /// Blocks until the server is ready (usually milliseconds).
    ///
    /// # Panics
    ///
    /// When the server does not come back within 10 s; the message carries the server's log.
    /// [`try_restart`](Self::try_restart) returns the error instead.
    pub fn restart(&mut self) {
        if let Err(e) = self.try_restart() {
            panic!("{e:#}");
        }
    }

    /// [`restart`](Self::restart) that returns failures instead of panicking.
    pub fn try_restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        self.spawn_and_wait(Some(self.port))
    }

    /// Spawns the process (`port` `None` = let the server choose) and waits for its ready line.
    fn spawn_and_wait(&mut self, port: Option<u16>) -> anyhow::Result<()> {
        let port_arg = port.map_or_else(|| "-1".to_owned(), |p| p.to_string());
        let mut args: Vec<OsString> = vec![
            "-a".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port_arg.into(),
            "-js".into(),
            "-sd".into(),
            self.dir.path().into(),
        ];
        if let Some(config) = &self.config {
            args.push("-c".into());
            args.push(config.into());
        }
        let mut child = Command::new(&self.binary)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("spawning {}", self.binary.display()))?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, events) = mpsc::channel();
        let log = Arc::clone(&self.log);
        let echo = env::var_os(ECHO_LOG_ENV).is_some();
        thread::Builder::new()
            .name(format!("nats-server-{}-log", child.id()))
            .spawn(move || drain_log(stderr, &log, &tx, echo))
            .context("spawning the nats-server log reader")?;
        let mut running = Running { child, events };

        match wait_ready(&running.events, START_TIMEOUT) {
            Ok(listening) => {
                if port.is_some_and(|p| p != listening) {
                    kill_and_reap(&mut running.child);
                    bail!("nats-server came back on port {listening} instead of {}\n{}", self.port, self.log_section());
                }
                self.port = listening;
                self.running = Some(running);
                Ok(())
            }
            Err(Failure::Exited) => {
                let status = running.child.wait().ok();
                Err(anyhow!(
                    "nats-server ({}) exited before it was ready{}\n{}",
                    self.binary.display(),
                    status.map(describe_status).unwrap_or_default(),
                    self.log_section()
                ))
            }
            Err(Failure::TimedOut) => {
                kill_and_reap(&mut running.child);
                Err(anyhow!(
                    "nats-server ({}) was not ready within {START_TIMEOUT:?}\n{}",
                    self.binary.display(),
                    self.log_section()
                ))
            }
        }
    }

    fn log_section(&self) -> String {
        format!("--- nats-server log ---\n{}--- end of log ---", self.log())
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Why a start did not succeed.
enum Failure {
    Exited,
    TimedOut,
}

/// Waits for the port line and then the ready line; returns the port.
fn wait_ready(events: &Receiver<LogEvent>, timeout: Duration) -> Result<u16, Failure> {
    let deadline = Instant::now() + timeout;
    let mut port = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(LogEvent::Listening(p)) => port = Some(p),
            Ok(LogEvent::Ready) => {
                if let Some(p) = port {
                    return Ok(p);
                }
            }
            Ok(LogEvent::Closed) | Err(RecvTimeoutError::Disconnected) => {
                return Err(Failure::Exited);
            }
            Err(RecvTimeoutError::Timeout) => return Err(Failure::TimedOut),
        }
    }
}

/// Waits until the process has closed its stderr, which it does by exiting.
fn wait_closed(events: &Receiver<LogEvent>, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(LogEvent::Closed) | Err(RecvTimeoutError::Disconnected) => return true,
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => return false,
        }
    }
}

fn kill_and_reap(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn describe_status(status: ExitStatus) -> String {
    format!(" ({status})")
}

/// Reads the server's stderr until it closes: keeps the log, reports the port and readiness.
/// Keeps draining after the server is ready, so the server never blocks on a full pipe.
fn drain_log(stderr: impl std::io::Read, log: &Mutex<String>, tx: &Sender<LogEvent>, echo: bool) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        if echo {
            let _ = std::io::stderr().write_all(text.as_bytes());
        }
        if let Ok(mut log) = log.lock() {
            log.push_str(&text);
            if !text.ends_with('\n') {
                log.push('\n');
            }
        }
        // The receiver is gone once the start finished; later events are simply dropped.
        if let Some(port) = parse_listening_port(&text) {
            let _ = tx.send(LogEvent::Listening(port));
        } else if text.contains(READY) {
            let _ = tx.send(LogEvent::Ready);
        }
    }
    let _ = tx.send(LogEvent::Closed);
}

/// The port of a `Listening for client connections on 127.0.0.1:PORT` line.
fn parse_listening_port(line: &str) -> Option<u16> {
    let (_, rest) = line.split_once(LISTENING)?;
    let address = rest.split_whitespace().next()?;
    address.rsplit_once(':')?.1.parse().ok()
}

/// `$NATS_SERVER_BIN`, else `nats-server` on `PATH`, else `<workspace>/.tools/bin/nats-server`.
fn find_binary() -> anyhow::Result<PathBuf> {
    if let Some(explicit) = env::var_os(BINARY_ENV).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(explicit);
        if is_executable(&path) {
            return Ok(path);
        }
        bail!("${BINARY_ENV} is {} but that is not an executable file", path.display());
    }
    if let Some(found) = env::var_os("PATH")
        .iter()
        .flat_map(env::split_paths)
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| is_executable(candidate))
    {
        return Ok(found);
    }
    let provisioned = workspace_root().join(".tools/bin/nats-server");
    if is_executable(&provisioned) {
        return Ok(provisioned);
    }
    bail!(
        "no nats-server found: not in ${BINARY_ENV}, not on PATH, not at {}; \
         install one with `tools/ensure-nats-server.sh --install` (or run the tests with `make test`)",
        provisioned.display()
    )
}

/// The workspace this crate was built in (`shared/testkit` is two levels below it).
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.ancestors().nth(2).map_or_else(|| manifest.to_path_buf(), Path::to_path_buf)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_port_of_both_log_formats() {
        let v2_9 = "[13972] 2026/11/28 03:55:51.442652 [INF] Listening for client connections on 127.0.0.1:40729\n";
        let v2_15 = "[14026] 2026/11/28 03:55:53.451138 [INF] Listening for client connections on 127.0.0.1:33501";
        assert_eq!(parse_listening_port(v2_9), Some(40729));
        assert_eq!(parse_listening_port(v2_15), Some(33501));
        assert_eq!(parse_listening_port("[1] [INF] Listening for client connections on [::1]:4222"), Some(4222));
        assert_eq!(parse_listening_port("[1] [INF] Server is ready"), None);
        assert_eq!(parse_listening_port("[1] [INF] Listening for websocket clients on ws://0.0.0.0:80"), None);
    }

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(workspace_root().join("shared/testkit").is_dir());
    }
}
