//! Tag hash codes, as the broker's consume queue stores them.

/// Java's `String.hashCode()` of `tag`: `h = 31*h + unit` over the UTF-16 code units,
/// wrapping on overflow. This is the code a TAG subscription's `codeSet` carries and the
/// broker filters on (`"TagA"` → 2598919).
pub fn tag_hash(tag: &str) -> i32 {
    tag.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

#[cfg(test)]
mod tests {
    use super::tag_hash;

    #[test]
    fn hashes_as_java_string_hash_code() {
        // Java's String.hashCode over UTF-16 code units, 32-bit wrapping.
        assert_eq!(tag_hash(""), 0);
        assert_eq!(tag_hash("TagA"), 2_598_919);
        // Two BMP characters outside ASCII.
        assert_eq!(tag_hash("标签"), 857_175);
        // One character outside the BMP: two surrogate code units.
        assert_eq!(tag_hash("😀"), 1_772_899);
        // Long enough to wrap past i32::MAX more than once.
        assert_eq!(
            tag_hash("order_created_with_a_long_tag_name"),
            1_209_554_404
        );
    }
}
