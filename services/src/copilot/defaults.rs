//! What every organisation starts with: a default call script and a library of
//! proven sales techniques, in English and French. Seeded lazily (first use)
//! under ids derived from the organisation, so seeding twice — or from two
//! requests at once — inserts nothing new.

use domain::copilot::objection::ObjectionKind;
use domain::copilot::script::{
    Intent, ObjectionHandler, Phase, PhaseScript, ScriptContent, Speaker, Trigger,
};
use domain::Locale;
use uuid::Uuid;

/// A stable id for the `what` seeded into `org`.
pub(crate) fn seeded_id(org: Uuid, what: &str) -> Uuid {
    Uuid::new_v5(&org, what.as_bytes())
}

fn phase(phase: Phase, text: &str, tips: &[&str], triggers: Vec<Trigger>) -> PhaseScript {
    PhaseScript {
        phase,
        text: text.to_string(),
        tips: tips.iter().map(|t| t.to_string()).collect(),
        triggers,
    }
}

fn handler(objection: ObjectionKind, response: &str, examples: &[&str]) -> ObjectionHandler {
    ObjectionHandler {
        objection,
        response: response.to_string(),
        examples: examples.iter().map(|t| t.to_string()).collect(),
    }
}

pub fn script_name(lang: Locale) -> &'static str {
    match lang {
        Locale::En => "Default discovery call",
        Locale::Fr => "Appel de découverte (par défaut)",
    }
}

/// The default script for `lang`.
pub fn script(lang: Locale) -> ScriptContent {
    use Intent::*;
    use ObjectionKind::*;
    let prospect = Speaker::Prospect;
    match lang {
        Locale::En => ScriptContent {
            phases: vec![
                phase(
                    Phase::Opening,
                    "Hi {{prospect.first_name}}, this is {{agent.name}}. I'm calling because we help companies like {{prospect.company}} keep their vehicles on the road for less. Do you have two minutes?",
                    &["Smile: it can be heard.", "Say why you call in one sentence.", "Ask for permission to go on."],
                    vec![
                        Trigger::intent(Available).from(prospect),
                        Trigger::phrase("how do you * vehicles|fleet|cars").from(Speaker::Rep),
                    ],
                ),
                phase(
                    Phase::Discovery,
                    "How do you manage your vehicles today, {{prospect.first_name}}? What costs you the most: downtime, maintenance or renewals?",
                    &[
                        "Situation, then Problem, Implication, Need-payoff (SPIN).",
                        "Let them talk: aim for 70 % of the talking time on their side.",
                        "Write down their words; you will reuse them.",
                    ],
                    vec![Trigger::intent(NeedExpressed).from(prospect)],
                ),
                phase(
                    Phase::Presentation,
                    "You said that matters to you. Here is how we solve exactly that for {{prospect.company}}: …",
                    &["Link every feature to something they said.", "One benefit at a time, then check: does that make sense?"],
                    vec![
                        Trigger::intent(Objection).from(prospect),
                        Trigger::intent(MeetingAccepted).from(prospect).to(Phase::Closing),
                    ],
                ),
                phase(
                    Phase::ObjectionHandling,
                    "I understand. Many of our clients felt the same at first. What would need to be true for this to work for you?",
                    &["Acknowledge, then ask a question: never argue.", "Label the emotion: it sounds like…"],
                    vec![
                        Trigger::intent(Agreement).from(prospect),
                        Trigger::intent(MeetingAccepted).from(prospect),
                    ],
                ),
                phase(
                    Phase::Closing,
                    "Shall we book thirty minutes with our specialist this week? Tuesday or Thursday, which suits you better, {{prospect.first_name}}?",
                    &["Offer two options, not a yes/no.", "Confirm date, time and attendees before hanging up."],
                    vec![],
                ),
            ],
            handlers: vec![
                handler(
                    TooExpensive,
                    "I hear you. Compared with what, exactly? Most fleets we work with spend less overall once downtime is counted.",
                    &["What budget did you have in mind?", "If price were not an issue, would this be a fit?"],
                ),
                handler(
                    NotInterested,
                    "Fair enough. Just so I don't call you for nothing: how do you handle renewals today?",
                    &["Is it the timing or the topic itself?"],
                ),
                handler(
                    SendEmail,
                    "Happy to. So I send something useful rather than a brochure: what would you want it to answer?",
                    &["Can we put ten minutes in the diary to go through it together?"],
                ),
                handler(
                    AlreadyHaveSupplier,
                    "Great, that means you know the topic. What do you like most about them — and what would you improve?",
                    &["Many of our clients kept their supplier and used us as a benchmark."],
                ),
                handler(
                    CallLater,
                    "No problem. When is a better time: later today or tomorrow morning?",
                    &["I'll send an invite so it's in your diary."],
                ),
                handler(
                    NotDecisionMaker,
                    "Thanks for telling me. Who else would be involved, and would it help if I joined when you speak with them?",
                    &[],
                ),
                handler(
                    NeedToThink,
                    "Of course. What's the main thing you want to think over? Maybe I can answer it now.",
                    &[],
                ),
                // Not a rebuttal: an opt-out is honoured, never argued with.
                handler(
                    OptOut,
                    "Understood, and sorry for the disturbance. I'll make sure you are not called again. Goodbye.",
                    &["Do not argue or ask why: acknowledge, confirm, end the call, then add the number to the do-not-call list."],
                ),
            ],
        },
        Locale::Fr => ScriptContent {
            phases: vec![
                phase(
                    Phase::Opening,
                    "Bonjour {{prospect.first_name}}, {{agent.name}} à l’appareil. Je vous appelle car nous aidons des entreprises comme {{prospect.company}} à garder leurs véhicules sur la route pour moins cher. Avez-vous deux minutes ?",
                    &["Souriez : cela s’entend.", "Dites pourquoi vous appelez en une phrase.", "Demandez la permission de continuer."],
                    vec![
                        Trigger::intent(Available).from(prospect),
                        Trigger::phrase("comment gere~ * vehicules|flotte|parc").from(Speaker::Rep),
                    ],
                ),
                phase(
                    Phase::Discovery,
                    "Comment gérez-vous vos véhicules aujourd’hui, {{prospect.first_name}} ? Qu’est-ce qui vous coûte le plus : les immobilisations, l’entretien ou les renouvellements ?",
                    &[
                        "Situation, puis Problème, Implication, Bénéfice (SPIN).",
                        "Laissez parler : visez 70 % du temps de parole de leur côté.",
                        "Notez leurs mots : vous les réutiliserez.",
                    ],
                    vec![Trigger::intent(NeedExpressed).from(prospect)],
                ),
                phase(
                    Phase::Presentation,
                    "Vous disiez que c’était important pour vous. Voici comment nous réglons exactement cela pour {{prospect.company}} : …",
                    &["Reliez chaque fonctionnalité à ce qu’ils ont dit.", "Un bénéfice à la fois, puis vérifiez : est-ce que cela vous parle ?"],
                    vec![
                        Trigger::intent(Objection).from(prospect),
                        Trigger::intent(MeetingAccepted).from(prospect).to(Phase::Closing),
                    ],
                ),
                phase(
                    Phase::ObjectionHandling,
                    "Je comprends. Beaucoup de nos clients pensaient la même chose au début. Qu’est-ce qui devrait être vrai pour que cela fonctionne pour vous ?",
                    &["Reconnaissez, puis posez une question : ne contredisez jamais.", "Nommez l’émotion : j’ai l’impression que…"],
                    vec![
                        Trigger::intent(Agreement).from(prospect),
                        Trigger::intent(MeetingAccepted).from(prospect),
                    ],
                ),
                phase(
                    Phase::Closing,
                    "Et si nous réservions trente minutes avec notre spécialiste cette semaine ? Mardi ou jeudi, qu’est-ce qui vous arrange le mieux, {{prospect.first_name}} ?",
                    &["Proposez deux options, pas un oui/non.", "Confirmez date, heure et participants avant de raccrocher."],
                    vec![],
                ),
            ],
            handlers: vec![
                handler(
                    TooExpensive,
                    "Je vous entends. Cher par rapport à quoi, exactement ? La plupart des flottes dépensent moins au total une fois les immobilisations comptées.",
                    &["Quel budget aviez-vous en tête ?", "Si le prix n’était pas un sujet, est-ce que cela vous conviendrait ?"],
                ),
                handler(
                    NotInterested,
                    "Je comprends. Pour ne pas vous rappeler pour rien : comment gérez-vous les renouvellements aujourd’hui ?",
                    &["Est-ce le moment ou le sujet lui-même ?"],
                ),
                handler(
                    SendEmail,
                    "Avec plaisir. Pour vous envoyer quelque chose d’utile plutôt qu’une brochure : à quelle question doit-il répondre ?",
                    &["Peut-on caler dix minutes pour le parcourir ensemble ?"],
                ),
                handler(
                    AlreadyHaveSupplier,
                    "Très bien, vous connaissez donc le sujet. Qu’appréciez-vous le plus chez eux, et qu’amélioreriez-vous ?",
                    &["Plusieurs clients ont gardé leur prestataire et nous utilisent comme point de comparaison."],
                ),
                handler(
                    CallLater,
                    "Pas de souci. Quel moment vous arrange : plus tard aujourd’hui ou demain matin ?",
                    &["Je vous envoie une invitation pour que ce soit dans votre agenda."],
                ),
                handler(
                    NotDecisionMaker,
                    "Merci de me le dire. Qui d’autre serait impliqué, et serait-il utile que je participe à votre échange avec eux ?",
                    &[],
                ),
                handler(
                    NeedToThink,
                    "Bien sûr. Quel est le point principal auquel vous voulez réfléchir ? Je peux peut-être y répondre maintenant.",
                    &[],
                ),
                handler(
                    OptOut,
                    "C’est noté, et désolé pour le dérangement. Je fais le nécessaire pour que vous ne soyez plus appelé. Bonne journée.",
                    &["Ne pas argumenter ni demander pourquoi : prendre acte, confirmer, raccrocher, puis inscrire le numéro sur la liste d’opposition."],
                ),
            ],
        },
    }
}

/// A technique of the starter library.
pub struct SeedTechnique {
    pub key: &'static str,
    pub phase: Phase,
    pub name: &'static str,
    pub summary: &'static str,
    pub steps: &'static [&'static str],
    pub basis: &'static str,
    pub examples: &'static [&'static str],
}

pub fn techniques(lang: Locale) -> &'static [SeedTechnique] {
    match lang {
        Locale::En => EN_TECHNIQUES,
        Locale::Fr => FR_TECHNIQUES,
    }
}

const EN_TECHNIQUES: &[SeedTechnique] = &[
    SeedTechnique {
        key: "pattern-interrupt",
        phase: Phase::Opening,
        name: "Permission-based opener",
        summary: "Say who you are and why you call, then ask for thirty seconds instead of launching a pitch.",
        steps: &["Name and company", "One-sentence reason for the call", "Ask: may I take thirty seconds to explain why?"],
        basis: "Autonomy: people resist when cornered and relax when they are given the choice.",
        examples: &["I know I'm calling out of the blue — can I take thirty seconds to tell you why, and you decide if we keep talking?"],
    },
    SeedTechnique {
        key: "spin",
        phase: Phase::Discovery,
        name: "SPIN questions",
        summary: "Situation, Problem, Implication and Need-payoff questions lead the prospect to state the value themselves.",
        steps: &[
            "Situation: how things work today",
            "Problem: what goes wrong",
            "Implication: what it costs them",
            "Need-payoff: what solving it would be worth",
        ],
        basis: "People believe what they say more than what they are told (self-persuasion).",
        examples: &[
            "How many vehicles are off the road in a typical month?",
            "What does a day of downtime cost you?",
            "If that went away, what would it change for your team?",
        ],
    },
    SeedTechnique {
        key: "mirroring",
        phase: Phase::Discovery,
        name: "Mirroring",
        summary: "Repeat the last one to three words the prospect said, as a question, and wait.",
        steps: &["Listen for the key words", "Repeat them with a rising tone", "Stay silent for four seconds"],
        basis: "Similarity builds rapport; silence invites elaboration.",
        examples: &["…the renewals are a nightmare? → A nightmare?"],
    },
    SeedTechnique {
        key: "feature-benefit",
        phase: Phase::Presentation,
        name: "Feature → benefit → check",
        summary: "Tie each feature to something the prospect said, state the benefit in their words, then check it lands.",
        steps: &["Recall their problem", "Feature that solves it", "Benefit in their words", "Check: does that make sense?"],
        basis: "Relevance: information tied to a stated need is remembered and valued.",
        examples: &["You said downtime hurts. Our loan vehicles arrive within 24 hours, so nobody waits. Would that help?"],
    },
    SeedTechnique {
        key: "feel-felt-found",
        phase: Phase::ObjectionHandling,
        name: "Feel, felt, found",
        summary: "Validate the feeling, show others felt it too, then share what they found.",
        steps: &["I understand how you feel", "Others felt the same", "What they found was…"],
        basis: "Social proof and validation lower defensiveness.",
        examples: &["I understand how you feel; other fleet managers felt the same, and what they found was that total cost went down."],
    },
    SeedTechnique {
        key: "labelling",
        phase: Phase::ObjectionHandling,
        name: "Labelling",
        summary: "Name the emotion behind the objection before answering it.",
        steps: &["It sounds like… / It seems like…", "Pause", "Let them confirm or correct"],
        basis: "Naming an emotion reduces its intensity (affect labelling).",
        examples: &["It sounds like you've been burned by a supplier before."],
    },
    SeedTechnique {
        key: "assumptive-close",
        phase: Phase::Closing,
        name: "Assumptive close",
        summary: "Propose the next step as a choice between two options rather than asking whether to take it.",
        steps: &["Summarise the agreed value", "Offer two concrete slots", "Confirm details"],
        basis: "Choice framing: picking between options feels easier than a yes/no decision.",
        examples: &["Does Tuesday at 10 or Thursday at 2 work better for the demo?"],
    },
];

const FR_TECHNIQUES: &[SeedTechnique] = &[
    SeedTechnique {
        key: "pattern-interrupt",
        phase: Phase::Opening,
        name: "Accroche avec permission",
        summary: "Dites qui vous êtes et pourquoi vous appelez, puis demandez trente secondes au lieu de dérouler un argumentaire.",
        steps: &["Nom et société", "Raison de l’appel en une phrase", "Demandez : puis-je prendre trente secondes pour vous expliquer ?"],
        basis: "Autonomie : on résiste quand on se sent acculé, on se détend quand on a le choix.",
        examples: &["Je vous appelle à l’improviste : puis-je prendre trente secondes pour vous dire pourquoi, et vous décidez si on continue ?"],
    },
    SeedTechnique {
        key: "spin",
        phase: Phase::Discovery,
        name: "Questions SPIN",
        summary: "Questions de Situation, Problème, Implication et Bénéfice : le prospect formule lui-même la valeur.",
        steps: &[
            "Situation : comment cela fonctionne aujourd’hui",
            "Problème : ce qui ne va pas",
            "Implication : ce que cela coûte",
            "Bénéfice : ce que vaudrait la solution",
        ],
        basis: "On croit davantage ce que l’on dit soi-même que ce que l’on entend (auto-persuasion).",
        examples: &[
            "Combien de véhicules sont immobilisés un mois normal ?",
            "Que vous coûte une journée d’immobilisation ?",
            "Si ce problème disparaissait, qu’est-ce que cela changerait pour votre équipe ?",
        ],
    },
    SeedTechnique {
        key: "mirroring",
        phase: Phase::Discovery,
        name: "Effet miroir",
        summary: "Répétez les un à trois derniers mots du prospect, sur un ton interrogatif, puis attendez.",
        steps: &["Repérez les mots clés", "Répétez-les en montant le ton", "Gardez le silence quatre secondes"],
        basis: "La similarité crée le lien ; le silence invite à développer.",
        examples: &["…les renouvellements, un cauchemar ? → Un cauchemar ?"],
    },
    SeedTechnique {
        key: "feature-benefit",
        phase: Phase::Presentation,
        name: "Caractéristique → bénéfice → vérification",
        summary: "Reliez chaque caractéristique à ce que le prospect a dit, formulez le bénéfice avec ses mots, puis vérifiez.",
        steps: &["Rappelez son problème", "La caractéristique qui le règle", "Le bénéfice, avec ses mots", "Vérifiez : est-ce que cela vous parle ?"],
        basis: "Pertinence : une information liée à un besoin exprimé est retenue et valorisée.",
        examples: &["Vous disiez que les immobilisations vous pèsent. Nos véhicules de prêt arrivent sous 24 heures. Cela vous aiderait ?"],
    },
    SeedTechnique {
        key: "feel-felt-found",
        phase: Phase::ObjectionHandling,
        name: "Ressentir, ressenti, découvert",
        summary: "Validez le ressenti, montrez que d’autres l’ont eu aussi, puis partagez ce qu’ils ont découvert.",
        steps: &["Je comprends ce que vous ressentez", "D’autres ont ressenti la même chose", "Ce qu’ils ont découvert, c’est que…"],
        basis: "La preuve sociale et la validation réduisent la défensive.",
        examples: &["Je comprends ; d’autres gestionnaires de flotte pensaient pareil, et ils ont découvert que le coût total baissait."],
    },
    SeedTechnique {
        key: "labelling",
        phase: Phase::ObjectionHandling,
        name: "Étiquetage",
        summary: "Nommez l’émotion derrière l’objection avant d’y répondre.",
        steps: &["On dirait que… / J’ai l’impression que…", "Pause", "Laissez confirmer ou corriger"],
        basis: "Nommer une émotion en réduit l’intensité (étiquetage affectif).",
        examples: &["J’ai l’impression que vous avez déjà été déçu par un fournisseur."],
    },
    SeedTechnique {
        key: "assumptive-close",
        phase: Phase::Closing,
        name: "Conclusion alternative",
        summary: "Proposez l’étape suivante comme un choix entre deux options plutôt que de demander s’il faut la faire.",
        steps: &["Résumez la valeur convenue", "Proposez deux créneaux précis", "Confirmez les détails"],
        basis: "Cadrage du choix : choisir entre deux options semble plus facile qu’un oui/non.",
        examples: &["Mardi à 10 h ou jeudi à 14 h, qu’est-ce qui vous arrange pour la démonstration ?"],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_scripts_are_valid_and_complete() {
        for lang in Locale::ALL {
            let s = script(lang);
            s.validate().unwrap_or_else(|e| panic!("{lang:?}: {e:?}"));
            assert_eq!(s.phases.iter().map(|p| p.phase).collect::<Vec<_>>(), Phase::ALL);
            for kind in ObjectionKind::ALL {
                assert!(s.handler(kind).is_some(), "{lang:?} handler for {kind:?}");
            }
        }
    }

    #[test]
    fn the_technique_library_covers_every_phase_in_both_languages() {
        for lang in Locale::ALL {
            for p in Phase::ALL {
                assert!(techniques(lang).iter().any(|t| t.phase == p), "{lang:?} {p:?}");
            }
        }
        let keys = |l| techniques(l).iter().map(|t| t.key).collect::<Vec<_>>();
        assert_eq!(keys(Locale::En), keys(Locale::Fr), "every technique exists in both languages");
    }
}
