//! Browser side of file uploads (prospects CSV, do-not-call list): the file
//! goes as the raw request body (no multipart framing) with the CSRF header.

use domain::prospect::DncImportResult;
use domain::prospect_import::ImportPreview;
use domain::ErrorCode;
use uuid::Uuid;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestCredentials, RequestInit, Response};

use crate::AppError;

/// The file picked in the `<input type="file">` that fired `ev`, if any.
/// With `clear`, the input is emptied so picking the same file again fires
/// `change` again.
pub fn chosen_file(ev: &leptos::ev::Event, clear: bool) -> Option<web_sys::File> {
    let input = ev.target()?.dyn_into::<web_sys::HtmlInputElement>().ok()?;
    let file = input.files()?.get(0)?;
    if clear {
        input.set_value("");
    }
    Some(file)
}

fn js_err(_: JsValue) -> AppError {
    AppError::new(ErrorCode::Internal)
}

/// A prospects CSV: the answer is the import's preview.
pub async fn upload(org_id: Uuid, file: web_sys::File) -> Result<ImportPreview, AppError> {
    let name = js_sys::encode_uri_component(&file.name());
    post_file(&format!("/api/v1/orgs/{org_id}/prospect-imports?file_name={name}"), file).await
}

/// A do-not-call list, one number per line: the answer says what was added.
pub async fn upload_dnc(org_id: Uuid, file: web_sys::File) -> Result<DncImportResult, AppError> {
    post_file(&format!("/api/v1/orgs/{org_id}/dnc/import"), file).await
}

async fn post_file<T: serde::de::DeserializeOwned>(url: &str, file: web_sys::File) -> Result<T, AppError> {
    let window = web_sys::window().ok_or_else(|| AppError::new(ErrorCode::Internal))?;
    let headers = Headers::new().map_err(js_err)?;
    headers.set("content-type", "text/csv").map_err(js_err)?;
    if let Some(token) = crate::csrf::page_token() {
        headers.set(crate::csrf::HEADER, &token).map_err(js_err)?;
    }
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&file);
    init.set_credentials(RequestCredentials::SameOrigin);
    let request = Request::new_with_str_and_init(url, &init).map_err(js_err)?;
    let resp: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(js_err)?
        .dyn_into()
        .map_err(js_err)?;
    let text =
        JsFuture::from(resp.text().map_err(js_err)?).await.map_err(js_err)?.as_string().unwrap_or_default();
    if !resp.ok() {
        return Err(
            serde_json::from_str::<AppError>(&text).unwrap_or_else(|_| AppError::new(ErrorCode::Internal))
        );
    }
    serde_json::from_str(&text).map_err(|_| AppError::new(ErrorCode::Internal))
}
