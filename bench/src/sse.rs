//! Reading event streams off a raw socket: HTTP/1.1 chunked decoding and an SSE frame scanner,
//! both incremental (bytes may arrive split anywhere) and allocation-free per event.

/// Decodes a `Transfer-Encoding: chunked` body as it arrives.
#[derive(Debug, Default)]
pub struct Dechunker {
    state: Chunk,
    /// The chunk size read so far (state `Size`).
    size: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    #[default]
    Size,
    /// Skipping a chunk extension up to CR.
    Extension,
    SizeLf,
    /// Bytes of chunk data still to come.
    Data(usize),
    DataCr,
    DataLf,
    /// The last (zero-size) chunk arrived: the body is over.
    Done,
}

impl Dechunker {
    /// Appends the body bytes found in `input` to `out`.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
        while let Some(&byte) = input.first() {
            if let Chunk::Data(left) = self.state {
                let take = left.min(input.len());
                out.extend_from_slice(&input[..take]);
                input = &input[take..];
                self.state = if take == left {
                    Chunk::DataCr
                } else {
                    Chunk::Data(left - take)
                };
                continue;
            }
            input = &input[1..];
            self.state = match (self.state, byte) {
                (Chunk::Size, b';') => Chunk::Extension,
                (Chunk::Size, b'\r') => Chunk::SizeLf,
                (Chunk::Size, _) => {
                    let digit = (byte as char).to_digit(16).ok_or("bad chunk size")? as usize;
                    self.size = self
                        .size
                        .checked_mul(16)
                        .and_then(|s| s.checked_add(digit))
                        .ok_or("chunk size overflows")?;
                    Chunk::Size
                }
                (Chunk::Extension, b'\r') => Chunk::SizeLf,
                (Chunk::Extension, _) => Chunk::Extension,
                (Chunk::SizeLf, b'\n') if self.size == 0 => Chunk::Done,
                (Chunk::SizeLf, b'\n') => Chunk::Data(std::mem::take(&mut self.size)),
                (Chunk::DataCr, b'\r') => Chunk::DataLf,
                (Chunk::DataLf, b'\n') => Chunk::Size,
                (Chunk::Done, _) => return Ok(()),
                _ => return Err("bad chunk framing"),
            };
        }
        Ok(())
    }

    /// Whether the terminating zero-size chunk has arrived.
    pub fn done(&self) -> bool {
        self.state == Chunk::Done
    }
}

/// One dispatched SSE event, borrowed from the scanner.
#[derive(Debug, PartialEq, Eq)]
pub struct Event<'a> {
    pub data: &'a [u8],
    /// The stream's last event id (`id:` persists across events, as in browsers).
    pub last_id: &'a [u8],
}

/// Splits an event stream into events, as the SSE spec's parser does: lines end in CR, LF or
/// CRLF; `data:` lines accumulate, `id:` sets the last id, comments and other fields are
/// skipped, and a blank line dispatches.
#[derive(Debug, Default)]
pub struct Scanner {
    pending: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    last_id: Vec<u8>,
    /// The previous chunk ended in CR: a LF starting the next one belongs to it.
    after_cr: bool,
}

impl Scanner {
    /// Feeds stream bytes, calling `on_event` for every event they complete.
    pub fn feed(&mut self, mut input: &[u8], mut on_event: impl FnMut(Event<'_>)) {
        if self.after_cr && input.first() == Some(&b'\n') {
            input = &input[1..];
        }
        self.after_cr = false;
        while let Some(end) = input.iter().position(|&b| b == b'\n' || b == b'\r') {
            let line_end_cr = input[end] == b'\r';
            let rest = &input[end + 1..];
            if self.pending.is_empty() {
                self.line(&input[..end], &mut on_event);
            } else {
                let mut line = std::mem::take(&mut self.pending);
                line.extend_from_slice(&input[..end]);
                self.line(&line, &mut on_event);
                line.clear();
                self.pending = line;
            }
            input = rest;
            if line_end_cr {
                match input.first() {
                    Some(b'\n') => input = &input[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
        }
        self.pending.extend_from_slice(input);
    }

    fn line(&mut self, line: &[u8], on_event: &mut impl FnMut(Event<'_>)) {
        if line.is_empty() {
            if self.has_data {
                on_event(Event {
                    data: &self.data,
                    last_id: &self.last_id,
                });
            }
            self.data.clear();
            self.has_data = false;
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(0) => return,
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"id" if !value.contains(&0) => {
                self.last_id.clear();
                self.last_id.extend_from_slice(value);
            }
            _ => {}
        }
    }
}

/// The sequence number and publish time (ns) of a benchmark event: the numbers after `"seq":`
/// and `"t":` in its data, wherever the server put the payload.
pub fn bench_fields(data: &[u8]) -> Option<(u64, u64)> {
    Some((
        number_after(data, b"\"seq\":")?,
        number_after(data, b"\"t\":")?,
    ))
}

fn number_after(data: &[u8], key: &[u8]) -> Option<u64> {
    let at = data.windows(key.len()).position(|w| w == key)? + key.len();
    let digits = data[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&data[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

/// A benchmark event of exactly `len` bytes (at least 40): sequence number, publish time, and
/// padding.
pub fn payload(seq: u64, t: u64, len: usize) -> String {
    let mut text = format!(r#"{{"seq":{seq},"t":{t},"pad":""#);
    let pad = len.saturating_sub(text.len() + 2);
    text.extend(std::iter::repeat_n('x', pad));
    text.push_str("\"}");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(scanner: &mut Scanner, input: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        scanner.feed(input, |e| {
            out.push((
                String::from_utf8_lossy(e.data).into_owned(),
                String::from_utf8_lossy(e.last_id).into_owned(),
            ))
        });
        out
    }

    #[test]
    fn dechunks_in_any_split() {
        let body = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
        for split in 0..body.len() {
            let mut decoder = Dechunker::default();
            let mut out = Vec::new();
            decoder.feed(&body[..split], &mut out).unwrap();
            decoder.feed(&body[split..], &mut out).unwrap();
            assert_eq!(out, b"hello, world", "split at {split}");
            assert!(decoder.done());
        }
    }

    #[test]
    fn rejects_bad_framing() {
        let mut out = Vec::new();
        assert!(Dechunker::default().feed(b"zz\r\n", &mut out).is_err());
        assert!(Dechunker::default().feed(b"2\r\nabX", &mut out).is_err());
    }

    #[test]
    fn scans_events_in_any_split() {
        let stream = b"retry: 1000\r\nevent: hello\r\ndata: {}\r\n\r\n: ping\n\nid: 7\ndata: a\ndata: b\n\ndata: c\r\r";
        let expected = vec![
            ("{}".to_string(), String::new()),
            ("a\nb".to_string(), "7".to_string()),
            ("c".to_string(), "7".to_string()),
        ];
        for split in 0..stream.len() {
            let mut scanner = Scanner::default();
            let mut got = events(&mut scanner, &stream[..split]);
            got.extend(events(&mut scanner, &stream[split..]));
            assert_eq!(got, expected, "split at {split}");
        }
    }

    #[test]
    fn payload_round_trips_through_a_wrapper() {
        let data = payload(42, 123_456_789, 100);
        assert_eq!(data.len(), 100);
        let wrapped = format!(r#"{{"channel":"bench","data":{data}}}"#);
        assert_eq!(bench_fields(wrapped.as_bytes()), Some((42, 123_456_789)));
        assert_eq!(bench_fields(b"{\"hello\":1}"), None);
    }
}
