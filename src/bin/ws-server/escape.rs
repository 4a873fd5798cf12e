//! Text from a peer made safe to print: shared by `ws-server` (its log lines) and `ws-client`
//! (the server's messages), which includes this file with `#[path]`.
//!
//! Control characters (C0, DEL, C1, so ESC and CSI too) and the bidirectional-override
//! characters are written as Rust escapes (`\n`, `\u{1b}`, `\u{202e}`): a peer cannot move the
//! cursor, recolour or clear a terminal, forge a line of output or reorder what is shown.
//! Everything else, including non-ASCII letters and emoji, is kept as it is.

use std::borrow::Cow;

/// True for a character that is written escaped.
pub fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push(out: &mut String, c: char) {
    if needs_escape(c) {
        out.extend(c.escape_default());
    } else {
        out.push(c);
    }
}

/// `text` with every control character escaped; borrowed when there is none.
#[allow(dead_code)] // ws-server's lines use escape_prefix
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    text.chars().for_each(|c| push(&mut out, c));
    Cow::Owned(out)
}

/// The first `max_chars` characters of `text`, escaped, then `...` if it was longer.
#[allow(dead_code)] // ws-client prints whole messages
pub fn escape_prefix(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max_chars {
            out.push_str("...");
            break;
        }
        push(&mut out, c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_sequences_and_line_breaks_are_escaped() {
        assert_eq!(escape("plain é ✓"), Cow::Borrowed("plain é ✓"));
        assert_eq!(escape("a\nb\r\tc"), "a\\nb\\r\\tc");
        assert_eq!(
            escape("\x1b[2J\x1b]0;title\x07"),
            "\\u{1b}[2J\\u{1b}]0;title\\u{7}"
        );
        assert_eq!(escape("\u{9b}31m\u{7f}\0"), "\\u{9b}31m\\u{7f}\\u{0}");
        assert_eq!(escape("abc\u{202e}def"), "abc\\u{202e}def");
        let escaped = escape("\x1b[31mred");
        assert!(!escaped.chars().any(needs_escape), "{escaped}");
    }

    #[test]
    fn prefixes_are_bounded() {
        assert_eq!(escape_prefix("short", 10), "short");
        assert_eq!(escape_prefix("abcdef", 3), "abc...");
        assert_eq!(escape_prefix("\n\n\n\n", 2), "\\n\\n...");
        assert_eq!(escape_prefix("", 0), "");
    }
}
