//! The copilot's uses of the organisation's LLM: pre-call briefs (cached per
//! prospect, invalidated when what they were made from changes) and
//! phase-structured script generation. Without a configured LLM the brief
//! falls back to rules over the prospect's data and history, and says so.

use std::time::{Duration, Instant};

use domain::catalogue::Capability;
use domain::copilot::objection::ObjectionKind;
use domain::copilot::outcome::CallOutcome;
use domain::copilot::script::{Phase, ScriptContent};
use domain::copilot::views::{AiGeneration, Brief, ScriptDetail, ScriptInput};
use domain::{ErrorCode, Locale, Permission};
use entity::{copilot_sessions as sessions, prospect_briefs as briefs, prospect_notes, prospects};
use providers::llm::{complete, ChatMessage, ChatRequest};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::scripts::{self, Origin};
use super::techniques;
use crate::credentials::{self, ProviderEnv};
use crate::prospects::{self as prospect_svc, status_of};
use crate::{now, OrgCtx, ServiceError, ServiceResult};

/// The organisation's chat model: the first LLM provider in catalogue order
/// with a key (the organisation's own, else the server's).
pub(crate) async fn pick_llm(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &ProviderEnv,
) -> ServiceResult<Option<(Box<dyn providers::ChatModel>, String)>> {
    for p in credentials::configured(db, ctx, env, Capability::Llm).await? {
        let Some(model) = p.models(Capability::Llm).first() else { continue };
        let endpoint = credentials::endpoint(db, ctx, env, p.id).await?;
        match providers::chat_model(env.http.clone(), p.id, endpoint) {
            Ok(m) => return Ok(Some((m, model.to_string()))),
            Err(e) => tracing::warn!(provider = p.id, error = %e, "configured LLM unusable"),
        }
    }
    Ok(None)
}

/// How freely and how long a model may answer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    pub temperature: f32,
    pub max_tokens: u32,
}

/// Long-form writing: briefs and scripts.
const WRITING: Budget = Budget { temperature: 0.4, max_tokens: 2_000 };

/// Runs one completion with the timeout; provider failures keep their code.
/// A timeout or provider failure stores nothing; the caller says why.
pub(crate) async fn ask(
    model: &dyn providers::ChatModel,
    name: &str,
    timeout: Duration,
    system: String,
    user: String,
    budget: Budget,
) -> ServiceResult<String> {
    let req = ChatRequest {
        model: name.to_string(),
        messages: vec![ChatMessage::System { content: system }, ChatMessage::User { content: user }],
        tools: vec![],
        temperature: Some(budget.temperature),
        max_tokens: Some(budget.max_tokens),
    };
    match tokio::time::timeout(timeout, complete(model, req)).await {
        Err(_) => Err(ServiceError::new(ErrorCode::ProviderTimeout)),
        Ok(Err(e)) => Err(ServiceError::new(e.code()).with_detail(e.to_string())),
        Ok(Ok(c)) => Ok(c.text),
    }
}

/// The JSON object in a model's answer (models like to wrap it in prose or fences).
pub(crate) fn json_in(text: &str) -> Option<&str> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    (end > start).then(|| &text[start..=end])
}

struct BriefInput {
    prospect: prospects::Model,
    notes: Vec<String>,
    outcomes: Vec<CallOutcome>,
}

impl BriefInput {
    fn hash(&self) -> String {
        let p = &self.prospect;
        let mut h = Sha256::new();
        for part in [&p.first_name, &p.last_name, &p.company, &p.title, &p.status] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        for n in &self.notes {
            h.update(n.as_bytes());
            h.update([0]);
        }
        for o in &self.outcomes {
            h.update(o.as_str().as_bytes());
        }
        hex::encode(&h.finalize()[..16])
    }
}

async fn brief_input(db: &DatabaseConnection, ctx: &OrgCtx, prospect_id: Uuid) -> ServiceResult<BriefInput> {
    let prospect = prospect_svc::find(db, ctx, prospect_id).await?;
    let notes = prospect_notes::Entity::find()
        .filter(prospect_notes::Column::OrgId.eq(ctx.org_id()))
        .filter(prospect_notes::Column::ProspectId.eq(prospect_id))
        .order_by_desc(prospect_notes::Column::CreatedAt)
        .limit(10)
        .all(db)
        .await?
        .into_iter()
        .map(|n| n.body)
        .collect();
    let outcomes = sessions::Entity::find()
        .filter(sessions::Column::OrgId.eq(ctx.org_id()))
        .filter(sessions::Column::ProspectId.eq(prospect_id))
        .filter(sessions::Column::Outcome.is_not_null())
        .order_by_desc(sessions::Column::StartedAt)
        .limit(10)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|s| s.outcome.as_deref().and_then(CallOutcome::parse))
        .collect();
    Ok(BriefInput { prospect, notes, outcomes })
}

/// Rule-based brief from the prospect's data and history.
fn rules_brief(input: &BriefInput, lang: Locale) -> Brief {
    let p = &input.prospect;
    let fr = lang == Locale::Fr;
    let company = if p.company.is_empty() {
        if fr {
            "leur entreprise"
        } else {
            "their company"
        }
    } else {
        &p.company
    };
    let status = status_of(p);
    let called_before = !input.outcomes.is_empty();
    let opening_angle = match (status, called_before) {
        (domain::prospect::ProspectStatus::CallbackScheduled, _) => {
            if fr {
                format!("Rappel convenu : rappelez le contexte du dernier échange avec {company} et reprenez là où vous vous étiez arrêtés.")
            } else {
                format!("Agreed callback: recall the last conversation with {company} and pick up where you left off.")
            }
        }
        (domain::prospect::ProspectStatus::Interested, _) => {
            if fr {
                "Intérêt déjà exprimé : allez droit à ce qui a retenu son attention et proposez une date."
                    .to_string()
            } else {
                "Interest already shown: go straight to what caught their attention and propose a date."
                    .to_string()
            }
        }
        (_, true) => {
            if fr {
                "Déjà contacté sans conclusion : ouvrez sur un élément nouveau plutôt que de répéter le premier appel.".to_string()
            } else {
                "Contacted before without a result: open with something new rather than repeating the first call.".to_string()
            }
        }
        _ => {
            let role = if p.title.is_empty() { String::new() } else { format!(" ({})", p.title) };
            if fr {
                format!("Premier appel{role} : une phrase sur ce que vous apportez à des entreprises comme {company}, puis demandez la permission.")
            } else {
                format!("First call{role}: one sentence on what you do for companies like {company}, then ask for permission.")
            }
        }
    };
    let mut likely = Vec::new();
    for o in &input.outcomes {
        let kind = match o {
            CallOutcome::NoAnswer | CallOutcome::Voicemail => ObjectionKind::CallLater,
            CallOutcome::NotInterested => ObjectionKind::NotInterested,
            _ => continue,
        };
        if !likely.contains(&kind) {
            likely.push(kind);
        }
    }
    for note in &input.notes {
        for d in domain::copilot::objection::detect(note) {
            if !likely.contains(&d.kind) {
                likely.push(d.kind);
            }
        }
    }
    let title = p.title.to_lowercase();
    if ["ceo", "founder", "owner", "gérant", "directeur général", "pdg"].iter().any(|t| title.contains(t))
    {
        likely.push(ObjectionKind::TooExpensive);
    } else if !title.is_empty() && !likely.contains(&ObjectionKind::NotDecisionMaker) {
        likely.push(ObjectionKind::NotDecisionMaker);
    }
    if likely.is_empty() {
        likely.extend([ObjectionKind::AlreadyHaveSupplier, ObjectionKind::SendEmail]);
    }
    likely.truncate(3);
    let questions = if fr {
        vec![
            format!("Comment {company} gère-t-elle ses véhicules aujourd’hui ?"),
            "Qu’est-ce qui vous coûte le plus : immobilisations, entretien ou renouvellements ?".to_string(),
            "Qui d’autre participe à ce type de décision ?".to_string(),
        ]
    } else {
        vec![
            format!("How does {company} manage its vehicles today?"),
            "What costs you most: downtime, maintenance or renewals?".to_string(),
            "Who else takes part in this kind of decision?".to_string(),
        ]
    };
    Brief {
        source: "rules".into(),
        model: None,
        opening_angle,
        likely_objections: likely,
        questions,
        generated_at: now(),
    }
}

#[derive(Deserialize)]
struct LlmBrief {
    opening_angle: String,
    #[serde(default)]
    likely_objections: Vec<String>,
    #[serde(default)]
    questions: Vec<String>,
}

/// The pre-call brief for a prospect: cached while its inputs are unchanged;
/// made by the organisation's LLM when there is one, else by rules. An LLM
/// failure falls back to rules (not cached, so the next open retries).
pub async fn brief(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &ProviderEnv,
    prospect_id: Uuid,
    lang: Locale,
    refresh: bool,
) -> ServiceResult<Brief> {
    ctx.require(Permission::UseWorkspace)?;
    let input = brief_input(db, ctx, prospect_id).await?;
    let hash = format!("{}:{}", lang.as_str(), input.hash());
    if !refresh {
        if let Some(cached) = briefs::Entity::find_by_id(prospect_id)
            .filter(briefs::Column::OrgId.eq(ctx.org_id()))
            .one(db)
            .await?
            .filter(|b| b.input_hash == hash)
        {
            if let Ok(b) = serde_json::from_value::<Brief>(cached.content) {
                return Ok(b);
            }
        }
    }
    let Some((model, name)) = pick_llm(db, ctx, env).await? else {
        return Ok(rules_brief(&input, lang));
    };
    let p = &input.prospect;
    let system = format!(
        "You prepare a sales rep for a cold call. Answer with one JSON object only: \
         {{\"opening_angle\": string, \"likely_objections\": [one or more of {kinds}], \"questions\": [3 short discovery questions]}}. \
         Write in {language}.",
        kinds = ObjectionKind::ALL.map(|k| k.as_str()).join(", "),
        language = if lang == Locale::Fr { "French" } else { "English" },
    );
    let user = json!({
        "prospect": {"name": format!("{} {}", p.first_name, p.last_name), "title": p.title, "company": p.company, "status": p.status},
        "recent_notes": input.notes,
        "past_call_outcomes": input.outcomes.iter().map(|o| o.as_str()).collect::<Vec<_>>(),
    })
    .to_string();
    let parsed = match ask(model.as_ref(), &name, env.llm_timeout, system, user, WRITING).await {
        Ok(text) => json_in(&text).and_then(|j| serde_json::from_str::<LlmBrief>(j).ok()),
        Err(e) => {
            tracing::warn!(code = e.code.as_str(), "brief generation failed; using rules");
            None
        }
    };
    let Some(llm) = parsed.filter(|b| !b.opening_angle.trim().is_empty()) else {
        return Ok(rules_brief(&input, lang));
    };
    let brief = Brief {
        source: "llm".into(),
        model: Some(name.clone()),
        opening_angle: llm.opening_angle.chars().take(1_000).collect(),
        likely_objections: llm
            .likely_objections
            .iter()
            .filter_map(|k| ObjectionKind::parse(k))
            .take(4)
            .collect(),
        questions: llm.questions.into_iter().map(|q| q.chars().take(300).collect()).take(5).collect(),
        generated_at: now(),
    };
    briefs::Entity::insert(briefs::ActiveModel {
        prospect_id: Set(prospect_id),
        org_id: Set(ctx.org_id()),
        source: Set("llm".into()),
        model: Set(Some(name)),
        input_hash: Set(hash),
        content: Set(serde_json::to_value(&brief).map_err(|_| ServiceError::internal())?),
        generated_at: Set(brief.generated_at),
    })
    .on_conflict(
        OnConflict::column(briefs::Column::ProspectId)
            .update_columns([
                briefs::Column::Source,
                briefs::Column::Model,
                briefs::Column::InputHash,
                briefs::Column::Content,
                briefs::Column::GeneratedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(brief)
}

/// What a generated script is built from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct GenerateRequest {
    pub name: String,
    pub language: Locale,
    /// What is being sold, in the user's words.
    pub product: String,
    /// Optional prospect whose context (title, company, notes) shapes the script.
    #[serde(default)]
    pub prospect_id: Option<Uuid>,
    /// Library techniques to build on.
    #[serde(default)]
    pub technique_ids: Vec<Uuid>,
}

/// Generates a full phase-structured script with the organisation's LLM and
/// stores it (with the model, the prompt context and the generation time).
/// A timeout or malformed answer stores nothing and says why.
pub async fn generate_script(
    db: &DatabaseConnection,
    ctx: &OrgCtx,
    env: &ProviderEnv,
    req: GenerateRequest,
) -> ServiceResult<ScriptDetail> {
    ctx.require(Permission::ManagePlaybook)?;
    let product = req.product.trim();
    if product.is_empty() {
        return Err(ServiceError::field(ErrorCode::RequiredValue, "product"));
    }
    if product.chars().count() > 2_000 {
        return Err(ServiceError::field(ErrorCode::TextTooLong, "product").with_detail("2000"));
    }
    domain::validation::normalize_name("name", &req.name)?;
    let Some((model, name)) = pick_llm(db, ctx, env).await? else {
        return Err(ServiceError::field(ErrorCode::ProviderNotConfigured, "provider").with_detail("LLM"));
    };
    let library = techniques::list(db, ctx, req.language, None).await?;
    let chosen: Vec<_> = library
        .iter()
        .filter(|t| req.technique_ids.contains(&t.id))
        .map(|t| json!({"name": t.name, "phase": t.phase.as_str(), "summary": t.summary}))
        .collect();
    if chosen.len() != req.technique_ids.len() {
        return Err(ServiceError::field(ErrorCode::NotFound, "technique_ids"));
    }
    let prospect = match req.prospect_id {
        Some(id) => {
            let input = brief_input(db, ctx, id).await?;
            let p = input.prospect;
            Some(json!({"title": p.title, "company": p.company, "status": p.status, "notes": input.notes}))
        }
        None => None,
    };
    let context = json!({"product": product, "prospect": prospect, "techniques": chosen, "language": req.language.as_str()});
    let system = format!(
        "You write phone sales scripts. Answer with one JSON object only, shaped as \
         {{\"phases\": [{{\"phase\": one of {phases}, \"text\": string, \"tips\": [string], \
         \"triggers\": [{{\"type\": \"intent\", \"intent\": one of {intents}}} or {{\"type\": \"phrase\", \"pattern\": string}}]}}], \
         \"handlers\": [{{\"objection\": one of {kinds}, \"response\": string, \"examples\": [string]}}]}}. \
         Use the five phases in order. Texts may use {{{{prospect.first_name}}}}, {{{{prospect.company}}}} and {{{{agent.name}}}}. Write in {language}.",
        phases = Phase::ALL.map(|p| p.as_str()).join(", "),
        intents = domain::copilot::script::Intent::ALL.map(|i| i.as_str()).join(", "),
        kinds = ObjectionKind::ALL.map(|k| k.as_str()).join(", "),
        language = if req.language == Locale::Fr { "French" } else { "English" },
    );
    let started = Instant::now();
    let text = ask(model.as_ref(), &name, env.llm_timeout, system, context.to_string(), WRITING).await?;
    let generation_ms = started.elapsed().as_millis() as i64;
    let content: ScriptContent =
        json_in(&text).and_then(|j| serde_json::from_str(j).ok()).ok_or_else(|| {
            ServiceError::new(ErrorCode::ProviderMalformed).with_detail("the model's answer is not a script")
        })?;
    if let Err(errors) = content.validate() {
        let first = errors
            .into_iter()
            .next()
            .map(|e| format!("{}: {}", e.field, e.code.as_str()))
            .unwrap_or_default();
        return Err(ServiceError::new(ErrorCode::ProviderMalformed).with_detail(first));
    }
    let input = ScriptInput {
        name: req.name,
        language: req.language,
        description: product.chars().take(500).collect(),
        content,
        expected_version: None,
    };
    scripts::create_with(db, ctx, input, Origin::Ai(AiGeneration { model: name, context, generation_ms }))
        .await
}
