//! Request and response code numbers, and the small enums carried in every header.
//!
//! The numbers are the ones in RocketMQ's `RequestCode`, `ResponseCode` and
//! `RemotingSysResponseCode`; they are identical in 4.9.x and 5.x unless noted.

/// Request codes (the `code` of a frame without the RESPONSE flag).
pub mod request {
    pub const SEND_MESSAGE: i32 = 10;
    pub const PULL_MESSAGE: i32 = 11;
    pub const QUERY_CONSUMER_OFFSET: i32 = 14;
    pub const UPDATE_CONSUMER_OFFSET: i32 = 15;
    pub const UPDATE_AND_CREATE_TOPIC: i32 = 17;
    pub const SEARCH_OFFSET_BY_TIMESTAMP: i32 = 29;
    pub const VIEW_MESSAGE_BY_ID: i32 = 33;
    pub const GET_MAX_OFFSET: i32 = 30;
    pub const GET_MIN_OFFSET: i32 = 31;
    pub const HEART_BEAT: i32 = 34;
    pub const UNREGISTER_CLIENT: i32 = 35;
    pub const CONSUMER_SEND_MSG_BACK: i32 = 36;
    pub const END_TRANSACTION: i32 = 37;
    pub const GET_CONSUMER_LIST_BY_GROUP: i32 = 38;
    pub const CHECK_TRANSACTION_STATE: i32 = 39;
    pub const NOTIFY_CONSUMER_IDS_CHANGED: i32 = 40;
    pub const LOCK_BATCH_MQ: i32 = 41;
    pub const UNLOCK_BATCH_MQ: i32 = 42;
    pub const CHECK_CLIENT_CONFIG: i32 = 46;
    pub const GET_ROUTEINFO_BY_TOPIC: i32 = 105;
    pub const GET_BROKER_CLUSTER_INFO: i32 = 106;
    pub const GET_PRODUCER_CONNECTION_LIST: i32 = 204;
    pub const RESET_CONSUMER_CLIENT_OFFSET: i32 = 220;
    pub const GET_CONSUMER_STATUS_FROM_CLIENT: i32 = 221;
    pub const INVOKE_BROKER_TO_RESET_OFFSET: i32 = 222;
    pub const GET_CONSUMER_RUNNING_INFO: i32 = 307;
    pub const CONSUME_MESSAGE_DIRECTLY: i32 = 309;
    pub const SEND_MESSAGE_V2: i32 = 310;
    pub const SEND_BATCH_MESSAGE: i32 = 320;
    pub const PUSH_REPLY_MESSAGE_TO_CLIENT: i32 = 326;
    /// 5.x only (POP consumption). Above 32767, so only a JSON header can carry it.
    pub const POP_MESSAGE: i32 = 200050;
    /// 5.x only (POP consumption).
    pub const ACK_MESSAGE: i32 = 200051;
    /// 5.x only (POP consumption).
    pub const CHANGE_MESSAGE_INVISIBLETIME: i32 = 200053;
}

/// Response codes (the `code` of a frame with the RESPONSE flag).
pub mod response {
    pub const SUCCESS: i32 = 0;
    pub const SYSTEM_ERROR: i32 = 1;
    pub const SYSTEM_BUSY: i32 = 2;
    pub const REQUEST_CODE_NOT_SUPPORTED: i32 = 3;
    pub const FLUSH_DISK_TIMEOUT: i32 = 10;
    pub const SLAVE_NOT_AVAILABLE: i32 = 11;
    pub const FLUSH_SLAVE_TIMEOUT: i32 = 12;
    pub const MESSAGE_ILLEGAL: i32 = 13;
    pub const SERVICE_NOT_AVAILABLE: i32 = 14;
    pub const NO_PERMISSION: i32 = 16;
    pub const TOPIC_NOT_EXIST: i32 = 17;
    pub const PULL_NOT_FOUND: i32 = 19;
    pub const PULL_RETRY_IMMEDIATELY: i32 = 20;
    pub const PULL_OFFSET_MOVED: i32 = 21;
    pub const QUERY_NOT_FOUND: i32 = 22;
    pub const SUBSCRIPTION_PARSE_FAILED: i32 = 23;
    pub const SUBSCRIPTION_NOT_EXIST: i32 = 24;
    pub const SUBSCRIPTION_NOT_LATEST: i32 = 25;
    pub const SUBSCRIPTION_GROUP_NOT_EXIST: i32 = 26;
    pub const FILTER_DATA_NOT_EXIST: i32 = 27;
    pub const FILTER_DATA_NOT_LATEST: i32 = 28;
    pub const INVALID_PARAMETER: i32 = 29;
    pub const CONSUMER_NOT_ONLINE: i32 = 206;
    pub const CONSUME_MSG_TIMEOUT: i32 = 207;
    /// POP_MESSAGE: the broker holds too many long polls already.
    pub const POLLING_FULL: i32 = 209;
    /// POP_MESSAGE: nothing arrived within the poll time.
    pub const POLLING_TIMEOUT: i32 = 210;
    pub const FLOW_CONTROL: i32 = 215;
    pub const GO_AWAY: i32 = 1500;
}

/// Header serialization of one frame: the high byte of the header-length word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SerializeType {
    /// fastjson text; what every broker version understands, so requests use it.
    #[default]
    Json,
    /// RocketMQ's compact binary header (`RocketMQSerializable`).
    RocketMq,
}

impl SerializeType {
    /// The byte written on the wire.
    pub fn code(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }

    /// The type for a wire byte, if it is one RocketMQ defines.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(SerializeType::Json),
            1 => Some(SerializeType::RocketMq),
            _ => None,
        }
    }
}

/// The sender's language, as RocketMQ's `LanguageCode` enum.
///
/// JSON headers carry the name, binary headers the number. A code this table
/// does not know is kept as `Other`'s neighbour [`LanguageCode::Unknown`] so
/// decoding never fails on a newer peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LanguageCode {
    #[default]
    Java,
    Cpp,
    Dotnet,
    Python,
    Delphi,
    Erlang,
    Ruby,
    Other,
    Http,
    Go,
    Php,
    Oms,
    /// Understood by brokers and name servers from 4.9.4 on.
    Rust,
    /// Understood by recent 5.x only.
    NodeJs,
    /// A code or name this table does not know.
    Unknown,
}

const LANGUAGES: [(LanguageCode, u8, &str); 14] = [
    (LanguageCode::Java, 0, "JAVA"),
    (LanguageCode::Cpp, 1, "CPP"),
    (LanguageCode::Dotnet, 2, "DOTNET"),
    (LanguageCode::Python, 3, "PYTHON"),
    (LanguageCode::Delphi, 4, "DELPHI"),
    (LanguageCode::Erlang, 5, "ERLANG"),
    (LanguageCode::Ruby, 6, "RUBY"),
    (LanguageCode::Other, 7, "OTHER"),
    (LanguageCode::Http, 8, "HTTP"),
    (LanguageCode::Go, 9, "GO"),
    (LanguageCode::Php, 10, "PHP"),
    (LanguageCode::Oms, 11, "OMS"),
    (LanguageCode::Rust, 12, "RUST"),
    (LanguageCode::NodeJs, 13, "NODE_JS"),
];

impl LanguageCode {
    /// Binary-header number; `Unknown` is written as OTHER.
    pub fn code(self) -> u8 {
        LANGUAGES
            .iter()
            .find(|(l, _, _)| *l == self)
            .map_or(7, |(_, c, _)| *c)
    }

    /// JSON-header name; `Unknown` is written as OTHER.
    pub fn name(self) -> &'static str {
        LANGUAGES
            .iter()
            .find(|(l, _, _)| *l == self)
            .map_or("OTHER", |(_, _, n)| n)
    }

    /// Language for a binary-header number.
    pub fn from_code(code: u8) -> Self {
        LANGUAGES
            .iter()
            .find(|(_, c, _)| *c == code)
            .map_or(LanguageCode::Unknown, |(l, _, _)| *l)
    }

    /// Language for a JSON-header name.
    pub fn from_name(name: &str) -> Self {
        LANGUAGES
            .iter()
            .find(|(_, _, n)| *n == name)
            .map_or(LanguageCode::Unknown, |(l, _, _)| *l)
    }
}

/// `version` sent in requests: the ordinal of `MQVersion.Version.V4_9_7`.
///
/// It enables standard-JSON route bodies (>= 401), broker-forwarded admin
/// requests (>= 62) and `maxReconsumeTimes` (>= 121), and stays below the
/// 5.3 proxy's GO_AWAY threshold (> 475).
pub const CLIENT_VERSION: i32 = 407;

/// Frame `flag` bit: the frame is a response.
pub const FLAG_RESPONSE: i32 = 1;
/// Frame `flag` bit: the request expects no response.
pub const FLAG_ONEWAY: i32 = 2;
