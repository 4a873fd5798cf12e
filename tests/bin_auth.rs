//! Auth key (header, ?accessToken=, env) and Origin checks, seen from `ws-client`.

mod bin_common;

use bin_common::*;

fn assert_forbidden(run: &ClientRun) {
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    assert_eq!(run.stdout, "Connecting to server ...\n");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one error line: {:?}", run.stderr);
    assert!(lines[0].starts_with("ws-client: "), "{}", lines[0]);
    assert!(lines[0].contains("403 Forbidden"), "{}", lines[0]);
}

fn assert_chats(run: &ClientRun) {
    assert!(run.status.success(), "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "SERVER >> {HI}\nClient >> hello\nSERVER >> {HI}\n"
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn auth_key_by_header_or_access_token() {
    let mut server = Server::start(&["--auth-key", "s3cret-key"]);
    let url = server.url();

    assert_forbidden(&run_client(&[&url], "hello\n"));
    assert_forbidden(&run_client(
        &["--header", "X-WS-AUTH-KEY: wrong", &url],
        "hello\n",
    ));
    assert_forbidden(&run_client(
        &[&format!("{url}/?accessToken=s3cret")],
        "hello\n",
    ));
    // Each refusal is logged once, in the transcript on stdout, with its reason.
    server.stdout.wait_for("third refusal logged", |l| {
        l.contains("Connection refused with 403 Forbidden") && l.contains("auth key")
    });

    assert_chats(&run_client(
        &["--header", "X-WS-AUTH-KEY: s3cret-key", &url],
        "hello\n",
    ));
    assert_chats(&run_client(
        &[&format!("{url}/?accessToken=s3cret-key")],
        "hello\n",
    ));
    // Percent-encoded token.
    assert_chats(&run_client(
        &[&format!("{url}/?name=x&accessToken=s3cret%2Dkey")],
        "hello\n",
    ));
}

#[test]
fn auth_key_from_environment() {
    let server = Server::start_with_env(&[], &[("WS_AUTH_KEY", "from-env")]);
    let url = server.url();
    assert_forbidden(&run_client(&[&url], "hello\n"));
    assert_chats(&run_client(
        &["--header", "x-ws-auth-key: from-env", &url],
        "hello\n",
    ));
}

#[test]
fn the_page_is_served_without_the_key() {
    let server = Server::start(&["--auth-key", "k"]);
    let resp = http(server.addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(resp.starts_with("HTTP/1.1 200 "), "{resp}");
}

#[test]
fn origin_allow_list() {
    let server = Server::start(&[
        "--origin",
        "http://good.example",
        "--origin=http://localhost:5000",
    ]);
    let url = server.url();
    assert_forbidden(&run_client(
        &["--header", "Origin: http://evil.example", &url],
        "hello\n",
    ));
    assert_chats(&run_client(
        &["--header", "Origin: http://good.example", &url],
        "hello\n",
    ));
    // Not a browser (no Origin header): allowed.
    assert_chats(&run_client(&[&url], "hello\n"));
}

/// A refused upgrade is logged exactly once by the server (it used to be twice on stderr and
/// never on stdout), and only the transcript line says so.
#[test]
fn a_refused_upgrade_is_logged_once() {
    let mut server = Server::start(&["--auth-key", "k3y"]);
    assert_forbidden(&run_client(&[&server.url()], "hello\n"));
    // A good client afterwards: its lines mark that the refusal's are all out.
    assert_chats(&run_client(
        &["--header", "X-WS-AUTH-KEY: k3y", &server.url()],
        "hello\n",
    ));
    server.guard.child().kill().unwrap();
    let out = server.stdout.until_end();
    let err = server.stderr.until_end();
    let refusals: Vec<&String> = out
        .iter()
        .chain(&err)
        .filter(|l| l.contains("403"))
        .collect();
    assert_eq!(refusals.len(), 1, "stdout {out:#?} stderr {err:#?}");
    assert!(
        refusals[0]
            .starts_with("[1] Connection refused with 403 Forbidden: missing or wrong auth key"),
        "{refusals:?}"
    );
    assert!(err.is_empty(), "nothing on stderr: {err:#?}");
}

/// Defect 11: with --verbose, credentials (`?accessToken=`, `X-WS-AUTH-KEY`) appear in no log
/// line, for accepted and refused upgrades alike.
#[test]
fn verbose_logs_never_show_credentials() {
    let mut server = Server::start(&["--verbose", "--auth-key", "Good-S3cret"]);
    let url = server.url();
    assert_chats(&run_client(
        &[&format!("{url}/chat?name=ann&accessToken=Good-S3cret")],
        "hello\n",
    ));
    assert_forbidden(&run_client(
        &[&format!("{url}/chat?accessToken=Wrong-S3cret")],
        "hello\n",
    ));
    assert_forbidden(&run_client(
        &["--header", "X-WS-AUTH-KEY: Header-S3cret", &url],
        "hello\n",
    ));
    assert_chats(&run_client(
        &["--header", "X-WS-AUTH-KEY: Good-S3cret", &url],
        "hello\n",
    ));
    // The page too (plain HTTP with a token in the query).
    let resp = http(
        server.addr,
        "GET /?accessToken=Page-S3cret HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert!(resp.starts_with("HTTP/1.1 200 "), "{resp}");
    server.guard.child().kill().unwrap();
    let out = server.stdout.until_end();
    let err = server.stderr.until_end();
    let all: Vec<&String> = out.iter().chain(&err).collect();
    for line in &all {
        assert!(!line.contains("S3cret"), "credential in a log line: {line}");
    }
    // Verbose logging did show the (redacted) targets.
    assert!(
        all.iter()
            .any(|l| l.contains("/chat?name=ann&accessToken=***")),
        "{all:#?}"
    );
    assert!(
        all.iter().any(|l| l.contains("/?accessToken=***")),
        "{all:#?}"
    );
}
