//! Objection detection on live transcript utterances, in English and French.
//!
//! Rules are phrase patterns ([`super::text::Pattern`]) per objection kind and
//! language. Every utterance is checked against both languages: reps and
//! prospects switch ("c'est too expensive") and STT may mislabel the language.
//! Detection is deterministic and takes microseconds, so the copilot can run it
//! on every partial transcript and show a card well inside its 300 ms budget.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::text::{normalize, Pattern};
use crate::Locale;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ObjectionKind {
    TooExpensive,
    NotInterested,
    SendEmail,
    AlreadyHaveSupplier,
    CallLater,
    NotDecisionMaker,
    NeedToThink,
    /// Not an objection to answer: the prospect asks not to be called again
    /// (or to be taken off the list). In most jurisdictions the caller must
    /// honour it; the card tells the rep to acknowledge and stop, and the
    /// voice agent ends the call. It supersedes any objection found with it.
    OptOut,
}

impl ObjectionKind {
    pub const ALL: [ObjectionKind; 8] = [
        ObjectionKind::TooExpensive,
        ObjectionKind::NotInterested,
        ObjectionKind::SendEmail,
        ObjectionKind::AlreadyHaveSupplier,
        ObjectionKind::CallLater,
        ObjectionKind::NotDecisionMaker,
        ObjectionKind::NeedToThink,
        ObjectionKind::OptOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ObjectionKind::TooExpensive => "too_expensive",
            ObjectionKind::NotInterested => "not_interested",
            ObjectionKind::SendEmail => "send_email",
            ObjectionKind::AlreadyHaveSupplier => "already_have_supplier",
            ObjectionKind::CallLater => "call_later",
            ObjectionKind::NotDecisionMaker => "not_decision_maker",
            ObjectionKind::NeedToThink => "need_to_think",
            ObjectionKind::OptOut => "opt_out",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The built-in phrase rules: (kind, language, patterns).
const RULES: &[(ObjectionKind, Locale, &[&str])] = &[
    (
        ObjectionKind::TooExpensive,
        Locale::En,
        &[
            "too expensive",
            "too * expensive",
            "so expensive",
            "expensive for us",
            "price|prices|cost|costs|pricing|rate|rates * too|way high|steep",
            "cost|costs * too much",
            "costs an arm",
            "can t afford",
            "cannot afford",
            "no budget",
            "out of * budget",
            "over * budget",
            "beyond * budget",
            "cheaper * elsewhere|somewhere|option|offer",
            "not worth the money|price",
        ],
    ),
    (
        ObjectionKind::TooExpensive,
        Locale::Fr,
        &[
            "trop cher~",
            "trop * cher~",
            "hors de prix",
            "prix * trop eleve~",
            "tarif~ * trop eleve~",
            "coute * trop",
            "pas les moyens",
            "pas de budget",
            "pas le budget",
            "plus de budget",
            "au dessus de * budget",
            "moins cher~ ailleurs",
        ],
    ),
    (
        ObjectionKind::NotInterested,
        Locale::En,
        &[
            "not interested",
            "no interest",
            "don t need it|this|that|your|any",
            "we re good|fine thanks|thank",
            "not for us",
            "no thanks",
            "no thank you",
        ],
    ),
    (
        ObjectionKind::NotInterested,
        Locale::Fr,
        &[
            "pas interesse~",
            "interesse~ pas",
            "ca ne m interesse",
            "ca m interesse pas",
            "pas besoin",
            "pas pour nous",
            "non merci",
        ],
    ),
    (
        ObjectionKind::OptOut,
        Locale::En,
        &[
            "stop calling|ringing|phoning|contacting|emailing|bothering",
            "quit calling|ringing|phoning",
            "take|cross|strike|scratch me|us off",
            "take|cross|strike|scratch * number|details|name off",
            "remove me|us from",
            "remove * number|details|name|data from",
            "delete * number|details|data",
            "don t * call|ring|phone|contact * again|anymore",
            "do not * call|ring|phone|contact * again|anymore",
            "never * call|ring|phone|contact * again|anymore|here",
            "don t ever call|ring|phone|contact",
            "who gave you * number",
            "where did you get * number",
            "how did you get * number",
            "do not call list|registry|register",
            "tps",
            "unsubscribe",
            "opt out",
            "lose my number",
            "no cold calls|calling",
            "don t accept * cold calls|calling",
            "do not accept * cold calls|calling",
        ],
    ),
    (
        ObjectionKind::OptOut,
        Locale::Fr,
        &[
            "arret~ de m|nous appeler|contacter|harceler|rappeler|deranger",
            "cess~ de m|nous appeler|contacter|harceler|rappeler|deranger",
            "ne m|nous appel~ plus|jamais",
            "ne me|nous rappel~ plus|jamais",
            "ne rappel~ plus|jamais",
            "n appel~ plus|jamais",
            "ne me|nous contact~ plus|jamais",
            "ne me|nous derang~ plus|jamais",
            "rayez|retirez|enlevez|supprimez|effacez moi|nous",
            "ray~|retir~|enlev~|supprim~|effac~ * mon|mes|notre|nos numero|coordonnees|donnees|telephone",
            "ray~|retir~|enlev~|supprim~|effac~ * de votre|vos|ce|cette|la liste~|fichier~|base~",
            "vous eu|trouve|obtenu mon|ce numero",
            "avez eu|trouve|obtenu mon|ce numero",
            "qui vous a donne|file|passe|refile mon|ce numero",
            "bloctel",
            "liste d opposition",
            "desinscri~",
            "plus etre appele~|contacte~|sollicite~|derange~|demarche~",
            "plus de demarchage|sollicitation~",
        ],
    ),
    (
        ObjectionKind::SendEmail,
        Locale::En,
        &[
            "send me|us * email|mail|brochure|information|info|something|details|documentation",
            "email me",
            "put it in an|writing",
            "just email",
        ],
    ),
    (
        ObjectionKind::SendEmail,
        Locale::Fr,
        &[
            "envoy~ moi|nous * mail|email|courriel|documentation|brochure|plaquette|infos|informations",
            "m envoyer * mail|email|courriel|documentation|brochure|infos|informations",
            "par mail|email|courriel|ecrit",
        ],
    ),
    (
        ObjectionKind::AlreadyHaveSupplier,
        Locale::En,
        &[
            "already have|use|got|work * supplier|provider|vendor|someone|somebody|solution|partner|contract|company",
            "already working with",
            "happy with our|my|the * supplier|provider|vendor|current|solution|partner",
            "under contract",
            "locked into|in * contract",
        ],
    ),
    (
        ObjectionKind::AlreadyHaveSupplier,
        Locale::Fr,
        &[
            "deja un|une|notre|nos * fournisseur~|prestataire~|partenaire~|solution|contrat",
            "deja equipe~",
            "deja ce qu il faut",
            "travaill~ deja avec",
            "satisfait~ de notre|nos|mon|ma * fournisseur~|prestataire~|solution|partenaire~",
            "sous contrat",
        ],
    ),
    (
        ObjectionKind::CallLater,
        Locale::En,
        &[
            "call me|us * back|later|tomorrow|next|another",
            "call back later|tomorrow",
            "not a good time",
            "bad time",
            "busy * now|moment",
            "in a meeting",
            "don t have time",
            "no time right|now|for",
            "try me|us * later|again|next",
        ],
    ),
    (
        ObjectionKind::CallLater,
        Locale::Fr,
        &[
            "rappel~ moi|nous",
            "rappelez plus tard",
            "pas le temps",
            "pas le moment",
            "mauvais moment",
            "en reunion",
            "occupe~ * moment|maintenant|instant",
            "plus tard",
        ],
    ),
    (
        ObjectionKind::NotDecisionMaker,
        Locale::En,
        &[
            "not my decision",
            "not the decision maker",
            "not the right person",
            "not up to me",
            "talk|speak|check to|with my|our * boss|manager|director|partner|team",
            "someone else decides|handles",
        ],
    ),
    (
        ObjectionKind::NotDecisionMaker,
        Locale::Fr,
        &[
            "pas moi qui decide~",
            "pas a moi de decider",
            "pas la bonne personne",
            "voir avec * patron|directeur|directrice|responsable|associe~|equipe|chef",
            "en parler * patron|directeur|directrice|responsable|associe~|equipe|chef",
            "c est mon|ma * patron|directeur|directrice|responsable|chef * qui decide~",
        ],
    ),
    (
        ObjectionKind::NeedToThink,
        Locale::En,
        &[
            "think about it|this|that",
            "think it over",
            "sleep on it",
            "need some time",
            "let me consider|reflect",
            "get back to you",
        ],
    ),
    (
        ObjectionKind::NeedToThink,
        Locale::Fr,
        &["reflechir", "y penser", "prendre le temps de voir", "je reviens vers vous", "revenir vers vous"],
    ),
];

struct CompiledRule {
    kind: ObjectionKind,
    language: Locale,
    pattern: Pattern,
}

fn rules() -> &'static [CompiledRule] {
    static RULES_COMPILED: OnceLock<Vec<CompiledRule>> = OnceLock::new();
    RULES_COMPILED.get_or_init(|| {
        RULES
            .iter()
            .flat_map(|(kind, language, patterns)| {
                patterns.iter().map(move |p| CompiledRule {
                    kind: *kind,
                    language: *language,
                    // The built-in table is covered by a unit test; a broken
                    // pattern is a programming error caught there.
                    pattern: Pattern::parse(p)
                        .unwrap_or_else(|e| panic!("built-in objection rule {p:?}: {e:?}")),
                })
            })
            .collect()
    })
}

/// One objection found in an utterance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Detection {
    pub kind: ObjectionKind,
    /// Language of the rule that matched.
    pub language: Locale,
    /// The rule's source pattern, to explain why the card appeared.
    pub rule: String,
    /// The words that matched (normalised).
    pub matched: String,
    /// Set when the classifier found it rather than a rule: its
    /// probability for the class, in percent; `rule` is then the nearest
    /// example of the class and `matched` the utterance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similarity: Option<u8>,
    /// Set on a card raised late, by the organisation's LLM, on an
    /// utterance the classifier was unsure of: that model's name. `rule` is
    /// then empty and `matched` the utterance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_by: Option<String>,
}

/// What an agent says when the prospect asks not to be called again: it
/// acknowledges, apologises and says goodbye — no rebuttal, no question,
/// whatever its prompt says. The conversation then ends. Shared by the chat
/// playground and the voice agent.
pub fn opt_out_goodbye(locale: Locale) -> &'static str {
    match locale {
        Locale::En => "Of course, I'm sorry to have disturbed you. I'll make sure you are not called again. Goodbye.",
        Locale::Fr => "Bien sûr, excusez-moi pour le dérangement. Je fais le nécessaire pour qu'on ne vous rappelle plus. Au revoir.",
    }
}

/// The note an agent leaves when it hears an opt-out, quoting the words.
pub fn opt_out_note(locale: Locale, said: &str) -> String {
    match locale {
        Locale::En => format!("Opt-out: the prospect asked not to be called again: “{said}”"),
        Locale::Fr => format!("Opposition : le prospect a demandé à ne plus être appelé : « {said} »"),
    }
}

/// The opt-out among `found` (what the phrase rules found in `utterance`)
/// when the sentence asserts it: not supposed ("if you called again…"),
/// not denied ("don't take me off the list").
pub fn asserted_opt_out<'a>(found: &'a [Detection], utterance: &str) -> Option<&'a Detection> {
    use super::mood::{denies, mood, Mood};
    found
        .iter()
        .find(|d| d.kind == ObjectionKind::OptOut)
        .filter(|_| mood(utterance) != Mood::Hypothetical && !denies(ObjectionKind::OptOut, utterance))
}

/// Whether the phrase rules alone hear an asserted opt-out: what an agent
/// acts on when no classifier is loaded.
pub fn rules_hear_opt_out(utterance: &str) -> bool {
    asserted_opt_out(&detect(utterance), utterance).is_some()
}

/// Longest utterance inspected, in words: STT segments are a sentence or two;
/// a pathological one is cut rather than slowing every session down.
pub const MAX_WORDS: usize = 400;

/// Objections raised in `utterance`, one per kind, in order of appearance.
pub fn detect(utterance: &str) -> Vec<Detection> {
    let mut words = normalize(utterance);
    words.truncate(MAX_WORDS);
    detect_words(&words)
}

/// As [`detect`], on words already [`normalize`]d.
pub fn detect_words(words: &[String]) -> Vec<Detection> {
    let mut found: Vec<(usize, Detection)> = Vec::new();
    for rule in rules() {
        if found.iter().any(|(_, d)| d.kind == rule.kind) {
            continue;
        }
        if let Some(span) = rule.pattern.find(words) {
            found.push((
                span.start,
                Detection {
                    kind: rule.kind,
                    language: rule.language,
                    rule: rule.pattern.source().to_string(),
                    matched: words[span.start..span.end].join(" "),
                    similarity: None,
                    confirmed_by: None,
                },
            ));
        }
    }
    // A request to stop calling is not answered with a rebuttal: it alone
    // is reported, whatever else the prospect said with it.
    if found.iter().any(|(_, d)| d.kind == ObjectionKind::OptOut) {
        found.retain(|(_, d)| d.kind == ObjectionKind::OptOut);
    }
    found.sort_by_key(|(start, d)| (*start, d.kind));
    found.into_iter().map(|(_, d)| d).collect()
}

#[cfg(test)]
mod tests {
    use super::ObjectionKind::*;
    use super::*;

    #[test]
    fn every_built_in_rule_compiles() {
        assert!(rules().len() > 60);
    }

    /// The reference table: utterances as STT delivers them, with what a
    /// seasoned SDR would call the objection (or none).
    #[test]
    fn english_and_french_utterances() {
        let cases: &[(&str, &[ObjectionKind])] = &[
            // English
            ("Honestly, that's way too expensive for us.", &[TooExpensive]),
            ("The price is a bit too high", &[TooExpensive]),
            ("We can't afford that right now", &[TooExpensive]),
            ("That's out of our budget this year", &[TooExpensive]),
            ("I'm not interested, thanks.", &[NotInterested]),
            ("We don't need this.", &[NotInterested]),
            ("Please take me off your list", &[OptOut]),
            ("Can you just send me an email?", &[SendEmail]),
            ("Send us some information and we'll see", &[SendEmail]),
            ("We already have a supplier for that", &[AlreadyHaveSupplier]),
            ("We're already working with Acme", &[AlreadyHaveSupplier]),
            ("We're happy with our current provider", &[AlreadyHaveSupplier]),
            ("Call me back next week", &[CallLater]),
            ("It's not a good time, I'm in a meeting", &[CallLater]),
            ("I'd have to check with my boss", &[NotDecisionMaker]),
            ("Let me think about it", &[NeedToThink]),
            ("I'll get back to you", &[NeedToThink]),
            ("Too expensive. Send me an email.", &[TooExpensive, SendEmail]),
            // French
            ("Ah non, c'est trop cher pour nous.", &[TooExpensive]),
            ("Vos tarifs sont vraiment trop élevés", &[TooExpensive]),
            ("On n'a pas le budget", &[TooExpensive]),
            ("Ça ne m'intéresse pas.", &[NotInterested]),
            ("Je ne suis pas intéressé", &[NotInterested]),
            ("Non merci, au revoir", &[NotInterested]),
            ("Envoyez-moi un mail", &[SendEmail]),
            ("Vous pouvez m'envoyer une documentation ?", &[SendEmail]),
            ("On a déjà un fournisseur", &[AlreadyHaveSupplier]),
            ("Nous sommes déjà équipés", &[AlreadyHaveSupplier]),
            ("Rappelez-moi la semaine prochaine", &[CallLater]),
            ("Je n'ai pas le temps, je suis en réunion", &[CallLater]),
            ("Ce n'est pas moi qui décide", &[NotDecisionMaker]),
            ("Je dois en parler à mon directeur", &[NotDecisionMaker]),
            ("Je vais réfléchir", &[NeedToThink]),
            // No objection
            ("Yes, this is Marie speaking", &[]),
            ("It's not too expensive actually", &[]),
            ("That sounds interesting, tell me more", &[]),
            ("Ce n'est pas trop cher en fait", &[]),
            ("Oui, c'est bien moi", &[]),
            ("We have about forty vehicles in the fleet", &[]),
            ("", &[]),
        ];
        for (utterance, expected) in cases {
            let got: Vec<_> = detect(utterance).into_iter().map(|d| d.kind).collect();
            assert_eq!(&got, expected, "{utterance:?}");
        }
    }

    /// Opt-outs as prospects say them — none of these may be missed — and
    /// sentences that only sound like one.
    #[test]
    fn opt_out_requests_in_both_languages() {
        let opt_outs = [
            "Stop calling me.",
            "please take us off your list",
            "Remove my number from your database",
            "Don't ever call this number again",
            "who gave you my number?",
            "I'm on the do not call registry",
            "We're registered with the TPS",
            "no cold calls on this line please",
            "we don't accept cold calls, note it on your system",
            "Arrêtez de m'appeler !",
            "rayez-moi de votre liste",
            "Supprimez mes coordonnées de votre fichier",
            "ne rappelez plus ici merci",
            "n'appelez plus ce numéro",
            "Ne me rappelez jamais",
            "je ne veux plus être démarché, c'est clair ?",
            "on ne veut plus de démarchage sur cette ligne",
            "Où avez-vous eu mon numéro ?",
            "je suis inscrit sur Bloctel",
        ];
        for u in opt_outs {
            let got: Vec<_> = detect(u).into_iter().map(|d| d.kind).collect();
            assert_eq!(got, [OptOut], "{u:?}");
        }
        for u in [
            "Call me back next week",
            "rappelez-moi plus tard",
            "vous appelez d'où ?",
            "I'm calling about the invoice",
        ] {
            assert!(detect(u).iter().all(|d| d.kind != OptOut), "{u:?}");
        }
    }

    #[test]
    fn a_detection_says_why() {
        let d = &detect("Bon, c'est trop cher.")[0];
        assert_eq!(d.language, Locale::Fr);
        assert_eq!(d.matched, "trop cher");
        assert_eq!(d.rule, "trop cher~");
    }

    #[test]
    fn huge_utterances_are_cut_not_slow() {
        let huge = "blah ".repeat(100_000) + "too expensive";
        assert!(detect(&huge).is_empty());
        assert_eq!(detect(&("too expensive ".to_string() + &"blah ".repeat(100_000)))[0].kind, TooExpensive);
    }
}
