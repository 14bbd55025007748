//! What leaves the server is compressed and cacheable the way a browser
//! needs: pages and JSON compressed on the fly when the client accepts it,
//! built assets served from their precompressed `.br`/`.gz` files, hashed
//! assets cached for a year, everything private never cached.

use std::io::Read;

use serde_json::Value;

use crate::common::{Backend, TestApp};

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli_decompressor::Decompressor::new(bytes, 4096).read_to_end(&mut out).unwrap();
    out
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

async fn fetch(url: &str, accept: Option<&str>) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let c = reqwest::Client::new();
    let mut req = c.get(url);
    if let Some(a) = accept {
        req = req.header("accept-encoding", a);
    }
    let res = req.send().await.unwrap();
    let h = res.headers().clone();
    (h, res.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_json_are_compressed_for_clients_that_accept_it() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else { return };
    let page = format!("{}/login", app.base);
    let (plain_h, plain) = fetch(&page, None).await;
    assert!(plain_h.get("content-encoding").is_none());
    let html = String::from_utf8(plain).unwrap();
    assert!(html.contains("csrf-token"));

    let (h, body) = fetch(&page, Some("gzip, deflate, br")).await;
    assert_eq!(h["content-encoding"], "br");
    assert!(h["vary"].to_str().unwrap().to_ascii_lowercase().contains("accept-encoding"));
    let decoded = String::from_utf8(brotli(&body)).unwrap();
    assert!(decoded.contains("csrf-token"), "the page survives the round trip");
    assert!(body.len() * 2 < decoded.len(), "{} compressed vs {} plain", body.len(), decoded.len());
    // The header layer still found the page's nonce in the (uncompressed) first chunk.
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("'nonce-"), "{csp}");
    assert_eq!(h["cache-control"], "no-store");

    let (h, body) = fetch(&page, Some("gzip")).await;
    assert_eq!(h["content-encoding"], "gzip");
    assert!(String::from_utf8(gunzip(&body)).unwrap().contains("csrf-token"));

    // JSON from the REST API (an error answer is JSON like any other).
    let (h, body) = fetch(&format!("{}/api/v1/openapi-does-not-exist", app.base), Some("br")).await;
    if h.get("content-encoding").is_some() {
        assert_eq!(h["content-encoding"], "br");
        serde_json::from_slice::<Value>(&brotli(&body)).unwrap();
    } else {
        // Short answers are not worth compressing.
        assert!(body.len() < 256, "{}", body.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_assets_are_precompressed_and_hashed_ones_cached_for_a_year() {
    let site = std::env::temp_dir().join(format!("handoo-site-{}", uuid::Uuid::now_v7()));
    let pkg = site.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let js = "console.log('handoo');".repeat(200);
    std::fs::write(pkg.join("handoo.AbC123.js"), &js).unwrap();
    // Distinct bodies, so the test sees which file was sent.
    std::fs::write(pkg.join("handoo.AbC123.js.br"), b"brotli-bytes").unwrap();
    std::fs::write(pkg.join("handoo.AbC123.js.gz"), b"gzip-bytes").unwrap();
    std::fs::write(site.join("pcm-capture.js"), &js).unwrap();
    // What cargo-leptos writes beside the binary (an absolute name is
    // taken as is).
    let hash_file = site.join("hash.txt");
    std::fs::write(&hash_file, "js: AbC123\nwasm: AbC123\ncss: AbC123\n").unwrap();
    let root = site.to_str().unwrap().to_string();
    let Some(app) = TestApp::spawn_with_site(Backend::Sqlite, &[], |mut o| {
        o.site_root = root.into();
        o.hash_files = true;
        o.hash_file = hash_file.to_str().unwrap().into();
        o
    })
    .await
    else {
        return;
    };
    let asset = format!("{}/pkg/handoo.AbC123.js", app.base);
    let (h, body) = fetch(&asset, Some("gzip, br")).await;
    assert_eq!(h["content-encoding"], "br");
    assert_eq!(body, b"brotli-bytes");
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    let (h, body) = fetch(&asset, Some("gzip")).await;
    assert_eq!((h["content-encoding"].to_str().unwrap(), body.as_slice()), ("gzip", &b"gzip-bytes"[..]));
    let (h, body) = fetch(&asset, None).await;
    assert!(h.get("content-encoding").is_none());
    assert_eq!(body, js.as_bytes());

    // A file whose name stays across builds: cached, but checked each time.
    let (h, _) = fetch(&format!("{}/pcm-capture.js", app.base), Some("br")).await;
    assert_eq!(h["cache-control"], "public, no-cache");
    // Compressed on the fly (no .br beside it), like a page.
    assert_eq!(h["content-encoding"], "br");
    // A missing asset may exist after the next deploy: never cached.
    let res = reqwest::get(format!("{}/pkg/handoo.Missing.js", app.base)).await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let _ = std::fs::remove_dir_all(site);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_export_arrives_whole_when_compressed() {
    // The export is a stream; the compressor polls it once past its end,
    // which used to panic the handler's stream and cut the download.
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else { return };
    let c = app.client().await;
    c.sign_up("Ada", "ada@example.com", crate::common::GOOD_PASSWORD).await.unwrap();
    let org = c.create_org("Acme").await;
    let (s, _) = c
        .rest(
            reqwest::Method::POST,
            &format!("/orgs/{org}/prospects"),
            Some(serde_json::json!({"first_name": "Grace", "last_name": "Hopper", "phone": "+33612345678"})),
        )
        .await;
    assert_eq!(s, 201);
    for query in ["", "?dnc=true"] {
        let res = c
            .http
            .get(format!("{}/api/v1/orgs/{org}/prospects/export.csv{query}", app.base))
            .header("accept-encoding", "br")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-encoding"], "br");
        let body = res.bytes().await.expect("the whole body arrives");
        let csv = String::from_utf8(brotli(&body)).unwrap();
        assert!(csv.starts_with("id,first_name"), "{csv}");
        assert_eq!(csv.contains("Grace"), query.is_empty(), "{csv}");
    }
}
