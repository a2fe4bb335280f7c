//! NameServer client: address list, failover, topic routes and cluster info.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use log::debug;
use rocketmq_remoting::body::{ClusterInfo, TopicRouteData};
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::header::{EncodeHeader, GetRouteInfoRequestHeader};
use rocketmq_remoting::{ExtFields, RemotingCommand};

use crate::error::{ClientError, Result};
use crate::remoting_client::RemotingClient;
use crate::validation::shown;

/// Parses `host:port;host:port` into a validated address list.
pub fn parse_namesrv_addrs(spec: &str) -> Result<Vec<String>> {
    let addrs: Vec<String> = spec
        .split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    if addrs.is_empty() {
        return Err(ClientError::Config(format!(
            "namesrvAddr {} must list at least one host:port",
            shown(spec)
        )));
    }
    for addr in &addrs {
        validate_addr(addr).map_err(|why| {
            ClientError::Config(format!(
                "namesrvAddr entry {} is not host:port: {why}",
                shown(addr)
            ))
        })?;
    }
    Ok(addrs)
}

fn validate_addr(addr: &str) -> std::result::Result<(), &'static str> {
    let (host, port) = addr.rsplit_once(':').ok_or("expected host:port")?;
    if host.is_empty() {
        return Err("empty host");
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err("port must be 1..65535"),
    }
}

/// Talks to whichever NameServer of the list answers, preferring the last that did.
pub struct NameServerClient {
    remoting: RemotingClient,
    addrs: Vec<String>,
    preferred: AtomicUsize,
    timeout: Duration,
}

impl NameServerClient {
    /// A client over `remoting` for the NameServers in `addrs`.
    pub fn new(remoting: RemotingClient, addrs: Vec<String>, timeout: Duration) -> Self {
        NameServerClient {
            remoting,
            addrs,
            preferred: AtomicUsize::new(0),
            timeout,
        }
    }

    /// The configured addresses.
    pub fn addrs(&self) -> &[String] {
        &self.addrs
    }

    /// Sends `command` to one NameServer, failing over to the next on transport errors.
    pub async fn request(&self, command: RemotingCommand) -> Result<RemotingCommand> {
        let start = self.preferred.load(Ordering::Relaxed);
        let mut failures = Vec::new();
        for step in 0..self.addrs.len() {
            let index = (start + step) % self.addrs.len();
            let addr = &self.addrs[index];
            match self
                .remoting
                .request(addr, command.clone(), self.timeout)
                .await
            {
                Ok(answer) => {
                    self.preferred.store(index, Ordering::Relaxed);
                    return Ok(answer);
                }
                Err(err) if err.is_transport() => {
                    debug!("NameServer {addr} failed: {err}");
                    failures.push(err);
                }
                Err(err) => return Err(err),
            }
        }
        // One NameServer: keep the precise error (timeout vs refused) for the caller.
        if failures.len() == 1 {
            return Err(failures.remove(0));
        }
        Err(ClientError::NameServer {
            message: format!(
                "no NameServer answered ({}): {}",
                self.addrs.join(";"),
                failures
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            code: None,
        })
    }

    /// GET_ROUTEINFO_BY_TOPIC.
    pub async fn topic_route(&self, topic: &str) -> Result<TopicRouteData> {
        let header = GetRouteInfoRequestHeader {
            topic: topic.to_owned(),
            accept_standard_json_only: Some(true),
        };
        let answer = self
            .request(RemotingCommand::request(
                request::GET_ROUTEINFO_BY_TOPIC,
                header.to_ext_fields(),
            ))
            .await?;
        match answer.code {
            response::SUCCESS => Ok(TopicRouteData::decode(&answer.body)?),
            response::TOPIC_NOT_EXIST => Err(ClientError::TopicNotFound {
                topic: topic.to_owned(),
                code: Some(answer.code),
            }),
            code => Err(ClientError::NameServer {
                message: format!(
                    "route query for {topic} failed: {}",
                    answer.remark.unwrap_or_default()
                ),
                code: Some(code),
            }),
        }
    }

    /// GET_BROKER_CLUSTER_INFO: every broker the NameServer knows.
    pub async fn cluster_info(&self) -> Result<ClusterInfo> {
        let answer = self
            .request(RemotingCommand::request(
                request::GET_BROKER_CLUSTER_INFO,
                ExtFields::new(),
            ))
            .await?;
        if answer.code != response::SUCCESS {
            return Err(ClientError::NameServer {
                message: format!(
                    "cluster info query failed: {}",
                    answer.remark.unwrap_or_default()
                ),
                code: Some(answer.code),
            });
        }
        Ok(ClusterInfo::decode(&answer.body)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_lists_are_split_and_validated() {
        assert_eq!(
            parse_namesrv_addrs("127.0.0.1:9876; 10.0.0.2:9877;").unwrap(),
            vec!["127.0.0.1:9876", "10.0.0.2:9877"]
        );
        for bad in [
            "",
            " ; ",
            "127.0.0.1",
            "127.0.0.1:0",
            ":9876",
            "h:99999",
            "h:x",
        ] {
            let err = parse_namesrv_addrs(bad).unwrap_err();
            assert_eq!(err.code(), "ERR_CONFIG", "{bad:?}");
        }
    }
}
