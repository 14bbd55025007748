//! Runs the mock vendors on a fixed address for e2e tests and offline
//! development: `mock-vendors 127.0.0.1:3190`.

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3190".into());
    let mock = mock_vendors::MockVendors::start_on(&addr).await;
    println!("mock vendors on http://{} (openai: {})", mock.addr, mock.base_url("openai"));
    tokio::signal::ctrl_c().await.ok();
}
