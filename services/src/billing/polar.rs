//! Polar's REST API, the calls billing makes: recurring products (the
//! plans), checkout sessions, customer portal sessions, an organisation's
//! subscriptions, and usage event ingestion. The base URL is config
//! (`https://api.polar.sh` in production, a local mock in tests); the
//! access token is the operator's and is never logged. What Polar says in
//! an error body is logged, never shown to a tenant.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::billing::{Money, Plan, PlanLimits, UnitPrice};
use domain::ErrorCode;
use serde_json::{json, Value};

use crate::ServiceError;

/// How the operator reaches Polar.
#[derive(Clone)]
pub struct PolarConfig {
    /// `https://api.polar.sh` (or the sandbox, or a mock).
    pub base_url: String,
    pub access_token: String,
    /// The webhook endpoint's secret (`whsec_…`).
    pub webhook_secret: String,
    /// Narrows product lists to one Polar organisation (optional with an
    /// organisation token).
    pub organization_id: Option<String>,
}

impl std::fmt::Debug for PolarConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolarConfig")
            .field("base_url", &self.base_url)
            .field("organization_id", &self.organization_id)
            .finish_non_exhaustive()
    }
}

/// Polar could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolarError {
    #[error("Polar is unreachable or failing ({0})")]
    Unavailable(String),
    #[error("Polar refused the access token")]
    Auth,
    #[error("Polar refused the request ({0})")]
    Refused(u16),
    #[error("Polar's answer does not have the expected shape")]
    Malformed,
}

impl From<PolarError> for ServiceError {
    fn from(e: PolarError) -> Self {
        let code = match e {
            PolarError::Unavailable(_) => ErrorCode::ProviderUnavailable,
            PolarError::Auth => ErrorCode::ProviderAuth,
            PolarError::Refused(_) => ErrorCode::ProviderBadRequest,
            PolarError::Malformed => ErrorCode::ProviderMalformed,
        };
        ServiceError::new(code).with_detail("polar")
    }
}

/// A subscription as Polar describes it, reduced to what is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct PolarSubscription {
    pub id: String,
    /// Polar's status (`active`, `trialing`, `past_due`, `canceled`, …).
    pub status: String,
    /// The organisation it is for: the customer's external id, else the
    /// checkout metadata's `org_id`.
    pub org_hint: Option<String>,
    pub product_id: String,
    pub product_name: String,
    pub price: Money,
    pub interval: String,
    pub current_period_start: Option<DateTime<Utc>>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub ended_at: Option<DateTime<Utc>>,
    /// `modified_at`, else `created_at`.
    pub modified_at: DateTime<Utc>,
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.with_timezone(&Utc))
}

/// Reads a Polar `Subscription` object (a webhook's `data`, an API answer).
pub fn parse_subscription(v: &Value) -> Option<PolarSubscription> {
    let customer_external = v["customer"]["external_id"].as_str().filter(|s| !s.is_empty());
    let from_metadata = v["metadata"]["org_id"].as_str();
    Some(PolarSubscription {
        id: v["id"].as_str()?.to_string(),
        status: v["status"].as_str()?.to_string(),
        org_hint: customer_external.or(from_metadata).map(str::to_string),
        product_id: v["product_id"].as_str().or(v["product"]["id"].as_str())?.to_string(),
        product_name: v["product"]["name"].as_str().unwrap_or_default().to_string(),
        price: Money::new(v["amount"].as_i64().unwrap_or(0), v["currency"].as_str().unwrap_or("usd")).ok()?,
        interval: v["recurring_interval"].as_str().unwrap_or("month").to_string(),
        current_period_start: time(&v["current_period_start"]),
        current_period_end: time(&v["current_period_end"]),
        cancel_at_period_end: v["cancel_at_period_end"].as_bool().unwrap_or(false),
        ended_at: time(&v["ended_at"]),
        modified_at: time(&v["modified_at"]).or_else(|| time(&v["created_at"]))?,
    })
}

/// A recurring product as a plan: its first fixed price, its metered
/// prices on meters named after what we meter (`call_minutes`…), its
/// limits from its metadata.
pub fn parse_product(v: &Value) -> Option<Plan> {
    let prices = v["prices"].as_array()?;
    let fixed = prices.iter().find(|p| p["amount_type"] == "fixed" && p["is_archived"] != true);
    let price = match fixed {
        Some(p) => Some(
            Money::new(p["price_amount"].as_i64()?, p["price_currency"].as_str().unwrap_or("usd")).ok()?,
        ),
        None => None,
    };
    Some(Plan {
        id: v["id"].as_str()?.to_string(),
        name: v["name"].as_str()?.to_string(),
        description: v["description"].as_str().unwrap_or_default().to_string(),
        price,
        interval: v["recurring_interval"].as_str().map(str::to_string),
        limits: PlanLimits::from_metadata(&v["metadata"]),
        unit_prices: prices
            .iter()
            .filter(|p| p["amount_type"] == "metered_unit" && p["is_archived"] != true)
            .filter_map(|p| {
                UnitPrice::new(
                    p["meter"]["name"].as_str()?,
                    p["unit_amount"].as_str()?,
                    p["price_currency"].as_str().unwrap_or("usd"),
                    p["cap_amount"].as_i64(),
                )
            })
            .collect(),
    })
}

#[derive(Clone)]
pub struct Polar {
    config: PolarConfig,
    http: reqwest::Client,
}

impl std::fmt::Debug for Polar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Polar").field("config", &self.config).finish_non_exhaustive()
    }
}

/// The longest any one Polar call may take.
const TIMEOUT: Duration = Duration::from_secs(15);

impl Polar {
    pub fn new(config: PolarConfig) -> Polar {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(TIMEOUT)
            // A redirect would replay the token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client");
        Polar { config, http }
    }

    pub fn config(&self) -> &PolarConfig {
        &self.config
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> Result<Value, PolarError> {
        let res = req
            .bearer_auth(&self.config.access_token)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(what, error = %e, "Polar unreachable");
                PolarError::Unavailable(if e.is_timeout() { "timeout".into() } else { "connect".into() })
            })?;
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        if status.is_success() {
            return serde_json::from_str(&body).map_err(|_| {
                tracing::warn!(what, "Polar answered with something that is not JSON");
                PolarError::Malformed
            });
        }
        // Logged for the operator; the tenant gets the code only.
        tracing::warn!(what, status = status.as_u16(), body = %body.chars().take(500).collect::<String>(), "Polar refused");
        Err(match status.as_u16() {
            401 | 403 => PolarError::Auth,
            429 => PolarError::Unavailable("rate_limited".into()),
            s if s >= 500 => PolarError::Unavailable(s.to_string()),
            s => PolarError::Refused(s),
        })
    }

    /// Every recurring, unarchived product (all pages).
    pub async fn plans(&self) -> Result<Vec<Plan>, PolarError> {
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let mut q: Vec<(&str, String)> = vec![
                ("is_archived", "false".into()),
                ("is_recurring", "true".into()),
                ("limit", "100".into()),
                ("page", page.to_string()),
            ];
            if let Some(o) = &self.config.organization_id {
                q.push(("organization_id", o.clone()));
            }
            let url = reqwest::Url::parse_with_params(&self.url("/v1/products/"), &q)
                .map_err(|_| PolarError::Malformed)?;
            let v = self.send(self.http.get(url), "products").await?;
            for p in v["items"].as_array().ok_or(PolarError::Malformed)? {
                match parse_product(p) {
                    Some(plan) => out.push(plan),
                    None => {
                        tracing::warn!(product = %p["id"], "a Polar product was left out: unexpected shape")
                    }
                }
            }
            let max = v["pagination"]["max_page"].as_u64().unwrap_or(1);
            if page >= max || page >= 20 {
                return Ok(out);
            }
            page += 1;
        }
    }

    /// A checkout for `product_id` by the organisation `org_id` (Polar's
    /// external customer id): the page to send the buyer to.
    pub async fn checkout(
        &self,
        product_id: &str,
        org_id: &str,
        success_url: &str,
        return_url: &str,
    ) -> Result<String, PolarError> {
        let body = json!({
            "products": [product_id],
            "external_customer_id": org_id,
            "success_url": success_url,
            "return_url": return_url,
            "metadata": {"org_id": org_id},
        });
        let v = self.send(self.http.post(self.url("/v1/checkouts/")).json(&body), "checkout").await?;
        v["url"].as_str().map(str::to_string).ok_or(PolarError::Malformed)
    }

    /// The customer portal for the organisation `org_id`.
    pub async fn portal(&self, org_id: &str, return_url: &str) -> Result<String, PolarError> {
        let body = json!({"external_customer_id": org_id, "return_url": return_url});
        let v = self.send(self.http.post(self.url("/v1/customer-sessions/")).json(&body), "portal").await?;
        v["customer_portal_url"].as_str().map(str::to_string).ok_or(PolarError::Malformed)
    }

    /// The organisation's subscriptions, newest first.
    pub async fn subscriptions(&self, org_id: &str) -> Result<Vec<PolarSubscription>, PolarError> {
        let q = [("external_customer_id", org_id), ("limit", "100")];
        let url = reqwest::Url::parse_with_params(&self.url("/v1/subscriptions/"), &q)
            .map_err(|_| PolarError::Malformed)?;
        let v = self.send(self.http.get(url), "subscriptions").await?;
        Ok(v["items"]
            .as_array()
            .ok_or(PolarError::Malformed)?
            .iter()
            .filter_map(parse_subscription)
            .collect())
    }

    /// Sends usage events; `(inserted, duplicates)`. Polar drops an event
    /// whose `external_id` it has already stored, so sending again after a
    /// crash counts nothing twice.
    pub async fn ingest(&self, events: &[Value]) -> Result<(u64, u64), PolarError> {
        let body = json!({"events": events});
        let v = self.send(self.http.post(self.url("/v1/events/ingest")).json(&body), "ingest").await?;
        let inserted = v["inserted"].as_u64().ok_or(PolarError::Malformed)?;
        Ok((inserted, v["duplicates"].as_u64().unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscription_names_its_organisation_by_external_id_or_metadata() {
        let v = json!({
            "id": "sub_1", "status": "active", "product_id": "prod_1", "product": {"name": "Pro"},
            "amount": 4900, "currency": "usd", "recurring_interval": "month",
            "current_period_start": "2026-12-01T00:00:00Z", "current_period_end": "2027-01-01T00:00:00Z",
            "cancel_at_period_end": false, "ended_at": null, "created_at": "2026-12-01T00:00:00Z",
            "modified_at": "2026-12-02T00:00:00.123456Z",
            "customer": {"external_id": "org-a"}, "metadata": {"org_id": "org-b"},
        });
        let s = parse_subscription(&v).unwrap();
        assert_eq!(
            (s.org_hint.as_deref(), s.price.amount_minor, s.product_name.as_str()),
            (Some("org-a"), 4900, "Pro")
        );
        assert_eq!(s.modified_at.to_rfc3339(), "2026-12-02T00:00:00.123456+00:00");
        let mut w = v.clone();
        w["customer"]["external_id"] = Value::Null;
        w["modified_at"] = Value::Null;
        let s = parse_subscription(&w).unwrap();
        assert_eq!(s.org_hint.as_deref(), Some("org-b"));
        assert_eq!(s.modified_at.to_rfc3339(), "2026-12-01T00:00:00+00:00", "created_at when never modified");
        assert!(parse_subscription(&json!({"id": "x"})).is_none());
    }

    #[test]
    fn a_product_becomes_a_plan_with_its_fixed_price_and_limits() {
        let v = json!({
            "id": "prod_1", "name": "Pro", "description": null, "recurring_interval": "month",
            "metadata": {"call_minutes": 1000},
            "prices": [
                {"amount_type": "metered_unit", "unit_amount": "0.5", "is_archived": false,
                 "price_currency": "eur", "cap_amount": 2000, "meter": {"name": "call_minutes"}},
                {"amount_type": "metered_unit", "unit_amount": "1", "is_archived": false,
                 "meter": {"name": "sms_sent"}},
                {"amount_type": "fixed", "price_amount": 4900, "price_currency": "eur", "is_archived": false},
            ],
        });
        let p = parse_product(&v).unwrap();
        assert_eq!(p.price, Some(Money::new(4900, "eur").unwrap()));
        assert_eq!(p.limits.call_minutes, Some(1000));
        assert_eq!(p.interval.as_deref(), Some("month"));
        assert_eq!(p.unit_prices, [UnitPrice::new("call_minutes", "0.5", "eur", Some(2000)).unwrap()]);
    }
}
