//! Notification email: to each reviewer an approval's policy lets decide,
//! a plain-text and an HTML part naming the artifact, score and workflow,
//! with single-use decision links (see `domain::decision_links`).
//!
//! The links are made when the email is sent, not when it is queued, so
//! their codes exist only in the email: the outbox row holds none.

use chrono::{DateTime, Utc};
use entity::delivery;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::MailConfig;
use crate::domain::outbox::Attempt;
use crate::domain::{decision_links, identity};
use crate::state::AppState;

pub type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// The SMTP transport `cfg` names. `?tls=starttls` (this project's word)
/// is lettre's `tls=required`: STARTTLS, refused when the server lacks it.
pub fn transport(cfg: &MailConfig) -> Result<Transport, String> {
    let url = cfg.smtp_url.replace("tls=starttls", "tls=required");
    AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
        .map(|b| b.build())
        .map_err(|e| format!("BATON_SMTP_URL is not usable: {e}"))
}

/// Sends email delivery `d`.
pub async fn send(
    state: &AppState,
    transport: Option<&Transport>,
    d: &delivery::Model,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Attempt {
    let (Some(cfg), Some(transport)) = (&state.config.mail, transport) else {
        // Another process (with BATON_SMTP_URL) may send it.
        return Attempt::Failed {
            status: None,
            error: "this process has no SMTP server (BATON_SMTP_URL)".into(),
            retry_at,
        };
    };
    let fail = |error: String| Attempt::Failed {
        status: None,
        error,
        retry_at: None,
    };
    let user = match identity::get_user(&state.db, d.target_id).await {
        Ok(Some(u)) if !u.disabled && !u.email_opt_out => u,
        Ok(_) => return fail("the recipient is disabled, gone, or opted out".into()),
        Err(e) => {
            return Attempt::Failed {
                status: None,
                error: e.message(),
                retry_at,
            };
        }
    };
    let Some(address) = user.email.clone() else {
        return fail("the recipient has no email address".into());
    };
    let data = &d.payload["data"];
    let Some(approval_id) = data["approval_id"].as_str().and_then(|s| s.parse().ok()) else {
        return fail("the notification names no approval".into());
    };
    let version = data["details"]["artifact_version"]
        .as_i64()
        .and_then(|v| i32::try_from(v).ok())
        .unwrap_or(0);
    let expires_at = match data["details"]["expires_at"].as_str() {
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now + decision_links::LINK_TTL)
            .min(now + decision_links::LINK_TTL),
        None => now + decision_links::LINK_TTL,
    };
    let base = state.config.public_url();
    let mut links = Vec::new();
    for action in ["approve", "reject"] {
        match decision_links::issue(
            &state.db,
            approval_id,
            user.id,
            action,
            version,
            Some(d.id),
            expires_at,
            now,
        )
        .await
        {
            Ok(code) => links.push(format!("{base}/decide/{code}")),
            Err(e) => {
                return Attempt::Failed {
                    status: None,
                    error: e.message(),
                    retry_at,
                };
            }
        }
    }
    let review = format!("{base}{}", data["review_path"].as_str().unwrap_or("/"));
    let (subject, text, html) = compose(&d.payload, &user.name, &links[0], &links[1], &review);
    let to = match address.parse::<lettre::Address>() {
        Ok(a) => Mailbox::new(Some(user.name.clone()), a),
        Err(e) => return fail(format!("'{address}' is not an email address: {e}")),
    };
    let from = match cfg.from.parse::<Mailbox>() {
        Ok(m) => m,
        Err(e) => return fail(format!("BATON_MAIL_FROM is not an address: {e}")),
    };
    let message = match Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .multipart(MultiPart::alternative_plain_html(text, html))
    {
        Ok(m) => m,
        Err(e) => return fail(format!("the email could not be built: {e}")),
    };
    match transport.send(message).await {
        Ok(reply) => Attempt::Delivered {
            status: reply.code().to_string().parse().unwrap_or(250),
        },
        Err(e) => Attempt::Failed {
            status: e.status().and_then(|c| c.to_string().parse().ok()),
            error: format!("SMTP: {e}"),
            retry_at,
        },
    }
}

/// Subject, plain text and HTML of a review request.
fn compose(
    payload: &serde_json::Value,
    name: &str,
    approve: &str,
    reject: &str,
    review: &str,
) -> (String, String, String) {
    let data = &payload["data"];
    let details = &data["details"];
    let artifact = details["artifact_type"].as_str().unwrap_or("artifact");
    let workflow = data["workflow_type"].as_str().unwrap_or("a workflow");
    let score = details["score"]
        .as_f64()
        .map(|s| format!(", score {s:.1}"))
        .unwrap_or_default();
    let subject = match payload["type"].as_str() {
        Some("approval.expiring") => {
            format!("Reminder: review needed: {artifact} from {workflow}{score}")
        }
        Some("approval.escalated") => {
            format!("Escalated: still waiting for a review: {artifact} from {workflow}{score}")
        }
        _ => format!("Review needed: {artifact} from {workflow}{score}"),
    };
    let text = format!(
        "Hello {name},\n\n\
         {workflow} produced a {artifact}{score} that needs your decision.\n\n\
         Approve:\n{approve}\n\n\
         Reject (you can add feedback):\n{reject}\n\n\
         Read it in the review app:\n{review}\n\n\
         Each link works once and shows a confirmation page first.\n"
    );
    let esc = crate::html::escape;
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\">\
         <p>Hello {n},</p>\
         <p><strong>{w}</strong> produced a {a}{s} that needs your decision.</p>\
         <p><a href=\"{ap}\" style=\"padding:8px 14px;background:#1f5f8b;color:#fff;text-decoration:none\">Approve</a> \
         <a href=\"{rj}\" style=\"padding:8px 14px;border:1px solid #555;color:#222;text-decoration:none\">Reject</a></p>\
         <p><a href=\"{rv}\">Read it in the review app</a></p>\
         <p style=\"color:#555\">Each link works once and shows a confirmation page first.</p>\
         </body></html>",
        n = esc(name),
        w = esc(workflow),
        a = esc(artifact),
        s = esc(&score),
        ap = esc(approve),
        rj = esc(reject),
        rv = esc(review),
    );
    (subject, text, html)
}
