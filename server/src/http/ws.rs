//! GraphQL over WebSocket: the `graphql-transport-ws` subprotocol, as
//! <https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md> says,
//! over `Schema::execute_stream`.
//!
//! - Only `graphql-transport-ws` is spoken; a client that offers no such
//!   subprotocol is closed with 4406. An upgrade from a browser page whose
//!   `Origin` is not allowed (`--allowed-origins`, `--cors-origins`) is
//!   refused with 403 (cross-site WebSocket hijacking).
//! - `connection_init` must come within `--ws-init-timeout-secs` (else
//!   4408), once (a second: 4429). It authenticates the connection: payload
//!   key `authorization: "Bearer …"`, or the session cookie of the
//!   upgrade; a missing or bad credential closes it with 4403.
//! - `subscribe` before `connection_ack`: 4401; an id already running:
//!   4409; a message that is not JSON, of an unknown type or missing its
//!   fields: 4400. A document that fails before execution answers `error`
//!   (no `complete`); otherwise `next`… then `complete`. A client
//!   `complete` stops the operation.
//! - The server sends `ping` every `--ws-keepalive-secs` and answers `pong`
//!   to a client's `ping`.
//! - While open, the credential is re-checked whenever a token is revoked,
//!   a user disabled or a session ended (in any process: the events travel
//!   by NOTIFY), and every 15 seconds (expiry; connections on one
//!   credential share a periodic check up to 5 seconds old, see
//!   [`Rechecks`]); once it no longer holds, the socket closes with 4403.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::WebSocketUpgrade;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::HttpState;
use super::operation::{code_uncoded, failed_before_execution, parse_params};
use crate::domain::principal::{Permission, Principal};
use crate::domain::{credentials, identity};
use crate::engine::signals::Notice;
use crate::error::AppError;
use crate::graphql::BatonSchema;
use crate::state::AppState;

/// The one subprotocol spoken.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// The close codes PROTOCOL.md names.
pub mod close {
    pub const BAD_REQUEST: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const SUBPROTOCOL_NOT_ACCEPTABLE: u16 = 4406;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const SUBSCRIBER_EXISTS: u16 = 4409;
    pub const TOO_MANY_INITS: u16 = 4429;
}

/// How often an open WebSocket re-checks its credential without a hint
/// (expiry; a missed notification).
const RECHECK_EVERY: Duration = Duration::from_secs(15);

/// What a connection reads into at a time. tungstenite's default (128
/// KiB) is allocated per connection and zero-filled on every read attempt
/// (every wake of the connection task), and was most of an idle
/// subscriber's memory. Client messages are small (`connection_init`,
/// `subscribe`, `pong`); a bigger one grows the buffer for that message,
/// still bounded by `max_message_size`.
const READ_BUFFER: usize = 4 * 1024;

/// Outgoing frames buffered before they are written. The connection
/// flushes after each batch of messages that were ready together (see
/// [`COALESCE`]), so this only bounds how much one batch gathers before a
/// write; it is kept small because the buffer keeps its size afterwards.
const WRITE_BUFFER: usize = 8 * 1024;

/// Messages already queued for a connection that are written with one
/// flush (during a burst a subscriber's results pile up while it waits for
/// the CPU; one write for several saves a system call each).
const COALESCE: usize = 32;

/// Answers a WebSocket upgrade on `/graphql`.
pub async fn upgrade(s: HttpState, parts: Parts, upgrade: WebSocketUpgrade) -> Response {
    let config = &s.app.config;
    let mut allowed = super::auth::allowed_origins(config);
    allowed.extend(config.http.cors_origins.iter().cloned());
    if !super::auth::same_origin(&parts.headers, &allowed) {
        return super::auth::problem(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "WebSockets are open only to Baton's own pages and the allowed origins",
        );
    }
    let offered = parts
        .headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == PROTOCOL);
    // The upgrade's own credential (the browser's cookie, from an allowed
    // page, as checked above); a token in `connection_init` takes precedence.
    let peer = super::auth::peer(&parts.extensions);
    let from_upgrade = super::auth::principal(&s.app, &parts.headers, peer).await;
    let connection = Connection {
        schema: s.schema.clone(),
        app: s.app.clone(),
        rechecks: s.rechecks.clone(),
        from_upgrade,
        init_timeout: config.http.ws_init_timeout,
        keepalive: config.http.ws_keepalive,
    };
    upgrade
        .protocols([PROTOCOL])
        // The incoming limit is the HTTP body limit: a `subscribe` is no
        // bigger than a POSTed document.
        .max_message_size(config.http.max_body_bytes)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| async move {
            if offered {
                connection.serve(socket).await;
            } else {
                let mut socket = socket;
                let _ = socket
                    .send(close_frame(
                        close::SUBPROTOCOL_NOT_ACCEPTABLE,
                        "Subprotocol not acceptable: speak graphql-transport-ws",
                    ))
                    .await;
            }
        })
        .into_response()
}

fn close_frame(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// What an operation's task reports to the connection. `generation` tells
/// a finished operation's late messages from those of a new one that
/// reuses its id.
enum Out {
    Next(String, u64, Box<async_graphql::Response>),
    Error(String, u64, Box<async_graphql::Response>),
    Done(String, u64),
}

struct Connection {
    schema: BatonSchema,
    app: AppState,
    rechecks: Arc<Rechecks>,
    from_upgrade: Result<Principal, AppError>,
    init_timeout: Duration,
    keepalive: Duration,
}

/// Why the server closes a connection.
type Close = (u16, String);

impl Connection {
    async fn serve(self, socket: WebSocket) {
        let (mut sink, mut stream) = socket.split();
        let (tx, mut rx) = mpsc::unbounded_channel::<Out>();
        let authed: Arc<Mutex<Option<Principal>>> = Arc::default();
        let mut principal: Option<Principal> = None;
        let mut init_seen = false;
        let mut from_upgrade = Some(self.from_upgrade);
        let mut ops: HashMap<String, (u64, tokio::task::AbortHandle)> = HashMap::new();
        let mut generation = 0_u64;
        let init_deadline = tokio::time::sleep(self.init_timeout);
        tokio::pin!(init_deadline);
        let mut keepalive =
            tokio::time::interval_at(tokio::time::Instant::now() + self.keepalive, self.keepalive);
        keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let revoked = until_revoked(&self.app, &self.rechecks, &authed);
        tokio::pin!(revoked);

        let closing: Option<Close> = loop {
            let outgoing: Option<Message> = tokio::select! {
                _ = &mut init_deadline, if !init_seen => {
                    break Some((close::INIT_TIMEOUT, "Connection initialisation timeout".into()));
                }
                _ = &mut revoked => {
                    break Some((close::FORBIDDEN, "Forbidden: the credential was revoked".into()));
                }
                _ = keepalive.tick(), if principal.is_some() => Some(text(json!({ "type": "ping" }))),
                Some(out) = rx.recv() => render(out, &mut ops),
                msg = stream.next() => {
                    let text_in = match msg {
                        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break None,
                        Some(Ok(Message::Text(t))) => t,
                        Some(Ok(Message::Binary(_))) => {
                            break Some((close::BAD_REQUEST, "Invalid message received: binary".into()));
                        }
                        Some(Ok(_)) => continue,
                    };
                    let Ok(msg) = serde_json::from_str::<Value>(text_in.as_str()) else {
                        break Some((close::BAD_REQUEST, "Invalid message received: not JSON".into()));
                    };
                    match msg.get("type").and_then(Value::as_str) {
                        Some("connection_init") => {
                            if init_seen {
                                break Some((close::TOO_MANY_INITS, "Too many initialisation requests".into()));
                            }
                            init_seen = true;
                            let payload = msg.get("payload").cloned().unwrap_or(Value::Null);
                            if !matches!(payload, Value::Null | Value::Object(_)) {
                                break Some((close::BAD_REQUEST, "Invalid message received: the connection_init payload must be an object".into()));
                            }
                            let upgrade = from_upgrade.take().unwrap_or_else(|| Ok(Principal::unauthenticated()));
                            match connection_principal(&self.app, &payload, upgrade).await {
                                Ok(p) => {
                                    if let Ok(mut a) = authed.lock() {
                                        *a = Some(p.clone());
                                    }
                                    principal = Some(p);
                                    Some(text(json!({ "type": "connection_ack" })))
                                }
                                Err(m) => break Some((close::FORBIDDEN, format!("Forbidden: {m}"))),
                            }
                        }
                        Some("ping") => Some(text(json!({ "type": "pong" }))),
                        Some("pong") => None,
                        Some("subscribe") => {
                            let Some(who) = principal.clone() else {
                                break Some((close::UNAUTHORIZED, "Unauthorized".into()));
                            };
                            let Some(id) = msg.get("id").and_then(Value::as_str).filter(|i| !i.is_empty()) else {
                                break Some((close::BAD_REQUEST, "Invalid message received: subscribe needs an id".into()));
                            };
                            let request = match parse_params(msg.get("payload").cloned().unwrap_or(Value::Null)) {
                                Ok(r) => r,
                                Err(m) => break Some((close::BAD_REQUEST, format!("Invalid message received: {m}"))),
                            };
                            if ops.contains_key(id) {
                                break Some((close::SUBSCRIBER_EXISTS, format!("Subscriber for {id} already exists")));
                            }
                            generation += 1;
                            let handle = spawn_operation(&self.schema, request.data(who), id.to_string(), generation, tx.clone());
                            ops.insert(id.to_string(), (generation, handle));
                            None
                        }
                        Some("complete") => {
                            let Some(id) = msg.get("id").and_then(Value::as_str) else {
                                break Some((close::BAD_REQUEST, "Invalid message received: complete needs an id".into()));
                            };
                            if let Some((_, handle)) = ops.remove(id) {
                                handle.abort();
                            }
                            None
                        }
                        _ => break Some((close::BAD_REQUEST, "Invalid message received: unknown type".into())),
                    }
                }
            };
            let Some(m) = outgoing else { continue };
            if sink.feed(m).await.is_err() {
                break None;
            }
            // What the operations queued meanwhile goes out with it.
            let mut more = 0;
            while more < COALESCE
                && let Ok(out) = rx.try_recv()
            {
                more += 1;
                if let Some(m) = render(out, &mut ops)
                    && sink.feed(m).await.is_err()
                {
                    break;
                }
            }
            if sink.flush().await.is_err() {
                break None;
            }
        };
        for (_, (_, handle)) in ops.drain() {
            handle.abort();
        }
        if let Some((code, reason)) = closing {
            if code == close::FORBIDDEN {
                tracing::info!(reason = %reason, "closing a subscription connection");
            }
            let _ = sink.send(close_frame(code, &reason)).await;
        }
        let _ = sink.close().await;
    }
}

/// The message for an operation's result; `None` for the late result of
/// an operation that has finished or was stopped (or whose id was reused).
fn render(out: Out, ops: &mut HashMap<String, (u64, tokio::task::AbortHandle)>) -> Option<Message> {
    let current = |ops: &HashMap<String, (u64, _)>, id: &str, g: u64| {
        ops.get(id).is_some_and(|(og, _)| *og == g)
    };
    match out {
        Out::Next(id, g, res) if current(ops, &id, g) => Some(payload(&id, "next", &*res)),
        Out::Error(id, g, res) if current(ops, &id, g) => {
            ops.remove(&id);
            Some(payload(&id, "error", &res.errors))
        }
        Out::Done(id, g) if current(ops, &id, g) => {
            ops.remove(&id);
            Some(text(json!({ "id": id, "type": "complete" })))
        }
        _ => None,
    }
}

/// `{"id", "type", "payload"}` serialised straight to text: a result is
/// written for every subscriber of every event, and going through a
/// `serde_json::Value` first built the whole tree once more.
fn payload(id: &str, kind: &str, payload: &impl serde::Serialize) -> Message {
    #[derive(serde::Serialize)]
    struct Envelope<'a, P> {
        id: &'a str,
        #[serde(rename = "type")]
        kind: &'a str,
        payload: &'a P,
    }
    match serde_json::to_string(&Envelope { id, kind, payload }) {
        Ok(t) => Message::Text(t.into()),
        // A response is plain JSON data; this cannot happen, but if it
        // did, the client learns of it as an operation error.
        Err(e) => {
            text(json!({ "id": id, "type": "error", "payload": [{ "message": e.to_string() }] }))
        }
    }
}

fn text(v: Value) -> Message {
    Message::Text(v.to_string().into())
}

/// Runs one operation, reporting its results to the connection.
fn spawn_operation(
    schema: &BatonSchema,
    request: async_graphql::Request,
    id: String,
    generation: u64,
    tx: mpsc::UnboundedSender<Out>,
) -> tokio::task::AbortHandle {
    let mut results = schema.execute_stream(request);
    tokio::spawn(async move {
        let mut first = true;
        while let Some(res) = results.next().await {
            let res = code_uncoded(res);
            if first && failed_before_execution(&res) {
                let _ = tx.send(Out::Error(id, generation, Box::new(res)));
                return;
            }
            first = false;
            if tx
                .send(Out::Next(id.clone(), generation, Box::new(res)))
                .is_err()
            {
                return;
            }
        }
        let _ = tx.send(Out::Done(id, generation));
    })
    .abort_handle()
}

/// The principal of a connection: the `authorization` of the init payload,
/// else the upgrade's credential, else (if allowed) an anonymous reader.
async fn connection_principal(
    app: &AppState,
    payload: &Value,
    from_upgrade: Result<Principal, AppError>,
) -> Result<Principal, String> {
    let given = payload
        .get("authorization")
        .or_else(|| payload.get("Authorization"))
        .and_then(|v| v.as_str());
    let principal = match given {
        Some(v) => {
            let token = v.strip_prefix("Bearer ").unwrap_or(v).trim();
            identity::authenticate_token(&app.db, token, app.clock.now())
                .await
                .map_err(|e| e.message())?
        }
        None => from_upgrade.map_err(|e| e.message())?,
    };
    if !principal.can(Permission::Read) {
        return Err(
            "sign in first: send {\"authorization\": \"Bearer <token>\"} in connection_init".into(),
        );
    }
    Ok(principal)
}

/// The periodic credential re-checks of this process's connections,
/// shared by the connections of one credential. With 10,000 connections on
/// one token, each re-reading it every [`RECHECK_EVERY`] was some 700
/// queries a second with nothing happening. A periodic check reuses a
/// result at most [`SHARED_FOR`] old (so a credential that expires is seen
/// within `RECHECK_EVERY + SHARED_FOR`); a check after a revoking event or
/// a resync always reads afresh, since it must see what just changed.
#[derive(Default)]
pub struct Rechecks {
    recent: Mutex<Recent>,
}

#[derive(Default)]
struct Recent {
    by_credential: HashMap<String, (tokio::time::Instant, Arc<tokio::sync::OnceCell<bool>>)>,
    /// When entries older than [`SHARED_FOR`] were last dropped.
    pruned: Option<tokio::time::Instant>,
}

/// How old a shared periodic re-check may be.
const SHARED_FOR: Duration = Duration::from_secs(5);

impl Rechecks {
    /// Whether `principal`'s credential still holds; `fresh` reads it
    /// again whatever was checked recently.
    async fn holds(
        &self,
        app: &AppState,
        principal: &Principal,
        fresh: bool,
    ) -> crate::error::AppResult<bool> {
        let key = format!("{}\u{0}{:?}", principal.id, principal.credential);
        let now = tokio::time::Instant::now();
        let cell = {
            let mut r = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            if r.pruned
                .is_none_or(|at| now.duration_since(at) >= SHARED_FOR)
            {
                r.by_credential
                    .retain(|_, (at, _)| now.duration_since(*at) < SHARED_FOR);
                r.pruned = Some(now);
            }
            match r.by_credential.get(&key) {
                Some((at, cell)) if !fresh && now.duration_since(*at) < SHARED_FOR => cell.clone(),
                _ => {
                    let cell = Arc::new(tokio::sync::OnceCell::new());
                    r.by_credential.insert(key, (now, cell.clone()));
                    cell
                }
            }
        };
        // A failed check is not shared: the next one reads again.
        cell.get_or_try_init(|| async {
            Ok(credentials::recheck(&app.db, principal, app.clock.now())
                .await?
                .is_some())
        })
        .await
        .copied()
    }
}

/// Resolves when the connection's credential no longer holds.
async fn until_revoked(app: &AppState, rechecks: &Rechecks, authed: &Mutex<Option<Principal>>) {
    // Only the revoking events (and resyncs) wake this, not every event.
    let mut notices = app.hub.subscribe_revocations();
    let mut hub_open = true;
    let mut tick = tokio::time::interval(RECHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let fresh = tokio::select! {
            n = notices.recv(), if hub_open => match n {
                Ok(Notice::Event(s)) if !credentials::REVOKING.contains(&s.kind.as_str()) => continue,
                Err(RecvError::Closed) => { hub_open = false; continue; }
                _ => true,
            },
            _ = tick.tick() => false,
        };
        let current = authed.lock().ok().and_then(|a| a.clone());
        let Some(principal) = current else { continue };
        match rechecks.holds(app, &principal, fresh).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(principal = %principal.id, "closing a subscription connection: its credential was revoked");
                return;
            }
            Err(e) => tracing::warn!(error = ?e, "re-checking a connection's credential failed"),
        }
    }
}
