//! TLS for every connection of a client (NameServers and brokers alike, as the Java client's
//! `useTLS` does): the `tls` setting's rules, and the [`TlsDialer`] that wraps a plain TCP
//! stream in rustls before the connection layer sees it.
//!
//! The peer is checked against the configured CA (PEM), or the Mozilla roots compiled into
//! `webpki-roots` when none is given. The name checked is `serverName` when set, else the host
//! of the address dialed; an IP address is checked against the certificate's IP SANs. A
//! certificate and key make it mutual TLS. A failed handshake is [`TlsHandshakeError`] inside
//! the dial's `io::Error`, which the connection layer turns into `ClientError::Tls`.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sha1::{Digest, Sha1};
use tokio_rustls::rustls;
use tokio_rustls::TlsConnector;

use crate::error::{ClientError, Result};
use crate::transport::{DialFuture, Dialer, Stream, TcpDialer};

/// The `tls` setting as the user gave it: PEM texts and a server name, all optional (an
/// empty one means "TLS on, public roots, the address's host").
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM certificates of the CAs trusted to sign the servers' certificates.
    pub ca: Option<String>,
    /// PEM certificate chain of the client (mutual TLS), with `key`.
    pub cert: Option<String>,
    /// PEM private key of `cert` (PKCS#8, PKCS#1 or SEC1).
    pub key: Option<String>,
    /// Name checked against the servers' certificates instead of the dialed host.
    pub server_name: Option<String>,
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("ca", &self.ca.as_ref().map(|_| "<pem>"))
            .field("cert", &self.cert.as_ref().map(|_| "<pem>"))
            .field("key", &self.key.as_ref().map(|_| "***"))
            .field("server_name", &self.server_name)
            .finish()
    }
}

/// A checked `tls` setting, ready to dial with.
#[derive(Clone)]
pub struct TlsConfig {
    client: Arc<rustls::ClientConfig>,
    server_name: Option<ServerName<'static>>,
    fingerprint: String,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("server_name", &self.server_name)
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

impl PartialEq for TlsConfig {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint
    }
}

fn config_error<T>(message: String) -> Result<T> {
    Err(ClientError::Config(message))
}

fn certificates(field: &str, pem: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<std::result::Result<Vec<_>, _>>()
        .or_else(|err| config_error(format!("tls.{field} is not valid PEM: {err}")))?;
    if certs.is_empty() {
        return config_error(format!(
            "tls.{field} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ));
    }
    Ok(certs)
}

impl TlsConfig {
    /// Checks `settings` and builds the rustls client configuration: an error naming the
    /// field when a PEM text holds nothing usable, `cert` comes without `key` (or the other
    /// way round), or `serverName` is not a DNS name or IP address. Key material is never
    /// quoted in an error.
    pub fn from_settings(settings: &TlsSettings) -> Result<TlsConfig> {
        let mut roots = rustls::RootCertStore::empty();
        match &settings.ca {
            Some(pem) => {
                for cert in certificates("ca", pem)? {
                    roots.add(cert).or_else(|err| {
                        config_error(format!("tls.ca holds an unusable CA certificate: {err}"))
                    })?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .or_else(|err| config_error(format!("tls: {err}")))?
            .with_root_certificates(roots);
        let client = match (&settings.cert, &settings.key) {
            (None, None) => builder.with_no_client_auth(),
            (Some(_), None) => {
                return config_error("tls.cert is set but tls.key is not; give both".into())
            }
            (None, Some(_)) => {
                return config_error("tls.key is set but tls.cert is not; give both".into())
            }
            (Some(cert), Some(key)) => {
                let chain = certificates("cert", cert)?;
                let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).or_else(|_| {
                    config_error("tls.key holds no PEM private key (PKCS#8, PKCS#1 or SEC1)".into())
                })?;
                builder
                    .with_client_auth_cert(chain, key)
                    .or_else(|err| config_error(format!("tls.cert/tls.key: {err}")))?
            }
        };
        let server_name = match &settings.server_name {
            Some(name) => Some(ServerName::try_from(name.trim().to_owned()).or_else(|_| {
                config_error(format!(
                    "tls.serverName must be a DNS name or an IP address; got {name:?}"
                ))
            })?),
            None => None,
        };
        Ok(TlsConfig {
            client: Arc::new(client),
            server_name,
            fingerprint: fingerprint(settings),
        })
    }

    /// A value that differs between settings that differ (without the key in clear text):
    /// clients with other TLS settings must not share a client instance and its connections.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The name the certificate of the peer at `addr` must carry.
    fn server_name_for(&self, addr: &str) -> io::Result<ServerName<'static>> {
        if let Some(name) = &self.server_name {
            return Ok(name.clone());
        }
        let host = host_of(addr);
        ServerName::try_from(host.to_owned()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                TlsHandshakeError {
                    reason: format!("{host:?} is no valid TLS server name; set tls.serverName"),
                },
            )
        })
    }
}

fn fingerprint(settings: &TlsSettings) -> String {
    let mut digest = Sha1::new();
    for part in [
        &settings.ca,
        &settings.cert,
        &settings.key,
        &settings.server_name,
    ] {
        match part {
            Some(text) => {
                digest.update([1]);
                digest.update(text.as_bytes());
            }
            None => digest.update([0]),
        }
        digest.update([0xff]);
    }
    format!("tls#{:x}", digest.finalize())
}

/// The host of `host:port`, without the brackets of an IPv6 literal.
fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Why a TLS handshake failed, in rustls' words; carried inside the dial's `io::Error`.
#[derive(Debug, Clone)]
pub struct TlsHandshakeError {
    /// rustls' (or the socket's) reason.
    pub reason: String,
}

impl fmt::Display for TlsHandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLS handshake failed: {}", self.reason)
    }
}

impl std::error::Error for TlsHandshakeError {}

/// The TLS handshake failure inside `err`, if that is what it is.
pub fn handshake_failure(err: &io::Error) -> Option<&TlsHandshakeError> {
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<TlsHandshakeError>())
}

/// TCP (as [`TcpDialer`]: no Nagle, keepalive) and then a TLS handshake, both within the
/// dial's timeout.
#[derive(Debug, Clone)]
pub struct TlsDialer {
    config: TlsConfig,
}

impl TlsDialer {
    /// A dialer using `config`.
    pub fn new(config: TlsConfig) -> Self {
        TlsDialer { config }
    }
}

impl Dialer for TlsDialer {
    fn dial(&self, addr: &str, timeout: Duration) -> DialFuture {
        let config = self.config.clone();
        let addr = addr.to_owned();
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + timeout;
            let server_name = config.server_name_for(&addr)?;
            let tcp = TcpDialer.dial(&addr, timeout).await?;
            let connector = TlsConnector::from(config.client.clone());
            let handshake = tokio::time::timeout_at(deadline, connector.connect(server_name, tcp))
                .await
                .map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("TLS handshake timed out after {} ms", timeout.as_millis()),
                    )
                })?;
            match handshake {
                Ok(stream) => Ok(Box::new(stream) as Box<dyn Stream>),
                Err(err) => Err(io::Error::new(
                    err.kind(),
                    TlsHandshakeError {
                        reason: describe(&err),
                    },
                )),
            }
        })
    }
}

/// rustls' reason, with a hint for the failure a plain (non-TLS) server causes: it closes
/// the connection or answers bytes that are no TLS record.
fn describe(err: &io::Error) -> String {
    let reason = err.to_string();
    match err.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => {
            format!("{reason} (the server closed the connection: does it speak TLS?)")
        }
        _ if reason.contains("InvalidContentType") || reason.contains("corrupt message") => {
            format!("{reason} (the server's answer is no TLS: does it speak TLS?)")
        }
        _ => reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_true_uses_public_roots_and_the_dialed_host() {
        let config = TlsConfig::from_settings(&TlsSettings::default()).unwrap();
        assert_eq!(
            config.server_name_for("127.0.0.1:9876").unwrap(),
            ServerName::try_from("127.0.0.1").unwrap()
        );
        assert_eq!(
            config.server_name_for("broker.example.com:10911").unwrap(),
            ServerName::try_from("broker.example.com").unwrap()
        );
        assert_eq!(host_of("[::1]:9876"), "::1");
    }

    #[test]
    fn server_name_overrides_the_host() {
        let settings = TlsSettings {
            server_name: Some("rocketmq.internal".into()),
            ..Default::default()
        };
        let config = TlsConfig::from_settings(&settings).unwrap();
        assert_eq!(
            config.server_name_for("127.0.0.1:9876").unwrap(),
            ServerName::try_from("rocketmq.internal").unwrap()
        );
    }

    fn config_message(settings: TlsSettings) -> String {
        match TlsConfig::from_settings(&settings) {
            Err(ClientError::Config(message)) => message,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn unusable_settings_are_config_errors_naming_the_field() {
        let not_pem = config_message(TlsSettings {
            ca: Some("not a certificate".into()),
            ..Default::default()
        });
        assert!(not_pem.contains("tls.ca"), "{not_pem}");
        let half = config_message(TlsSettings {
            cert: Some("x".into()),
            ..Default::default()
        });
        assert!(half.contains("tls.key is not"), "{half}");
        let half = config_message(TlsSettings {
            key: Some("SECRET".into()),
            ..Default::default()
        });
        assert!(half.contains("tls.cert is not"), "{half}");
        assert!(!half.contains("SECRET"));
        let name = config_message(TlsSettings {
            server_name: Some("not a name!".into()),
            ..Default::default()
        });
        assert!(name.contains("tls.serverName"), "{name}");
    }

    #[test]
    fn fingerprints_differ_with_the_settings_and_hide_the_key() {
        let a = TlsSettings::default();
        let b = TlsSettings {
            server_name: Some("x".into()),
            ..Default::default()
        };
        assert_ne!(fingerprint(&a), fingerprint(&b));
        assert_eq!(fingerprint(&a), fingerprint(&TlsSettings::default()));
        let with_key = TlsSettings {
            key: Some("SECRET".into()),
            ..Default::default()
        };
        assert!(!fingerprint(&with_key).contains("SECRET"));
    }

    #[tokio::test]
    async fn a_plain_server_fails_the_handshake_with_a_typed_reason() {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            // A RocketMQ-like frame instead of a ServerHello, then close.
            let _ = socket
                .write_all(&[0, 0, 0, 8, 0, 0, 0, 4, b'{', b'}', 0, 0])
                .await;
        });
        let dialer = TlsDialer::new(TlsConfig::from_settings(&TlsSettings::default()).unwrap());
        let err = match dialer.dial(&addr, Duration::from_secs(5)).await {
            Err(err) => err,
            Ok(_) => panic!("a plain server must not complete a TLS handshake"),
        };
        let failure = handshake_failure(&err).expect("a TLS handshake failure");
        assert!(failure.reason.contains("TLS"), "{}", failure.reason);
    }
}
