//! The GET_BROKER_CLUSTER_INFO body: which brokers exist, grouped by cluster.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::lenient::quote_numeric_keys;
use super::route::BrokerData;
use crate::error::CodecError;

/// Every broker group the NameServer knows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    /// brokerName → its addresses.
    #[serde(default)]
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    /// cluster name → broker names.
    #[serde(default)]
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

impl ClusterInfo {
    /// Parses the body; the NameServer writes `brokerAddrs` keys as bare integers here
    /// whatever the request version, so the lenient pre-pass is always needed.
    pub fn decode(body: &[u8]) -> Result<Self, CodecError> {
        let text = quote_numeric_keys(body);
        serde_json::from_slice(&text).map_err(|e| CodecError::json("ClusterInfo", &e))
    }

    /// (brokerName, master address) of every broker group that has a master.
    pub fn masters(&self) -> Vec<(String, String)> {
        self.broker_addr_table
            .values()
            .filter_map(|b| {
                b.master_addr()
                    .map(|addr| (b.broker_name.clone(), addr.to_owned()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_fastjson_cluster_info_with_bare_keys() {
        // Shape of a 5.3.3 NameServer's answer (two masters, one slave), keys unquoted.
        let body = br#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10931"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false},"broker-b":{"brokerAddrs":{0:"127.0.0.1:10921"},"brokerName":"broker-b","cluster":"DefaultCluster","enableActingMaster":false}},"clusterAddrTable":{"DefaultCluster":["broker-a","broker-b"]}}"#;
        let info = ClusterInfo::decode(body).unwrap();
        assert_eq!(
            info.masters(),
            vec![
                ("broker-a".to_owned(), "127.0.0.1:10911".to_owned()),
                ("broker-b".to_owned(), "127.0.0.1:10921".to_owned())
            ]
        );
        assert_eq!(info.cluster_addr_table["DefaultCluster"].len(), 2);
    }

    #[test]
    fn rejects_garbage() {
        assert!(ClusterInfo::decode(b"{\"brokerAddrTable\":[").is_err());
    }
}
