#![recursion_limit = "512"]

use server::Config;

// SSR allocates many small short-lived strings; glibc malloc spent ~15% of
// the CPU of a page view under load (perf), mimalloc a fraction of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    if std::env::args().skip(1).any(|a| a == "--help" || a == "-h") {
        print!("{}", server::env_vars::help());
        return;
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    server::init_logging(&config);
    if let Err(e) = server::run(config).await {
        eprintln!("handoo: {e:#}");
        std::process::exit(1);
    }
}
