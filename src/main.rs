fn main() -> std::process::ExitCode {
    concierge::cli::run()
}
