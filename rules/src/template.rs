//! Message templates of a rule's `"message"` and `"checks"`: literal text with `{fact.name}`
//! placeholders, `{{` and `}}` for literal braces (the `format!` convention). Placeholders are
//! resolved to [`FactId`]s at load time, so rendering cannot fail.

use std::fmt::Write as _;

use crate::{ExprError, FactId, Facts, Value, Vocabulary};

/// A compiled message template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Fact(FactId),
}

impl Template {
    /// Compile `text` against `vocab`.
    ///
    /// # Errors
    /// An unknown or empty placeholder, an unclosed `{` or a lone `}`; the column (1-based, in
    /// chars) points at the name or the brace.
    pub fn compile(text: &str, vocab: &Vocabulary) -> Result<Template, ExprError> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut chars = text.chars().enumerate().peekable();
        while let Some((i, c)) = chars.next() {
            let col = i + 1;
            match c {
                '{' if chars.next_if(|&(_, c)| c == '{').is_some() => lit.push('{'),
                '}' if chars.next_if(|&(_, c)| c == '}').is_some() => lit.push('}'),
                '}' => {
                    return Err(ExprError::new(
                        col,
                        "lone `}`: write `}}` for a literal brace",
                    ))
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((_, c)) => name.push(c),
                            None => {
                                return Err(ExprError::new(
                                    col,
                                    "unclosed `{`: write `{{` for a literal brace",
                                ))
                            }
                        }
                    }
                    if name.is_empty() {
                        return Err(ExprError::new(col, "empty placeholder `{}`"));
                    }
                    let Some(id) = vocab.id(&name) else {
                        return Err(ExprError::new(col + 1, format!("unknown fact `{name}`")));
                    };
                    if !lit.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut lit)));
                    }
                    pieces.push(Piece::Fact(id));
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Text(lit));
        }
        Ok(Template {
            source: text.to_owned(),
            pieces,
        })
    }

    /// Fill in the placeholders: ints in decimal, bools as `true`/`false`, strings as they are.
    pub fn render(&self, facts: &dyn Facts) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Fact(id) => match facts.value(*id) {
                    // Writing to a String cannot fail.
                    Value::Int(i) => {
                        let _ = write!(out, "{i}");
                    }
                    Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
                    Value::Str(s) => out.push_str(s),
                },
            }
        }
        out
    }

    /// The facts the template reads, in order of appearance (with repeats).
    pub fn facts_used(&self) -> impl Iterator<Item = FactId> + '_ {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Fact(id) => Some(*id),
            Piece::Text(_) => None,
        })
    }

    /// The text it was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{vocab, MapFacts};
    use proptest::prelude::*;

    fn render(text: &str, set: &[(&str, Value<'static>)]) -> String {
        let v = vocab();
        let t = Template::compile(text, &v).unwrap_or_else(|e| panic!("{text}: {e}"));
        t.render(&MapFacts::new(&v, set))
    }

    fn err(text: &str) -> ExprError {
        Template::compile(text, &vocab()).expect_err(text)
    }

    #[test]
    fn placeholders_render_by_type() {
        use Value::*;
        let set = [
            ("dhcp.offers", Int(-3)),
            ("cdp.seen", Bool(true)),
            ("tftp.file", Str("SEP001122334455.cnf.xml")),
        ];
        assert_eq!(
            render(
                "{dhcp.offers} offers, cdp {cdp.seen}, lldp {lldp.seen}: {tftp.file}",
                &set
            ),
            "-3 offers, cdp true, lldp false: SEP001122334455.cnf.xml"
        );
        assert_eq!(render("", &set), "");
        assert_eq!(render("plain", &set), "plain");
        assert_eq!(render("{tftp.file}{tftp.file}", &set).len(), 46);
    }

    #[test]
    fn doubled_braces_are_literal() {
        assert_eq!(
            render(
                "{{x}} {{{dhcp.offers}}} }}{{",
                &[("dhcp.offers", Value::Int(2))]
            ),
            "{x} {2} }{"
        );
    }

    #[test]
    fn errors_have_columns() {
        let cases = [
            ("ab {nope} cd", 5, "unknown fact `nope`"),
            ("é {dhcp.offer}", 4, "unknown fact `dhcp.offer`"),
            ("x {} y", 3, "empty placeholder"),
            ("x { y", 3, "unclosed `{`"),
            ("x } y", 3, "lone `}`"),
            ("{{ } }}", 4, "lone `}`"),
        ];
        for (text, column, msg) in cases {
            let e = err(text);
            assert_eq!(e.column, column, "{text:?}: {e}");
            assert!(e.message.contains(msg), "{text:?}: {e}");
        }
    }

    #[test]
    fn facts_used_in_order() {
        let v = vocab();
        let t = Template::compile("{tftp.file} {cdp.seen} {tftp.file}", &v).unwrap();
        let id = |n| v.id(n).unwrap();
        assert_eq!(
            t.facts_used().collect::<Vec<_>>(),
            [id("tftp.file"), id("cdp.seen"), id("tftp.file")]
        );
    }

    proptest! {
        #[test]
        fn compile_never_panics(s in "\\PC{0,200}") {
            if let Ok(t) = Template::compile(&s, &vocab()) {
                let _ = t.render(&MapFacts::new(&vocab(), &[]));
            }
        }
    }
}
