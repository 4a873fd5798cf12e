//! Plain HTTP requests: `GET /` gets the chat page, anything else 404 (405 for other methods
//! on `/`).

use ws6455::handshake::{Request, Response};

/// The self-contained chat page (inline CSS and JS, no external assets).
pub const PAGE: &str = include_str!("page.html");

/// Answers a request that is not a WebSocket upgrade.
pub fn respond(req: &Request) -> Response {
    route(&req.method, req.path())
}

/// Routing on method and path, separate for testing.
pub fn route(method: &str, path: &str) -> Response {
    match (method, path) {
        ("GET", "/") => Response::new(200)
            .header("Content-Type", "text/html; charset=utf-8")
            .header("Cache-Control", "no-store")
            .header("X-Content-Type-Options", "nosniff")
            .body(PAGE),
        (_, "/") => Response::text(405, "Method Not Allowed\n").header("Allow", "GET"),
        _ => Response::text(404, "Not Found\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_has_the_fixed_selectors_and_no_external_assets() {
        for needle in [
            "<input id=\"input\"",
            "id=\"log\"",
            "id=\"status\"",
            "id=\"token-form\"",
            "<input id=\"token\"",
            "new WebSocket(",
            "accessToken",
            "\"name\"",
            "disconnected (code ",
            "\"connected\"",
        ] {
            assert!(PAGE.contains(needle), "page lacks {needle}");
        }
        for external in [
            "src=\"http",
            "href=\"http",
            "src=\"//",
            "href=\"//",
            "@import",
        ] {
            assert!(!PAGE.contains(external), "page loads {external}");
        }
        // One <link>: the favicon, inline, so that a page load makes no request for it.
        assert_eq!(PAGE.matches("<link").count(), 1);
        assert!(PAGE.contains("<link rel=\"icon\" href=\"data:image/svg+xml,"));
    }

    #[test]
    fn routes() {
        let r = route("GET", "/");
        assert_eq!(r.status, 200);
        assert_eq!(
            r.get_header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(r.body, PAGE.as_bytes());
        assert_eq!(route("GET", "/nope").status, 404);
        assert_eq!(route("GET", "/favicon.ico").status, 404);
        assert_eq!(route("GET", "/index.html").status, 404);
        assert_eq!(route("POST", "/").status, 405);
    }
}
