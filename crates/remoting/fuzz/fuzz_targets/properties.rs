//! The properties string: parse, then encode and parse again to the same map.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rocketmq_remoting::message::{decode_properties, encode_properties, tag_hash};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let map = decode_properties(&text);
    assert_eq!(decode_properties(&encode_properties(&map)), map);
    let _ = tag_hash(&text);
});
