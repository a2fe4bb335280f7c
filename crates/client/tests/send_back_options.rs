//! The fallback copy of a failed message honours the consumer's options, against a scripted
//! loopback broker that refuses CONSUMER_SEND_MSG_BACK: a body from `compress_over` bytes on
//! is sent zlib-compressed with the sysFlag saying so, and a refused copy is sent again up to
//! `retry_times` times within the budget.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::{serve, Server};
use rocketmq_client::consumer::send_back::{send_back_via_with, SendBackOptions, SendBackPath};
use rocketmq_client::{ClientError, ConnectionConfig, RemotingClient};
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::header::{
    DecodeHeader, SendMessageRequestHeader, SendMessageRequestHeaderV2,
};
use rocketmq_remoting::message::{decompress, sysflag, CompressionType, MessageExt};
use rocketmq_remoting::RemotingCommand;

const GROUP: &str = "send-back-options-group";
const BROKER: &str = "broker-o";

fn failed_message(body: Bytes, store_host: &str) -> MessageExt {
    let host: SocketAddr = store_host.parse().unwrap();
    MessageExt {
        topic: "Orders".into(),
        flag: 0,
        properties: Default::default(),
        body,
        store_size: 0,
        body_crc: 0,
        queue_id: 0,
        queue_offset: 1,
        commit_log_offset: 4096,
        sys_flag: 0,
        born_timestamp: 0,
        born_host: host,
        store_timestamp: 0,
        store_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        offset_msg_id: "OFFSET".into(),
        broker_name: BROKER.into(),
    }
}

/// Refuses every CONSUMER_SEND_MSG_BACK, and the first `busy` copies with SYSTEM_BUSY;
/// logs every copy.
async fn broker(copies: Arc<Mutex<Vec<RemotingCommand>>>, busy: usize) -> Server {
    serve(move |req| match req.code {
        request::CONSUMER_SEND_MSG_BACK => {
            RemotingCommand::response(response::SYSTEM_ERROR, Some("scripted".into()))
        }
        request::SEND_MESSAGE_V2 => {
            let mut copies = copies.lock().unwrap();
            copies.push(req.clone());
            if copies.len() <= busy {
                RemotingCommand::response(response::SYSTEM_BUSY, Some("scripted busy".into()))
            } else {
                RemotingCommand::response(response::SUCCESS, None)
            }
        }
        other => panic!("unexpected request code {other}"),
    })
    .await
}

async fn send(
    body: Bytes,
    busy: usize,
    options: SendBackOptions,
) -> (Result<SendBackPath, ClientError>, Vec<RemotingCommand>) {
    let copies = Arc::new(Mutex::new(Vec::new()));
    let server = broker(Arc::clone(&copies), busy).await;
    let addr = server.addr.clone();
    let lookup = move |name: &str| (name == BROKER).then(|| addr.clone());
    let remoting = RemotingClient::new(ConnectionConfig::default());
    let msg = failed_message(body, &server.addr);
    let result = send_back_via_with(&remoting, &lookup, GROUP, &msg, 0, &options).await;
    remoting.close_all();
    server.finish().await;
    let copies = std::mem::take(&mut *copies.lock().unwrap());
    (result, copies)
}

fn options(retry_times: u32, compress_over: Option<usize>) -> SendBackOptions {
    SendBackOptions {
        max_reconsume_times: 16,
        timeout: Duration::from_secs(5),
        retry_times,
        compress_over,
    }
}

fn sys_flag(copy: &RemotingCommand) -> i32 {
    let header: SendMessageRequestHeader =
        SendMessageRequestHeaderV2::from_ext_fields(&copy.ext_fields)
            .unwrap()
            .into();
    header.sys_flag
}

#[tokio::test]
async fn a_large_copy_is_sent_compressed_and_a_small_one_plain() {
    let large = Bytes::from("retry me ".repeat(2000));
    let (result, copies) = send(large.clone(), 0, options(0, Some(4096))).await;
    assert_eq!(result.unwrap(), SendBackPath::RetryTopic);
    assert_eq!(copies.len(), 1);
    assert_eq!(
        sys_flag(&copies[0]),
        sysflag::COMPRESSED | sysflag::COMPRESSION_ZLIB
    );
    assert!(copies[0].body.len() < large.len());
    let inflated = decompress(CompressionType::Zlib, &copies[0].body, 1 << 20).unwrap();
    assert_eq!(&inflated[..], &large[..]);

    // Compression off, or a body under the threshold: as it was pulled.
    let (_, copies) = send(large.clone(), 0, options(0, None)).await;
    assert_eq!(
        (sys_flag(&copies[0]), copies[0].body.clone()),
        (0, large.clone())
    );
    let (_, copies) = send(Bytes::from_static(b"small"), 0, options(0, Some(4096))).await;
    assert_eq!(sys_flag(&copies[0]), 0);
    assert_eq!(&copies[0].body[..], b"small");
}

#[tokio::test]
async fn a_busy_broker_gets_the_copy_again_up_to_retry_times() {
    let body = Bytes::from_static(b"again");
    let (result, copies) = send(body.clone(), 2, options(2, None)).await;
    assert_eq!(result.unwrap(), SendBackPath::RetryTopic);
    assert_eq!(copies.len(), 3, "two refusals, then the copy was taken");

    let (result, copies) = send(body.clone(), 3, options(2, None)).await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(copies.len(), 3, "one attempt and two retries, no more");

    let (result, copies) = send(body, 1, options(0, None)).await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(copies.len(), 1);
}
