//! `gatehouse`: the binary. Everything happens in `cli::run`.

fn main() -> std::process::ExitCode {
    gatehouse::cli::run()
}
