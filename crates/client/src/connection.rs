//! One multiplexed connection to one address.
//!
//! A writer task owns the write half and coalesces queued frames into few writes; a
//! reader task owns the read half, matches responses to pending requests by opaque and
//! hands requests the peer starts (brokers do) to an [`InboundHandler`], each on a
//! blocking-pool task of its own so a handler that panics or hangs cannot take the
//! reader with it. A third task closes the connection once it has been idle for
//! [`ConnectionConfig::idle_timeout`].
//!
//! Whatever ends any of these tasks (an I/O error, an undecodable frame, a panic, an
//! abort), a drop guard inside it closes the connection: it is marked closed, every
//! pending request fails at once, and the other tasks are stopped.
//!
//! Dead peers: besides the idle check and the TCP keepalive the dialer sets, a connection
//! on which [`ConnectionConfig::max_consecutive_timeouts`] requests in a row ran out of
//! time, with nothing at all read from the peer in between, is closed; the next request
//! to that address dials a new one. A request only counts once its own budget has run
//! out, so a long-poll pull given a 30 s budget waits its 30 s without being taken for a
//! dead peer, and the idle check never closes a connection with requests in flight.
//!
//! Backpressure: frames wait in a bounded queue ([`ConnectionConfig::write_queue_capacity`]).
//! [`Connection::request`] waits for room within its own budget; [`Connection::oneway`]
//! is synchronous and fails at once when the queue is full (see there why).
//!
//! Why requests are not written from the caller's task when the writer is idle: the
//! hop it would save is cheap. The caller runs on a runtime worker, and tokio puts the
//! task it wakes (the writer) in that worker's LIFO slot without waking another thread,
//! so the writer runs on the same thread as soon as the caller awaits its response: one
//! task poll, no context switch. Under load it would also turn the writer's one coalesced
//! write per batch into one write per caller. Measured with a throwaway probe (one
//! request in flight to a loopback echo peer, caller on a worker, release build): 8 to
//! 12 us and one voluntary context switch per request either way. What does cost is a
//! caller off the runtime (the JavaScript thread): then the writer's wake-up crosses
//! threads, in series with the request. Such a caller can write its frame itself inside
//! [`caller_writes`] (see the `writer` module).

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use log::{debug, warn};
use rocketmq_remoting::codes::response;
use rocketmq_remoting::RemotingCommand;
use tokio::io::{AsyncReadExt, ReadHalf};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::error::{ClientError, Result};
use crate::remoting_client::ConnectionConfig;
use crate::transport::Stream;

mod writer;

pub use writer::caller_writes;
use writer::{Direct, SharedWriter};

/// Process-wide request ids: unique across connections, which makes logs unambiguous.
static NEXT_OPAQUE: AtomicI32 = AtomicI32::new(1);

fn next_opaque() -> i32 {
    // Wrapping is fine: a reused id only needs to be unique among in-flight requests.
    NEXT_OPAQUE.fetch_add(1, Ordering::Relaxed) & i32::MAX
}

/// Largest batch of queued frames the writer joins into one write.
const WRITE_COALESCE_BYTES: usize = 256 * 1024;

/// Ceiling for [`ConnectionConfig::write_queue_capacity`] (tokio's channel has a limit).
const MAX_WRITE_QUEUE_CAPACITY: usize = 1 << 24;

/// `now + timeout`, or a deadline decades away for a timeout too large to add.
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(60 * 60 * 24 * 365 * 30))
}

/// Receives requests the peer starts on a connection.
///
/// Each request is handled on a task of its own on tokio's blocking pool: a handler may
/// block or panic without stopping the connection's reader (a panic is logged and, for
/// a request that expects an answer, answered SYSTEM_ERROR, as a Java client answers a
/// processor's exception). Requests are therefore not handled in arrival order. A handler
/// runs inside the runtime, so it may `tokio::spawn` async work and answer from there.
pub trait InboundHandler: Send + Sync + 'static {
    /// Handles `request`. Reply through `reply` unless the request is oneway.
    fn on_request(&self, request: RemotingCommand, reply: Responder);
}

/// Answers every request the client does not understand, as a Java client would
/// after logging it: REQUEST_CODE_NOT_SUPPORTED, and nothing for oneway requests.
#[derive(Debug, Default)]
pub struct UnsupportedRequests;

impl InboundHandler for UnsupportedRequests {
    fn on_request(&self, request: RemotingCommand, reply: Responder) {
        debug!("{}: unhandled request code {}", reply.addr(), request.code);
        if !request.is_oneway() {
            reply.send(RemotingCommand::response_to(
                &request,
                response::REQUEST_CODE_NOT_SUPPORTED,
                Some(format!("request code {} not supported", request.code)),
            ));
        }
    }
}

/// Sends responses to requests the peer started.
#[derive(Clone)]
pub struct Responder {
    addr: Arc<str>,
    frames: mpsc::Sender<Bytes>,
    /// The connection's runtime: `send` may be called from any thread (a JS callback,
    /// say) and still needs somewhere to wait for room.
    runtime: tokio::runtime::Handle,
}

impl Responder {
    /// The peer's address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Queues `response`. When the write queue is full, a task waits for room, so the
    /// caller never blocks; the response is dropped if the connection closes meanwhile.
    pub fn send(&self, response: RemotingCommand) {
        let Some(frame) = self.encode(&response) else {
            return;
        };
        match self.frames.try_send(frame) {
            Ok(()) | Err(TrySendError::Closed(_)) => {}
            Err(TrySendError::Full(frame)) => {
                let frames = self.frames.clone();
                self.runtime.spawn(async move {
                    let _ = frames.send(frame).await;
                });
            }
        }
    }

    /// Queues `response`, waiting for room in the write queue.
    pub async fn send_async(&self, response: RemotingCommand) -> Result<()> {
        let frame = response.to_bytes()?;
        self.frames
            .send(frame)
            .await
            .map_err(|_| closed_error(&self.addr))
    }

    fn encode(&self, response: &RemotingCommand) -> Option<Bytes> {
        match response.to_bytes() {
            Ok(frame) => Some(frame),
            Err(err) => {
                warn!("{}: cannot encode response: {err}", self.addr);
                None
            }
        }
    }
}

type PendingMap = Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>;

/// What the connection's tasks and its handle share.
struct Shared {
    addr: Arc<str>,
    pending: PendingMap,
    closed: AtomicBool,
    /// The reader, writer and idle watcher; aborted on close.
    tasks: Mutex<Vec<AbortHandle>>,
    /// When the connection started; `last_io_ms` counts from here.
    started: Instant,
    /// Milliseconds after `started` of the last read or write that moved bytes.
    last_io_ms: AtomicU64,
    /// Requests that ran out of time since the peer last sent a byte.
    timeouts_since_read: AtomicU32,
    /// The write half: the writer task's, and a caller's for a direct write.
    writer: SharedWriter,
}

impl Shared {
    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Marks the connection closed, fails every pending request and stops the tasks.
    /// Idempotent, and safe to call from a drop guard during a panic.
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        // Dropping the senders wakes every waiter with a "closed" error.
        let failed = std::mem::take(&mut *lock(&self.pending));
        drop(failed);
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
        self.writer.close();
    }

    fn touch(&self) {
        let now = Instant::now().saturating_duration_since(self.started);
        self.last_io_ms
            .store(now.as_millis() as u64, Ordering::Relaxed);
    }

    fn last_io(&self) -> Instant {
        self.started + Duration::from_millis(self.last_io_ms.load(Ordering::Relaxed))
    }
}

/// Closes the connection when the task holding it ends, however it ends.
struct CloseOnDrop(Arc<Shared>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Removes a request's pending entry if the request ends without its response
/// (timeout, or the caller dropping the future).
struct PendingEntry<'a> {
    shared: &'a Shared,
    opaque: i32,
    /// False once the reader or a close has already taken the entry out.
    armed: bool,
}

impl Drop for PendingEntry<'_> {
    fn drop(&mut self) {
        if self.armed {
            lock(&self.shared.pending).remove(&self.opaque);
        }
    }
}

/// A live connection. Cheap to share behind an `Arc`.
pub struct Connection {
    shared: Arc<Shared>,
    frames: mpsc::Sender<Bytes>,
    max_consecutive_timeouts: u32,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.shared.addr)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Connection {
    /// Takes over `stream` and starts its tasks, with default settings apart from
    /// `max_frame`.
    pub fn start(
        addr: &str,
        stream: Box<dyn Stream>,
        max_frame: usize,
        handler: Arc<dyn InboundHandler>,
    ) -> Arc<Connection> {
        let config = ConnectionConfig {
            max_frame,
            ..ConnectionConfig::default()
        };
        Self::start_with(addr, stream, &config, handler)
    }

    /// Takes over `stream` and starts its tasks. Of `config`, the frame limit, the write
    /// queue capacity, the idle timeout and the timeout count apply here.
    pub fn start_with(
        addr: &str,
        stream: Box<dyn Stream>,
        config: &ConnectionConfig,
        handler: Arc<dyn InboundHandler>,
    ) -> Arc<Connection> {
        let (read_half, write_half) = tokio::io::split(stream);
        let capacity = config
            .write_queue_capacity
            .clamp(1, MAX_WRITE_QUEUE_CAPACITY);
        let (frames_tx, frames_rx) = mpsc::channel(capacity);
        let addr: Arc<str> = Arc::from(addr);
        let shared = Arc::new(Shared {
            addr: addr.clone(),
            pending: Mutex::default(),
            closed: AtomicBool::new(false),
            tasks: Mutex::default(),
            started: Instant::now(),
            last_io_ms: AtomicU64::new(0),
            timeouts_since_read: AtomicU32::new(0),
            writer: SharedWriter::new(write_half),
        });
        let writer = tokio::spawn(write_loop(CloseOnDrop(shared.clone()), frames_rx));
        let responder = Responder {
            addr,
            frames: frames_tx.clone(),
            runtime: tokio::runtime::Handle::current(),
        };
        let reader = tokio::spawn(read_loop(
            CloseOnDrop(shared.clone()),
            read_half,
            config.max_frame,
            handler,
            responder,
        ));
        let mut tasks = vec![writer.abort_handle(), reader.abort_handle()];
        if !config.idle_timeout.is_zero() {
            let watcher =
                tokio::spawn(idle_watch(CloseOnDrop(shared.clone()), config.idle_timeout));
            tasks.push(watcher.abort_handle());
        }
        {
            // A task that already ended has closed the connection; then stop the rest
            // here, since its close() found no handles to abort.
            let mut registered = lock(&shared.tasks);
            if shared.is_closed() {
                tasks.iter().for_each(AbortHandle::abort);
            } else {
                registered.extend(tasks);
            }
        }
        Arc::new(Connection {
            shared,
            frames: frames_tx,
            max_consecutive_timeouts: config.max_consecutive_timeouts,
        })
    }

    /// The peer's address.
    pub fn addr(&self) -> &str {
        &self.shared.addr
    }

    /// Whether the connection has failed or been closed.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Frames waiting in the write queue (not yet taken by the writer). Never more than
    /// [`ConnectionConfig::write_queue_capacity`].
    pub fn queued_frames(&self) -> usize {
        self.frames.max_capacity() - self.frames.capacity()
    }

    /// Sends `request` and waits for its response, at most `timeout` in all: waiting
    /// for room in the write queue and for the response share the one budget.
    ///
    /// The budget may be long (a long-poll pull passes the broker's suspend time plus a
    /// margin): waiting is never held against the connection. Only a request whose
    /// budget runs out counts towards [`ConnectionConfig::max_consecutive_timeouts`].
    pub async fn request(
        &self,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand> {
        let deadline = deadline_after(timeout);
        let opaque = next_opaque();
        request.opaque = opaque;
        let frame = request.to_bytes()?;
        let (tx, rx) = oneshot::channel();
        lock(&self.shared.pending).insert(opaque, tx);
        let entry = PendingEntry {
            shared: &self.shared,
            opaque,
            armed: true,
        };
        // Re-check after registering: a connection that closed in between has already
        // drained the pending map and would never answer this request.
        if self.is_closed() {
            return Err(self.closed_error());
        }
        let frame = match self.write_on_caller(frame) {
            Ok(None) => {
                return self
                    .await_response(&request, rx, entry, deadline, timeout)
                    .await
            }
            Ok(Some(frame)) => frame,
            Err(err) => return Err(err),
        };
        match self.frames.try_send(frame) {
            Ok(()) => {}
            Err(TrySendError::Closed(_)) => return Err(self.closed_error()),
            Err(TrySendError::Full(frame)) => {
                match tokio::time::timeout_at(deadline, self.frames.reserve()).await {
                    Ok(Ok(permit)) => permit.send(frame),
                    Ok(Err(_)) => return Err(self.closed_error()),
                    Err(_) => {
                        return Err(self.timed_out(
                            format!(
                                "request code {} to {} (waiting for room in the write queue)",
                                request.code, self.shared.addr
                            ),
                            timeout,
                        ))
                    }
                }
            }
        }
        self.await_response(&request, rx, entry, deadline, timeout)
            .await
    }

    /// Inside [`caller_writes`], writes `frame` from this thread when the connection is
    /// idle. `Ok(None)`: written (any tail is the writer task's now); `Ok(Some)`: queue it.
    fn write_on_caller(&self, frame: Bytes) -> Result<Option<Bytes>> {
        if !writer::writes_on_caller() || self.queued_frames() > 0 {
            return Ok(Some(frame));
        }
        match self.shared.writer.try_write(frame, || self.shared.touch()) {
            Direct::Written { wake_writer } => {
                // An empty frame only wakes the writer, which writes the tail first. A
                // full queue needs no wake: the writer is busy and will get to it.
                if wake_writer {
                    let _ = self.frames.try_send(Bytes::new());
                }
                Ok(None)
            }
            Direct::Busy(frame) => Ok(Some(frame)),
            Direct::Failed(err) => {
                debug!("{}: write failed: {err}", self.shared.addr);
                self.close();
                Err(self.closed_error())
            }
        }
    }

    async fn await_response(
        &self,
        request: &RemotingCommand,
        rx: oneshot::Receiver<RemotingCommand>,
        mut entry: PendingEntry<'_>,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<RemotingCommand> {
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(response)) => {
                entry.armed = false;
                Ok(response)
            }
            Ok(Err(_)) => {
                entry.armed = false;
                Err(self.closed_error())
            }
            Err(_) => Err(self.timed_out(
                format!("request code {} to {}", request.code, self.shared.addr),
                timeout,
            )),
        }
    }

    /// Sends `request` without waiting for (or expecting) a response.
    ///
    /// This stays synchronous, so it cannot wait for room: when the write queue is full
    /// it fails at once with a [`ClientError::Network`] error ("write queue full"), which
    /// callers treat like any transport failure. A full queue means the peer has not
    /// taken thousands of frames; queueing more would only grow memory without bound.
    /// [`crate::RemotingClient::oneway`], which is async, waits for room instead.
    pub fn oneway(&self, request: RemotingCommand) -> Result<()> {
        let frame = Self::oneway_frame(request)?;
        if self.is_closed() {
            return Err(self.closed_error());
        }
        match self.frames.try_send(frame) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(_)) => Err(self.closed_error()),
            Err(TrySendError::Full(_)) => Err(ClientError::network(
                &self.shared.addr,
                format!(
                    "write queue to {} full ({} frames)",
                    self.shared.addr,
                    self.frames.max_capacity()
                ),
            )),
        }
    }

    /// Like [`Connection::oneway`], but waits up to `timeout` for room in the write
    /// queue, then fails with [`ClientError::Timeout`].
    pub async fn oneway_within(&self, request: RemotingCommand, timeout: Duration) -> Result<()> {
        let frame = Self::oneway_frame(request)?;
        if self.is_closed() {
            return Err(self.closed_error());
        }
        match tokio::time::timeout_at(deadline_after(timeout), self.frames.reserve()).await {
            Ok(Ok(permit)) => {
                permit.send(frame);
                Ok(())
            }
            Ok(Err(_)) => Err(self.closed_error()),
            Err(_) => Err(ClientError::Timeout {
                what: format!(
                    "oneway request to {} (waiting for room in the write queue)",
                    self.shared.addr
                ),
                timeout_ms: timeout.as_millis() as u64,
                addr: Some(self.shared.addr.to_string()),
            }),
        }
    }

    /// Stops the tasks; pending requests fail with a network error.
    pub fn close(&self) {
        self.shared.close();
    }

    fn oneway_frame(mut request: RemotingCommand) -> Result<Bytes> {
        request.opaque = next_opaque();
        request.set_oneway();
        Ok(request.to_bytes()?)
    }

    /// Counts a request that ran out of time, closing the connection once too many did
    /// in a row with nothing read from the peer in between.
    fn timed_out(&self, what: String, timeout: Duration) -> ClientError {
        let limit = self.max_consecutive_timeouts;
        let count = self
            .shared
            .timeouts_since_read
            .fetch_add(1, Ordering::AcqRel)
            + 1;
        if limit > 0 && count >= limit && !self.is_closed() {
            warn!(
                "{}: {count} requests timed out with nothing read from the peer; closing the connection",
                self.shared.addr
            );
            self.close();
        }
        ClientError::Timeout {
            what,
            timeout_ms: timeout.as_millis() as u64,
            addr: Some(self.shared.addr.to_string()),
        }
    }

    fn closed_error(&self) -> ClientError {
        closed_error(&self.shared.addr)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.close();
    }
}

fn closed_error(addr: &str) -> ClientError {
    ClientError::network(addr, format!("connection to {addr} closed"))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave the maps inconsistent
    // (single inserts/removes), so a poisoned lock is still usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn write_loop(guard: CloseOnDrop, mut frames: mpsc::Receiver<Bytes>) {
    let shared = &guard.0;
    let progress = || shared.touch();
    let mut batch = BytesMut::new();
    while let Some(first) = frames.recv().await {
        // Let the other tasks that are ready run first: the pull tasks woken by one read
        // of responses each queue their next pull, and those go out in this one write
        // instead of one write (and one wake-up of the broker) each.
        tokio::task::yield_now().await;
        let result = if first.len() >= WRITE_COALESCE_BYTES {
            // A large frame goes out as it is, without a copy.
            shared.writer.write_batch(&first, progress).await
        } else {
            batch.clear();
            batch.extend_from_slice(&first);
            // Join whatever else is already queued: one syscall for many small frames.
            while batch.len() < WRITE_COALESCE_BYTES {
                match frames.try_recv() {
                    Ok(frame) => batch.extend_from_slice(&frame),
                    Err(_) => break,
                }
            }
            shared.writer.write_batch(&batch, progress).await
        };
        if let Err(err) = result {
            debug!("{}: write failed: {err}", shared.addr);
            return;
        }
    }
    // Every sender is gone: the connection handle was dropped.
}

async fn read_loop(
    guard: CloseOnDrop,
    mut reader: ReadHalf<Box<dyn Stream>>,
    max_frame: usize,
    handler: Arc<dyn InboundHandler>,
    responder: Responder,
) {
    let shared = &guard.0;
    let addr = &shared.addr;
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        loop {
            match RemotingCommand::try_decode_frame(&mut buf, max_frame) {
                Ok(Some(command)) => dispatch(command, shared, &handler, &responder),
                Ok(None) => break,
                Err(err) => {
                    // The stream can no longer be framed; only a new connection helps.
                    warn!("{addr}: undecodable frame, closing connection: {err}");
                    return;
                }
            }
        }
        match reader.read_buf(&mut buf).await {
            Ok(0) => {
                debug!("{addr}: connection closed by peer");
                return;
            }
            Ok(_) => {
                // Any byte from the peer proves it alive.
                shared.timeouts_since_read.store(0, Ordering::Release);
                shared.touch();
            }
            Err(err) => {
                debug!("{addr}: read failed: {err}");
                return;
            }
        }
    }
}

fn dispatch(
    command: RemotingCommand,
    shared: &Shared,
    handler: &Arc<dyn InboundHandler>,
    responder: &Responder,
) {
    if command.is_response() {
        match lock(&shared.pending).remove(&command.opaque) {
            // The waiter may have timed out meanwhile; then the response is dropped.
            Some(waiter) => {
                let _ = waiter.send(command);
            }
            None => debug!(
                "{}: response for unknown or expired opaque {}",
                shared.addr, command.opaque
            ),
        }
    } else {
        let handler = handler.clone();
        let responder = responder.clone();
        // The blocking pool, not a worker: a handler that blocks then costs one pool
        // thread instead of a runtime worker (on a current-thread runtime, everything).
        tokio::task::spawn_blocking(move || handle_request(&*handler, command, responder));
    }
}

fn handle_request(handler: &dyn InboundHandler, request: RemotingCommand, reply: Responder) {
    let code = request.code;
    let answer_to = (!request.is_oneway()).then(|| {
        RemotingCommand::response_to(
            &request,
            response::SYSTEM_ERROR,
            Some(format!("request code {code} failed in the client")),
        )
    });
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        handler.on_request(request, reply.clone())
    }));
    if let Err(panic) = outcome {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        warn!(
            "{}: handler for request code {code} panicked: {message}",
            reply.addr
        );
        if let Some(answer) = answer_to {
            reply.send(answer);
        }
    }
}

/// Closes the connection once nothing has been read or written for `idle_timeout`
/// while no request waits for a response (as Java's client closes a channel idle for
/// `clientChannelMaxIdleTimeSeconds`). A request in flight has its own budget, which
/// may legitimately be longer than `idle_timeout`.
async fn idle_watch(guard: CloseOnDrop, idle_timeout: Duration) {
    let shared = &guard.0;
    loop {
        let Some(deadline) = shared.last_io().checked_add(idle_timeout) else {
            // A timeout too large to add is never reached.
            return std::future::pending().await;
        };
        tokio::time::sleep_until(deadline).await;
        let idle_for = Instant::now().saturating_duration_since(shared.last_io());
        if idle_for < idle_timeout {
            continue;
        }
        if lock(&shared.pending).is_empty() {
            debug!(
                "{}: idle for {} ms, closing the connection",
                shared.addr,
                idle_for.as_millis()
            );
            return;
        }
        // Busy waiting on a response: look again after another idle period.
        tokio::time::sleep_until(deadline_after(idle_timeout)).await;
    }
}
