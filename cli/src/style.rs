//! Colour for people at a terminal, and only there: on when standard output
//! is a terminal and `NO_COLOR` is unset or empty (<https://no-color.org>), so
//! pipes, files and CI logs get plain text.

use std::io::IsTerminal;

/// Whether to colour standard output.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    on: bool,
}

impl Style {
    /// Colour when standard output is a terminal and `NO_COLOR` does not forbid it.
    pub fn for_stdout() -> Style {
        let forbidden = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style { on: !forbidden && std::io::stdout().is_terminal() }
    }

    /// Green text (an allow, a passing case).
    pub fn good(self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Bold red text (a deny, a failing case).
    pub fn bad(self, text: &str) -> String {
        self.paint("1;31", text)
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.on { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }
}
