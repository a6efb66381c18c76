//! Source positions for the JSON files. serde gives typed values without positions, so once
//! serde_json has accepted a file, this walks the same text again and records where every value
//! starts; validation errors then point at the step, rule or string at fault (file:line:column).

use crate::LoadError;

/// Where a JSON value starts (byte offset of its first char: `{`, `[`, `"`, digit…).
#[derive(Debug)]
pub(crate) enum Node {
    Object {
        start: usize,
        members: Vec<(String, Node)>,
    },
    Array {
        start: usize,
        items: Vec<Node>,
    },
    Scalar {
        start: usize,
    },
}

impl Node {
    pub(crate) fn start(&self) -> usize {
        match self {
            Node::Object { start, .. } | Node::Array { start, .. } | Node::Scalar { start } => {
                *start
            }
        }
    }

    /// The member `key` of an object.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Object { members, .. } => members.iter().find(|(k, _)| k == key).map(|(_, n)| n),
            _ => None,
        }
    }

    /// Item `i` of an array.
    pub(crate) fn item(&self, i: usize) -> Option<&Node> {
        match self {
            Node::Array { items, .. } => items.get(i),
            _ => None,
        }
    }
}

/// A JSON file being loaded: its name, text and (after a successful serde parse) position index.
#[derive(Debug)]
pub(crate) struct Source<'t> {
    pub file: &'t str,
    pub text: &'t str,
    pub root: Option<Node>,
}

impl<'t> Source<'t> {
    /// Deserialize `text` as `T`, and index it for positions.
    pub(crate) fn parse<T: serde::de::DeserializeOwned>(
        file: &'t str,
        text: &'t str,
    ) -> Result<(T, Source<'t>), LoadError> {
        let value = serde_json::from_str(text).map_err(|e| json_error(file, &e))?;
        let root = Walker {
            text,
            i: 0,
            depth: 0,
        }
        .value();
        Ok((value, Source { file, text, root }))
    }

    /// Follow `path` (object keys and array indices) from the root.
    pub(crate) fn node(&self, path: &[Key<'_>]) -> Option<&Node> {
        let mut node = self.root.as_ref()?;
        for key in path {
            node = match key {
                Key::Field(k) => node.get(k)?,
                Key::Index(i) => node.item(*i)?,
            };
        }
        Some(node)
    }

    /// 1-based line of `node` (0 if unknown).
    pub(crate) fn line(&self, node: Option<&Node>) -> usize {
        node.map_or(0, |n| self.line_col(n.start()).0)
    }

    /// An error at the start of `node`.
    pub(crate) fn error(&self, node: Option<&Node>, message: impl Into<String>) -> LoadError {
        let (line, column) = node.map_or((0, 0), |n| self.line_col(n.start()));
        LoadError {
            file: self.file.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    /// An error at char `column` (1-based) of the decoded JSON string `node`; escapes are
    /// accounted for, so the column is that of the source char.
    pub(crate) fn error_in_string(
        &self,
        node: Option<&Node>,
        column: usize,
        message: impl Into<String>,
    ) -> LoadError {
        let Some(node) = node else {
            return self.error(None, message);
        };
        let offset = offset_in_string(self.text, node.start(), column.saturating_sub(1));
        let (line, column) = self.line_col(offset);
        LoadError {
            file: self.file.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    /// 1-based line and char column of byte `offset`.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = before.matches('\n').count() + 1;
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        (line, column)
    }
}

/// One step of a path into the JSON tree.
#[derive(Clone, Copy)]
pub(crate) enum Key<'a> {
    Field(&'a str),
    Index(usize),
}

/// A serde_json error as a [`LoadError`] (its message without the " at line L column C").
pub(crate) fn json_error(file: &str, e: &serde_json::Error) -> LoadError {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = text.strip_suffix(&suffix).unwrap_or(&text).to_owned();
    LoadError {
        file: file.to_owned(),
        line: e.line(),
        column: e.column(),
        message,
    }
}

/// Byte offset of decoded char `k` (0-based) of the JSON string whose opening quote is at byte
/// `quote`; past its end, the offset of the closing quote.
fn offset_in_string(text: &str, quote: usize, k: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = quote + 1;
    for _ in 0..k {
        match bytes.get(i) {
            None | Some(b'"') => break,
            Some(b'\\') => {
                if bytes.get(i + 1) == Some(&b'u') {
                    let high = text
                        .get(i + 2..i + 6)
                        .and_then(|h| u16::from_str_radix(h, 16).ok());
                    i += 6;
                    // A UTF-16 surrogate pair is two escapes for one char.
                    if high.is_some_and(|h| (0xd800..0xdc00).contains(&h))
                        && text.get(i..).is_some_and(|rest| rest.starts_with("\\u"))
                    {
                        i += 6;
                    }
                } else {
                    i += 2;
                }
            }
            Some(_) => {
                i += text
                    .get(i..)
                    .and_then(|s| s.chars().next())
                    .map_or(1, char::len_utf8)
            }
        }
    }
    i.min(text.len())
}

/// A minimal JSON walker over text serde_json has already accepted (so its nesting is within
/// serde_json's 128 levels); it returns `None` rather than panic if the text surprises it.
struct Walker<'t> {
    text: &'t str,
    i: usize,
    depth: usize,
}

impl Walker<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        self.ws();
        (self.peek()? == b).then(|| self.i += 1)
    }

    fn value(&mut self) -> Option<Node> {
        self.ws();
        let start = self.i;
        match self.peek()? {
            b'{' | b'[' if self.depth >= 256 => None,
            b'{' => {
                self.i += 1;
                self.depth += 1;
                let mut members = Vec::new();
                self.ws();
                if self.peek()? == b'}' {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        let key_start = self.i;
                        self.string()?;
                        let key = serde_json::from_str(self.text.get(key_start..self.i)?).ok()?;
                        self.expect(b':')?;
                        members.push((key, self.value()?));
                        self.ws();
                        match self.peek()? {
                            b',' => self.i += 1,
                            b'}' => {
                                self.i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                self.depth -= 1;
                Some(Node::Object { start, members })
            }
            b'[' => {
                self.i += 1;
                self.depth += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek()? == b']' {
                    self.i += 1;
                } else {
                    loop {
                        items.push(self.value()?);
                        self.ws();
                        match self.peek()? {
                            b',' => self.i += 1,
                            b']' => {
                                self.i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                self.depth -= 1;
                Some(Node::Array { start, items })
            }
            b'"' => {
                self.string()?;
                Some(Node::Scalar { start })
            }
            _ => {
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.i += 1;
                }
                (self.i > start).then_some(Node::Scalar { start })
            }
        }
    }

    /// Skip a string, from its opening quote to past its closing quote.
    fn string(&mut self) -> Option<()> {
        if self.peek()? != b'"' {
            return None;
        }
        self.i += 1;
        loop {
            match self.peek()? {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                _ => self.i += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_nested_values() {
        let text = "{\n  \"a\": [1, \"x\",\n    {\"b\\u0041\": true}],\n  \"c\": {}\n}";
        let (_, src) = Source::parse::<serde_json::Value>("t.json", text).unwrap();
        let at = |path: &[Key<'_>]| {
            let n = src.node(path).expect("path");
            src.line_col(n.start())
        };
        assert_eq!(at(&[]), (1, 1));
        assert_eq!(at(&[Key::Field("a")]), (2, 8));
        assert_eq!(at(&[Key::Field("a"), Key::Index(1)]), (2, 12));
        assert_eq!(at(&[Key::Field("a"), Key::Index(2)]), (3, 5));
        assert_eq!(
            at(&[Key::Field("a"), Key::Index(2), Key::Field("bA")]),
            (3, 17)
        );
        assert_eq!(at(&[Key::Field("c")]), (4, 8));
        assert!(src.node(&[Key::Field("a"), Key::Index(3)]).is_none());
    }

    #[test]
    fn columns_inside_strings_account_for_escapes() {
        // The string starts at column 7 (its quote); decoded: `a"é😀b`.
        let text = "{\"k\": \"a\\\"\\u00e9\\ud83d\\ude00b\"}";
        let (_, src) = Source::parse::<serde_json::Value>("t.json", text).unwrap();
        let node = src.node(&[Key::Field("k")]);
        let col = |k| src.error_in_string(node, k, "m").column;
        assert_eq!(col(1), 8); // a
        assert_eq!(col(2), 9); // \"
        assert_eq!(col(3), 11); // \u00e9
        assert_eq!(col(4), 17); // surrogate pair
        assert_eq!(col(5), 29); // b
        assert_eq!(col(6), 30); // closing quote
        assert_eq!(col(99), 30);
    }

    #[test]
    fn serde_errors_keep_their_position() {
        let e = Source::parse::<serde_json::Value>("t.json", "{\n  \"a\": [1 2]\n}").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("t.json", 2));
        assert!(!e.message.contains("at line"), "{e}");
    }
}
