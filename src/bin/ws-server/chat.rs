//! The article's support bot: a reply table and its file format.
//!
//! Format (one entry per line): `key = reply`. Blank lines and lines whose first non-blank
//! character is `#` are ignored; key and reply are trimmed; the reply may contain `=` and `#`.
//! `* = reply` sets the reply used when no key matches; `@greeting = text` sets what is sent on
//! connect (default: the reply of `hi`, as in the article).
//!
//! Matching: for each text message the table is scanned in order and the reply of the last
//! key found in the message wins. By default ([`MatchMode::Word`]) a key is found only as whole
//! words, whatever the case ("HELP!" finds `help`, "something" does not find `hi`); the
//! article's own rule, a case-sensitive substring test, is [`MatchMode::Substring`].

use std::fmt;

/// The article's reply when nothing matches.
pub const ARTICLE_UNKNOWN: &str = "Sorry, I am unable to understand you.";
/// The reply to a binary message: the bot only reads text.
pub const BINARY_REPLY: &str = "Sorry, I only understand text messages.";

/// The article's table, in the article's order. `unknown` is a key like the others there
/// (the article scans every key of its `db`), so it is kept as one.
pub const ARTICLE_TABLE: &str = "\
# The reply table of the Deno WebSockets article.
help = Sure, I am here to help. Can you briefly describe the problem.
hi = Hi, how can I help you today?
hello = Hi, how can I help you today?
unknown = Sorry, I am unable to understand you.
* = Sorry, I am unable to understand you.
";

/// How a key is looked for in a message (`--match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchMode {
    /// Whole words, case-insensitively: the key must not be part of a longer word.
    #[default]
    Word,
    /// The article's `message.includes(key)`: anywhere, case-sensitively.
    Substring,
}

impl MatchMode {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            MatchMode::Word => "word",
            MatchMode::Substring => "substring",
        }
    }
}

/// An ordered reply table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTable {
    entries: Vec<(String, String)>,
    /// The keys of `entries` in lower case, for word matching.
    folded: Vec<String>,
    unknown: String,
    greeting: Option<String>,
    mode: MatchMode,
}

/// A malformed reply table line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for TableError {}

impl ReplyTable {
    /// The article's table.
    pub fn article() -> ReplyTable {
        ReplyTable::parse(ARTICLE_TABLE).expect("the built-in table parses")
    }

    /// Parses the `key = reply` format.
    pub fn parse(text: &str) -> Result<ReplyTable, TableError> {
        let mut entries: Vec<(String, String)> = Vec::new();
        let mut unknown: Option<String> = None;
        let mut greeting: Option<String> = None;
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let bad = |message: String| TableError {
                line: line_no,
                message,
            };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, reply)) = line.split_once('=') else {
                return Err(bad(format!(
                    "expected `key = reply`, found {:?}",
                    shorten(line)
                )));
            };
            let (key, reply) = (key.trim(), reply.trim());
            if key.is_empty() {
                return Err(bad("empty key before `=`".into()));
            }
            if reply.is_empty() {
                return Err(bad(format!("empty reply for key {key:?}")));
            }
            let duplicate = |what: &str| bad(format!("duplicate {what}"));
            match key {
                "*" => {
                    if unknown.replace(reply.to_string()).is_some() {
                        return Err(duplicate("`*` (unknown reply) line"));
                    }
                }
                "@greeting" => {
                    if greeting.replace(reply.to_string()).is_some() {
                        return Err(duplicate("`@greeting` line"));
                    }
                }
                k if k.starts_with('@') => {
                    return Err(bad(format!(
                        "unknown special key {k:?} (only `@greeting` and `*` are special)"
                    )))
                }
                k => {
                    if entries.iter().any(|(e, _)| e == k) {
                        return Err(duplicate(&format!("key {k:?}")));
                    }
                    entries.push((k.to_string(), reply.to_string()));
                }
            }
        }
        let greeting = greeting.or_else(|| {
            entries
                .iter()
                .find(|(k, _)| k == "hi")
                .map(|(_, r)| r.clone())
        });
        Ok(ReplyTable {
            folded: entries.iter().map(|(k, _)| k.to_lowercase()).collect(),
            entries,
            unknown: unknown.unwrap_or_else(|| ARTICLE_UNKNOWN.to_string()),
            greeting,
            mode: MatchMode::default(),
        })
    }

    /// The same table, looking for keys the way `mode` says.
    pub fn with_match(mut self, mode: MatchMode) -> ReplyTable {
        self.mode = mode;
        self
    }

    /// What the bot says when a client connects, if anything.
    pub fn greeting(&self) -> Option<&str> {
        self.greeting.as_deref()
    }

    /// The reply to a text message: the reply of the last key (in table order) found in the
    /// message, else the unknown reply.
    pub fn reply(&self, message: &str) -> &str {
        // Word mode compares the lowercased message with the lowercased keys.
        let lowered = match self.mode {
            MatchMode::Word => Some(message.to_lowercase()),
            MatchMode::Substring => None,
        };
        self.entries
            .iter()
            .zip(&self.folded)
            .rev()
            .find(|((key, _), folded)| match &lowered {
                Some(text) => contains_words(text, folded),
                None => message.contains(key.as_str()),
            })
            .map(|((_, reply), _)| reply.as_str())
            .unwrap_or(&self.unknown)
    }

    /// Number of ordinary keys.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

/// A letter, digit or `_`: what a word is made of.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// True if `key` occurs in `text` with no word character glued to either end of it (a key
/// that starts or ends with punctuation needs no boundary on that side).
fn contains_words(text: &str, key: &str) -> bool {
    if key.is_empty() {
        return false;
    }
    let key_starts_word = key.chars().next().is_some_and(is_word_char);
    let key_ends_word = key.chars().next_back().is_some_and(is_word_char);
    text.match_indices(key).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + key.len()..].chars().next();
        let glued_before = key_starts_word && before.is_some_and(is_word_char);
        let glued_after = key_ends_word && after.is_some_and(is_word_char);
        !glued_before && !glued_after
    })
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= 40 {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(40).collect();
        out.push_str("...");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELP: &str = "Sure, I am here to help. Can you briefly describe the problem.";
    const HI: &str = "Hi, how can I help you today?";

    #[test]
    fn article_conversation() {
        let t = ReplyTable::article();
        assert_eq!(t.greeting(), Some(HI));
        assert_eq!(t.reply("hello"), HI);
        assert_eq!(t.reply("i need help"), HELP);
        assert_eq!(t.reply("good day"), ARTICLE_UNKNOWN);
        assert_eq!(t.reply("hi"), HI);
        assert_eq!(t.reply(""), ARTICLE_UNKNOWN);
    }

    #[test]
    fn words_match_whole_and_in_any_case() {
        let t = ReplyTable::article();
        // "something" contains "hi", but not as a word.
        assert_eq!(t.reply("something else"), ARTICLE_UNKNOWN);
        assert_eq!(t.reply("HELP"), HELP);
        assert_eq!(t.reply("Help!"), HELP);
        assert_eq!(t.reply("Hello, world"), HI);
        assert_eq!(t.reply("helpful"), ARTICLE_UNKNOWN);
        assert_eq!(t.reply("(hi)"), HI);
        assert_eq!(t.reply("high five"), ARTICLE_UNKNOWN);
        // Last key wins, as with substrings: `hello` comes after `help` in the table.
        assert_eq!(t.reply("help, hello"), HI);
        assert_eq!(t.reply("help with this"), HELP);
        // Non-ASCII letters are word characters too.
        assert_eq!(t.reply("hié"), ARTICLE_UNKNOWN);
        assert_eq!(t.reply("ÉCOLE hi"), HI);
    }

    #[test]
    fn word_keys_with_spaces_and_punctuation() {
        let t = ReplyTable::parse("thank you = You are welcome.\n?? = Ask away.\n").unwrap();
        assert_eq!(t.reply("Thank  you"), ARTICLE_UNKNOWN); // two spaces: not the key
        assert_eq!(t.reply("well, THANK YOU!"), "You are welcome.");
        assert_eq!(t.reply("thank yours"), ARTICLE_UNKNOWN);
        assert_eq!(t.reply("what??"), "Ask away.");
    }

    #[test]
    fn last_matching_key_wins() {
        let t = ReplyTable::article().with_match(MatchMode::Substring);
        // "help" comes before "hello" in the table: hello wins.
        assert_eq!(t.reply("hello, help me"), HI);
        // "hi" is contained in "this" and comes after "help".
        assert_eq!(t.reply("help with this"), HI);
        // Case-sensitive like the article's String.includes.
        assert_eq!(t.reply("HELP"), ARTICLE_UNKNOWN);
        // The article scans its `unknown` key too.
        assert_eq!(t.reply("hello unknown"), ARTICLE_UNKNOWN);
    }

    #[test]
    fn custom_table_with_specials_and_comments() {
        let t = ReplyTable::parse(
            "# shop bot\n\n  price = It costs 5 = five euros # really\n\
             @greeting = Welcome!\n*=Pardon?\nship = We ship worldwide.\n",
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.greeting(), Some("Welcome!"));
        assert_eq!(t.reply("price?"), "It costs 5 = five euros # really");
        assert_eq!(t.reply("price to ship"), "We ship worldwide.");
        assert_eq!(t.reply("nothing"), "Pardon?");
    }

    #[test]
    fn defaults_without_specials() {
        let t = ReplyTable::parse("hi = Hey\n").unwrap();
        assert_eq!(t.greeting(), Some("Hey"));
        assert_eq!(t.reply("x"), ARTICLE_UNKNOWN);
        let t = ReplyTable::parse("yo = Yo\n").unwrap();
        assert_eq!(t.greeting(), None);
        let t = ReplyTable::parse("").unwrap();
        assert_eq!(t.reply("hi"), ARTICLE_UNKNOWN);
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            (
                "hi = a\n\n# c\nno equals sign here\n",
                4,
                "expected `key = reply`",
            ),
            ("= reply\n", 1, "empty key"),
            ("a = b\nkey =   \n", 2, "empty reply"),
            ("a = b\na = c\n", 2, "duplicate key"),
            ("* = a\n* = b\n", 2, "duplicate `*`"),
            ("@greeting = a\n@greeting = b\n", 2, "duplicate `@greeting`"),
            ("@bogus = a\n", 1, "unknown special key"),
        ];
        for (text, line, what) in cases {
            let e = ReplyTable::parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}");
            assert!(e.message.contains(what), "{e} should contain {what}");
            assert!(e.to_string().starts_with(&format!("line {line}: ")));
        }
    }

    #[test]
    fn crlf_files_parse() {
        let t = ReplyTable::parse("hi = Hey\r\n* = Eh?\r\n").unwrap();
        assert_eq!(t.reply("hi"), "Hey");
        assert_eq!(t.reply("x"), "Eh?");
    }
}
