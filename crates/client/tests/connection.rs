//! Connection-layer behaviour against a scripted loopback peer: opaque matching,
//! timeouts, oneway frames, peer-initiated requests, reconnects.

use std::sync::Arc;
use std::time::Duration;

mod common;

use bytes::BytesMut;
use common::{answer_all, peer, read_frame, refused_addr, write_frame};
use rocketmq_client::connection::{InboundHandler, Responder};
use rocketmq_client::transport::TcpDialer;
use rocketmq_client::{ClientError, ConnectionConfig, RemotingClient};
use rocketmq_remoting::{ExtFields, RemotingCommand};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

fn request(code: i32, key: &str) -> RemotingCommand {
    let mut fields = ExtFields::new();
    fields.insert("key".into(), key.into());
    RemotingCommand::request(code, fields)
}

fn client() -> RemotingClient {
    RemotingClient::new(ConnectionConfig {
        connect_timeout: Duration::from_secs(2),
        reconnect_backoff_min: Duration::from_millis(50),
        reconnect_backoff_max: Duration::from_millis(200),
        ..ConnectionConfig::default()
    })
}

#[tokio::test]
async fn responses_are_matched_by_opaque_even_out_of_order() {
    let peer = peer(|listener| async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = BytesMut::new();
        let first = read_frame(&mut stream, &mut buf).await.unwrap();
        let second = read_frame(&mut stream, &mut buf).await.unwrap();
        // Answer in reverse order; each response echoes its request's key.
        for req in [&second, &first] {
            let mut resp = RemotingCommand::response_to(req, 0, None);
            resp.ext_fields = req.ext_fields.clone();
            write_frame(&mut stream, &resp).await;
        }
        let _ = read_frame(&mut stream, &mut buf).await;
    })
    .await;
    let addr = peer.addr.clone();
    let client = client();
    let (a, b) = tokio::join!(
        client.request(&addr, request(1, "a"), Duration::from_secs(5)),
        client.request(&addr, request(2, "b"), Duration::from_secs(5)),
    );
    assert_eq!(a.unwrap().ext_fields["key"], "a");
    assert_eq!(b.unwrap().ext_fields["key"], "b");
    assert_eq!(client.connected_addrs(), vec![addr]);
    client.close_all();
    peer.finish().await;
}

#[tokio::test]
async fn unanswered_request_times_out_and_late_answer_is_ignored() {
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
    let peer = peer(|listener| async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = BytesMut::new();
        let first = read_frame(&mut stream, &mut buf).await.unwrap();
        seen_tx.send(()).unwrap();
        // Hold the first request until the second arrives, then answer both.
        let second = read_frame(&mut stream, &mut buf).await.unwrap();
        write_frame(&mut stream, &RemotingCommand::response_to(&first, 0, None)).await;
        write_frame(
            &mut stream,
            &RemotingCommand::response_to(&second, 0, Some("second".into())),
        )
        .await;
        let _ = read_frame(&mut stream, &mut buf).await;
    })
    .await;
    let addr = peer.addr.clone();
    let client = client();
    let err = client
        .request(&addr, request(1, "slow"), Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
    seen_rx.recv().await.unwrap();
    let ok = client
        .request(&addr, request(2, "next"), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(ok.remark.as_deref(), Some("second"));
    client.close_all();
    peer.finish().await;
}

#[tokio::test]
async fn oneway_requests_carry_the_flag() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let peer = peer(|listener| async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = BytesMut::new();
        while let Some(cmd) = read_frame(&mut stream, &mut buf).await {
            tx.send(cmd).unwrap();
        }
    })
    .await;
    let addr = peer.addr.clone();
    let client = client();
    client.oneway(&addr, request(15, "x")).await.unwrap();
    let got = rx.recv().await.unwrap();
    assert!(got.is_oneway());
    assert_eq!(got.code, 15);
    client.close_all();
    peer.finish().await;
}

/// Answers every request "handled" and reports each code it sees.
struct Echo(mpsc::UnboundedSender<i32>);

impl InboundHandler for Echo {
    fn on_request(&self, request: RemotingCommand, reply: Responder) {
        self.0.send(request.code).unwrap();
        if !request.is_oneway() {
            reply.send(RemotingCommand::response_to(
                &request,
                0,
                Some("handled".into()),
            ));
        }
    }
}

#[tokio::test]
async fn peer_requests_reach_the_handler_and_get_answers() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let peer = peer(|listener| async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = BytesMut::new();
        let hello = read_frame(&mut stream, &mut buf).await.unwrap();
        write_frame(&mut stream, &RemotingCommand::response_to(&hello, 0, None)).await;
        // A oneway notification (must not be answered), then a real request.
        let mut notify = RemotingCommand::request(40, ExtFields::new());
        notify.set_oneway();
        notify.opaque = 900;
        write_frame(&mut stream, &notify).await;
        let mut ask = RemotingCommand::request(307, ExtFields::new());
        ask.opaque = 901;
        write_frame(&mut stream, &ask).await;
        let answer = read_frame(&mut stream, &mut buf).await.unwrap();
        tx.send(answer).unwrap();
    })
    .await;
    let addr = peer.addr.clone();
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
    let client = RemotingClient::with_parts(
        ConnectionConfig::default(),
        Arc::new(TcpDialer),
        Vec::new(),
        Arc::new(Echo(seen_tx)),
    );
    client
        .request(&addr, request(34, "hello"), Duration::from_secs(5))
        .await
        .unwrap();
    let answer = rx.recv().await.unwrap();
    assert!(answer.is_response());
    assert_eq!(
        answer.opaque, 901,
        "the answer is to the request, not the oneway"
    );
    assert_eq!(answer.remark.as_deref(), Some("handled"));
    // Handlers run on tasks of their own, so they may see the two requests in any order.
    let mut seen = vec![seen_rx.recv().await.unwrap(), seen_rx.recv().await.unwrap()];
    seen.sort();
    assert_eq!(seen, vec![40, 307]);
    client.close_all();
    peer.finish().await;
}

#[tokio::test]
async fn closed_connection_fails_pending_and_next_request_reconnects() {
    let peer = peer(|listener| async move {
        // First connection: read one request and hang up without answering.
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = BytesMut::new();
        let _ = read_frame(&mut stream, &mut buf).await;
        drop(stream);
        // Second connection: answer normally.
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = BytesMut::new();
        while let Some(req) = read_frame(&mut stream, &mut buf).await {
            write_frame(&mut stream, &RemotingCommand::response_to(&req, 0, None)).await;
        }
    })
    .await;
    let addr = peer.addr.clone();
    let client = client();
    let err = client
        .request(&addr, request(1, "lost"), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Network { .. }), "{err:?}");
    let ok = client
        .request(&addr, request(1, "again"), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(ok.code, 0);
    client.close_all();
    peer.finish().await;
}

#[tokio::test]
async fn refused_address_backs_off_then_connects_once_listening() {
    let addr = refused_addr().await;
    let client = client();
    let first = client
        .request(&addr, request(1, "x"), Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(matches!(first, ClientError::Network { .. }), "{first:?}");
    // Within the backoff window the client fails fast instead of hammering the address.
    let second = client
        .request(&addr, request(1, "x"), Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(
        second.to_string().contains("next connect attempt"),
        "{second}"
    );
    let listener = TcpListener::bind(&addr).await.unwrap();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        answer_all(&mut stream).await;
    });
    // Once the backoff has passed, the next request connects.
    let mut outcome = client
        .request(&addr, request(1, "x"), Duration::from_secs(5))
        .await;
    for _ in 0..100 {
        if outcome.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        outcome = client
            .request(&addr, request(1, "x"), Duration::from_secs(5))
            .await;
    }
    assert_eq!(outcome.unwrap().code, 0);
    client.close_all();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the peer ends once the client hangs up")
        .unwrap();
}

#[tokio::test]
#[should_panic(expected = "the peer's own assertion")]
async fn a_failed_assertion_inside_a_scripted_peer_fails_the_test() {
    let peer = peer(|listener| async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = BytesMut::new();
        let req = read_frame(&mut stream, &mut buf).await.unwrap();
        assert_eq!(req.code, -1, "the peer's own assertion");
    })
    .await;
    let client = client();
    // The peer hangs up without answering; the client only sees a network error.
    let err = client
        .request(&peer.addr, request(1, "x"), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Network { .. }), "{err:?}");
    peer.finish().await;
}

#[tokio::test]
#[should_panic(expected = "the server's own assertion")]
async fn a_failed_assertion_inside_a_scripted_server_fails_the_test() {
    let server = common::serve(|req| {
        assert_eq!(req.code, -1, "the server's own assertion");
        RemotingCommand::response(0, None)
    })
    .await;
    let client = client();
    let err = client
        .request(&server.addr, request(1, "x"), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Network { .. }), "{err:?}");
    server.finish().await;
}
