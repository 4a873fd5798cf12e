//! Catching SIGINT and SIGTERM with std only.
//!
//! std has no signal API, so on Unix the C library's `signal(2)` (always linked by std) is
//! declared by hand. The handler does the one async-signal-safe thing it needs: it bumps an
//! atomic counter. A watcher thread polls the counter and does the real work outside the
//! handler. This module holds the binary's only `unsafe` code.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Number of SIGINT/SIGTERM received so far.
static RECEIVED: AtomicUsize = AtomicUsize::new(0);

#[cfg(unix)]
mod sys {
    use std::sync::atomic::Ordering;

    /// Same value on Linux, the BSDs and macOS.
    const SIGINT: i32 = 2;
    /// Same value on Linux, the BSDs and macOS.
    const SIGTERM: i32 = 15;
    /// `SIG_ERR` is `(sighandler_t) -1`.
    const SIG_ERR: usize = usize::MAX;

    // SAFETY: the declaration matches the C library's `signal` (see below).
    unsafe extern "C" {
        // `sighandler_t signal(int signum, sighandler_t handler);` with sighandler_t a pointer
        // to `void (int)`: an `extern "C" fn(i32)` has the same ABI, and the previous handler
        // is returned as a pointer-sized integer that we only compare with SIG_ERR.
        fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    }

    extern "C" fn on_signal(_signum: i32) {
        // Lock-free atomic read-modify-write: async-signal-safe. Nothing else happens here.
        super::RECEIVED.fetch_add(1, Ordering::SeqCst);
    }

    pub fn install() -> bool {
        [SIGINT, SIGTERM].iter().all(|&sig| {
            // SAFETY: `signal` is the C library's, with the declared signature; the handler
            // is a plain `extern "C" fn(i32)` that lives for the whole program and only
            // performs an atomic increment, which is async-signal-safe. No Rust state is
            // touched from signal context.
            let previous = unsafe { signal(sig, on_signal) };
            previous != SIG_ERR
        })
    }
}

/// Installs the SIGINT/SIGTERM handlers. Returns false where that is not supported (then the
/// default action, terminating the process, stays in place).
pub fn install() -> bool {
    #[cfg(unix)]
    {
        sys::install()
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// How many SIGINT/SIGTERM arrived since start.
pub fn received() -> usize {
    RECEIVED.load(Ordering::SeqCst)
}
