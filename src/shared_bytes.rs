//! Hands a `Bytes` to JavaScript as a Buffer over the same memory, without copying it.
//!
//! The Buffer holds one reference to the bytes; it is dropped when V8 collects the Buffer,
//! so the memory lives as long as either side still uses it. Where Node forbids external
//! buffers (some embedders do), the bytes are copied instead.
//!
//! napi-rs's `BufferSlice::from_external` does the same but is not used: its debug builds
//! refuse two Buffers over one pointer, and a message handed to JavaScript again (an orderly
//! SUSPEND, a local retry) crosses with the same bytes while its first Buffer may still be
//! alive. Node 20 itself accepts that (checked with three live Buffers over one body).

use std::ffi::c_void;
use std::ptr;

use bytes::Bytes;
use napi::bindgen_prelude::ToNapiValue;
use napi::{check_status, sys};

/// Bytes that cross into JavaScript as a Buffer sharing their memory.
pub struct SharedBytes(pub Bytes);

/// Drops the reference the Buffer held, once V8 has collected it.
unsafe extern "C" fn release(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the Box made in `to_napi_value` for this Buffer, finalized once.
    drop(unsafe { Box::from_raw(hint.cast::<Bytes>()) });
}

impl ToNapiValue for SharedBytes {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let mut result = ptr::null_mut();
        let len = val.0.len();
        if len == 0 {
            // V8 lets several buffers share a data pointer only when it is null.
            check_status!(
                unsafe { sys::napi_create_buffer(env, 0, ptr::null_mut(), &mut result) },
                "failed to create an empty Buffer"
            )?;
            return Ok(result);
        }
        let data = val.0.as_ptr().cast_mut().cast::<c_void>();
        let hint = Box::into_raw(Box::new(val.0));
        // SAFETY: `data` points at `len` bytes owned by `*hint`, which stays alive until
        // `release` runs; JavaScript never gets a way to resize the Buffer.
        let mut status = unsafe {
            sys::napi_create_external_buffer(
                env,
                len,
                data,
                Some(release),
                hint.cast(),
                &mut result,
            )
        };
        if status == sys::Status::napi_no_external_buffers_allowed {
            // SAFETY: not handed to Node, so still ours to take back.
            let bytes = unsafe { Box::from_raw(hint) };
            status = unsafe {
                sys::napi_create_buffer_copy(
                    env,
                    len,
                    bytes.as_ptr().cast(),
                    ptr::null_mut(),
                    &mut result,
                )
            };
        }
        check_status!(status, "failed to create a Buffer over received bytes")?;
        Ok(result)
    }
}
