//! Catching SIGINT and SIGTERM with std only, without polling.
//!
//! std has no signal API, so on Linux, Android, macOS and FreeBSD the C library's
//! `pthread_sigmask(3)` and `sigwait(3)` (always linked by std) are declared by hand. [`install`],
//! called first thing in `main`, blocks both signals in the main thread, so every thread
//! spawned later has them blocked too, and starts one thread that takes them with `sigwait`
//! and counts them. No handler runs in signal context, so nothing has to be async-signal-safe
//! and `errno` is never touched behind anyone's back; the threads that wait for a signal
//! ([`wait_beyond`]) sleep on a condition variable, with no periodic wake-up. Until the
//! program [`arm`]s it (when it is ready to shut down gracefully), a signal ends the process at
//! once with status 130, as the default action would. This module holds the binaries' only
//! `unsafe` code.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Number of SIGINT/SIGTERM received so far.
static RECEIVED: Mutex<usize> = Mutex::new(0);
/// Notified on each signal.
static ARRIVED: Condvar = Condvar::new();
/// Set by [`arm`]: from then on signals are counted, not fatal.
static ARMED: AtomicBool = AtomicBool::new(false);

#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "freebsd"
))]
mod sys {
    /// Same value on Linux, the BSDs and macOS.
    const SIGINT: i32 = 2;
    /// Same value on Linux, the BSDs and macOS.
    const SIGTERM: i32 = 15;
    /// `how` for `pthread_sigmask`: 0 and 1 on Linux (the generic ABI), 1 and 2 on the BSDs
    /// and macOS.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const SIG_BLOCK: i32 = 0;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const SIG_UNBLOCK: i32 = 1;
    #[cfg(any(target_os = "macos", target_os = "freebsd"))]
    const SIG_BLOCK: i32 = 1;
    #[cfg(any(target_os = "macos", target_os = "freebsd"))]
    const SIG_UNBLOCK: i32 = 2;

    /// Room for a `sigset_t`: 128 bytes on Linux (glibc and musl), 4 on macOS, 16 on
    /// FreeBSD; aligned for any of them. Only the C library reads or writes its bytes.
    #[derive(Clone, Copy)]
    #[repr(C, align(8))]
    struct SigSet([u8; 128]);

    // SAFETY: the declarations match the C library's (POSIX) prototypes: `sigset_t *` is
    // passed as a pointer to a buffer at least as large and as aligned as `sigset_t`, and
    // every function returns `int`.
    unsafe extern "C" {
        fn sigemptyset(set: *mut SigSet) -> i32;
        fn sigaddset(set: *mut SigSet, signum: i32) -> i32;
        fn pthread_sigmask(how: i32, set: *const SigSet, old: *mut SigSet) -> i32;
        fn sigwait(set: *const SigSet, sig: *mut i32) -> i32;
    }

    /// The set {SIGINT, SIGTERM}.
    fn set() -> Option<SigSet> {
        let mut set = SigSet([0; 128]);
        // SAFETY: `set` is a live, writable buffer large and aligned enough for a
        // `sigset_t`; the functions only write within it.
        let ok = unsafe {
            sigemptyset(&mut set) == 0
                && sigaddset(&mut set, SIGINT) == 0
                && sigaddset(&mut set, SIGTERM) == 0
        };
        ok.then_some(set)
    }

    /// Blocks (or unblocks) the set in the calling thread; threads spawned later inherit it.
    fn block(set: &SigSet, block: bool) -> bool {
        let how = if block { SIG_BLOCK } else { SIG_UNBLOCK };
        // SAFETY: `set` was filled by `set()`; a null `old` is allowed (the previous mask is
        // not wanted).
        unsafe { pthread_sigmask(how, set, std::ptr::null_mut()) == 0 }
    }

    /// Waits for one signal of the set (blocked in every thread, so it stays pending until
    /// taken here); false if `sigwait` failed.
    fn wait(set: &SigSet) -> bool {
        let mut sig = 0;
        // SAFETY: `set` was filled by `set()`, `sig` is a live `i32` for the result.
        unsafe { sigwait(set, &mut sig) == 0 }
    }

    pub fn install() -> bool {
        let Some(set) = set() else {
            return false;
        };
        if !block(&set, true) {
            return false;
        }
        let spawned = std::thread::Builder::new()
            .name("sigwait".into())
            .stack_size(64 << 10)
            .spawn(move || {
                while wait(&set) {
                    if !super::ARMED.load(super::Ordering::SeqCst) {
                        std::process::exit(130);
                    }
                    *super::count() += 1;
                    super::ARRIVED.notify_all();
                }
            });
        if spawned.is_err() {
            // Nobody would take them: give the signals their default action back.
            block(&set, false);
            return false;
        }
        true
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "freebsd"
)))]
mod sys {
    pub fn install() -> bool {
        false
    }
}

/// Blocks SIGINT and SIGTERM in the calling thread (call it before any other thread is
/// spawned) and starts the thread that counts them. Returns false where that is not
/// supported or failed: then the signals keep their default action (the process ends at once).
pub fn install() -> bool {
    sys::install()
}

/// From now on a signal is counted (for [`wait_beyond`] and [`received`]) instead of ending
/// the process.
pub fn arm() {
    ARMED.store(true, Ordering::SeqCst);
}

/// How many SIGINT/SIGTERM arrived since start.
#[allow(dead_code)] // ws-client's; ws-server only waits
pub fn received() -> usize {
    *count()
}

/// Sleeps until more than `seen` signals have arrived; returns how many have.
pub fn wait_beyond(seen: usize) -> usize {
    let mut n = count();
    while *n <= seen {
        n = ARRIVED.wait(n).unwrap_or_else(|e| e.into_inner());
    }
    *n
}

/// The signal count, locked (a panic elsewhere while holding it does not matter: it is a
/// plain number).
fn count() -> MutexGuard<'static, usize> {
    RECEIVED.lock().unwrap_or_else(|e| e.into_inner())
}
