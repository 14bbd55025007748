use leptos::prelude::*;
use uuid::Uuid;

use super::types::AuditEntryDto;
use crate::csrf::CsrfClient;
use crate::AppError;

#[server(client = CsrfClient, endpoint = "audit_log")]
pub async fn audit_log(org_id: Uuid) -> Result<Vec<AuditEntryDto>, AppError> {
    use super::types::ActorDto;
    let (ctx, org) = crate::ssr::require_member(org_id).await?;
    Ok(services::audit::list(&ctx.db, &org, 200)
        .await?
        .into_iter()
        .map(|e| AuditEntryDto {
            id: e.id,
            action: e.action,
            actor: match (e.actor_email, e.actor_api_key, e.actor_system) {
                (Some(email), _, _) => Some(ActorDto::Person(email)),
                (None, Some(key), _) => Some(ActorDto::ApiKey(key)),
                (None, None, Some(job)) => Some(ActorDto::System(job)),
                _ => None,
            },
            target: e.target_email,
            details: summarize(&e.details),
            at: e.created_at,
        })
        .collect())
}

/// "from → to" style one-liner for the details column.
#[cfg(feature = "ssr")]
fn summarize(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(map) => {
            if let (Some(from), Some(to)) = (map.get("from"), map.get("to")) {
                return format!(
                    "{} → {}",
                    from.as_str().unwrap_or_default(),
                    to.as_str().unwrap_or_default()
                );
            }
            map.iter()
                .filter(|(k, _)| k.as_str() != "invitation")
                .map(|(k, v)| {
                    format!("{k}: {}", v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
        _ => String::new(),
    }
}
