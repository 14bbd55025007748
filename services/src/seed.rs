//! Demo data for local installs: one organisation, one user per role.
//! Idempotent: running it again changes nothing.

use domain::{Locale, Role};
use sea_orm::DatabaseConnection;

use crate::auth::{self, SignUp};
use crate::{orgs, ServiceResult};

pub const DEMO_ORG: &str = "Demo Motors";
/// Local-only password shared by the demo accounts (printed in the README).
pub const DEMO_PASSWORD: &str = "handoo-demo-2026";
pub const DEMO_USERS: [(&str, &str, Role); 3] = [
    ("owner@demo.handoo.test", "Olivia Owner", Role::Owner),
    ("admin@demo.handoo.test", "Adam Admin", Role::Admin),
    ("member@demo.handoo.test", "Mia Member", Role::Member),
];

pub async fn seed_demo(db: &DatabaseConnection) -> ServiceResult<bool> {
    if auth::find_by_email(db, DEMO_USERS[0].0).await?.is_some() {
        return Ok(false);
    }
    let mut ids = Vec::new();
    for (email, name, _) in DEMO_USERS {
        let user =
            auth::sign_up(db, SignUp { email, name, password: DEMO_PASSWORD, locale: Locale::En }).await?;
        ids.push(user.id);
    }
    let org = orgs::create(db, ids[0], DEMO_ORG).await?;
    for (idx, (_, _, role)) in DEMO_USERS.iter().enumerate().skip(1) {
        orgs::insert_membership(db, org.id, ids[idx], *role).await?;
        crate::users::set_last_org(db, ids[idx], Some(org.id)).await?;
    }
    seed_prospects(db, ids[0], org.id).await?;
    seed_knowledge(db, ids[0], org.id).await?;
    tracing::info!("seeded demo organisation");
    Ok(true)
}

/// Approved knowledge items (a vehicle best seller, a mileage tip, an
/// objection handler) so the copilot's right column has content.
async fn seed_knowledge(db: &DatabaseConnection, owner: uuid::Uuid, org: uuid::Uuid) -> ServiceResult<()> {
    use domain::copilot::knowledge::{KnowledgeDraft, KnowledgeKind, ReviewAction};

    use crate::copilot::knowledge;

    let ctx = crate::require_org(db, owner, org, domain::Permission::ReviewKnowledge).await?;
    let items = [
        (
            KnowledgeKind::BestSeller,
            "Clio V E-Tech: our best seller for city fleets",
            "Low running costs, 4.3 l/100 km in town, resale value above segment average. Lead with total cost of ownership.",
            vec![("model", "Renault Clio V E-Tech"), ("price_range", "€22k–27k"), ("why_it_sells", "Hybrid economy in urban use")],
        ),
        (
            KnowledgeKind::MileageTip,
            "Above 30,000 km a year, propose diesel or full hybrid",
            "High-mileage users recover the price difference within 18 months; show the fuel comparison.",
            vec![("mileage_range", "30,000 km+ / year")],
        ),
        (
            KnowledgeKind::ObjectionHandler,
            "“Too expensive”: compare total cost, not sticker price",
            "Ask what they compare with, then walk through fuel, maintenance and resale over 4 years: most fleets save 8–12 %.",
            vec![("objection", "too_expensive"), ("example_phrases", "Compared with what, exactly?")],
        ),
    ];
    for (kind, title, body, fields) in items {
        let draft = KnowledgeDraft {
            kind,
            title: title.into(),
            body: body.into(),
            tags: vec!["demo".into()],
            fields: fields.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        };
        let item = knowledge::create(db, &ctx, &draft).await?;
        knowledge::review(db, &ctx, item.id, &ReviewAction::Submit).await?;
        let approve = ReviewAction::Approve { expected_version: Some(item.version) };
        knowledge::review(db, &ctx, item.id, &approve).await?;
    }
    Ok(())
}

/// A dozen prospects in France and North America, a custom field, notes,
/// consent and one number on the do-not-call list, so every screen has data.
async fn seed_prospects(db: &DatabaseConnection, owner: uuid::Uuid, org: uuid::Uuid) -> ServiceResult<()> {
    use domain::data_schema::FieldKind;
    use domain::prospect::{
        ComplianceSettings, ConsentInput, ConsentMethod, CustomFieldDef, ProspectInput, ProspectStatus,
    };

    use crate::prospects;

    let ctx = crate::require_org(db, owner, org, domain::Permission::ManageSettings).await?;
    prospects::compliance::set_settings(
        db,
        &ctx,
        ComplianceSettings { default_region: Some("FR".into()), ..Default::default() },
    )
    .await?;
    let options = ["Retail", "Automotive", "Health", "Finance"].map(String::from).to_vec();
    prospects::custom_fields::create(
        db,
        &ctx,
        CustomFieldDef {
            key: "industry".into(),
            label: "Industry".into(),
            kind: FieldKind::Enum { options },
        },
    )
    .await?;
    let people = [
        (
            "Élodie",
            "Durand",
            "Garage Durand",
            "Gérante",
            "06 12 34 56 78",
            "elodie@garage-durand.fr",
            ProspectStatus::Interested,
            "Automotive",
            "vip",
        ),
        (
            "Jean",
            "Martin",
            "Boulangerie Martin",
            "Owner",
            "06 23 45 67 89",
            "jean@boulangerie-martin.fr",
            ProspectStatus::New,
            "Retail",
            "paris",
        ),
        (
            "Camille",
            "Bernard",
            "Pharmacie du Centre",
            "Pharmacienne",
            "04 78 12 34 56",
            "camille@pharmacie-centre.fr",
            ProspectStatus::Contacted,
            "Health",
            "lyon",
        ),
        (
            "Hugo",
            "Petit",
            "Petit Assurances",
            "Directeur",
            "05 56 12 34 56",
            "hugo@petit-assurances.fr",
            ProspectStatus::CallbackScheduled,
            "Finance",
            "bordeaux",
        ),
        (
            "Léa",
            "Moreau",
            "Moreau Auto",
            "Responsable ventes",
            "06 34 56 78 90",
            "lea@moreau-auto.fr",
            ProspectStatus::MeetingScheduled,
            "Automotive",
            "vip",
        ),
        (
            "Louis",
            "Roux",
            "Café du Port",
            "Patron",
            "06 45 67 89 01",
            "louis@cafeduport.fr",
            ProspectStatus::NotInterested,
            "Retail",
            "marseille",
        ),
        (
            "Sarah",
            "Johnson",
            "Bright Dental",
            "Practice manager",
            "+1 415 555 0132",
            "sarah@brightdental.com",
            ProspectStatus::New,
            "Health",
            "usa",
        ),
        (
            "Michael",
            "Brown",
            "Brown Motors",
            "Sales director",
            "+1 212 555 0187",
            "michael@brownmotors.com",
            ProspectStatus::Interested,
            "Automotive",
            "usa",
        ),
        (
            "Emily",
            "Clark",
            "Clark Realty",
            "Broker",
            "+1 312 555 0144",
            "emily@clarkrealty.com",
            ProspectStatus::Contacted,
            "Finance",
            "usa",
        ),
        (
            "Olivier",
            "Tremblay",
            "Tremblay Quincaillerie",
            "Propriétaire",
            "+1 514 555 0166",
            "olivier@tremblay.ca",
            ProspectStatus::New,
            "Retail",
            "quebec",
        ),
        (
            "Inès",
            "Lefèvre",
            "Lefèvre Optique",
            "Opticienne",
            "06 56 78 90 12",
            "ines@lefevre-optique.fr",
            ProspectStatus::New,
            "Health",
            "paris",
        ),
        (
            "Paul",
            "Girard",
            "Girard Transports",
            "Fleet manager",
            "06 67 89 01 23",
            "paul@girard-transports.fr",
            ProspectStatus::Contacted,
            "Automotive",
            "lyon",
        ),
    ];
    for (first, last, company, title, phone, email, status, industry, tag) in people {
        let mut custom = std::collections::BTreeMap::new();
        custom.insert("industry".to_string(), serde_json::Value::String(industry.into()));
        let p = prospects::create(
            db,
            &ctx,
            ProspectInput {
                first_name: first.into(),
                last_name: last.into(),
                company: company.into(),
                title: title.into(),
                phone: phone.into(),
                email: email.into(),
                status,
                owner_id: Some(owner),
                tags: vec![tag.into()],
                custom,
                ..Default::default()
            },
        )
        .await?;
        if status == ProspectStatus::Interested {
            prospects::timeline::add_note(db, &ctx, p.row.id, "Asked for a demo next week.").await?;
            let consent = ConsentInput {
                source: "Website contact form".into(),
                method: ConsentMethod::WebForm,
                captured_at: None,
                granted: Some(true),
            };
            prospects::timeline::add_consent(db, &ctx, p.row.id, consent).await?;
        }
    }
    prospects::compliance::add_dnc(db, &ctx, "06 99 99 99 99", "Asked never to be called").await?;
    Ok(())
}
