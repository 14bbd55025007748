//! CSRF protection, client half: every server-function call carries the
//! page's token in the `x-csrf-token` header (the server half, in `server`,
//! rejects unsafe requests without a matching token).

use leptos::server_fn::client::{browser::BrowserClient, Client};
use leptos::server_fn::error::FromServerFnError;
use leptos::server_fn::request::browser::BrowserRequest;
use leptos::server_fn::response::browser::BrowserResponse;

pub const HEADER: &str = "x-csrf-token";
pub const COOKIE: &str = "handoo_csrf";
/// Over https the cookie carries the `__Host-` prefix: browsers then only
/// accept it with `Secure`, `Path=/` and no `Domain`, so a sibling subdomain
/// (or a man-in-the-middle on plain http) cannot plant a token of its choosing.
pub const SECURE_COOKIE: &str = "__Host-handoo_csrf";

pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_COOKIE
    } else {
        COOKIE
    }
}
pub const FORM_FIELD: &str = "_csrf";

/// The token minted for this request, placed in request extensions by the
/// server's CSRF layer so the shell can render it into a `<meta>` tag.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// Reads the token from `<meta name="csrf-token">` in the browser.
pub fn page_token() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let doc = web_sys::window()?.document()?;
        let el = doc.query_selector("meta[name=csrf-token]").ok()??;
        let meta = el.dyn_into::<web_sys::HtmlMetaElement>().ok()?;
        Some(meta.content())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// `BrowserClient` plus the CSRF header.
pub struct CsrfClient;

impl<E, IS, OS> Client<E, IS, OS> for CsrfClient
where
    E: FromServerFnError + Send + 'static,
    IS: FromServerFnError + Send + 'static,
    OS: FromServerFnError + Send + 'static,
{
    type Request = BrowserRequest;
    type Response = BrowserResponse;

    fn send(req: Self::Request) -> impl std::future::Future<Output = Result<Self::Response, E>> + Send {
        if let Some(token) = page_token() {
            req.headers().set(HEADER, &token);
        }
        <BrowserClient as Client<E, IS, OS>>::send(req)
    }

    fn open_websocket(
        path: &str,
    ) -> impl std::future::Future<
        Output = Result<
            (
                impl futures::Stream<Item = Result<bytes::Bytes, bytes::Bytes>> + Send + 'static,
                impl futures::Sink<bytes::Bytes> + Send + 'static,
            ),
            E,
        >,
    > + Send {
        <BrowserClient as Client<E, IS, OS>>::open_websocket(path)
    }

    fn spawn(future: impl std::future::Future<Output = ()> + Send + 'static) {
        <BrowserClient as Client<E, IS, OS>>::spawn(future)
    }
}
