//! One connection per address, opened on first use and reopened with backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use log::{debug, info};
use rocketmq_remoting::{RemotingCommand, DEFAULT_MAX_FRAME};
use tokio::time::Instant;

use crate::connection::{deadline_after, Connection, InboundHandler, UnsupportedRequests};
use crate::error::{ClientError, Result};
use crate::transport::{Dialer, RequestHook, TcpDialer};

/// Connection settings shared by every address.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// How long one connect attempt may take.
    pub connect_timeout: Duration,
    /// Largest frame accepted from a peer.
    pub max_frame: usize,
    /// After a failed connect, requests to the address fail at once for this long;
    /// doubles per further failure.
    pub reconnect_backoff_min: Duration,
    /// Upper bound of the reconnect wait.
    pub reconnect_backoff_max: Duration,
    /// Frames a connection queues for its writer before senders must wait (requests,
    /// within their budget) or fail (synchronous oneway). At least 1. 4096 frames is far more than
    /// any healthy peer lets pile up (the writer drains the queue into each write), yet
    /// bounds what a stuck peer can make us hold.
    pub write_queue_capacity: usize,
    /// A connection with no reads, no writes and no request in flight for this long is
    /// closed; the next request opens a new one. `Duration::ZERO` disables the check.
    /// Default 120 s, Java's `clientChannelMaxIdleTimeSeconds`. A request in flight is
    /// never cut short by it, whatever its own timeout.
    pub idle_timeout: Duration,
    /// After this many requests in a row time out on one connection with nothing read
    /// from the peer in between, the connection is closed so the next request dials a
    /// new one (a half-open socket cannot stall requests forever). 0 disables it. Only
    /// requests whose own budget ran out count; a long budget is never held against one.
    pub max_consecutive_timeouts: u32,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            connect_timeout: Duration::from_secs(3),
            max_frame: DEFAULT_MAX_FRAME,
            reconnect_backoff_min: Duration::from_millis(100),
            reconnect_backoff_max: Duration::from_secs(5),
            write_queue_capacity: 4096,
            idle_timeout: Duration::from_secs(120),
            max_consecutive_timeouts: 3,
        }
    }
}

#[derive(Default)]
struct Slot {
    connection: Option<Arc<Connection>>,
    /// Connect attempts that failed in a row.
    failures: u32,
    /// No new connect attempt before this instant.
    retry_at: Option<Instant>,
    /// Serialises dialing so concurrent callers share one new connection.
    dialing: Arc<tokio::sync::Mutex<()>>,
}

/// Sends requests to any address over pooled connections.
#[derive(Clone)]
pub struct RemotingClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: ConnectionConfig,
    dialer: Arc<dyn Dialer>,
    hooks: Vec<Arc<dyn RequestHook>>,
    handler: Arc<dyn InboundHandler>,
    slots: Mutex<HashMap<String, Slot>>,
}

impl RemotingClient {
    /// Plain TCP, no hooks, unknown broker requests answered "not supported".
    pub fn new(config: ConnectionConfig) -> Self {
        Self::with_parts(
            config,
            Arc::new(TcpDialer),
            Vec::new(),
            Arc::new(UnsupportedRequests),
        )
    }

    /// Full control over the dialer, request hooks and the inbound request handler.
    pub fn with_parts(
        config: ConnectionConfig,
        dialer: Arc<dyn Dialer>,
        hooks: Vec<Arc<dyn RequestHook>>,
        handler: Arc<dyn InboundHandler>,
    ) -> Self {
        RemotingClient {
            inner: Arc::new(Inner {
                config,
                dialer,
                hooks,
                handler,
                slots: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Sends `request` to `addr` and waits for the response, at most `timeout`
    /// (connecting and waiting for room in the write queue included). The budget may be
    /// as long as a long-poll needs: see [`Connection::request`].
    pub async fn request(
        &self,
        addr: &str,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand> {
        let deadline = deadline_after(timeout);
        let connection = self.connection(addr, deadline).await?;
        self.apply_hooks(addr, &mut request);
        let remaining = deadline.saturating_duration_since(Instant::now());
        let response = connection.request(request, remaining).await?;
        // ACL refusals become their typed errors here, once for every caller: whatever the
        // request, the cause (credentials, grants) and the remedy are the same.
        match crate::acl::refusal_error(addr, &response) {
            Some(refused) => Err(refused),
            None => Ok(response),
        }
    }

    /// Sends `request` to `addr` without waiting for a response. Connecting and waiting
    /// for room in a full write queue share one budget of `connect_timeout`; past it the
    /// call fails with [`ClientError::Timeout`], as Java's `invokeOneway` gives up when
    /// its permits stay taken.
    pub async fn oneway(&self, addr: &str, mut request: RemotingCommand) -> Result<()> {
        let deadline = deadline_after(self.inner.config.connect_timeout);
        let connection = self.connection(addr, deadline).await?;
        self.apply_hooks(addr, &mut request);
        let remaining = deadline.saturating_duration_since(Instant::now());
        connection.oneway_within(request, remaining).await
    }

    /// Closes every connection. Later requests open new ones.
    pub fn close_all(&self) {
        let mut slots = self.lock_slots();
        for (_, slot) in slots.drain() {
            if let Some(connection) = slot.connection {
                connection.close();
            }
        }
    }

    /// Addresses with a live connection.
    pub fn connected_addrs(&self) -> Vec<String> {
        self.lock_slots()
            .iter()
            .filter(|(_, s)| s.connection.as_ref().is_some_and(|c| !c.is_closed()))
            .map(|(a, _)| a.clone())
            .collect()
    }

    fn apply_hooks(&self, addr: &str, request: &mut RemotingCommand) {
        for hook in &self.inner.hooks {
            hook.before_request(addr, request);
        }
    }

    fn lock_slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.inner
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A live connection to `addr`, dialing one if needed.
    async fn connection(&self, addr: &str, deadline: Instant) -> Result<Arc<Connection>> {
        let dialing = {
            let mut slots = self.lock_slots();
            let slot = slots.entry(addr.to_owned()).or_default();
            if let Some(live) = slot.connection.as_ref().filter(|c| !c.is_closed()) {
                return Ok(live.clone());
            }
            slot.dialing.clone()
        };
        let _dial_guard = tokio::time::timeout_at(deadline, dialing.lock())
            .await
            .map_err(|_| self.connect_timeout_error(addr))?;
        // Another caller may have connected while this one waited for the guard.
        let retry_at = {
            let slots = self.lock_slots();
            let slot = slots.get(addr);
            if let Some(live) = slot
                .and_then(|s| s.connection.as_ref())
                .filter(|c| !c.is_closed())
            {
                return Ok(live.clone());
            }
            slot.and_then(|s| s.retry_at)
        };
        // Inside the backoff window, fail at once rather than wait: callers with other
        // peers (NameServer list, other brokers) move on, and the rest retry on their own pace.
        if let Some(retry_at) = retry_at.filter(|at| *at > Instant::now()) {
            return Err(ClientError::network(
                addr,
                format!(
                    "{addr} is unreachable; next connect attempt in {} ms",
                    retry_at
                        .saturating_duration_since(Instant::now())
                        .as_millis()
                ),
            ));
        }
        let budget = deadline
            .saturating_duration_since(Instant::now())
            .min(self.inner.config.connect_timeout);
        match self.inner.dialer.dial(addr, budget).await {
            Ok(stream) => {
                let connection = Connection::start_with(
                    addr,
                    stream,
                    &self.inner.config,
                    self.inner.handler.clone(),
                );
                let mut slots = self.lock_slots();
                let slot = slots.entry(addr.to_owned()).or_default();
                if slot.failures > 0 {
                    info!(
                        "reconnected to {addr} after {} failed attempts",
                        slot.failures
                    );
                }
                slot.connection = Some(connection.clone());
                slot.failures = 0;
                slot.retry_at = None;
                debug!("connected to {addr}");
                Ok(connection)
            }
            Err(err) => {
                let mut slots = self.lock_slots();
                let slot = slots.entry(addr.to_owned()).or_default();
                slot.failures = slot.failures.saturating_add(1);
                slot.retry_at = Some(Instant::now() + self.backoff(slot.failures));
                if let Some(failure) = crate::tls::handshake_failure(&err) {
                    Err(ClientError::Tls {
                        message: format!("connect to {addr} failed: {failure}"),
                        reason: failure.reason.clone(),
                        addr: Some(addr.to_owned()),
                    })
                } else if err.kind() == std::io::ErrorKind::TimedOut {
                    Err(ClientError::Timeout {
                        what: format!("connect to {addr}"),
                        timeout_ms: budget.as_millis() as u64,
                        addr: Some(addr.to_owned()),
                    })
                } else {
                    Err(ClientError::network(
                        addr,
                        format!("connect to {addr} failed: {err}"),
                    ))
                }
            }
        }
    }

    fn backoff(&self, failures: u32) -> Duration {
        let config = &self.inner.config;
        let factor = 1u32 << failures.saturating_sub(1).min(16);
        config
            .reconnect_backoff_min
            .saturating_mul(factor)
            .min(config.reconnect_backoff_max)
    }

    fn connect_timeout_error(&self, addr: &str) -> ClientError {
        ClientError::Timeout {
            what: format!("waiting for a connection to {addr}"),
            timeout_ms: self.inner.config.connect_timeout.as_millis() as u64,
            addr: Some(addr.to_owned()),
        }
    }
}
