//! The `kb` command: argument parsing and output live in [`cli`]; all knowledge work is in the
//! attack_kb library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
