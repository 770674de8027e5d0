//! Event streams written straight to the socket. hyper keeps an 8 KiB read buffer and an 8 KiB
//! write buffer for each connection as long as it is open, and runs its dispatcher for every
//! frame: for a connection that only streams, most of what it holds and does
//! (bench/idle-memory.md). So the accept loop reads each connection's first request head itself
//! ([`first`]): a plain HTTP/1.1 `GET` of a stream path is answered here ([`answer`]), every
//! other request, and any head this parser does not take, goes to hyper with the bytes already
//! read in front ([`Prefixed`]).
//!
//! The router runs for a direct request exactly as for any other (every layer, the same
//! refusals); only the writing differs: the answer is sent chunked, as hyper would, each wake
//! writing every frame that is ready in one `write` (coalesced up to [`MAX_WRITE`]), and the
//! connection closes after it (`connection: close`). A client that sends anything more, or
//! closes its side, ends its stream.

use std::{
    future::{Future, poll_fn},
    io::{self, Write},
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, SystemTime},
};

use axum::{
    body::{Body, BodyDataStream},
    http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, Version, header},
};
use futures_util::StreamExt;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tokio_util::sync::CancellationToken;

/// The longest head read here (a browser's, cookies included, is 1–2 KiB); a longer one goes
/// to hyper, whose limits answer it.
const MAX_HEAD: usize = 16 * 1024;
/// The most header lines read here.
const MAX_HEADERS: usize = 64;
/// The most bytes gathered for one `write`.
pub const MAX_WRITE: usize = 64 * 1024;

/// What the first request head of a connection asks for.
pub enum First {
    /// A stream request, answered here.
    Direct(Box<Request<Body>>),
    /// Anything else: hyper serves the connection, these bytes first.
    Hyper(Vec<u8>),
}

/// Reads the first request head from `socket`. `direct` says which paths are streams. `Err`
/// when the client left (or failed) before sending a whole head.
pub async fn first(socket: &TcpStream, direct: fn(&str) -> bool) -> io::Result<First> {
    let mut read = Vec::with_capacity(2048);
    loop {
        if read.len() == read.capacity() {
            read.reserve(read.len());
        }
        socket.readable().await?;
        match socket.try_read_buf(&mut read) {
            Ok(0) if read.is_empty() => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(0) => return Ok(First::Hyper(read)),
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
            Err(err) => return Err(err),
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut head = httparse::Request::new(&mut headers);
        let request = match head.parse(&read) {
            Ok(httparse::Status::Complete(len)) if len == read.len() => {
                stream_request(&head, direct)
            }
            Ok(httparse::Status::Partial) if read.len() < MAX_HEAD => continue,
            // Bytes after the head (a body, a pipelined request), a head too long, or one
            // httparse refuses: hyper's to answer.
            _ => None,
        };
        return Ok(request.map_or(First::Hyper(read), |r| First::Direct(Box::new(r))));
    }
}

/// `head` as a request, if it is a plain HTTP/1.1 `GET` of a stream path: no body, no upgrade,
/// no expectation, an origin-form target, headers `http` accepts.
fn stream_request(
    head: &httparse::Request<'_, '_>,
    direct: fn(&str) -> bool,
) -> Option<Request<Body>> {
    let target = head.path?;
    let path = target.split('?').next().unwrap_or_default();
    if head.method != Some("GET")
        || head.version != Some(1)
        || !path.starts_with('/')
        || !direct(path)
    {
        return None;
    }
    let mut request = Request::builder()
        .method(Method::GET)
        .version(Version::HTTP_11)
        .uri(target);
    for line in head.headers.iter() {
        let name = HeaderName::from_bytes(line.name.as_bytes()).ok()?;
        let framing = [
            header::CONTENT_LENGTH,
            header::TRANSFER_ENCODING,
            header::UPGRADE,
            header::EXPECT,
        ];
        if framing.contains(&name) {
            return None;
        }
        request = request.header(name, HeaderValue::from_bytes(line.value).ok()?);
    }
    request.body(Body::empty()).ok()
}

/// Writes `response` to `socket`: its head, its body in chunks, the last chunk, then returns
/// (the caller closes the connection). Frames that are ready together leave in one write; with
/// a `delay`, a frame waits up to that long for others to join it (the hello and the first
/// frames never wait). Stops early when the client closes or sends anything, or when `shutdown`
/// fires while a write waits for a client that does not read.
pub async fn answer(
    socket: &TcpStream,
    response: Response<Body>,
    delay: Duration,
    shutdown: &CancellationToken,
) {
    // The response's head is written out and let go here, before the first wait: a stream
    // holds its body only (its headers' map alone is ~1.2 KB).
    let (mut out, body, bodiless) = {
        let (parts, body) = response.into_parts();
        let mut out = Vec::with_capacity(512);
        head(&mut out, parts.status, &parts.headers);
        let bodiless = parts.status.is_informational()
            || parts.status == StatusCode::NO_CONTENT
            || parts.status == StatusCode::NOT_MODIFIED;
        (out, body, bodiless)
    };
    if bodiless {
        let _ = write_all(socket, &out, shutdown).await;
        return;
    }
    let mut body = body.into_data_stream();
    let mut first = true;
    loop {
        let mut step = poll_fn(|cx| match gather(&mut body, &mut out, cx) {
            Poll::Pending if out.is_empty() => gone(socket, cx).map(|()| Step::Stop),
            Poll::Pending => Poll::Ready(Step::More),
            ready => ready,
        })
        .await;
        if step == Step::More && !first && !delay.is_zero() {
            // Held (a timer only while something waits) for the frames that follow.
            let mut timer = Box::pin(tokio::time::sleep(delay));
            step = poll_fn(|cx| match gather(&mut body, &mut out, cx) {
                Poll::Pending => timer.as_mut().poll(cx).map(|()| Step::More),
                ready => ready,
            })
            .await;
        }
        if step == Step::Stop || write_all(socket, &out, shutdown).await.is_err() {
            return;
        }
        if step == Step::Ended {
            return;
        }
        // Let go, not cleared: an idle stream holds no buffer.
        out = Vec::new();
        first = false;
    }
}

/// What [`gather`] found.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Frames to write (perhaps more to come).
    More,
    /// The body ended: the last chunk is in `out`.
    Ended,
    /// The body failed or the client left: close without another write (a client sees a cut
    /// stream, not an ended one).
    Stop,
}

/// Appends every frame `body` has ready to `out`, as chunks; `Pending` once none is ready
/// (with the waker registered), unless `out` reached [`MAX_WRITE`] or the body ended or failed.
fn gather(body: &mut BodyDataStream, out: &mut Vec<u8>, cx: &mut Context<'_>) -> Poll<Step> {
    while out.len() < MAX_WRITE {
        match body.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(data))) => chunk(out, &data),
            Poll::Ready(Some(Err(_))) => return Poll::Ready(Step::Stop),
            Poll::Ready(None) => {
                out.extend_from_slice(b"0\r\n\r\n");
                return Poll::Ready(Step::Ended);
            }
            Poll::Pending => return Poll::Pending,
        }
    }
    Poll::Ready(Step::More)
}

/// The status line and headers, with the framing this module uses.
fn head(out: &mut Vec<u8>, status: StatusCode, headers: &axum::http::HeaderMap) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    let framing = [
        header::CONNECTION,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
    ];
    for (name, value) in headers {
        if framing.contains(name) || name.as_str() == "keep-alive" {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !headers.contains_key(header::DATE) {
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(httpdate::fmt_http_date(SystemTime::now()).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"transfer-encoding: chunked\r\nconnection: close\r\n\r\n");
}

/// Appends `data` as one chunk (an empty one would end the body, so none is written).
fn chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    // Written in place: no string per frame on the fan-out path (a Vec's writes cannot fail).
    let _ = write!(out, "{:x}\r\n", data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Writes all of `bytes`, waiting while the socket is full; gives up when `shutdown` fires
/// meanwhile (a client that stopped reading must not hold the process).
async fn write_all(
    socket: &TcpStream,
    mut bytes: &[u8],
    shutdown: &CancellationToken,
) -> io::Result<()> {
    while !bytes.is_empty() {
        match socket.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => tokio::select! {
                ready = socket.writable() => ready?,
                () = shutdown.cancelled() => return Err(io::ErrorKind::TimedOut.into()),
            },
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Ready when the client closes its side, fails, or sends anything (a stream's connection
/// takes no further requests).
fn gone(socket: &TcpStream, cx: &mut Context<'_>) -> Poll<()> {
    loop {
        match socket.poll_read_ready(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(_)) => return Poll::Ready(()),
            Poll::Ready(Ok(())) => {}
        }
        match socket.try_read(&mut [0; 1]) {
            // Stale readiness, cleared now: the next poll registers the waker.
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
            _ => return Poll::Ready(()),
        }
    }
}

/// A socket whose first reads return bytes already read from it: hyper gets the connection
/// as the client sent it.
pub struct Prefixed<S> {
    read: Vec<u8>,
    at: usize,
    socket: S,
}

impl<S> Prefixed<S> {
    pub fn new(read: Vec<u8>, socket: S) -> Self {
        Self {
            read,
            at: 0,
            socket,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.at < this.read.len() {
            let n = buf.remaining().min(this.read.len() - this.at);
            buf.put_slice(&this.read[this.at..this.at + n]);
            this.at += n;
            if this.at == this.read.len() {
                this.read = Vec::new();
                this.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.socket).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.socket.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_shutdown(cx)
    }
}
