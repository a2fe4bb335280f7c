//! Message selectors of a subscription: TAG expressions, filtered by the broker on tag hash
//! codes and checked again on the client, and SQL92 expressions, evaluated by the broker
//! against message properties (Java's `MessageSelector` and `FilterAPI`).
//!
//! A SQL92 expression is only compiled by the brokers, so a bad one would surface as pulls
//! failing forever. Java asks every broker first (CHECK_CLIENT_CONFIG, 46, in
//! `MQClientInstance.checkClientInBroker`) and fails `start()`; so does
//! [`check_sql92_subscription`]. A broker answers SUBSCRIPTION_PARSE_FAILED for an
//! expression it cannot compile and SYSTEM_ERROR when it does not filter by properties
//! (`enablePropertyFilter=false`); both refuse the selector and become
//! [`ClientError::InvalidSelector`].

use std::time::Duration;

use rocketmq_remoting::body::heartbeat::{EXPRESSION_TYPE_SQL92, EXPRESSION_TYPE_TAG};
use rocketmq_remoting::body::{CheckClientRequestBody, SubscriptionData, TopicRouteData};
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::{ExtFields, RemotingCommand};

use crate::error::{ClientError, Result};
use crate::remoting_client::RemotingClient;

/// Java's timeout of CHECK_CLIENT_CONFIG (`1000 * 3`).
pub const CHECK_CLIENT_CONFIG_TIMEOUT: Duration = Duration::from_secs(3);

/// How a subscription expression is read (Java's `ExpressionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpressionType {
    /// `*` or tags joined by `||`.
    Tag,
    /// A SQL92 condition on message properties, e.g. `a > 5 AND TAGS = 'x'`.
    Sql92,
}

impl ExpressionType {
    /// The wire name: `TAG` or `SQL92`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpressionType::Tag => EXPRESSION_TYPE_TAG,
            ExpressionType::Sql92 => EXPRESSION_TYPE_SQL92,
        }
    }
}

/// The subscription data of `topic` for `expression` read as `kind`, with `sub_version`.
/// An empty SQL92 expression is refused, as Java's `FilterAPI.build` does; an empty TAG
/// expression means every message.
pub fn subscription_data(
    topic: &str,
    kind: ExpressionType,
    expression: &str,
    sub_version: i64,
) -> Result<SubscriptionData> {
    match kind {
        ExpressionType::Tag => Ok(SubscriptionData::tag(topic, expression, sub_version)),
        ExpressionType::Sql92 if expression.trim().is_empty() => Err(ClientError::InvalidSelector(
            format!("the SQL92 expression of topic {topic} is empty"),
        )),
        ExpressionType::Sql92 => Ok(SubscriptionData::sql92(topic, expression, sub_version)),
    }
}

/// Whether the broker must check `subscription` before the consumer starts.
pub fn needs_broker_check(subscription: &SubscriptionData) -> bool {
    subscription.expression_type != EXPRESSION_TYPE_TAG
}

/// CHECK_CLIENT_CONFIG of `subscription` to every master of `route`: Ok when each accepts
/// it. A refusal is [`ClientError::InvalidSelector`] with the broker's reason; a broker that
/// cannot be reached fails with the transport's error.
pub async fn check_sql92_subscription(
    remoting: &RemotingClient,
    route: &TopicRouteData,
    client_id: &str,
    group: &str,
    subscription: &SubscriptionData,
) -> Result<()> {
    check_sql92_subscription_within(
        remoting,
        route,
        client_id,
        group,
        subscription,
        CHECK_CLIENT_CONFIG_TIMEOUT,
    )
    .await
}

/// [`check_sql92_subscription`] with each request's budget given.
pub async fn check_sql92_subscription_within(
    remoting: &RemotingClient,
    route: &TopicRouteData,
    client_id: &str,
    group: &str,
    subscription: &SubscriptionData,
    timeout: Duration,
) -> Result<()> {
    let body = CheckClientRequestBody {
        client_id: client_id.to_owned(),
        group: group.to_owned(),
        subscription_data: subscription.clone(),
        namespace: None,
    }
    .encode()?;
    let body = bytes::Bytes::from(body);
    for broker in &route.broker_datas {
        let Some(addr) = broker.master_addr() else {
            continue;
        };
        let command = RemotingCommand::request(request::CHECK_CLIENT_CONFIG, ExtFields::new())
            .with_body(body.clone());
        let answer = remoting.request(addr, command, timeout).await?;
        check_answer(&answer, &broker.broker_name, subscription)?;
    }
    Ok(())
}

/// SUCCESS, or the refusal as a typed error.
fn check_answer(
    answer: &RemotingCommand,
    broker_name: &str,
    subscription: &SubscriptionData,
) -> Result<()> {
    if answer.code == response::SUCCESS {
        return Ok(());
    }
    let reason = answer.remark.as_deref().unwrap_or("no reason given");
    let why = match answer.code {
        response::SUBSCRIPTION_PARSE_FAILED => "cannot compile it",
        response::SYSTEM_ERROR => "does not filter by properties (enablePropertyFilter=false?)",
        _ => "refused it",
    };
    Err(ClientError::InvalidSelector(format!(
        "{} expression `{}` of topic {}: broker {broker_name} {why}: {reason} [responseCode={}]",
        subscription.expression_type, subscription.sub_string, subscription.topic, answer.code
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_and_sql92_build_their_subscription() {
        let tag = subscription_data("T", ExpressionType::Tag, "a || b", 7).unwrap();
        assert_eq!(tag.expression_type, "TAG");
        assert_eq!(tag.tags_set, vec!["a", "b"]);
        assert!(!needs_broker_check(&tag));
        let sql = subscription_data("T", ExpressionType::Sql92, "a > 5", 7).unwrap();
        assert_eq!(sql.expression_type, "SQL92");
        assert_eq!(sql.sub_string, "a > 5");
        assert_eq!(sql.sub_version, 7);
        assert!(sql.tags_set.is_empty());
        assert!(needs_broker_check(&sql));
        assert_eq!(ExpressionType::Sql92.as_str(), "SQL92");
    }

    #[test]
    fn an_empty_sql92_expression_is_an_invalid_selector() {
        let err = subscription_data("T", ExpressionType::Sql92, "  ", 1).unwrap_err();
        assert_eq!(err.code(), "ERR_INVALID_SELECTOR");
        assert!(subscription_data("T", ExpressionType::Tag, "", 1).is_ok());
    }

    #[test]
    fn a_refusal_names_the_expression_and_the_broker() {
        let sql = SubscriptionData::sql92("T", "a >", 1);
        let request = RemotingCommand::request(request::CHECK_CLIENT_CONFIG, ExtFields::new());
        let refused = RemotingCommand::response_to(
            &request,
            response::SUBSCRIPTION_PARSE_FAILED,
            Some("parse failed".into()),
        );
        let err = check_answer(&refused, "broker-a", &sql).unwrap_err();
        assert!(matches!(&err, ClientError::InvalidSelector(m)
            if m.contains("a >") && m.contains("broker-a") && m.contains("responseCode=23")));
        let ok = RemotingCommand::response_to(&request, response::SUCCESS, None);
        assert!(check_answer(&ok, "broker-a", &sql).is_ok());
    }
}
