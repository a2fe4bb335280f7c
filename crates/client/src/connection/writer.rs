//! The write half of a connection, shared by its writer task and by callers that write a
//! frame themselves.
//!
//! A send made on the JavaScript thread reaches the socket through the writer task, which
//! runs on a runtime worker: the worker has to be woken first, a context switch in series
//! with every lone request. Inside [`caller_writes`], a request whose connection is idle
//! (no frame queued, no write half-done) is written by the calling thread instead, with a
//! non-blocking write. Whatever the socket does not take at once stays here as the tail,
//! which the writer task writes before anything else, so frames never interleave.
//!
//! Only frame integrity is kept, not the order of concurrent callers: requests made
//! without waiting for each other were never ordered (their tasks run in any order).

use std::cell::Cell;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{ready, Context, Poll, Waker};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncWrite, WriteHalf};

use crate::transport::Stream;

thread_local! {
    /// Set while [`caller_writes`] runs on this thread.
    static CALLER_WRITES: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with requests it makes written by this thread when their connection is idle
/// (see the module). For a thread outside the runtime that makes one request at a time;
/// a runtime worker gains nothing (its wake of the writer task is a poll, not a switch)
/// and many callers would lose the writer's coalescing of frames into one write.
pub fn caller_writes<T>(f: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            CALLER_WRITES.with(|flag| flag.set(self.0));
        }
    }
    let _reset = Reset(CALLER_WRITES.with(|flag| flag.replace(true)));
    f()
}

/// Whether the current thread is inside [`caller_writes`].
pub(super) fn writes_on_caller() -> bool {
    CALLER_WRITES.with(Cell::get)
}

/// What a direct write did with a frame.
pub(super) enum Direct {
    /// The frame is on its way: in the socket, or its tail is left for the writer task,
    /// which must then be woken.
    Written { wake_writer: bool },
    /// The connection was busy (or the lock taken); queue the frame as usual.
    Busy(Bytes),
    /// The socket failed; the connection must close.
    Failed(std::io::Error),
}

struct Slot {
    /// None once the connection has closed: dropping it closes the socket's write side.
    half: Option<WriteHalf<Box<dyn Stream>>>,
    /// Unwritten rest of a direct write; written before anything else.
    tail: Option<Bytes>,
    /// The writer task has started a batch and not finished it.
    mid_batch: bool,
}

/// The shared write half.
pub(super) struct SharedWriter {
    slot: Mutex<Slot>,
}

impl SharedWriter {
    pub(super) fn new(half: WriteHalf<Box<dyn Stream>>) -> Self {
        SharedWriter {
            slot: Mutex::new(Slot {
                half: Some(half),
                tail: None,
                mid_batch: false,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        // Every update leaves the slot consistent, so a poisoned lock is still usable.
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drops the write half (the connection has closed).
    pub(super) fn close(&self) {
        let half = self.lock().half.take();
        drop(half);
    }

    /// Writes `frame` from this thread without waiting, if nothing else is being written.
    /// `progress` is called whenever bytes move.
    pub(super) fn try_write(&self, frame: Bytes, progress: impl Fn()) -> Direct {
        let Ok(mut slot) = self.slot.try_lock() else {
            return Direct::Busy(frame);
        };
        if slot.mid_batch || slot.tail.is_some() {
            return Direct::Busy(frame);
        }
        let Some(half) = slot.half.as_mut() else {
            return Direct::Busy(frame);
        };
        // Nobody waits on this context: a write that would block leaves its rest to the
        // writer task, whose own poll registers the real waker.
        let mut cx = Context::from_waker(Waker::noop());
        let mut done = 0;
        match poll_write_from(half, &mut cx, &frame, &mut done, &progress) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(err)) => return Direct::Failed(err),
            Poll::Pending => {
                slot.tail = Some(frame.slice(done..));
                return Direct::Written { wake_writer: true };
            }
        }
        match Pin::new(&mut *half).poll_flush(&mut cx) {
            Poll::Ready(Ok(())) => Direct::Written { wake_writer: false },
            Poll::Ready(Err(err)) => Direct::Failed(err),
            Poll::Pending => {
                // An empty tail: only the flush is left to do.
                slot.tail = Some(Bytes::new());
                Direct::Written { wake_writer: true }
            }
        }
    }

    /// Writes `bytes` (the writer task's batch, which may be empty) after any tail, and
    /// flushes. Holds the lock only while polling, never across a wait.
    pub(super) async fn write_batch(
        &self,
        bytes: &[u8],
        progress: impl Fn(),
    ) -> std::io::Result<()> {
        let mut done = 0;
        let result = poll_fn(|cx| {
            let mut slot = self.lock();
            slot.mid_batch = true;
            let Slot { half, tail, .. } = &mut *slot;
            let Some(half) = half.as_mut() else {
                return Poll::Ready(Err(std::io::ErrorKind::NotConnected.into()));
            };
            if let Some(rest) = tail.as_mut() {
                let mut taken = 0;
                let polled = poll_write_from(half, cx, rest, &mut taken, &progress);
                rest.advance(taken);
                ready!(polled)?;
                *tail = None;
            }
            ready!(poll_write_from(half, cx, bytes, &mut done, &progress))?;
            Pin::new(&mut *half).poll_flush(cx)
        })
        .await;
        self.lock().mid_batch = false;
        result
    }
}

/// Writes `bytes[*done..]` into `half`: Ready once all of it is in the stream (or the stream
/// failed), Pending with `*done` counting what the stream has taken so far.
fn poll_write_from(
    half: &mut WriteHalf<Box<dyn Stream>>,
    cx: &mut Context<'_>,
    bytes: &[u8],
    done: &mut usize,
    progress: &impl Fn(),
) -> Poll<std::io::Result<()>> {
    while *done < bytes.len() {
        match ready!(Pin::new(&mut *half).poll_write(cx, &bytes[*done..])) {
            Ok(0) => return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into())),
            Ok(written) => {
                progress();
                *done += written;
            }
            Err(err) => return Poll::Ready(Err(err)),
        }
    }
    Poll::Ready(Ok(()))
}
