//! Translated labels for the copilot's enums.

use domain::copilot::knowledge::{KnowledgeKind, KnowledgeStatus};
use domain::copilot::objection::ObjectionKind;
use domain::copilot::outcome::CallOutcome;
use domain::copilot::script::{Phase, Speaker};
use leptos_i18n::I18nContext;

use crate::i18n::{t_string, Locale};

type I18n = I18nContext<Locale>;

pub fn phase_label(i18n: I18n, p: Phase) -> String {
    match p {
        Phase::Opening => t_string!(i18n, copilot.phase_opening),
        Phase::Discovery => t_string!(i18n, copilot.phase_discovery),
        Phase::Presentation => t_string!(i18n, copilot.phase_presentation),
        Phase::ObjectionHandling => t_string!(i18n, copilot.phase_objection_handling),
        Phase::Closing => t_string!(i18n, copilot.phase_closing),
    }
    .to_string()
}

pub fn objection_label(i18n: I18n, k: ObjectionKind) -> String {
    match k {
        ObjectionKind::TooExpensive => t_string!(i18n, copilot.obj_too_expensive),
        ObjectionKind::NotInterested => t_string!(i18n, copilot.obj_not_interested),
        ObjectionKind::SendEmail => t_string!(i18n, copilot.obj_send_email),
        ObjectionKind::AlreadyHaveSupplier => t_string!(i18n, copilot.obj_already_have_supplier),
        ObjectionKind::CallLater => t_string!(i18n, copilot.obj_call_later),
        ObjectionKind::NotDecisionMaker => t_string!(i18n, copilot.obj_not_decision_maker),
        ObjectionKind::NeedToThink => t_string!(i18n, copilot.obj_need_to_think),
        ObjectionKind::OptOut => t_string!(i18n, copilot.obj_opt_out),
    }
    .to_string()
}

pub fn outcome_label(i18n: I18n, o: CallOutcome) -> String {
    match o {
        CallOutcome::MeetingBooked => t_string!(i18n, copilot.out_meeting_booked),
        CallOutcome::CallbackScheduled => t_string!(i18n, copilot.out_callback_scheduled),
        CallOutcome::Interested => t_string!(i18n, copilot.out_interested),
        CallOutcome::NotInterested => t_string!(i18n, copilot.out_not_interested),
        CallOutcome::NoAnswer => t_string!(i18n, copilot.out_no_answer),
        CallOutcome::Voicemail => t_string!(i18n, copilot.out_voicemail),
    }
    .to_string()
}

pub fn speaker_label(i18n: I18n, s: Speaker) -> String {
    match s {
        Speaker::Rep => t_string!(i18n, copilot.speaker_rep),
        Speaker::Prospect => t_string!(i18n, copilot.speaker_prospect),
        Speaker::Unknown => t_string!(i18n, copilot.speaker_unknown),
    }
    .to_string()
}

pub fn reason_label(i18n: I18n, reason: &str) -> String {
    match reason {
        "callback_due" => t_string!(i18n, copilot.q_callback_due),
        "callback" => t_string!(i18n, copilot.q_callback),
        "new" => t_string!(i18n, copilot.q_new),
        "interested" => t_string!(i18n, copilot.q_interested),
        _ => t_string!(i18n, copilot.q_contacted),
    }
    .to_string()
}

pub fn kind_label(i18n: I18n, k: KnowledgeKind) -> String {
    match k {
        KnowledgeKind::BestSeller => t_string!(i18n, knowledge.kind_best_seller),
        KnowledgeKind::MileageTip => t_string!(i18n, knowledge.kind_mileage_tip),
        KnowledgeKind::PartsInfo => t_string!(i18n, knowledge.kind_parts_info),
        KnowledgeKind::ObjectionHandler => t_string!(i18n, knowledge.kind_objection_handler),
        KnowledgeKind::PricingTip => t_string!(i18n, knowledge.kind_pricing_tip),
    }
    .to_string()
}

pub fn status_label(i18n: I18n, s: KnowledgeStatus) -> String {
    match s {
        KnowledgeStatus::Draft => t_string!(i18n, knowledge.status_draft),
        KnowledgeStatus::PendingReview => t_string!(i18n, knowledge.status_pending_review),
        KnowledgeStatus::Approved => t_string!(i18n, knowledge.status_approved),
        KnowledgeStatus::Rejected => t_string!(i18n, knowledge.status_rejected),
    }
    .to_string()
}

pub fn field_label(i18n: I18n, name: &str) -> String {
    match name {
        "model" => t_string!(i18n, knowledge.f_model),
        "price_range" => t_string!(i18n, knowledge.f_price_range),
        "why_it_sells" => t_string!(i18n, knowledge.f_why_it_sells),
        "mileage_range" => t_string!(i18n, knowledge.f_mileage_range),
        "part" => t_string!(i18n, knowledge.f_part),
        "compatible_models" => t_string!(i18n, knowledge.f_compatible_models),
        "lead_time" => t_string!(i18n, knowledge.f_lead_time),
        "objection" => t_string!(i18n, knowledge.f_objection),
        "example_phrases" => t_string!(i18n, knowledge.f_example_phrases),
        "applies_to" => t_string!(i18n, knowledge.f_applies_to),
        _ => t_string!(i18n, knowledge.f_conditions),
    }
    .to_string()
}
