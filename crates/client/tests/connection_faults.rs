//! The connection layer under faults, against scripted loopback peers: handlers that
//! panic or block, peers that go silent or stop reading, idle connections, and tasks
//! that panic inside the connection itself.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

mod common;

use bytes::{Bytes, BytesMut};
use common::{answer_all, peer, read_frame, write_frame};
use rocketmq_client::connection::{Connection, InboundHandler, Responder, UnsupportedRequests};
use rocketmq_client::transport::{Dialer, TcpDialer};
use rocketmq_client::{ClientError, ConnectionConfig, RemotingClient};
use rocketmq_remoting::codes::response;
use rocketmq_remoting::{ExtFields, RemotingCommand};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::sync::{mpsc, oneshot};

/// Bound for waits on events the test expects; reaching it fails the test.
const BOUND: Duration = Duration::from_secs(10);

const PANICS: i32 = 1001;
const BLOCKS: i32 = 1002;
const ECHOES: i32 = 1003;

fn request(code: i32) -> RemotingCommand {
    RemotingCommand::request(code, ExtFields::new())
}

fn broker_request(code: i32, opaque: i32) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(code, ExtFields::new());
    cmd.opaque = opaque;
    cmd
}

fn config() -> ConnectionConfig {
    ConnectionConfig {
        connect_timeout: Duration::from_secs(2),
        reconnect_backoff_min: Duration::from_millis(10),
        reconnect_backoff_max: Duration::from_millis(50),
        ..ConnectionConfig::default()
    }
}

fn client_with(config: ConnectionConfig, handler: Arc<dyn InboundHandler>) -> RemotingClient {
    RemotingClient::with_parts(config, Arc::new(TcpDialer), Vec::new(), handler)
}

async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not happen"))
}

/// Panics on PANICS, blocks on BLOCKS until released, answers ECHOES "handled".
struct Unruly {
    entered_block: mpsc::UnboundedSender<()>,
    release: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl InboundHandler for Unruly {
    fn on_request(&self, request: RemotingCommand, reply: Responder) {
        match request.code {
            PANICS => panic!("handler bug"),
            BLOCKS => {
                self.entered_block.send(()).unwrap();
                // Blocks its thread until the test lets go; bounded so the runtime can
                // shut down if the test fails first, and longer than the requests'
                // budgets so a reader blocked by this handler fails them.
                let _ = self.release.lock().unwrap().recv_timeout(BOUND * 3);
                reply.send(RemotingCommand::response_to(
                    &request,
                    0,
                    Some("late".into()),
                ));
            }
            _ => reply.send(RemotingCommand::response_to(
                &request,
                0,
                Some("handled".into()),
            )),
        }
    }
}

fn unruly() -> (
    Arc<Unruly>,
    mpsc::UnboundedReceiver<()>,
    std::sync::mpsc::Sender<()>,
) {
    let (entered_tx, entered_rx) = mpsc::unbounded_channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel();
    let handler = Arc::new(Unruly {
        entered_block: entered_tx,
        release: Mutex::new(release_rx),
    });
    (handler, entered_rx, release_tx)
}

#[tokio::test]
async fn a_panicking_handler_leaves_the_connection_serving() {
    let (checked_tx, checked_rx) = oneshot::channel();
    let peer = peer(|listener| async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = BytesMut::new();
        let hello = read_frame(&mut stream, &mut buf).await.unwrap();
        write_frame(&mut stream, &RemotingCommand::response_to(&hello, 0, None)).await;
        write_frame(&mut stream, &broker_request(PANICS, 900)).await;
        write_frame(&mut stream, &broker_request(ECHOES, 901)).await;
        // Answers to our two requests and the client's next request, in any order.
        let (mut panicked, mut echoed, mut answered) = (None, None, 0);
        while panicked.is_none() || echoed.is_none() || answered == 0 {
            let cmd = read_frame(&mut stream, &mut buf).await.unwrap();
            match (cmd.is_response(), cmd.opaque) {
                (true, 900) => panicked = Some(cmd),
                (true, 901) => echoed = Some(cmd),
                (true, other) => panic!("unexpected response opaque {other}"),
                (false, _) => {
                    write_frame(&mut stream, &RemotingCommand::response_to(&cmd, 0, None)).await;
                    answered += 1;
                }
            }
        }
        // The panic is answered as Java answers a processor's exception.
        assert_eq!(panicked.unwrap().code, response::SYSTEM_ERROR);
        assert_eq!(echoed.unwrap().remark.as_deref(), Some("handled"));
        checked_tx.send(()).unwrap();
        // Only this one connection: a reconnect would wait on an accept nobody makes.
        answer_all(&mut stream).await;
    })
    .await;
    let (handler, _entered, _release) = unruly();
    let client = client_with(config(), handler);
    client.request(&peer.addr, request(1), BOUND).await.unwrap();
    // The peer answers these while it waits for the handlers' answers.
    for _ in 0..3 {
        let ok = client.request(&peer.addr, request(2), BOUND).await.unwrap();
        assert_eq!(ok.code, 0);
    }
    within("the handlers' answers", checked_rx).await.unwrap();
    // The handler has panicked by now; the connection still serves.
    let ok = client.request(&peer.addr, request(3), BOUND).await.unwrap();
    assert_eq!(ok.code, 0);
    assert_eq!(client.connected_addrs(), vec![peer.addr.clone()]);
    client.close_all();
    peer.finish().await;
}

// Two workers: had the handler blocked the reader's own thread, the test's requests
// would still run on the other one and time out, rather than the whole runtime freezing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_handler_does_not_stall_responses_to_our_requests() {
    let (late_tx, late_rx) = oneshot::channel();
    let peer = peer(|listener| async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = BytesMut::new();
        write_frame(&mut stream, &broker_request(BLOCKS, 900)).await;
        let mut late_tx = Some(late_tx);
        while let Some(cmd) = read_frame(&mut stream, &mut buf).await {
            if cmd.is_response() {
                assert_eq!(cmd.opaque, 900);
                late_tx.take().unwrap().send(cmd).unwrap();
            } else {
                write_frame(&mut stream, &RemotingCommand::response_to(&cmd, 0, None)).await;
            }
        }
    })
    .await;
    let (handler, mut entered, release) = unruly();
    let client = client_with(config(), handler);
    // The first request opens the connection; the peer's request then arrives.
    client.request(&peer.addr, request(1), BOUND).await.unwrap();
    within("the handler blocking", entered.recv())
        .await
        .unwrap();
    // The handler holds its thread; the reader still matches our responses.
    for _ in 0..3 {
        let ok = client.request(&peer.addr, request(2), BOUND).await.unwrap();
        assert_eq!(ok.code, 0);
    }
    release.send(()).unwrap();
    let late = within("the blocked handler's answer", late_rx)
        .await
        .unwrap();
    assert_eq!(late.remark.as_deref(), Some("late"));
    client.close_all();
    peer.finish().await;
}

#[tokio::test]
async fn a_silent_peer_is_dropped_after_repeated_timeouts_and_the_next_request_redials() {
    let peer = peer(|listener| async move {
        // First connection: take requests, never answer, keep the socket open until the
        // client gives up on it.
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = BytesMut::new();
        let mut unanswered = 0;
        while read_frame(&mut stream, &mut buf).await.is_some() {
            unanswered += 1;
        }
        assert_eq!(unanswered, 3, "the client hung up after its third timeout");
        // Second connection: a healthy peer.
        let (mut stream, _) = listener.accept().await.unwrap();
        answer_all(&mut stream).await;
    })
    .await;
    let client = client_with(
        ConnectionConfig {
            max_consecutive_timeouts: 3,
            ..config()
        },
        Arc::new(UnsupportedRequests),
    );
    for attempt in 1..=3 {
        let err = client
            .request(&peer.addr, request(1), Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
        let expect_open = attempt < 3;
        assert_eq!(
            !client.connected_addrs().is_empty(),
            expect_open,
            "after timeout {attempt}"
        );
    }
    let ok = client.request(&peer.addr, request(2), BOUND).await.unwrap();
    assert_eq!(ok.code, 0);
    client.close_all();
    peer.finish().await;
}

#[tokio::test]
async fn bytes_from_the_peer_between_timeouts_reset_the_count() {
    let peer = peer(|listener| async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = BytesMut::new();
        // Ignore one, answer one, ignore two: with a limit of two, only the last
        // timeout closes the connection.
        let _ignored = read_frame(&mut stream, &mut buf).await.unwrap();
        let answered = read_frame(&mut stream, &mut buf).await.unwrap();
        write_frame(
            &mut stream,
            &RemotingCommand::response_to(&answered, 0, None),
        )
        .await;
        let mut unanswered = 0;
        while read_frame(&mut stream, &mut buf).await.is_some() {
            unanswered += 1;
        }
        assert_eq!(unanswered, 2);
    })
    .await;
    let client = client_with(
        ConnectionConfig {
            max_consecutive_timeouts: 2,
            ..config()
        },
        Arc::new(UnsupportedRequests),
    );
    let short = Duration::from_millis(50);
    let timed_out =
        |r: Result<RemotingCommand, ClientError>| matches!(r, Err(ClientError::Timeout { .. }));
    assert!(timed_out(
        client.request(&peer.addr, request(1), short).await
    ));
    client.request(&peer.addr, request(2), BOUND).await.unwrap();
    assert!(timed_out(
        client.request(&peer.addr, request(3), short).await
    ));
    assert!(
        !client.connected_addrs().is_empty(),
        "one timeout since the last read"
    );
    assert!(timed_out(
        client.request(&peer.addr, request(4), short).await
    ));
    assert!(client.connected_addrs().is_empty(), "two in a row close it");
    peer.finish().await;
}

#[tokio::test]
async fn an_idle_connection_is_closed_and_the_next_request_redials() {
    let (first_done_tx, first_done_rx) = oneshot::channel();
    let peer = peer(|listener| async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        // Ends only when the client closes this connection.
        answer_all(&mut stream).await;
        first_done_tx.send(()).unwrap();
        let (mut stream, _) = listener.accept().await.unwrap();
        answer_all(&mut stream).await;
    })
    .await;
    let client = client_with(
        ConnectionConfig {
            idle_timeout: Duration::from_millis(100),
            ..config()
        },
        Arc::new(UnsupportedRequests),
    );
    client.request(&peer.addr, request(1), BOUND).await.unwrap();
    // Nobody closes the connection but the idle check.
    within("the idle close", first_done_rx).await.unwrap();
    assert!(client.connected_addrs().is_empty());
    client.request(&peer.addr, request(2), BOUND).await.unwrap();
    client.close_all();
    peer.finish().await;
}

#[tokio::test]
async fn a_long_poll_outlives_the_idle_timeout_and_is_not_counted_as_dead() {
    let idle = Duration::from_millis(100);
    let peer = peer(move |listener| async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = BytesMut::new();
        let pull = read_frame(&mut stream, &mut buf).await.unwrap();
        // Hold the answer, as a broker suspends a pull, for several idle periods.
        tokio::time::sleep(idle * 5).await;
        write_frame(&mut stream, &RemotingCommand::response_to(&pull, 0, None)).await;
        let _ = read_frame(&mut stream, &mut buf).await;
    })
    .await;
    let client = client_with(
        ConnectionConfig {
            idle_timeout: idle,
            max_consecutive_timeouts: 1,
            ..config()
        },
        Arc::new(UnsupportedRequests),
    );
    // Had the idle check closed the connection under the waiting request, this would
    // be a network error.
    let ok = client
        .request(&peer.addr, request(11), BOUND)
        .await
        .unwrap();
    assert_eq!(ok.code, 0);
    client.close_all();
    peer.finish().await;
}

#[tokio::test]
async fn a_peer_that_stops_reading_fills_a_bounded_queue_and_requests_time_out() {
    const CAPACITY: usize = 4;
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let peer = peer(|listener| async move {
        // Accept and never read; hold the socket until the test is done.
        let (stream, _) = listener.accept().await.unwrap();
        let _ = release_rx.await;
        drop(stream);
    })
    .await;
    let config = ConnectionConfig {
        write_queue_capacity: CAPACITY,
        max_consecutive_timeouts: 0,
        ..config()
    };
    let stream = TcpDialer.dial(&peer.addr, BOUND).await.unwrap();
    let connection =
        Connection::start_with(&peer.addr, stream, &config, Arc::new(UnsupportedRequests));
    let big = || request(1).with_body(Bytes::from(vec![7u8; 256 * 1024]));

    // Requests fill the socket buffers, then the queue; once the writer is stuck, a
    // request cannot even be queued and fails on its budget instead of piling up.
    let mut waited_for_room = None;
    for _ in 0..1_000 {
        match connection.request(big(), Duration::from_millis(20)).await {
            Err(ClientError::Timeout { what, .. }) if what.contains("write queue") => {
                waited_for_room = Some(what);
                break;
            }
            Err(ClientError::Timeout { .. }) => {}
            other => panic!("expected a timeout, got {other:?}"),
        }
        assert!(connection.queued_frames() <= CAPACITY);
    }
    assert!(waited_for_room.is_some(), "the queue never filled");
    assert_eq!(connection.queued_frames(), CAPACITY);
    // A oneway cannot wait (it is synchronous): it fails at once, nothing queued.
    match connection.oneway(big()) {
        Err(ClientError::Network { message, .. }) => {
            assert!(message.contains("write queue"), "{message}")
        }
        other => panic!("expected a full queue, got {other:?}"),
    }
    assert_eq!(connection.queued_frames(), CAPACITY);
    assert!(!connection.is_closed(), "counting timeouts was disabled");
    drop(connection);
    release_tx.send(()).unwrap();
    peer.finish().await;
}

#[tokio::test]
async fn a_peer_that_stops_reading_is_dropped_after_repeated_timeouts() {
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let peer = peer(|listener| async move {
        let (stream, _) = listener.accept().await.unwrap();
        let _ = release_rx.await;
        drop(stream);
    })
    .await;
    let config = ConnectionConfig {
        write_queue_capacity: 2,
        max_consecutive_timeouts: 3,
        ..config()
    };
    let stream = TcpDialer.dial(&peer.addr, BOUND).await.unwrap();
    let connection =
        Connection::start_with(&peer.addr, stream, &config, Arc::new(UnsupportedRequests));
    let big = || request(1).with_body(Bytes::from(vec![7u8; 1024 * 1024]));
    let mut timeouts = 0;
    while !connection.is_closed() {
        match connection.request(big(), Duration::from_millis(20)).await {
            Err(ClientError::Timeout { .. }) => timeouts += 1,
            other => panic!("expected a timeout, got {other:?}"),
        }
        assert!(timeouts <= 3, "the third timeout closes the connection");
    }
    assert_eq!(timeouts, 3);
    let err = connection.request(big(), BOUND).await.unwrap_err();
    assert!(matches!(err, ClientError::Network { .. }), "{err:?}");
    release_tx.send(()).unwrap();
    peer.finish().await;
}

/// One end of an in-memory pipe whose reads or writes panic once told to.
struct Sabotaged {
    inner: DuplexStream,
    panic_on_read: Arc<AtomicBool>,
    panic_on_write: Arc<AtomicBool>,
}

impl AsyncRead for Sabotaged {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if poll.is_ready() && self.panic_on_read.load(Ordering::SeqCst) {
            panic!("reader bug");
        }
        poll
    }
}

impl AsyncWrite for Sabotaged {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.panic_on_write.load(Ordering::SeqCst) {
            panic!("writer bug");
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A connection over a sabotaged pipe, the pipe's far end, and the two switches.
fn sabotaged_connection() -> (
    Arc<Connection>,
    DuplexStream,
    Arc<AtomicBool>,
    Arc<AtomicBool>,
) {
    let (near, far) = tokio::io::duplex(64 * 1024);
    let panic_on_read = Arc::new(AtomicBool::new(false));
    let panic_on_write = Arc::new(AtomicBool::new(false));
    let stream = Sabotaged {
        inner: near,
        panic_on_read: panic_on_read.clone(),
        panic_on_write: panic_on_write.clone(),
    };
    let connection = Connection::start_with(
        "pipe",
        Box::new(stream),
        &ConnectionConfig::default(),
        Arc::new(UnsupportedRequests),
    );
    (connection, far, panic_on_read, panic_on_write)
}

#[tokio::test]
async fn a_panic_in_the_reader_closes_the_connection_and_fails_pending_requests_at_once() {
    let (connection, mut far, panic_on_read, _) = sabotaged_connection();
    let pending = {
        let connection = connection.clone();
        tokio::spawn(async move {
            connection
                .request(request(1), Duration::from_secs(3600))
                .await
        })
    };
    let mut buf = BytesMut::new();
    let req = within(
        "the request on the pipe",
        read_duplex_frame(&mut far, &mut buf),
    )
    .await;
    panic_on_read.store(true, Ordering::SeqCst);
    // Any byte wakes the reader, which then panics.
    let answer = RemotingCommand::response_to(&req, 0, None)
        .to_bytes()
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut far, &answer)
        .await
        .unwrap();
    let outcome = within("the pending request failing", pending)
        .await
        .unwrap();
    assert!(
        matches!(outcome, Err(ClientError::Network { .. })),
        "{outcome:?}"
    );
    assert!(connection.is_closed());
}

#[tokio::test]
async fn a_panic_in_the_writer_closes_the_connection_and_fails_pending_requests_at_once() {
    let (connection, _far, _, panic_on_write) = sabotaged_connection();
    panic_on_write.store(true, Ordering::SeqCst);
    let outcome = within(
        "the request failing",
        connection.request(request(1), Duration::from_secs(3600)),
    )
    .await;
    assert!(
        matches!(outcome, Err(ClientError::Network { .. })),
        "{outcome:?}"
    );
    assert!(connection.is_closed());
}

async fn read_duplex_frame(stream: &mut DuplexStream, buf: &mut BytesMut) -> RemotingCommand {
    use tokio::io::AsyncReadExt;
    loop {
        if let Some(cmd) =
            RemotingCommand::try_decode_frame(buf, rocketmq_remoting::DEFAULT_MAX_FRAME).unwrap()
        {
            return cmd;
        }
        assert_ne!(stream.read_buf(buf).await.unwrap(), 0, "pipe closed");
    }
}
