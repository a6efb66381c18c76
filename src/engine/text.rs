//! Wire strings as the engine keeps them: escaped once (controls, terminal escapes,
//! bidi marks), so no renderer can pass a packet's bytes to a terminal or a page,
//! and cut, so no string a sender writes costs more than [`MAX_TEXT_BYTES`].

/// Wire bytes kept of one string (a file name, a reason, an alarm): longer ones are
/// cut and end in `…`. Escaping may write up to 4 bytes per byte kept.
pub const MAX_TEXT: usize = 160;
/// The most heap one wire string can take once escaped and cut.
pub const MAX_TEXT_BYTES: usize = 4 * MAX_TEXT + '…'.len_utf8();

/// Wire bytes as text, escaped and cut after [`MAX_TEXT`] bytes.
pub(super) fn lossy(b: &[u8]) -> String {
    let kept = b.get(..MAX_TEXT).unwrap_or(b);
    let mut s = String::with_capacity(kept.len());
    crate::escape::push_text(&mut s, kept);
    if kept.len() < b.len() {
        s.push('…');
    }
    s
}

/// A wire string, escaped and cut as [`lossy`] does.
pub(super) fn clean(text: &str) -> String {
    if text.len() > MAX_TEXT {
        return lossy(text.as_bytes());
    }
    let mut s = String::with_capacity(text.len());
    crate::escape::push_str(&mut s, text);
    s
}

/// A transaction key made of a wire string (a SIP Call-ID): at most [`MAX_TEXT`]
/// bytes of it, so a request and its answer are cut alike.
pub(super) fn key_text(text: &str) -> Box<str> {
    let mut end = text.len().min(MAX_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_strings_are_cut_and_marked() {
        let long = vec![b'a'; MAX_TEXT + 10];
        let s = lossy(&long);
        assert_eq!(s.len(), MAX_TEXT + '…'.len_utf8());
        assert!(s.ends_with('…'));
        assert_eq!(clean(std::str::from_utf8(&long).unwrap()), s);
    }

    #[test]
    fn controls_are_escaped_so_no_terminal_sees_them() {
        let s = lossy(b"SEP\x1b[31m\x07");
        assert!(!s.contains('\x1b') && !s.contains('\x07'), "{s:?}");
        assert!(s.starts_with("SEP"));
    }

    #[test]
    fn keys_are_cut_on_a_char_boundary() {
        let text = "é".repeat(MAX_TEXT);
        let key = key_text(&text);
        assert!(key.len() <= MAX_TEXT && key.len() >= MAX_TEXT - 1);
        assert!(text.starts_with(&*key));
        assert_eq!(&*key_text("abc"), "abc");
    }
}
