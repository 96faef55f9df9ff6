//! Notification email and decision links, against an SMTP sink on loopback
//! that the test runs: the reviewers a policy names get an email with a
//! plain-text and an HTML part and single-use links; opening a link
//! changes nothing; the form's POST decides as that reviewer; a reused or
//! tampered link is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton::app::Overrides;
use baton::config::MailConfig;
use baton_e2e::{Backend, TestApp, both_backends};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const T: Duration = Duration::from_secs(30);

/// One message the sink accepted.
#[derive(Debug, Clone)]
struct Mail {
    to: Vec<String>,
    data: String,
}

/// The smallest SMTP server that accepts mail (RFC 5321: greeting, EHLO,
/// MAIL, RCPT, DATA, QUIT), keeping every message.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<Mail>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut to = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        w.write_all(b"250-sink\r\n250 8BITMIME\r\n").await.unwrap();
                    } else if upper.starts_with("RCPT TO:") {
                        to.push(line[8..].trim().trim_matches(['<', '>']).to_string());
                        w.write_all(b"250 ok\r\n").await.unwrap();
                    } else if upper.starts_with("DATA") {
                        w.write_all(b"354 go on\r\n").await.unwrap();
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        keep.lock().unwrap().push(Mail {
                            to: std::mem::take(&mut to),
                            data,
                        });
                        w.write_all(b"250 queued\r\n").await.unwrap();
                    } else if upper.starts_with("QUIT") {
                        w.write_all(b"221 bye\r\n").await.unwrap();
                        break;
                    } else {
                        w.write_all(b"250 ok\r\n").await.unwrap();
                    }
                }
            });
        }
    });
    (port, got)
}

/// The message body with quoted-printable soft breaks and escapes undone.
fn unfold(data: &str) -> String {
    let joined = data.replace("=\n", "");
    let mut out = String::new();
    let mut chars = joined.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '=' {
            let hex: String = chars.clone().take(2).collect();
            if let Ok(b) = u8::from_str_radix(&hex, 16) {
                out.push(b as char);
                chars.next();
                chars.next();
                continue;
            }
        }
        out.push(c);
    }
    out
}

fn links(body: &str) -> Vec<String> {
    let mut found: Vec<String> = body
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .filter(|w| w.contains("/decide/"))
        .map(str::to_string)
        .collect();
    found.dedup();
    found
}

async fn wait_for_mail(got: &Arc<Mutex<Vec<Mail>>>, n: usize) -> Vec<Mail> {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let mails = got.lock().unwrap().clone();
        if mails.len() >= n {
            return mails;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {n} emails arrived",
            mails.len()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn spawn_with_mail(backend: Backend, port: u16) -> TestApp {
    TestApp::spawn_with(
        backend,
        move |c| {
            c.mail = Some(MailConfig {
                smtp_url: format!("smtp://127.0.0.1:{port}"),
                from: "Baton <baton@example.com>".into(),
            });
        },
        Overrides::default(),
    )
    .await
}

both_backends! {
    async fn a_reviewer_decides_from_an_email_link_and_opening_it_changes_nothing(backend: Backend) {
        let (port, got) = smtp_sink().await;
        let app = spawn_with_mail(backend, port).await;
        // Reviewers with an email get it; a submitter and a reviewer
        // without an email do not.
        app.gql_ok(
            "mutation { a: createUser(input: {name: \"ana\", email: \"ana@example.com\", role: REVIEWER}) { user { id } }
                        b: createUser(input: {name: \"sam\", email: \"sam@example.com\", role: SUBMITTER}) { user { id } }
                        c: createUser(input: {name: \"cy\", role: REVIEWER}) { user { id } } }",
            json!({}),
        )
        .await;
        let run = app
            .run_workflow("generate_draft", json!({ "story_id": "s", "scene": "x", "prompt": "Mara finds a letter." }), true)
            .await;
        let approval = run["approval"]["id"].as_str().unwrap().to_string();

        let mails = wait_for_mail(&got, 1).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mails_now = got.lock().unwrap().clone();
        assert_eq!(mails_now.len(), 1, "only ana may decide and has an email: {mails_now:#?}");
        let mail = &mails[0];
        assert_eq!(mail.to, vec!["ana@example.com".to_string()]);
        let body = unfold(&mail.data);
        assert!(body.contains("Subject: Review needed: draft from generate_draft"), "{body}");
        assert!(body.contains("text/plain") && body.contains("text/html"), "a plain-text and an HTML part");
        let found = links(&body);
        let approve = found.iter().find(|l| !l.contains("href")).cloned().unwrap();
        assert!(approve.starts_with(&format!("http://{}/decide/", app.address)), "{found:?}");

        // GET shows a confirmation page and decides nothing.
        let page = app.http.get(&approve).send().await.unwrap();
        assert_eq!(page.status().as_u16(), 200);
        assert_eq!(page.headers().get("referrer-policy").unwrap(), "no-referrer");
        let html = page.text().await.unwrap();
        assert!(html.contains("<form method=\"post\">") && html.contains("as ana"), "{html}");
        let pending = app.gql_ok("query($id: ID!) { approval(id: $id) { status votes { decision } } }", json!({ "id": approval })).await;
        assert_eq!(pending["approval"]["status"], "PENDING");
        assert_eq!(pending["approval"]["votes"], json!([]));

        // A tampered link is refused and changes nothing.
        let mut tampered = approve.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        let forged = app.http.post(&tampered).form(&[("feedback", "x")]).send().await.unwrap();
        assert_eq!(forged.status().as_u16(), 403);

        // The form's POST decides, as ana.
        let done = app.http.post(&approve).form(&[("feedback", "Lovely.")]).send().await.unwrap();
        assert_eq!(done.status().as_u16(), 200);
        assert!(done.text().await.unwrap().contains("The approval is approved"));
        let decided = app
            .gql_ok("query($id: ID!) { approval(id: $id) { status decidedBy feedback votes { reviewer { name } } } }", json!({ "id": approval }))
            .await;
        assert_eq!(decided["approval"]["status"], "APPROVED");
        assert_eq!(decided["approval"]["decidedBy"], "ana");
        assert_eq!(decided["approval"]["feedback"], "Lovely.");

        // Used once: a second POST (or a look) is refused, and says why.
        let again = app.http.post(&approve).form(&[("feedback", "")]).send().await.unwrap();
        assert_eq!(again.status().as_u16(), 410);
        assert!(again.text().await.unwrap().contains("already used"));

        // The delivery log has the email, delivered with the SMTP reply.
        let log = app
            .gql_ok("{ deliveries(filter: {eventType: \"approval.created\"}) { edges { node { channel status lastStatus payload } } } }", json!({}))
            .await;
        let d = &log["deliveries"]["edges"][0]["node"];
        assert_eq!(d["channel"], "email");
        assert_eq!(d["status"], "DELIVERED");
        assert_eq!(d["lastStatus"], 250);
        let stored: Value = d["payload"].clone();
        assert!(!stored.to_string().contains("/decide/"), "the outbox holds no link codes");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_follows_the_policy_like_any_vote() {
    let (port, got) = smtp_sink().await;
    let app = spawn_with_mail(Backend::Sqlite, port).await;
    app.set_policy("generate_draft", json!({ "requiredApprovals": 2 }))
        .await;
    app.gql_ok(
        "mutation { a: createUser(input: {name: \"ana\", email: \"ana@example.com\", role: REVIEWER}) { user { id } }
                    b: createUser(input: {name: \"bo\", email: \"bo@example.com\", role: REVIEWER}) { user { id } } }",
        json!({}),
    )
    .await;
    let run = app
        .run_workflow(
            "generate_draft",
            json!({ "story_id": "s", "scene": "x", "prompt": "Mara finds a letter." }),
            true,
        )
        .await;
    let approval = run["approval"]["id"].as_str().unwrap().to_string();
    let mails = wait_for_mail(&got, 2).await;
    let first = links(&unfold(&mails[0].data))
        .into_iter()
        .find(|l| !l.contains("href"))
        .unwrap();
    let done = app
        .http
        .post(&first)
        .form(&[("feedback", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status().as_u16(), 200);
    assert!(
        done.text()
            .await
            .unwrap()
            .contains("1 of 2 approvals so far")
    );
    let a = app
        .gql_ok(
            "query($id: ID!) { approval(id: $id) { status approvalsCount } }",
            json!({ "id": approval }),
        )
        .await;
    assert_eq!(
        a["approval"],
        json!({ "status": "PENDING", "approvalsCount": 1 })
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewers_can_opt_out_of_email_or_keep_it_to_some_workflow_types() {
    let (port, got) = smtp_sink().await;
    let app = spawn_with_mail(Backend::Sqlite, port).await;
    // Reviewers with emails, each with a token of their own.
    let mut tokens = Vec::new();
    for name in ["ana", "bo", "cy"] {
        let made = app
            .gql_ok(
                "mutation($n: String!, $e: String!) { createUser(input: {name: $n, email: $e, role: REVIEWER}) { user { id } } }",
                json!({ "n": name, "e": format!("{name}@example.com") }),
            )
            .await;
        let id = made["createUser"]["user"]["id"].clone();
        let token = app
            .gql_ok(
                "mutation($u: ID!) { createToken(input: {name: \"t\", role: REVIEWER, userId: $u}) { secret } }",
                json!({ "u": id }),
            )
            .await["createToken"]["secret"]
            .as_str()
            .unwrap()
            .to_string();
        tokens.push(token);
    }
    let (bo, cy) = (tokens[1].clone(), tokens[2].clone());
    let off = app
        .gql_as(
            Some(&bo),
            "mutation { setNotificationPreferences(email: false) { emailNotifications } }",
            json!({}),
        )
        .await;
    assert_eq!(
        off["data"]["setNotificationPreferences"]["emailNotifications"], false,
        "{off}"
    );
    let only = app
        .gql_as(
            Some(&cy),
            "mutation { setNotificationPreferences(workflowTypes: [\"run_experiment\"]) { notifyWorkflowTypes } }",
            json!({}),
        )
        .await;
    assert_eq!(
        only["data"]["setNotificationPreferences"]["notifyWorkflowTypes"],
        json!(["run_experiment"])
    );
    let bad = app
        .gql_as(
            Some(&cy),
            "mutation { setNotificationPreferences(workflowTypes: [\"nope\"]) { emailNotifications } }",
            json!({}),
        )
        .await;
    assert_eq!(baton_e2e::gql_error_code(&bad), "BAD_USER_INPUT");

    app.run_workflow(
        "generate_draft",
        json!({ "story_id": "s", "scene": "x", "prompt": "Mara finds a letter." }),
        true,
    )
    .await;
    wait_for_mail(&got, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let to: Vec<String> = got
        .lock()
        .unwrap()
        .iter()
        .flat_map(|m| m.to.clone())
        .collect();
    assert_eq!(
        to,
        vec!["ana@example.com".to_string()],
        "bo opted out; cy wants experiments only"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewers_are_reminded_then_the_lead_is_told_each_once() {
    use std::sync::Arc as StdArc;
    let (port, got) = smtp_sink().await;
    let clock = StdArc::new(baton::clock::ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        move |c| {
            c.mail = Some(MailConfig {
                smtp_url: format!("smtp://127.0.0.1:{port}"),
                from: "Baton <baton@example.com>".into(),
            });
        },
        Overrides {
            clock: Some(clock.clone()),
            ..Default::default()
        },
    )
    .await;
    for (name, role) in [("ana", "REVIEWER"), ("bo", "REVIEWER"), ("lead", "ADMIN")] {
        app.gql_ok(
            "mutation($n: String!, $e: String!, $r: Role!) { createUser(input: {name: $n, email: $e, role: $r}) { user { id } } }",
            json!({ "n": name, "e": format!("{name}@example.com"), "r": role }),
        )
        .await;
    }
    app.set_policy(
        "generate_draft",
        json!({ "allowedRoles": ["REVIEWER"], "requiredApprovals": 2, "remindAfterSeconds": 3600,
                "escalateAfterSeconds": 7200, "escalateTo": ["lead"] }),
    )
    .await;
    let bad = app
        .gql(
            "mutation { setApprovalPolicy(input: {workflowType: \"generate_draft\", remindAfterSeconds: 100, escalateAfterSeconds: 50}) { workflowType } }",
            json!({}),
        )
        .await;
    assert_eq!(
        bad["errors"][0]["extensions"]["field"],
        "input.escalateAfterSeconds"
    );
    let run = app
        .run_workflow(
            "generate_draft",
            json!({ "story_id": "s", "scene": "x", "prompt": "Mara finds a letter." }),
            true,
        )
        .await;
    let approval = run["approval"]["id"].as_str().unwrap().to_string();
    let first = wait_for_mail(&got, 2).await;
    let mut to: Vec<String> = first.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(
        to,
        ["ana@example.com", "bo@example.com"],
        "the reviewers, not the admin lead"
    );
    // Ana approves (1 of 2): only bo is reminded.
    let link = links(&unfold(
        &first
            .iter()
            .find(|m| m.to[0] == "ana@example.com")
            .unwrap()
            .data,
    ))
    .into_iter()
    .find(|l| !l.contains("href"))
    .unwrap();
    assert_eq!(
        app.http
            .post(&link)
            .form(&[("feedback", "")])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );

    clock.advance(chrono::TimeDelta::seconds(3601));
    let mails = wait_for_mail(&got, 3).await;
    let reminder = &mails[2];
    assert_eq!(reminder.to, ["bo@example.com"], "ana already voted");
    assert!(unfold(&reminder.data).contains("Subject: Reminder: review needed"));

    clock.advance(chrono::TimeDelta::seconds(3600));
    let mails = wait_for_mail(&got, 4).await;
    assert_eq!(mails[3].to, ["lead@example.com"]);
    assert!(unfold(&mails[3].data).contains("Subject: Escalated"));

    // Another process sweeping now finds nothing left to do: once per step.
    let state = app.state.clone();
    let again = baton::domain::approvals::remind_and_escalate_due(
        &state.db,
        &state.stamp(&baton::domain::Principal::system()),
    )
    .await
    .unwrap();
    assert!(again.is_empty());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        got.lock().unwrap().len(),
        4,
        "no second reminder or escalation"
    );
    let history = app
        .gql_ok(
            "query($c: ID!) { history(chainId: $c) { kind } }",
            json!({ "c": run["workflow"]["chainId"] }),
        )
        .await;
    let kinds: Vec<&str> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "approval.reminded").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "approval.escalated").count(),
        1
    );
    let a = app
        .gql_ok(
            "query($id: ID!) { approval(id: $id) { status } }",
            json!({ "id": approval }),
        )
        .await;
    assert_eq!(a["approval"]["status"], "PENDING");
    app.stop().await;
}
