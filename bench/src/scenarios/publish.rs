//! The publisher side of [`super::delivery`]: events at a fixed schedule over keep-alive
//! connections, one per request or in batches.

use std::{cell::Cell, rc::Rc, time::Duration};

use tokio::{task::spawn_local, time::sleep_until};

use super::{Clock, EVENT_BYTES, Load};
use crate::{
    client::Publisher,
    servers::{self, Running},
    sse::payload,
};

/// Publishes `first..=last` on every topic at `rate` events/s in all, topic after topic, over
/// `load.publishers` keep-alive connections (each topic always on the same one, so its events
/// stay in order). With `load.batch` > 1, each request carries that many events and goes when
/// its last one is due (each stamped with its own due time). Returns (published, errors).
pub(super) async fn publish(
    server: &Running,
    load: &Load,
    first: u64,
    last: u64,
    rate: f64,
    clock: Clock,
) -> (u64, u64) {
    let topics = load.topics();
    let start = tokio::time::Instant::now();
    let published = Rc::new(Cell::new(0u64));
    let errors = Rc::new(Cell::new(0u64));
    let tasks: Vec<_> = (0..load.publishers)
        .map(|k| {
            let (kind, addr) = (server.kind, server.addr);
            let mine: Vec<(usize, String, String)> = topics
                .iter()
                .enumerate()
                .filter(|(i, _)| i % load.publishers == k)
                .map(|(i, topic)| (i, kind.publish_path(*topic), kind.channel(*topic)))
                .collect();
            let count = topics.len();
            let batch = kind
                .batch_path()
                .filter(|_| load.batch > 1)
                .map(|path| (path, load.batch));
            let (published, errors) = (published.clone(), errors.clone());
            spawn_local(async move {
                let Ok(mut publisher) = Publisher::connect(addr, 10_000 + k).await else {
                    errors.set(errors.get() + 1);
                    return;
                };
                let auth = format!("Authorization: Bearer {}\r\n", servers::OPS_TOKEN);
                let mut pending = Vec::new();
                let mut due_last = start;
                for seq in first..=last {
                    for (i, path, channel) in &mine {
                        let index = (seq - first) as f64 * count as f64 + *i as f64;
                        let due = start + Duration::from_secs_f64(index / rate);
                        // Stamped with the time it was due, not the time it went out: a server
                        // that holds up its publisher must not look faster for it.
                        let body = payload(seq, clock.ns_at(due.into_std()), EVENT_BYTES);
                        let sent = match batch {
                            None => {
                                sleep_until(due).await;
                                publisher.post(path, &body).await.map(|()| 1)
                            }
                            Some((batch_path, size)) => {
                                pending.push(format!(
                                    r#"{{"channel":"{channel}","event":"bench","data":{body}}}"#
                                ));
                                due_last = due;
                                if pending.len() < size {
                                    continue;
                                }
                                sleep_until(due).await;
                                send_batch(&mut publisher, batch_path, &auth, &mut pending).await
                            }
                        };
                        match sent {
                            Ok(n) => published.set(published.get() + n),
                            Err(err) => {
                                errors.set(errors.get() + 1);
                                eprintln!("    publish {}: {err}", kind.name());
                                return;
                            }
                        }
                    }
                }
                if let (Some((batch_path, _)), false) = (batch, pending.is_empty()) {
                    sleep_until(due_last).await;
                    match send_batch(&mut publisher, batch_path, &auth, &mut pending).await {
                        Ok(n) => published.set(published.get() + n),
                        Err(_) => errors.set(errors.get() + 1),
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    (published.get(), errors.get())
}

/// Posts the events in `pending` as one batch and empties it; how many it carried.
async fn send_batch(
    publisher: &mut Publisher,
    path: &str,
    auth: &str,
    pending: &mut Vec<String>,
) -> std::io::Result<u64> {
    let body = format!(r#"{{"events":[{}]}}"#, pending.join(","));
    publisher.post_with(path, auth, &body).await?;
    let n = pending.len() as u64;
    pending.clear();
    Ok(n)
}
