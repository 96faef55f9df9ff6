//! A minimal graphql-ws (`graphql-transport-ws`) client.
//! <https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md>

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Subscription {
    socket: Socket,
}

impl Subscription {
    /// Connects, initialises and subscribes (operation id "1").
    pub async fn open(url: &str, query: &str, variables: Value) -> Subscription {
        let mut request = url.into_client_request().expect("a ws:// url");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
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
        send(
            &mut socket,
            json!({ "type": "connection_init", "payload": {} }),
        )
        .await;
        let ack = recv(&mut socket, Duration::from_secs(5))
            .await
            .expect("connection_ack");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        send(
            &mut socket,
            json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } }),
        )
        .await;
        Subscription { socket }
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
