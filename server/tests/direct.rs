//! Stream requests answered on the socket by the accept loop (src/direct.rs), over raw TCP:
//! what goes on the wire, when the connection ends, and which requests stay with hyper.

mod common;

use std::time::Duration;

use common::spawn_app;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const STREAM: &str = "GET /api/stream?channels=clock HTTP/1.1\r\nHost: x\r\n\r\n";

/// A raw connection to the server, and everything it has sent so far.
struct Wire {
    stream: TcpStream,
    sent: Vec<u8>,
}

impl Wire {
    async fn open(app: &common::TestApp, request: &[u8]) -> Self {
        let mut stream = TcpStream::connect(app.addr).await.expect("connect");
        stream.write_all(request).await.expect("send");
        Self {
            stream,
            sent: Vec::new(),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.sent).into_owned()
    }

    /// Reads until what was sent contains `want` (10 s at most).
    async fn until(&mut self, want: &str) {
        self.until_n(want, 1).await;
    }

    /// Reads until what was sent contains `want` `n` times (10 s at most).
    async fn until_n(&mut self, want: &str, n: usize) {
        let read = async {
            while self.text().matches(want).count() < n {
                let mut buf = [0; 4096];
                let n = self.stream.read(&mut buf).await.expect("read");
                assert!(n > 0, "closed before {want:?}: {}", self.text());
                self.sent.extend_from_slice(&buf[..n]);
            }
        };
        if tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .is_err()
        {
            panic!("no {want:?} within 10 s: {}", self.text());
        }
    }

    /// Reads until the server closes the connection (10 s at most); returns the head and
    /// the body.
    async fn until_closed(&mut self) -> (String, String) {
        let read = self.stream.read_to_end(&mut self.sent);
        let read = tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .expect("the server closed the connection within 10 s");
        // A server that closes with bytes of the client's unread resets the connection.
        if let Err(err) = read {
            assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
        }
        let text = self.text();
        let (head, body) = text.split_once("\r\n\r\n").expect("a whole head");
        (head.to_ascii_lowercase(), body.to_owned())
    }
}

/// A chunked body decoded: the chunks' data, and whether the last (empty) chunk ended it.
fn dechunk(mut body: &str) -> (String, bool) {
    let mut data = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size, 16).expect("chunk size in hex");
        if size == 0 {
            return (data, rest == "\r\n");
        }
        data.push_str(&rest[..size]);
        assert_eq!(&rest[size..size + 2], "\r\n", "chunk data ends with CRLF");
        body = &rest[size + 2..];
    }
    (data, false)
}

/// A stream is HTTP/1.1, chunked, `connection: close`; its chunks are the SSE frames (the
/// retry hint and hello first, then the channel's events), and when the server stops, the
/// body ends with the last chunk and the connection closes.
#[tokio::test]
async fn a_stream_is_chunked_and_ends_with_the_last_chunk() {
    let app = spawn_app().await;
    let mut wire = Wire::open(&app, STREAM.as_bytes()).await;
    wire.until("event: time").await;
    app.shutdown.cancel();
    let (head, body) = wire.until_closed().await;
    assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
    for line in [
        "content-type: text/event-stream",
        "transfer-encoding: chunked",
        "connection: close",
        "x-request-id: ",
        "date: ",
    ] {
        assert!(head.contains(line), "{line:?} in {head}");
    }
    assert!(!head.contains("content-length"), "{head}");
    let (data, ended) = dechunk(&body);
    assert!(data.starts_with("retry: 1000\nevent: hello\n"), "{data}");
    assert!(
        data.contains("event: time\ndata: {\"channel\":\"clock\""),
        "{data}"
    );
    assert!(ended, "the last chunk ends the body: {body:?}");
}

/// A refusal on a stream path is a whole answer too: status, JSON reason, last chunk, closed.
#[tokio::test]
async fn a_refused_stream_is_answered_and_closed() {
    let app = spawn_app().await;
    let request = "GET /api/stream?channels=nope HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut wire = Wire::open(&app, request.as_bytes()).await;
    let (head, body) = wire.until_closed().await;
    assert!(head.starts_with("http/1.1 404 not found\r\n"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    let (data, ended) = dechunk(&body);
    assert_eq!(data, r#"{"error":"unknown channel \"nope\""}"#);
    assert!(ended);
}

/// A client that closes its side, or sends anything after its request, ends its stream: the
/// server closes the connection and counts the stream gone.
#[tokio::test]
async fn a_client_that_leaves_or_sends_more_ends_its_stream() {
    let app = spawn_app().await;
    let mut talker = Wire::open(&app, STREAM.as_bytes()).await;
    let mut leaver = Wire::open(&app, STREAM.as_bytes()).await;
    talker.until("event: hello").await;
    leaver.until("event: hello").await;
    app.wait_for_connections(2).await;
    talker
        .stream
        .write_all(b"GET /healthz HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    talker.until_closed().await;
    app.wait_for_connections(1).await;
    leaver.stream.shutdown().await.unwrap();
    leaver.until_closed().await;
    app.wait_for_connections(0).await;
}

/// A head that arrives a few bytes at a time is read whole and answered as a stream.
#[tokio::test]
async fn a_head_in_pieces_is_read_whole() {
    let app = spawn_app().await;
    let mut wire = Wire::open(&app, b"").await;
    wire.stream.set_nodelay(true).unwrap();
    for piece in STREAM.as_bytes().chunks(7) {
        wire.stream.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    wire.until("event: hello").await;
    assert!(
        wire.text().contains("connection: close\r\n"),
        "{}",
        wire.text()
    );
}

/// Everything else stays with hyper, which gets the bytes already read: requests pipelined
/// behind another, a stream request with a body header or over HTTP/1.0, a head longer than
/// the direct path reads (a 20 KiB cookie). hyper answers them (keeping the connection, and
/// without `connection: close`).
#[tokio::test]
async fn other_requests_stay_with_hyper() {
    let app = spawn_app().await;
    let twice = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".repeat(2);
    let mut pipelined = Wire::open(&app, twice.as_bytes()).await;
    pipelined.until_n("HTTP/1.1 200 OK\r\n", 2).await;
    pipelined.until_n("ok\n", 2).await;

    let cookie = "a".repeat(20 * 1024);
    let others = [
        "GET /api/stream?channels=clock HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
            .to_owned(),
        "GET /api/stream?channels=clock HTTP/1.0\r\nHost: x\r\n\r\n".to_owned(),
        format!("GET /api/stream?channels=clock HTTP/1.1\r\nHost: x\r\nCookie: c={cookie}\r\n\r\n"),
    ];
    for request in others {
        let mut wire = Wire::open(&app, request.as_bytes()).await;
        wire.until("event: hello").await;
        let text = wire.text();
        let head = text.split("\r\n\r\n").next().unwrap();
        assert!(
            !head.contains("connection: close"),
            "hyper's answer: {head}"
        );
    }
}

/// With `STREAM_WRITE_DELAY_MS`, events that follow each other within the delay leave in one
/// write: three published 50 ms apart arrive in one read (each alone without the delay).
#[tokio::test]
async fn with_a_write_delay_close_events_share_one_write() {
    let mut config = server::Config::for_tests();
    config.stream_write_delay = Duration::from_millis(600);
    let app = common::spawn_app_with(config).await;
    let mut wire = Wire::open(&app, STREAM.as_bytes()).await;
    wire.until("event: hello").await;
    // Reading all the while: the first read that holds any of them holds all three.
    let mut stream = wire.stream;
    let reader = tokio::spawn(async move {
        loop {
            let mut buf = [0; 8192];
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed");
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if text.contains("event: mark") {
                return text;
            }
        }
    });
    for n in 1..=3 {
        app.state
            .hub
            .publish_json("clock", "mark", format!("{{\"n\":{n}}}"))
            .await
            .expect("publish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = tokio::time::timeout(Duration::from_secs(10), reader)
        .await
        .expect("the events within 10 s")
        .expect("reader");
    assert_eq!(text.matches("event: mark").count(), 3, "{text}");
}
