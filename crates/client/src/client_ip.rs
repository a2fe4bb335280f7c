//! The local address a peer sees, for ids that embed the client IP.

use std::net::IpAddr;

use tokio::net::UdpSocket;

/// The local IP the OS would use to reach `addr` (`host:port`).
///
/// Connecting a UDP socket sends nothing; it only asks the routing table, so this works
/// offline and picks the right interface when several exist. Async (tokio's socket, and
/// its resolver for host names) so that neither the JavaScript thread nor a runtime worker
/// waits on a system call that may block, such as a DNS lookup.
pub async fn local_ip_toward(addr: &str) -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").await.ok()?;
    socket.connect(addr).await.ok()?;
    socket.local_addr().ok().map(|a| a.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn loopback_peer_gives_loopback_ip() {
        assert_eq!(
            local_ip_toward("127.0.0.1:9876").await,
            Some(IpAddr::from([127, 0, 0, 1]))
        );
    }
}
