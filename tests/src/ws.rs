//! A minimal graphql-ws (`graphql-transport-ws`) client.
//! <https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md>

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Subscription {
    socket: Socket,
}

impl Subscription {
    /// Connects, initialises with `token` (as `authorization: Bearer …`)
    /// and subscribes (operation id "1").
    pub async fn open(
        url: &str,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Subscription {
        let mut socket = match Self::init(url, token, None).await {
            Ok(s) => s,
            Err(close) => panic!("connection_init refused: {close:?}"),
        };
        send(
            &mut socket,
            json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } }),
        )
        .await;
        Subscription { socket }
    }

    /// Connects and sends `connection_init` (with `token`, and `cookie` on
    /// the upgrade request). `Ok` with the socket after `connection_ack`;
    /// `Err((code, reason))` when the server closes instead.
    pub async fn init(
        url: &str,
        token: Option<&str>,
        cookie: Option<&str>,
    ) -> Result<Socket, (u16, String)> {
        let mut request = url.into_client_request().expect("a ws:// url");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        if let Some(c) = cookie {
            request
                .headers_mut()
                .insert("Cookie", HeaderValue::from_str(c).expect("a cookie header"));
        }
        let (mut socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("WebSocket connect");
        assert_eq!(
            response
                .headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok()),
            Some("graphql-transport-ws")
        );
        let payload = match token {
            Some(t) => json!({ "authorization": format!("Bearer {t}") }),
            None => json!({}),
        };
        send(
            &mut socket,
            json!({ "type": "connection_init", "payload": payload }),
        )
        .await;
        match next_frame(&mut socket, Duration::from_secs(5)).await {
            Frame::Json(ack) if ack["type"] == "connection_ack" => Ok(socket),
            Frame::Close(code, reason) => Err((code, reason)),
            other => panic!("expected connection_ack or a close, got {other:?}"),
        }
    }

    /// A connection `init` opened, with no subscription yet.
    pub fn from_socket(socket: Socket) -> Subscription {
        Subscription { socket }
    }

    /// Waits until the server closes the connection; its close code and
    /// reason (`None` when nothing came within `limit`). Data pushed
    /// meanwhile is skipped.
    pub async fn closed(&mut self, limit: Duration) -> Option<(u16, String)> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match next_frame(&mut self.socket, left).await {
                Frame::Close(code, reason) => return Some((code, reason)),
                Frame::Timeout => return None,
                Frame::Json(_) => {}
            }
        }
    }

    /// The next `data` pushed, or `None` after `limit`. Panics on an error message.
    pub async fn next(&mut self, limit: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let msg = recv(&mut self.socket, left).await?;
            match msg["type"].as_str() {
                Some("next") => {
                    let payload = &msg["payload"];
                    assert!(
                        payload.get("errors").is_none(),
                        "subscription error: {payload}"
                    );
                    return Some(payload["data"].clone());
                }
                Some("error") => panic!("subscription failed: {msg}"),
                Some("ping") => send(&mut self.socket, json!({ "type": "pong" })).await,
                _ => {}
            }
        }
    }

    /// Waits for pushed data satisfying `pred`, skipping others.
    pub async fn next_matching(
        &mut self,
        limit: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let data = self.next(left).await?;
            if pred(&data) {
                return Some(data);
            }
        }
    }
}

async fn send(socket: &mut Socket, v: Value) {
    socket
        .send(Message::Text(v.to_string().into()))
        .await
        .expect("WebSocket send");
}

#[derive(Debug)]
enum Frame {
    Json(Value),
    Close(u16, String),
    Timeout,
}

/// The next text message or close frame (a dropped connection counts as a
/// close with code 1006).
async fn next_frame(socket: &mut Socket, limit: Duration) -> Frame {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Ok(msg) = tokio::time::timeout(left, socket.next()).await else {
            return Frame::Timeout;
        };
        match msg {
            Some(Ok(Message::Text(t))) => {
                if let Ok(v) = serde_json::from_str(t.as_str()) {
                    return Frame::Json(v);
                }
            }
            Some(Ok(Message::Close(frame))) => {
                return match frame {
                    Some(f) => Frame::Close(u16::from(f.code), f.reason.to_string()),
                    None => Frame::Close(1005, String::new()),
                };
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Frame::Close(1006, String::new()),
        }
    }
}

async fn recv(socket: &mut Socket, limit: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let msg = tokio::time::timeout(left, socket.next())
            .await
            .ok()??
            .ok()?;
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).ok();
        }
    }
}

/// A raw graphql-ws connection for protocol tests: what the server sends,
/// frame by frame, including its pings and close codes.
pub struct RawSocket {
    socket: Socket,
}

impl RawSocket {
    /// Connects offering `protocol` (none: no subprotocol) with `origin`
    /// as the `Origin` header; `Err(status)` when the upgrade is refused.
    pub async fn connect(
        url: &str,
        protocol: Option<&str>,
        origin: Option<&str>,
    ) -> Result<RawSocket, u16> {
        let mut request = url.into_client_request().expect("a ws:// url");
        if let Some(p) = protocol {
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_str(p).expect("a protocol"),
            );
        }
        if let Some(o) = origin {
            request
                .headers_mut()
                .insert("Origin", HeaderValue::from_str(o).expect("an origin"));
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(RawSocket { socket }),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
            Err(e) => panic!("WebSocket connect: {e}"),
        }
    }

    pub async fn send(&mut self, v: Value) {
        send(&mut self.socket, v).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::Text(text.to_string().into()))
            .await
            .expect("WebSocket send");
    }

    /// The next JSON message (`Ok`) or the close (`Err((code, reason))`);
    /// panics when nothing comes within `limit`.
    pub async fn next(&mut self, limit: Duration) -> Result<Value, (u16, String)> {
        match next_frame(&mut self.socket, limit).await {
            Frame::Json(v) => Ok(v),
            Frame::Close(code, reason) => Err((code, reason)),
            Frame::Timeout => panic!("nothing from the server within {limit:?}"),
        }
    }

    /// Skips messages until the server closes; its code and reason.
    pub async fn closed(&mut self, limit: Duration) -> (u16, String) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match next_frame(&mut self.socket, left).await {
                Frame::Close(code, reason) => return (code, reason),
                Frame::Timeout => panic!("the server did not close within {limit:?}"),
                Frame::Json(_) => {}
            }
        }
    }

    /// Sends `connection_init` with `token` and expects `connection_ack`.
    pub async fn init(&mut self, token: &str) {
        self.send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } }))
            .await;
        let ack = self.next(Duration::from_secs(10)).await;
        assert_eq!(
            ack.as_ref().ok().and_then(|v| v["type"].as_str()),
            Some("connection_ack"),
            "{ack:?}"
        );
    }
}
