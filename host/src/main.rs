//! The `benchhost` binary: see `benchhost --help` and README.md.

fn main() {
    std::process::exit(benchhost::cli::main());
}
