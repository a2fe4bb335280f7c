//! The addon's memory allocator: mimalloc, told to keep freed memory for a while.
//!
//! The engine allocates many small, short-lived buffers and strings per message (headers,
//! properties, frames) on two threads; glibc's allocator spent more time on them than the
//! encoding itself (see bench/README.md).
//!
//! mimalloc gives memory that stayed free for its purge delay (1 s) back to the kernel. A
//! consumer frees and allocates the same tens of MB every second (each crossing into
//! JavaScript is one buffer of every message ready), so memory given back was faulted in
//! again at once, and the kernel zeroes each fresh 2 MiB transparent huge page on its first
//! touch: a tenth of a consumer's CPU at 100 B bodies and most of it at 16 KiB
//! (bench/findings.md). Ten seconds keeps what a steady consumer reuses and still gives back
//! what a burst left behind.

/// Milliseconds freed memory stays with the allocator before it goes back to the kernel.
const PURGE_DELAY_MS: std::os::raw::c_long = 10_000;

/// mimalloc's `mi_option_purge_delay` (v3 `mimalloc.h`); the binding crate names only the
/// options of older versions.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc's own environment variable for the purge delay: a user's setting wins.
const PURGE_DELAY_ENV: &str = "MIMALLOC_PURGE_DELAY";

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Applies the addon's allocator settings; called once when the addon loads.
pub fn tune() {
    if std::env::var_os(PURGE_DELAY_ENV).is_none() {
        // SAFETY: mi_option_set only stores the value; mimalloc reads it on its next purge.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_sits_where_mimalloc_v3_has_it_and_tune_sets_it() {
        // In v3's option enum the purge delay comes right before use_numa_nodes, which the
        // binding crate does name.
        assert_eq!(
            MI_OPTION_PURGE_DELAY + 1,
            libmimalloc_sys::mi_option_use_numa_nodes
        );
        tune();
        // SAFETY: reading a mimalloc option has no preconditions.
        let delay = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(delay, PURGE_DELAY_MS);
    }
}
