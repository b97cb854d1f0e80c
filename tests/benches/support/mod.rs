//! What every benchmark binary shares: `--list` (test runners listing benchmarks), the runtime,
//! the report and the exit code (non-zero only when setup or a correctness check fails).

use std::{future::Future, process::ExitCode};

/// Runs a benchmark: `run` prints its report and returns the correctness failures found.
pub fn main<C, Fut>(name: &str, config: fn() -> anyhow::Result<C>, run: impl FnOnce(C) -> Fut) -> ExitCode
where
    Fut: Future<Output = anyhow::Result<Vec<String>>>,
{
    // `cargo bench` passes `--bench`; test runners listing benchmarks pass `--list`.
    if std::env::args().skip(1).any(|a| a == "--list") {
        return ExitCode::SUCCESS;
    }
    let config = match config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{name}: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(failures) if failures.is_empty() => ExitCode::SUCCESS,
        Ok(failures) => {
            for f in &failures {
                eprintln!("{name}: CORRECTNESS FAILURE: {f}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}
