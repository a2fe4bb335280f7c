//! RESET_CONSUMER_CLIENT_OFFSET body: `{"offsetTable":{<MessageQueue>:offset,...}}`.
//!
//! fastjson writes the map keys as JSON *objects*, which standard JSON does not allow, so
//! this module reads the body with a small hand-written walker. Each key may be a JSON
//! object (fastjson) or a string holding the object's JSON (what a standard encoder would
//! have to do); each value is an integer.

use std::collections::BTreeMap;

use serde::de::{DeserializeOwned, IgnoredAny};

use super::queue::MessageQueue;
use crate::error::CodecError;

const WHAT: &str = "ResetOffsetBody";

/// The queue → offset table of a reset request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResetOffsetBody {
    pub offset_table: BTreeMap<MessageQueue, i64>,
}

impl ResetOffsetBody {
    /// Parses the fastjson form (object keys) and the standard form (string keys).
    pub fn decode(body: &[u8]) -> Result<Self, CodecError> {
        let mut cursor = Cursor { buf: body, pos: 0 };
        let mut result = ResetOffsetBody::default();
        cursor.expect(b'{')?;
        if cursor.eat(b'}') {
            return cursor.finish(result);
        }
        loop {
            let key: String = cursor.value()?;
            cursor.expect(b':')?;
            if key == "offsetTable" {
                result.offset_table = cursor.offset_table()?;
            } else {
                cursor.value::<IgnoredAny>()?;
            }
            if cursor.eat(b',') {
                continue;
            }
            cursor.expect(b'}')?;
            return cursor.finish(result);
        }
    }

    /// Writes the fastjson form, as a Java broker would send it.
    pub fn encode_fastjson(&self) -> Result<Vec<u8>, CodecError> {
        let mut out = b"{\"offsetTable\":{".to_vec();
        for (i, (queue, offset)) in self.offset_table.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let key = serde_json::to_vec(queue).map_err(|e| CodecError::json(WHAT, &e))?;
            out.extend_from_slice(&key);
            out.push(b':');
            out.extend_from_slice(offset.to_string().as_bytes());
        }
        out.extend_from_slice(b"}}");
        Ok(out)
    }
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn rest(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.rest().first() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.rest().first().copied()
    }

    fn eat(&mut self, expected: u8) -> bool {
        if self.peek() == Some(expected) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, expected: u8) -> Result<(), CodecError> {
        match self.peek() {
            Some(b) if b == expected => {
                self.pos += 1;
                Ok(())
            }
            Some(b) => Err(CodecError::Json {
                what: WHAT,
                message: format!(
                    "expected '{}' at byte {}, found '{}'",
                    expected as char, self.pos, b as char
                ),
            }),
            None => Err(CodecError::Truncated { what: WHAT }),
        }
    }

    /// Parses one standard JSON value at the cursor and moves past it.
    fn value<T: DeserializeOwned>(&mut self) -> Result<T, CodecError> {
        self.skip_space();
        let mut stream = serde_json::Deserializer::from_slice(self.rest()).into_iter::<T>();
        match stream.next() {
            Some(Ok(v)) => {
                self.pos += stream.byte_offset();
                Ok(v)
            }
            Some(Err(e)) => Err(CodecError::json(WHAT, &e)),
            None => Err(CodecError::Truncated { what: WHAT }),
        }
    }

    fn queue_key(&mut self) -> Result<MessageQueue, CodecError> {
        match self.peek() {
            Some(b'"') => {
                let text: String = self.value()?;
                serde_json::from_str(&text).map_err(|e| CodecError::json(WHAT, &e))
            }
            _ => self.value(),
        }
    }

    fn offset_table(&mut self) -> Result<BTreeMap<MessageQueue, i64>, CodecError> {
        let mut table = BTreeMap::new();
        if self.peek() == Some(b'n') {
            self.value::<IgnoredAny>()?; // null
            return Ok(table);
        }
        self.expect(b'{')?;
        if self.eat(b'}') {
            return Ok(table);
        }
        loop {
            let queue = self.queue_key()?;
            self.expect(b':')?;
            let offset: i64 = self.value()?;
            table.insert(queue, offset);
            if self.eat(b',') {
                continue;
            }
            self.expect(b'}')?;
            return Ok(table);
        }
    }

    fn finish(mut self, result: ResetOffsetBody) -> Result<ResetOffsetBody, CodecError> {
        if self.peek().is_some() {
            return Err(CodecError::Json {
                what: WHAT,
                message: format!("trailing data at byte {}", self.pos),
            });
        }
        Ok(result)
    }
}
