//! Slack messages: a delivery's payload as a Block Kit message for an
//! incoming-webhook URL, naming the artifact, score and workflow, with a
//! button that opens the approval in the review app.
//! <https://api.slack.com/reference/block-kit/blocks>

use serde_json::{Value, json};

/// The Block Kit message for a Baton notification `payload`
/// (`{type, timestamp, data}`); `public_url` prefixes the review link.
pub fn message(payload: &Value, public_url: &str) -> Value {
    let kind = payload["type"].as_str().unwrap_or("notification");
    let data = &payload["data"];
    let details = &data["details"];
    let workflow_type = data["workflow_type"].as_str().unwrap_or("a workflow");
    let actor = data["actor"]["name"].as_str().unwrap_or("someone");
    let artifact = details["artifact_type"].as_str().unwrap_or("artifact");
    let title = match kind {
        "approval.created" => format!("Review needed: {artifact} from {workflow_type}"),
        "approval.decided" => format!(
            "{} by {actor}: {workflow_type}",
            match details["decision"].as_str() {
                Some("approved") => "Approved",
                Some("rejected") => "Rejected",
                _ => "Decided",
            }
        ),
        "approval.expired" => format!("Expired without a decision: {workflow_type}"),
        "approval.expiring" => format!("Reminder: review needed: {artifact} from {workflow_type}"),
        "approval.escalated" => {
            format!("Escalated: still waiting for a review: {artifact} from {workflow_type}")
        }
        "workflow.failed" => format!("Workflow failed: {workflow_type}"),
        "deployment.created" => format!(
            "Deployed: {} in {}",
            details["target"].as_str().unwrap_or("a config"),
            details["environment"].as_str().unwrap_or("an environment")
        ),
        "webhook.test" => "A test message from Baton".to_string(),
        other => other.to_string(),
    };
    let mut fields = Vec::new();
    let mut field = |label: &str, value: String| {
        fields.push(json!({ "type": "mrkdwn", "text": format!("*{label}*\n{value}") }));
    };
    if let Some(score) = details["score"].as_f64() {
        field("Score", format!("{score:.1} / 100"));
    }
    if data["workflow_type"].is_string() {
        field("Workflow", workflow_type.to_string());
    }
    if let Some(v) = details["artifact_version"].as_i64() {
        field("Version", v.to_string());
    }
    if let Some(f) = details["feedback"].as_str() {
        field("Feedback", f.chars().take(300).collect());
    }
    let mut blocks = vec![json!({
        "type": "header",
        "text": { "type": "plain_text", "text": cut(&title, 150) }
    })];
    if !fields.is_empty() {
        blocks.push(json!({ "type": "section", "fields": fields }));
    }
    if let Some(path) = data["review_path"].as_str() {
        let url = format!("{}{path}", public_url.trim_end_matches('/'));
        let label = if matches!(
            kind,
            "approval.created" | "approval.expiring" | "approval.escalated"
        ) {
            "Review"
        } else {
            "Open"
        };
        blocks.push(json!({
            "type": "actions",
            "elements": [{ "type": "button", "text": { "type": "plain_text", "text": label }, "url": url, "style": "primary" }]
        }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": format!("Baton · {kind} · {actor}") }]
    }));
    // `text` is what notifications and screen readers show.
    json!({ "text": title, "blocks": blocks })
}

fn cut(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_approval_names_artifact_score_and_workflow_with_a_review_button() {
        let payload = json!({
            "type": "approval.created",
            "timestamp": "2026-11-27T10:00:00+00:00",
            "data": {
                "workflow_type": "generate_draft",
                "actor": { "name": "system", "role": null },
                "details": { "artifact_type": "draft", "score": 71.25, "artifact_version": 1 },
                "review_path": "/approvals/abc"
            }
        });
        let m = message(&payload, "https://baton.example.com/");
        assert_eq!(m["text"], "Review needed: draft from generate_draft");
        let blocks = m["blocks"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        assert_eq!(blocks[0]["type"], "header");
        let fields = blocks[1]["fields"].to_string();
        assert!(
            fields.contains("71.2 / 100") && fields.contains("generate_draft"),
            "{fields}"
        );
        assert_eq!(
            blocks[2]["elements"][0]["url"],
            "https://baton.example.com/approvals/abc"
        );
        assert_eq!(blocks[2]["elements"][0]["text"]["text"], "Review");
    }
}
