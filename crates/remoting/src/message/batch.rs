//! The "inner" message encoding: the body of SEND_BATCH_MESSAGE and of broker-side inner
//! batches. Per message (Java `MessageDecoder.encodeMessage`): totalSize i32, magic i32 = 0,
//! bodyCRC i32 = 0, flag i32, bodyLength i32 + body, propertiesLength i16 + properties.

use bytes::{BufMut, BytesMut};

use super::outgoing::Message;
use super::properties::encode_properties;
use crate::error::CodecError;

/// Appends the inner encoding of one message.
pub fn encode_inner(message: &Message, out: &mut BytesMut) -> Result<(), CodecError> {
    let properties = encode_properties(&message.properties);
    let props_len = i16::try_from(properties.len()).map_err(|_| CodecError::Unencodable {
        what: "properties",
        message: format!("{} bytes exceed 32767", properties.len()),
    })?;
    let body_len = i32::try_from(message.body.len()).map_err(|_| CodecError::Unencodable {
        what: "body",
        message: format!("{} bytes exceed i32", message.body.len()),
    })?;
    let total = 4 + 4 + 4 + 4 + 4 + message.body.len() + 2 + properties.len();
    let total = i32::try_from(total).map_err(|_| CodecError::Unencodable {
        what: "batch entry",
        message: format!("{total} bytes exceed i32"),
    })?;
    out.reserve(total as usize);
    out.put_i32(total);
    out.put_i32(0);
    out.put_i32(0);
    out.put_i32(message.flag);
    out.put_i32(body_len);
    out.put_slice(&message.body);
    out.put_i16(props_len);
    out.put_slice(properties.as_bytes());
    Ok(())
}

/// The SEND_BATCH_MESSAGE body of `messages`.
pub fn encode_batch(messages: &[Message]) -> Result<BytesMut, CodecError> {
    let mut out = BytesMut::new();
    for message in messages {
        encode_inner(message, &mut out)?;
    }
    Ok(out)
}
