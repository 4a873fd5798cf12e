//! Upgrade policy: authentication, allowed origins, subprotocol choice. Pure functions over
//! header values so they are easy to test.

use ws6455::handshake::constant_time_eq;

/// Subprotocols this server speaks, whatever the app.
pub const SUBPROTOCOLS: [&str; 2] = ["chat", "echo"];

/// True when `header` (the `X-WS-AUTH-KEY` value) or `token` (the `?accessToken=` value)
/// equals `key`. Both candidates are always compared.
pub fn authorized(key: &str, header: Option<&str>, token: Option<&str>) -> bool {
    let by_header = header.is_some_and(|h| constant_time_eq(h.trim().as_bytes(), key.as_bytes()));
    let by_token = token.is_some_and(|t| constant_time_eq(t.as_bytes(), key.as_bytes()));
    by_header | by_token
}

fn normalize_origin(o: &str) -> String {
    o.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// True when no allow-list is configured, the request has no `Origin` (not a browser), or
/// the origin is in the list (compared case-insensitively, ignoring a trailing `/`).
pub fn origin_allowed(allowed: &[String], origin: Option<&str>) -> bool {
    match origin {
        _ if allowed.is_empty() => true,
        None => true,
        Some(o) => {
            let o = normalize_origin(o);
            allowed.iter().any(|a| normalize_origin(a) == o)
        }
    }
}

/// The first offered subprotocol that we support.
pub fn select_subprotocol<'a>(offered: impl IntoIterator<Item = &'a str>) -> Option<&'static str> {
    offered
        .into_iter()
        .find_map(|p| SUBPROTOCOLS.iter().copied().find(|s| *s == p.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_by_header_or_token() {
        assert!(authorized("k", Some("k"), None));
        assert!(authorized("k", Some(" k "), None));
        assert!(authorized("k", None, Some("k")));
        assert!(authorized("k", Some("wrong"), Some("k")));
        assert!(!authorized("k", None, None));
        assert!(!authorized("k", Some("K"), Some("")));
    }

    #[test]
    fn origins() {
        let list = vec!["http://localhost:5000".to_string()];
        assert!(origin_allowed(&[], Some("http://evil.example")));
        assert!(origin_allowed(&list, None));
        assert!(origin_allowed(&list, Some("http://localhost:5000")));
        assert!(origin_allowed(&list, Some("HTTP://LOCALHOST:5000/")));
        assert!(!origin_allowed(&list, Some("http://localhost:5001")));
        assert!(!origin_allowed(&list, Some("null")));
    }

    #[test]
    fn subprotocols() {
        assert_eq!(select_subprotocol(["echo", "chat"]), Some("echo"));
        assert_eq!(select_subprotocol(["mqtt", "chat"]), Some("chat"));
        assert_eq!(select_subprotocol(["mqtt"]), None);
        assert_eq!(select_subprotocol([]), None);
        assert_eq!(select_subprotocol(["Chat"]), None);
    }
}
