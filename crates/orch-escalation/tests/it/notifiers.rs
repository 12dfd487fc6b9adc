//! Every notifier against a local HTTP server: the exact request the real service expects,
//! server errors, rate limits and timeouts.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orch_escalation::{
    ConsoleNotifier, DiscordNotifier, HttpSettings, LineNotifier, Notifier, NotifierSet,
    NotifyError, PmMessage, SIGNATURE_HEADER, Secret, SlackNotifier, WebhookNotifier,
};
use orch_testutils::{MockHttpServer, MockResponse, RecordedRequest};
use serde_json::{Value, json};

use crate::sample_message;

/// Tiny timeouts and backoffs keep the suite fast.
fn fast() -> HttpSettings {
    HttpSettings {
        timeout: Duration::from_millis(300),
        retries: 2,
        backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(1),
    }
}

fn body_json(request: &RecordedRequest) -> Value {
    serde_json::from_slice(&request.body).expect("JSON body")
}

const QUESTION: &str = "TASK-BA-001 did not pass the quality gate: score 0.96 (threshold 0.80); short: coverage 78% (target 80%). How should we proceed?";
const CONTEXT: &str = "Failure: coverage 78% is below the 80% target\nQuality: score 0.96 (threshold 0.80); short: coverage 78% (target 80%)\nDiff: 3 files changed, +120 -4\nAttempts: 3 failed; agent claude";

fn slack(server: &MockHttpServer) -> SlackNotifier {
    SlackNotifier::new(
        Secret::new(format!("{}/services/T000/B000/XXXXSECRET", server.url())),
        fast(),
    )
    .unwrap()
}

#[tokio::test]
async fn slack_posts_text_and_blocks() {
    let server = MockHttpServer::start();
    server.push(MockResponse::new(200, "ok"));
    slack(&server).notify(&sample_message()).await.unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/services/T000/B000/XXXXSECRET");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        body_json(r),
        json!({
            "text": format!("PM-0001: {QUESTION}"),
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "PM-0001 · TASK-BA-001 · quality below threshold", "emoji": true}},
                {"type": "section", "text": {"type": "mrkdwn", "text": QUESTION}},
                {"type": "section", "text": {"type": "mrkdwn", "text": CONTEXT}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "*Last log lines*\n```\nrunning 12 tests\ntest result: ok. 12 passed\n```"}},
                {"type": "divider"},
                {"type": "section", "text": {"type": "mrkdwn", "text": "*A. Accept as is*  _(recommended)_\n:heavy_plus_sign: Quality is high; only coverage is short of its target\n:heavy_plus_sign: The work is merged now\n:heavy_minus_sign: Coverage stays below its target"}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "*B. Retry to add tests*\n:heavy_plus_sign: Reaches the coverage target\n:heavy_minus_sign: Costs an attempt for a small gain"}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "*C. Skip the task*\n:heavy_plus_sign: Frees the run to finish everything else\n:heavy_minus_sign: Tasks that depend on it are blocked"}},
                {"type": "actions", "block_id": "orch_answer_PM-0001", "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "A. Accept as is", "emoji": true}, "action_id": "orch_answer_A", "value": "answer PM-0001 A", "style": "primary"},
                    {"type": "button", "text": {"type": "plain_text", "text": "B. Retry to add tests", "emoji": true}, "action_id": "orch_answer_B", "value": "answer PM-0001 B"},
                    {"type": "button", "text": {"type": "plain_text", "text": "C. Skip the task", "emoji": true}, "action_id": "orch_answer_C", "value": "answer PM-0001 C"},
                ]},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": "Answer with `orch msg answer PM-0001 &lt;A|B|C&gt; [--note TEXT]`"}]},
            ],
        })
    );
}

#[tokio::test]
async fn slack_escapes_control_sequences_from_logs() {
    let server = MockHttpServer::start();
    server.push(MockResponse::new(200, "ok"));
    let mut msg = sample_message();
    msg.context.log_tail = vec!["<!channel> a && b > c".into()];
    slack(&server).notify(&msg).await.unwrap();
    let body = body_json(&server.requests()[0]);
    assert_eq!(
        body["blocks"][3]["text"]["text"],
        "*Last log lines*\n```\n&lt;!channel&gt; a &amp;&amp; b &gt; c\n```"
    );
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let server = MockHttpServer::start();
    server.push(MockResponse::new(500, "oops"));
    server.push(MockResponse::new(503, "busy"));
    server.push(MockResponse::new(200, "ok"));
    slack(&server).notify(&sample_message()).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].body, requests[2].body);
}

#[tokio::test]
async fn retries_are_bounded() {
    let server = MockHttpServer::start();
    server.set_fallback(MockResponse::new(500, "internal_error"));
    let err = slack(&server).notify(&sample_message()).await.unwrap_err();
    assert!(
        matches!(err, NotifyError::Http { status: 500, .. }),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "slack: HTTP 500: internal_error");
    assert_eq!(server.requests().len(), 3, "one attempt and two retries");
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = MockHttpServer::start();
    server.set_fallback(MockResponse::new(404, "no_service"));
    let err = slack(&server).notify(&sample_message()).await.unwrap_err();
    assert_eq!(err.to_string(), "slack: HTTP 404: no_service");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let server = MockHttpServer::start();
    server.push(MockResponse::new(200, "ok").delay(Duration::from_millis(1500)));
    server.push(MockResponse::new(200, "ok"));
    let start = Instant::now();
    slack(&server).notify(&sample_message()).await.unwrap();
    assert_eq!(server.requests().len(), 2);
    assert!(
        start.elapsed() < Duration::from_millis(1200),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn timeouts_are_bounded() {
    let server = MockHttpServer::start();
    server.set_fallback(MockResponse::new(200, "ok").delay(Duration::from_millis(1500)));
    let settings = HttpSettings {
        retries: 1,
        ..fast()
    };
    let n = SlackNotifier::new(Secret::new(format!("{}/hook", server.url())), settings).unwrap();
    let start = Instant::now();
    let err = n.notify(&sample_message()).await.unwrap_err();
    assert!(matches!(err, NotifyError::Timeout { .. }), "{err:?}");
    assert_eq!(err.to_string(), "slack: no answer within 300ms");
    assert_eq!(server.requests().len(), 2);
    assert!(
        start.elapsed() < Duration::from_millis(1200),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn transport_errors_never_show_the_url() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let n = SlackNotifier::new(
        Secret::new(format!("http://127.0.0.1:{port}/services/XXXXSECRET")),
        HttpSettings {
            retries: 1,
            ..fast()
        },
    )
    .unwrap();
    let err = n.notify(&sample_message()).await.unwrap_err();
    assert!(matches!(err, NotifyError::Transport { .. }), "{err:?}");
    let mut chain = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        chain.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    assert!(!chain.contains("XXXXSECRET"), "{chain}");
    assert!(!format!("{n:?}").contains("XXXXSECRET"));
}

fn discord(server: &MockHttpServer, settings: HttpSettings) -> DiscordNotifier {
    DiscordNotifier::new(
        Secret::new(format!("{}/api/webhooks/123/XXXXSECRET", server.url())),
        settings,
    )
    .unwrap()
}

#[tokio::test]
async fn discord_posts_content_embeds_and_buttons() {
    let server = MockHttpServer::start();
    server.push(MockResponse::new(204, ""));
    discord(&server, fast())
        .notify(&sample_message())
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/api/webhooks/123/XXXXSECRET?with_components=true");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        body_json(r),
        json!({
            "content": format!("**PM-0001** needs a decision: {QUESTION}"),
            "embeds": [{
                "title": "PM-0001 · TASK-BA-001 · quality below threshold",
                "description": format!("{QUESTION}\n\n{CONTEXT}\n\n**Last log lines**\n```\nrunning 12 tests\ntest result: ok. 12 passed\n```"),
                "color": 0xF5A623,
                "fields": [
                    {"name": "A. Accept as is (recommended)", "value": "+ Quality is high; only coverage is short of its target\n+ The work is merged now\n- Coverage stays below its target\n→ accept as is", "inline": false},
                    {"name": "B. Retry to add tests", "value": "+ Reaches the coverage target\n- Costs an attempt for a small gain\n→ retry with extra instructions", "inline": false},
                    {"name": "C. Skip the task", "value": "+ Frees the run to finish everything else\n- Tasks that depend on it are blocked\n→ skip the task", "inline": false},
                ],
                "footer": {"text": "Answer with: orch msg answer PM-0001 <A|B|C> [--note TEXT]"},
            }],
            "allowed_mentions": {"parse": []},
            "components": [{"type": 1, "components": [
                {"type": 2, "style": 1, "label": "A. Accept as is", "custom_id": "orch:answer:PM-0001:A"},
                {"type": 2, "style": 2, "label": "B. Retry to add tests", "custom_id": "orch:answer:PM-0001:B"},
                {"type": 2, "style": 2, "label": "C. Skip the task", "custom_id": "orch:answer:PM-0001:C"},
            ]}],
        })
    );
}

#[tokio::test]
async fn discord_waits_for_retry_after() {
    let server = MockHttpServer::start();
    server.push(MockResponse::json(
        429,
        r#"{"message": "You are being rate limited.", "retry_after": 0.2, "global": false}"#,
    ));
    server.push(MockResponse::new(204, ""));
    let start = Instant::now();
    discord(&server, fast())
        .notify(&sample_message())
        .await
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(200),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn discord_gives_up_on_long_rate_limits() {
    let server = MockHttpServer::start();
    server.set_fallback(
        MockResponse::json(
            429,
            r#"{"message": "slow down", "retry_after": 120.0, "global": true}"#,
        )
        .header("retry-after", "120"),
    );
    let start = Instant::now();
    let err = discord(&server, fast())
        .notify(&sample_message())
        .await
        .unwrap_err();
    assert!(
        matches!(err, NotifyError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(120)),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1, "does not sit out a long limit");
    assert!(start.elapsed() < Duration::from_millis(500));
}

fn line(server: &MockHttpServer) -> LineNotifier {
    LineNotifier::new(Secret::new("XXXXSECRET-TOKEN"), "U4af4980629", fast())
        .unwrap()
        .with_api_base(server.url())
        .unwrap()
}

#[tokio::test]
async fn line_pushes_a_text_message_with_quick_replies_and_bearer_auth() {
    let server = MockHttpServer::start();
    server.push(MockResponse::json(200, "{}"));
    let msg = sample_message();
    line(&server).notify(&msg).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v2/bot/message/push");
    assert_eq!(r.header("authorization"), Some("Bearer XXXXSECRET-TOKEN"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let key = r.header("x-line-retry-key").expect("retry key");
    assert!(uuid::Uuid::parse_str(key).is_ok(), "{key}");
    let text = format!(
        "PM-0001  TASK-BA-001  quality below threshold  [open]\n{QUESTION}\n\n{CONTEXT}\n\
         Last log lines:\n  | running 12 tests\n  | test result: ok. 12 passed\n\n\
         Options:\n  A. Accept as is  (recommended)\n       + Quality is high; only coverage is short of its target\n       + The work is merged now\n       - Coverage stays below its target\n\
         \x20 B. Retry to add tests\n       + Reaches the coverage target\n       - Costs an attempt for a small gain\n\
         \x20 C. Skip the task\n       + Frees the run to finish everything else\n       - Tasks that depend on it are blocked\n\n\
         Answer with: orch msg answer PM-0001 <A|B|C> [--note TEXT]\n"
    );
    assert_eq!(
        body_json(r),
        json!({"to": "U4af4980629", "messages": [{
            "type": "text",
            "text": text,
            "quickReply": {"items": [
                {"type": "action", "action": {"type": "postback", "label": "A. Accept as is", "data": "answer PM-0001 A", "displayText": "A. Accept as is"}},
                {"type": "action", "action": {"type": "postback", "label": "B. Retry to add tes…", "data": "answer PM-0001 B", "displayText": "B. Retry to add tests"}},
                {"type": "action", "action": {"type": "postback", "label": "C. Skip the task", "data": "answer PM-0001 C", "displayText": "C. Skip the task"}},
            ]},
        }]})
    );
}

#[tokio::test]
async fn line_retries_with_the_same_key_and_takes_409_as_delivered() {
    let server = MockHttpServer::start();
    server.push(MockResponse::json(
        500,
        r#"{"message":"An error occurred"}"#,
    ));
    server.push(MockResponse::json(
        409,
        r#"{"message":"The retry key is already accepted"}"#,
    ));
    line(&server).notify(&sample_message()).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].header("x-line-retry-key"),
        requests[1].header("x-line-retry-key")
    );
}

#[tokio::test]
async fn line_auth_errors_fail_at_once_without_the_token() {
    let server = MockHttpServer::start();
    server.set_fallback(MockResponse::json(
        401,
        r#"{"message":"Authentication failed due to the following reason: invalid token."}"#,
    ));
    let err = line(&server).notify(&sample_message()).await.unwrap_err();
    assert!(matches!(err, NotifyError::Http { status: 401, .. }));
    assert!(!format!("{err} {err:?}").contains("XXXXSECRET"));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn generic_webhook_posts_the_message_as_signed_json() {
    let server = MockHttpServer::start();
    server.push(MockResponse::new(502, "bad gateway"));
    server.push(MockResponse::new(200, ""));
    let n = WebhookNotifier::new(
        Secret::new(format!("{}/orch/hook", server.url())),
        Some(Secret::new("XXXXSECRET-KEY")),
        fast(),
    )
    .unwrap();
    let msg = sample_message();
    n.notify(&msg).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let r = &requests[1];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/orch/hook");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-orch-event"), Some("pm_message"));
    assert_eq!(
        requests[0].header("x-orch-delivery"),
        r.header("x-orch-delivery"),
        "one delivery id across retries"
    );
    assert_eq!(r.body, serde_json::to_vec(&msg).unwrap());
    let back: PmMessage = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(back, msg);
    let expected = WebhookNotifier::signature(b"XXXXSECRET-KEY", &r.body);
    assert_eq!(r.header(SIGNATURE_HEADER), Some(expected.as_str()));
    assert!(expected.starts_with("sha256=") && expected.len() == 7 + 64);
    assert!(!format!("{n:?}").contains("XXXXSECRET"));
}

#[tokio::test]
async fn generic_webhook_without_secret_is_unsigned() {
    let server = MockHttpServer::start();
    server.push(MockResponse::new(204, ""));
    let n = WebhookNotifier::new(Secret::new(server.url()), None, fast()).unwrap();
    n.notify(&sample_message()).await.unwrap();
    assert_eq!(server.requests()[0].header(SIGNATURE_HEADER), None);
}

/// A writer the test can read back.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Panics;
impl Notifier for Panics {
    fn name(&self) -> &str {
        "panics"
    }
    async fn notify(&self, _msg: &PmMessage) -> Result<(), NotifyError> {
        panic!("a buggy notifier")
    }
}

struct Hangs;
impl Notifier for Hangs {
    fn name(&self) -> &str {
        "hangs"
    }
    async fn notify(&self, _msg: &PmMessage) -> Result<(), NotifyError> {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(())
    }
}

#[tokio::test]
async fn a_failing_notifier_never_blocks_or_crashes_the_others() {
    let server = MockHttpServer::start();
    server.set_fallback(MockResponse::new(500, "down"));
    let buffer = Buffer::default();
    let slack = SlackNotifier::new(
        Secret::new(format!("{}/hook", server.url())),
        HttpSettings {
            retries: 1,
            ..fast()
        },
    )
    .unwrap();
    let set = NotifierSet::new(Duration::from_millis(1000))
        .with(Hangs)
        .with(slack)
        .with(Panics)
        .with(ConsoleNotifier::new(Box::new(buffer.clone())));
    let start = Instant::now();
    let report = set.notify_all(&sample_message()).await;
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let names: Vec<&str> = report
        .outcomes
        .iter()
        .map(|o| o.notifier.as_str())
        .collect();
    assert_eq!(names, ["hangs", "slack", "panics", "console"]);
    assert!(matches!(
        report.outcomes[0].result,
        Err(NotifyError::Deadline { .. })
    ));
    assert!(matches!(
        report.outcomes[1].result,
        Err(NotifyError::Http { status: 500, .. })
    ));
    assert!(matches!(
        report.outcomes[2].result,
        Err(NotifyError::Panicked { .. })
    ));
    assert!(report.outcomes[3].result.is_ok());
    assert_eq!(report.delivered(), ["console"]);
    assert_eq!(report.failed(), ["hangs", "slack", "panics"]);
    let printed = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        printed.contains("── PM message ──\nPM-0001  TASK-BA-001"),
        "{printed}"
    );
    assert!(
        printed.contains("Answer with: orch msg answer PM-0001"),
        "{printed}"
    );
}
