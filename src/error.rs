//! Native errors as JavaScript sees them.
//!
//! An engine failure reaches JavaScript as an `Error` carrying fields: `code` (the engine's
//! stable code, e.g. `ERR_TIMEOUT`), `responseCode` (when a broker or NameServer answered),
//! `brokerAddr` (when the failing peer is known) and `retriable`. `lib/native-errors.ts`
//! reads them; nothing is parsed back out of the message.
//!
//! Why a return type and not `napi::Error`: a `napi::Error` carries only a status and text,
//! and the error of a `#[napi] async fn` is turned into one on a runtime thread, where no
//! JavaScript object can be made. So fallible calls return [`Fallible<T>`] (the engine's
//! `Result` as a value) instead of `napi::Result<T>`. Its conversion to JavaScript always
//! runs on the JS thread, for async functions too (napi-rs converts the resolved value
//! there): on failure it builds the error object with its fields and returns it as the
//! conversion's error, which napi-rs throws (synchronous call) or rejects the promise with
//! (async call) as that very object. Constructors must return `napi::Result<Self>`; they take
//! the `Env` and wrap the same object with [`js_error`].
//!
//! [`IntoNapi`] and [`config_error`] are the older form, still used by the consumer binding:
//! the code and response code travel as text (`"ERR_CODE: reason [responseCode=N]"`), which
//! the TypeScript side still understands.

use napi::bindgen_prelude::{FromNapiValue, Object, ToNapiValue};
use napi::{sys, Env, Error, JsError, Status, Unknown};
use napi_derive::napi;
use rocketmq_client::ClientError;

/// The engine's result as a value the binding returns; converts to the value, or throws /
/// rejects with an error object carrying the engine's fields (see the module docs). Give
/// functions returning it a `ts_return_type`: the generated types cannot see through it.
pub struct Fallible<T>(pub Result<T, ClientError>);

impl<T> From<Result<T, ClientError>> for Fallible<T> {
    fn from(result: Result<T, ClientError>) -> Self {
        Fallible(result)
    }
}

impl<T: ToNapiValue> ToNapiValue for Fallible<T> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        match val.0 {
            Ok(value) => unsafe { T::to_napi_value(env, value) },
            Err(err) => Err(unsafe { retained_error(env, &err) }),
        }
    }
}

/// Turns engine results into [`Fallible`].
pub trait IntoFallible<T> {
    fn fallible(self) -> Fallible<T>;
}

impl<T> IntoFallible<T> for Result<T, ClientError> {
    fn fallible(self) -> Fallible<T> {
        Fallible(self)
    }
}

/// The error object for `err`, as a `napi::Error` that napi-rs throws or rejects with as is.
/// For code that must return `napi::Result` (constructors).
pub fn js_error(env: &Env, err: ClientError) -> Error {
    unsafe { retained_error(env.raw(), &err) }
}

/// A bad configuration value found by the binding itself, as an error object.
pub fn js_config_error(env: &Env, message: impl std::fmt::Display) -> Error {
    js_error(env, ClientError::Config(message.to_string()))
}

/// Builds the error object and holds it in a `napi::Error` (napi-rs keeps a reference to
/// it and hands back the object itself when it throws or rejects).
///
/// # Safety
/// `env` must be the live environment of the current (JS) thread.
unsafe fn retained_error(env: sys::napi_env, err: &ClientError) -> Error {
    match unsafe { error_object(env, err) } {
        Ok(object) => Error::from(unsafe { Unknown::from_raw_unchecked(env, object) }),
        // Building it failed (the environment is going away): the text form still says what.
        Err(_) => to_js_error(err.clone()),
    }
}

/// `new Error(message)` with `code`, `responseCode`, `brokerAddr` and `retriable`.
///
/// # Safety
/// `env` must be the live environment of the current (JS) thread.
unsafe fn error_object(env: sys::napi_env, err: &ClientError) -> napi::Result<sys::napi_value> {
    // `Error<S>` with the engine's code as its status: napi-rs sets it as `code`.
    let value = unsafe { JsError::from(Error::new(err.code(), err.to_string())).into_value(env) };
    if value.is_null() {
        return Err(Error::new(Status::GenericFailure, "cannot create an Error"));
    }
    let mut object = unsafe { Object::from_napi_value(env, value)? };
    if let Some(code) = err.response_code() {
        object.set("responseCode", code)?;
    }
    if let Some(addr) = err.broker_addr() {
        object.set("brokerAddr", addr)?;
    }
    if let Some(reason) = err.broker_reason() {
        object.set("brokerReason", reason)?;
    }
    object.set("retriable", err.retriable())?;
    Ok(value)
}

/// The fields of an engine error as plain data, for results delivered in batches (send
/// outcomes) rather than thrown.
#[napi(object)]
pub struct NativeErrorFields {
    /// The engine's stable code, one of `errorCodes()`.
    pub code: String,
    pub message: String,
    pub response_code: Option<i32>,
    pub broker_addr: Option<String>,
    /// The broker's remark of an ACL refusal (`ERR_AUTHENTICATION` / `ERR_AUTHORIZATION`).
    pub broker_reason: Option<String>,
    pub retriable: bool,
}

impl From<&ClientError> for NativeErrorFields {
    fn from(err: &ClientError) -> Self {
        NativeErrorFields {
            code: err.code().to_owned(),
            message: err.to_string(),
            response_code: err.response_code(),
            broker_addr: err.broker_addr().map(str::to_owned),
            broker_reason: err.broker_reason().map(str::to_owned),
            retriable: err.retriable(),
        }
    }
}

/// Every `code` an engine error can carry; the TypeScript tests check each maps to a class.
#[napi]
pub fn error_codes() -> Vec<String> {
    ClientError::ALL_CODES
        .iter()
        .map(|code| (*code).to_owned())
        .collect()
}

/// The JS error for an engine error, in the text form (see the module docs).
pub fn to_js_error(err: ClientError) -> Error {
    Error::new(Status::GenericFailure, to_js_message(&err))
}

/// The text form's message: `"ERR_CODE: reason"`.
pub fn to_js_message(err: &ClientError) -> String {
    format!("{}: {err}", err.code())
}
