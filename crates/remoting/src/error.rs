//! Typed errors for every way wire input can be malformed.
//!
//! Decoders in this crate never panic on input; every failure ends up as one of these
//! variants so callers can log it, drop the connection or skip a frame as they see fit.

use thiserror::Error;

/// A malformed frame, header, body or stored message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodecError {
    /// The input ended before `what` was complete.
    #[error("truncated input while reading {what}")]
    Truncated { what: &'static str },

    /// A frame announced more bytes than the configured maximum.
    #[error("frame of {len} bytes exceeds the maximum of {max}")]
    FrameTooLarge { len: usize, max: usize },

    /// A length field is negative, too large or inconsistent with its container.
    #[error("invalid length {len} for {what}")]
    InvalidLength { what: &'static str, len: i64 },

    /// A string field is not valid UTF-8.
    #[error("invalid UTF-8 in {what}")]
    InvalidUtf8 { what: &'static str },

    /// A JSON header or body could not be parsed or written.
    #[error("invalid JSON in {what}: {message}")]
    Json { what: &'static str, message: String },

    /// A required header field is absent.
    #[error("missing required field `{name}`")]
    MissingField { name: String },

    /// A header field is present but its value cannot be parsed as the expected type.
    #[error("invalid value {value:?} for field `{name}`")]
    InvalidField { name: String, value: String },

    /// The high byte of the header-length word names no known serialization.
    #[error("unknown header serialization type {0}")]
    UnknownSerializeType(u8),

    /// A stored message starts with a magic code this decoder does not know.
    #[error("unknown message magic code {0:#010x}")]
    BadMagic(u32),

    /// The compression-type bits of a message's sysFlag name no known algorithm.
    #[error("unknown compression type {0}")]
    UnknownCompression(u32),

    /// A compressed body could not be decompressed.
    #[error("{algorithm} decompression failed: {message}")]
    Decompress {
        algorithm: &'static str,
        message: String,
    },

    /// A body could not be compressed.
    #[error("{algorithm} compression failed: {message}")]
    Compress {
        algorithm: &'static str,
        message: String,
    },

    /// A value cannot be represented on the wire (too long, out of range).
    #[error("cannot encode {what}: {message}")]
    Unencodable { what: &'static str, message: String },
}

impl CodecError {
    /// Shorthand for [`CodecError::MissingField`].
    pub fn missing(name: &str) -> Self {
        CodecError::MissingField {
            name: name.to_owned(),
        }
    }

    /// Shorthand for [`CodecError::InvalidField`].
    pub fn invalid(name: &str, value: &str) -> Self {
        CodecError::InvalidField {
            name: name.to_owned(),
            value: value.to_owned(),
        }
    }

    /// Wraps a serde_json error with the name of what was being parsed.
    pub fn json(what: &'static str, err: &serde_json::Error) -> Self {
        CodecError::Json {
            what,
            message: err.to_string(),
        }
    }
}
