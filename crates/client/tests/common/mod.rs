//! Scripted loopback peers for the engine's tests: they speak frames, nothing more.

#![allow(dead_code)]

use bytes::BytesMut;
use rocketmq_remoting::{RemotingCommand, DEFAULT_MAX_FRAME};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Reads the next frame, or `None` once the peer hung up.
pub async fn read_frame(stream: &mut TcpStream, buf: &mut BytesMut) -> Option<RemotingCommand> {
    loop {
        if let Some(cmd) = RemotingCommand::try_decode_frame(buf, DEFAULT_MAX_FRAME).unwrap() {
            return Some(cmd);
        }
        if stream.read_buf(buf).await.ok()? == 0 {
            return None;
        }
    }
}

/// Writes one frame.
pub async fn write_frame(stream: &mut TcpStream, cmd: &RemotingCommand) {
    stream.write_all(&cmd.to_bytes().unwrap()).await.unwrap();
}

/// Serves every connection to a fresh loopback port with `answer`, one response per
/// request; returns the port's address.
pub async fn serve<F>(answer: F) -> String
where
    F: Fn(&RemotingCommand) -> RemotingCommand + Send + Sync + Clone + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = BytesMut::new();
                while let Some(request) = read_frame(&mut stream, &mut buf).await {
                    let mut response = answer(&request);
                    response.opaque = request.opaque;
                    write_frame(&mut stream, &response).await;
                }
            });
        }
    });
    addr
}

/// An address nothing listens on.
pub async fn refused_addr() -> String {
    let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = probe.local_addr().unwrap().to_string();
    drop(probe);
    addr
}
