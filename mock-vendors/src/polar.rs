//! A stand-in for Polar (polar.sh) under `/polar`: the REST calls a billing
//! integration makes — products, checkout sessions, customer portal
//! sessions, customers by external id, subscriptions, event ingestion —
//! with Polar's status codes (201 for creates), bodies the official
//! `polar-sdk` parses, and its error shapes (`{"error", "detail"}`, 422
//! `{"detail": [{loc, msg, type}]}`); and Polar's webhooks, signed the
//! Standard Webhooks way with the secret's own bytes (Polar's scheme,
//! which both SDK generations accept).
//!
//! A browser can go through a checkout: the session's `url` is a page here
//! with a Pay button; paying creates (or finds) the customer by external
//! id, starts an active subscription, sends `checkout.updated`,
//! `subscription.created` and `subscription.active`, and returns to the
//! success URL. Control routes for tests:
//! - `POST /__control/polar/webhook` `{url, secret}`: where webhooks go.
//! - `POST /__control/polar/down` `{down}`: every API call answers 503.
//! - `POST /__control/polar/subscriptions/{id}` `{status?, cancel_at_period_end?,
//!   revoke?, current_period_end?}`: changes one and sends its webhook.
//! - `POST /__control/polar/send` `{type, data, id?, timestamp?, secret?}`:
//!   sends one webhook as given (replays, old events, bad signatures).
//! - `GET /__control/polar/events`: the ingested events.

use std::collections::{HashMap, HashSet};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{json_error, Shared};

/// The mock's Polar organisation.
pub const ORGANIZATION_ID: &str = "0a0a0a0a-0000-4000-8000-000000000001";
/// The seeded plans' product ids: a free plan, Pro and Business.
pub const FREE_PRODUCT: &str = "0a0a0a0a-0000-4000-8000-0000000000f1";
pub const PRO_PRODUCT: &str = "0a0a0a0a-0000-4000-8000-0000000000f2";
pub const BUSINESS_PRODUCT: &str = "0a0a0a0a-0000-4000-8000-0000000000f3";
/// The Polar API version written in webhook envelopes.
pub const API_VERSION: &str = "2026-10";

#[derive(Debug)]
pub struct PolarState {
    pub products: Vec<Value>,
    /// By external id.
    pub customers: HashMap<String, Value>,
    pub checkouts: HashMap<String, Value>,
    pub subscriptions: HashMap<String, Value>,
    /// Every event ingested, in order.
    pub events: Vec<Value>,
    seen_external_ids: HashSet<String>,
    pub webhook_url: Option<String>,
    pub webhook_secret: String,
    /// Every API call answers 503.
    pub down: bool,
    /// The webhooks sent: `(webhook-id, type, status answered)`.
    pub sent: Vec<(String, String, Option<u16>)>,
    counter: u64,
}

impl Default for PolarState {
    fn default() -> Self {
        let at = "2026-01-01T00:00:00Z";
        let product = |id: &str, name: &str, cents: i64, limits: Value| {
            json!({
                "id": id, "created_at": at, "modified_at": null, "trial_interval": null,
                "trial_interval_count": null, "name": name, "description": format!("The {name} plan"),
                "visibility": "public", "recurring_interval": "month", "recurring_interval_count": 1,
                "meter_interval": null, "meter_interval_count": null, "is_recurring": true,
                "is_archived": false, "organization_id": ORGANIZATION_ID, "metadata": limits,
                "is_deletable": false,
                "prices": [{
                    "id": format!("{}p", &id[..id.len() - 1]), "created_at": at, "modified_at": null,
                    "source": "catalog", "amount_type": "fixed", "price_currency": "usd",
                    "tax_behavior": null, "is_archived": false, "product_id": id, "price_amount": cents,
                }],
                "benefits": [], "medias": [], "attached_custom_fields": [],
            })
        };
        let mut products = vec![
            product(
                FREE_PRODUCT,
                "Starter",
                0,
                json!({"call_minutes": 30, "llm_tokens": 200000, "stt_minutes": 30, "tts_characters": 50000}),
            ),
            product(
                PRO_PRODUCT,
                "Pro",
                4900,
                json!({"call_minutes": 1000, "llm_tokens": 5000000, "stt_minutes": 1000, "tts_characters": 1000000}),
            ),
            product(BUSINESS_PRODUCT, "Business", 19900, json!({"call_minutes": 10000})),
        ];
        // Business also charges each call minute: two cents, capped at $150.
        products[2]["prices"].as_array_mut().unwrap().push(json!({
            "id": "0a0a0a0a-0000-4000-8000-0000000000d3", "created_at": at, "modified_at": null,
            "source": "catalog", "amount_type": "metered_unit", "price_currency": "usd",
            "tax_behavior": null, "is_archived": false, "product_id": BUSINESS_PRODUCT,
            "unit_amount": "2", "cap_amount": 15000,
            "meter_id": "0a0a0a0a-0000-4000-8000-0000000000e1",
            "meter": {"id": "0a0a0a0a-0000-4000-8000-0000000000e1", "name": "call_minutes",
                      "unit": "scalar", "custom_label": null, "custom_multiplier": null},
        }));
        PolarState {
            products,
            customers: HashMap::new(),
            checkouts: HashMap::new(),
            subscriptions: HashMap::new(),
            events: Vec::new(),
            seen_external_ids: HashSet::new(),
            webhook_url: None,
            webhook_secret: "whsec_handoo_mock".into(),
            down: false,
            sent: Vec::new(),
            counter: 0,
        }
    }
}

impl PolarState {
    /// A fresh id, UUID-shaped like Polar's.
    fn id(&mut self) -> String {
        self.counter += 1;
        format!("1b1b1b1b-0000-4000-8000-{:012x}", self.counter)
    }

    fn product(&self, id: &str) -> Option<Value> {
        self.products.iter().find(|p| p["id"] == id).cloned()
    }
}

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/polar/v1/products/", get(list_products))
        .route("/polar/v1/checkouts/", post(create_checkout))
        .route("/polar/v1/checkouts/{id}", get(get_checkout))
        .route("/polar/v1/customer-sessions/", post(create_customer_session))
        .route("/polar/v1/customers/external/{external_id}", get(customer_by_external_id))
        .route("/polar/v1/subscriptions/", get(list_subscriptions))
        .route("/polar/v1/subscriptions/{id}", get(get_subscription))
        .route("/polar/v1/events/ingest", post(ingest))
        .route("/polar/checkout/{secret}", get(checkout_page))
        .route("/polar/checkout/{secret}/confirm", post(confirm_checkout))
        .route("/polar/portal", get(portal_page))
        .route("/__control/polar/webhook", post(control_webhook))
        .route("/__control/polar/down", post(control_down))
        .route("/__control/polar/subscriptions/{id}", post(control_subscription))
        .route("/__control/polar/send", post(control_send))
        .route("/__control/polar/events", get(control_events))
}

fn now() -> String {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    rfc3339(d.as_secs() as i64, d.subsec_micros())
}

/// Unix seconds as RFC 3339 in UTC (civil-from-days, no date crate here).
fn rfc3339(secs: i64, micros: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, json!({"error": "ResourceNotFound", "detail": "Not found"}), None)
}

fn invalid(loc: Value, msg: &str) -> Response {
    json_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({"error": "RequestValidationError", "detail": [{"loc": loc, "msg": msg, "type": "value_error"}]}),
        None,
    )
}

/// The bearer token, the outage switch and the record of the request.
fn guard(state: &Shared, headers: &HeaderMap, path: String, body: &Value) -> Option<Response> {
    state.record("polar", path, headers, body);
    if state.polar.lock().unwrap().down {
        return Some(json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "ServiceUnavailable", "detail": "Polar is down (mock)"}),
            None,
        ));
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if token.is_empty() || token == "bad-key" {
        return Some(json_error(
            StatusCode::UNAUTHORIZED,
            json!({"error": "Unauthorized", "detail": "Unauthorized"}),
            None,
        ));
    }
    None
}

/// `http://<host>/polar`, as the caller reached us.
fn base(headers: &HeaderMap) -> String {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    format!("http://{host}/polar")
}

#[derive(Deserialize)]
struct Page {
    page: Option<u64>,
    limit: Option<u64>,
    is_archived: Option<bool>,
    external_customer_id: Option<String>,
    customer_id: Option<String>,
}

fn paginate(items: Vec<Value>, q: &Page) -> Value {
    let limit = q.limit.unwrap_or(10).clamp(1, 100);
    let page = q.page.unwrap_or(1).max(1);
    let total = items.len() as u64;
    let shown: Vec<Value> =
        items.into_iter().skip(((page - 1) * limit) as usize).take(limit as usize).collect();
    json!({"items": shown, "pagination": {"total_count": total, "max_page": total.div_ceil(limit)}})
}

async fn list_products(State(state): State<Shared>, headers: HeaderMap, Query(q): Query<Page>) -> Response {
    if let Some(r) = guard(&state, &headers, "/v1/products/".into(), &Value::Null) {
        return r;
    }
    let p = state.polar.lock().unwrap();
    let items: Vec<Value> =
        p.products.iter().filter(|x| q.is_archived.is_none_or(|a| x["is_archived"] == a)).cloned().collect();
    Json(paginate(items, &q)).into_response()
}

/// A product as a checkout lists it.
fn checkout_product(p: &Value) -> Value {
    let mut c = p.clone();
    if let Some(o) = c.as_object_mut() {
        for k in ["metadata", "is_deletable", "attached_custom_fields"] {
            o.remove(k);
        }
    }
    c
}

async fn create_checkout(
    State(state): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = guard(&state, &headers, "/v1/checkouts/".into(), &body) {
        return r;
    }
    let Some(ids) = body["products"].as_array().filter(|a| !a.is_empty()) else {
        return invalid(json!(["body", "products"]), "Field required");
    };
    let mut p = state.polar.lock().unwrap();
    let Some(product) = ids[0].as_str().and_then(|id| p.product(id)) else {
        return invalid(json!(["body", "products", 0]), "Product does not exist.");
    };
    let id = p.id();
    let secret = format!("polar_c_{}", id.replace('-', ""));
    let price = product["prices"][0].clone();
    let amount = price["price_amount"].as_i64().unwrap_or(0);
    let external = body["external_customer_id"].as_str().or(body["customer_external_id"].as_str());
    let at = now();
    let checkout = json!({
        "id": id, "created_at": at, "modified_at": null, "payment_processor": "stripe", "status": "open",
        "client_secret": secret, "url": format!("{}/checkout/{secret}", base(&headers)),
        "expires_at": rfc3339(unix_now() + 86_400, 0),
        "success_url": body["success_url"].as_str().unwrap_or("https://polar.sh/"),
        "return_url": body["return_url"], "embed_origin": null, "amount": amount, "units": null,
        "min_units": null, "max_units": null, "discount_amount": 0, "net_amount": amount, "tax_amount": null,
        "tax_behavior": null, "total_amount": amount, "currency": "usd", "allow_trial": null,
        "active_trial_interval": null, "active_trial_interval_count": null, "trial_end": null,
        "organization_id": ORGANIZATION_ID, "product_id": product["id"], "product_price_id": price["id"],
        "discount_id": null, "allow_discount_codes": true, "require_billing_address": false,
        "is_discount_applicable": true, "is_free_product_price": amount == 0, "is_payment_required": amount > 0,
        "is_payment_setup_required": amount > 0, "is_payment_form_required": amount > 0, "customer_id": null,
        "is_business_customer": false, "customer_name": null, "customer_email": null,
        "customer_ip_address": null, "customer_billing_name": null, "customer_billing_address": null,
        "customer_tax_id": null, "payment_method_type": null, "payment_processor_metadata": {},
        "billing_address_fields": {"country": "optional", "state": "optional", "city": "optional",
            "postal_code": "optional", "line1": "optional", "line2": "optional"},
        "trial_interval": null, "trial_interval_count": null,
        "metadata": body.get("metadata").cloned().unwrap_or_else(|| json!({})),
        "external_customer_id": external, "customer_external_id": external,
        "products": [checkout_product(&product)], "product": checkout_product(&product), "product_price": price,
        "prices": null, "discount": null, "subscription_id": null, "attached_custom_fields": null,
        "customer_metadata": body.get("customer_metadata").cloned().unwrap_or_else(|| json!({})),
    });
    p.checkouts.insert(id, checkout.clone());
    (StatusCode::CREATED, Json(checkout)).into_response()
}

async fn get_checkout(State(state): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(r) = guard(&state, &headers, format!("/v1/checkouts/{id}"), &Value::Null) {
        return r;
    }
    match state.polar.lock().unwrap().checkouts.get(&id) {
        Some(c) => Json(c.clone()).into_response(),
        None => not_found(),
    }
}

fn customer(id: &str, external_id: &str, email: &str) -> Value {
    json!({
        "id": id, "created_at": now(), "modified_at": null, "metadata": {}, "external_id": external_id,
        "email": email, "email_verified": false, "type": "individual", "name": null, "billing_name": null,
        "billing_address": null, "tax_id": null, "organization_id": ORGANIZATION_ID, "deleted_at": null,
        "first_user_event_at": null, "avatar_url": null,
    })
}

async fn create_customer_session(
    State(state): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = guard(&state, &headers, "/v1/customer-sessions/".into(), &body) {
        return r;
    }
    let mut p = state.polar.lock().unwrap();
    let found = match (body["external_customer_id"].as_str(), body["customer_id"].as_str()) {
        (Some(ext), _) => p.customers.get(ext).cloned(),
        (None, Some(id)) => p.customers.values().find(|c| c["id"] == id).cloned(),
        _ => None,
    };
    let Some(c) = found else {
        return invalid(json!(["body", "external_customer_id"]), "Customer does not exist.");
    };
    let id = p.id();
    let token = format!("polar_cst_{}", id.replace('-', ""));
    let session = json!({
        "id": id, "created_at": now(), "modified_at": null, "token": token,
        "expires_at": rfc3339(unix_now() + 3600, 0), "return_url": body["return_url"],
        "customer_portal_url": format!("{}/portal?customer_session_token={token}", base(&headers)),
        "customer_id": c["id"], "customer": c,
    });
    (StatusCode::CREATED, Json(session)).into_response()
}

async fn customer_by_external_id(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(ext): Path<String>,
) -> Response {
    if let Some(r) = guard(&state, &headers, format!("/v1/customers/external/{ext}"), &Value::Null) {
        return r;
    }
    match state.polar.lock().unwrap().customers.get(&ext) {
        Some(c) => Json(c.clone()).into_response(),
        None => not_found(),
    }
}

async fn list_subscriptions(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<Page>,
) -> Response {
    if let Some(r) = guard(&state, &headers, "/v1/subscriptions/".into(), &Value::Null) {
        return r;
    }
    let p = state.polar.lock().unwrap();
    let mut items: Vec<Value> = p
        .subscriptions
        .values()
        .filter(|s| q.external_customer_id.as_deref().is_none_or(|e| s["customer"]["external_id"] == e))
        .filter(|s| q.customer_id.as_deref().is_none_or(|c| s["customer_id"] == c))
        .cloned()
        .collect();
    items.sort_by(|a, b| b["started_at"].as_str().cmp(&a["started_at"].as_str()));
    Json(paginate(items, &q)).into_response()
}

async fn get_subscription(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = guard(&state, &headers, format!("/v1/subscriptions/{id}"), &Value::Null) {
        return r;
    }
    match state.polar.lock().unwrap().subscriptions.get(&id) {
        Some(s) => Json(s.clone()).into_response(),
        None => not_found(),
    }
}

/// Checks events the way Polar does: all or nothing, `loc` naming the
/// event and field.
fn check_event(i: usize, e: &Value, now: i64) -> Result<(), Box<Response>> {
    let at = |f: &str| json!(["body", "events", i, f]);
    if !e["name"].as_str().is_some_and(|n| !n.is_empty() && n.len() <= 128) {
        return Err(Box::new(invalid(at("name"), "Field required")));
    }
    if e["external_customer_id"].as_str().is_none() && e["customer_id"].as_str().is_none() {
        return Err(Box::new(invalid(at("external_customer_id"), "Field required")));
    }
    if let Some(ts) = e.get("timestamp").and_then(Value::as_str) {
        match parse_rfc3339(ts) {
            Some(t) if t <= now + 5 => {}
            Some(_) => return Err(Box::new(invalid(at("timestamp"), "Timestamp must be in the past."))),
            None => return Err(Box::new(invalid(at("timestamp"), "Input should be a valid datetime"))),
        }
    }
    if let Some(meta) = e.get("metadata").and_then(Value::as_object) {
        if meta.len() > 50 || meta.values().any(|v| !(v.is_string() || v.is_number() || v.is_boolean())) {
            return Err(Box::new(invalid(at("metadata"), "Invalid metadata")));
        }
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` → Unix seconds.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (clock, offset) = if let Some(c) = time.strip_suffix('Z') {
        (c, 0)
    } else {
        let i = time.rfind(['+', '-'])?;
        let (c, o) = time.split_at(i);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let (oh, om) = o[1..].split_once(':')?;
        (c, sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60))
    };
    let mut c = clock.split(':');
    let (hh, mm) = (c.next()?.parse::<i64>().ok()?, c.next()?.parse::<i64>().ok()?);
    let ss = c.next()?.split('.').next()?.parse::<i64>().ok()?;
    let (yy, mo) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss - offset)
}

async fn ingest(State(state): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if let Some(r) = guard(&state, &headers, "/v1/events/ingest".into(), &body) {
        return r;
    }
    let Some(events) = body["events"].as_array() else {
        return invalid(json!(["body", "events"]), "Field required");
    };
    let now = unix_now();
    for (i, e) in events.iter().enumerate() {
        if let Err(r) = check_event(i, e, now) {
            return *r;
        }
    }
    let mut p = state.polar.lock().unwrap();
    let (mut inserted, mut duplicates) = (0, 0);
    for e in events {
        if let Some(ext) = e["external_id"].as_str() {
            if !p.seen_external_ids.insert(ext.to_string()) {
                duplicates += 1;
                continue;
            }
        }
        p.events.push(e.clone());
        inserted += 1;
    }
    Json(json!({"inserted": inserted, "duplicates": duplicates})).into_response()
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=utf-8><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;max-width:32rem;margin:3rem auto\"><h1>{title}</h1>{body}</body></html>"
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

async fn checkout_page(State(state): State<Shared>, Path(secret): Path<String>) -> Response {
    let p = state.polar.lock().unwrap();
    let Some(c) = p.checkouts.values().find(|c| c["client_secret"] == secret.as_str()) else {
        return (StatusCode::NOT_FOUND, page("Checkout not found", "")).into_response();
    };
    let name = escape(c["product"]["name"].as_str().unwrap_or_default());
    let amount = c["amount"].as_i64().unwrap_or(0);
    page(
        "Polar checkout (mock)",
        &format!(
            "<p data-testid=polar-product>{name}</p><p>${}.{:02} / month</p>\
             <form method=post action=\"/polar/checkout/{secret}/confirm\"><button data-testid=polar-pay>Pay</button></form>",
            amount / 100,
            amount % 100
        ),
    )
    .into_response()
}

/// The subscription a paid checkout starts.
fn new_subscription(p: &mut PolarState, checkout: &Value, customer: &Value) -> Value {
    let id = p.id();
    let start = unix_now();
    let product = p.product(checkout["product_id"].as_str().unwrap_or_default()).unwrap_or(Value::Null);
    json!({
        "id": id, "created_at": rfc3339(start, 0), "modified_at": now(),
        "amount": checkout["amount"], "currency": "usd", "recurring_interval": "month",
        "recurring_interval_count": 1, "status": "active", "current_period_start": rfc3339(start, 0),
        "current_period_end": rfc3339(start + 30 * 86_400, 0), "current_meter_period_start": null,
        "current_meter_period_end": null, "trial_start": null, "trial_end": null,
        "cancel_at_period_end": false, "canceled_at": null, "started_at": rfc3339(start, 0), "ends_at": null,
        "ended_at": null, "pause_at_period_end": false, "paused_at": null, "resumes_at": null,
        "customer_id": customer["id"], "product_id": checkout["product_id"], "discount_id": null,
        "checkout_id": checkout["id"], "units": null, "customer_cancellation_reason": null,
        "customer_cancellation_comment": null, "metadata": checkout["metadata"], "customer": customer,
        "product": product, "discount": null, "prices": [checkout["product_price"]], "meters": [],
        "pending_update": null,
    })
}

async fn confirm_checkout(State(state): State<Shared>, Path(secret): Path<String>) -> Response {
    let (success, events) = {
        let mut p = state.polar.lock().unwrap();
        let Some(key) =
            p.checkouts.iter().find(|(_, c)| c["client_secret"] == secret.as_str()).map(|(k, _)| k.clone())
        else {
            return (StatusCode::NOT_FOUND, page("Checkout not found", "")).into_response();
        };
        let mut checkout = p.checkouts[&key].clone();
        if checkout["status"] != "open" {
            return (StatusCode::CONFLICT, page("Checkout already paid", "")).into_response();
        }
        let external = checkout["external_customer_id"].as_str().unwrap_or_default().to_string();
        let customer = match p.customers.get(&external) {
            Some(c) => c.clone(),
            None => {
                let id = p.id();
                let c = customer(&id, &external, &format!("billing+{}@example.com", &id[24..]));
                p.customers.insert(external.clone(), c.clone());
                c
            }
        };
        checkout["status"] = json!("succeeded");
        checkout["customer_id"] = customer["id"].clone();
        checkout["modified_at"] = json!(now());
        let sub = new_subscription(&mut p, &checkout, &customer);
        checkout["subscription_id"] = sub["id"].clone();
        p.checkouts.insert(key, checkout.clone());
        p.subscriptions.insert(sub["id"].as_str().unwrap_or_default().to_string(), sub.clone());
        let success = checkout["success_url"]
            .as_str()
            .unwrap_or("/")
            .replace("{CHECKOUT_ID}", checkout["id"].as_str().unwrap_or(""));
        let events = vec![
            ("checkout.updated", checkout),
            ("subscription.created", sub.clone()),
            ("subscription.active", sub),
        ];
        (success, events)
    };
    for (kind, data) in events {
        send(&state, kind, data, None, None, None).await;
    }
    Redirect::to(&success).into_response()
}

#[derive(Deserialize)]
struct PortalQuery {
    customer_session_token: Option<String>,
}

async fn portal_page(Query(q): Query<PortalQuery>) -> Response {
    let token = escape(q.customer_session_token.as_deref().unwrap_or_default());
    page("Polar customer portal (mock)", &format!("<p data-testid=polar-portal>Session {token}</p>"))
        .into_response()
}

/// HMAC-SHA256 (RFC 2104) over SHA-256, written out: the mock signs on its
/// own, without the server's code, so a test that passes shows both agree.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new().chain_update(&ipad).chain_update(msg).finalize();
    Sha256::new().chain_update(&opad).chain_update(inner).finalize().into()
}

/// `v1,<base64>` for `body` sent as `id` at `ts` with the secret's bytes.
pub fn signature(secret: &str, id: &str, ts: i64, body: &str) -> String {
    let mac = hmac_sha256(secret.as_bytes(), format!("{id}.{ts}.{body}").as_bytes());
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac))
}

/// Sends one webhook (when a URL is set): the envelope, signed. `id`,
/// `timestamp` and `secret` override the usual ones (tests of refusals).
async fn send(
    state: &Shared,
    kind: &str,
    data: Value,
    id: Option<String>,
    timestamp: Option<i64>,
    secret: Option<String>,
) -> Option<u16> {
    let (url, default_secret, wid) = {
        let mut p = state.polar.lock().unwrap();
        let wid = id.unwrap_or_else(|| format!("msg_{}", p.id().replace('-', "")));
        (p.webhook_url.clone(), p.webhook_secret.clone(), wid)
    };
    let url = url?;
    let ts = timestamp.unwrap_or_else(unix_now);
    let body =
        json!({"type": kind, "timestamp": now(), "api_version": API_VERSION, "data": data}).to_string();
    let sig = signature(secret.as_deref().unwrap_or(&default_secret), &wid, ts, &body);
    let ts_text = ts.to_string();
    let headers = [
        ("Content-Type", "application/json"),
        ("User-Agent", "polar.sh webhooks"),
        ("webhook-id", wid.as_str()),
        ("webhook-timestamp", ts_text.as_str()),
        ("webhook-signature", sig.as_str()),
    ];
    let status =
        crate::livekit::http_request("POST", &url, &headers, body.as_bytes()).await.ok().map(|s| s.as_u16());
    state.polar.lock().unwrap().sent.push((wid, kind.to_string(), status));
    status
}

#[derive(Deserialize)]
struct WebhookTarget {
    url: Option<String>,
    secret: Option<String>,
}

async fn control_webhook(State(state): State<Shared>, Json(t): Json<WebhookTarget>) -> StatusCode {
    let mut p = state.polar.lock().unwrap();
    p.webhook_url = t.url;
    if let Some(s) = t.secret {
        p.webhook_secret = s;
    }
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Down {
    down: bool,
}

async fn control_down(State(state): State<Shared>, Json(d): Json<Down>) -> StatusCode {
    state.polar.lock().unwrap().down = d.down;
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct SubscriptionChange {
    status: Option<String>,
    cancel_at_period_end: Option<bool>,
    #[serde(default)]
    revoke: bool,
    current_period_end: Option<String>,
}

/// Changes a subscription and sends the webhook Polar would.
async fn control_subscription(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Json(c): Json<SubscriptionChange>,
) -> Response {
    let (kind, sub) = {
        let mut p = state.polar.lock().unwrap();
        let Some(sub) = p.subscriptions.get_mut(&id) else { return not_found() };
        let mut kind = "subscription.updated";
        if let Some(end) = c.current_period_end {
            sub["current_period_end"] = json!(end);
        }
        if let Some(cancel) = c.cancel_at_period_end {
            sub["cancel_at_period_end"] = json!(cancel);
            sub["ends_at"] = if cancel { sub["current_period_end"].clone() } else { Value::Null };
            kind = if cancel { "subscription.canceled" } else { "subscription.uncanceled" };
        }
        if let Some(s) = c.status {
            if s == "past_due" {
                kind = "subscription.past_due";
            }
            sub["status"] = json!(s);
        }
        if c.revoke {
            sub["status"] = json!("canceled");
            sub["ended_at"] = json!(now());
            sub["canceled_at"] = json!(now());
            kind = "subscription.revoked";
        }
        sub["modified_at"] = json!(now());
        (kind, sub.clone())
    };
    let status = send(&state, kind, sub.clone(), None, None, None).await;
    Json(json!({"subscription": sub, "webhook_status": status})).into_response()
}

#[derive(Deserialize)]
struct RawWebhook {
    #[serde(rename = "type")]
    kind: String,
    data: Value,
    id: Option<String>,
    timestamp: Option<i64>,
    secret: Option<String>,
}

async fn control_send(State(state): State<Shared>, Json(w): Json<RawWebhook>) -> Response {
    let status = send(&state, &w.kind, w.data, w.id, w.timestamp, w.secret).await;
    Json(json!({"status": status})).into_response()
}

async fn control_events(State(state): State<Shared>) -> Response {
    Json(json!({"events": state.polar.lock().unwrap().events.clone()})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_go_both_ways() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(1_765_102_335, 5), "2025-12-07T10:12:15.000005Z");
        assert_eq!(parse_rfc3339("2025-12-07T10:12:15.000005Z"), Some(1_765_102_335));
        assert_eq!(parse_rfc3339("2025-12-07T11:12:15+01:00"), Some(1_765_102_335));
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_the_standard_content() {
        // RFC 4231 test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert!(signature("whsec_x", "msg_1", 1, "{}").starts_with("v1,"));
    }
}
