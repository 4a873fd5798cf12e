//! The opening handshake (in progress).

/// The opening handshake failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeError;
impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("handshake failed")
    }
}
impl std::error::Error for HandshakeError {}
