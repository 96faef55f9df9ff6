//! Decisions people can trust: approval policies, k-of-n votes, self-review,
//! decisions bound to the version read, edit-then-approve, expiry outcomes,
//! and the append-only history that records all of it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use baton::app::Overrides;
use baton::clock::ManualClock;
use baton::engine::{Outcome, RunContext, Workflow, WorkflowError};
use baton_e2e::{Backend, TestApp, both_backends, gql_error_code};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(30);

fn brief() -> Value {
    json!({ "story_id": "s", "scene": "harbour", "prompt": "Mara finds a letter wedged in the lamp room door." })
}

/// Starts a draft with `token` and returns the id of its pending approval.
async fn draft_approval(app: &TestApp, token: &str) -> String {
    let body = app
        .gql_as(
            Some(token),
            "mutation($i: JSON!) { runWorkflow(input: {type: \"generate_draft\", input: $i, wait: true}) {
                workflow { status } approval { id } } }",
            json!({ "i": brief() }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert_eq!(
        body["data"]["runWorkflow"]["workflow"]["status"],
        "COMPLETED"
    );
    body["data"]["runWorkflow"]["approval"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let conn = app.db.connect().await;
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_string(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn approval(app: &TestApp, id: &str) -> Value {
    app.gql_ok(
        "query($id: ID!) { approval(id: $id) {
            id status artifactVersion artifactSha256 approvalsCount requiredApprovals startedBy decidedBy feedback
            viewerCanDecide { allowed reason }
            policy { requiredApprovals preventSelfReview allowedRoles allowedUsers isDefault }
            votes { reviewer { name role } decision feedback artifactVersion stale }
            artifact { id version author sha256 content parent { id version } }
            nextWorkflow { id type input }
        } }",
        json!({ "id": id }),
    )
    .await["approval"]
        .clone()
}

both_backends! {
    async fn until_an_admin_sets_a_policy_any_reviewer_decides_alone_even_their_own_chain(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (_, ana) = app.user_with_token("ana", "REVIEWER").await;
        let id = draft_approval(&app, &ana).await;
        let a = approval(&app, &id).await;
        assert_eq!(a["policy"]["isDefault"], true);
        assert_eq!(a["policy"]["allowedRoles"], json!(["REVIEWER", "ADMIN"]));
        assert_eq!(a["requiredApprovals"], 1);
        assert_eq!(a["startedBy"], "ana");
        let decided = app.approve_as(&ana, &id, 1, None, None).await;
        assert!(decided.get("errors").is_none(), "{decided:#}");
        assert_eq!(decided["data"]["approve"]["decided"], true);
        assert_eq!(decided["data"]["approve"]["approval"]["decidedBy"], "ana");
        assert_eq!(decided["data"]["approve"]["vote"]["reviewer"], json!({ "name": "ana", "role": "REVIEWER" }));
        app.stop().await;
    }
}

both_backends! {
    async fn self_review_is_refused_when_the_policy_prevents_it(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.set_policy("generate_draft", json!({ "preventSelfReview": true })).await;
        let (_, ana) = app.user_with_token("ana", "REVIEWER").await;
        let (_, bo) = app.user_with_token("bo", "REVIEWER").await;
        let id = draft_approval(&app, &ana).await;

        let mine = app
            .gql_as(Some(&ana), "query($id: ID!) { approval(id: $id) { viewerCanDecide { allowed reason } } }", json!({ "id": id }))
            .await;
        assert_eq!(mine["data"]["approval"]["viewerCanDecide"]["allowed"], false);
        assert_eq!(
            mine["data"]["approval"]["viewerCanDecide"]["reason"],
            "you started this chain: someone else must review"
        );
        let refused = app.approve_as(&ana, &id, 1, None, None).await;
        assert_eq!(gql_error_code(&refused), "FORBIDDEN");
        assert!(refused["errors"][0]["message"].as_str().unwrap().contains("you started this chain"));
        assert_eq!(count(&app, "SELECT COUNT(*) FROM votes").await, 0, "a refused vote writes nothing");

        let ok = app.approve_as(&bo, &id, 1, Some("Good."), None).await;
        assert_eq!(ok["data"]["approve"]["decided"], true, "{ok:#}");
        app.stop().await;
    }
}

both_backends! {
    async fn two_of_n_needs_two_distinct_reviewers_and_a_late_rejection_conflicts(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.set_policy("generate_draft", json!({ "requiredApprovals": 2 })).await;
        let (_, ana) = app.user_with_token("ana", "REVIEWER").await;
        let (_, bo) = app.user_with_token("bo", "REVIEWER").await;
        let (_, cy) = app.user_with_token("cy", "REVIEWER").await;
        let id = draft_approval(&app, &app.admin_token).await;

        let first = app.approve_as(&ana, &id, 1, Some("Tighter opening."), None).await;
        let p = &first["data"]["approve"];
        assert_eq!(p["decided"], false, "{first:#}");
        assert_eq!(p["approval"]["status"], "PENDING");
        assert_eq!(p["approval"]["approvalsCount"], 1);
        assert_eq!(p["approval"]["requiredApprovals"], 2);
        assert!(p["nextWorkflow"].is_null());

        let twice = app.approve_as(&ana, &id, 1, None, None).await;
        assert_eq!(gql_error_code(&twice), "CONFLICT", "a second vote by the same reviewer");
        let mine = app
            .gql_as(Some(&ana), "query($id: ID!) { approval(id: $id) { viewerCanDecide { allowed reason } } }", json!({ "id": id }))
            .await;
        assert_eq!(
            mine["data"]["approval"]["viewerCanDecide"],
            json!({ "allowed": false, "reason": "you already voted to approve version 1" })
        );

        let second = app.approve_as(&bo, &id, 1, Some("Keep the ending."), None).await;
        let p = &second["data"]["approve"];
        assert_eq!(p["decided"], true, "{second:#}");
        assert_eq!(p["approval"]["status"], "APPROVED");
        assert_eq!(p["approval"]["decidedBy"], "bo");
        let feedback = p["nextWorkflow"]["input"]["feedback"].as_str().unwrap();
        assert!(feedback.contains("ana: Tighter opening.") && feedback.contains("bo: Keep the ending."), "{feedback}");

        let late = app
            .gql_as(
                Some(&cy),
                "mutation($id: ID!) { reject(id: $id, version: 1, feedback: \"no\") { decided } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(gql_error_code(&late), "CONFLICT");
        assert_eq!(late["errors"][0]["extensions"]["decidedBy"], "bo");
        assert!(late["errors"][0]["extensions"]["decidedAt"].is_string());
        assert_eq!(count(&app, "SELECT COUNT(*) FROM votes").await, 2);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM workflows WHERE triggered_by_approval_id IS NOT NULL").await, 1);
        app.stop().await;
    }
}

both_backends! {
    // Requests are stamped when they arrive and take the approval's row lock
    // when they can. Seen in the randomized history test: a vote stamped
    // later took the lock first, so the deciding vote and the decision were
    // dated before a vote they came after.
    async fn a_vote_that_waited_behind_a_later_stamped_one_is_not_dated_before_it(backend: Backend) {
        use baton::domain::approvals::{self, Ballot, Decision};
        use baton::domain::principal::{Credential, Principal, PrincipalKind, Role};
        let app = TestApp::spawn(backend).await;
        app.set_policy("generate_draft", json!({ "requiredApprovals": 2 })).await;
        let id = draft_approval(&app, &app.admin_token).await;
        let reviewer = |name: &str| Principal {
            id: name.into(),
            role: Some(Role::Reviewer),
            kind: PrincipalKind::User { user_id: uuid::Uuid::now_v7() },
            credential: Credential::None,
        };
        let (ana, bo) = (reviewer("ana"), reviewer("bo"));
        let ballot = || Ballot { decision: Decision::Approve, version: 1, feedback: None, edits: None };
        let vote = |who: &Principal, arrived| {
            let mut stamp = app.state.stamp(who);
            stamp.now = arrived;
            let (state, who, id) = (app.state.clone(), who.clone(), id.parse().unwrap());
            async move { approvals::vote(&state.db, &state.catalog, &stamp, &who, id, ballot()).await.unwrap() }
        };
        let now = app.state.clock.now();
        // bo's request arrived two seconds before ana's but got the lock after it.
        let first = vote(&ana, now + chrono::TimeDelta::seconds(2)).await;
        let second = vote(&bo, now).await;
        assert!(!first.decided && second.decided);
        assert!(second.vote.created_at >= first.vote.created_at, "{:?} then {:?}", first.vote, second.vote);
        let decided_at = second.approval.decided_at.unwrap();
        assert!(decided_at >= first.vote.created_at, "decided at {decided_at}, after {:?}", first.vote);
        let trail = approval(&app, &id).await;
        let names: Vec<&str> = trail["votes"].as_array().unwrap().iter().map(|v| v["reviewer"]["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["ana", "bo"], "the trail lists the votes in the order they counted: {trail:#}");
        app.stop().await;
    }
}

both_backends! {
    async fn one_eligible_rejection_rejects_before_the_quorum(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.set_policy("generate_draft", json!({ "requiredApprovals": 3 })).await;
        let (_, ana) = app.user_with_token("ana", "REVIEWER").await;
        let id = draft_approval(&app, &app.admin_token).await;
        app.approve_as(&app.admin_token, &id, 1, None, None).await;
        let body = app
            .gql_as(
                Some(&ana),
                "mutation($id: ID!) { reject(id: $id, version: 1, feedback: \"The letter arrives too early.\") {
                    decided approval { status decidedBy } nextWorkflow { type input } } }",
                json!({ "id": id }),
            )
            .await;
        let p = &body["data"]["reject"];
        assert_eq!(p["decided"], true, "{body:#}");
        assert_eq!(p["approval"]["status"], "REJECTED");
        assert_eq!(p["nextWorkflow"]["type"], "apply_feedback");
        assert_eq!(p["nextWorkflow"]["input"]["feedback"], "The letter arrives too early.");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_votes_count_exactly_k_and_start_one_workflow() {
    if !baton_e2e::db::postgres_available().await {
        return;
    }
    const K: usize = 3;
    const VOTERS: usize = 50;
    let app = TestApp::spawn(Backend::Postgres).await;
    app.set_policy("generate_draft", json!({ "requiredApprovals": K }))
        .await;
    let mut tokens = Vec::new();
    for i in 0..VOTERS {
        tokens.push(app.user_with_token(&format!("r{i:02}"), "REVIEWER").await.1);
    }
    let id = draft_approval(&app, &app.admin_token).await;

    let url = app.url("/graphql");
    let votes = tokens.iter().map(|t| {
        let (http, url, t, id) = (app.http.clone(), url.clone(), t.clone(), id.clone());
        tokio::spawn(async move {
            baton_e2e::app::post_graphql_as(
                &http,
                &url,
                Some(&t),
                "mutation($id: ID!) { approve(id: $id, version: 1) { decided nextWorkflow { id } } }",
                json!({ "id": id }),
            )
            .await
        })
    });
    let answers: Vec<Value> = futures_util::future::join_all(votes)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let ok: Vec<&Value> = answers
        .iter()
        .filter(|a| a.get("errors").is_none())
        .collect();
    let conflicts = answers
        .iter()
        .filter(|a| gql_error_code(a) == "CONFLICT")
        .count();
    assert_eq!(ok.len(), K, "exactly k votes are counted: {answers:#?}");
    assert_eq!(conflicts, VOTERS - K, "every other vote is a conflict");
    let deciding: Vec<&&Value> = ok
        .iter()
        .filter(|a| a["data"]["approve"]["decided"] == true)
        .collect();
    assert_eq!(deciding.len(), 1, "one vote decided it");
    assert!(deciding[0]["data"]["approve"]["nextWorkflow"]["id"].is_string());
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM votes WHERE decision = 'approve'"
        )
        .await,
        K as i64
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM workflows WHERE triggered_by_approval_id IS NOT NULL"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM events WHERE kind = 'approval.decided'"
        )
        .await,
        1
    );
    app.stop().await;
}

both_backends! {
    async fn a_decision_on_a_stale_version_is_refused_with_the_current_one(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let id = draft_approval(&app, &app.admin_token).await;
        for wrong in [0, 2] {
            let body = app.approve_as(&app.admin_token, &id, wrong, None, None).await;
            assert_eq!(gql_error_code(&body), "CONFLICT");
            assert_eq!(body["errors"][0]["extensions"]["currentVersion"], 1, "{body:#}");
        }
        assert_eq!(count(&app, "SELECT COUNT(*) FROM votes").await, 0);
        assert_eq!(approval(&app, &id).await["status"], "PENDING");
        app.stop().await;
    }
}

both_backends! {
    async fn edit_then_approve_hands_the_next_workflow_exactly_the_edited_version(backend: Backend) {
        use sha2::{Digest, Sha256};
        let app = TestApp::spawn(backend).await;
        let (_, ana) = app.user_with_token("ana", "REVIEWER").await;
        let chain = app.run_workflow("generate_draft", brief(), true).await;
        let chain_id = chain["workflow"]["chainId"].as_str().unwrap().to_string();
        let id = chain["approval"]["id"].as_str().unwrap().to_string();
        let before = approval(&app, &id).await;
        let edited_text = "Mara hesitates at the lamp room door. Then she reads the letter.";

        // Only the editable field, and only valid content.
        let not_editable = app.approve_as(&ana, &id, 1, None, Some(json!({ "score": 100 }))).await;
        assert_eq!(gql_error_code(&not_editable), "BAD_USER_INPUT");
        assert_eq!(not_editable["errors"][0]["extensions"]["field"], "edits.score");
        let empty = app.approve_as(&ana, &id, 1, None, Some(json!({ "text": "" }))).await;
        assert_eq!(gql_error_code(&empty), "BAD_USER_INPUT");
        assert_eq!(empty["errors"][0]["extensions"]["field"], "edits.text");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM artifacts").await, 1, "refused edits store nothing");

        let done = app.approve_as(&ana, &id, 1, None, Some(json!({ "text": edited_text }))).await;
        assert!(done.get("errors").is_none(), "{done:#}");
        let p = &done["data"]["approve"];
        assert_eq!(p["decided"], true);
        assert_eq!(p["vote"]["artifactVersion"], 2, "the vote is on the version the reviewer wrote");
        let input = &p["nextWorkflow"]["input"];
        assert_eq!(input["artifact_version"], 2);

        let after = approval(&app, &id).await;
        let artifact = &after["artifact"];
        assert_eq!(after["artifactVersion"], 2);
        assert_eq!(artifact["version"], 2);
        assert_eq!(artifact["author"], "ana");
        assert_eq!(artifact["parent"]["id"], before["artifact"]["id"]);
        assert_eq!(artifact["content"]["text"], edited_text);
        assert_eq!(artifact["content"]["rubric"], before["artifact"]["content"]["rubric"], "only the text changed");
        assert_eq!(input["artifact_id"], artifact["id"]);
        // The hash is SHA-256 of the stored content's canonical JSON (sorted
        // keys, compact): recomputed here from what the API returns.
        let canonical = serde_json::to_string(&artifact["content"]).unwrap();
        let expected = baton_e2e::hex(&Sha256::digest(canonical.as_bytes()));
        assert_eq!(input["artifact_sha256"], expected.as_str());
        assert_eq!(artifact["sha256"], expected.as_str());

        // Approved without feedback: apply_feedback finalizes the edited text as is.
        let next_id = p["nextWorkflow"]["id"].as_str().unwrap();
        let next = app.wait_for_status(next_id, &["COMPLETED"], T).await;
        let finals = next["artifacts"].as_array().unwrap();
        assert_eq!(finals.last().unwrap()["content"]["text"], edited_text);
        assert_eq!(finals.last().unwrap()["content"]["final"], true);

        let history = app
            .gql_ok(
                "query($c: ID!) { history(chainId: $c) { kind actor { name role } payload } }",
                json!({ "c": chain_id }),
            )
            .await["history"]
            .as_array()
            .unwrap()
            .clone();
        let edit = history.iter().find(|e| e["kind"] == "artifact.edited").expect("the edit is in the history");
        assert_eq!(edit["actor"], json!({ "name": "ana", "role": "REVIEWER" }));
        assert_eq!(edit["payload"]["artifact_version"], 2);
        assert_eq!(edit["payload"]["parent_version"], 1);
        assert_eq!(edit["payload"]["sha256"], expected.as_str());
        app.stop().await;
    }
}

both_backends! {
    async fn an_edit_makes_earlier_approvals_stale(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.set_policy("generate_draft", json!({ "requiredApprovals": 2 })).await;
        let (_, ana) = app.user_with_token("ana", "REVIEWER").await;
        let (_, bo) = app.user_with_token("bo", "REVIEWER").await;
        let id = draft_approval(&app, &app.admin_token).await;
        app.approve_as(&ana, &id, 1, None, None).await;
        let edit = app.approve_as(&bo, &id, 1, None, Some(json!({ "text": "A new opening." }))).await;
        let p = &edit["data"]["approve"];
        assert_eq!(p["decided"], false, "ana approved other content: {edit:#}");
        assert_eq!(p["approval"]["approvalsCount"], 1);
        assert_eq!(p["approval"]["artifactVersion"], 2);

        let stale = app.approve_as(&ana, &id, 1, None, None).await;
        assert_eq!(gql_error_code(&stale), "CONFLICT");
        assert_eq!(stale["errors"][0]["extensions"]["currentVersion"], 2);
        let votes = approval(&app, &id).await["votes"].clone();
        assert_eq!(votes[0]["stale"], true);
        assert_eq!(votes[1]["stale"], false);

        let fresh = app.approve_as(&ana, &id, 2, None, None).await;
        assert_eq!(fresh["data"]["approve"]["decided"], true, "{fresh:#}");
        assert_eq!(fresh["data"]["approve"]["nextWorkflow"]["input"]["artifact_version"], 2);
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_config_is_what_gets_deployed_and_the_history_says_who_did_it() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, ana) = app.user_with_token("ana", "REVIEWER").await;
    let run = app
        .run_workflow(
            "run_experiment",
            json!({
                "name": "tone",
                "target": "generate_draft",
                "factors": {
                    "temperature": [{ "temperature": 0.3 }, { "temperature": 1.0 }],
                    "prompt": [{ "system_prompt": "novelist" }, { "system_prompt": "cinematic" }]
                },
                "briefs": [{ "prompt": "A quiet breakfast." }]
            }),
            false,
        )
        .await;
    let wf = run["workflow"]["id"].as_str().unwrap().to_string();
    let done = app
        .wait_for_status(&wf, &["COMPLETED"], Duration::from_secs(120))
        .await;
    let id = done["approval"]["id"].as_str().unwrap().to_string();
    let a = approval(&app, &id).await;
    let mut config = a["artifact"]["content"]["optimal_config"].clone();
    config["temperature"] = json!(0.42);

    let decided = app
        .approve_as(
            &ana,
            &id,
            1,
            Some("Slightly cooler."),
            Some(json!({ "optimal_config": config })),
        )
        .await;
    assert!(decided.get("errors").is_none(), "{decided:#}");
    let next = &decided["data"]["approve"]["nextWorkflow"];
    assert_eq!(next["type"], "deploy_config");
    assert_eq!(
        next["input"]["config"]["temperature"], 0.42,
        "the approved (edited) config is deployed"
    );
    app.wait_for_status(next["id"].as_str().unwrap(), &["COMPLETED"], T)
        .await;
    let active = app
        .gql_ok(
            "{ activeDeployment(target: \"generate_draft\", environment: \"production\") { config deployedBy } }",
            json!({}),
        )
        .await;
    assert_eq!(active["activeDeployment"]["config"]["temperature"], 0.42);
    assert_eq!(active["activeDeployment"]["deployedBy"], "ana");

    let history = app
        .gql_ok(
            "query($c: ID!) { history(chainId: $c) { kind actor { name role } payload } }",
            json!({ "c": wf }),
        )
        .await["history"]
        .as_array()
        .unwrap()
        .clone();
    let kinds: Vec<&str> = history
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in [
        "workflow.created",
        "workflow.completed",
        "approval.created",
        "artifact.edited",
        "approval.voted",
        "approval.decided",
        "deployment.activated",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let started = history
        .iter()
        .find(|e| e["kind"] == "workflow.created")
        .unwrap();
    assert_eq!(
        started["actor"],
        json!({ "name": "admin", "role": "ADMIN" })
    );
    let created = history
        .iter()
        .find(|e| e["kind"] == "approval.created")
        .unwrap();
    assert!(
        created["payload"]["score"].is_number(),
        "the judge's (predicted) score"
    );
    assert_eq!(
        created["payload"]["policy"]["required_approvals"], 1,
        "the policy in force"
    );
    let vote = history
        .iter()
        .find(|e| e["kind"] == "approval.voted")
        .unwrap();
    assert_eq!(vote["actor"]["name"], "ana");
    assert_eq!(vote["payload"]["feedback"], "Slightly cooler.");
    assert_eq!(vote["payload"]["artifact_version"], 2);
    let deployed = history
        .iter()
        .find(|e| e["kind"] == "deployment.activated")
        .unwrap();
    assert_eq!(deployed["payload"]["deployed_by"], "ana");
    assert_eq!(deployed["payload"]["config"]["temperature"], 0.42);
    let ids: Vec<i64> = app
        .gql_ok(
            "query($c: ID!) { history(chainId: $c) { id } }",
            json!({ "c": wf }),
        )
        .await["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "in the order they happened"
    );
    app.stop().await;
}

both_backends! {
    async fn the_audit_trail_refuses_updates_and_deletes(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        draft_approval(&app, &app.admin_token).await;
        let conn = app.db.connect().await;
        let n = count(&app, "SELECT COUNT(*) FROM events").await;
        assert!(n > 0);
        for sql in ["UPDATE events SET actor = 'mallory'", "DELETE FROM events"] {
            let err = conn.execute_unprepared(sql).await.expect_err("the database refuses it");
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
        if backend == Backend::Postgres {
            assert!(conn.execute_unprepared("TRUNCATE events").await.is_err());
        }
        assert_eq!(count(&app, "SELECT COUNT(*) FROM events").await, n);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM events WHERE actor = 'mallory'").await, 0);
        app.stop().await;
    }
}

both_backends! {
    async fn an_approval_keeps_the_policy_it_was_created_under(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let id = draft_approval(&app, &app.admin_token).await;
        app.set_policy("generate_draft", json!({ "requiredApprovals": 2, "preventSelfReview": true })).await;
        let a = approval(&app, &id).await;
        assert_eq!(a["policy"]["requiredApprovals"], 1);
        assert_eq!(a["policy"]["preventSelfReview"], false);
        let decided = app.approve(&id, None).await;
        assert_eq!(decided["data"]["approve"]["decided"], true, "decided under the old policy");
        let newer = draft_approval(&app, &app.admin_token).await;
        assert_eq!(approval(&app, &newer).await["requiredApprovals"], 2);
        let policy = app
            .gql_ok("{ approvalPolicy(workflowType: \"generate_draft\") { requiredApprovals isDefault updatedBy } }", json!({}))
            .await;
        assert_eq!(policy["approvalPolicy"], json!({ "requiredApprovals": 2, "isDefault": false, "updatedBy": "admin" }));
        let audited = count(&app, "SELECT COUNT(*) FROM events WHERE kind = 'policy.set' AND actor = 'admin'").await;
        assert_eq!(audited, 1, "every policy change is an audited event");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_policies_are_refused_with_the_field_and_change_nothing() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let cases = [
        (json!({ "workflowType": "nope" }), "input.workflowType"),
        (
            json!({ "workflowType": "deploy_config", "requiredApprovals": 2 }),
            "input.workflowType",
        ),
        (
            json!({ "workflowType": "generate_draft", "allowedRoles": ["VIEWER"] }),
            "input.allowedRoles",
        ),
        (
            json!({ "workflowType": "generate_draft", "allowedUsers": ["ghost"] }),
            "input.allowedUsers[0]",
        ),
        (
            json!({ "workflowType": "generate_draft", "requiredApprovals": 0 }),
            "input.requiredApprovals",
        ),
        (
            json!({ "workflowType": "generate_draft", "allowedRoles": [] }),
            "input.allowedRoles",
        ),
        (
            json!({ "workflowType": "generate_draft", "onExpiry": { "action": "START_WORKFLOW" } }),
            "input.onExpiry.workflowType",
        ),
        (
            json!({ "workflowType": "generate_draft", "onExpiry": { "action": "START_WORKFLOW", "workflowType": "nope" } }),
            "input.onExpiry.workflowType",
        ),
        // A type whose input schema refuses what an expiry hands it.
        (
            json!({ "workflowType": "generate_draft", "onExpiry": { "action": "START_WORKFLOW", "workflowType": "generate_draft" } }),
            "input.onExpiry.workflowType",
        ),
    ];
    for (input, field) in cases {
        let body = app
            .gql("mutation($i: ApprovalPolicyInput!) { setApprovalPolicy(input: $i) { workflowType } }", json!({ "i": input }))
            .await;
        assert_eq!(gql_error_code(&body), "BAD_USER_INPUT", "{input}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{input}");
    }
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM approval_policies").await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM events WHERE kind = 'policy.set'"
        )
        .await,
        0
    );
    app.stop().await;
}

/// An integrator's escalation workflow: takes what an expiry hands it.
struct Escalate;

#[async_trait::async_trait]
impl Workflow for Escalate {
    fn name(&self) -> &'static str {
        "escalate"
    }
    fn description(&self) -> &'static str {
        "Tells the team lead that an approval expired."
    }
    fn input_schema(&self) -> Value {
        json!({ "type": "object", "required": ["approval_id", "decision"], "properties": {
            "approval_id": { "type": "string" }, "decision": { "enum": ["expired"] } } })
    }
    fn requires_approval(&self) -> bool {
        false
    }
    async fn execute(&self, _ctx: &RunContext, input: Value) -> Result<Outcome, WorkflowError> {
        Ok(Outcome {
            output: json!({ "escalated": input["approval_id"] }),
            ..Default::default()
        })
    }
}

both_backends! {
    async fn expired_approvals_are_settled_as_the_policy_says(backend: Backend) {
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let mut registry = baton::workflows::builtin();
        registry.register(Escalate);
        let app = TestApp::spawn_with(
            backend,
            |_| {},
            Overrides { clock: Some(clock.clone()), registry: Some(registry), ..Default::default() },
        )
        .await;
        app.set_policy(
            "generate_draft",
            json!({ "expiresInSeconds": 600, "onExpiry": { "action": "REJECT", "reason": "nobody reviewed it in time" } }),
        )
        .await;
        let rejected = draft_approval(&app, &app.admin_token).await;
        app.set_policy(
            "generate_draft",
            json!({ "onExpiry": { "action": "START_WORKFLOW", "workflowType": "escalate", "reason": "escalated" } }),
        )
        .await;
        let escalated = draft_approval(&app, &app.admin_token).await;
        let mut events = app.subscribe("subscription { approvalEvents { kind approval { id status } } }", json!({})).await;

        clock.advance(chrono::TimeDelta::seconds(601));
        let mut expired = 0;
        while expired < 2 {
            events
                .next_matching(T, |d| d["approvalEvents"]["kind"] == "EXPIRED")
                .await
                .expect("the sweep settles both");
            expired += 1;
        }
        let r = approval(&app, &rejected).await;
        assert_eq!(r["status"], "REJECTED");
        assert_eq!(r["feedback"], "nobody reviewed it in time");
        assert!(r["nextWorkflow"].is_null(), "a timed-out rejection asks for no revision");
        let e = approval(&app, &escalated).await;
        assert_eq!(e["status"], "EXPIRED");
        assert_eq!(e["nextWorkflow"]["type"], "escalate");
        assert_eq!(e["nextWorkflow"]["input"]["decision"], "expired");
        app.stop().await;
    }
}

both_backends! {
    async fn revision_rounds_keep_the_policy_set_for_the_chains_first_type(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        app.set_policy("generate_draft", json!({ "requiredApprovals": 2, "preventSelfReview": true })).await;
        let (_, ana) = app.user_with_token("ana", "REVIEWER").await;
        let (_, bo) = app.user_with_token("bo", "REVIEWER").await;
        let first = draft_approval(&app, &ana).await;
        let rejected = app
            .gql_as(
                Some(&bo),
                "mutation($id: ID!) { reject(id: $id, version: 1, feedback: \"Slower, please.\") { nextWorkflow { id } } }",
                json!({ "id": first }),
            )
            .await;
        let next = rejected["data"]["reject"]["nextWorkflow"]["id"].as_str().unwrap().to_string();
        let revised = app.wait_for_status(&next, &["COMPLETED"], T).await;
        let second = revised["approval"]["id"].as_str().unwrap().to_string();
        let a = approval(&app, &second).await;
        assert_eq!(a["policy"]["requiredApprovals"], 2, "the revision is held to the draft's rules: {a:#}");
        assert_eq!(a["policy"]["preventSelfReview"], true);
        let policy = app
            .gql_ok("query($id: ID!) { approval(id: $id) { policy { workflowType } } }", json!({ "id": second }))
            .await;
        assert_eq!(policy["approval"]["policy"]["workflowType"], "generate_draft");
        let own = app.approve_as(&ana, &second, a["artifactVersion"].as_i64().unwrap(), None, None).await;
        assert_eq!(gql_error_code(&own), "FORBIDDEN", "ana started the chain: {own:#}");
        app.stop().await;
    }
}

both_backends! {
    async fn a_service_token_votes_only_where_the_policy_names_it(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let ci = app
            .gql_ok(
                "mutation { createToken(input: {name: \"ci\", role: REVIEWER, serviceName: \"ci\"}) { secret } }",
                json!({}),
            )
            .await["createToken"]["secret"]
            .as_str()
            .unwrap()
            .to_string();
        let id = draft_approval(&app, &app.admin_token).await;
        let refused = app.approve_as(&ci, &id, 1, None, None).await;
        assert_eq!(gql_error_code(&refused), "FORBIDDEN");
        assert!(refused["errors"][0]["message"].as_str().unwrap().contains("service token"), "{refused}");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM votes").await, 0);

        app.set_policy("generate_draft", json!({ "allowedUsers": ["service:ci"] })).await;
        let named = draft_approval(&app, &app.admin_token).await;
        let ok = app.approve_as(&ci, &named, 1, None, None).await;
        assert_eq!(ok["data"]["approve"]["approval"]["decidedBy"], "service:ci", "{ok:#}");
        app.stop().await;
    }
}

both_backends! {
    async fn revisions_and_deployments_start_only_from_decisions_unless_an_admin_starts_them(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (_, sam) = app.user_with_token("sam", "SUBMITTER").await;
        let (_, ana) = app.user_with_token("ana", "REVIEWER").await;
        let id = draft_approval(&app, &sam).await;
        let a = approval(&app, &id).await;
        // A submitter cannot claim an approval nobody gave.
        let forged = app
            .gql_as(
                Some(&sam),
                "mutation($i: JSON!) { runWorkflow(input: {type: \"apply_feedback\", input: $i}) { workflow { id } } }",
                json!({ "i": { "artifact_id": a["artifact"]["id"], "decision": "approved", "approval_id": id } }),
            )
            .await;
        assert_eq!(gql_error_code(&forged), "FORBIDDEN", "{forged}");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM workflows WHERE type = 'apply_feedback'").await, 0);

        // The revision ana's approval starts is not hers to cancel or retry.
        let decided = app.approve_as(&ana, &id, 1, Some("More light."), None).await;
        let next = decided["data"]["approve"]["nextWorkflow"]["id"].as_str().unwrap().to_string();
        let cancel = app
            .gql_as(Some(&ana), "mutation($id: ID!) { cancelWorkflow(id: $id) { status } }", json!({ "id": next }))
            .await;
        assert_eq!(gql_error_code(&cancel), "FORBIDDEN", "{cancel}");
        app.stop().await;
    }
}

/// Airflow had to fix this race (apache/airflow#55243): a decision and the
/// expiry sweep on one approval at the same moment. Each approval ends in
/// exactly one state, with one event and one set of notifications.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deciding_while_the_expiry_sweep_runs_ends_each_approval_in_one_state() {
    if !baton_e2e::db::postgres_available().await {
        return;
    }
    const N: usize = 20;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_with(
        Backend::Postgres,
        |_| {},
        Overrides {
            clock: Some(clock.clone()),
            ..Default::default()
        },
    )
    .await;
    app.set_policy("generate_draft", json!({ "expiresInSeconds": 60 }))
        .await;
    // Notifications of both outcomes go to a webhook (nobody listens: the
    // deliveries just wait, and are counted).
    app.gql_ok(
        "mutation { createWebhook(input: {url: \"http://127.0.0.1:9/hook\", events: [\"approval.decided\", \"approval.expired\"]}) { secret } }",
        json!({}),
    )
    .await;
    let mut ids = Vec::new();
    for _ in 0..N {
        ids.push(draft_approval(&app, &app.admin_token).await);
    }
    // The reviewers' clock says 59 s; the sweep, in another process with a
    // clock 2 s ahead, sees every approval due.
    clock.advance(chrono::TimeDelta::seconds(59));
    let state = app.state.clone();
    let sweep = tokio::spawn(async move {
        let system = baton::domain::Principal::system();
        let mut stamp = state.stamp(&system);
        stamp.now += chrono::TimeDelta::seconds(2);
        baton::domain::approvals::expire_due(&state.db, &state.catalog, &stamp).await
    });
    let votes: Vec<_> = ids
        .iter()
        .map(|id| {
            let (http, url, token, id) = (
                app.http.clone(),
                app.url("/graphql"),
                app.admin_token.clone(),
                id.clone(),
            );
            tokio::spawn(async move {
                baton_e2e::app::post_graphql_as(
                    &http,
                    &url,
                    Some(&token),
                    "mutation($id: ID!) { approve(id: $id, version: 1) { decided } }",
                    json!({ "id": id }),
                )
                .await
            })
        })
        .collect();
    let answers: Vec<Value> = futures_util::future::join_all(votes)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    sweep.await.unwrap().expect("the sweep ran");

    let (mut approved, mut expired) = (0, 0);
    for (id, answer) in ids.iter().zip(&answers) {
        let a = approval(&app, id).await;
        let one = |sql: String| {
            let app = &app;
            async move { count(app, &sql).await }
        };
        let events = one(format!(
            "SELECT COUNT(*) FROM events WHERE approval_id = '{id}' AND kind IN ('approval.decided', 'approval.expired')"
        ))
        .await;
        let told = one(format!(
            "SELECT COUNT(*) FROM deliveries d JOIN events e ON e.id = d.event_id WHERE e.approval_id = '{id}'"
        ))
        .await;
        let next = one(format!(
            "SELECT COUNT(*) FROM workflows WHERE triggered_by_approval_id = '{id}'"
        ))
        .await;
        assert_eq!(events, 1, "one event for {id}: {a:#}");
        assert_eq!(told, 1, "one notification for {id}");
        match a["status"].as_str().unwrap() {
            "APPROVED" => {
                approved += 1;
                assert_eq!(answer["data"]["approve"]["decided"], true, "{answer}");
                assert_eq!(next, 1);
            }
            "EXPIRED" => {
                expired += 1;
                assert_eq!(
                    gql_error_code(answer),
                    "CONFLICT",
                    "the late vote is told: {answer}"
                );
                assert_eq!(next, 0);
            }
            other => panic!("{id} ended {other}"),
        }
    }
    assert_eq!(approved + expired, N);
    eprintln!("race outcome: {approved} approved, {expired} expired");
    app.stop().await;
}
