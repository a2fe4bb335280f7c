//! Vectors captured from a real RocketMQ 5.3.3 cluster (`scripts/rocketmq`, 127.0.0.1) by
//! `tests/vectors/capture_real.py`: two route bodies for the same topic (client version
//! 317 → fastjson's unquoted keys; 479 → standard JSON) and a pull body holding two
//! messages that script sent, one plain and one zlib-compressed, with the broker's send
//! responses in `pull_real.json`.

use bytes::Bytes;
use rocketmq_remoting::body::TopicRouteData;
use rocketmq_remoting::header::{
    DecodeHeader, PullMessageResponseHeader, SendMessageResponseHeader,
};
use rocketmq_remoting::message::decode_messages;
use rocketmq_remoting::ExtFields;
use serde_json::Value;

fn read(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn ext_fields(value: &Value) -> ExtFields {
    serde_json::from_value(value.clone()).unwrap()
}

#[test]
fn real_route_bodies_in_both_forms() {
    let old = read("route_real_v317.json");
    let new = read("route_real_v479.json");
    assert!(
        old.windows(3).any(|w| w == b"{0:"),
        "the v317 capture really has unquoted keys"
    );
    assert!(serde_json::from_slice::<Value>(&old).is_err());
    let a = TopicRouteData::decode(&old).unwrap();
    let b = TopicRouteData::decode(&new).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.master_addr("broker-a"), Some("127.0.0.1:10911"));
    assert_eq!(a.consumer_queues("CodecVectorTopic").len(), 1);
    assert_eq!(a.producer_queues("CodecVectorTopic").len(), 1);
}

#[test]
fn real_pull_body_matches_what_was_sent() {
    let meta: Value = serde_json::from_slice(&read("pull_real.json")).unwrap();
    let body = Bytes::from(read("pull_real.bin"));
    let msgs = decode_messages(&body).unwrap();
    let sent = meta["sent"].as_array().unwrap();
    assert_eq!(msgs.len(), sent.len());

    let pull =
        PullMessageResponseHeader::from_ext_fields(&ext_fields(&meta["pull_response"])).unwrap();
    assert_eq!(
        pull.next_begin_offset,
        meta["start_offset"].as_i64().unwrap() + sent.len() as i64
    );

    for (m, s) in msgs.iter().zip(sent) {
        let response =
            SendMessageResponseHeader::from_ext_fields(&ext_fields(&s["send_response"])).unwrap();
        let expected_body: Vec<u8> = (0..s["body_hex"].as_str().unwrap().len() / 2)
            .map(|i| {
                u8::from_str_radix(&s["body_hex"].as_str().unwrap()[2 * i..2 * i + 2], 16).unwrap()
            })
            .collect();
        assert_eq!(&m.body[..], &expected_body[..]);
        assert_eq!(m.topic, "CodecVectorTopic");
        assert_eq!(m.tags(), s["tag"].as_str());
        assert_eq!(i64::from(m.flag), s["flag"].as_i64().unwrap());
        assert_eq!(m.property("color"), Some("红"));
        assert_eq!(m.keys().count(), 2);
        // The broker's send answer carries the offsetMsgId; the decoder derives the same.
        assert_eq!(m.offset_msg_id, response.msg_id);
        assert_eq!(m.queue_offset, response.queue_offset);
        assert_eq!(m.queue_id, response.queue_id);
        // msgId as the user sees it is the UNIQ_KEY (the broker echoes it as transactionId).
        assert_eq!(Some(m.msg_id()), response.transaction_id.as_deref());
        assert_eq!(m.store_host.to_string(), meta["broker"].as_str().unwrap());
        assert_eq!(
            m.sys_flag & 1,
            0,
            "compressed bit cleared after decompression"
        );
    }
}
