//! HTTP/1.1 head parsing (in progress).

/// A malformed HTTP head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError;
impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("malformed HTTP head")
    }
}
impl std::error::Error for HttpError {}
