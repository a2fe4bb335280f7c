//! RocketMQ ACL: request signing with an access key and secret key, and telling the broker's
//! authentication and authorization refusals apart from its other answers.
//!
//! Signing follows Java's `AclClientRPCHook`, which both ACL 1.0 (4.x `plain_acl.yml`) and
//! ACL 2.0 (5.3 `authenticationEnabled`) brokers verify the same way: the request gets the
//! header fields `AccessKey` (and `SecurityToken` when there is one); then the values of all
//! header fields, in the order of their names, joined without separators, followed by the
//! body bytes, are signed with HMAC-SHA1 under the secret key; the Base64 of that MAC goes
//! into the header field `Signature`. The broker recomputes it from what it received, so the
//! signature must be computed last, over exactly the fields that go on the wire.
//!
//! The secret key never leaves this module: [`Credentials`] prints it (and the security
//! token) as `***`, and no error message here includes either.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use rocketmq_remoting::codes::response;
use rocketmq_remoting::RemotingCommand;
use sha1::Sha1;

use crate::error::{ClientError, Result};
use crate::transport::RequestHook;

/// Header field carrying the access key (Java's `SessionCredentials.ACCESS_KEY`).
pub const ACCESS_KEY_FIELD: &str = "AccessKey";
/// Header field carrying the security token (Java's `SessionCredentials.SECURITY_TOKEN`).
pub const SECURITY_TOKEN_FIELD: &str = "SecurityToken";
/// Header field carrying the signature (Java's `SessionCredentials.SIGNATURE`).
pub const SIGNATURE_FIELD: &str = "Signature";

/// Longest access key, secret key or token accepted: far beyond any real credential, and
/// small enough that a value pasted by mistake (a file, a certificate) is caught.
pub const CREDENTIAL_MAX_LENGTH: usize = 1024;

/// An access key with its secret key and optional security token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    access_key: String,
    secret_key: String,
    security_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"***")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "***"),
            )
            .finish()
    }
}

impl Credentials {
    /// Credentials from the three settings as the user gave them (`accessKey`, `secretKey`,
    /// `securityToken`): `None` when none is set, an error naming the setting when only some
    /// are or one is blank or too long. Values of the secret and the token are never shown.
    pub fn from_settings(
        access_key: Option<&str>,
        secret_key: Option<&str>,
        security_token: Option<&str>,
    ) -> Result<Option<Credentials>> {
        let config = |message: String| Err(ClientError::Config(message));
        match (access_key, secret_key) {
            (None, None) => {
                if security_token.is_some() {
                    return config(
                        "securityToken is set without accessKey and secretKey; a token only goes with them".into(),
                    );
                }
                Ok(None)
            }
            (Some(_), None) => config("accessKey is set but secretKey is not; give both".into()),
            (None, Some(_)) => config("secretKey is set but accessKey is not; give both".into()),
            (Some(access_key), Some(secret_key)) => {
                check_credential("accessKey", access_key, true)?;
                check_credential("secretKey", secret_key, false)?;
                if let Some(token) = security_token {
                    check_credential("securityToken", token, false)?;
                }
                Ok(Some(Credentials {
                    access_key: access_key.to_owned(),
                    secret_key: secret_key.to_owned(),
                    security_token: security_token.map(str::to_owned),
                }))
            }
        }
    }

    /// The access key (not secret: brokers log it, and so may we).
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// A value that differs between credentials that differ, without holding the secret in
    /// clear text: client instances are shared per configuration, and two clients with other
    /// keys must not share one instance (its connections sign with one set of keys).
    pub fn fingerprint(&self) -> String {
        let mut mac = hmac_sha1(b"rocketmq-napi instance key");
        mac.update(self.access_key.as_bytes());
        mac.update(&[0]);
        mac.update(self.secret_key.as_bytes());
        mac.update(&[0]);
        if let Some(token) = &self.security_token {
            mac.update(token.as_bytes());
        }
        let digest = mac.finalize().into_bytes();
        format!("{}#{}", self.access_key, hex(&digest))
    }

    /// Adds `AccessKey` (and `SecurityToken`) to `request` and then its `Signature`.
    pub fn sign(&self, request: &mut RemotingCommand) {
        let fields = &mut request.ext_fields;
        fields.insert(ACCESS_KEY_FIELD.to_owned(), self.access_key.clone());
        if let Some(token) = &self.security_token {
            fields.insert(SECURITY_TOKEN_FIELD.to_owned(), token.clone());
        }
        // A signature left from an earlier attempt (a retried request) is not signed over.
        fields.remove(SIGNATURE_FIELD);
        let signature = signature(&self.secret_key, request);
        request
            .ext_fields
            .insert(SIGNATURE_FIELD.to_owned(), signature);
    }
}

/// `field` must be non-blank, at most [`CREDENTIAL_MAX_LENGTH`] long and without control
/// characters (they cannot travel in a header). `show` says whether the value may appear in
/// the message (only the access key may).
fn check_credential(field: &str, value: &str, show: bool) -> Result<()> {
    let shown_value = || {
        if show {
            format!(" {}", crate::validation::shown(value))
        } else {
            String::new()
        }
    };
    let problem = if value.trim().is_empty() {
        Some("must not be blank".to_owned())
    } else if value.chars().count() > CREDENTIAL_MAX_LENGTH {
        Some(format!("is longer than {CREDENTIAL_MAX_LENGTH} characters"))
    } else if value.chars().any(char::is_control) {
        Some("must not contain control characters".to_owned())
    } else {
        None
    };
    match problem {
        Some(rule) => Err(ClientError::Config(format!(
            "{field}{} {rule}",
            shown_value()
        ))),
        None => Ok(()),
    }
}

type HmacSha1 = Hmac<Sha1>;

fn hmac_sha1(key: &[u8]) -> HmacSha1 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    HmacSha1::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Base64 of HMAC-SHA1(secret, values of every header field but `Signature`, ordered by
/// field name, then the body): what `AclClientRPCHook` computes.
pub fn signature(secret_key: &str, request: &RemotingCommand) -> String {
    let mut names: Vec<&String> = request
        .ext_fields
        .keys()
        .filter(|name| name.as_str() != SIGNATURE_FIELD)
        .collect();
    // Java sorts with a TreeMap of Strings (UTF-16 order); header names are ASCII, for which
    // byte order is the same.
    names.sort_unstable();
    let mut mac = hmac_sha1(secret_key.as_bytes());
    for name in names {
        mac.update(request.ext_fields[name].as_bytes());
    }
    mac.update(&request.body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Signs every request with its credentials.
#[derive(Debug, Clone)]
pub struct AclSigner {
    credentials: Credentials,
}

impl AclSigner {
    /// A hook signing with `credentials`.
    pub fn new(credentials: Credentials) -> Self {
        AclSigner { credentials }
    }
}

impl RequestHook for AclSigner {
    fn before_request(&self, _addr: &str, request: &mut RemotingCommand) {
        self.credentials.sign(request);
    }
}

/// Which check a broker's NO_PERMISSION answer failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessRefusal {
    /// The broker does not accept who the client says it is: no key, unknown or disabled
    /// user, wrong signature.
    Authentication,
    /// The user is known but has no grant for the resource.
    Authorization,
}

/// Remarks (lower-cased fragments) of ACL 2.0 (5.3, `DefaultAuthenticationHandler`) and
/// ACL 1.0 (4.x, `PlainAccessValidator`) authentication failures.
const AUTHENTICATION_REMARKS: &[&str] = &[
    "username cannot be null",
    "check signature failed",
    "is not found",
    "is disabled",
    "authentication failed",
    "no accesskey is configured",
    "no acl config for",
    "signature",
];

/// What a 4.x broker with the plain ACL answers a refused request with: SYSTEM_ERROR and the
/// exception's class and message (`org.apache.rocketmq.acl.common.AclException: ...`).
const ACL1_EXCEPTION: &str = "aclexception";

/// Remarks of authorization failures (a known user without a matching grant).
const AUTHORIZATION_REMARKS: &[&str] = &[
    "has no permission",
    "no matched policies",
    "is denied",
    "authorization failed",
    "no default permission",
    "no permission for",
];

/// Whether a broker answer is an ACL refusal, and which. 5.3 brokers (ACL 2.0) answer both
/// kinds with NO_PERMISSION (16), the code they also use for a topic or broker that refuses
/// writes; 4.x brokers (plain ACL) answer SYSTEM_ERROR (1) naming `AclException`. So the
/// remark decides; this is the one place that reads it.
pub fn access_refusal(code: i32, remark: Option<&str>) -> Option<AccessRefusal> {
    let remark = remark?.to_lowercase();
    let acl1 = code == response::SYSTEM_ERROR && remark.contains(ACL1_EXCEPTION);
    if code != response::NO_PERMISSION && !acl1 {
        return None;
    }
    let contains = |fragments: &[&str]| fragments.iter().any(|f| remark.contains(f));
    // Authorization first: its remarks name the user ("User:x has no permission"), which
    // could otherwise read as an authentication failure.
    if contains(AUTHORIZATION_REMARKS) {
        Some(AccessRefusal::Authorization)
    } else if contains(AUTHENTICATION_REMARKS) {
        Some(AccessRefusal::Authentication)
    } else if acl1 {
        // Any other AclException is a refusal of a known user (an admin-only request, ...).
        Some(AccessRefusal::Authorization)
    } else {
        None
    }
}

/// The typed error for `response` from `addr` when it is an ACL refusal.
pub fn refusal_error(addr: &str, response: &RemotingCommand) -> Option<ClientError> {
    let remark = response.remark.as_deref();
    let reason = remark.unwrap_or("no reason given").to_owned();
    access_refusal(response.code, remark).map(|kind| match kind {
        AccessRefusal::Authentication => ClientError::Authentication {
            message: format!("broker {addr} refused the client's credentials: {reason}"),
            reason,
            addr: Some(addr.to_owned()),
            code: response.code,
        },
        AccessRefusal::Authorization => ClientError::Authorization {
            message: format!("broker {addr} denied access: {reason}"),
            reason,
            addr: Some(addr.to_owned()),
            code: response.code,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocketmq_remoting::ExtFields;

    /// The request of the known vectors below: three header fields and a body.
    fn request_with_body() -> RemotingCommand {
        let mut fields = ExtFields::new();
        fields.insert("topic".into(), "TopicTest".into());
        fields.insert("queueId".into(), "3".into());
        fields.insert("producerGroup".into(), "pg".into());
        RemotingCommand::request(10, fields).with_body(bytes::Bytes::from_static(b"hello body"))
    }

    fn credentials(token: Option<&str>) -> Credentials {
        Credentials::from_settings(Some("AK-test"), Some("SK-secret"), token)
            .unwrap()
            .unwrap()
    }

    // The expected signatures were computed by Java's AclClientRPCHook (rocketmq-acl 5.3.3
    // jars) for the same requests and keys.

    #[test]
    fn signs_as_java_acl_client_rpc_hook() {
        let mut request = request_with_body();
        credentials(None).sign(&mut request);
        assert_eq!(request.ext_fields["AccessKey"], "AK-test");
        assert_eq!(
            request.ext_fields["Signature"],
            "1GFPDF4QLHo32h8HjVGAgup7me8="
        );
        assert!(!request.ext_fields.contains_key("SecurityToken"));
    }

    #[test]
    fn signs_the_security_token_too() {
        let mut request = request_with_body();
        credentials(Some("tok-1")).sign(&mut request);
        assert_eq!(request.ext_fields["SecurityToken"], "tok-1");
        assert_eq!(
            request.ext_fields["Signature"],
            "7Nn/fVa4bH9J2Pkpg3uApzC6nA0="
        );
    }

    #[test]
    fn signs_a_request_without_fields_or_body() {
        let mut request = RemotingCommand::request(34, ExtFields::new());
        credentials(None).sign(&mut request);
        assert_eq!(
            request.ext_fields["Signature"],
            "kkGl1qCQv92MnJ+iZfANRdW7/CY="
        );
    }

    #[test]
    fn signing_again_replaces_the_signature() {
        let mut request = request_with_body();
        let signer = credentials(None);
        signer.sign(&mut request);
        signer.sign(&mut request);
        assert_eq!(
            request.ext_fields["Signature"],
            "1GFPDF4QLHo32h8HjVGAgup7me8="
        );
    }

    #[test]
    fn settings_go_together_and_secrets_are_never_shown() {
        let err = |a, s, t| Credentials::from_settings(a, s, t).unwrap_err().to_string();
        assert!(Credentials::from_settings(None, None, None)
            .unwrap()
            .is_none());
        assert!(err(Some("ak"), None, None).contains("secretKey is not"));
        assert!(err(None, Some("sk-hidden"), None).contains("accessKey is not"));
        assert!(err(None, None, Some("tok")).contains("securityToken"));
        let blank = err(Some("ak"), Some("  "), None);
        assert_eq!(blank, "secretKey must not be blank");
        let control = err(Some("ak"), Some("s\u{1}ecret-hidden"), None);
        assert!(!control.contains("hidden"), "{control}");
        let long = "x".repeat(CREDENTIAL_MAX_LENGTH + 1);
        assert!(err(Some("ak"), Some("sk"), Some(&long)).starts_with("securityToken is longer"));
        let debug = format!("{:?}", credentials(Some("tok-secret")));
        assert!(
            !debug.contains("SK-secret") && !debug.contains("tok-secret"),
            "{debug}"
        );
        assert!(debug.contains("AK-test"));
    }

    #[test]
    fn fingerprints_differ_with_any_credential_and_hide_the_secret() {
        let a = credentials(None).fingerprint();
        assert!(!a.contains("SK-secret"));
        assert_ne!(a, credentials(Some("t")).fingerprint());
        let other = Credentials::from_settings(Some("AK-test"), Some("SK-other"), None)
            .unwrap()
            .unwrap();
        assert_ne!(a, other.fingerprint());
        assert_eq!(a, credentials(None).fingerprint());
    }

    #[test]
    fn refusals_are_told_apart_by_the_brokers_remark() {
        let refusal = |remark: &str| access_refusal(response::NO_PERMISSION, Some(remark));
        // 5.3.3 (ACL 2.0) remarks, as observed from a broker with authentication on.
        assert_eq!(
            refusal("username cannot be null."),
            Some(AccessRefusal::Authentication)
        );
        assert_eq!(
            refusal("check signature failed."),
            Some(AccessRefusal::Authentication)
        );
        assert_eq!(
            refusal("User:nobody is not found."),
            Some(AccessRefusal::Authentication)
        );
        assert_eq!(
            refusal(
                "User:u has no permission to access Topic:T from 127.0.0.1, no matched policies."
            ),
            Some(AccessRefusal::Authorization)
        );
        // NO_PERMISSION for a topic that refuses writes is not an ACL refusal.
        assert_eq!(refusal("the topic[T] sending message is forbidden"), None);
        assert_eq!(
            access_refusal(response::SYSTEM_ERROR, Some("check signature failed.")),
            None
        );
        // 4.9.7 (plain ACL) remarks, as observed from a broker with aclEnable=true.
        let acl1 = |remark: &str| {
            let full = format!(
                "org.apache.rocketmq.acl.common.AclException: {remark}, org.apache.rocketmq.acl.plain.PlainPermissionManager.validate(PlainPermissionManager.java:683)"
            );
            access_refusal(response::SYSTEM_ERROR, Some(&full))
        };
        assert_eq!(
            acl1("Check signature failed for accessKey=napi-app"),
            Some(AccessRefusal::Authentication)
        );
        assert_eq!(
            acl1("No accessKey is configured"),
            Some(AccessRefusal::Authentication)
        );
        assert_eq!(
            acl1("No acl config for nobody"),
            Some(AccessRefusal::Authentication)
        );
        assert_eq!(
            acl1("No default permission for topic:T"),
            Some(AccessRefusal::Authorization)
        );
    }
}
