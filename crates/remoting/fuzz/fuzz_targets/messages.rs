//! Pull bodies: the batch decoder with and without CRC checks and inner-batch unwrap.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rocketmq_remoting::message::{
    decode_message, decode_messages_with, DecodeOptions, MessageIter,
};

fuzz_target!(|data: &[u8]| {
    let body = Bytes::copy_from_slice(data);
    let options = DecodeOptions {
        max_decompressed_body: 1 << 20,
        ..DecodeOptions::default()
    };
    let all = decode_messages_with(&body, &options);
    let lazy: Vec<_> = MessageIter::new(body.clone(), options.clone()).collect();
    // The eager decoder succeeds exactly when every lazy item does.
    assert_eq!(all.is_ok(), lazy.iter().all(Result::is_ok));
    let strict = DecodeOptions {
        max_decompressed_body: 1 << 20,
        unwrap_inner_batch: false,
        verify_body_crc: true,
    };
    let _ = decode_messages_with(&body, &strict);
    let _ = decode_message(&body);
});
