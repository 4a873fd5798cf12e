//! permessage-deflate (RFC 7692) negotiation: the agreement both sides work from.

/// The permessage-deflate parameters a server accepted, as both sides apply them.
///
/// Window bits are 8..=15 (15 when the response named none). `server_*` is the direction the
/// server compresses in, `client_*` the direction the client compresses in.
///
/// ```
/// let a = ws6455::PerMessageDeflate::default();
/// assert_eq!(a.server_max_window_bits, 15);
/// assert!(!a.client_no_context_takeover);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerMessageDeflate {
    /// The server resets its compressor after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message.
    pub client_no_context_takeover: bool,
    /// Largest window the server compresses with, 8..=15.
    pub server_max_window_bits: u8,
    /// Largest window the client compresses with, 8..=15.
    pub client_max_window_bits: u8,
}

impl Default for PerMessageDeflate {
    fn default() -> PerMessageDeflate {
        PerMessageDeflate {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }
}
