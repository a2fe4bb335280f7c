//! The object-keyed reset-offset body: parse, then write fastjson and parse again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rocketmq_remoting::body::ResetOffsetBody;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = ResetOffsetBody::decode(data) {
        let text = body.encode_fastjson().expect("encode");
        assert_eq!(ResetOffsetBody::decode(&text).expect("round trip"), body);
    }
});
