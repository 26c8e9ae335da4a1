//! What one client may hold of the server (issue 9, item 8): a request head that never
//! completes is cut off, a body that stalls is abandoned, and connections beyond the cap wait
//! instead of costing memory. Each test talks raw TCP, as a slowloris client would.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::common::{app::TestApp, mailstack::MailStack};

/// Far beyond every timeout configured below: a test that reaches it has found a connection
/// the server kept open (this bounds the test, it measures nothing).
const PATIENCE: Duration = Duration::from_secs(20);

async fn app_with(tweak: impl FnOnce(&mut mailroom::config::Config)) -> TestApp {
    let stack = MailStack::shared();
    let user = stack.add_user("limits");
    TestApp::spawn_with(stack, user, tweak).await
}

async fn connect(app: &TestApp) -> TcpStream {
    let addr = app.base.trim_start_matches("http://");
    TcpStream::connect(addr).await.expect("connect")
}

/// Reads until the server closes the connection; `None` if it is still open after PATIENCE.
async fn read_until_closed(stream: &mut TcpStream) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&got).into_owned())
}

#[tokio::test]
async fn a_half_sent_request_head_is_closed() {
    let app = app_with(|c| c.http_header_timeout = Duration::from_secs(1)).await;
    let mut half = connect(&app).await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .expect("write");
    let answer = read_until_closed(&mut half)
        .await
        .expect("the server must close a connection whose request head never ends");
    assert!(
        !answer.contains("200 OK"),
        "a half-sent request was answered as if complete: {answer}"
    );

    // A connection that sends nothing at all is closed too.
    let mut silent = connect(&app).await;
    assert!(
        read_until_closed(&mut silent).await.is_some(),
        "an idle connection that never sends a request must be closed"
    );

    // A complete request on a fresh connection is still served.
    let page = app.get("/healthz").await;
    assert_eq!(page.body, "ok");
}

#[tokio::test]
async fn a_stalled_request_body_is_abandoned() {
    let app = app_with(|c| c.http_body_timeout = Duration::from_secs(1)).await;
    let mut slow = connect(&app).await;
    let head = "POST /login HTTP/1.1\r\nHost: localhost\r\n\
                Content-Type: application/x-www-form-urlencoded\r\n\
                Content-Length: 100000\r\n\r\nusername=a";
    slow.write_all(head.as_bytes()).await.expect("write");
    let answer = read_until_closed(&mut slow)
        .await
        .expect("the server must give up on a body that stops arriving");
    assert!(
        !answer.contains("303 See Other"),
        "a login was attempted from a truncated body: {answer}"
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "a stalled body gets a client error (or just a closed connection): {answer}"
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let app = app_with(|c| c.http_max_connections = 2).await;
    // Two connections that hold their slot with an unfinished request head.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = connect(&app).await;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            .await
            .expect("write");
        held.push(s);
    }
    // Give the server a moment to accept both (the accept loop is asynchronous).
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A third client is not served while both slots are taken...
    let third = {
        let client = crate::common::app::browser_client(false);
        let url = app.url("/healthz");
        tokio::spawn(async move { client.get(url).send().await.map(|r| r.status()) })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !third.is_finished(),
        "a request beyond the connection cap was served while the cap was full"
    );

    // ...and is served as soon as one slot frees up.
    drop(held.pop());
    let status = tokio::time::timeout(PATIENCE, third)
        .await
        .expect("the waiting request is served once a slot is free")
        .expect("task")
        .expect("request");
    assert_eq!(status, reqwest::StatusCode::OK);
}
