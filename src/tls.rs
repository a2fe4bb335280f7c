//! The `tls` setting as it crosses from TypeScript (which turns `true` into `{}` and Buffers
//! into text); the engine's `rocketmq_client::tls` checks the rules.

use napi_derive::napi;
use rocketmq_client::error::Result;
use rocketmq_client::tls::{TlsConfig, TlsSettings};

/// TLS settings of a client: PEM texts and a server name, each optional.
#[napi(object)]
#[derive(Clone, Default)]
pub struct NativeTls {
    /// PEM certificates of the CAs trusted to sign the servers' certificates.
    pub ca: Option<String>,
    /// PEM certificate chain of the client (mutual TLS), with `key`.
    pub cert: Option<String>,
    /// PEM private key of `cert`.
    pub key: Option<String>,
    /// Name the servers' certificates must carry; default the host of each address.
    pub server_name: Option<String>,
}

impl From<&NativeTls> for TlsSettings {
    fn from(tls: &NativeTls) -> Self {
        TlsSettings {
            ca: tls.ca.clone(),
            cert: tls.cert.clone(),
            key: tls.key.clone(),
            server_name: tls.server_name.clone(),
        }
    }
}

/// The checked TLS configuration of `tls`; `None` (plain TCP) when it is unset.
pub fn tls_config(tls: Option<&NativeTls>) -> Result<Option<TlsConfig>> {
    tls.map(|tls| TlsConfig::from_settings(&tls.into()))
        .transpose()
}
