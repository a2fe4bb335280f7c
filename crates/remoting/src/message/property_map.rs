//! The property map of a message, kept in its wire form.
//!
//! A consumer builds one map per pulled message and mostly reads two or three entries of
//! it. As a hash map of owned strings that cost two allocations per entry, a table, and
//! hashing every name (bench/findings.md). Here the entries live back to back in one
//! string, `name \x01 value \x02` as on the wire, with a small index of where each one is:
//! decoding a valid properties string is one copy, and a lookup compares the few names.

use std::fmt;

use super::properties::{NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR};

/// Where one entry sits in the text: the name is `start..separator`, the value
/// `separator + 1..end`, and `end` holds the entry's terminator.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    separator: usize,
    end: usize,
}

/// Property map of a message: names to values, each name at most once.
///
/// Iteration follows insertion order (a replaced value keeps its entry's place).
#[derive(Clone, Default)]
pub struct Properties {
    /// Entries in the wire form. Only a decoded string's malformed pieces (skipped, as Java
    /// skips them) and the earlier of two entries with one name stay in it unindexed.
    text: String,
    spans: Vec<Span>,
}

impl Properties {
    /// An empty map with room for `entries` entries of about 24 bytes.
    pub fn with_capacity(entries: usize) -> Self {
        Properties {
            text: String::with_capacity(entries * 24),
            spans: Vec::with_capacity(entries),
        }
    }

    /// A map over `text`, a properties string already split into `spans` (the decoder's).
    pub(super) fn from_parts(text: String, spans: Vec<(usize, usize, usize)>) -> Self {
        Properties {
            text,
            spans: spans
                .into_iter()
                .map(|(start, separator, end)| Span {
                    start,
                    separator,
                    end,
                })
                .collect(),
        }
    }

    fn name_of(&self, span: &Span) -> &str {
        &self.text[span.start..span.separator]
    }

    fn value_of(&self, span: &Span) -> &str {
        &self.text[span.separator + 1..span.end]
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.spans.iter().position(|s| self.name_of(s) == name)
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name).map(|i| self.value_of(&self.spans[i]))
    }

    /// Whether `name` has a value.
    pub fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Sets `name` to `value`; returns the value it replaced. A replaced value is rewritten in
    /// place, so a value set again and again (a consume start time on every redelivery of an
    /// orderly message) does not grow the text.
    pub fn insert(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Option<String> {
        let (name, value) = (name.as_ref(), value.as_ref());
        if let Some(i) = self.position(name) {
            let span = self.spans[i];
            let old = self.value_of(&span).to_owned();
            self.splice(span.separator + 1..span.end, value);
            return Some(old);
        }
        let start = self.text.len();
        self.text.push_str(name);
        let separator = self.text.len();
        self.text.push(NAME_VALUE_SEPARATOR);
        self.text.push_str(value);
        let end = self.text.len();
        self.text.push(PROPERTY_SEPARATOR);
        self.spans.push(Span {
            start,
            separator,
            end,
        });
        None
    }

    /// Removes `name`; returns its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self.position(name)?;
        let span = self.spans.remove(i);
        let old = self.value_of(&span).to_owned();
        self.splice(span.start..span.end + 1, "");
        Some(old)
    }

    /// Replaces `range` of the text (inside one entry, or one whole entry) with `with`, and
    /// moves every index past it by the difference.
    fn splice(&mut self, range: std::ops::Range<usize>, with: &str) {
        let (at, removed) = (range.start, range.len());
        self.text.replace_range(range, with);
        let moved = |offset: usize| {
            if offset >= at + removed {
                offset + with.len() - removed
            } else {
                offset
            }
        };
        for span in &mut self.spans {
            // The entry being rewritten ends past the change: only its end moves.
            span.start = moved(span.start);
            span.separator = moved(span.separator);
            span.end = moved(span.end);
        }
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The entries as (name, value).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.spans
            .iter()
            .map(|s| (self.name_of(s), self.value_of(s)))
    }

    /// The names.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.spans.iter().map(|s| self.name_of(s))
    }

    /// Each entry in its wire form, `name \x01 value \x02`, in iteration order.
    pub fn wire_entries(&self) -> impl Iterator<Item = &str> + '_ {
        self.spans.iter().map(|s| &self.text[s.start..=s.end])
    }

    /// Bytes of all entries in the wire form.
    pub fn wire_len(&self) -> usize {
        self.spans.iter().map(|s| s.end + 1 - s.start).sum()
    }

    /// Appends every entry in its wire form to `out`, in iteration order; returns the bytes
    /// written ([`wire_len`](Self::wire_len)).
    pub fn write_wire(&self, out: &mut Vec<u8>) -> usize {
        let len = self.wire_len();
        // When the entries cover all of the text (no unindexed leftovers of a decode) they
        // lie in it in iteration order and the text is the wire form: one copy instead of
        // one per entry, which the consumer's hand-over does for every message. (A decoded
        // later duplicate takes the earlier entry's place in the order, but then that
        // earlier entry is a leftover.)
        if len == self.text.len() {
            out.extend_from_slice(self.text.as_bytes());
        } else {
            for entry in self.wire_entries() {
                out.extend_from_slice(entry.as_bytes());
            }
        }
        len
    }
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Equal when they hold the same names with the same values, in any order.
impl PartialEq for Properties {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(name, value)| other.get(name) == Some(value))
    }
}

impl Eq for Properties {}

impl<N: AsRef<str>, V: AsRef<str>> FromIterator<(N, V)> for Properties {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(entries: I) -> Self {
        let mut map = Properties::default();
        map.extend(entries);
        map
    }
}

impl<N: AsRef<str>, V: AsRef<str>> Extend<(N, V)> for Properties {
    fn extend<I: IntoIterator<Item = (N, V)>>(&mut self, entries: I) {
        for (name, value) in entries {
            self.insert(name, value);
        }
    }
}

/// The value of a name that must be there (panics otherwise, as a map's index does).
impl std::ops::Index<&str> for Properties {
    type Output = str;

    fn index(&self, name: &str) -> &str {
        match self.get(name) {
            Some(value) => value,
            None => panic!("no property {name:?}"),
        }
    }
}

impl<'a> IntoIterator for &'a Properties {
    type Item = (&'a str, &'a str);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a str)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl IntoIterator for Properties {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect::<Vec<_>>()
            .into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replaces_in_place_and_remove_forgets() {
        let mut map = Properties::default();
        assert_eq!(map.insert("TAGS", "a"), None);
        assert_eq!(map.insert("KEYS", "k"), None);
        assert_eq!(map.insert("TAGS", "b"), Some("a".to_owned()));
        assert_eq!(map.get("TAGS"), Some("b"));
        assert_eq!(map.keys().collect::<Vec<_>>(), ["TAGS", "KEYS"]);
        assert_eq!(
            map.wire_entries().collect::<String>(),
            "TAGS\u{1}b\u{2}KEYS\u{1}k\u{2}"
        );
        assert_eq!(map.wire_len(), 14);
        assert_eq!(map.remove("TAGS"), Some("b".to_owned()));
        assert_eq!(map.remove("TAGS"), None);
        assert!(!map.contains_key("TAGS"));
        assert_eq!(map.len(), 1);
        assert_eq!(map, [("KEYS", "k")].into_iter().collect());
        assert_eq!(map.wire_entries().collect::<String>(), "KEYS\u{1}k\u{2}");
    }

    #[test]
    fn write_wire_writes_the_indexed_entries_only() {
        let mut out = b"prefix".to_vec();
        let mut map: Properties = [("A", "1"), ("B", "22")].into_iter().collect();
        map.insert("A", "333");
        assert_eq!(map.write_wire(&mut out), map.wire_len());
        assert_eq!(out, b"prefixA\x01333\x02B\x0122\x02");

        // A decoded text keeps a malformed piece and the earlier of two entries with one
        // name, unindexed: neither is written.
        let decoded = crate::message::properties::decode_properties(
            "A\u{1}1\u{2}junk\u{2}A\u{1}2\u{2}B\u{1}3\u{2}",
        );
        let mut out = Vec::new();
        assert_eq!(decoded.write_wire(&mut out), decoded.wire_len());
        assert_eq!(out, decoded.wire_entries().collect::<String>().as_bytes());
        assert_eq!(decoded.get("A"), Some("2"));
        assert!(!String::from_utf8(out).unwrap().contains("junk"));

        // A later duplicate keeps the first one's place in the order, not the text's.
        let decoded =
            crate::message::properties::decode_properties("A\u{1}1\u{2}B\u{1}2\u{2}A\u{1}3\u{2}");
        let mut out = Vec::new();
        decoded.write_wire(&mut out);
        assert_eq!(out, b"A\x013\x02B\x012\x02");
    }

    #[test]
    fn values_set_again_and_again_do_not_grow_the_text() {
        let mut map: Properties = [("A", "1"), ("B", "22"), ("C", "333")]
            .into_iter()
            .collect();
        for round in 0..1000 {
            map.insert(
                "B",
                if round % 2 == 0 {
                    "a longer value"
                } else {
                    "x"
                },
            );
        }
        assert_eq!(
            map.text.len(),
            "A\u{1}1\u{2}B\u{1}x\u{2}C\u{1}333\u{2}".len()
        );
        assert_eq!(
            map.iter().collect::<Vec<_>>(),
            [("A", "1"), ("B", "x"), ("C", "333")]
        );
        assert_eq!(map.remove("A"), Some("1".to_owned()));
        map.insert("C", "");
        map.insert("D", "4");
        assert_eq!(
            map.wire_entries().collect::<String>(),
            "B\u{1}x\u{2}C\u{1}\u{2}D\u{1}4\u{2}"
        );
        assert_eq!(map.get("C"), Some(""));
    }

    #[test]
    fn equality_ignores_order() {
        let a: Properties = [("a", "1"), ("b", "2")].into_iter().collect();
        let b: Properties = [("b", "2"), ("a", "1")].into_iter().collect();
        let c: Properties = [("b", "2"), ("a", "3")].into_iter().collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, Properties::default());
    }
}
