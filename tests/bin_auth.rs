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
    server.stderr.wait_for("refusal logged", |l| {
        l.contains("refused with 403") && l.contains("auth key")
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
