//! Wire strings made safe to show: UTF-8 where valid, every control character,
//! invalid byte, C1 control, bidi mark and line separator escaped (`\n`, `\x1b`,
//! `\u{..}`), so no packet can drive a terminal or break a line. The engine escapes
//! what it keeps of a packet here, once; `dissect` escapes what it prints.

use std::fmt::Write;

/// Append wire bytes as text: UTF-8 where valid, every control character and
/// invalid byte escaped (`\n`, `\x1b`, `\u{..}`), so a packet cannot drive the terminal.
pub fn push_text(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        push_str(out, chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
}

/// [`push_text`] for a `&str` already known to be UTF-8.
pub fn push_str(out: &mut String, s: &str) {
    let plain = s.bytes().position(|b| !is_plain(b)).unwrap_or(s.len());
    // A run of ASCII ends on a char boundary.
    let (head, rest) = s.split_at(plain);
    out.push_str(head);
    for c in rest.chars() {
        push_char(out, c);
    }
}

/// A byte [`push_char`] passes through as it is: printable ASCII but the backslash.
fn is_plain(b: u8) -> bool {
    (0x20..0x7f).contains(&b) && b != b'\\'
}

fn push_char(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\\' => out.push_str("\\\\"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        // C1 controls, bidi marks/overrides/isolates and the Unicode line and
        // paragraph separators can also steer or break a terminal line.
        c if ('\u{80}'..='\u{9f}').contains(&c)
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}')
            || ('\u{2028}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c) =>
        {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_from_the_wire_are_neutralised() {
        let mut s = String::new();
        push_text(&mut s, b"SEP\x1b[31mX\r\n\xff\xc2\x9b");
        assert_eq!(s, "SEP\\x1b[31mX\\r\\n\\xff\\u{9b}");

        let mut s = String::new();
        push_str(
            &mut s,
            "a\u{200e}b\u{200f}c\u{061c}d\u{2028}e\u{2029}f\u{202e}g\u{2066}h\u{00e9}",
        );
        assert_eq!(
            s,
            "a\\u{200e}b\\u{200f}c\\u{61c}d\\u{2028}e\\u{2029}f\\u{202e}g\\u{2066}h\u{00e9}"
        );
    }

    #[test]
    fn the_plain_ascii_run_is_escaped_as_char_by_char() {
        // The escaping without the fast path: every char through `push_char`.
        fn slow(bytes: &[u8]) -> String {
            let mut out = String::new();
            for chunk in bytes.utf8_chunks() {
                chunk.valid().chars().for_each(|c| push_char(&mut out, c));
                for b in chunk.invalid() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
            out
        }
        let alphabet: &[&[u8]] = &[
            b"a",
            b"Z",
            b" ",
            b"~",
            b"\\",
            b"\x7f",
            b"\x1b",
            b"\n",
            b"\xff",
            b"\xc3\xa9",
            b"\xe2\x80\xae",
            b"\xc2\x9b",
            b"\xe2",
            b"\"",
        ];
        let mut rng = crate::rng::Rng::new(0x9e37_79b9_7f4a_7c15);
        for _ in 0..5000 {
            let mut input = Vec::new();
            for _ in 0..rng.below(12) {
                input.extend_from_slice(alphabet[rng.index(alphabet.len())]);
            }
            let mut fast = String::new();
            push_text(&mut fast, &input);
            assert_eq!(fast, slow(&input), "{input:?}");
            if let Ok(s) = std::str::from_utf8(&input) {
                let mut fast = String::new();
                push_str(&mut fast, s);
                assert_eq!(fast, slow(&input), "{input:?}");
            }
        }
    }
}
