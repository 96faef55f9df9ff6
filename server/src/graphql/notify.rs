//! GraphQL types of notifications: webhooks and the delivery log (admins).

use async_graphql::{Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::delivery::{self, DeliveryStatus as DbStatus};
use entity::webhook;
use serde_json::Value;

use crate::domain::webhooks;

/// Where a delivery is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    Delivered,
    /// Gave up after its last attempt; `redeliver` sends it again.
    Dead,
}

impl From<DbStatus> for DeliveryStatus {
    fn from(s: DbStatus) -> Self {
        match s {
            DbStatus::Pending => DeliveryStatus::Pending,
            DbStatus::Delivered => DeliveryStatus::Delivered,
            DbStatus::Dead => DeliveryStatus::Dead,
        }
    }
}

impl From<DeliveryStatus> for DbStatus {
    fn from(s: DeliveryStatus) -> Self {
        match s {
            DeliveryStatus::Pending => DbStatus::Pending,
            DeliveryStatus::Delivered => DbStatus::Delivered,
            DeliveryStatus::Dead => DbStatus::Dead,
        }
    }
}

/// What a webhook's receiver expects.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WebhookKind {
    /// Signed JSON `{type, timestamp, data}` (Standard Webhooks).
    Standard,
    /// A Slack incoming-webhook URL: a Block Kit message naming the
    /// artifact, score and workflow, with a button to the review page.
    Slack,
}

impl From<webhook::WebhookKind> for WebhookKind {
    fn from(k: webhook::WebhookKind) -> Self {
        match k {
            webhook::WebhookKind::Standard => WebhookKind::Standard,
            webhook::WebhookKind::Slack => WebhookKind::Slack,
        }
    }
}

impl From<WebhookKind> for webhook::WebhookKind {
    fn from(k: WebhookKind) -> Self {
        match k {
            WebhookKind::Standard => webhook::WebhookKind::Standard,
            WebhookKind::Slack => webhook::WebhookKind::Slack,
        }
    }
}

/// An endpoint Baton posts notifications to: signed JSON (Standard
/// Webhooks), or Slack messages.
pub struct Webhook(pub webhook::Model);

#[Object]
impl Webhook {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn kind(&self) -> WebhookKind {
        self.0.kind.into()
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The events it receives: `approval.created`, `approval.decided`,
    /// `approval.expiring` (a reminder), `approval.escalated`,
    /// `approval.expired`, `workflow.failed`, `deployment.created`.
    async fn events(&self) -> Vec<String> {
        webhooks::event_names(&self.0)
    }
    /// Only events of these workflow types; null: every type.
    async fn workflow_types(&self) -> Option<Vec<String>> {
        webhooks::workflow_types(&self.0)
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Until then the previous secret signs too (after a rotation).
    async fn previous_secret_valid_until(&self) -> Option<DateTime<Utc>> {
        self.0
            .previous_secret
            .as_ref()
            .and(self.0.previous_secret_until)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A webhook with its signing secret, shown this once.
#[derive(SimpleObject)]
pub struct WebhookSecretPayload {
    pub webhook: Webhook,
    /// `whsec_…`: verify `webhook-signature` with it (any Standard Webhooks
    /// library does). It is not shown again.
    pub secret: String,
}

/// A new webhook.
#[derive(InputObject)]
pub struct CreateWebhookInput {
    /// `https://…` (`http://` is accepted too: use it only where the
    /// network between Baton and the receiver is trusted); for SLACK, the
    /// channel's incoming-webhook URL.
    pub url: String,
    #[graphql(default_with = "WebhookKind::Standard")]
    pub kind: WebhookKind,
    /// At least one of the event names `Webhook.events` lists.
    pub events: Vec<String>,
    /// Only events of these workflow types (all when null or empty).
    pub workflow_types: Option<Vec<String>>,
    pub description: Option<String>,
}

/// Changes to a webhook; fields left out keep their value.
#[derive(InputObject)]
pub struct UpdateWebhookInput {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// An empty list removes the filter.
    pub workflow_types: Option<Vec<String>>,
    pub description: Option<String>,
    /// A disabled webhook receives nothing; its due deliveries die.
    pub active: Option<bool>,
}

/// One notification to one receiver: the outbox row and its log.
pub struct Delivery(pub delivery::Model);

#[Object]
impl Delivery {
    /// Also the `webhook-id` header: receivers drop repeats by it.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// `approval.created`, …, or `webhook.test`.
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    /// `webhook`.
    async fn channel(&self) -> &str {
        &self.0.channel
    }
    /// The webhook it goes to.
    async fn webhook_id(&self) -> ID {
        ID(self.0.target_id.to_string())
    }
    async fn status(&self) -> DeliveryStatus {
        self.0.status.into()
    }
    /// Attempts so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// When it is (next) due, while pending.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == DbStatus::Pending).then_some(self.0.next_attempt_at)
    }
    /// The receiver's last HTTP status.
    async fn last_status(&self) -> Option<i32> {
        self.0.last_status
    }
    /// Why the last attempt failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// The body, exactly as sent.
    async fn payload(&self) -> Json<&Value> {
        Json(&self.0.payload)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
}

/// Which deliveries to list.
#[derive(InputObject, Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub webhook_id: Option<ID>,
    pub event_type: Option<String>,
}

/// An edge to a Delivery.
#[derive(SimpleObject)]
pub struct DeliveryEdge {
    pub cursor: String,
    pub node: Delivery,
}

/// A page of deliveries (Relay cursor connection).
#[derive(SimpleObject)]
pub struct DeliveryConnection {
    pub edges: Vec<DeliveryEdge>,
    pub page_info: super::types::PageInfo,
}

impl From<crate::domain::page::Page<delivery::Model>> for DeliveryConnection {
    fn from(page: crate::domain::page::Page<delivery::Model>) -> Self {
        let page_info = super::types::page_info(&page);
        DeliveryConnection {
            edges: page
                .items
                .into_iter()
                .map(|(c, m)| DeliveryEdge {
                    cursor: c.encode(),
                    node: Delivery(m),
                })
                .collect(),
            page_info,
        }
    }
}
