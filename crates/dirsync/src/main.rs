//! `dirsync`: see `dirsync --help` and docs/cli.md.
fn main() -> std::process::ExitCode {
    // First, before any thread: the allocator's settings (issue 12's memory).
    dirsync_engine::memory::tune_allocator();
    dirsync::cli::main()
}
