//! Whole frames: `RemotingCommand::decode` on the bytes after the length, and the
//! streaming framer on the raw stream. A decoded command must encode and decode again.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use rocketmq_remoting::RemotingCommand;

fuzz_target!(|data: &[u8]| {
    if let Ok(command) = RemotingCommand::decode(Bytes::copy_from_slice(data)) {
        let mut out = BytesMut::new();
        if command.encode(&mut out).is_ok() {
            let frame = out.freeze().slice(4..);
            RemotingCommand::decode(frame).expect("re-encoded command must decode");
        }
    }
    let mut stream = BytesMut::from(data);
    while let Ok(Some(_)) = RemotingCommand::try_decode_frame(&mut stream, 1 << 20) {}
});
