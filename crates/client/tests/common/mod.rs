//! Scripted loopback peers for the engine's tests: they speak frames, nothing more.
//!
//! A peer's script runs in a spawned task, where a failed assertion would only end the
//! task (the client sees a closed connection, and a test can pass for the wrong reason).
//! So every helper returns a handle the test finishes at its end: [`Peer::finish`] and
//! [`Server::finish`] re-raise a panic from the peer's task in the test.

#![allow(dead_code)]

use std::future::Future;
use std::panic::resume_unwind;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::{ExtFields, RemotingCommand, DEFAULT_MAX_FRAME};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinError, JoinHandle};

/// How long a test waits for a peer's script to end before failing: a bound, not a
/// timing assertion (scripts end in milliseconds once the client has done its part).
const FINISH_WITHIN: Duration = Duration::from_secs(10);

/// Reads the next frame, or `None` once the peer hung up.
pub async fn read_frame(stream: &mut TcpStream, buf: &mut BytesMut) -> Option<RemotingCommand> {
    loop {
        if let Some(cmd) = RemotingCommand::try_decode_frame(buf, DEFAULT_MAX_FRAME).unwrap() {
            return Some(cmd);
        }
        if stream.read_buf(buf).await.ok()? == 0 {
            return None;
        }
    }
}

/// Writes one frame.
pub async fn write_frame(stream: &mut TcpStream, cmd: &RemotingCommand) {
    stream.write_all(&cmd.to_bytes().unwrap()).await.unwrap();
}

/// Answers every request on `stream` with a SUCCESS response until the client hangs up.
pub async fn answer_all(stream: &mut TcpStream) {
    let mut buf = BytesMut::new();
    while let Some(req) = read_frame(stream, &mut buf).await {
        write_frame(stream, &RemotingCommand::response_to(&req, 0, None)).await;
    }
}

/// A scripted peer: a loopback address and the task running its script.
pub struct Peer {
    pub addr: String,
    task: JoinHandle<()>,
}

/// Binds a fresh loopback port and runs `script` on its listener in a task.
pub async fn peer<F, Fut>(script: F) -> Peer
where
    F: FnOnce(TcpListener) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    Peer {
        addr,
        task: tokio::spawn(script(listener)),
    }
}

impl Peer {
    /// Waits for the script to end and fails the test if it panicked (an assertion in
    /// it failed) or does not end within a bound.
    pub async fn finish(self) {
        match tokio::time::timeout(FINISH_WITHIN, self.task).await {
            Ok(outcome) => reraise(outcome),
            Err(_) => panic!("scripted peer at {} did not finish", self.addr),
        }
    }
}

fn reraise(outcome: Result<(), JoinError>) {
    match outcome {
        Ok(()) => {}
        Err(err) if err.is_panic() => resume_unwind(err.into_panic()),
        // Cancelled: only `Server::finish` aborts, and only tasks still serving.
        Err(_) => {}
    }
}

/// A loopback server answering every request with a scripted function.
pub struct Server {
    pub addr: String,
    accepted: Arc<AtomicUsize>,
    acceptor: JoinHandle<()>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Server {
    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Stops serving and fails the test if answering any request panicked.
    pub async fn finish(self) {
        self.acceptor.abort();
        reraise(self.acceptor.await);
        let connections = std::mem::take(&mut *self.connections.lock().unwrap());
        for connection in connections {
            connection.abort();
            reraise(connection.await);
        }
    }
}

/// Serves every connection to a fresh loopback port with `answer`, one response per
/// request.
pub async fn serve<F>(answer: F) -> Server
where
    F: Fn(&RemotingCommand) -> RemotingCommand + Send + Sync + Clone + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
    let acceptor = tokio::spawn({
        let accepted = accepted.clone();
        let connections = connections.clone();
        async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                let answer = answer.clone();
                let task = tokio::spawn(async move {
                    let mut buf = BytesMut::new();
                    while let Some(request) = read_frame(&mut stream, &mut buf).await {
                        let mut response = answer(&request);
                        response.opaque = request.opaque;
                        write_frame(&mut stream, &response).await;
                    }
                });
                connections.lock().unwrap().push(task);
            }
        }
    });
    Server {
        addr,
        accepted,
        acceptor,
        connections,
    }
}

/// A NameServer answering every route query with `route_json`, counting the queries.
pub async fn route_server(route_json: String, queries: Arc<AtomicUsize>) -> Server {
    serve(move |req| {
        assert_eq!(req.code, request::GET_ROUTEINFO_BY_TOPIC);
        queries.fetch_add(1, Ordering::SeqCst);
        RemotingCommand::response(response::SUCCESS, None)
            .with_body(Bytes::from(route_json.clone()))
    })
    .await
}

/// A broker answering every SEND_MESSAGE_V2 with `code`, counting the sends; on SUCCESS the
/// message is stored at offset 7 of the queue asked for. Heartbeats are accepted, because
/// the client instance registers its producer group with every broker it learns of.
pub async fn send_broker(code: i32, sends: Arc<AtomicUsize>) -> Server {
    serve(move |req| {
        if matches!(req.code, request::HEART_BEAT | request::UNREGISTER_CLIENT) {
            return RemotingCommand::response(response::SUCCESS, None);
        }
        assert_eq!(req.code, request::SEND_MESSAGE_V2);
        sends.fetch_add(1, Ordering::SeqCst);
        if code != response::SUCCESS {
            return RemotingCommand::response(code, Some("busy".into()));
        }
        let mut fields = ExtFields::new();
        fields.insert("msgId".into(), "7F00000100002A9F0000000000000000".into());
        fields.insert("queueId".into(), req.ext_fields["e"].clone());
        fields.insert("queueOffset".into(), "7".into());
        let mut resp = RemotingCommand::response(response::SUCCESS, None);
        resp.ext_fields = fields;
        resp
    })
    .await
}

/// An address nothing listens on.
pub async fn refused_addr() -> String {
    let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = probe.local_addr().unwrap().to_string();
    drop(probe);
    addr
}

// The local cluster, for the tests marked `#[ignore = "needs the local cluster; ..."]`.

/// The local cluster's NameServer: `$NAMESRV_ADDR`, else 127.0.0.1:9876.
pub fn namesrv() -> String {
    std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into())
}

/// Whether the local cluster runs RocketMQ 4.x, whose answers differ from 5.x in the ways
/// docs/broker-versions.md lists: the `version` file scripts/rocketmq/start.sh writes into the
/// cluster's state directory (`$ROCKETMQ_STATE_DIR`, else keyed by the NameServer port), else
/// `$ROCKETMQ_VERSION`, else the scripts' default 5.3.3.
#[allow(dead_code)] // not every test binary asks
pub fn broker_is_4x() -> bool {
    let port = namesrv().rsplit(':').next().unwrap_or("9876").to_owned();
    let dir = std::env::var("ROCKETMQ_STATE_DIR")
        .unwrap_or_else(|_| format!("/dev/shm/rocketmq-napi-{port}"));
    let version = std::fs::read_to_string(format!("{dir}/version"))
        .ok()
        .or_else(|| std::env::var("ROCKETMQ_VERSION").ok());
    version.is_some_and(|v| v.trim().starts_with("4."))
}

/// `prefix` made unique to this process and moment: topics, groups and instance names of
/// one test never meet another's.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

/// An admin on client instance `instance_name`. Each test names its own instance: each
/// `#[tokio::test]` has its own runtime, an instance's connections live on the runtime
/// that opened them, and tests sharing one would cut each other's connections.
pub fn cluster_admin(instance_name: &str) -> rocketmq_client::Admin {
    rocketmq_client::Admin::new(rocketmq_client::admin::AdminConfig {
        namesrv_addr: namesrv(),
        timeout: Duration::from_secs(5),
        instance_name: Some(instance_name.to_owned()),
        unit_name: None,
        credentials: None,
        tls: None,
    })
    .unwrap()
}

/// Creates `topic` with `queue_nums` read/write queues on every master; returns the
/// brokers' names.
pub async fn create_topic(
    admin: &rocketmq_client::Admin,
    topic: &str,
    queue_nums: i32,
) -> Vec<String> {
    admin
        .create_topic(&rocketmq_client::CreateTopicOptions {
            topic: topic.to_owned(),
            queue_nums,
            perm: 6,
            order: false,
        })
        .await
        .unwrap()
}

/// A started producer of a fresh group named after `group_prefix`, on client instance
/// `instance_name`.
pub async fn started_producer(
    instance_name: &str,
    group_prefix: &str,
) -> rocketmq_client::Producer {
    let producer = rocketmq_client::Producer::new(rocketmq_client::ProducerConfig {
        namesrv_addr: namesrv(),
        group: unique(group_prefix),
        instance_name: Some(instance_name.to_owned()),
        ..rocketmq_client::ProducerConfig::default()
    })
    .unwrap();
    producer.start().await.unwrap();
    producer
}
