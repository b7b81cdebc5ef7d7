//! Prints `docs/exit-codes.md`, the exit code table as Markdown (run by `scripts/gen-docs`).

fn main() {
    print!("{}", dirsync_model::exit::markdown());
}
