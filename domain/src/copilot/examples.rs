//! Example utterances for the semantic objection matcher: how prospects
//! actually say each objection when they avoid the stock phrases the rules
//! in [`super::objection`] look for, and (labelled `None`) ordinary answers
//! that sit near them in meaning but are not objections — a price
//! *question*, a request for the calendar invite by email, a busy but
//! willing prospect. The matcher takes the label of the nearest example, so
//! the neutral ones are what keep it from crying wolf.
//!
//! The model behind it (all-MiniLM-L6-v2) was trained on English; the
//! French examples help for close paraphrases, and French is otherwise
//! covered by the phrase rules.

use super::objection::ObjectionKind::{self, *};

pub const EXAMPLES: &[(Option<ObjectionKind>, &str)] = &[
    (Some(TooExpensive), "that is way more than we planned to spend"),
    (Some(TooExpensive), "we simply do not have the money for this right now"),
    (Some(TooExpensive), "the quote you sent is far above what we pay today"),
    (Some(TooExpensive), "our finance team would never approve that amount"),
    (Some(TooExpensive), "your competitor charges half of that"),
    (Some(TooExpensive), "that price is crazy"),
    (Some(TooExpensive), "money is really tight for us this year"),
    (Some(TooExpensive), "c'est bien au-dessus de ce qu'on peut payer"),
    (Some(NotInterested), "this is not something we are looking at"),
    (Some(NotInterested), "we have no use for a product like that"),
    (Some(NotInterested), "I really don't see the point for our company"),
    (Some(NotInterested), "we will pass on this one"),
    (Some(NotInterested), "this doesn't concern us at all"),
    (Some(NotInterested), "we have no need for anything like that"),
    (Some(NotInterested), "ça ne nous concerne pas du tout"),
    (Some(SendEmail), "just put it in writing and I will read it later"),
    (Some(SendEmail), "drop me a line with the details"),
    (Some(SendEmail), "mail me a brochure and we will see"),
    (Some(SendEmail), "can you write to me instead of calling"),
    (Some(SendEmail), "send over a deck and I'll have a look when I can"),
    (Some(SendEmail), "forward me your documentation"),
    (Some(SendEmail), "écrivez-moi plutôt, je lirai plus tard"),
    (Some(AlreadyHaveSupplier), "we signed with another company last year"),
    (Some(AlreadyHaveSupplier), "we are locked into a contract with someone else"),
    (Some(AlreadyHaveSupplier), "another vendor takes care of all of that for us"),
    (Some(AlreadyHaveSupplier), "we built our own tool in house for this"),
    (Some(AlreadyHaveSupplier), "our current partner does the job just fine"),
    (Some(AlreadyHaveSupplier), "we do all of that ourselves"),
    (Some(AlreadyHaveSupplier), "we have been a customer of theirs for years"),
    (Some(AlreadyHaveSupplier), "on travaille avec un autre prestataire depuis des années"),
    (Some(CallLater), "I'm about to walk into a meeting"),
    (Some(CallLater), "this is a bad moment, try me tomorrow morning"),
    (Some(CallLater), "I'm driving right now, can we do this another day"),
    (Some(CallLater), "I only have a minute, catch me later in the week"),
    (Some(CallLater), "we are in the middle of our busy season, come back in a month"),
    (Some(CallLater), "phone me on Monday instead"),
    (Some(CallLater), "je suis en rendez-vous, recontactez-moi demain"),
    (Some(NotDecisionMaker), "that decision sits with our head office"),
    (Some(NotDecisionMaker), "purchasing handles all of our suppliers, not me"),
    (Some(NotDecisionMaker), "I would need the owner to sign off on anything like this"),
    (Some(NotDecisionMaker), "you should speak to my manager about that"),
    (Some(NotDecisionMaker), "it's the board that approves new spending"),
    (Some(NotDecisionMaker), "I am not the right person to talk to about this"),
    (Some(NotDecisionMaker), "c'est le siège qui décide de ces choses-là"),
    (Some(NeedToThink), "I need to sleep on it"),
    (Some(NeedToThink), "give me a few days to mull it over"),
    (Some(NeedToThink), "I want to compare with other options first"),
    (Some(NeedToThink), "we will discuss it internally and come back to you"),
    (Some(NeedToThink), "I'm not ready to decide anything today"),
    (Some(NeedToThink), "I cannot commit to anything yet"),
    (Some(NeedToThink), "laissez-moi le temps d'en discuter en interne"),
    // Not objections.
    (Some(OptOut), "please don't call this number again"),
    (Some(OptOut), "I want my name removed from whatever list you bought"),
    (Some(OptOut), "this is the last time you call me, understood"),
    (Some(OptOut), "I never gave you permission to phone me"),
    (Some(OptOut), "make sure your company never contacts me again"),
    (Some(OptOut), "I'm going to report these calls if they continue"),
    (Some(OptOut), "je ne veux plus jamais recevoir d'appel de votre part"),
    (Some(OptOut), "je ne vous ai jamais autorisé à me téléphoner"),
    (Some(OptOut), "oubliez mon numéro une bonne fois pour toutes"),
    (Some(OptOut), "je vais signaler vos appels si ça continue"),
    (None, "how much does it cost per month"),
    (None, "what would the price be for twenty users"),
    (None, "send the calendar invite to my email address"),
    (None, "yes, that sounds good to me"),
    (None, "tell me more about how it works"),
    (None, "we have about forty vehicles in the fleet"),
    (None, "who am I speaking with"),
    (None, "our biggest problem is finding new customers"),
    (None, "today we use spreadsheets for that"),
    (None, "Tuesday at ten works for me"),
    (None, "I am the one who decides on this"),
    (None, "we are not happy with our current supplier"),
    (None, "I have a few minutes, go ahead"),
    (None, "that is cheaper than I expected"),
    (None, "sure, let's book a demo"),
    (None, "can you repeat that please"),
    (None, "hold on, let me find something to write with"),
    (None, "we sell mainly to retailers and wholesalers"),
    (None, "I run the operations side of the business"),
    (None, "how do I spell that"),
    (None, "we are growing fast this year"),
    (None, "hello, yes, speaking"),
    (None, "okay"),
    (None, "oui, allez-y, je vous écoute"),
    (None, "combien ça coûte par mois"),
    (None, "d'accord, ça me va"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copilot::objection::detect;

    #[test]
    fn every_kind_has_examples_and_neutral_ones_exist() {
        for kind in ObjectionKind::ALL {
            assert!(EXAMPLES.iter().filter(|(k, _)| *k == Some(kind)).count() >= 5, "{kind:?}");
        }
        assert!(EXAMPLES.iter().filter(|(k, _)| k.is_none()).count() >= 15);
    }

    /// The neutral examples must not trip the phrase rules either: if they
    /// did, the two detectors would disagree on what an objection is.
    #[test]
    fn neutral_examples_are_not_objections_to_the_rules() {
        for (_, text) in EXAMPLES.iter().filter(|(k, _)| k.is_none()) {
            assert!(detect(text).is_empty(), "{text}");
        }
    }
}
