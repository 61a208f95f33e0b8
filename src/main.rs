//! The `pivotsim` binary: everything happens in the library.

fn main() -> std::process::ExitCode {
    pivotsim::cli::main()
}
