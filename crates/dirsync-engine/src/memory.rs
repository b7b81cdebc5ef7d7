//! The memory allocator's settings for the agent's process (issue 12:
//! peak memory at 100,000 users).
//!
//! Why: glibc's allocator gives each thread that meets contention an
//! arena of its own, up to eight per core. A run reads the directory on a
//! blocking thread, maps and plans on the runtime's workers and applies
//! with several requests at once; memory one phase frees in one arena is
//! not reused by the next phase's allocations in another, so the resident
//! set was about twice the live heap (27.5 MB of heap, 60 MB resident, at
//! 10,000 users). One arena lets each phase reuse what the last freed, and
//! a fixed mmap threshold (128 KiB, which glibc otherwise raises up to
//! 32 MiB as large blocks are freed) returns the large vectors and tables
//! to the system as soon as they are dropped.
//!
//! glibc reads these settings from the environment when the process
//! starts, and setting them from within needs `unsafe` code (which the
//! workspace forbids), so [`tune_allocator`] starts the program again
//! (same executable, arguments and `argv[0]`) with them set, once. An
//! administrator's own `MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_` or
//! `GLIBC_TUNABLES` (glibc's newer form of the same settings) stands:
//! then nothing is changed.

/// Marks a process already started again with the settings.
const MARK: &str = "DIRSYNC_ALLOCATOR_TUNED";

/// glibc's variable for all its tunables, the allocator's among them.
const TUNABLES: &str = "GLIBC_TUNABLES";

/// The allocator settings, by environment variable.
const SETTINGS: [(&str, &str); 2] = [
    ("MALLOC_ARENA_MAX", "1"),
    ("MALLOC_MMAP_THRESHOLD_", "131072"),
];

/// The variables to set before starting again, given which variables are
/// set now (`is_set`); `None` when the process should go on as it is.
pub fn allocator_env(is_set: impl Fn(&str) -> bool) -> Option<Vec<(&'static str, &'static str)>> {
    if is_set(MARK) || is_set(TUNABLES) || SETTINGS.iter().any(|(k, _)| is_set(k)) {
        return None;
    }
    let mut env = vec![(MARK, "1")];
    env.extend(SETTINGS);
    Some(env)
}

/// On Linux with glibc, starts the program again with the allocator's
/// settings (see the module documentation) unless they are set; call it
/// first thing in `main`, before any thread starts. Returns only when the
/// process goes on as it is: settings already in place, another platform,
/// or the new start failed (the program then runs with glibc's defaults).
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        let Some(env) = allocator_env(|k| std::env::var_os(k).is_some()) else {
            return;
        };
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
        // `exec` returns only on failure: go on unchanged.
        let _ = std::process::Command::new(&exe)
            .arg0(arg0)
            .args(args)
            .envs(env)
            .exec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which variables are set -> what is set before starting again.
    #[test]
    fn allocator_env_table() {
        let all = Some(vec![
            (MARK, "1"),
            ("MALLOC_ARENA_MAX", "1"),
            ("MALLOC_MMAP_THRESHOLD_", "131072"),
        ]);
        for (set, want) in [
            (vec![], all.clone()),
            (vec!["PATH", "HOME"], all),
            (vec![MARK], None),
            (vec!["MALLOC_ARENA_MAX"], None),
            (vec!["MALLOC_MMAP_THRESHOLD_"], None),
            (vec!["GLIBC_TUNABLES"], None),
        ] {
            assert_eq!(allocator_env(|k| set.contains(&k)), want, "{set:?}");
        }
    }
}
