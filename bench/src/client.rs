//! HTTP/1.1 over raw TCP, just enough for the benchmark: open an event stream (optionally with
//! `Last-Event-ID`) and read its events; publish with keep-alive POSTs.

use std::{
    io,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    os::fd::AsRawFd,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

use crate::sse::{Dechunker, Event, Scanner};

/// Client sockets are spread over these source addresses (127.0.0.2 …), so that ten thousands
/// of connections and their TIME_WAITs do not run out of ports.
pub const SOURCE_ADDRESSES: u8 = 16;

/// Connects to `server` from loopback source address number `n % SOURCE_ADDRESSES`.
pub async fn connect(server: SocketAddr, n: usize) -> io::Result<TcpStream> {
    connect_with(server, n, None).await
}

/// [`connect`], with the socket's receive buffer set to `recv_buffer` bytes if given (a tiny
/// one makes a reader that stops reading back up the server at once).
pub async fn connect_with(
    server: SocketAddr,
    n: usize,
    recv_buffer: Option<u32>,
) -> io::Result<TcpStream> {
    let source = Ipv4Addr::new(127, 0, 0, 2 + (n % SOURCE_ADDRESSES as usize) as u8);
    let socket = TcpSocket::new_v4()?;
    if let Some(bytes) = recv_buffer {
        socket.set_recv_buffer_size(bytes)?;
    }
    // Choose the port at connect time, per destination, rather than at bind.
    let yes: libc::c_int = 1;
    // SAFETY: a valid socket fd and a c_int option of the right size.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&yes as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// The status and headers of a response, and the body bytes read along with them.
struct Head {
    status: u16,
    chunked: bool,
    /// The server will close the connection after this response.
    close: bool,
    content_length: Option<usize>,
    rest: Vec<u8>,
}

async fn read_head(tcp: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Head> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let text = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let mut lines = text.split("\r\n");
            let status = lines
                .next()
                .and_then(|l| l.split(' ').nth(1))
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| invalid("bad status line"))?;
            let mut chunked = false;
            let mut close = false;
            let mut content_length = None;
            for line in lines {
                if let Some((name, value)) = line.split_once(':') {
                    match name.trim() {
                        "transfer-encoding" => chunked = value.contains("chunked"),
                        "content-length" => content_length = value.trim().parse().ok(),
                        "connection" => close = value.contains("close"),
                        _ => {}
                    }
                }
            }
            let rest = buf.split_off(end + 4);
            buf.clear();
            return Ok(Head {
                status,
                chunked,
                close,
                content_length,
                rest,
            });
        }
        if buf.len() > 64 * 1024 {
            return Err(invalid("response head too long"));
        }
        let mut chunk = [0u8; 4096];
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed before the response head",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// An open event stream.
pub struct EventStream {
    tcp: TcpStream,
    dechunker: Option<Dechunker>,
    scanner: Scanner,
    raw: Vec<u8>,
    body: Vec<u8>,
}

impl EventStream {
    /// `GET path` on `server` from source address `n`; succeeds once a 200 head has arrived.
    pub async fn open(
        server: SocketAddr,
        n: usize,
        path: &str,
        last_event_id: Option<&[u8]>,
    ) -> io::Result<Self> {
        let mut tcp = connect(server, n).await?;
        let mut request =
            format!("GET {path} HTTP/1.1\r\nHost: {server}\r\nAccept: text/event-stream\r\n")
                .into_bytes();
        if let Some(id) = last_event_id.filter(|id| !id.is_empty()) {
            request.extend_from_slice(b"Last-Event-ID: ");
            request.extend_from_slice(id);
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(b"\r\n");
        tcp.write_all(&request).await?;
        let mut buf = Vec::new();
        let head = read_head(&mut tcp, &mut buf).await?;
        if head.status != 200 {
            return Err(invalid(format!("GET {path}: status {}", head.status)));
        }
        Ok(Self {
            tcp,
            dechunker: head.chunked.then(Dechunker::default),
            scanner: Scanner::default(),
            raw: head.rest,
            body: Vec::with_capacity(4096),
        })
    }

    /// Reads once (waiting if nothing is there) and calls `on_event` for each event completed.
    /// `Ok(false)`: the server ended the stream.
    pub async fn read(&mut self, mut on_event: impl FnMut(Event<'_>)) -> io::Result<bool> {
        if self.raw.is_empty() {
            self.raw.reserve(8192);
            let n = self.tcp.read_buf(&mut self.raw).await?;
            if n == 0 {
                return Ok(false);
            }
        }
        let bytes = match &mut self.dechunker {
            Some(dechunker) => {
                self.body.clear();
                dechunker.feed(&self.raw, &mut self.body).map_err(invalid)?;
                &self.body[..]
            }
            None => &self.raw[..],
        };
        self.scanner.feed(bytes, &mut on_event);
        self.raw.clear();
        let ended = self.dechunker.as_ref().is_some_and(Dechunker::done);
        Ok(!ended)
    }
}

/// A keep-alive connection for publishing; it reconnects when the server closes it (nginx does
/// after 1,000 requests).
pub struct Publisher {
    server: SocketAddr,
    n: usize,
    tcp: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Publisher {
    pub async fn connect(server: SocketAddr, n: usize) -> io::Result<Self> {
        Ok(Self {
            server,
            n,
            tcp: Some(connect(server, n).await?),
            buf: Vec::new(),
        })
    }

    /// `POST path` with a JSON `body`; waits for the (2xx) response.
    pub async fn post(&mut self, path: &str, body: &str) -> io::Result<()> {
        self.post_with(path, "", body).await
    }

    /// `POST path` with `headers` (each line ending in CRLF) and a JSON `body`.
    pub async fn post_with(&mut self, path: &str, headers: &str, body: &str) -> io::Result<()> {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            self.server,
            body.len()
        );
        // A kept-alive connection the server closed meanwhile fails before any response
        // byte: the request was not read, so it is sent again on a new connection.
        let head = match self.exchange(request.as_bytes()).await {
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => {
                self.tcp = None;
                self.exchange(request.as_bytes()).await?
            }
            other => other?,
        };
        if head.close {
            self.tcp = None;
        }
        Ok(())
    }

    async fn exchange(&mut self, request: &[u8]) -> io::Result<Head> {
        if self.tcp.is_none() {
            self.buf.clear();
            self.tcp = Some(connect(self.server, self.n).await?);
        }
        let tcp = self.tcp.as_mut().expect("connected above");
        tcp.write_all(request).await?;
        let mut head = read_head(tcp, &mut self.buf).await?;
        if !(200..300).contains(&head.status) {
            return Err(invalid(format!("POST: status {}", head.status)));
        }
        // Skip the response body.
        let mut rest = std::mem::take(&mut head.rest);
        if head.chunked {
            let mut dechunker = Dechunker::default();
            let mut sink = Vec::new();
            loop {
                dechunker.feed(&rest, &mut sink).map_err(invalid)?;
                if dechunker.done() {
                    break;
                }
                rest.clear();
                if tcp.read_buf(&mut rest).await? == 0 {
                    return Err(invalid("closed inside a response"));
                }
            }
        } else if head.status != 204 {
            let length = head.content_length.unwrap_or(0);
            while rest.len() < length {
                if tcp.read_buf(&mut rest).await? == 0 {
                    return Err(invalid("closed inside a response"));
                }
            }
        }
        Ok(head)
    }
}
