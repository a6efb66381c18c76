//! The condition language of a rule's `"when"`: a small, typed boolean expression over the
//! engine's facts. It is lexed, parsed by recursive descent and type-checked once, at load time,
//! into a tree holding [`FactId`]s; evaluation then only reads facts. Input is bounded (length and
//! nesting) so that a hostile rule file gives an error, never a stack overflow.
//!
//! Grammar, precedence low → high (see `rules/README.md`):
//! `or := and ("||" and)*`, `and := not ("&&" not)*`, `not := "!" not | cmp`,
//! `cmp := atom (("=="|"!="|"<"|"<="|">"|">=") atom)?`,
//! `atom := INT | "true" | "false" | STRING | FACT_NAME | "(" or ")"`.

use std::cmp::Ordering;

use crate::{ExprError, FactId, FactType, Facts, Value, Vocabulary};

/// Longest accepted expression, in bytes.
pub(crate) const MAX_LEN: usize = 4096;
/// Deepest accepted nesting of parentheses and `!`.
pub(crate) const MAX_DEPTH: usize = 64;

/// A compiled, type-checked condition.
#[derive(Debug, Clone)]
pub struct Expr {
    source: String,
    root: Term,
    facts: Vec<FactId>,
}

impl PartialEq for Expr {
    /// Two conditions are equal when they compile to the same tree (spacing and redundant
    /// parentheses do not matter).
    fn eq(&self, other: &Self) -> bool {
        self.root == other.root
    }
}

impl Eq for Expr {}

impl Expr {
    /// Compile `text` against `vocab`.
    ///
    /// # Errors
    /// A lexical or syntax error, an unknown fact, a type error (`&&`, `||` and `!` need bool,
    /// `<` `<=` `>` `>=` need int on both sides, `==` and `!=` need equal types, the whole must be
    /// bool), text over 4096 bytes or nesting deeper than 64. The column is 1-based, in chars.
    pub fn compile(text: &str, vocab: &Vocabulary) -> Result<Expr, ExprError> {
        if text.len() > MAX_LEN {
            return Err(ExprError::new(
                1,
                format!(
                    "expression is {} bytes long, the limit is {MAX_LEN}",
                    text.len()
                ),
            ));
        }
        let tokens = lex(text)?;
        let mut p = Parser {
            tokens,
            pos: 0,
            vocab,
            depth: 0,
            facts: Vec::new(),
        };
        let root = p.or()?;
        let (tok, col) = p.peek();
        if tok != Tok::End {
            return Err(ExprError::new(
                col,
                format!(
                    "unexpected {}, expected `&&`, `||` or the end",
                    tok.describe()
                ),
            ));
        }
        if root.ty != FactType::Bool {
            return Err(ExprError::new(
                root.col,
                format!("the condition is {}, it must be bool", root.ty),
            ));
        }
        let mut facts = p.facts;
        facts.sort_unstable();
        facts.dedup();
        Ok(Expr {
            source: text.to_owned(),
            root: root.term,
            facts,
        })
    }

    /// Evaluate against one phone's facts. Never panics; `&&` and `||` short-circuit, left to
    /// right.
    pub fn eval(&self, facts: &dyn Facts) -> bool {
        self.root.truth(facts)
    }

    /// The facts the condition reads, in id order, each once.
    pub fn facts_used(&self) -> impl Iterator<Item = FactId> + '_ {
        self.facts.iter().copied()
    }

    /// The text it was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// The compiled tree. `&&` and `||` chains are flat lists, so only parentheses and `!` add depth
/// (bounded by [`MAX_DEPTH`]), which bounds the recursion of `truth`, `value` and drop.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    Int(i64),
    Bool(bool),
    Str(Box<str>),
    Fact(FactId),
    Not(Box<Term>),
    And(Vec<Term>),
    Or(Vec<Term>),
    Cmp(CmpOp, Box<Term>, Box<Term>),
}

impl Term {
    fn truth(&self, facts: &dyn Facts) -> bool {
        match self {
            Term::Bool(b) => *b,
            Term::Fact(id) => facts.value(*id) == Value::Bool(true),
            Term::Not(t) => !t.truth(facts),
            Term::And(ts) => ts.iter().all(|t| t.truth(facts)),
            Term::Or(ts) => ts.iter().any(|t| t.truth(facts)),
            Term::Cmp(op, l, r) => op.holds(l.value(facts), r.value(facts)),
            // Type checking keeps these out of a boolean position.
            Term::Int(_) | Term::Str(_) => false,
        }
    }

    fn value<'a>(&'a self, facts: &'a dyn Facts) -> Value<'a> {
        match self {
            Term::Int(i) => Value::Int(*i),
            Term::Str(s) => Value::Str(s),
            Term::Fact(id) => facts.value(*id),
            Term::Bool(_) | Term::Not(_) | Term::And(_) | Term::Or(_) | Term::Cmp(..) => {
                Value::Bool(self.truth(facts))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// Values of different types (only possible if the engine breaks the [`Facts`] contract)
    /// compare false.
    fn holds(self, a: Value<'_>, b: Value<'_>) -> bool {
        let ord = match (a, b) {
            (Value::Int(x), Value::Int(y)) => x.cmp(&y),
            (Value::Bool(x), Value::Bool(y)) => x.cmp(&y),
            (Value::Str(x), Value::Str(y)) => x.cmp(y),
            _ => return false,
        };
        match self {
            CmpOp::Eq => ord == Ordering::Equal,
            CmpOp::Ne => ord != Ordering::Equal,
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::Le => ord != Ordering::Greater,
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::Ge => ord != Ordering::Less,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok<'t> {
    Int(i64),
    True,
    False,
    Str(String),
    Name(&'t str),
    LParen,
    RParen,
    Not,
    And,
    Or,
    Cmp(CmpOp),
    End,
}

impl Tok<'_> {
    fn describe(&self) -> String {
        match self {
            Tok::Int(i) => format!("number {i}"),
            Tok::True => "`true`".into(),
            Tok::False => "`false`".into(),
            Tok::Str(_) => "a string".into(),
            Tok::Name(n) => format!("`{n}`"),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Not => "`!`".into(),
            Tok::And => "`&&`".into(),
            Tok::Or => "`||`".into(),
            Tok::Cmp(op) => format!("`{}`", op.as_str()),
            Tok::End => "the end".into(),
        }
    }
}

/// Split `text` into tokens, each with its 1-based char column; ends with [`Tok::End`].
fn lex(text: &str) -> Result<Vec<(Tok<'_>, usize)>, ExprError> {
    let mut lx = Lexer {
        text,
        chars: text.char_indices().peekable(),
        column: 0,
    };
    let mut out = Vec::new();
    while let Some((start, c)) = lx.bump() {
        let at = lx.column;
        let tok = match c {
            ' ' | '\t' | '\n' | '\r' => continue,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '!' if lx.eat('=') => Tok::Cmp(CmpOp::Ne),
            '!' => Tok::Not,
            '=' if lx.eat('=') => Tok::Cmp(CmpOp::Eq),
            '<' if lx.eat('=') => Tok::Cmp(CmpOp::Le),
            '<' => Tok::Cmp(CmpOp::Lt),
            '>' if lx.eat('=') => Tok::Cmp(CmpOp::Ge),
            '>' => Tok::Cmp(CmpOp::Gt),
            '&' if lx.eat('&') => Tok::And,
            '|' if lx.eat('|') => Tok::Or,
            '=' => return Err(ExprError::new(at, "`=` is not an operator, write `==`")),
            '&' => return Err(ExprError::new(at, "`&` is not an operator, write `&&`")),
            '|' => return Err(ExprError::new(at, "`|` is not an operator, write `||`")),
            '"' => Tok::Str(lx.string(at)?),
            '-' | '0'..='9' => {
                let lit = lx.word(start, |d| d.is_ascii_digit());
                if lit == "-" {
                    return Err(ExprError::new(at, "`-` must be followed by digits"));
                }
                let Ok(i) = lit.parse::<i64>() else {
                    return Err(ExprError::new(
                        at,
                        format!("integer {lit} does not fit in 64 bits"),
                    ));
                };
                Tok::Int(i)
            }
            'a'..='z' | '_' => {
                let fact_char =
                    |d: char| d.is_ascii_lowercase() || d.is_ascii_digit() || d == '_' || d == '.';
                match lx.word(start, fact_char) {
                    "true" => Tok::True,
                    "false" => Tok::False,
                    name => Tok::Name(name),
                }
            }
            'A'..='Z' => {
                return Err(ExprError::new(
                    at,
                    format!("unexpected `{c}`: fact names are lowercase"),
                ))
            }
            _ => return Err(ExprError::new(at, format!("unexpected character `{c}`"))),
        };
        out.push((tok, at));
    }
    out.push((Tok::End, lx.column + 1));
    Ok(out)
}

struct Lexer<'t> {
    text: &'t str,
    chars: std::iter::Peekable<std::str::CharIndices<'t>>,
    /// Column of the char last taken.
    column: usize,
}

impl<'t> Lexer<'t> {
    fn bump(&mut self) -> Option<(usize, char)> {
        let next = self.chars.next();
        self.column += usize::from(next.is_some());
        next
    }

    /// Take the next char if it is `want`.
    fn eat(&mut self, want: char) -> bool {
        let hit = self.chars.next_if(|&(_, c)| c == want).is_some();
        self.column += usize::from(hit);
        hit
    }

    /// The text from byte `start` (a char already taken) through the chars matching `more`.
    fn word(&mut self, start: usize, more: impl Fn(char) -> bool) -> &'t str {
        while self.chars.next_if(|&(_, c)| more(c)).is_some() {
            self.column += 1;
        }
        let end = self.chars.peek().map_or(self.text.len(), |&(i, _)| i);
        self.text.get(start..end).unwrap_or_default()
    }

    /// The rest of a string literal whose opening quote is at column `at`.
    fn string(&mut self, at: usize) -> Result<String, ExprError> {
        let mut s = String::new();
        loop {
            match self.bump() {
                None => return Err(ExprError::new(at, "unterminated string")),
                Some((_, '"')) => return Ok(s),
                Some((_, '\\')) => match self.bump() {
                    None => return Err(ExprError::new(at, "unterminated string")),
                    Some((_, e @ ('"' | '\\'))) => s.push(e),
                    Some((_, e)) => {
                        return Err(ExprError::new(
                            self.column - 1,
                            format!("unknown escape `\\{e}`, only `\\\"` and `\\\\`"),
                        ))
                    }
                },
                Some((_, c)) => s.push(c),
            }
        }
    }
}

/// A parsed sub-expression with its type and the column where it starts.
struct Typed {
    term: Term,
    ty: FactType,
    col: usize,
}

struct Parser<'t, 'v> {
    tokens: Vec<(Tok<'t>, usize)>,
    pos: usize,
    vocab: &'v Vocabulary,
    depth: usize,
    facts: Vec<FactId>,
}

impl<'t> Parser<'t, '_> {
    fn peek(&self) -> (Tok<'t>, usize) {
        // `lex` always ends the list with `End`, and `bump` never moves past it.
        self.tokens
            .get(self.pos)
            .cloned()
            .unwrap_or((Tok::End, usize::MAX))
    }

    fn bump(&mut self) {
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
    }

    fn enter(&mut self, col: usize) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError::new(
                col,
                format!("nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn need_bool(operand: &Typed, op: &str) -> Result<(), ExprError> {
        if operand.ty == FactType::Bool {
            Ok(())
        } else {
            Err(ExprError::new(
                operand.col,
                format!("`{op}` needs bool operands, found {}", operand.ty),
            ))
        }
    }

    fn or(&mut self) -> Result<Typed, ExprError> {
        let first = self.and()?;
        if self.peek().0 != Tok::Or {
            return Ok(first);
        }
        Self::need_bool(&first, "||")?;
        let col = first.col;
        let mut terms = vec![first.term];
        while self.peek().0 == Tok::Or {
            self.bump();
            let next = self.and()?;
            Self::need_bool(&next, "||")?;
            terms.push(next.term);
        }
        Ok(Typed {
            term: Term::Or(terms),
            ty: FactType::Bool,
            col,
        })
    }

    fn and(&mut self) -> Result<Typed, ExprError> {
        let first = self.not()?;
        if self.peek().0 != Tok::And {
            return Ok(first);
        }
        Self::need_bool(&first, "&&")?;
        let col = first.col;
        let mut terms = vec![first.term];
        while self.peek().0 == Tok::And {
            self.bump();
            let next = self.not()?;
            Self::need_bool(&next, "&&")?;
            terms.push(next.term);
        }
        Ok(Typed {
            term: Term::And(terms),
            ty: FactType::Bool,
            col,
        })
    }

    fn not(&mut self) -> Result<Typed, ExprError> {
        let (tok, col) = self.peek();
        if tok != Tok::Not {
            return self.cmp();
        }
        self.bump();
        self.enter(col)?;
        let operand = self.not()?;
        self.depth -= 1;
        Self::need_bool(&operand, "!")?;
        Ok(Typed {
            term: Term::Not(Box::new(operand.term)),
            ty: FactType::Bool,
            col,
        })
    }

    fn cmp(&mut self) -> Result<Typed, ExprError> {
        let lhs = self.atom()?;
        let (Tok::Cmp(op), op_col) = self.peek() else {
            return Ok(lhs);
        };
        self.bump();
        let rhs = self.atom()?;
        let ordering = !matches!(op, CmpOp::Eq | CmpOp::Ne);
        if ordering {
            for side in [&lhs, &rhs] {
                if side.ty != FactType::Int {
                    return Err(ExprError::new(
                        side.col,
                        format!("`{}` needs int operands, found {}", op.as_str(), side.ty),
                    ));
                }
            }
        } else if lhs.ty != rhs.ty {
            return Err(ExprError::new(
                op_col,
                format!(
                    "`{}` compares {} with {}, both sides must have the same type",
                    op.as_str(),
                    lhs.ty,
                    rhs.ty
                ),
            ));
        }
        Ok(Typed {
            term: Term::Cmp(op, Box::new(lhs.term), Box::new(rhs.term)),
            ty: FactType::Bool,
            col: lhs.col,
        })
    }

    fn atom(&mut self) -> Result<Typed, ExprError> {
        let (tok, col) = self.peek();
        let (term, ty) = match tok {
            Tok::Int(i) => (Term::Int(i), FactType::Int),
            Tok::True => (Term::Bool(true), FactType::Bool),
            Tok::False => (Term::Bool(false), FactType::Bool),
            Tok::Str(s) => (Term::Str(s.into_boxed_str()), FactType::Str),
            Tok::Name(name) => {
                let Some(id) = self.vocab.id(name) else {
                    return Err(ExprError::new(col, format!("unknown fact `{name}`")));
                };
                self.facts.push(id);
                let ty = self
                    .vocab
                    .facts
                    .get(id)
                    .map_or(FactType::Bool, |def| def.ty);
                (Term::Fact(id), ty)
            }
            Tok::LParen => {
                self.bump();
                self.enter(col)?;
                let inner = self.or()?;
                self.depth -= 1;
                let (close, close_col) = self.peek();
                if close != Tok::RParen {
                    return Err(ExprError::new(
                        close_col,
                        format!(
                            "expected `)` to close the `(` at column {col}, found {}",
                            close.describe()
                        ),
                    ));
                }
                self.bump();
                return Ok(Typed {
                    term: inner.term,
                    ty: inner.ty,
                    col,
                });
            }
            other => {
                return Err(ExprError::new(
                    col,
                    format!("expected a value, found {}", other.describe()),
                ))
            }
        };
        self.bump();
        Ok(Typed { term, ty, col })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{vocab, MapFacts};
    use proptest::prelude::*;

    fn eval(text: &str, set: &[(&str, Value<'static>)]) -> bool {
        let v = vocab();
        let e = Expr::compile(text, &v).unwrap_or_else(|e| panic!("{text}: {e}"));
        e.eval(&MapFacts::new(&v, set))
    }

    fn err(text: &str) -> ExprError {
        match Expr::compile(text, &vocab()) {
            Ok(_) => panic!("`{text}` compiled"),
            Err(e) => e,
        }
    }

    #[test]
    fn literals_facts_and_comparisons() {
        use Value::*;
        assert!(eval("true", &[]));
        assert!(!eval("false", &[]));
        assert!(eval("dhcp.offers == 0", &[]));
        assert!(eval("dhcp.offers >= 2", &[("dhcp.offers", Int(2))]));
        assert!(!eval("dhcp.offers > 2", &[("dhcp.offers", Int(2))]));
        assert!(eval(
            "dhcp.offers <= 2 && dhcp.offers < 3",
            &[("dhcp.offers", Int(2))]
        ));
        assert!(eval(
            "tftp.error_code == -1",
            &[("tftp.error_code", Int(-1))]
        ));
        assert!(eval(
            "reg.protocol == \"sip\"",
            &[("reg.protocol", Str("sip"))]
        ));
        assert!(eval(
            "reg.protocol != \"sip\"",
            &[("reg.protocol", Str("sccp"))]
        ));
        assert!(eval(
            "tftp.file == \"a\\\"b\\\\\"",
            &[("tftp.file", Str("a\"b\\"))]
        ));
        assert!(eval("cdp.seen", &[("cdp.seen", Bool(true))]));
        assert!(eval("cdp.seen == lldp.seen", &[]));
        assert!(eval("(cdp.seen) != true", &[]));
        assert!(eval("1 < 2", &[]));
        assert!(eval("-9223372036854775808 < 9223372036854775807", &[]));
    }

    #[test]
    fn precedence_or_and_not_cmp() {
        use Value::Bool;
        // a || b && c  ==  a || (b && c)
        let a = [("cdp.seen", Bool(true))];
        assert!(eval("cdp.seen || lldp.seen && reg.rejected", &a));
        assert!(!eval("(cdp.seen || lldp.seen) && reg.rejected", &a));
        // !a && b  ==  (!a) && b
        assert!(eval("!lldp.seen && cdp.seen", &a));
        assert!(!eval("!(lldp.seen && cdp.seen) && lldp.seen", &a));
        // `!` binds looser than a comparison: !a == b  ==  !(a == b)
        assert!(eval("!cdp.seen == false", &a));
        assert!(!eval("(!cdp.seen) == false", &[]));
        assert!(eval("!!cdp.seen", &a));
        assert!(eval("(((true)))", &[]));
    }

    #[test]
    fn and_or_short_circuit_left_to_right() {
        let v = vocab();
        let id = |n| v.id(n).unwrap();
        let facts = MapFacts::new(&v, &[]);
        let e = Expr::compile("cdp.seen && lldp.seen && reg.rejected", &v).unwrap();
        assert!(!e.eval(&facts));
        assert_eq!(*facts.reads.borrow(), [id("cdp.seen")]);

        let facts = MapFacts::new(&v, &[("lldp.seen", Value::Bool(true))]);
        let e = Expr::compile("cdp.seen || lldp.seen || reg.rejected", &v).unwrap();
        assert!(e.eval(&facts));
        assert_eq!(*facts.reads.borrow(), [id("cdp.seen"), id("lldp.seen")]);
    }

    #[test]
    fn wrong_value_type_from_engine_is_false_not_a_panic() {
        struct Liar;
        impl Facts for Liar {
            fn value(&self, _: FactId) -> Value<'_> {
                Value::Str("oops")
            }
        }
        let v = vocab();
        for text in ["dhcp.offers > 0", "cdp.seen", "dhcp.offers != 1"] {
            assert!(!Expr::compile(text, &v).unwrap().eval(&Liar), "{text}");
        }
        assert!(Expr::compile("!cdp.seen", &v).unwrap().eval(&Liar));
    }

    #[test]
    fn facts_used_sorted_and_unique() {
        let v = vocab();
        let e = Expr::compile("dhcp.offers > 0 && cdp.seen || dhcp.offers == 3", &v).unwrap();
        let used: Vec<_> = e.facts_used().collect();
        assert_eq!(
            used,
            [v.id("cdp.seen").unwrap(), v.id("dhcp.offers").unwrap()]
        );
        assert_eq!(
            e.source(),
            "dhcp.offers > 0 && cdp.seen || dhcp.offers == 3"
        );
    }

    #[test]
    fn equality_ignores_spacing_and_parentheses() {
        let v = vocab();
        let a = Expr::compile("cdp.seen&&(dhcp.offers==0)", &v).unwrap();
        let b = Expr::compile("  cdp.seen && dhcp.offers == 0", &v).unwrap();
        let c = Expr::compile("cdp.seen && dhcp.offers == 1", &v).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn type_errors_point_at_the_operand() {
        let cases = [
            ("dhcp.offers", 1, "the condition is int"),
            ("\"x\"", 1, "the condition is string"),
            (
                "cdp.seen && dhcp.offers",
                13,
                "`&&` needs bool operands, found int",
            ),
            (
                "dhcp.offers || cdp.seen",
                1,
                "`||` needs bool operands, found int",
            ),
            ("!dhcp.offers", 2, "`!` needs bool operands, found int"),
            ("cdp.seen < 3", 1, "`<` needs int operands, found bool"),
            ("3 >= tftp.file", 6, "`>=` needs int operands, found string"),
            ("dhcp.offers == \"0\"", 13, "`==` compares int with string"),
            ("cdp.seen != 1", 10, "`!=` compares bool with int"),
            ("(dhcp.offers + 1)", 14, "unexpected character `+`"),
        ];
        for (text, column, msg) in cases {
            let e = err(text);
            assert_eq!(e.column, column, "{text}: {e}");
            assert!(e.message.contains(msg), "{text}: {e}");
        }
    }

    #[test]
    fn syntax_errors_have_columns() {
        let cases = [
            ("", 1, "expected a value, found the end"),
            ("   ", 4, "expected a value, found the end"),
            ("cdp.seen &&", 12, "found the end"),
            ("cdp.seen lldp.seen", 10, "unexpected `lldp.seen`"),
            ("(cdp.seen", 10, "expected `)` to close the `(` at column 1"),
            ("cdp.seen)", 9, "unexpected `)`"),
            ("1 == 1 == 1", 8, "unexpected `==`"),
            ("cdp.seen = true", 10, "write `==`"),
            ("cdp.seen & true", 10, "write `&&`"),
            ("cdp.seen | true", 10, "write `||`"),
            ("nope == 1", 1, "unknown fact `nope`"),
            ("cdp.seen && Cdp.seen", 13, "fact names are lowercase"),
            ("tftp.file == \"abc", 14, "unterminated string"),
            ("tftp.file == \"a\\n\"", 16, "unknown escape `\\n`"),
            ("99999999999999999999 > 0", 1, "does not fit in 64 bits"),
            ("- 1 < 0", 1, "`-` must be followed by digits"),
            ("é == 1", 1, "unexpected character `é`"),
            ("true && ü", 9, "unexpected character `ü`"),
            ("()", 2, "expected a value, found `)`"),
        ];
        for (text, column, msg) in cases {
            let e = err(text);
            assert_eq!(e.column, column, "{text:?}: {e}");
            assert!(e.message.contains(msg), "{text:?}: {e}");
        }
    }

    #[test]
    fn depth_bomb_is_an_error_not_a_stack_overflow() {
        let deep = |n| format!("{}true{}", "(".repeat(n), ")".repeat(n));
        assert!(Expr::compile(&deep(MAX_DEPTH), &vocab())
            .unwrap()
            .eval(&MapFacts::new(&vocab(), &[])));
        let e = err(&deep(MAX_DEPTH + 1));
        assert_eq!(e.column, MAX_DEPTH + 1);
        assert!(e.message.contains("nested deeper than 64"), "{e}");
        let e = err(&format!("{}cdp.seen", "!".repeat(2000)));
        assert!(e.message.contains("nested deeper"), "{e}");
        let e = err(&"(".repeat(4000));
        assert!(e.message.contains("nested deeper"), "{e}");
        // Beyond the length limit nothing is even lexed.
        let e = err(&deep(100_000));
        assert_eq!(e.column, 1);
        assert!(e.message.contains("limit is 4096"), "{e}");
    }

    #[test]
    fn long_flat_chains_are_fine() {
        let text = vec!["cdp.seen"; 300].join(" && ");
        assert!(text.len() <= MAX_LEN);
        let v = vocab();
        let facts = MapFacts::new(&v, &[("cdp.seen", Value::Bool(true))]);
        assert!(Expr::compile(&text, &v).unwrap().eval(&facts));
    }

    fn token() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "(",
            ")",
            "!",
            "&&",
            "||",
            "==",
            "!=",
            "<",
            "<=",
            ">",
            ">=",
            "1",
            "-7",
            "true",
            "false",
            "\"s\"",
            "\"",
            "\\",
            "cdp.seen",
            "dhcp.offers",
            "tftp.file",
            "nope",
            " ",
            "=",
            "&",
            "é",
            "-",
        ])
    }

    proptest! {
        #[test]
        fn compile_never_panics_on_arbitrary_strings(s in "\\PC{0,200}") {
            let _ = Expr::compile(&s, &vocab());
        }

        #[test]
        fn compile_never_panics_on_token_soup(toks in prop::collection::vec(token(), 0..80)) {
            let text = toks.join(" ");
            if let Ok(e) = Expr::compile(&text, &vocab()) {
                let _ = e.eval(&MapFacts::new(&vocab(), &[]));
            }
        }
    }
}
