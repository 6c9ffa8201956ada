//! `todo-api` as a process, started on a free port with a fresh SQLite database:
//! - the web UI in a real browser: `tests/ui/e2e.mjs` (playwright-core driving Debian's Chromium).
//!   Needs `node`, `tests/ui/node_modules` (`npm ci --prefix tests/ui`) and `/usr/bin/chromium`
//!   (`.ci/setup-ui.sh` installs both), and aiosmtpd (the mail server the script brings up after a
//!   reminder's email failed). Without them the test is skipped, unless `CI` is set: then it fails.
//! - SIGTERM with a browser's event stream open: the process still exits.

use crate::common::free_port;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

/// A scratch directory removed when the test ends.
struct ScratchDir(PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn missing_prerequisites(ui_dir: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node {
        missing.push("node (Node.js 18+)".to_owned());
    }
    if !ui_dir.join("node_modules/playwright-core").is_dir() {
        missing.push(format!(
            "{} (run `npm ci --prefix tests/ui`)",
            ui_dir.join("node_modules").display()
        ));
    }
    if !Path::new(CHROMIUM).exists() {
        missing.push(format!("{CHROMIUM} (`apt-get install chromium`)"));
    }
    let aiosmtpd = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !aiosmtpd {
        missing.push("aiosmtpd (`pip install aiosmtpd`)".to_owned());
    }
    missing
}

async fn wait_ready(server: &mut Server, base: &str) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("http client");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = server.0.try_wait().expect("poll todo-api") {
            panic!("todo-api exited before becoming ready: {status}");
        }
        let ready = client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "todo-api not ready at {base}/readyz within 60s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `todo-api` on a free port with a SQLite database in `scratch` and `env` set, once `/readyz` answers.
async fn start_server(scratch: &ScratchDir, env: &[(&str, String)]) -> (Server, String) {
    std::fs::create_dir_all(&scratch.0).expect("create scratch dir");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_todo-api"))
            .current_dir(&scratch.0)
            .env("TODO_HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", scratch.0.join("todo.db").display()),
            )
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start todo-api"),
    );
    wait_ready(&mut server, &base).await;
    (server, base)
}

/// A rolling update sends SIGTERM; an open browser tab's event stream must not keep the old pod
/// alive until Kubernetes kills it. The stream ends, then the process exits.
#[tokio::test]
async fn sigterm_with_an_open_event_stream_exits() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let scratch = ScratchDir(std::env::temp_dir().join(format!(
        "todo-sigterm-{}-{}",
        std::process::id(),
        free_port()
    )));
    let (mut server, base) = start_server(&scratch, &[]).await;
    let signup: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&serde_json::json!({
            "email": "tab@example.com",
            "password": "correct horse",
            "time_zone": "UTC",
        }))
        .send()
        .await
        .expect("signup")
        .json()
        .await
        .expect("signup JSON");
    let token = signup["token"].as_str().expect("token");
    let address = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    stream
        .write_all(
            format!(
                "GET /api/v1/events HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .expect("request sent");
    let mut head = vec![0u8; 1024];
    let read = stream.read(&mut head).await.expect("response head");
    let head = String::from_utf8_lossy(&head[..read]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    let pid = server.0.id().expect("running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    // Kubernetes' default grace period is 30 s; the server must be gone well before it would SIGKILL.
    let status = tokio::time::timeout(Duration::from_secs(20), server.0.wait())
        .await
        .expect("todo-api exited after SIGTERM despite the open event stream")
        .expect("wait");
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn web_ui_end_to_end_in_chromium() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let ui_dir = repo.join("tests/ui");
    let missing = missing_prerequisites(&ui_dir);
    if !missing.is_empty() {
        let msg = format!(
            "UI end-to-end test needs: {} (.ci/setup-ui.sh installs them)",
            missing.join(", ")
        );
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("SKIPPED: {msg}");
        return;
    }

    let scratch = ScratchDir(std::env::temp_dir().join(format!(
        "todo-ui-e2e-{}-{}",
        std::process::id(),
        free_port()
    )));
    // Reminder emails go to a port nothing listens on until the script starts aiosmtpd there; retries are
    // quick and give up after a second, so the UI shows a failed email to retry.
    let smtp_port = free_port();
    let (_server, base) = start_server(
        &scratch,
        &[
            ("TODO_SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}")),
            ("TODO_NOTIFY_RETRY_INITIAL", "200ms".into()),
            ("TODO_NOTIFY_RETRY_MAX_INTERVAL", "200ms".into()),
            ("TODO_NOTIFY_RETRY_FOR", "1s".into()),
        ],
    )
    .await;

    // Kept after the run (also on failure) for a look: target/tmp/ui-e2e-screenshots.
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-e2e-screenshots");
    std::fs::create_dir_all(&shots).expect("create screenshot dir");
    let run = Command::new("node")
        .arg(ui_dir.join("e2e.mjs"))
        .arg(&base)
        .current_dir(&ui_dir)
        .env("SCREENSHOT_DIR", &shots)
        .env("CHROMIUM", CHROMIUM)
        .env("SMTP_PORT", smtp_port.to_string())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("e2e.mjs finished within 180s")
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "UI end-to-end failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}
