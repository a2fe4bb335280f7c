//! Stored messages (pull bodies), messages to send, and everything they carry: properties,
//! tags, ids and compressed bodies.

pub mod batch;
pub mod compression;
pub mod decode;
pub mod ids;
pub mod outgoing;
pub mod properties;
mod property_map;
pub mod stored;
pub mod sysflag;
pub mod tag;

pub use batch::encode_batch;
pub use compression::{compress_zlib, decompress, CompressionType};
pub use decode::{
    decode_message, decode_messages, decode_messages_skipping, decode_messages_with, DecodeOptions,
    DecodedBatch, MessageExt, MessageIter, SkippedRecord,
};
pub use ids::{decode_offset_msg_id, offset_msg_id, UniqIdGenerator};
pub use outgoing::Message;
pub use properties::{decode_properties, decode_properties_bytes, encode_properties, Properties};
pub use stored::{encode_stored, StoredMessage};
pub use tag::tag_hash;
