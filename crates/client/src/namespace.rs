//! Namespaces: Java's `namespace` client setting. Resources (topics, groups) of a namespaced
//! client are named `<namespace>%<name>` on the brokers, so that several tenants can share a
//! cluster; the client wraps the names it sends and unwraps the ones it shows.
//!
//! The rules are those of Java's `NamespaceUtil` (5.3.3): a retry or DLQ name keeps its prefix
//! in front (`%RETRY%<namespace>%<group>`, `%DLQ%<namespace>%<group>`); system resources
//! (`TBW102`, `SCHEDULE_TOPIC_XXXX`, `RMQ_SYS_*`, `CID_RMQ_SYS_*`, ...) are never wrapped; a
//! name already carrying the namespace is left as it is. Unwrapping removes exactly that
//! namespace and leaves any other name alone.

use crate::error::{ClientError, Result};

/// Separator between namespace and name.
pub const SEPARATOR: char = '%';
/// Prefix of retry topics.
pub const RETRY_PREFIX: &str = "%RETRY%";
/// Prefix of dead-letter topics.
pub const DLQ_PREFIX: &str = "%DLQ%";

/// Longest namespace accepted: the wrapped names must still fit the broker's limits.
pub const NAMESPACE_MAX_LENGTH: usize = 64;

/// Topics the brokers keep for themselves (Java's `TopicValidator` system topics).
const SYSTEM_TOPICS: &[&str] = &[
    "TBW102",
    "SCHEDULE_TOPIC_XXXX",
    "BenchmarkTest",
    "OFFSET_MOVED_EVENT",
    "SELF_TEST_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
];
/// Prefixes of system topics and groups.
const SYSTEM_PREFIXES: &[&str] = &["RMQ_SYS_", "rmq_sys_", "CID_RMQ_SYS_"];

/// Checks a `namespace` setting: letters, digits, `_` and `-`, at most
/// [`NAMESPACE_MAX_LENGTH`] characters (a `%` would make wrapped names ambiguous).
pub fn validate_namespace(namespace: &str) -> Result<()> {
    let valid = !namespace.is_empty()
        && namespace.len() <= NAMESPACE_MAX_LENGTH
        && namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(ClientError::Config(format!(
            "namespace {} must be 1 to {NAMESPACE_MAX_LENGTH} letters, digits, '_' or '-'",
            crate::validation::shown(namespace)
        )))
    }
}

/// A blank setting counts as none, as in Java.
pub fn effective(namespace: Option<&str>) -> Option<&str> {
    namespace.filter(|ns| !ns.trim().is_empty())
}

fn is_system(name: &str) -> bool {
    SYSTEM_TOPICS.contains(&name) || SYSTEM_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// `(prefix, rest)`: the retry or DLQ prefix of `resource` (or "") and the name after it.
fn split_prefix(resource: &str) -> (&str, &str) {
    for prefix in [RETRY_PREFIX, DLQ_PREFIX] {
        if let Some(rest) = resource.strip_prefix(prefix) {
            return (prefix, rest);
        }
    }
    ("", resource)
}

/// `resource` as the brokers know it for a client in `namespace`.
pub fn wrap(namespace: Option<&str>, resource: &str) -> String {
    let Some(namespace) = effective(namespace) else {
        return resource.to_owned();
    };
    if resource.is_empty() || is_system(resource) {
        return resource.to_owned();
    }
    let (prefix, name) = split_prefix(resource);
    if is_system(name) || has_namespace(namespace, name) {
        return resource.to_owned();
    }
    format!("{prefix}{namespace}{SEPARATOR}{name}")
}

/// `resource` as a client in `namespace` shows it: the namespace removed when it has it.
pub fn unwrap(namespace: Option<&str>, resource: &str) -> String {
    let Some(namespace) = effective(namespace) else {
        return resource.to_owned();
    };
    let (prefix, name) = split_prefix(resource);
    match name
        .strip_prefix(namespace)
        .and_then(|rest| rest.strip_prefix(SEPARATOR))
    {
        Some(bare) => format!("{prefix}{bare}"),
        None => resource.to_owned(),
    }
}

/// `text` (an error message) with every name of `namespace` shown bare: each `<namespace>%`
/// that starts a name (at the start, or after a character no name has, such as a quote, a
/// space or the `%` of a retry prefix) is removed.
pub fn unwrap_in_text(namespace: Option<&str>, text: &str) -> String {
    let Some(namespace) = effective(namespace) else {
        return text.to_owned();
    };
    let marker = format!("{namespace}{SEPARATOR}");
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let mut shown = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&marker) {
        let starts_name = !shown
            .chars()
            .last()
            .into_iter()
            .chain(rest[..at].chars().last())
            .last()
            .is_some_and(is_name_char);
        shown.push_str(&rest[..at]);
        if !starts_name {
            shown.push_str(&marker);
        }
        rest = &rest[at + marker.len()..];
    }
    shown.push_str(rest);
    shown
}

/// `err` as a client in `namespace` shows it: the topics and groups it names without the
/// namespace, as the user gave them (the codes, response codes and addresses unchanged).
pub fn shown_error(namespace: Option<&str>, err: ClientError) -> ClientError {
    if effective(namespace).is_none() {
        return err;
    }
    let text = |s: String| unwrap_in_text(namespace, &s);
    match err {
        ClientError::Validation(m) => ClientError::Validation(text(m)),
        ClientError::Config(m) => ClientError::Config(text(m)),
        ClientError::Timeout {
            what,
            timeout_ms,
            addr,
        } => ClientError::Timeout {
            what: text(what),
            timeout_ms,
            addr,
        },
        ClientError::Network { message, addr } => ClientError::Network {
            message: text(message),
            addr,
        },
        ClientError::NameServer { message, code } => ClientError::NameServer {
            message: text(message),
            code,
        },
        ClientError::TopicNotFound { topic, code } => ClientError::TopicNotFound {
            topic: unwrap(namespace, &topic),
            code,
        },
        ClientError::BrokerNotAvailable(m) => ClientError::BrokerNotAvailable(text(m)),
        ClientError::SendFailed {
            message,
            code,
            addr,
        } => ClientError::SendFailed {
            message: text(message),
            code,
            addr,
        },
        ClientError::BrokerResponse { message, code } => ClientError::BrokerResponse {
            message: text(message),
            code,
        },
        ClientError::State(m) => ClientError::State(text(m)),
        ClientError::InvalidSelector(m) => ClientError::InvalidSelector(text(m)),
        ClientError::Offset(m) => ClientError::Offset(text(m)),
        ClientError::Authentication {
            message,
            reason,
            addr,
            code,
        } => ClientError::Authentication {
            message: text(message),
            reason: text(reason),
            addr,
            code,
        },
        ClientError::Authorization {
            message,
            reason,
            addr,
            code,
        } => ClientError::Authorization {
            message: text(message),
            reason: text(reason),
            addr,
            code,
        },
        // A handshake names no resource: shown as it is.
        tls @ ClientError::Tls { .. } => tls,
        other @ ClientError::Protocol(_) => other,
    }
}

fn has_namespace(namespace: &str, name: &str) -> bool {
    name.strip_prefix(namespace)
        .is_some_and(|rest| rest.starts_with(SEPARATOR))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values are what Java's `NamespaceUtil.wrapNamespace` / `withoutNamespace`
    /// (rocketmq-remoting 5.3.3) return for namespace `ns1`.
    #[test]
    fn wraps_and_unwraps_as_java_namespace_util() {
        let ns = Some("ns1");
        let cases = [
            ("Topic", "ns1%Topic", "Topic"),
            ("%RETRY%Group", "%RETRY%ns1%Group", "%RETRY%Group"),
            ("%DLQ%Group", "%DLQ%ns1%Group", "%DLQ%Group"),
            ("ns1%Topic", "ns1%Topic", "Topic"),
            ("%RETRY%ns1%Group", "%RETRY%ns1%Group", "%RETRY%Group"),
            ("TBW102", "TBW102", "TBW102"),
            (
                "RMQ_SYS_TRACE_TOPIC",
                "RMQ_SYS_TRACE_TOPIC",
                "RMQ_SYS_TRACE_TOPIC",
            ),
            (
                "SCHEDULE_TOPIC_XXXX",
                "SCHEDULE_TOPIC_XXXX",
                "SCHEDULE_TOPIC_XXXX",
            ),
            ("CID_RMQ_SYS_X", "CID_RMQ_SYS_X", "CID_RMQ_SYS_X"),
            ("other%Topic", "ns1%other%Topic", "other%Topic"),
            ("%RETRY%other%G", "%RETRY%ns1%other%G", "%RETRY%other%G"),
        ];
        for (resource, wrapped, unwrapped) in cases {
            assert_eq!(wrap(ns, resource), wrapped, "wrap {resource}");
            assert_eq!(unwrap(ns, resource), unwrapped, "unwrap {resource}");
        }
        // Round trip of every user name.
        assert_eq!(unwrap(ns, &wrap(ns, "orders")), "orders");
    }

    #[test]
    fn no_namespace_changes_nothing() {
        for ns in [None, Some(""), Some("  ")] {
            assert_eq!(wrap(ns, "Topic"), "Topic");
            assert_eq!(unwrap(ns, "ns1%Topic"), "ns1%Topic");
        }
    }

    #[test]
    fn error_messages_name_resources_bare() {
        let ns = Some("ns1");
        assert_eq!(
            unwrap_in_text(ns, "topic \"ns1%T\" of %RETRY%ns1%G; myns1%X ns1%"),
            "topic \"T\" of %RETRY%G; myns1%X "
        );
        assert_eq!(unwrap_in_text(None, "ns1%T"), "ns1%T");
        let err = shown_error(
            ns,
            ClientError::TopicNotFound {
                topic: "ns1%T".into(),
                code: Some(17),
            },
        );
        assert_eq!(
            err.to_string(),
            "no route info for topic T [responseCode=17]"
        );
        assert_eq!(err.code(), "ERR_TOPIC_NOT_FOUND");
        let err = shown_error(ns, ClientError::State("group ns1%G is stopped".into()));
        assert_eq!(err.to_string(), "group G is stopped");
    }

    #[test]
    fn namespaces_are_checked() {
        assert!(validate_namespace("tenant-a_1").is_ok());
        for bad in ["", "a%b", "a b", &"x".repeat(NAMESPACE_MAX_LENGTH + 1)] {
            let err = validate_namespace(bad).unwrap_err().to_string();
            assert!(err.starts_with("namespace"), "{err}");
        }
    }
}
