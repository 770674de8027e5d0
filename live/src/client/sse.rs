//! Reading `text/event-stream` from a fetch body (the browser's `EventSource` hides the HTTP
//! status, so the tab reads the stream itself: see [`super::connection`]).
//!
//! What the HTML standard's parser does, minus what this stream never sends: lines end in
//! `\n` or `\r\n`; `event:`, `data:` (joined by `\n`) and `id:` make a message, a blank line
//! dispatches it; comments (`:`, our heartbeats) and `retry:` (the client has its own
//! backoff) are skipped; a message without data is dropped.

/// One dispatched message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    /// `event:`, or `message` when there was none.
    pub event: String,
    /// `id:` of this message, if it had one.
    pub id: Option<String>,
    pub data: String,
}

/// Turns body chunks into [`Message`]s; chunks may split lines and characters anywhere.
#[derive(Debug, Default)]
pub struct Parser {
    /// Bytes after the last complete line.
    partial: Vec<u8>,
    event: String,
    id: Option<String>,
    data: String,
    has_data: bool,
}

impl Parser {
    /// Feeds one chunk; calls `dispatch` for every message it completes.
    pub fn push(&mut self, chunk: &[u8], mut dispatch: impl FnMut(Message)) {
        self.partial.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(end) = self.partial[start..].iter().position(|&b| b == b'\n') {
            let line_end = start + end;
            let mut line = &self.partial[start..line_end];
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            let line = String::from_utf8_lossy(line).into_owned();
            start = line_end + 1;
            if let Some(message) = self.line(&line) {
                dispatch(message);
            }
        }
        self.partial.drain(..start);
    }

    fn line(&mut self, line: &str) -> Option<Message> {
        if line.is_empty() {
            let message = Message {
                event: if self.event.is_empty() {
                    "message".to_string()
                } else {
                    std::mem::take(&mut self.event)
                },
                id: self.id.take(),
                data: std::mem::take(&mut self.data),
            };
            self.event.clear();
            return std::mem::take(&mut self.has_data).then_some(message);
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.event = value.to_string(),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.id = Some(value.to_string()),
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(chunks: &[&[u8]]) -> Vec<Message> {
        let mut parser = Parser::default();
        let mut out = vec![];
        for chunk in chunks {
            parser.push(chunk, |m| out.push(m));
        }
        out
    }

    fn message(event: &str, id: Option<&str>, data: &str) -> Message {
        Message {
            event: event.into(),
            id: id.map(Into::into),
            data: data.into(),
        }
    }

    /// What the server writes: retry, hello without id, events with ids, heartbeats.
    #[test]
    fn reads_the_servers_frames() {
        let body = b"retry: 2000\nevent: hello\ndata: {\"a\":1}\n\n: ping\n\nevent: price\nid: e:prices=4\ndata: {}\n\n";
        assert_eq!(
            parse(&[body]),
            vec![
                message("hello", None, "{\"a\":1}"),
                message("price", Some("e:prices=4"), "{}"),
            ]
        );
    }

    /// Chunks split anywhere (inside a line, a CRLF, a multi-byte character) change nothing.
    #[test]
    fn chunk_boundaries_do_not_matter() {
        let body =
            "event: note\r\nid: 7\r\ndata: h\u{e9}llo\r\ndata: two\r\n\r\ndata:x\n\n".as_bytes();
        let whole = parse(&[body]);
        assert_eq!(
            whole,
            vec![
                message("note", Some("7"), "h\u{e9}llo\ntwo"),
                message("message", None, "x"),
            ]
        );
        for cut in 1..body.len() {
            assert_eq!(parse(&[&body[..cut], &body[cut..]]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(parse(&bytes), whole);
    }

    /// A block without data dispatches nothing and does not leak its name into the next one.
    #[test]
    fn blocks_without_data_are_dropped() {
        assert_eq!(
            parse(&[b"event: a\nid: 1\n\ndata: d\n\n"]),
            vec![message("message", None, "d")]
        );
    }
}
