//! Requests written by the calling thread (`caller_writes`, as the JavaScript thread sends
//! a lone message): a frame the stream cannot take at once is finished by the writer task
//! before anything else, so the peer still reads whole frames.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context, Waker};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rocketmq_client::connection::{caller_writes, Connection, UnsupportedRequests};
use rocketmq_client::transport::Stream;
use rocketmq_client::ConnectionConfig;
use rocketmq_remoting::{ExtFields, RemotingCommand};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

const BOUND: Duration = Duration::from_secs(10);

/// Smaller than the big request's frame: the stream takes only part of it at once.
const PIPE_BYTES: usize = 4096;
const BIG_BODY: usize = 64 * 1024;

/// Reads whole frames, records their body lengths and answers each with its body length
/// as the remark.
async fn answer_with_lengths(mut peer: DuplexStream, seen: Arc<Mutex<Vec<usize>>>) {
    let mut buf = BytesMut::new();
    loop {
        while let Some(request) = RemotingCommand::try_decode_frame(&mut buf, 1 << 24).unwrap() {
            let length = request.body.len();
            // The body must arrive as it was sent, not only at its length.
            assert!(request
                .body
                .iter()
                .enumerate()
                .all(|(i, b)| *b == (i % 251) as u8));
            seen.lock().unwrap().push(length);
            let answer = RemotingCommand::response_to(&request, 0, Some(length.to_string()));
            peer.write_all(&answer.to_bytes().unwrap()).await.unwrap();
        }
        if peer.read_buf(&mut buf).await.unwrap() == 0 {
            return;
        }
    }
}

fn request_with_body(length: usize) -> RemotingCommand {
    let body: Vec<u8> = (0..length).map(|i| (i % 251) as u8).collect();
    RemotingCommand::request(1, ExtFields::new()).with_body(Bytes::from(body))
}

#[test]
fn a_frame_the_stream_cannot_take_at_once_is_finished_by_the_writer_before_the_next() {
    // Current-thread: nothing runs on it between the block_on calls, so what a first poll
    // on this thread did is seen before any task of the connection has run.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (ours, theirs) = tokio::io::duplex(PIPE_BYTES);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let peer = runtime.spawn(answer_with_lengths(theirs, seen.clone()));
    let connection = {
        let _inside = runtime.enter();
        Connection::start_with(
            "peer",
            Box::new(ours) as Box<dyn Stream>,
            &ConnectionConfig::default(),
            Arc::new(UnsupportedRequests),
        )
    };

    // From this thread, which is not a worker: the first poll writes what the pipe takes.
    let _inside = runtime.enter();
    let first = {
        let connection = connection.clone();
        async move { connection.request(request_with_body(BIG_BODY), BOUND).await }
    };
    let mut first = Box::pin(first);
    let polled = caller_writes(|| first.as_mut().poll(&mut Context::from_waker(Waker::noop())));
    assert!(polled.is_pending(), "the response cannot be there yet");
    // The writer holds the big frame's rest: this one waits in the queue behind it.
    let second = {
        let connection = connection.clone();
        async move { connection.request(request_with_body(10), BOUND).await }
    };
    let mut second = Box::pin(second);
    let polled = caller_writes(|| {
        second
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
    });
    assert!(polled.is_pending());

    let (first, second) = runtime.block_on(async {
        tokio::time::timeout(BOUND, async { tokio::join!(first, second) })
            .await
            .expect("both answered")
    });
    assert_eq!(first.unwrap().remark.as_deref(), Some("65536"));
    assert_eq!(second.unwrap().remark.as_deref(), Some("10"));
    assert_eq!(*seen.lock().unwrap(), vec![BIG_BODY, 10]);

    // An idle connection again: a small frame now goes out whole from this thread.
    let mut third = Box::pin({
        let connection = connection.clone();
        async move { connection.request(request_with_body(100), BOUND).await }
    });
    let polled = caller_writes(|| third.as_mut().poll(&mut Context::from_waker(Waker::noop())));
    assert!(polled.is_pending());
    assert_eq!(
        connection.queued_frames(),
        0,
        "written by this thread, not queued"
    );
    let third =
        runtime.block_on(async { tokio::time::timeout(BOUND, third).await.expect("answered") });
    assert_eq!(third.unwrap().remark.as_deref(), Some("100"));
    assert_eq!(connection.queued_frames(), 0);

    connection.close();
    runtime
        .block_on(async {
            tokio::time::timeout(BOUND, peer)
                .await
                .expect("peer saw the close")
        })
        .unwrap();
}
