//! `gatehouse`: the binary. Everything happens in `cli::run`.

/// mimalloc, not glibc's malloc, for Rust's allocations. A request allocates and frees
/// hundreds of small buffers (hyper's, the JSON, the rows) on whichever worker thread
/// runs it; with glibc's arenas that cost 4–8 % of a client_credentials token under
/// load, part of it waiting on an arena's lock (0.65 more `futex` calls a response).
/// Measured in bench/RESULTS.md (2026-12-07 13:40 section): introspection and JWKS about
/// a quarter cheaper; the signing flows within the host's noise. SQLite and aws-lc, C
/// code, keep glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// The option numbers of mimalloc 3's `mi_option_e` (its include/mimalloc.h) as
// libmimalloc-sys 0.1.49 builds it; Cargo.toml pins that version exactly, because another
// may number them differently (the unit test below checks them).
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    keep_memory_small();
    gatehouse::cli::run()
}

/// mimalloc's defaults trade memory for speed: transparent huge pages, arenas committed
/// whole, and memory it frees given back to the system a second later. The first two apply
/// to the arena it makes before `main`, so huge pages are off at build time (Cargo.toml's
/// `no_thp`: mimalloc does not ask for them with `madvise`, as glibc's malloc does not; the
/// process's THP setting is left alone). With them the server held 30–40 MB more than with
/// glibc (65 MB idle and 109 MB at bench/memory.sh's peak, against 22 and 76); without them
/// the same as glibc (24 and 78), at no measured CPU cost (`madvise` in one response in a
/// hundred).
fn keep_memory_small() {
    // SAFETY: `mi_option_set` stores a value in mimalloc's option table; it takes no
    // pointer, and mimalloc reads its options at each use.
    unsafe {
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::{ARENA_EAGER_COMMIT, PURGE_DELAY};

    /// The numbers `keep_memory_small` uses name the options it means: each has its
    /// documented default (mimalloc's src/options.c) until set.
    #[test]
    fn the_option_numbers_name_eager_commit_and_purge_delay() {
        // SAFETY: reads of mimalloc's option table.
        let (eager, delay) = unsafe {
            (
                libmimalloc_sys::mi_option_get(ARENA_EAGER_COMMIT),
                libmimalloc_sys::mi_option_get(PURGE_DELAY),
            )
        };
        assert_eq!((eager, delay), (2, 1000));
    }
}
