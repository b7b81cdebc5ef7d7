//! Prints `docs/errors.md`, the error catalogue as Markdown (run by `scripts/gen-docs`).

fn main() {
    print!("{}", dirsync_model::catalogue::markdown());
}
