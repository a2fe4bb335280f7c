//! Repairs for fastjson output that is not standard JSON.

use std::borrow::Cow;

fn is_json_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Puts quotes around object keys that fastjson wrote as bare integers, e.g.
/// `{0:"127.0.0.1:10911"}` becomes `{"0":"127.0.0.1:10911"}`.
///
/// A key position is right after `{` or `,` outside a string; a bare integer there that is
/// followed by `:` can only be a key (a number value is never followed by `:`), so valid
/// JSON is returned unchanged and borrowed.
pub fn quote_numeric_keys(input: &[u8]) -> Cow<'_, [u8]> {
    let len = input.len();
    let mut repaired: Option<Vec<u8>> = None;
    let mut copied_up_to = 0;
    let mut in_string = false;
    let mut escaped = false;
    let mut at_key_position = false;
    let mut i = 0;
    while i < len {
        let b = input[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                at_key_position = false;
                i += 1;
            }
            b'{' | b',' => {
                at_key_position = true;
                i += 1;
            }
            _ if is_json_space(b) => i += 1,
            b'-' | b'0'..=b'9' if at_key_position => {
                let start = i;
                let mut end = i + 1;
                while end < len && input[end].is_ascii_digit() {
                    end += 1;
                }
                let mut after = end;
                while after < len && is_json_space(input[after]) {
                    after += 1;
                }
                if input.get(after) == Some(&b':') {
                    let out = repaired.get_or_insert_with(|| Vec::with_capacity(len + 16));
                    out.extend_from_slice(&input[copied_up_to..start]);
                    out.push(b'"');
                    out.extend_from_slice(&input[start..end]);
                    out.push(b'"');
                    copied_up_to = end;
                }
                at_key_position = false;
                i = end;
            }
            _ => {
                at_key_position = false;
                i += 1;
            }
        }
    }
    match repaired {
        None => Cow::Borrowed(input),
        Some(mut out) => {
            out.extend_from_slice(&input[copied_up_to..]);
            Cow::Owned(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(s: &str) -> String {
        String::from_utf8(quote_numeric_keys(s.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn quotes_bare_integer_keys() {
        assert_eq!(fix(r#"{0:"a",1:"b"}"#), r#"{"0":"a","1":"b"}"#);
        assert_eq!(fix(r#"{ -1 : "a" }"#), r#"{ "-1" : "a" }"#);
    }

    #[test]
    fn leaves_values_and_strings_alone() {
        let valid = r#"{"a":[1,2,{"3":4}],"s":"{0:1}","n":5,"e":"\"{7:"}"#;
        assert!(matches!(
            quote_numeric_keys(valid.as_bytes()),
            Cow::Borrowed(_)
        ));
        assert_eq!(fix(r#"[1, 2]"#), "[1, 2]");
    }
}
