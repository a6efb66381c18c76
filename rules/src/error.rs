//! Errors of this crate: [`ExprError`] for a condition or template on its own (column within the
//! text), [`LoadError`] for a rule or sequence file (file, line and column, like a compiler).

use std::fmt;

/// A condition or template that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ExprError {
    /// 1-based character column in the text (one past the end for "unexpected end").
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl ExprError {
    pub(crate) fn new(column: usize, message: impl Into<String>) -> Self {
        ExprError {
            column,
            message: message.into(),
        }
    }
}

/// A rule or sequence file that does not load.
///
/// Displays as `{file}:{line}:{column}: {message}`; a column of 0 is left out, and so is a line
/// of 0 (errors about the file as a whole, such as an I/O error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    /// The file name (a path, or `<builtin>/…` for the embedded files).
    pub file: String,
    /// 1-based line, 0 if the error is about the whole file.
    pub line: usize,
    /// 1-based character column in that line, 0 if unknown.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if self.line != 0 {
            write!(f, ":{}", self.line)?;
            if self.column != 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_error_display_omits_unknown_column_and_line() {
        let e = |line, column| LoadError {
            file: "f.json".into(),
            line,
            column,
            message: "bad".into(),
        };
        assert_eq!(e(3, 7).to_string(), "f.json:3:7: bad");
        assert_eq!(e(3, 0).to_string(), "f.json:3: bad");
        assert_eq!(e(0, 0).to_string(), "f.json: bad");
        assert_eq!(ExprError::new(4, "x").to_string(), "column 4: x");
    }
}
