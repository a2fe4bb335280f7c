//! How bytes reach a peer: the dialer that opens a stream, and hooks that see each request.
//!
//! Plain TCP is the only dialer today. TLS will be another [`Dialer`], and RocketMQ ACL
//! request signing another [`RequestHook`]; the connection layer needs no change for either.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;

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

/// Plain TCP with Nagle disabled: requests are small and latency-bound.
#[derive(Debug, Default, Clone, Copy)]
pub struct TcpDialer;

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
            stream.set_nodelay(true)?;
            Ok(Box::new(stream) as Box<dyn Stream>)
        })
    }
}

/// Sees every outgoing request just before it is encoded (for example to sign it).
pub trait RequestHook: Send + Sync + 'static {
    /// May add header fields to `request`, which is about to go to `addr`.
    fn before_request(&self, addr: &str, request: &mut RemotingCommand);
}
