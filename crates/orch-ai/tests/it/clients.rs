//! Each client against a local server that speaks the provider's wire format.

use std::time::{Duration, Instant};

use orch_ai::{
    AnthropicClient, ClaudeCliClient, LanguageModel, ModelError, ModelRequest, OpenAiClient,
    RetryPolicy,
};
use orch_testutils::{MockHttpServer, MockResponse};

const ANTHROPIC_OK: &str = r#"{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"{\"ok\":true}"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":7}}"#;
const OVERLOADED: &str =
    r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
const RATE_LIMITED: &str = r#"{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}"#;
const OPENAI_OK: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"llama3.1","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}"#;

fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(400),
    }
}

fn request() -> ModelRequest {
    ModelRequest {
        system: "be brief".into(),
        prompt: "hi".into(),
        max_tokens: 100,
    }
}

fn anthropic(server: &MockHttpServer, attempts: u32, timeout: Duration) -> AnthropicClient {
    AnthropicClient::new(
        server.url().to_owned(),
        "sk-test".into(),
        "claude-sonnet-4-5".into(),
        timeout,
        fast_retry(attempts),
    )
}

#[tokio::test]
async fn anthropic_success_sends_the_real_wire_format() {
    let server = MockHttpServer::start();
    server.push(MockResponse::json(200, ANTHROPIC_OK));
    let reply = anthropic(&server, 3, Duration::from_secs(5))
        .complete(&request())
        .await
        .unwrap();
    assert_eq!(reply.text, r#"{"ok":true}"#);
    assert_eq!(reply.input_tokens, Some(12));
    assert_eq!(reply.attempts, 1);
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some("sk-test"));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    let body: serde_json::Value = serde_json::from_str(&sent.body_text()).unwrap();
    assert_eq!(body["model"], "claude-sonnet-4-5");
    assert_eq!(body["system"], "be brief");
    assert_eq!(body["messages"][0]["role"], "user");
    assert_eq!(body["max_tokens"], 100);
}

#[tokio::test]
async fn anthropic_429_waits_for_retry_after() {
    let server = MockHttpServer::start();
    server.push(MockResponse::json(429, RATE_LIMITED).header("retry-after", "0.3"));
    server.push(MockResponse::json(200, ANTHROPIC_OK));
    let started = Instant::now();
    let reply = anthropic(&server, 3, Duration::from_secs(5))
        .complete(&request())
        .await
        .unwrap();
    assert_eq!(reply.attempts, 2);
    // The backoff alone would be 10 ms; the server asked for 300 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn anthropic_529_and_500_are_retried_then_bounded() {
    let server = MockHttpServer::start();
    server.push(MockResponse::json(529, OVERLOADED));
    server.push(MockResponse::json(
        500,
        r#"{"type":"error","error":{"type":"api_error","message":"Internal"}}"#,
    ));
    server.push(MockResponse::json(200, ANTHROPIC_OK));
    let reply = anthropic(&server, 3, Duration::from_secs(5))
        .complete(&request())
        .await
        .unwrap();
    assert_eq!(reply.attempts, 3);

    let server = MockHttpServer::start();
    server.set_fallback(MockResponse::json(529, OVERLOADED));
    let err = anthropic(&server, 3, Duration::from_secs(5))
        .complete(&request())
        .await
        .unwrap_err();
    match &err {
        ModelError::Exhausted { attempts, last } => {
            assert_eq!(*attempts, 3);
            assert!(
                last.to_string().contains("529") && last.to_string().contains("Overloaded"),
                "{last}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.requests().len(), 3, "a hard bound on attempts");
}

#[tokio::test]
async fn anthropic_client_errors_are_not_retried() {
    let server = MockHttpServer::start();
    server.set_fallback(MockResponse::json(
        401,
        r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
    ));
    let err = anthropic(&server, 4, Duration::from_secs(5))
        .complete(&request())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ModelError::Status { status: 401, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("invalid x-api-key"));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn anthropic_malformed_and_truncated_bodies() {
    let server = MockHttpServer::start();
    server.push(MockResponse::json(200, "{not json"));
    let err = anthropic(&server, 3, Duration::from_secs(5))
        .complete(&request())
        .await
        .unwrap_err();
    assert!(matches!(err, ModelError::Malformed { .. }), "{err:?}");
    assert_eq!(
        server.requests().len(),
        1,
        "a malformed answer is not retried blindly"
    );

    let server = MockHttpServer::start();
    server.push(MockResponse::json(200, r#"{"content":[]}"#));
    let err = anthropic(&server, 1, Duration::from_secs(5))
        .complete(&request())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no text block"), "{err}");

    let server = MockHttpServer::start();
    server.set_fallback(MockResponse::json(200, ANTHROPIC_OK).truncated(40));
    let err = anthropic(&server, 2, Duration::from_secs(5))
        .complete(&request())
        .await
        .unwrap_err();
    // A body cut short is a transport failure: retried, then reported.
    assert!(
        matches!(err, ModelError::Exhausted { attempts: 2, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn anthropic_slow_response_times_out() {
    let server = MockHttpServer::start();
    server.set_fallback(MockResponse::json(200, ANTHROPIC_OK).delay(Duration::from_secs(3)));
    let started = Instant::now();
    let err = anthropic(&server, 2, Duration::from_millis(300))
        .complete(&request())
        .await
        .unwrap_err();
    match err {
        ModelError::Exhausted { attempts: 2, last } => {
            assert!(matches!(*last, ModelError::Timeout { .. }), "{last:?}")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

fn openai(server: &MockHttpServer, key: Option<&str>) -> OpenAiClient {
    OpenAiClient::new(
        format!("{}/v1", server.url()),
        key.map(str::to_owned),
        "llama3.1".into(),
        Duration::from_secs(5),
        fast_retry(3),
    )
}

#[tokio::test]
async fn openai_compatible_success_and_errors() {
    let server = MockHttpServer::start();
    server.push(MockResponse::json(200, OPENAI_OK));
    let reply = openai(&server, Some("sk-o"))
        .complete(&request())
        .await
        .unwrap();
    assert_eq!(reply.text, "hello");
    assert_eq!(reply.output_tokens, Some(1));
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-o"));
    let body: serde_json::Value = serde_json::from_str(&sent.body_text()).unwrap();
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["content"], "hi");

    // A local server without a key: no Authorization header at all.
    let server = MockHttpServer::start();
    server.push(
        MockResponse::json(429, r#"{"error":{"message":"slow down"}}"#).header("retry-after", "0"),
    );
    server.push(MockResponse::json(503, "upstream unavailable"));
    server.push(MockResponse::json(200, OPENAI_OK));
    let reply = openai(&server, None).complete(&request()).await.unwrap();
    assert_eq!(reply.attempts, 3);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.header("authorization").is_none())
    );

    let server = MockHttpServer::start();
    server.push(MockResponse::json(200, r#"{"choices":[]}"#));
    let err = openai(&server, None)
        .complete(&request())
        .await
        .unwrap_err();
    assert!(matches!(err, ModelError::Malformed { .. }), "{err:?}");
}

fn script(dir: &std::path::Path, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("claude");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn claude_cli_reads_the_result_object() {
    let dir = tempfile::tempdir().unwrap();
    // The real result line when the shared fixtures are there; a written one otherwise.
    let line = orch_testutils::shared_fixtures_or_skip("claude-code")
        .map(|d| std::fs::read_to_string(d.join("result_success.json")).unwrap())
        .unwrap_or_else(|| r#"{"type":"result","subtype":"success","is_error":false,"result":"Here are the files in the current directory.","total_cost_usd":0.25,"usage":{"input_tokens":18,"output_tokens":424}}"#.into());
    std::fs::write(dir.path().join("out.json"), line.trim()).unwrap();
    let program = script(
        dir.path(),
        &format!(
            "cat > {0}/prompt.txt\necho \"$@\" > {0}/args.txt\ncat {0}/out.json",
            dir.path().display()
        ),
    );
    let client = ClaudeCliClient::new(program, Some("sonnet".into()), Duration::from_secs(10));
    let reply = client.complete(&request()).await.unwrap();
    assert_eq!(reply.text, "Here are the files in the current directory.");
    assert!(reply.cost_usd.unwrap() > 0.0);
    let args = std::fs::read_to_string(dir.path().join("args.txt")).unwrap();
    assert_eq!(args.trim(), "-p --output-format json --model sonnet");
    let prompt = std::fs::read_to_string(dir.path().join("prompt.txt")).unwrap();
    assert!(prompt.contains("be brief") && prompt.contains("hi"));
}

#[tokio::test]
async fn claude_cli_failures_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(
        dir.path(),
        r#"cat >/dev/null; echo '{"type":"result","subtype":"success","is_error":true,"result":"Credit balance is too low"}'"#,
    );
    let err = ClaudeCliClient::new(program, None, Duration::from_secs(10))
        .complete(&request())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("Credit balance is too low"),
        "{err}"
    );

    let program = script(dir.path(), "cat >/dev/null; echo 'boom' >&2; exit 3");
    let err = ClaudeCliClient::new(program, None, Duration::from_secs(10))
        .complete(&request())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("without a JSON result") && err.to_string().contains("boom"),
        "{err}"
    );

    let err = ClaudeCliClient::new("/nonexistent/claude".into(), None, Duration::from_secs(1))
        .complete(&request())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot start"), "{err}");
}

#[tokio::test]
async fn claude_cli_hang_is_killed_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let program = script(
        dir.path(),
        &format!("echo $$ > {}\nsleep 30 & wait", pid_file.display()),
    );
    let started = Instant::now();
    let err = ClaudeCliClient::new(program, None, Duration::from_millis(500))
        .complete(&request())
        .await
        .unwrap_err();
    assert!(matches!(err, ModelError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The whole group is gone: the shell and its `sleep`.
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid),
        "the CLI survived its timeout"
    );
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}
