//! `RemotingCommand`: one frame of the remoting protocol, and its codec.
//!
//! Frame layout (all integers big-endian):
//!
//! ```text
//! | total: i32 | serType: u8 | headerLen: u24 | header | body |
//! ```
//!
//! `total` counts everything after itself. The header is either fastjson text
//! (`SerializeType::Json`) or RocketMQ's binary layout (`SerializeType::RocketMq`).
//! Requests are written as JSON unless the caller picks the binary layout (the producer
//! does, for sends); both are read by 4.x and 5.x brokers, and both kinds are decoded
//! because brokers answer in their own configured type.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde_json::Value;

use crate::codes::{LanguageCode, SerializeType, CLIENT_VERSION, FLAG_ONEWAY, FLAG_RESPONSE};
use crate::error::CodecError;
use crate::ext_fields::ExtFields;

/// Largest frame the Java side accepts (`com.rocketmq.remoting.frameMaxLength`).
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// Header length is a 24-bit field.
const MAX_HEADER_LEN: usize = 0x00FF_FFFF;

/// Fixed part of a binary header: code, language, version, opaque, flag.
const BINARY_FIXED_LEN: usize = 2 + 1 + 2 + 4 + 4;

/// One request or response frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemotingCommand {
    /// Request code for a request, response code for a response.
    pub code: i32,
    /// The sender's language.
    pub language: LanguageCode,
    /// The sender's version ordinal.
    pub version: i32,
    /// Request id; a response carries its request's opaque.
    pub opaque: i32,
    /// Bit field of [`FLAG_RESPONSE`] and [`FLAG_ONEWAY`].
    pub flag: i32,
    /// Free text, usually an error message.
    pub remark: Option<String>,
    /// The custom header; every field is a string.
    pub ext_fields: ExtFields,
    /// Body bytes, possibly empty.
    pub body: Bytes,
    /// How the header was (or will be) serialized.
    pub serialize_type: SerializeType,
}

impl RemotingCommand {
    /// A request with `code` and header fields; opaque is set by the connection.
    pub fn request(code: i32, ext_fields: ExtFields) -> Self {
        RemotingCommand {
            code,
            version: CLIENT_VERSION,
            ext_fields,
            ..Default::default()
        }
    }

    /// A response with `code` and an optional remark.
    pub fn response(code: i32, remark: Option<String>) -> Self {
        RemotingCommand {
            code,
            version: CLIENT_VERSION,
            flag: FLAG_RESPONSE,
            remark,
            ..Default::default()
        }
    }

    /// The response to `request`: same opaque, RESPONSE flag set.
    pub fn response_to(request: &RemotingCommand, code: i32, remark: Option<String>) -> Self {
        let mut response = Self::response(code, remark);
        response.opaque = request.opaque;
        response
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Whether the frame is a response.
    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    /// Whether the frame is a request that expects no answer.
    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// Marks the request as oneway.
    pub fn set_oneway(&mut self) {
        self.flag |= FLAG_ONEWAY;
    }

    /// Appends the whole frame, length prefix included, to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), CodecError> {
        let header = match self.serialize_type {
            SerializeType::Json => self.encode_json_header()?,
            SerializeType::RocketMq => self.encode_binary_header()?,
        };
        if header.len() > MAX_HEADER_LEN {
            return Err(CodecError::Unencodable {
                what: "header",
                message: format!("{} bytes exceed the 24-bit header length", header.len()),
            });
        }
        let total = 4 + header.len() + self.body.len();
        let total = i32::try_from(total).map_err(|_| CodecError::Unencodable {
            what: "frame",
            message: format!("{total} bytes exceed the i32 frame length"),
        })?;
        dst.reserve(4 + total as usize);
        dst.put_i32(total);
        dst.put_u32((u32::from(self.serialize_type.code()) << 24) | header.len() as u32);
        dst.put_slice(&header);
        dst.put_slice(&self.body);
        Ok(())
    }

    /// The whole frame as bytes.
    pub fn to_bytes(&self) -> Result<Bytes, CodecError> {
        let mut buf = BytesMut::new();
        self.encode(&mut buf)?;
        Ok(buf.freeze())
    }

    /// Decodes one frame from the bytes that follow its 4-byte total length.
    pub fn decode(mut frame: Bytes) -> Result<RemotingCommand, CodecError> {
        if frame.len() < 4 {
            return Err(CodecError::Truncated {
                what: "header length",
            });
        }
        let word = frame.get_u32();
        let type_code = (word >> 24) as u8;
        let header_len = (word & MAX_HEADER_LEN as u32) as usize;
        if header_len > frame.len() {
            return Err(CodecError::InvalidLength {
                what: "header",
                len: header_len as i64,
            });
        }
        let header = frame.split_to(header_len);
        let body = frame;
        let serialize_type = SerializeType::from_code(type_code)
            .ok_or(CodecError::UnknownSerializeType(type_code))?;
        let mut command = match serialize_type {
            SerializeType::Json => decode_json_header(&header)?,
            SerializeType::RocketMq => decode_binary_header(header)?,
        };
        command.serialize_type = serialize_type;
        command.body = body;
        Ok(command)
    }

    /// Takes one complete frame off the front of `src`, if it holds one.
    ///
    /// Returns `Ok(None)` while more bytes are needed. A length outside
    /// `4..=max_frame` is an error: the stream can no longer be framed.
    pub fn try_decode_frame(
        src: &mut BytesMut,
        max_frame: usize,
    ) -> Result<Option<RemotingCommand>, CodecError> {
        if src.len() < 4 {
            return Ok(None);
        }
        let total = i32::from_be_bytes([src[0], src[1], src[2], src[3]]);
        if total < 4 {
            return Err(CodecError::InvalidLength {
                what: "frame",
                len: i64::from(total),
            });
        }
        let total = total as usize;
        if total > max_frame {
            return Err(CodecError::FrameTooLarge {
                len: total,
                max: max_frame,
            });
        }
        if src.len() < 4 + total {
            src.reserve(4 + total - src.len());
            return Ok(None);
        }
        let mut frame = src.split_to(4 + total);
        frame.advance(4);
        Self::decode(frame.freeze()).map(Some)
    }

    fn encode_json_header(&self) -> Result<Vec<u8>, CodecError> {
        // Field order is alphabetical, as fastjson writes it; brokers ignore order,
        // but identical bytes make the test vectors comparable with Java's.
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct JsonHeader<'a> {
            code: i32,
            #[serde(skip_serializing_if = "ExtFields::is_empty")]
            ext_fields: &'a ExtFields,
            flag: i32,
            language: &'static str,
            opaque: i32,
            #[serde(skip_serializing_if = "Option::is_none")]
            remark: Option<&'a str>,
            serialize_type_current_r_p_c: &'static str,
            version: i32,
        }
        let header = JsonHeader {
            code: self.code,
            ext_fields: &self.ext_fields,
            flag: self.flag,
            language: self.language.name(),
            opaque: self.opaque,
            remark: self.remark.as_deref(),
            serialize_type_current_r_p_c: "JSON",
            version: self.version,
        };
        serde_json::to_vec(&header).map_err(|e| CodecError::json("header", &e))
    }

    fn encode_binary_header(&self) -> Result<Vec<u8>, CodecError> {
        let code = i16::try_from(self.code).map_err(|_| CodecError::Unencodable {
            what: "code",
            message: format!("{} does not fit the binary header's i16", self.code),
        })?;
        let version = i16::try_from(self.version).map_err(|_| CodecError::Unencodable {
            what: "version",
            message: format!("{} does not fit the binary header's i16", self.version),
        })?;
        let mut out = Vec::with_capacity(64);
        out.put_i16(code);
        out.put_u8(self.language.code());
        out.put_i16(version);
        out.put_i32(self.opaque);
        out.put_i32(self.flag);
        let remark = self.remark.as_deref().unwrap_or("").as_bytes();
        out.put_i32(len_i32(remark.len(), "remark")?);
        out.put_slice(remark);
        let mut map = Vec::new();
        for (key, value) in &self.ext_fields {
            let key_len = i16::try_from(key.len()).map_err(|_| CodecError::Unencodable {
                what: "header key",
                message: format!("{} bytes exceed i16", key.len()),
            })?;
            map.put_i16(key_len);
            map.put_slice(key.as_bytes());
            map.put_i32(len_i32(value.len(), "header value")?);
            map.put_slice(value.as_bytes());
        }
        out.put_i32(len_i32(map.len(), "header map")?);
        out.extend_from_slice(&map);
        Ok(out)
    }
}

fn len_i32(len: usize, what: &'static str) -> Result<i32, CodecError> {
    i32::try_from(len).map_err(|_| CodecError::Unencodable {
        what,
        message: format!("{len} bytes exceed i32"),
    })
}

fn decode_json_header(header: &[u8]) -> Result<RemotingCommand, CodecError> {
    let value: Value =
        serde_json::from_slice(header).map_err(|e| CodecError::json("header", &e))?;
    let object = value.as_object().ok_or_else(|| CodecError::Json {
        what: "header",
        message: "not a JSON object".to_owned(),
    })?;
    let int = |name: &str| -> Result<i32, CodecError> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(0),
            Some(v) => v
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| CodecError::invalid(name, &v.to_string())),
        }
    };
    // fastjson writes the language by name but also accepts its ordinal.
    let language = match object.get("language") {
        Some(Value::String(name)) => LanguageCode::from_name(name),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|c| u8::try_from(c).ok())
            .map_or(LanguageCode::Unknown, LanguageCode::from_code),
        _ => LanguageCode::Unknown,
    };
    let remark = match object.get("remark") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    let mut ext_fields = ExtFields::new();
    match object.get("extFields") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (key, value) in map {
                // Values are strings on the wire; tolerate a peer that writes numbers or
                // booleans bare, and drop nulls as Java's map would hold no entry.
                let text = match value {
                    Value::Null => continue,
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                ext_fields.insert(key.clone(), text);
            }
        }
        Some(other) => return Err(CodecError::invalid("extFields", &other.to_string())),
    }
    Ok(RemotingCommand {
        code: int("code")?,
        language,
        version: int("version")?,
        opaque: int("opaque")?,
        flag: int("flag")?,
        remark,
        ext_fields,
        body: Bytes::new(),
        serialize_type: SerializeType::Json,
    })
}

fn decode_binary_header(mut header: Bytes) -> Result<RemotingCommand, CodecError> {
    if header.len() < BINARY_FIXED_LEN {
        return Err(CodecError::Truncated {
            what: "binary header",
        });
    }
    let code = i32::from(header.get_i16());
    let language = LanguageCode::from_code(header.get_u8());
    let version = i32::from(header.get_i16());
    let opaque = header.get_i32();
    let flag = header.get_i32();
    let remark = read_i32_string(&mut header, "remark")?;
    let map_len = read_len_i32(&mut header, "header map")?;
    if map_len > header.len() {
        return Err(CodecError::InvalidLength {
            what: "header map",
            len: map_len as i64,
        });
    }
    let mut map = header.split_to(map_len);
    let mut ext_fields = ExtFields::new();
    while map.has_remaining() {
        if map.len() < 2 {
            return Err(CodecError::Truncated {
                what: "header key length",
            });
        }
        let key_len = map.get_i16();
        if key_len < 0 || key_len as usize > map.len() {
            return Err(CodecError::InvalidLength {
                what: "header key",
                len: i64::from(key_len),
            });
        }
        let key = utf8(map.split_to(key_len as usize), "header key")?;
        let value = read_i32_string(&mut map, "header value")?.unwrap_or_default();
        ext_fields.insert(key, value);
    }
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
        body: Bytes::new(),
        serialize_type: SerializeType::RocketMq,
    })
}

fn read_len_i32(buf: &mut Bytes, what: &'static str) -> Result<usize, CodecError> {
    if buf.len() < 4 {
        return Err(CodecError::Truncated { what });
    }
    let len = buf.get_i32();
    usize::try_from(len).map_err(|_| CodecError::InvalidLength {
        what,
        len: i64::from(len),
    })
}

/// An i32-length-prefixed string; length 0 reads as null, as in Java.
fn read_i32_string(buf: &mut Bytes, what: &'static str) -> Result<Option<String>, CodecError> {
    let len = read_len_i32(buf, what)?;
    if len == 0 {
        return Ok(None);
    }
    if len > buf.len() {
        return Err(CodecError::InvalidLength {
            what,
            len: len as i64,
        });
    }
    utf8(buf.split_to(len), what).map(Some)
}

fn utf8(bytes: Bytes, what: &'static str) -> Result<String, CodecError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| CodecError::InvalidUtf8 { what })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RemotingCommand {
        let mut fields = ExtFields::new();
        fields.insert("topic".into(), "T".into());
        RemotingCommand {
            opaque: 7,
            ..RemotingCommand::request(105, fields)
        }
    }

    #[test]
    fn json_header_matches_fastjson_layout() {
        let bytes = sample().to_bytes().unwrap();
        let header = br#"{"code":105,"extFields":{"topic":"T"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":407}"#;
        let mut expected = Vec::new();
        expected.put_i32(4 + header.len() as i32);
        expected.put_i32(header.len() as i32);
        expected.extend_from_slice(header);
        assert_eq!(&bytes[..], &expected[..]);
    }

    #[test]
    fn json_round_trip_with_body_and_remark() {
        let mut cmd = RemotingCommand::response_to(&sample(), 17, Some("no route".into()))
            .with_body(Bytes::from_static(b"payload"));
        cmd.ext_fields.insert("k".into(), "v".into());
        let bytes = cmd.to_bytes().unwrap();
        let decoded = RemotingCommand::decode(bytes.slice(4..)).unwrap();
        assert_eq!(decoded, cmd);
        assert!(decoded.is_response());
        assert!(!decoded.is_oneway());
    }

    #[test]
    fn binary_round_trip() {
        let mut cmd = sample().with_body(Bytes::from_static(b"xyz"));
        cmd.serialize_type = SerializeType::RocketMq;
        cmd.remark = Some("r".into());
        cmd.set_oneway();
        let bytes = cmd.to_bytes().unwrap();
        assert_eq!(bytes[4], 1, "serialize type byte");
        let decoded = RemotingCommand::decode(bytes.slice(4..)).unwrap();
        assert_eq!(decoded, cmd);
        assert!(decoded.is_oneway());
    }

    #[test]
    fn binary_header_byte_layout() {
        // Hand-assembled from RocketMQSerializable.rocketMQProtocolEncode:
        // code i16, language u8, version i16, opaque i32, flag i32, remark (i32 len),
        // ext map (i32 total len, then i16 key len + key + i32 value len + value).
        let mut header = Vec::new();
        header.put_i16(0); // SUCCESS
        header.put_u8(0); // JAVA
        header.put_i16(479); // V5_3_3
        header.put_i32(42);
        header.put_i32(1); // response
        header.put_i32(0); // null remark
        let entry = [&2i16.to_be_bytes()[..], b"id", &1i32.to_be_bytes(), b"9"].concat();
        header.put_i32(entry.len() as i32);
        header.extend_from_slice(&entry);
        let mut frame = Vec::new();
        frame.put_u32((1 << 24) | header.len() as u32);
        frame.extend_from_slice(&header);
        let decoded = RemotingCommand::decode(Bytes::from(frame)).unwrap();
        assert_eq!(decoded.code, 0);
        assert_eq!(decoded.version, 479);
        assert_eq!(decoded.opaque, 42);
        assert!(decoded.is_response());
        assert_eq!(decoded.remark, None);
        assert_eq!(decoded.ext_fields.get("id").map(String::as_str), Some("9"));
    }

    #[test]
    fn json_header_tolerates_numeric_language_and_values() {
        let header = br#"{"code":0,"language":9,"version":317,"opaque":3,"flag":1,"extFields":{"offset":12,"x":null}}"#;
        let mut frame = Vec::new();
        frame.put_u32(header.len() as u32);
        frame.extend_from_slice(header);
        let decoded = RemotingCommand::decode(Bytes::from(frame)).unwrap();
        assert_eq!(decoded.language, LanguageCode::Go);
        assert_eq!(
            decoded.ext_fields.get("offset").map(String::as_str),
            Some("12")
        );
        assert!(!decoded.ext_fields.contains_key("x"));
    }

    #[test]
    fn streaming_decode_waits_for_whole_frame() {
        let bytes = sample().to_bytes().unwrap();
        let mut src = BytesMut::new();
        for (i, byte) in bytes.iter().enumerate() {
            src.put_u8(*byte);
            let got = RemotingCommand::try_decode_frame(&mut src, DEFAULT_MAX_FRAME).unwrap();
            if i + 1 < bytes.len() {
                assert!(got.is_none());
            } else {
                assert_eq!(got.unwrap(), sample());
            }
        }
        assert!(src.is_empty());
    }

    #[test]
    fn malformed_frames_are_errors() {
        let mut too_big = BytesMut::from(&(DEFAULT_MAX_FRAME as i32 + 1).to_be_bytes()[..]);
        assert!(matches!(
            RemotingCommand::try_decode_frame(&mut too_big, DEFAULT_MAX_FRAME),
            Err(CodecError::FrameTooLarge { .. })
        ));
        let mut negative = BytesMut::from(&(-5i32).to_be_bytes()[..]);
        assert!(RemotingCommand::try_decode_frame(&mut negative, DEFAULT_MAX_FRAME).is_err());
        // header length beyond the frame
        assert!(RemotingCommand::decode(Bytes::from_static(&[0, 0, 0, 9, b'{'])).is_err());
        // unknown serialization type
        assert!(matches!(
            RemotingCommand::decode(Bytes::from_static(&[7, 0, 0, 0])),
            Err(CodecError::UnknownSerializeType(7))
        ));
        // binary header cut short
        assert!(RemotingCommand::decode(Bytes::from_static(&[1, 0, 0, 3, 0, 0, 0])).is_err());
        // JSON that is not an object
        assert!(RemotingCommand::decode(Bytes::from_static(&[0, 0, 0, 2, b'[', b']'])).is_err());
    }
}
