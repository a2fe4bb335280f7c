//! The "custom header" map carried by every command, and typed accessors for it.
//!
//! Every header value travels as a string: numbers in decimal, booleans as `true`/`false`.

use std::collections::HashMap;
use std::str::FromStr;

use crate::error::CodecError;

/// Header key/value pairs of one command (`extFields` on the wire).
pub type ExtFields = HashMap<String, String>;

fn parse_number<T: FromStr>(fields: &ExtFields, name: &str) -> Result<Option<T>, CodecError> {
    match fields.get(name) {
        None => Ok(None),
        // Like Java's Integer.parseInt/Long.parseLong: no surrounding whitespace allowed.
        Some(raw) => raw
            .parse::<T>()
            .map(Some)
            .map_err(|_| CodecError::invalid(name, raw)),
    }
}

/// Optional string field.
pub fn opt_str(fields: &ExtFields, name: &str) -> Option<String> {
    fields.get(name).cloned()
}

/// Required string field.
pub fn req_str(fields: &ExtFields, name: &str) -> Result<String, CodecError> {
    opt_str(fields, name).ok_or_else(|| CodecError::missing(name))
}

/// Optional i32 field; a present but unparsable value is an error.
pub fn opt_i32(fields: &ExtFields, name: &str) -> Result<Option<i32>, CodecError> {
    parse_number(fields, name)
}

/// Required i32 field.
pub fn req_i32(fields: &ExtFields, name: &str) -> Result<i32, CodecError> {
    opt_i32(fields, name)?.ok_or_else(|| CodecError::missing(name))
}

/// Optional i64 field; a present but unparsable value is an error.
pub fn opt_i64(fields: &ExtFields, name: &str) -> Result<Option<i64>, CodecError> {
    parse_number(fields, name)
}

/// Required i64 field.
pub fn req_i64(fields: &ExtFields, name: &str) -> Result<i64, CodecError> {
    opt_i64(fields, name)?.ok_or_else(|| CodecError::missing(name))
}

/// Optional boolean field. Like Java's `Boolean.parseBoolean`, `true` in any letter case is
/// true and every other string is false.
pub fn opt_bool(fields: &ExtFields, name: &str) -> Option<bool> {
    fields.get(name).map(|raw| raw.eq_ignore_ascii_case("true"))
}

/// Required boolean field (see [`opt_bool`] for the parse rule).
pub fn req_bool(fields: &ExtFields, name: &str) -> Result<bool, CodecError> {
    opt_bool(fields, name).ok_or_else(|| CodecError::missing(name))
}

/// Inserts `value` under `name`.
pub fn put(fields: &mut ExtFields, name: &str, value: impl ToString) {
    fields.insert(name.to_owned(), value.to_string());
}

/// Inserts `value` under `name` when it is `Some`; absent optional fields are left out, as
/// Java leaves out null fields.
pub fn put_opt<T: ToString>(fields: &mut ExtFields, name: &str, value: Option<&T>) {
    if let Some(v) = value {
        put(fields, name, v.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> ExtFields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn typed_reads() {
        let f = fields(&[("a", "12"), ("b", "-9000000000"), ("c", "TRUE"), ("d", "x")]);
        assert_eq!(req_i32(&f, "a").unwrap(), 12);
        assert_eq!(req_i64(&f, "b").unwrap(), -9_000_000_000);
        assert!(req_bool(&f, "c").unwrap());
        assert!(!req_bool(&f, "d").unwrap());
        assert_eq!(req_str(&f, "d").unwrap(), "x");
        assert_eq!(opt_i32(&f, "zz").unwrap(), None);
    }

    #[test]
    fn typed_errors() {
        let f = fields(&[("a", "1x"), ("b", "99999999999")]);
        assert_eq!(req_i32(&f, "a"), Err(CodecError::invalid("a", "1x")));
        assert_eq!(
            req_i32(&f, "b"),
            Err(CodecError::invalid("b", "99999999999"))
        );
        assert_eq!(req_str(&f, "q"), Err(CodecError::missing("q")));
    }
}
