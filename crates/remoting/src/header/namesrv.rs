//! Name server requests.

use super::wire_header;

wire_header! {
    /// GET_ROUTEINFO_BY_TOPIC (105).
    pub struct GetRouteInfoRequestHeader {
        pub topic: String => "topic",
        /// Ask a 4.9.4+ name server for standard JSON (quoted `brokerAddrs` keys).
        pub accept_standard_json_only: Option<bool> => "acceptStandardJsonOnly",
    }
}
