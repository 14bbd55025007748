//! Where the agent's actions and record go when it runs in the server's
//! process: the calls services, as the call's organisation's system
//! principal (`services::calls::voice`).

use std::sync::Mutex;

use async_trait::async_trait;
use domain::call_views::{CallTurn, TurnSpeaker};
use domain::copilot::objection::ObjectionKind;
use domain::Locale;
use sea_orm::DatabaseConnection;
use serde_json::Value;
use services::calls::voice as svc;
use services::events::EventBus;
use services::telephony::TelephonyEnv;
use services::OrgCtx;
use uuid::Uuid;
use voice::call::{CallEffects, CallReport, Speaker, TurnRecord};

pub struct ServiceEffects {
    pub db: DatabaseConnection,
    /// The copilot's objection classifier: it hears opt-outs the phrase
    /// rules miss.
    pub semantic: services::copilot::Semantic,
    pub telephony: TelephonyEnv,
    pub bus: EventBus,
    pub ctx: OrgCtx,
    pub call_id: Uuid,
    pub prospect_id: Option<Uuid>,
    /// Turns whose write failed (the database was away): sent again with
    /// the next one — each is stored once, by its number.
    unsent: Mutex<Vec<CallTurn>>,
}

impl ServiceEffects {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        db: DatabaseConnection,
        semantic: services::copilot::Semantic,
        telephony: TelephonyEnv,
        bus: EventBus,
        ctx: OrgCtx,
        call_id: Uuid,
        prospect_id: Option<Uuid>,
    ) -> ServiceEffects {
        ServiceEffects {
            db,
            semantic,
            telephony,
            bus,
            ctx,
            call_id,
            prospect_id,
            unsent: Mutex::new(Vec::new()),
        }
    }

    async fn write_turns(&self, mut turns: Vec<CallTurn>) {
        let pending = std::mem::take(&mut *self.unsent.lock().unwrap_or_else(|p| p.into_inner()));
        turns.splice(0..0, pending);
        let mut left = Vec::new();
        for t in turns {
            match svc::turn(&self.db, &self.bus, &self.ctx, self.call_id, t.clone()).await {
                Ok(_) => {}
                // A turn the service refuses (validation) will never pass: dropped, and said so.
                Err(e) if e.code != domain::ErrorCode::Internal => {
                    tracing::warn!(call = %self.call_id, seq = t.seq, error = %e, "a turn was refused");
                }
                Err(e) => {
                    tracing::warn!(call = %self.call_id, seq = t.seq, error = %e, "a turn was not stored; retried with the next");
                    left.push(t);
                }
            }
        }
        self.unsent.lock().unwrap_or_else(|p| p.into_inner()).extend(left);
    }
}

/// Whether the copilot's judge hears an opt-out in a prospect's words —
/// the classifier when it is loaded and has a free slot, else the rules.
pub async fn hears_opt_out(semantic: &services::copilot::Semantic, words: &str, locale: Locale) -> bool {
    let heard = match semantic.judge(words, Some(locale)).await {
        Some(heard) => heard,
        None => services::copilot::semantic::judge(None, words, Some(locale)),
    };
    heard.iter().any(|d| d.kind == ObjectionKind::OptOut)
}

pub fn call_turn(t: &TurnRecord) -> CallTurn {
    CallTurn {
        seq: t.index,
        speaker: match t.speaker {
            Speaker::Agent => TurnSpeaker::Agent,
            Speaker::Prospect => TurnSpeaker::Prospect,
        },
        text: t.text.clone(),
        start_ms: t.start_ms,
        end_ms: t.end_ms.max(t.start_ms),
        interrupted: t.interrupted,
    }
}

#[async_trait]
impl CallEffects for ServiceEffects {
    async fn turn(&self, turn: &TurnRecord) {
        // An agent turn cut off before a word was heard has nothing to keep.
        if turn.text.trim().is_empty() && !turn.interrupted {
            return;
        }
        self.write_turns(vec![call_turn(turn)]).await;
    }

    async fn add_note(&self, text: &str) -> Result<(), String> {
        svc::note(&self.db, &self.bus, &self.ctx, self.call_id, self.prospect_id, text)
            .await
            .map_err(|e| e.to_string())
    }

    async fn update_data(&self, field: &str, value: &Value) -> Result<(), String> {
        svc::collect(&self.db, &self.bus, &self.ctx, self.call_id, field, value.clone())
            .await
            .map_err(|e| e.to_string())
    }

    async fn transfer(&self, _number: &str) -> Result<(), String> {
        // The service transfers to the agent's configured number, whatever was asked.
        svc::transfer(&self.db, &self.telephony, &self.bus, &self.ctx, self.call_id)
            .await
            .map_err(|e| e.to_string())
    }

    async fn opts_out(&self, words: &str, locale: Locale) -> bool {
        hears_opt_out(&self.semantic, words, locale).await
    }

    async fn opted_out(&self, words: &str) -> Result<(), String> {
        services::copilot::opt_out::heard_on_call(&self.db, &self.ctx, self.call_id, words)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn ended(&self, report: &CallReport) {
        // Whatever is still unsent gets one more try before the report.
        self.write_turns(Vec::new()).await;
        if let Err(e) =
            svc::finish(&self.db, &self.telephony, &self.bus, &self.ctx, self.call_id, &report.agent_report())
                .await
        {
            tracing::warn!(call = %self.call_id, error = %e, "the agent's report was not stored");
        }
    }
}
