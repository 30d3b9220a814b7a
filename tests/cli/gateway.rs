//! Running the real gateway as a child process: a free port, the command with only the given
//! `CAREBRIDGE_*` settings, and `serve` waited on until it answers.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub fn command(args: &[&str], env: &[(String, String)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_carebridge"));
    c.args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("CAREBRIDGE_")) {
        c.env_remove(k);
    }
    c.envs(env.iter().map(|(k, v)| (k, v)));
    c
}

/// Starts `carebridge serve` and waits until it answers.
pub async fn serve(env: &[(String, String)], port: u16) -> Child {
    let mut child = command(&["serve"], env)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the gateway starts");
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let up = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if up {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the gateway did not come up");
}

/// A gateway process, killed if the test ends (a failed assertion, say) without stopping it.
pub struct KillOnDrop(pub Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Settings as the `(String, String)` pairs [`command`] and [`serve`] take.
pub fn settings(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// A token of `role` for organisation `org`, minted by `carebridge token` with the gateway's
/// settings `env`.
pub fn mint(env: &[(String, String)], role: &str, org: &str) -> String {
    let out = command(&["token", "--role", role, "--org", org], env)
        .output()
        .expect("carebridge token runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Sends SIGTERM to `child` (the process handles it: readiness off, drain, audit synced).
pub fn sigterm(child: &Child) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "SIGTERM sent");
}

impl KillOnDrop {
    /// Stops the gateway with SIGTERM and waits for it; asserts that it exits 0.
    pub async fn stop(&mut self) {
        let mut child = self.0.take().expect("the gateway runs");
        sigterm(&child);
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .expect("joined")
            .expect("exited");
        assert!(status.success(), "exit 0 after SIGTERM: {status:?}");
    }
}

/// Runs `carebridge audit verify` with `env`; asserts that every chain verifies and returns its
/// report.
pub fn audit_verifies(env: &[(String, String)]) -> String {
    let out = command(&["audit", "verify"], env)
        .output()
        .expect("carebridge audit verify runs");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the chains verify: {report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report
}
