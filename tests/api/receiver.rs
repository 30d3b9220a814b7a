//! A notification receiver for the tests: a real HTTPS server on a loopback port, with a
//! certificate of the test PKI ([`crate::pki`]) that the test gateways trust, which keeps every
//! request it is sent and answers 200, or 500 while told to fail.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::Value;

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    /// `X-Carebridge-Signature`.
    pub signature: String,
    /// `X-Carebridge-Event`.
    pub event: String,
    /// The body, as sent.
    pub body: String,
    /// The status it was answered with.
    pub status: u16,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON notification")
    }
}

/// The running receiver.
#[derive(Clone)]
pub struct Receiver {
    /// Where to send (`https://127.0.0.1:<port>/hook`).
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
    failing: Arc<AtomicBool>,
    delay_ms: Arc<AtomicU64>,
}

#[derive(Clone)]
struct State {
    got: Arc<Mutex<Vec<Received>>>,
    failing: Arc<AtomicBool>,
    delay_ms: Arc<AtomicU64>,
}

async fn hook(req: HttpRequest, body: String, state: web::Data<State>) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let failing = state.failing.load(Ordering::SeqCst);
    let status = if failing { 500 } else { 200 };
    if let Ok(mut got) = state.got.lock() {
        got.push(Received {
            signature: header("x-carebridge-signature"),
            event: header("x-carebridge-event"),
            body,
            status,
        });
    }
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if failing {
        HttpResponse::InternalServerError().finish()
    } else {
        HttpResponse::Ok().finish()
    }
}

impl Receiver {
    /// Starts one on a free loopback port.
    pub async fn start() -> Receiver {
        Self::start_on(0).await
    }

    /// Starts one on loopback `port` (0: a free one), as when an endpoint comes back up.
    pub async fn start_on(port: u16) -> Receiver {
        let got = Arc::new(Mutex::new(Vec::new()));
        let failing = Arc::new(AtomicBool::new(false));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let state = State {
            got: Arc::clone(&got),
            failing: Arc::clone(&failing),
            delay_ms: Arc::clone(&delay_ms),
        };
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .route("/hook", web::post().to(hook))
        })
        .workers(1)
        .bind_rustls_0_23(("127.0.0.1", port), crate::pki::pki().server_config())
        .expect("the receiver binds");
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Receiver {
            url: format!("https://127.0.0.1:{port}/hook"),
            got,
            failing,
            delay_ms,
        }
    }

    /// Answer each request `ms` milliseconds after it arrived (it is kept on arrival).
    pub fn delay(&self, ms: u64) {
        self.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Answer 500 from now on (`true`) or 200 again (`false`).
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.got.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// Waits (up to `secs` seconds) until `done` holds of what was received; what was received.
    pub async fn until(&self, secs: u64, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.received();
            if done(&got) || std::time::Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
