//! The engine's rules, for TypeScript checks that must answer synchronously (names given to
//! the subscription manager, configurations resolved before a client exists) and for the
//! tests that prove TypeScript holds no copy of them.

use napi_derive::napi;
use rocketmq_client::namesrv::parse_namesrv_addrs;
use rocketmq_client::validation::{
    validate_group_argument, validate_topic, DEFAULT_PRODUCER_GROUP, GROUP_MAX_LENGTH,
    MAX_DELAY_LEVEL, RESERVED_PROPERTY_NAMES, TOPIC_MAX_LENGTH,
};

use crate::error::{Fallible, IntoFallible};

/// The engine's fixed limits and lists.
#[napi(object)]
pub struct NativeValidationRules {
    /// Property names user code may not set (Java's `MessageConst.STRING_HASH_SET`).
    pub reserved_property_names: Vec<String>,
    pub max_delay_level: i32,
    pub topic_max_length: u32,
    pub group_max_length: u32,
    /// The group a producer may not use (Java's default one).
    pub default_producer_group: String,
}

/// The engine's limits and lists, for documentation constants and tests.
#[napi]
pub fn validation_rules() -> NativeValidationRules {
    NativeValidationRules {
        reserved_property_names: RESERVED_PROPERTY_NAMES
            .iter()
            .map(|name| (*name).to_owned())
            .collect(),
        max_delay_level: MAX_DELAY_LEVEL,
        topic_max_length: TOPIC_MAX_LENGTH as u32,
        group_max_length: GROUP_MAX_LENGTH as u32,
        default_producer_group: DEFAULT_PRODUCER_GROUP.to_owned(),
    }
}

/// Throws a validation error naming the topic and the rule it breaks.
#[napi(ts_return_type = "void")]
pub fn check_topic(topic: String) -> Fallible<()> {
    validate_topic(&topic).fallible()
}

/// Throws a validation error naming `field`, the group and the rule it breaks.
#[napi(ts_return_type = "void")]
pub fn check_group(field: String, group: String) -> Fallible<()> {
    validate_group_argument(&field, &group).fallible()
}

/// The NameServer list with blanks removed, `host:port;host:port`; throws a configuration
/// error naming the entry that is not `host:port`.
#[napi(ts_return_type = "string")]
pub fn check_namesrv_addr(addr: String) -> Fallible<String> {
    parse_namesrv_addrs(&addr)
        .map(|addrs| addrs.join(";"))
        .fallible()
}
