//! `dirsync`: see `dirsync --help` and docs/cli.md.
fn main() -> std::process::ExitCode {
    dirsync::cli::main()
}
