//! What comes back from Redis as events: pub/sub messages and the stream entries the scripts
//! flatten.

use std::sync::Arc;

use super::failed;
use crate::hub::{
    backend::{BackendError, Stored},
    stats::ConnectionId,
};

/// A pub/sub message: `EPOCH\nID\nNAME\nEXCEPT\nDATA` (data last: it may hold newlines).
pub(super) struct Message<'a> {
    pub epoch: &'a str,
    pub id: u64,
    pub name: &'a str,
    pub except: &'a str,
    pub data: &'a str,
}

impl<'a> Message<'a> {
    pub fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.splitn(5, '\n');
        Some(Self {
            epoch: parts.next()?,
            id: parts.next()?.parse().ok()?,
            name: parts.next()?,
            except: parts.next()?,
            data: parts.next()?,
        })
    }
}

/// The except field of a pub/sub message: `@MICROS` (when it was sent, in microseconds since
/// the Unix epoch) then the except list, comma-separated. [`except_list`] skips the time.
pub(super) fn sent_field(except: &str) -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    if except.is_empty() {
        format!("@{micros}")
    } else {
        format!("@{micros},{except}")
    }
}

/// How long ago a message with this except field was sent, if it says.
pub(super) fn sent_ago(except: &str) -> Option<std::time::Duration> {
    let micros: u64 = except.strip_prefix('@')?.split(',').next()?.parse().ok()?;
    let sent = std::time::UNIX_EPOCH + std::time::Duration::from_micros(micros);
    // A sender whose clock runs ahead shows as no lag, not as an error.
    Some(
        std::time::SystemTime::now()
            .duration_since(sent)
            .unwrap_or_default(),
    )
}

pub(super) fn except_list(text: &str) -> Box<[ConnectionId]> {
    text.split(',')
        .filter_map(|id| id.parse().ok().map(ConnectionId))
        .collect()
}

/// Stream entries flattened by the scripts (id, name, data, except) as events of `channel`.
pub(super) fn entries(
    channel: &str,
    flat: impl Iterator<Item = String>,
) -> Result<Vec<Arc<Stored>>, BackendError> {
    let channel: Arc<str> = channel.into();
    let flat: Vec<String> = flat.collect();
    flat.chunks(4)
        .map(|entry| {
            let [id, name, data, except] = entry else {
                return Err(failed("read", "odd entry"));
            };
            Ok(Arc::new(Stored::new(
                id.parse().map_err(|e| failed("read", e))?,
                channel.clone(),
                name.as_str().into(),
                data.as_str().into(),
                except_list(except),
            )))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pub/sub message splits into its five fields; the data keeps its newlines.
    #[test]
    fn messages_parse_with_data_last() {
        let message = Message::parse("e1\n42\norder:created\n7,9\n{\"a\":\n1}").unwrap();
        assert_eq!(
            (message.epoch, message.id, message.name, message.except),
            ("e1", 42, "order:created", "7,9")
        );
        assert_eq!(message.data, "{\"a\":\n1}");
        assert!(
            Message::parse("e1\nx\nn\n\n{}").is_none(),
            "id must be a number"
        );
        assert!(Message::parse("e1\n1\nn\n").is_none(), "data missing");
        assert_eq!(&*except_list("7,9"), [ConnectionId(7), ConnectionId(9)]);
        let sent = sent_field("7,9");
        assert_eq!(
            &*except_list(&sent),
            [ConnectionId(7), ConnectionId(9)],
            "{sent}"
        );
        assert!(except_list(&sent_field("")).is_empty());
        assert!(sent_ago(&sent).unwrap() < std::time::Duration::from_secs(60));
        assert_eq!(
            sent_ago("7,9"),
            None,
            "an older instance's message says nothing"
        );
        assert!(except_list("").is_empty());
    }

    /// Entries come back from the scripts flattened four at a time.
    #[test]
    fn entries_decode_in_fours() {
        let flat = ["3", "n", "{}", "", "4", "m", "[1]", "5"].map(String::from);
        let events = entries("c", flat.into_iter()).unwrap();
        assert_eq!(events.iter().map(|e| e.id).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(&*events[1].except, [ConnectionId(5)]);
        assert!(entries("c", ["1", "n"].map(String::from).into_iter()).is_err());
    }
}
