//! How bytes reach a peer: the dialer that opens a stream, and hooks that see each request.
//!
//! [`TcpDialer`] dials plain TCP; `crate::tls::TlsDialer` wraps it in TLS, and RocketMQ ACL
//! signing (`crate::acl`) is a [`RequestHook`]; the connection layer knows neither.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use log::warn;
use rocketmq_remoting::RemotingCommand;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A byte stream a connection can own.
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// A boxed future returned by [`Dialer::dial`].
pub type DialFuture = Pin<Box<dyn Future<Output = io::Result<Box<dyn Stream>>> + Send>>;

/// Opens a stream to `host:port`.
pub trait Dialer: Send + Sync + 'static {
    /// Connects to `addr`, giving up after `timeout`.
    fn dial(&self, addr: &str, timeout: Duration) -> DialFuture;
}

/// Seconds of silence on a socket before the kernel sends the first keepalive probe.
/// Well under the idle timeouts of the NAT boxes and firewalls in common use (minutes),
/// and a fraction of the connection idle timeout (120 s), so a peer that vanished
/// without a FIN or RST is noticed on an otherwise quiet connection.
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
/// Time between unanswered keepalive probes.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// Unanswered probes after which the kernel fails the socket: a silent peer is given
/// up 30 s + 3 x 10 s = 60 s after the last byte it sent. (Keepalive only probes an
/// idle socket; data stuck unacknowledged is the request-timeout count's job.)
pub const KEEPALIVE_RETRIES: u32 = 3;

/// Plain TCP with Nagle disabled (requests are small and latency-bound) and TCP
/// keepalive on ([`KEEPALIVE_IDLE`], [`KEEPALIVE_INTERVAL`], [`KEEPALIVE_RETRIES`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct TcpDialer;

fn keepalive() -> socket2::TcpKeepalive {
    let params = socket2::TcpKeepalive::new().with_time(KEEPALIVE_IDLE);
    #[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
    let params = params
        .with_interval(KEEPALIVE_INTERVAL)
        .with_retries(KEEPALIVE_RETRIES);
    params
}

impl Dialer for TcpDialer {
    fn dial(&self, addr: &str, timeout: Duration) -> DialFuture {
        let addr = addr.to_owned();
        Box::pin(async move {
            let stream = tokio::time::timeout(timeout, TcpStream::connect(&addr))
                .await
                .map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("connect timed out after {} ms", timeout.as_millis()),
                    )
                })??;
            configure(&addr, &stream)?;
            Ok(Box::new(stream) as Box<dyn Stream>)
        })
    }
}

/// Socket options for a dialed connection: no Nagle, keepalive on.
fn configure(addr: &str, stream: &TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    // A connection without keepalive still works; only dead-peer detection on a quiet
    // socket is then left to the idle check.
    if let Err(err) = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive()) {
        warn!("{addr}: cannot enable TCP keepalive: {err}");
    }
    Ok(())
}

/// Sees every outgoing request just before it is encoded (for example to sign it).
pub trait RequestHook: Send + Sync + 'static {
    /// May add header fields to `request`, which is about to go to `addr`.
    fn before_request(&self, addr: &str, request: &mut RemotingCommand);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dialed_sockets_have_nodelay_and_keepalive() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        configure("test", &stream).unwrap();
        let socket = socket2::SockRef::from(&stream);
        assert!(stream.nodelay().unwrap());
        assert!(socket.keepalive().unwrap());
        assert_eq!(socket.tcp_keepalive_time().unwrap(), KEEPALIVE_IDLE);
        #[cfg(target_os = "linux")]
        {
            assert_eq!(socket.tcp_keepalive_interval().unwrap(), KEEPALIVE_INTERVAL);
            assert_eq!(socket.tcp_keepalive_retries().unwrap(), KEEPALIVE_RETRIES);
        }
    }
}
