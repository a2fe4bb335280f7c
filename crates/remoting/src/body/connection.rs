//! Who is connected to a broker: the GET_PRODUCER_CONNECTION_LIST answer.

use serde::{Deserialize, Serialize};

use super::{decode_json, encode_json};
use crate::error::CodecError;

/// One client channel as a broker lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientConnection {
    /// The client id the client sent in its heartbeat.
    #[serde(default)]
    pub client_id: String,
    /// The client's address as the broker sees the socket.
    #[serde(default)]
    pub client_addr: String,
    /// Java's `LanguageCode` name, e.g. "JAVA" or "RUST".
    #[serde(default)]
    pub language: String,
    /// The client's protocol version number.
    #[serde(default)]
    pub version: i32,
}

/// GET_PRODUCER_CONNECTION_LIST response body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerConnection {
    #[serde(default)]
    pub connection_set: Vec<ClientConnection>,
}

impl ProducerConnection {
    /// JSON body.
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        encode_json("ProducerConnection", self)
    }
    /// Parses a JSON body.
    pub fn decode(body: &[u8]) -> Result<Self, CodecError> {
        decode_json("ProducerConnection", body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_answer_parses() {
        let body = br#"{"connectionSet":[{"clientAddr":"127.0.0.1:50412","clientId":"127.0.0.1@4242","language":"RUST","version":453}]}"#;
        let parsed = ProducerConnection::decode(body).unwrap();
        assert_eq!(parsed.connection_set.len(), 1);
        assert_eq!(parsed.connection_set[0].client_id, "127.0.0.1@4242");
        assert_eq!(parsed.connection_set[0].language, "RUST");
    }
}
