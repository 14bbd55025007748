#![recursion_limit = "512"]

use server::Config;

// SSR allocates many small short-lived strings; glibc malloc spent ~15% of
// the CPU of a page view under load (perf), mimalloc a fraction of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Worker threads' stack. Rendering a page recurses through every nested
/// view; without optimisation (the test build's server, which the e2e
/// suite runs) the frames are several times larger than in release, and
/// tokio's default 2 MiB overflowed on the deepest pages.
const WORKER_STACK_BYTES: usize = 16 << 20;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK_BYTES)
        .build()
        .expect("tokio runtime");
    runtime.block_on(serve());
}

async fn serve() {
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
