//! [`Redis::publish_all`]: events published by one script ([`super::PUBLISH`]), one or a whole
//! batch: one round trip and one script call, ids and fan-out as for one event each.

use std::sync::Arc;

use super::{Redis, decode};
use crate::hub::backend::{BackendError, NewEvent, Stored};

impl Redis {
    /// Publishes `events` (channel, history, event) in order; all or none.
    pub(super) async fn publish_all(
        &self,
        events: Vec<(&str, usize, NewEvent)>,
    ) -> Result<Vec<Arc<Stored>>, BackendError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = self.invoke(&self.publish);
        invocation.arg(self.ttl);
        for (channel, history, event) in &events {
            let except = event
                .except
                .iter()
                .map(|id| id.0.to_string())
                .collect::<Vec<_>>()
                .join(",");
            // The message's except list leads with the time it was sent (`@MICROS`), which
            // no instance takes for a connection id: the receivers' pub/sub lag.
            let sent = decode::sent_field(&except);
            invocation
                .key(self.keys.offset(channel))
                .key(self.keys.log(channel))
                .arg(*history)
                .arg(&*event.name)
                .arg(&*event.data)
                .arg(except)
                .arg(self.keys.publish(channel))
                .arg(sent);
        }
        let reply: Vec<String> = self.run("publish", &invocation).await?;
        let mut reply = reply.into_iter();
        let (Some(epoch), Some(issued)) = (reply.next(), reply.next()) else {
            return Err(super::failed("publish", "short reply"));
        };
        let issued = issued.parse().map_err(|e| super::failed("publish", e))?;
        self.adopt(&epoch, Some(issued));
        let ids = reply
            .map(|id| id.parse::<u64>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| super::failed("publish", e))?;
        if ids.len() != events.len() {
            return Err(super::failed("publish", "short reply"));
        }
        Ok(events
            .into_iter()
            .zip(ids)
            .map(|((channel, _, event), id)| {
                Arc::new(Stored::new(
                    id,
                    channel.into(),
                    event.name,
                    event.data,
                    event.except,
                ))
            })
            .collect())
    }
}
