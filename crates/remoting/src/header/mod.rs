//! Typed command headers: each struct maps one-to-one onto the `extFields` of a command.
//!
//! Naming follows the Java classes (`PullMessageRequestHeader` etc.) and the wire keys are
//! the Java field names, which is what the broker reads. A non-`Option` field is required:
//! decoding fails with [`CodecError::MissingField`] when its key is absent. An `Option`
//! field is left out of the map when `None`, as Java leaves out null fields.

mod admin;
mod client;
mod namesrv;
mod offset;
mod pop;
mod pull;
mod send;

pub use admin::{
    CreateTopicRequestHeader, GetProducerConnectionListRequestHeader, ViewMessageRequestHeader,
};
pub use client::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerListByGroupRequestHeader,
    GetConsumerRunningInfoRequestHeader, NotifyConsumerIdsChangedRequestHeader,
    ResetOffsetRequestHeader, UnregisterClientRequestHeader,
};
pub use namesrv::GetRouteInfoRequestHeader;
pub use offset::{
    GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader, OffsetResponseHeader,
    QueryConsumerOffsetRequestHeader, SearchOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
pub use pop::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
    PopMessageRequestHeader, PopMessageResponseHeader,
};
pub use pull::{PullMessageRequestHeader, PullMessageResponseHeader, PullSysFlag};
pub use send::{
    ConsumerSendMsgBackRequestHeader, SendMessageRequestHeader, SendMessageRequestHeaderV2,
    SendMessageResponseHeader,
};

use crate::error::CodecError;
use crate::ext_fields::ExtFields;

/// A header that can be written into a command's `extFields`.
pub trait EncodeHeader {
    /// The header as wire key/value strings.
    fn to_ext_fields(&self) -> ExtFields;
}

/// A header that can be read from a command's `extFields`.
pub trait DecodeHeader: Sized {
    /// Parses the header, naming the offending key on failure.
    fn from_ext_fields(fields: &ExtFields) -> Result<Self, CodecError>;
}

/// A header value type: how one field is parsed from and rendered to its wire string.
pub trait HeaderScalar: Sized {
    /// Parses `raw`, the value found under key `name`.
    fn parse_field(name: &str, raw: &str) -> Result<Self, CodecError>;
    /// The wire string of this value.
    fn render_field(&self) -> String;
}

impl HeaderScalar for String {
    fn parse_field(_name: &str, raw: &str) -> Result<Self, CodecError> {
        Ok(raw.to_owned())
    }
    fn render_field(&self) -> String {
        self.clone()
    }
}

macro_rules! numeric_scalar {
    ($($t:ty),*) => {$(
        impl HeaderScalar for $t {
            fn parse_field(name: &str, raw: &str) -> Result<Self, CodecError> {
                // Same acceptance as Java's Integer.parseInt / Long.parseLong: optional
                // sign, decimal digits, no whitespace, no overflow.
                raw.parse().map_err(|_| CodecError::invalid(name, raw))
            }
            fn render_field(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
numeric_scalar!(i32, i64);

impl HeaderScalar for bool {
    fn parse_field(_name: &str, raw: &str) -> Result<Self, CodecError> {
        // Java's Boolean.parseBoolean: "true" in any case is true, anything else false.
        Ok(raw.eq_ignore_ascii_case("true"))
    }
    fn render_field(&self) -> String {
        self.to_string()
    }
}

/// A whole header field: required (plain scalar) or optional (`Option` of a scalar).
pub trait HeaderField: Sized {
    /// Reads the field stored under `name`.
    fn read_field(fields: &ExtFields, name: &str) -> Result<Self, CodecError>;
    /// Writes the field under `name` (nothing for an absent optional).
    fn write_field(&self, fields: &mut ExtFields, name: &str);
}

impl<T: HeaderScalar> HeaderField for T {
    fn read_field(fields: &ExtFields, name: &str) -> Result<Self, CodecError> {
        match fields.get(name) {
            Some(raw) => T::parse_field(name, raw),
            None => Err(CodecError::missing(name)),
        }
    }
    fn write_field(&self, fields: &mut ExtFields, name: &str) {
        fields.insert(name.to_owned(), self.render_field());
    }
}

impl<T: HeaderScalar> HeaderField for Option<T> {
    fn read_field(fields: &ExtFields, name: &str) -> Result<Self, CodecError> {
        fields
            .get(name)
            .map(|raw| T::parse_field(name, raw))
            .transpose()
    }
    fn write_field(&self, fields: &mut ExtFields, name: &str) {
        if let Some(value) = self {
            fields.insert(name.to_owned(), value.render_field());
        }
    }
}

/// Declares a header struct with its wire keys and derives both codec traits.
///
/// ```text
/// wire_header! {
///     /// Doc.
///     pub struct Foo {
///         /// Doc.
///         pub topic: String => "topic",
///         pub queue_id: Option<i32> => "queueId",
///     }
/// }
/// ```
macro_rules! wire_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty => $key:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $crate::header::EncodeHeader for $name {
            #[allow(unused_mut)]
            fn to_ext_fields(&self) -> $crate::ext_fields::ExtFields {
                let mut fields = $crate::ext_fields::ExtFields::new();
                $( $crate::header::HeaderField::write_field(&self.$field, &mut fields, $key); )*
                fields
            }
        }

        impl $crate::header::DecodeHeader for $name {
            #[allow(unused_variables)]
            fn from_ext_fields(
                fields: &$crate::ext_fields::ExtFields,
            ) -> Result<Self, $crate::error::CodecError> {
                Ok(Self {
                    $( $field: $crate::header::HeaderField::read_field(fields, $key)?, )*
                })
            }
        }
    };
}
pub(crate) use wire_header;
