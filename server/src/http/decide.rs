//! The decision page behind an email's links: `GET /decide/{code}` shows
//! what is being decided and never decides (mail scanners and chat
//! unfurlers open links); the `POST` from its form decides, as the link's
//! reviewer, under the approval's policy like any other vote. A plain HTML
//! form: it works without JavaScript. A forged link answers 403, a used or
//! expired one 410, each with a page that says why and changes nothing.
//! The vote spends the reviewer's decisions budget, the same bucket as
//! their GraphQL votes (`crate::ratelimit`); over it, the POST answers 429
//! with `Retry-After` and leaves the link unspent.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::HttpState;
use crate::domain::approvals::{self, Ballot, Decision};
use crate::domain::decision_links::{self, Refusal};
use crate::domain::principal::{Credential, Principal};
use crate::domain::{identity, workflows};
use crate::error::AppError;
use crate::html::escape as esc;
use crate::ratelimit::Kind;

pub async fn page(State(s): State<HttpState>, Path(code): Path<String>) -> Response {
    let now = s.app.clock.now();
    let link = match decision_links::inspect(&s.app.db, &code, now).await {
        Ok(Ok(l)) => l,
        Ok(Err(r)) => return refused(r),
        Err(e) => return failed(e),
    };
    let approval = match approvals::find(&s.app.db, link.approval_id).await {
        Ok(a) => a,
        Err(e) => return failed(e),
    };
    let user = match identity::find_user(&s.app.db, link.user_id).await {
        Ok(u) => u,
        Err(e) => return failed(e),
    };
    if approval.status != entity::approval::ApprovalStatus::Pending {
        return answer(
            StatusCode::GONE,
            "Already decided",
            &format!(
                "This approval was already {} by {}. Nothing was changed.",
                approvals::status_word(approval.status),
                approval.decided_by.as_deref().unwrap_or("the system")
            ),
        );
    }
    let workflow = workflows::find(&s.app.db, approval.workflow_id)
        .await
        .map(|w| w.workflow_type)
        .unwrap_or_default();
    let verb = if link.action == "approve" {
        "Approve"
    } else {
        "Reject"
    };
    let excerpt: String = approval.artifact_data["text"]
        .as_str()
        .or_else(|| approval.artifact_data["summary"].as_str())
        .unwrap_or("")
        .chars()
        .take(2000)
        .collect();
    let score = approval
        .score
        .map(|s| format!("<dt>Score</dt><dd>{s:.1} / 100</dd>"))
        .unwrap_or_default();
    let review = format!("{}/approvals/{}", s.app.config.public_url(), approval.id);
    let body = format!(
        "<h1>{verb} this {artifact}?</h1>\
         <dl><dt>Workflow</dt><dd>{workflow}</dd>{score}<dt>Version</dt><dd>{version}</dd>\
         <dt>You</dt><dd>{name}</dd></dl>\
         <blockquote>{excerpt}</blockquote>\
         <form method=\"post\">\
         <label for=\"feedback\">Feedback (optional)</label><br>\
         <textarea id=\"feedback\" name=\"feedback\" rows=\"5\" cols=\"60\"></textarea><br>\
         <button type=\"submit\">{verb} as {name}</button>\
         </form>\
         <p><a href=\"{review}\">Read it in the review app instead</a></p>\
         <p class=\"note\">Nothing is decided until you press the button. The link works once.</p>",
        artifact = esc(&approval.artifact_type),
        workflow = esc(&workflow),
        version = approval.artifact_version,
        name = esc(&user.name),
        excerpt = esc(&excerpt),
        review = esc(&review),
    );
    answer_html(StatusCode::OK, &format!("{verb} · Baton"), &body)
}

#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    feedback: Option<String>,
}

pub async fn submit(
    State(s): State<HttpState>,
    Path(code): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let now = s.app.clock.now();
    // Who votes comes from the link, so it is read (not spent) first: a
    // vote refused by the rate limit must leave the link working for later.
    let link = match decision_links::inspect(&s.app.db, &code, now).await {
        Ok(Ok(l)) => l,
        Ok(Err(r)) => return refused(r),
        Err(e) => return failed(e),
    };
    let user = match identity::find_user(&s.app.db, link.user_id).await {
        Ok(u) => u,
        Err(e) => return failed(e),
    };
    let Some(principal) = Principal::for_user(&user, Credential::None) else {
        return answer(
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Your account is disabled. Nothing was changed.",
        );
    };
    if let Err(e) = s.app.limiter.take(Kind::Decisions, &principal.id, 1) {
        return failed(e);
    }
    let link = match decision_links::spend(&s.app.db, &code, now).await {
        Ok(Ok(l)) => l,
        Ok(Err(r)) => return refused(r),
        Err(e) => return failed(e),
    };
    let decision = if link.action == "approve" {
        Decision::Approve
    } else {
        Decision::Reject
    };
    let voted = approvals::vote(
        &s.app.db,
        &s.app.catalog,
        &s.app.stamp(&principal),
        &principal,
        link.approval_id,
        Ballot {
            decision,
            version: link.artifact_version,
            feedback: form.feedback,
            edits: None,
        },
    )
    .await;
    match voted {
        Ok(d) => {
            let done = if d.decided {
                format!(
                    "The approval is {}.",
                    approvals::status_word(d.approval.status)
                )
            } else {
                let p = crate::domain::policies::Policy::from_json(d.approval.policy.as_ref());
                let n = approvals::approvals_count(&s.app.db, &d.approval)
                    .await
                    .unwrap_or(0);
                format!(
                    "{n} of {} approvals so far; it needs more from others.",
                    p.required_approvals
                )
            };
            s.app.hub.publish(d.signals);
            let title = if decision == Decision::Approve {
                "Approved"
            } else {
                "Rejected"
            };
            answer(
                StatusCode::OK,
                title,
                &format!("Your vote is recorded as {}. {done}", user.name),
            )
        }
        Err(e @ AppError::Forbidden(_)) => {
            answer(StatusCode::FORBIDDEN, "Not allowed", &e.message())
        }
        Err(e @ (AppError::Conflict(_) | AppError::StateConflict { .. })) => {
            answer(StatusCode::CONFLICT, "Not decided", &e.message())
        }
        Err(e @ AppError::BadInput { .. }) => {
            answer(StatusCode::BAD_REQUEST, "Not decided", &e.message())
        }
        Err(e) => failed(e),
    }
}

fn refused(r: Refusal) -> Response {
    match r {
        Refusal::Unknown => answer(
            StatusCode::FORBIDDEN,
            "Not a valid link",
            "This decision link is not valid: it may have been mistyped or changed. Nothing was changed.",
        ),
        Refusal::Used => answer(
            StatusCode::GONE,
            "Link already used",
            "This decision link was already used; each works once. Nothing was changed.",
        ),
        Refusal::Expired => answer(
            StatusCode::GONE,
            "Link expired",
            "This decision link has expired. Open the approval in the review app instead. Nothing was changed.",
        ),
    }
}

fn failed(e: AppError) -> Response {
    match e {
        AppError::NotFound(m) => answer(StatusCode::NOT_FOUND, "Not found", &m),
        AppError::RateLimited {
            retry_after_secs, ..
        } => {
            let mut res = answer(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many decisions",
                &format!(
                    "You made too many decisions in a short time. Try again in {retry_after_secs} s: \
                     this link still works. Nothing was changed."
                ),
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            res
        }
        e @ AppError::Unavailable(_) => answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again in a moment",
            &e.message(),
        ),
        AppError::Internal(source) => {
            let id = uuid::Uuid::now_v7();
            tracing::error!(error_id = %id, error = ?source, "internal error");
            answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                &format!("Internal error (id {id}). Nothing was changed."),
            )
        }
        other => answer(StatusCode::BAD_REQUEST, "Not decided", &other.message()),
    }
}

fn answer(status: StatusCode, title: &str, message: &str) -> Response {
    answer_html(
        status,
        &format!("{title} · Baton"),
        &format!("<h1>{}</h1><p>{}</p>", esc(title), esc(message)),
    )
}

fn answer_html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"icon\" href=\"data:,\"><title>{}</title><style>body{{font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}\
         blockquote{{white-space:pre-wrap;border-left:3px solid #ccc;margin:1rem 0;padding-left:1rem}}\
         button{{padding:.5rem 1rem;font-size:1rem}}.note{{color:#555}}</style></head><body><main>{body}</main></body></html>",
        esc(title)
    );
    let mut res = (status, Html(page)).into_response();
    let h = res.headers_mut();
    // The code is in the URL: keep it out of caches and Referer headers.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}
