//! Dispatch of the CLI to the UI, the simulator, `snapshot` and `check` (glue helper owns this).
pub fn main() -> i32 {
    let _cli = crate::cli::Cli::parse_args();
    0
}
