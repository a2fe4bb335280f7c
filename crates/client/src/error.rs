//! The engine's error type. Each variant maps to one stable code the binding exposes.

use rocketmq_remoting::CodecError;
use thiserror::Error;

/// Everything a client call can fail with.
#[derive(Debug, Clone, Error)]
pub enum ClientError {
    /// Bad input from the user (message, topic, argument).
    #[error("{0}")]
    Validation(String),
    /// A configuration value is unusable.
    #[error("{0}")]
    Config(String),
    /// No answer within the request's timeout.
    #[error("{what} timed out after {timeout_ms} ms")]
    Timeout { what: String, timeout_ms: u64 },
    /// Connecting, writing or reading failed, or the connection closed.
    #[error("{0}")]
    Network(String),
    /// No NameServer could answer, or it answered an error.
    #[error("{message}{}", response_code_suffix(*.code))]
    NameServer { message: String, code: Option<i32> },
    /// The NameServer knows no route for the topic.
    #[error("no route info for topic {topic}{}", response_code_suffix(*.code))]
    TopicNotFound { topic: String, code: Option<i32> },
    /// No usable broker (no master address, no writable queue).
    #[error("{0}")]
    BrokerNotAvailable(String),
    /// Every attempt to send a message failed; the message says why the last one did.
    #[error("{message}{}", response_code_suffix(*.code))]
    SendFailed { message: String, code: Option<i32> },
    /// A broker answered a request with an error code.
    #[error("{message}{}", response_code_suffix(Some(*.code)))]
    BrokerResponse { message: String, code: i32 },
    /// The call is not valid in the object's current state.
    #[error("{0}")]
    State(String),
    /// A subscription expression the brokers refuse (a SQL92 expression that does not
    /// compile, or brokers that do not filter by properties).
    #[error("{0}")]
    InvalidSelector(String),
    /// A peer sent bytes the codec could not decode.
    #[error("protocol error: {0}")]
    Protocol(#[from] CodecError),
}

/// Response codes travel at the end of the message in a fixed form the
/// TypeScript layer parses into a numeric `responseCode`.
fn response_code_suffix(code: Option<i32>) -> String {
    code.map(|c| format!(" [responseCode={c}]"))
        .unwrap_or_default()
}

impl ClientError {
    /// Stable code string for the binding (`err.code` in JavaScript).
    pub fn code(&self) -> &'static str {
        match self {
            ClientError::Validation(_) => "ERR_VALIDATION",
            ClientError::Config(_) => "ERR_CONFIG",
            ClientError::Timeout { .. } => "ERR_TIMEOUT",
            ClientError::Network(_) => "ERR_NETWORK",
            ClientError::NameServer { .. } => "ERR_NAMESERVER",
            ClientError::TopicNotFound { .. } => "ERR_TOPIC_NOT_FOUND",
            ClientError::BrokerNotAvailable(_) => "ERR_BROKER_NOT_AVAILABLE",
            ClientError::SendFailed { .. } => "ERR_SEND_FAILED",
            ClientError::BrokerResponse { .. } => "ERR_BROKER_RESPONSE",
            ClientError::State(_) => "ERR_STATE",
            ClientError::InvalidSelector(_) => "ERR_INVALID_SELECTOR",
            ClientError::Protocol(_) => "ERR_PROTOCOL",
        }
    }

    /// Whether trying the same call against another peer may succeed.
    pub fn is_transport(&self) -> bool {
        matches!(self, ClientError::Timeout { .. } | ClientError::Network(_))
    }
}

/// Result alias for the engine.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_codes_are_appended_in_a_parsable_form() {
        let err = ClientError::BrokerResponse {
            message: "create topic failed".into(),
            code: 17,
        };
        assert_eq!(err.to_string(), "create topic failed [responseCode=17]");
        assert_eq!(err.code(), "ERR_BROKER_RESPONSE");
        let err = ClientError::TopicNotFound {
            topic: "T".into(),
            code: None,
        };
        assert_eq!(err.to_string(), "no route info for topic T");
    }
}
