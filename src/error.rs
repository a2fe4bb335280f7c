//! Native errors as JavaScript sees them.
//!
//! Promise rejections from `#[napi] async fn` can only carry napi's own `Status` as the
//! error `code`, so the engine's stable code travels at the front of the message instead:
//! `"ERR_TIMEOUT: request code 105 to 127.0.0.1:9876 timed out after 3000 ms"`.
//! The TypeScript layer (`lib/native-errors.ts`) reads it back and builds the typed class.

use napi::{Error, Status};
use rocketmq_client::ClientError;

/// The JS error for an engine error.
pub fn to_js_error(err: ClientError) -> Error {
    Error::new(Status::GenericFailure, to_js_message(&err))
}

/// The message JavaScript reads the code back from: `"ERR_CODE: reason"`.
pub fn to_js_message(err: &ClientError) -> String {
    format!("{}: {err}", err.code())
}

/// A bad configuration value found by the binding itself.
pub fn config_error(message: impl std::fmt::Display) -> Error {
    to_js_error(ClientError::Config(message.to_string()))
}

/// Extension to turn engine results into napi results.
pub trait IntoNapi<T> {
    /// Maps the error with [`to_js_error`].
    fn into_napi(self) -> napi::Result<T>;
}

impl<T> IntoNapi<T> for Result<T, ClientError> {
    fn into_napi(self) -> napi::Result<T> {
        self.map_err(to_js_error)
    }
}
