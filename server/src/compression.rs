//! On-the-fly compression of what the server renders (pages, JSON, CSV).
//!
//! The build's assets are compressed once, at build time (`cargo leptos
//! build --precompress` writes `.br` and `.gz` beside each file and the
//! static handler serves them); they arrive here with a `Content-Encoding`
//! and pass through untouched. Event streams are left alone: a compressor
//! holds bytes back until it has enough, which would delay every event.

use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// Brotli and gzip at level 4: on a 12 KB page brotli 4 is within a few
/// per cent of brotli 11's size at a small fraction of its CPU, which is
/// what a response rendered per request can afford (the 11 is kept for the
/// precompressed assets, where it is paid once).
pub const LEVEL: i32 = 4;

pub fn layer() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .br(true)
        .gzip(true)
        .no_deflate()
        .no_zstd()
        .quality(CompressionLevel::Precise(LEVEL))
        .compress_when(predicate())
}

/// Which responses are worth compressing.
pub fn predicate() -> impl Predicate {
    // Below a few hundred bytes the frame overhead eats the gain. A
    // streamed body has no known size and is compressed.
    SizeAbove::new(256)
        .and(NotForContentType::SSE)
        .and(NotForContentType::GRPC)
        // Already compressed formats: a second pass only costs CPU.
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::const_new("audio/"))
        .and(NotForContentType::const_new("video/"))
        .and(NotForContentType::const_new("application/zip"))
        .and(NotForContentType::const_new("application/gzip"))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{header, Response};

    use super::*;

    fn wants(content_type: &str, body: &'static str) -> bool {
        let res =
            Response::builder().header(header::CONTENT_TYPE, content_type).body(Body::from(body)).unwrap();
        predicate().should_compress(&res)
    }

    #[test]
    fn pages_and_json_are_compressed_streams_and_media_are_not() {
        let big: &'static str = Box::leak("x".repeat(4096).into_boxed_str());
        assert!(wants("text/html; charset=utf-8", big));
        assert!(wants("application/json", big));
        assert!(wants("text/csv", big));
        // An event held back by the compressor arrives late.
        assert!(!wants("text/event-stream", big));
        assert!(!wants("audio/ogg", big));
        assert!(!wants("image/png", big));
        assert!(!wants("application/zip", big));
        // Too small to gain anything.
        assert!(!wants("application/json", "{\"ok\":true}"));
    }
}
