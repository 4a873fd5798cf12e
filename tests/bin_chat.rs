//! The article's chat app end to end: `ws-server` (default app) and `ws-client` as processes.

mod bin_common;

use bin_common::*;

#[test]
fn article_conversation_byte_for_byte_on_both_sides() {
    let mut server = Server::start(&[]);
    let url = server.url();
    let run = run_client(&[&url], "hello\ni need help\nwhat time is it\nexit\n");
    assert!(run.status.success(), "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "Connecting to server ...\n\
             Connected to server ...\n\
             SERVER >> {HI}\n\
             Client >> hello\n\
             SERVER >> {HI}\n\
             Client >> i need help\n\
             SERVER >> {HELP}\n\
             Client >> what time is it\n\
             SERVER >> {UNKNOWN}\n\
             Client >> exit\n\
             Disconnected from server ...\n"
        )
    );
    assert_eq!(run.stderr, "");

    server
        .stdout
        .wait_line("[1] Connection closed by client ...");
    let expected: Vec<String> = [
        format!("Listening on {url}"),
        "Waiting for clients ...".into(),
        "[1] Incoming connection from client ...".into(),
        "[1] Connection established with client ...".into(),
        format!("[1] SERVER >> {HI}"),
        "[1] CLIENT >> hello".into(),
        format!("[1] SERVER >> {HI}"),
        "[1] CLIENT >> i need help".into(),
        format!("[1] SERVER >> {HELP}"),
        "[1] CLIENT >> what time is it".into(),
        format!("[1] SERVER >> {UNKNOWN}"),
        "[1] Connection closed by client ...".into(),
    ]
    .to_vec();
    assert_eq!(server.stdout.so_far(), expected);
}

#[test]
fn end_of_input_closes_cleanly_and_ids_count_up() {
    let mut server = Server::start(&[]);
    let url = server.url();
    for id in 1..=2 {
        let run = run_client(&[&url], "hi\n");
        assert!(run.status.success(), "{run:?}");
        assert!(
            run.stdout.ends_with(&format!(
                "Client >> hi\nSERVER >> {HI}\nDisconnected from server ...\n"
            )),
            "{}",
            run.stdout
        );
        server
            .stdout
            .wait_line(&format!("[{id}] Connection closed by client ..."));
    }
}

#[test]
fn binary_messages_get_a_polite_text_reply() {
    let mut server = Server::start(&[]);
    let run = run_client(&["--binary", &server.url()], "hello\nexit\n");
    assert!(run.status.success(), "{run:?}");
    assert!(
        run.stdout
            .contains("Client >> hello\nSERVER >> Sorry, I only understand text messages.\n"),
        "{}",
        run.stdout
    );
    server.stdout.wait_line("[1] CLIENT >> [binary, 5 bytes]");
}

#[test]
fn quiet_client_prints_only_messages() {
    let server = Server::start(&[]);
    let run = run_client(&["--quiet", &server.url()], "hello\n");
    assert!(run.status.success(), "{run:?}");
    assert_eq!(run.stdout, format!("{HI}\n{HI}\n"));
    assert_eq!(run.stderr, "");
}

#[test]
fn custom_reply_table() {
    let file = temp_file(
        "replies-ok.txt",
        "# shop\n@greeting = Welcome to the shop!\nprice = 5 euros\nship = We ship = fast\n* = Pardon?\n",
    );
    let server = Server::start(&["--replies", file.to_str().unwrap()]);
    let run = run_client(&[&server.url()], "price?\nship the price\nhi\nexit\n");
    std::fs::remove_file(&file).ok();
    assert!(run.status.success(), "{run:?}");
    assert_eq!(
        run.stdout,
        "Connecting to server ...\nConnected to server ...\n\
         SERVER >> Welcome to the shop!\n\
         Client >> price?\nSERVER >> 5 euros\n\
         Client >> ship the price\nSERVER >> We ship = fast\n\
         Client >> hi\nSERVER >> Pardon?\n\
         Client >> exit\nDisconnected from server ...\n"
    );
}

#[test]
fn malformed_reply_table_names_the_line_and_exits_2() {
    let file = temp_file(
        "replies-bad.txt",
        "# comment\nhelp = ok\n\nthis line has no separator\n",
    );
    let out = std::process::Command::new(server_bin())
        .args([
            "--listen",
            "127.0.0.1:0",
            "--replies",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    std::fs::remove_file(&file).ok();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 4"), "{err}");
    assert!(err.contains("key = reply"), "{err}");
    assert!(
        out.stdout.is_empty(),
        "nothing may listen: {:?}",
        out.stdout
    );

    let missing = std::process::Command::new(server_bin())
        .args(["--replies", "/nonexistent/dir/replies.txt"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read reply table"));
}

#[test]
fn replies_match_whole_words_in_any_case_by_default() {
    let mut server = Server::start(&[]);
    let run = run_client(
        &[&server.url()],
        "something else\nHELP\nHello there\nthis is helpful\nexit\n",
    );
    assert!(run.status.success(), "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "Connecting to server ...\nConnected to server ...\n\
             SERVER >> {HI}\n\
             Client >> something else\nSERVER >> {UNKNOWN}\n\
             Client >> HELP\nSERVER >> {HELP}\n\
             Client >> Hello there\nSERVER >> {HI}\n\
             Client >> this is helpful\nSERVER >> {UNKNOWN}\n\
             Client >> exit\nDisconnected from server ...\n"
        )
    );
    server.stdout.wait_line("[1] CLIENT >> this is helpful");
}

#[test]
fn match_substring_is_the_articles_rule() {
    let server = Server::start(&["--match", "substring"]);
    let run = run_client(
        &[&server.url()],
        "something else\nHELP\nhello\ni need help\nhelp with this\nexit\n",
    );
    assert!(run.status.success(), "{run:?}");
    // The article: `something` contains `hi`, `HELP` is not `help`, and the last key
    // contained wins (`hi` in `this` comes after `help` in the table).
    assert_eq!(
        run.stdout,
        format!(
            "Connecting to server ...\nConnected to server ...\n\
             SERVER >> {HI}\n\
             Client >> something else\nSERVER >> {HI}\n\
             Client >> HELP\nSERVER >> {UNKNOWN}\n\
             Client >> hello\nSERVER >> {HI}\n\
             Client >> i need help\nSERVER >> {HELP}\n\
             Client >> help with this\nSERVER >> {HI}\n\
             Client >> exit\nDisconnected from server ...\n"
        )
    );
}

#[test]
fn words_keep_the_last_key_wins_order_of_a_custom_table() {
    let file = temp_file(
        "replies-words.txt",
        "price = 5 euros\nship = We ship worldwide.\n* = Pardon?\n",
    );
    let server = Server::start(&["--replies", file.to_str().unwrap()]);
    let run = run_client(
        &[&server.url()],
        "SHIP at what PRICE?\nshipping prices\nexit\n",
    );
    std::fs::remove_file(&file).ok();
    assert!(run.status.success(), "{run:?}");
    assert!(
        run.stdout.contains(
            "Client >> SHIP at what PRICE?\nSERVER >> We ship worldwide.\n\
             Client >> shipping prices\nSERVER >> Pardon?\n"
        ),
        "{}",
        run.stdout
    );
}
