//! One multiplexed connection to one address.
//!
//! A writer task owns the write half and coalesces queued frames into few writes; a
//! reader task owns the read half, matches responses to pending requests by opaque and
//! hands requests the peer starts (brokers do) to an [`InboundHandler`]. When either side
//! fails, the connection is closed and every pending request fails at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use log::{debug, warn};
use rocketmq_remoting::codes::response;
use rocketmq_remoting::RemotingCommand;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::error::{ClientError, Result};
use crate::transport::Stream;

/// Process-wide request ids: unique across connections, which makes logs unambiguous.
static NEXT_OPAQUE: AtomicI32 = AtomicI32::new(1);

fn next_opaque() -> i32 {
    // Wrapping is fine: a reused id only needs to be unique among in-flight requests.
    NEXT_OPAQUE.fetch_add(1, Ordering::Relaxed) & i32::MAX
}

/// Largest batch of queued frames the writer joins into one write.
const WRITE_COALESCE_BYTES: usize = 256 * 1024;

/// Receives requests the peer starts on a connection.
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
    frames: mpsc::UnboundedSender<Bytes>,
}

impl Responder {
    /// The peer's address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Queues `response`; dropped silently if the connection has closed meanwhile.
    pub fn send(&self, response: RemotingCommand) {
        match response.to_bytes() {
            Ok(frame) => {
                let _ = self.frames.send(frame);
            }
            Err(err) => warn!("{}: cannot encode response: {err}", self.addr),
        }
    }
}

type Pending = Arc<Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>>;

/// A live connection. Cheap to share behind an `Arc`.
pub struct Connection {
    addr: Arc<str>,
    frames: mpsc::UnboundedSender<Bytes>,
    pending: Pending,
    closed: Arc<AtomicBool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.addr)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Connection {
    /// Takes over `stream` and starts its reader and writer tasks.
    pub fn start(
        addr: &str,
        stream: Box<dyn Stream>,
        max_frame: usize,
        handler: Arc<dyn InboundHandler>,
    ) -> Arc<Connection> {
        let (read_half, write_half) = tokio::io::split(stream);
        let (frames_tx, frames_rx) = mpsc::unbounded_channel();
        let addr: Arc<str> = Arc::from(addr);
        let pending: Pending = Arc::default();
        let closed = Arc::new(AtomicBool::new(false));
        let writer = tokio::spawn(write_loop(
            addr.clone(),
            write_half,
            frames_rx,
            closed.clone(),
            pending.clone(),
        ));
        let responder = Responder {
            addr: addr.clone(),
            frames: frames_tx.clone(),
        };
        let reader = tokio::spawn(read_loop(
            read_half,
            max_frame,
            pending.clone(),
            closed.clone(),
            handler,
            responder,
        ));
        Arc::new(Connection {
            addr,
            frames: frames_tx,
            pending,
            closed,
            tasks: Mutex::new(vec![writer, reader]),
        })
    }

    /// The peer's address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Whether the connection has failed or been closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Sends `request` and waits for its response, at most `timeout`.
    pub async fn request(
        &self,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand> {
        let opaque = next_opaque();
        request.opaque = opaque;
        let frame = request.to_bytes()?;
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(opaque, tx);
        // Re-check after registering: a reader that closed in between has already
        // drained the pending map and would never answer this request.
        if self.is_closed() || self.frames.send(frame).is_err() {
            lock(&self.pending).remove(&opaque);
            return Err(self.closed_error());
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(_)) => Err(self.closed_error()),
            Err(_) => {
                lock(&self.pending).remove(&opaque);
                Err(ClientError::Timeout {
                    what: format!("request code {} to {}", request.code, self.addr),
                    timeout_ms: timeout.as_millis() as u64,
                })
            }
        }
    }

    /// Sends `request` without waiting for (or expecting) a response.
    pub fn oneway(&self, mut request: RemotingCommand) -> Result<()> {
        request.opaque = next_opaque();
        request.set_oneway();
        let frame = request.to_bytes()?;
        if self.is_closed() || self.frames.send(frame).is_err() {
            return Err(self.closed_error());
        }
        Ok(())
    }

    /// Stops both tasks; pending requests fail with a network error.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
        fail_pending(&self.pending);
    }

    fn closed_error(&self) -> ClientError {
        ClientError::Network(format!("connection to {} closed", self.addr))
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.close();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave the maps inconsistent
    // (single inserts/removes), so a poisoned lock is still usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Dropping the senders wakes every waiter with a "closed" error.
fn fail_pending(pending: &Pending) {
    lock(pending).clear();
}

async fn write_loop(
    addr: Arc<str>,
    mut writer: WriteHalf<Box<dyn Stream>>,
    mut frames: mpsc::UnboundedReceiver<Bytes>,
    closed: Arc<AtomicBool>,
    pending: Pending,
) {
    let mut batch = BytesMut::new();
    while let Some(first) = frames.recv().await {
        batch.clear();
        batch.extend_from_slice(&first);
        // Join whatever else is already queued: one syscall for many small frames.
        while batch.len() < WRITE_COALESCE_BYTES {
            match frames.try_recv() {
                Ok(frame) => batch.extend_from_slice(&frame),
                Err(_) => break,
            }
        }
        if let Err(err) = writer.write_all(&batch).await {
            debug!("{addr}: write failed: {err}");
            break;
        }
    }
    closed.store(true, Ordering::Release);
    fail_pending(&pending);
    let _ = writer.shutdown().await;
}

async fn read_loop(
    mut reader: ReadHalf<Box<dyn Stream>>,
    max_frame: usize,
    pending: Pending,
    closed: Arc<AtomicBool>,
    handler: Arc<dyn InboundHandler>,
    responder: Responder,
) {
    let addr = responder.addr.clone();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    'read: loop {
        loop {
            match RemotingCommand::try_decode_frame(&mut buf, max_frame) {
                Ok(Some(command)) => dispatch(command, &pending, &handler, &responder),
                Ok(None) => break,
                Err(err) => {
                    // The stream can no longer be framed; only a new connection helps.
                    warn!("{addr}: undecodable frame, closing connection: {err}");
                    break 'read;
                }
            }
        }
        match reader.read_buf(&mut buf).await {
            Ok(0) => {
                debug!("{addr}: connection closed by peer");
                break;
            }
            Ok(_) => {}
            Err(err) => {
                debug!("{addr}: read failed: {err}");
                break;
            }
        }
    }
    closed.store(true, Ordering::Release);
    fail_pending(&pending);
}

fn dispatch(
    command: RemotingCommand,
    pending: &Pending,
    handler: &Arc<dyn InboundHandler>,
    responder: &Responder,
) {
    if command.is_response() {
        match lock(pending).remove(&command.opaque) {
            // The waiter may have timed out meanwhile; then the response is dropped.
            Some(waiter) => {
                let _ = waiter.send(command);
            }
            None => debug!(
                "{}: response for unknown or expired opaque {}",
                responder.addr, command.opaque
            ),
        }
    } else {
        handler.on_request(command, responder.clone());
    }
}
