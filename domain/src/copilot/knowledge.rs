//! The knowledge base (vehicle insights) and its approval workflow.
//!
//! Anyone in the organisation writes drafts and submits them; Admins and
//! Owners ([`crate::Permission::ReviewKnowledge`]) approve or reject with a comment.
//! SDRs see approved items only. Every status change goes through
//! [`KnowledgeStatus::apply`], the one place that knows the workflow.
//!
//! Every content edit bumps an item's version (it starts at 1). A review
//! decision names the version the reviewer read, so approving or rejecting
//! text that was edited in the meantime is refused (`stale_version`) rather
//! than vouching for words nobody reviewed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::objection::ObjectionKind;
use super::text::normalize;
use crate::error::{ErrorCode, FieldError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KnowledgeKind {
    BestSeller,
    MileageTip,
    PartsInfo,
    ObjectionHandler,
    PricingTip,
}

/// One structured field of a kind (besides title, body and tags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindField {
    pub name: &'static str,
    pub required: bool,
    pub max_chars: usize,
}

const fn field(name: &'static str, required: bool) -> KindField {
    KindField { name, required, max_chars: 300 }
}

impl KnowledgeKind {
    pub const ALL: [KnowledgeKind; 5] = [
        KnowledgeKind::BestSeller,
        KnowledgeKind::MileageTip,
        KnowledgeKind::PartsInfo,
        KnowledgeKind::ObjectionHandler,
        KnowledgeKind::PricingTip,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KnowledgeKind::BestSeller => "best_seller",
            KnowledgeKind::MileageTip => "mileage_tip",
            KnowledgeKind::PartsInfo => "parts_info",
            KnowledgeKind::ObjectionHandler => "objection_handler",
            KnowledgeKind::PricingTip => "pricing_tip",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    /// The fields each kind carries, in display order.
    pub fn fields(self) -> &'static [KindField] {
        const BEST_SELLER: &[KindField] =
            &[field("model", true), field("price_range", false), field("why_it_sells", false)];
        const MILEAGE_TIP: &[KindField] = &[field("model", false), field("mileage_range", true)];
        const PARTS_INFO: &[KindField] =
            &[field("part", true), field("compatible_models", false), field("lead_time", false)];
        const OBJECTION_HANDLER: &[KindField] = &[field("objection", true), field("example_phrases", false)];
        const PRICING_TIP: &[KindField] = &[field("applies_to", false), field("conditions", false)];
        match self {
            KnowledgeKind::BestSeller => BEST_SELLER,
            KnowledgeKind::MileageTip => MILEAGE_TIP,
            KnowledgeKind::PartsInfo => PARTS_INFO,
            KnowledgeKind::ObjectionHandler => OBJECTION_HANDLER,
            KnowledgeKind::PricingTip => PRICING_TIP,
        }
    }
}

pub const TITLE_MAX_CHARS: usize = 160;
pub const BODY_MAX_CHARS: usize = 8_000;
pub const TAGS_MAX: usize = 20;
pub const TAG_MAX_CHARS: usize = 40;
pub const COMMENT_MAX_CHARS: usize = 1_000;

/// What a user submits when creating or editing an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KnowledgeDraft {
    pub kind: KnowledgeKind,
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

impl KnowledgeDraft {
    /// Trims and checks a draft, returning the normalised copy or every problem.
    pub fn normalized(&self) -> Result<KnowledgeDraft, Vec<FieldError>> {
        let mut errors = Vec::new();
        let title = self.title.trim().to_string();
        if title.is_empty() {
            errors.push(FieldError::new("title", ErrorCode::RequiredValue));
        } else if title.chars().count() > TITLE_MAX_CHARS {
            errors.push(
                FieldError::new("title", ErrorCode::TextTooLong).with_detail(TITLE_MAX_CHARS.to_string()),
            );
        }
        let body = self.body.trim().to_string();
        if body.is_empty() {
            errors.push(FieldError::new("body", ErrorCode::RequiredValue));
        } else if body.chars().count() > BODY_MAX_CHARS {
            errors.push(
                FieldError::new("body", ErrorCode::TextTooLong).with_detail(BODY_MAX_CHARS.to_string()),
            );
        }
        let mut tags: Vec<String> = Vec::new();
        for t in &self.tags {
            let t = t.trim().to_lowercase();
            if t.is_empty() {
                continue;
            }
            if t.chars().count() > TAG_MAX_CHARS {
                errors.push(
                    FieldError::new("tags", ErrorCode::TextTooLong).with_detail(TAG_MAX_CHARS.to_string()),
                );
            } else if !tags.contains(&t) {
                tags.push(t);
            }
        }
        if tags.len() > TAGS_MAX {
            errors.push(FieldError::new("tags", ErrorCode::OutOfRange).with_detail(TAGS_MAX.to_string()));
        }
        let spec = self.kind.fields();
        let mut fields = BTreeMap::new();
        for (name, value) in &self.fields {
            let Some(f) = spec.iter().find(|f| f.name == name) else {
                errors.push(FieldError::new(format!("fields.{name}"), ErrorCode::InvalidFieldName));
                continue;
            };
            let value = value.trim();
            if value.chars().count() > f.max_chars {
                errors.push(
                    FieldError::new(format!("fields.{name}"), ErrorCode::TextTooLong)
                        .with_detail(f.max_chars.to_string()),
                );
            } else if !value.is_empty() {
                fields.insert(name.clone(), value.to_string());
            }
        }
        for f in spec.iter().filter(|f| f.required) {
            if !fields.contains_key(f.name) && !errors.iter().any(|e| e.field == format!("fields.{}", f.name))
            {
                errors.push(FieldError::new(format!("fields.{}", f.name), ErrorCode::RequiredValue));
            }
        }
        if let Some(o) = fields.get("objection") {
            if ObjectionKind::parse(o).is_none() {
                errors.push(
                    FieldError::new("fields.objection", ErrorCode::InvalidValue).with_detail(o.clone()),
                );
            }
        }
        if errors.is_empty() {
            Ok(KnowledgeDraft { kind: self.kind, title, body, tags, fields })
        } else {
            Err(errors)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KnowledgeStatus {
    Draft,
    PendingReview,
    Approved,
    Rejected,
}

impl KnowledgeStatus {
    pub const ALL: [KnowledgeStatus; 4] = [
        KnowledgeStatus::Draft,
        KnowledgeStatus::PendingReview,
        KnowledgeStatus::Approved,
        KnowledgeStatus::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KnowledgeStatus::Draft => "draft",
            KnowledgeStatus::PendingReview => "pending_review",
            KnowledgeStatus::Approved => "approved",
            KnowledgeStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    /// The status after `action` by a `reviewer` (one who holds
    /// [`crate::Permission::ReviewKnowledge`]) or not (`is_author` when they wrote the item) on an item now at `version`, or why it is refused.
    /// Checks permission before state, so a member learns nothing from
    /// probing. Approve and reject must name the version the reviewer read
    /// (`expected_version`); if the item has been edited since, the decision
    /// is refused with `stale_version` and the current version as detail.
    pub fn apply(
        self,
        action: &ReviewAction,
        reviewer: bool,
        is_author: bool,
        version: i64,
    ) -> Result<KnowledgeStatus, FieldError> {
        use KnowledgeStatus::*;
        let forbidden = || FieldError::new("status", ErrorCode::Forbidden);
        let invalid = || FieldError::new("status", ErrorCode::InvalidTransition).with_detail(self.as_str());
        match action {
            ReviewAction::Submit => {
                if !(is_author || reviewer) {
                    return Err(forbidden());
                }
                match self {
                    Draft | Rejected => Ok(PendingReview),
                    _ => Err(invalid()),
                }
            }
            ReviewAction::Withdraw => {
                if !(is_author || reviewer) {
                    return Err(forbidden());
                }
                match self {
                    PendingReview | Rejected | Approved => Ok(Draft),
                    Draft => Err(invalid()),
                }
            }
            ReviewAction::Approve { expected_version } => {
                if !reviewer {
                    return Err(forbidden());
                }
                let expected = required_version(*expected_version)?;
                match self {
                    PendingReview => same_version(expected, version).map(|()| Approved),
                    _ => Err(invalid()),
                }
            }
            ReviewAction::Reject { comment, expected_version } => {
                if !reviewer {
                    return Err(forbidden());
                }
                let comment = comment.trim();
                if comment.is_empty() {
                    return Err(FieldError::new("comment", ErrorCode::RequiredValue));
                }
                if comment.chars().count() > COMMENT_MAX_CHARS {
                    return Err(FieldError::new("comment", ErrorCode::TextTooLong)
                        .with_detail(COMMENT_MAX_CHARS.to_string()));
                }
                let expected = required_version(*expected_version)?;
                match self {
                    PendingReview => same_version(expected, version).map(|()| Rejected),
                    _ => Err(invalid()),
                }
            }
        }
    }

    /// Status after an edit of the content (which also bumps the version, so
    /// a decision made on the old text no longer applies). A reviewer's edit
    /// keeps the item where it is: it is their own review of the new text.
    /// Anyone else's edit sends an approved item back to review, so nothing
    /// unreviewed reaches SDRs, and a rejected one back to draft for its
    /// author to rework and resubmit; drafts stay drafts and pending items
    /// stay pending (at the new version).
    pub fn after_edit(self, reviewer: bool) -> KnowledgeStatus {
        if reviewer {
            self
        } else {
            match self {
                KnowledgeStatus::Approved => KnowledgeStatus::PendingReview,
                KnowledgeStatus::Rejected => KnowledgeStatus::Draft,
                other => other,
            }
        }
    }
}

/// A review decision's version, which it must name.
fn required_version(expected: Option<i64>) -> Result<i64, FieldError> {
    expected.ok_or_else(|| FieldError::new("expected_version", ErrorCode::RequiredValue))
}

/// Refuses a decision made on another version than the current one.
fn same_version(expected: i64, current: i64) -> Result<(), FieldError> {
    if expected == current {
        Ok(())
    } else {
        Err(FieldError::new("expected_version", ErrorCode::StaleVersion).with_detail(current.to_string()))
    }
}

/// A status change asked for. Approve and reject carry `expected_version`,
/// the version of the item the reviewer read; it is required (optional on
/// the wire only so that its absence is reported as a named field error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ReviewAction {
    Submit,
    Withdraw,
    Approve {
        #[serde(default)]
        expected_version: Option<i64>,
    },
    Reject {
        comment: String,
        #[serde(default)]
        expected_version: Option<i64>,
    },
}

impl ReviewAction {
    /// The version a decision was made on (approve and reject only).
    pub fn expected_version(&self) -> Option<i64> {
        match self {
            ReviewAction::Approve { expected_version } | ReviewAction::Reject { expected_version, .. } => {
                *expected_version
            }
            ReviewAction::Submit | ReviewAction::Withdraw => None,
        }
    }
}

/// How a rep used an item in the copilot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UsageKind {
    Shown,
    Copied,
    Helpful,
}

impl UsageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UsageKind::Shown => "shown",
            UsageKind::Copied => "copied",
            UsageKind::Helpful => "helpful",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [UsageKind::Shown, UsageKind::Copied, UsageKind::Helpful].into_iter().find(|k| k.as_str() == s)
    }
}

/// Words of an utterance worth looking up: [`normalize`]d, without the
/// function words of English and French and without one- and two-letter
/// fragments, each once, in order.
pub fn content_words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in normalize(text) {
        if w.chars().count() >= 3 && !STOPWORDS.contains(&w.as_str()) && !out.contains(&w) {
            out.push(w);
        }
    }
    out.truncate(RELEVANCE_TERMS_MAX);
    out
}

/// Most words of an utterance that count towards relevance.
pub const RELEVANCE_TERMS_MAX: usize = 24;

const STOPWORDS: &[&str] = &[
    "the", "and", "but", "for", "are", "was", "were", "been", "being", "have", "has", "had", "not", "you",
    "your", "yours", "our", "ours", "they", "them", "their", "this", "that", "these", "those", "with",
    "from", "what", "which", "who", "whom", "when", "where", "why", "how", "all", "any", "can", "could",
    "would", "should", "will", "just", "don", "does", "did", "doing", "about", "into", "than", "then",
    "there", "here", "some", "very", "too", "also", "only", "more", "most", "much", "really", "yes", "yeah",
    "okay", "well", "its", "it's", "we're", "let", "get", "got", "like", "know", "think", "one", "out",
    "off", "over", "now", "les", "des", "une", "est", "sont", "pas", "pour", "par", "avec", "dans", "sur",
    "vous", "nous", "mais", "que", "qui", "quoi", "quand", "comme", "tout", "tous", "toute", "toutes",
    "cette", "ces", "son", "sa", "ses", "leur", "leurs", "notre", "nos", "votre", "vos", "elle", "ils",
    "elles", "bien", "tres", "plus", "moins", "aussi", "oui", "non", "alors", "donc", "fait", "faire",
    "etre", "avoir", "ete", "ai", "avez", "avons", "ont", "suis", "sommes", "etes", "deja", "encore",
];

/// How relevant an item is to what was just said: each content word of the
/// utterance found in the item counts once, twice when it is in the title
/// or the tags. A word matches an item word it begins when it has five
/// letters or more ("vehicle" finds "vehicles", "garant" finds "garantie").
pub fn keyword_relevance(terms: &[String], title: &str, body: &str, tags: &[String]) -> u32 {
    let title_words: Vec<String> =
        normalize(title).into_iter().chain(tags.iter().flat_map(|t| normalize(t))).collect();
    let body_words = normalize(body);
    let hit = |words: &[String], term: &str| {
        words.iter().any(|w| w == term || (term.chars().count() >= 5 && w.starts_with(term)))
    };
    terms
        .iter()
        .map(|t| {
            if hit(&title_words, t) {
                2
            } else if hit(&body_words, t) {
                1
            } else {
                0
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::KnowledgeStatus::*;
    use super::*;

    fn draft(kind: KnowledgeKind, fields: &[(&str, &str)]) -> KnowledgeDraft {
        KnowledgeDraft {
            kind,
            title: "  Clio V is our best seller ".into(),
            body: "Why it sells".into(),
            tags: vec![" Clio ".into(), "clio".into(), "".into(), "CITY".into()],
            fields: fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn drafts_are_normalised_and_checked_per_kind() {
        let ok = draft(KnowledgeKind::BestSeller, &[("model", " Clio V "), ("price_range", "")])
            .normalized()
            .unwrap();
        assert_eq!(ok.title, "Clio V is our best seller");
        assert_eq!(ok.tags, ["clio", "city"]);
        assert_eq!(ok.fields.len(), 1);
        assert_eq!(ok.fields["model"], "Clio V");

        let errs = draft(KnowledgeKind::BestSeller, &[("part", "x")]).normalized().unwrap_err();
        let got: Vec<_> = errs.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [("fields.part", ErrorCode::InvalidFieldName), ("fields.model", ErrorCode::RequiredValue)]
        );

        let errs =
            draft(KnowledgeKind::ObjectionHandler, &[("objection", "too_cheap")]).normalized().unwrap_err();
        assert_eq!(errs[0].code, ErrorCode::InvalidValue);
        assert!(draft(KnowledgeKind::ObjectionHandler, &[("objection", "too_expensive")])
            .normalized()
            .is_ok());

        let mut empty = draft(KnowledgeKind::PricingTip, &[]);
        empty.title = " ".into();
        empty.body = "x".repeat(BODY_MAX_CHARS + 1);
        let codes: Vec<_> = empty.normalized().unwrap_err().into_iter().map(|e| e.code).collect();
        assert_eq!(codes, [ErrorCode::RequiredValue, ErrorCode::TextTooLong]);
    }

    fn approve(v: i64) -> ReviewAction {
        ReviewAction::Approve { expected_version: Some(v) }
    }

    fn reject(comment: &str, v: i64) -> ReviewAction {
        ReviewAction::Reject { comment: comment.into(), expected_version: Some(v) }
    }

    #[test]
    fn the_approval_workflow() {
        let reject = reject("Source?", 1);
        // Members write and submit their own drafts, never review.
        assert_eq!(Draft.apply(&ReviewAction::Submit, false, true, 1), Ok(PendingReview));
        assert_eq!(
            Draft.apply(&ReviewAction::Submit, false, false, 1).unwrap_err().code,
            ErrorCode::Forbidden
        );
        assert_eq!(PendingReview.apply(&approve(1), false, true, 1).unwrap_err().code, ErrorCode::Forbidden);
        assert_eq!(PendingReview.apply(&reject, false, false, 1).unwrap_err().code, ErrorCode::Forbidden);
        // Admins and owners review.
        assert_eq!(PendingReview.apply(&approve(1), true, false, 1), Ok(Approved));
        assert_eq!(PendingReview.apply(&reject, true, false, 1), Ok(Rejected));
        // A rejection needs a comment.
        let blank = ReviewAction::Reject { comment: "  ".into(), expected_version: Some(1) };
        assert_eq!(PendingReview.apply(&blank, true, false, 1).unwrap_err().code, ErrorCode::RequiredValue);
        // Only pending items are reviewed.
        assert_eq!(Draft.apply(&approve(1), true, false, 1).unwrap_err().code, ErrorCode::InvalidTransition);
        assert_eq!(
            Approved.apply(&approve(1), true, false, 1).unwrap_err().code,
            ErrorCode::InvalidTransition
        );
        assert_eq!(
            Approved.apply(&ReviewAction::Submit, false, true, 1).unwrap_err().code,
            ErrorCode::InvalidTransition
        );
        // Rejected items are reworked and resubmitted.
        assert_eq!(Rejected.apply(&ReviewAction::Submit, false, true, 1), Ok(PendingReview));
        assert_eq!(Approved.apply(&ReviewAction::Withdraw, true, false, 1), Ok(Draft));
        assert_eq!(
            Draft.apply(&ReviewAction::Withdraw, false, true, 1).unwrap_err().code,
            ErrorCode::InvalidTransition
        );
    }

    #[test]
    fn a_review_decides_on_the_version_the_reviewer_read() {
        // The version read is the current one: the decision stands.
        assert_eq!(PendingReview.apply(&approve(3), true, false, 3), Ok(Approved));
        assert_eq!(PendingReview.apply(&reject("Source?", 3), true, false, 3), Ok(Rejected));
        // The item was edited since: refused, naming the current version.
        for action in [approve(2), reject("Source?", 2)] {
            let e = PendingReview.apply(&action, true, false, 3).unwrap_err();
            assert_eq!(
                (e.field.as_str(), e.code, e.detail.as_deref()),
                ("expected_version", ErrorCode::StaleVersion, Some("3")),
                "{action:?}"
            );
        }
        // A decision must say which version it is about.
        for action in [
            ReviewAction::Approve { expected_version: None },
            ReviewAction::Reject { comment: "Source?".into(), expected_version: None },
        ] {
            let e = PendingReview.apply(&action, true, false, 1).unwrap_err();
            assert_eq!((e.field.as_str(), e.code), ("expected_version", ErrorCode::RequiredValue));
        }
        // Members still learn nothing about versions: permission comes first.
        assert_eq!(PendingReview.apply(&approve(2), false, true, 3).unwrap_err().code, ErrorCode::Forbidden);
        // Submit and withdraw change no content and name no version.
        assert_eq!(ReviewAction::Submit.expected_version(), None);
        assert_eq!(Draft.apply(&ReviewAction::Submit, false, true, 7), Ok(PendingReview));
        // On the wire, the version rides along with the action.
        let wire: ReviewAction =
            serde_json::from_str(r#"{"action":"approve","expected_version":4}"#).unwrap();
        assert_eq!(wire, approve(4));
        let bare: ReviewAction = serde_json::from_str(r#"{"action":"approve"}"#).unwrap();
        assert_eq!(bare, ReviewAction::Approve { expected_version: None });
    }

    #[test]
    fn an_edit_sends_reviewed_items_back() {
        // A member's edit of an approved item needs review again; a rejected
        // one is reworked as a draft; drafts and pending items stay put.
        assert_eq!(Approved.after_edit(false), PendingReview);
        assert_eq!(Rejected.after_edit(false), Draft);
        assert_eq!(PendingReview.after_edit(false), PendingReview);
        assert_eq!(Draft.after_edit(false), Draft);
        // A reviewer's edit is their own review of the new text.
        assert_eq!(Approved.after_edit(true), Approved);
        assert_eq!(PendingReview.after_edit(true), PendingReview);
        assert_eq!(Draft.after_edit(true), Draft);
    }

    #[test]
    fn content_words_drop_function_words_and_repeats() {
        assert_eq!(
            content_words("Are your vehicles covered by the warranty? The WARRANTY!"),
            ["vehicles", "covered", "warranty"]
        );
        assert_eq!(content_words("Est-ce que vos véhicules sont garantis ?"), ["vehicules", "garantis"]);
        assert!(content_words("yes, ok, and you?").is_empty());
        assert_eq!(content_words(&"word ".repeat(1000)).len(), 1);
    }

    #[test]
    fn relevance_weighs_titles_and_matches_word_starts() {
        let terms = content_words("How long is the warranty on your electric vans?");
        let tags = vec!["EV".to_string()];
        let title_hit =
            keyword_relevance(&terms, "Warranty for electric vans", "Eight years on the battery.", &tags);
        let body_hit = keyword_relevance(&terms, "Battery facts", "The warranty covers eight years.", &tags);
        let none = keyword_relevance(&terms, "Pricing tiers", "Three plans per seat.", &[]);
        assert!(title_hit > body_hit && body_hit > none, "{title_hit} {body_hit} {none}");
        assert_eq!(none, 0);
        // "garant" (6 letters) begins "garantie"; "van" (3) must match whole words only.
        assert_eq!(keyword_relevance(&content_words("garant"), "Garantie constructeur", "", &[]), 2);
        assert_eq!(keyword_relevance(&content_words("van"), "Vantage point", "", &[]), 0);
    }
}
