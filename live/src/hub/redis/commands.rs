//! [`Commands`]: the command connection, to one Redis or to a Redis Cluster, behind one type
//! that every `redis` command, script and pipeline takes (`ConnectionLike`).

use ::redis::{
    Cmd, Pipeline, RedisFuture, Value,
    aio::{ConnectionLike, ConnectionManager},
    cluster_async::ClusterConnection,
};

/// A handle on the deployment's command connection; clones share it. With a cluster every
/// key of a deployment is in one hash slot (its prefix is a hash tag, `{prefix}`), so every
/// script and pipeline stays on one node.
#[derive(Clone)]
pub enum Commands {
    /// One Redis: reconnects by itself after a drop.
    Single(ConnectionManager),
    /// A Redis Cluster: routes each command to its slot's master, follows failovers and
    /// `MOVED` answers.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Commands {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(single) => single.req_packed_command(cmd),
            Self::Cluster(cluster) => cluster.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(single) => single.req_packed_commands(pipeline, offset, count),
            Self::Cluster(cluster) => cluster.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(single) => single.get_db(),
            Self::Cluster(cluster) => cluster.get_db(),
        }
    }
}
