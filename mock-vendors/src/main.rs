//! Runs the mock vendors on a fixed address for e2e tests and offline
//! development: `mock-vendors 127.0.0.1:3190`.

#[tokio::main]
async fn main() {
    let arg = std::env::args().nth(1);
    if matches!(arg.as_deref(), Some("--help" | "-h")) {
        println!(
            "usage: mock-vendors [ADDRESS]\n\n\
             Local stand-ins for the LLM, speech-to-text and text-to-speech vendors, speaking\n\
             their real wire formats (OpenAI, Anthropic, Gemini, Deepgram, AssemblyAI, Cartesia,\n\
             ElevenLabs), for tests, the e2e run and offline demos. Failures are chosen by API key.\n\n\
             ADDRESS   where to listen (default 127.0.0.1:3190); each vendor under /<vendor>/…,\n\
             \x20         e.g. OPENAI_BASE_URL=http://127.0.0.1:3190/openai/v1\n\n\
             Runs until Ctrl-C."
        );
        return;
    }
    let addr = arg.unwrap_or_else(|| "127.0.0.1:3190".into());
    let mock = mock_vendors::MockVendors::start_on(&addr).await;
    println!("mock vendors on http://{} (openai: {})", mock.addr, mock.base_url("openai"));
    tokio::signal::ctrl_c().await.ok();
}
