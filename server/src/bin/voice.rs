//! `voice`: the voice agent on its own, beside one or more servers on the
//! same database (`HANDOO_VOICE_AGENT=off` on those). It reads the same
//! environment as the server (`server --help`), reaches the data through
//! the same services as the call's organisation's system principal, and
//! its live events cross to the servers' pages through PostgreSQL's event
//! bus — so a separate `voice` process needs PostgreSQL; on SQLite, keep
//! the embedded default. SIGTERM drains: no new call, live calls finish.

use server::Config;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(async {
        if std::env::args().skip(1).any(|a| a == "--help" || a == "-h") {
            print!("{}", server::env_vars::help());
            return;
        }
        if let Err(e) = serve().await {
            eprintln!("voice: {e:#}");
            std::process::exit(1);
        }
    });
}

async fn serve() -> anyhow::Result<()> {
    // This process exists to run the agent: its files are required.
    let config = Config::from_lookup(|name| match name {
        "HANDOO_VOICE_AGENT" => Some("on".to_string()),
        _ => std::env::var(name).ok(),
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    server::init_logging(&config);
    let voice =
        config.voice.clone().ok_or_else(|| anyhow::anyhow!("the voice agent's configuration is missing"))?;
    let db = services::db::connect_and_migrate(&config.database_url).await?;
    let envs = server::envs(&config, &db).await?;
    // The copilot's classifier hears the opt-outs the phrase rules miss.
    let semantic = match &config.embedding_model {
        Some(dir) => services::copilot::Semantic::shared(dir),
        None => services::copilot::Semantic::default(),
    };
    // Its own hub: a rep's call is transcribed into the session through it
    // (the session's watchers, on the web nodes, hear it on the bus).
    let copilot = services::copilot::CopilotHub::with_semantic(semantic, envs.bus.clone());
    let host = server::voice_host::spawn(server::voice_host::parts(&voice, None, db, copilot, envs)?);
    tracing::info!("voice agent running");
    server::shutdown_signal().await;
    tracing::info!("draining: no new call, waiting for live ones");
    host.drain().await;
    Ok(())
}
