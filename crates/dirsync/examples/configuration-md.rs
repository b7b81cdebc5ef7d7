//! Prints `docs/configuration.md`, generated from the configuration key
//! table (run by `scripts/gen-docs`).

fn main() {
    print!("{}", dirsync::config::docs::markdown());
}
