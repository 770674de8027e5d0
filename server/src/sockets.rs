//! The open connections' sockets, for two `/metrics` gauges: how many are open
//! (`http_connections_open`) and how many bytes wait in their kernel send queues
//! (`http_connections_unsent_bytes`). A reader that stops reading shows there: what the
//! server wrote to it piles up in its socket (up to the send buffer; beyond that the stream
//! stops taking events from its channel's ring, and the reader gets a resync).
//!
//! Each connection's socket is wrapped in [`Counted`], which is in the registry exactly as long
//! as the socket is open: it leaves before the socket closes, so a scrape never asks about a
//! closed (or reused) descriptor.

use std::{
    collections::HashMap,
    io,
    os::fd::{AsRawFd, RawFd},
    pin::Pin,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The registry: the descriptor of every open connection.
#[derive(Debug, Default)]
pub struct Sockets {
    next: AtomicU64,
    open: Mutex<HashMap<u64, RawFd>>,
}

impl Sockets {
    /// Registers `socket` until the returned wrapper drops.
    pub fn add<S: AsRawFd>(self: &Arc<Self>, socket: S) -> Counted<S> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.locked().insert(id, socket.as_raw_fd());
        Counted {
            _entry: Entry {
                sockets: self.clone(),
                id,
            },
            socket,
        }
    }

    /// Open connections.
    pub fn count(&self) -> usize {
        self.locked().len()
    }

    /// Bytes written to the open connections that their peers have not yet taken (the kernel's
    /// send queues: unsent, or sent and not acknowledged). One `ioctl` per connection, under
    /// the registry's lock, so no descriptor closes meanwhile.
    pub fn unsent(&self) -> u64 {
        self.locked().values().map(|&fd| unsent(fd)).sum()
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, HashMap<u64, RawFd>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The send queue of `fd` (0 when the kernel will not say).
fn unsent(fd: RawFd) -> u64 {
    let mut queued: libc::c_int = 0;
    // SAFETY: `fd` is an open socket (it leaves the registry before it closes, and the caller
    // holds the registry's lock); TIOCOUTQ writes one int through the pointer, which points at
    // a live `c_int`.
    let ok = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut queued) } == 0;
    if ok {
        u64::try_from(queued).unwrap_or(0)
    } else {
        0
    }
}

/// Takes the registry entry out when dropped.
#[derive(Debug)]
struct Entry {
    sockets: Arc<Sockets>,
    id: u64,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.sockets.locked().remove(&self.id);
    }
}

/// A socket that counts in [`Sockets`] while it is open; reads and writes go straight through
/// (vectored writes included).
#[derive(Debug)]
pub struct Counted<S> {
    // Declared first, so dropped first: out of the registry before the socket closes.
    _entry: Entry,
    socket: S,
}

impl<S> Counted<S> {
    /// The socket itself.
    pub fn get_ref(&self) -> &S {
        &self.socket
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A connection counts while its socket is open; what its peer has not read shows as
    /// unsent, and leaves with it.
    #[tokio::test]
    async fn open_sockets_and_their_unsent_bytes_are_counted() {
        let sockets = Arc::new(Sockets::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        let mut counted = sockets.add(accepted);
        assert_eq!(sockets.count(), 1);
        // Written, never read by `peer`: it sits in the queue (or the peer's receive buffer,
        // once acknowledged), so send a lot and let some of it stay.
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..64 {
            match tokio::time::timeout(
                std::time::Duration::from_millis(50),
                counted.write_all(&chunk),
            )
            .await
            {
                Ok(written) => written.unwrap(),
                Err(_) => break,
            }
        }
        assert!(sockets.unsent() > 0, "nothing unsent");
        drop(counted);
        assert_eq!((sockets.count(), sockets.unsent()), (0, 0));
        drop(peer);
    }
}
