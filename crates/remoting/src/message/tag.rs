//! Tag hash codes, as the broker's consume queue stores them.

/// Java's `String.hashCode()` of `tag`: `h = 31*h + unit` over the UTF-16 code units,
/// wrapping on overflow. This is the code a TAG subscription's `codeSet` carries and the
/// broker filters on (`"TagA"` → 2598919).
pub fn tag_hash(tag: &str) -> i32 {
    tag.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}
