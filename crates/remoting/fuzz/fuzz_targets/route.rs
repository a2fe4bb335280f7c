//! Route and cluster-info bodies (with the unquoted-key repair) and the other plain JSON
//! bodies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rocketmq_remoting::body::lenient::quote_numeric_keys;
use rocketmq_remoting::body::{
    ClusterInfo, ConsumerListBody, HeartbeatData, LockBatchResponseBody, TopicRouteData,
};

fuzz_target!(|data: &[u8]| {
    let repaired = quote_numeric_keys(data);
    // The repair only ever inserts quote characters.
    assert!(repaired.len() >= data.len());
    if let Ok(route) = TopicRouteData::decode(data) {
        let _ = route.consumer_queues("T");
        let _ = route.producer_queues("T");
        let encoded = route.encode().expect("a decoded route encodes");
        assert_eq!(TopicRouteData::decode(&encoded).expect("round trip"), route);
    }
    if let Ok(cluster) = ClusterInfo::decode(data) {
        let _ = cluster.masters();
    }
    let _ = ConsumerListBody::decode(data);
    let _ = LockBatchResponseBody::decode(data);
    let _ = HeartbeatData::decode(data);
});
