#![recursion_limit = "512"]

use server::Config;

// SSR allocates many small short-lived strings; glibc malloc spent ~15% of
// the CPU of a page view under load (perf), mimalloc a fraction of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_sessions=warn".into()),
        )
        .init();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = server::run(config).await {
        eprintln!("handoo: {e:#}");
        std::process::exit(1);
    }
}
