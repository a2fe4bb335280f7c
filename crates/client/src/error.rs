//! The engine's error type. Each variant maps to one stable code the binding exposes, and
//! says what a caller needs to decide what to do next: the peer's response code, the
//! address of the peer that failed, and whether trying again may succeed. The binding hands
//! these to JavaScript as fields of the error (see `src/error.rs`).

use rocketmq_remoting::codes::response;
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
    Timeout {
        what: String,
        timeout_ms: u64,
        /// The peer that did not answer, when the request had one.
        addr: Option<String>,
    },
    /// Connecting, writing or reading failed, or the connection closed.
    #[error("{message}")]
    Network {
        message: String,
        /// The peer of the failed connection.
        addr: Option<String>,
    },
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
    SendFailed {
        message: String,
        code: Option<i32>,
        /// The broker that refused the last attempt.
        addr: Option<String>,
    },
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
    /// Consume offsets could not be loaded (a broadcasting consumer's offsets file and its
    /// backup both unreadable at start).
    #[error("{0}")]
    Offset(String),
    /// A broker refused the client's credentials (ACL: no access key, unknown user, wrong
    /// signature). `reason` is the broker's remark; the message never holds a secret.
    #[error("{message}")]
    Authentication {
        message: String,
        reason: String,
        addr: Option<String>,
        /// The broker's response code: NO_PERMISSION (5.3), SYSTEM_ERROR (4.x plain ACL).
        code: i32,
    },
    /// A broker knows the user but denies it the resource (ACL: no matching grant).
    #[error("{message}")]
    Authorization {
        message: String,
        reason: String,
        addr: Option<String>,
        /// The broker's response code, as for `Authentication`.
        code: i32,
    },
    /// The TLS handshake with a peer failed (untrusted or mismatched certificate, a server
    /// that does not speak TLS, a refused client certificate). `reason` is rustls' own.
    #[error("{message}")]
    Tls {
        message: String,
        reason: String,
        addr: Option<String>,
    },
}

/// Response codes travel at the end of the message in a fixed form the
/// TypeScript layer parses into a numeric `responseCode`.
fn response_code_suffix(code: Option<i32>) -> String {
    code.map(|c| format!(" [responseCode={c}]"))
        .unwrap_or_default()
}

/// Response codes of a broker or NameServer that mean "not now" rather than "no": the
/// peer is busy, throttling, or cannot serve this request at the moment, so the same call
/// may succeed later or against another broker.
const RETRIABLE_RESPONSE_CODES: [i32; 5] = [
    response::SYSTEM_BUSY,
    response::FLOW_CONTROL,
    response::SERVICE_NOT_AVAILABLE,
    response::SYSTEM_ERROR,
    response::SLAVE_NOT_AVAILABLE,
];

impl ClientError {
    /// Every code [`code`](Self::code) can return. The binding exports this list so the
    /// TypeScript tests can check that each code maps to a class; the unit tests check that
    /// it matches `code()` exactly.
    pub const ALL_CODES: [&'static str; 16] = [
        "ERR_VALIDATION",
        "ERR_CONFIG",
        "ERR_TIMEOUT",
        "ERR_NETWORK",
        "ERR_NAMESERVER",
        "ERR_TOPIC_NOT_FOUND",
        "ERR_BROKER_NOT_AVAILABLE",
        "ERR_SEND_FAILED",
        "ERR_BROKER_RESPONSE",
        "ERR_STATE",
        "ERR_INVALID_SELECTOR",
        "ERR_PROTOCOL",
        "ERR_OFFSET",
        "ERR_AUTHENTICATION",
        "ERR_AUTHORIZATION",
        "ERR_TLS",
    ];

    /// A network error about the connection to `addr`.
    pub fn network(addr: &str, message: impl Into<String>) -> ClientError {
        ClientError::Network {
            message: message.into(),
            addr: Some(addr.to_owned()),
        }
    }

    /// Stable code string for the binding (`err.code` in JavaScript).
    pub fn code(&self) -> &'static str {
        match self {
            ClientError::Validation(_) => "ERR_VALIDATION",
            ClientError::Config(_) => "ERR_CONFIG",
            ClientError::Timeout { .. } => "ERR_TIMEOUT",
            ClientError::Network { .. } => "ERR_NETWORK",
            ClientError::NameServer { .. } => "ERR_NAMESERVER",
            ClientError::TopicNotFound { .. } => "ERR_TOPIC_NOT_FOUND",
            ClientError::BrokerNotAvailable(_) => "ERR_BROKER_NOT_AVAILABLE",
            ClientError::SendFailed { .. } => "ERR_SEND_FAILED",
            ClientError::BrokerResponse { .. } => "ERR_BROKER_RESPONSE",
            ClientError::State(_) => "ERR_STATE",
            ClientError::InvalidSelector(_) => "ERR_INVALID_SELECTOR",
            ClientError::Protocol(_) => "ERR_PROTOCOL",
            ClientError::Offset(_) => "ERR_OFFSET",
            ClientError::Authentication { .. } => "ERR_AUTHENTICATION",
            ClientError::Authorization { .. } => "ERR_AUTHORIZATION",
            ClientError::Tls { .. } => "ERR_TLS",
        }
    }

    /// Whether trying the same call against another peer may succeed.
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            ClientError::Timeout { .. } | ClientError::Network { .. }
        )
    }

    /// The response code of the broker or NameServer answer the error comes from, if any.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            ClientError::NameServer { code, .. }
            | ClientError::TopicNotFound { code, .. }
            | ClientError::SendFailed { code, .. } => *code,
            ClientError::BrokerResponse { code, .. } => Some(*code),
            ClientError::Authentication { code, .. } | ClientError::Authorization { code, .. } => {
                Some(*code)
            }
            _ => None,
        }
    }

    /// The address (`host:port`) of the peer that failed, where the engine knows it: the
    /// broker (or NameServer) a request timed out against or lost its connection to, or the
    /// broker that refused a send. (Other broker answers do not carry it yet.)
    pub fn broker_addr(&self) -> Option<&str> {
        match self {
            ClientError::Timeout { addr, .. }
            | ClientError::Network { addr, .. }
            | ClientError::SendFailed { addr, .. }
            | ClientError::Authentication { addr, .. }
            | ClientError::Authorization { addr, .. }
            | ClientError::Tls { addr, .. } => addr.as_deref(),
            _ => None,
        }
    }

    /// The broker's own words for an ACL refusal (its response remark), where it gave them.
    pub fn broker_reason(&self) -> Option<&str> {
        match self {
            ClientError::Authentication { reason, .. }
            | ClientError::Authorization { reason, .. }
            | ClientError::Tls { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// Whether the same call may succeed if made again later: timeouts, network failures,
    /// no broker available (routes change), no NameServer reachable, and answers that mean
    /// busy or throttled. Bad configuration, bad input, wrong state, missing routes and
    /// refusals are final until something changes.
    pub fn retriable(&self) -> bool {
        match self {
            ClientError::Timeout { .. }
            | ClientError::Network { .. }
            | ClientError::BrokerNotAvailable(_) => true,
            // No code: no NameServer answered at all, a transport failure.
            ClientError::NameServer { code: None, .. } => true,
            ClientError::NameServer {
                code: Some(code), ..
            }
            | ClientError::SendFailed {
                code: Some(code), ..
            }
            | ClientError::BrokerResponse { code, .. } => RETRIABLE_RESPONSE_CODES.contains(code),
            ClientError::Validation(_)
            | ClientError::Config(_)
            | ClientError::TopicNotFound { .. }
            | ClientError::SendFailed { code: None, .. }
            | ClientError::State(_)
            | ClientError::InvalidSelector(_)
            | ClientError::Protocol(_)
            | ClientError::Offset(_) => false,
            // Credentials and grants do not fix themselves: retrying would only repeat the
            // refusal (and, for a consumer, flood the broker's audit log).
            ClientError::Authentication { .. } | ClientError::Authorization { .. } => false,
            // Certificates and the server's TLS mode do not change between attempts either.
            ClientError::Tls { .. } => false,
        }
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

    /// One error of every variant. The match in [`variant_is_listed`] has no wildcard, so
    /// a new variant does not compile until it is added here too.
    fn one_of_each() -> Vec<ClientError> {
        let examples = vec![
            ClientError::Validation("v".into()),
            ClientError::Config("c".into()),
            ClientError::Timeout {
                what: "request".into(),
                timeout_ms: 1,
                addr: Some("127.0.0.1:10911".into()),
            },
            ClientError::network("127.0.0.1:10911", "closed"),
            ClientError::NameServer {
                message: "n".into(),
                code: None,
            },
            ClientError::TopicNotFound {
                topic: "t".into(),
                code: Some(response::TOPIC_NOT_EXIST),
            },
            ClientError::BrokerNotAvailable("b".into()),
            ClientError::SendFailed {
                message: "s".into(),
                code: Some(response::SYSTEM_BUSY),
                addr: Some("127.0.0.1:10921".into()),
            },
            ClientError::BrokerResponse {
                message: "r".into(),
                code: response::FLOW_CONTROL,
            },
            ClientError::State("s".into()),
            ClientError::InvalidSelector("i".into()),
            ClientError::Protocol(CodecError::Truncated { what: "p" }),
            ClientError::Offset("o".into()),
            ClientError::Authentication {
                message: "a".into(),
                reason: "check signature failed.".into(),
                addr: Some("127.0.0.1:10911".into()),
                code: response::NO_PERMISSION,
            },
            ClientError::Authorization {
                message: "z".into(),
                reason: "no matched policies.".into(),
                addr: Some("127.0.0.1:10911".into()),
                code: response::NO_PERMISSION,
            },
            ClientError::Tls {
                message: "t".into(),
                reason: "invalid peer certificate: UnknownIssuer".into(),
                addr: Some("127.0.0.1:9876".into()),
            },
        ];
        assert!(examples.iter().all(variant_is_listed));
        examples
    }

    fn variant_is_listed(err: &ClientError) -> bool {
        match err {
            ClientError::Validation(_)
            | ClientError::Config(_)
            | ClientError::Timeout { .. }
            | ClientError::Network { .. }
            | ClientError::NameServer { .. }
            | ClientError::TopicNotFound { .. }
            | ClientError::BrokerNotAvailable(_)
            | ClientError::SendFailed { .. }
            | ClientError::BrokerResponse { .. }
            | ClientError::State(_)
            | ClientError::InvalidSelector(_)
            | ClientError::Protocol(_)
            | ClientError::Offset(_)
            | ClientError::Authentication { .. }
            | ClientError::Authorization { .. }
            | ClientError::Tls { .. } => true,
        }
    }

    #[test]
    fn all_codes_is_exactly_what_code_returns() {
        let mut produced: Vec<&str> = one_of_each().iter().map(ClientError::code).collect();
        let mut listed = ClientError::ALL_CODES.to_vec();
        produced.sort_unstable();
        listed.sort_unstable();
        assert_eq!(produced, listed);
    }

    #[test]
    fn transport_failures_and_busy_answers_are_retriable_the_rest_is_not() {
        let retriable: Vec<&str> = one_of_each()
            .iter()
            .filter(|e| e.retriable())
            .map(ClientError::code)
            .collect();
        assert_eq!(
            retriable,
            [
                "ERR_TIMEOUT",
                "ERR_NETWORK",
                "ERR_NAMESERVER",
                "ERR_BROKER_NOT_AVAILABLE",
                "ERR_SEND_FAILED",
                "ERR_BROKER_RESPONSE"
            ]
        );
        let refused = ClientError::BrokerResponse {
            message: "no permission".into(),
            code: response::NO_PERMISSION,
        };
        assert!(!refused.retriable());
        let answered = ClientError::NameServer {
            message: "refused".into(),
            code: Some(response::TOPIC_NOT_EXIST),
        };
        assert!(!answered.retriable());
    }

    #[test]
    fn response_code_and_broker_addr_where_known() {
        let by_code: Vec<(&str, Option<i32>, Option<&str>)> = one_of_each()
            .iter()
            .map(|e| (e.code(), e.response_code(), e.broker_addr()))
            .filter(|(_, code, addr)| code.is_some() || addr.is_some())
            .collect::<Vec<_>>()
            .into_iter()
            .map(|(c, r, a)| (c, r, a.map(|_| "addr")))
            .collect();
        assert_eq!(
            by_code,
            [
                ("ERR_TIMEOUT", None, Some("addr")),
                ("ERR_NETWORK", None, Some("addr")),
                ("ERR_TOPIC_NOT_FOUND", Some(response::TOPIC_NOT_EXIST), None),
                ("ERR_SEND_FAILED", Some(response::SYSTEM_BUSY), Some("addr")),
                ("ERR_BROKER_RESPONSE", Some(response::FLOW_CONTROL), None),
                (
                    "ERR_AUTHENTICATION",
                    Some(response::NO_PERMISSION),
                    Some("addr")
                ),
                (
                    "ERR_AUTHORIZATION",
                    Some(response::NO_PERMISSION),
                    Some("addr")
                ),
                ("ERR_TLS", None, Some("addr")),
            ]
        );
        let timeout = &one_of_each()[2];
        assert_eq!(timeout.broker_addr(), Some("127.0.0.1:10911"));
    }
}
