//! Organisations, roles, invitations, audit and cross-tenant isolation,
//! through server functions and REST, on SQLite and PostgreSQL.

use crate::common;

use common::{Backend, Client, TestApp, GOOD_PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

async fn user(app: &TestApp, name: &str, email: &str) -> Client {
    let c = app.client().await;
    c.sign_up(name, email, GOOD_PASSWORD).await.expect("sign up");
    c
}

/// Invites `email` into `org` as `role` and returns the raw token from the link.
/// The dashboard's (member count, pending invitations).
async fn overview(c: &Client, org: &str) -> (u64, Option<u64>) {
    let o = c.call("org_overview", &[("org_id", org)]).await.expect("overview");
    (o["member_count"].as_u64().unwrap(), o["pending_invites"].as_u64())
}

async fn invite(owner: &Client, org: &str, email: &str, role: &str) -> (String, Value) {
    let out = owner
        .call("invite_member", &[("org_id", org), ("email", email), ("role", role)])
        .await
        .expect("invite");
    let link = out["link"].as_str().expect("link shown when SMTP is not configured").to_string();
    let token = link.rsplit('/').next().unwrap().to_string();
    (token, out)
}

fn invitation_id(list: &Value, email: &str) -> String {
    list.as_array().unwrap().iter().find(|i| i["email"] == email).unwrap()["id"].as_str().unwrap().to_string()
}

on_both_backends!(create_rename_switch, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let ada = user(&app, "Ada", "ada@example.com").await;
    let a = ada.create_org("Acme Sàrl").await;
    let b = ada.create_org("Beta").await;
    let s = ada.session().await;
    assert_eq!(s["orgs"].as_array().unwrap().len(), 2);
    assert_eq!(s["current"]["id"], b, "the newest org becomes current");
    ada.call("switch_org", &[("org_id", &a)]).await.unwrap();
    let s = ada.session().await;
    assert_eq!(s["current"]["slug"], "acme-sarl");
    assert_eq!(s["current"]["role"], "owner");
    let renamed = ada.call("rename_org", &[("org_id", &a), ("name", "  Acme   Motors ")]).await.unwrap();
    assert_eq!(renamed["name"], "Acme Motors");
    assert_eq!(ada.call("rename_org", &[("org_id", &a), ("name", "")]).await, Err("name_required".into()));
    assert_eq!(
        ada.call("rename_org", &[("org_id", "not-a-uuid"), ("name", "x")]).await,
        Err("validation".into())
    );
    let audit = ada.call("audit_log", &[("org_id", &a)]).await.unwrap();
    let actions: Vec<&str> =
        audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["org.renamed", "org.created"]);
});

on_both_backends!(invitation_lifecycle, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    assert_eq!(overview(&owner, &org).await, (1, Some(0)));

    // New user accepts from the link, creating their account.
    let (token, out) = invite(&owner, &org, "Mia@Example.com", "member").await;
    assert_eq!(out["emailed"], false);
    assert_eq!(overview(&owner, &org).await, (1, Some(1)), "one pending invitation");
    assert_eq!(
        owner
            .call("invite_member", &[("org_id", &org), ("email", "mia@example.com"), ("role", "member")])
            .await,
        Err("already_invited".into())
    );
    let guest = app.client().await;
    let preview = guest.call("invite_preview", &[("token", &token)]).await.unwrap();
    assert_eq!(
        (preview["org_name"].as_str(), preview["status"].as_str(), preview["account_exists"].as_bool()),
        (Some("Acme"), Some("pending"), Some(false))
    );
    assert_eq!(
        guest
            .call("accept_invite_new_user", &[("token", &token), ("name", "Mia"), ("password", "weak")])
            .await,
        Err("weak_password".into())
    );
    guest
        .call("accept_invite_new_user", &[("token", &token), ("name", "Mia"), ("password", GOOD_PASSWORD)])
        .await
        .expect("accept as new user");
    let s = guest.session().await;
    assert_eq!(s["user"]["email"], "mia@example.com");
    assert_eq!(s["current"]["id"], org, "the member sees the org");
    assert_eq!(s["current"]["role"], "member");
    assert_eq!(overview(&owner, &org).await, (2, Some(0)), "accepted: a member, no longer pending");
    assert_eq!(overview(&guest, &org).await, (2, None), "members do not see invitation counts");

    // Single use.
    let again = app.client().await;
    assert_eq!(
        again
            .call("accept_invite_new_user", &[("token", &token), ("name", "X"), ("password", GOOD_PASSWORD)])
            .await,
        Err("invite_used".into())
    );
    assert_eq!(guest.call("accept_invite", &[("token", &token)]).await, Err("invite_used".into()));
    assert_eq!(
        owner
            .call("invite_member", &[("org_id", &org), ("email", "mia@example.com"), ("role", "member")])
            .await,
        Err("already_member".into())
    );

    // Existing user, signed in, accepts; a different signed-in user cannot.
    let bob = user(&app, "Bob", "bob@example.com").await;
    let (token_b, _) = invite(&owner, &org, "bob@example.com", "admin").await;
    assert_eq!(
        guest.call("accept_invite", &[("token", &token_b)]).await,
        Err("invite_email_mismatch".into())
    );
    bob.call("accept_invite", &[("token", &token_b)]).await.expect("bob accepts");
    assert_eq!(bob.session().await["current"]["role"], "admin");

    // Expired.
    let (token_c, _) = invite(&owner, &org, "carol@example.com", "member").await;
    let list = owner.call("list_invitations", &[("org_id", &org)]).await.unwrap();
    let carol_id: uuid::Uuid = invitation_id(&list, "carol@example.com").parse().unwrap();
    {
        // Time passes: the invitation's expiry moves into the past.
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        entity::invitations::Entity::update_many()
            .col_expr(
                entity::invitations::Column::ExpiresAt,
                sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
            )
            .filter(entity::invitations::Column::Id.eq(carol_id))
            .exec(&app.state.db)
            .await
            .unwrap();
    }
    let carol = app.client().await;
    assert_eq!(carol.call("invite_preview", &[("token", &token_c)]).await.unwrap()["status"], "expired");
    assert_eq!(
        carol
            .call(
                "accept_invite_new_user",
                &[("token", &token_c), ("name", "Carol"), ("password", GOOD_PASSWORD)]
            )
            .await,
        Err("invite_expired".into())
    );
    assert_eq!(carol.session().await, Value::Null, "no account was created");
    // Resend renews it with a new token; the old link stays dead.
    let renewed = owner
        .call("resend_invitation", &[("org_id", &org), ("invitation_id", &carol_id.to_string())])
        .await
        .unwrap();
    let new_token = renewed["link"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    assert_ne!(new_token, token_c);
    assert_eq!(carol.call("invite_preview", &[("token", &token_c)]).await, Err("invite_not_found".into()));
    assert_eq!(carol.call("invite_preview", &[("token", &new_token)]).await.unwrap()["status"], "pending");

    // Revoked.
    owner
        .call("revoke_invitation", &[("org_id", &org), ("invitation_id", &carol_id.to_string())])
        .await
        .unwrap();
    assert_eq!(
        carol
            .call(
                "accept_invite_new_user",
                &[("token", &new_token), ("name", "Carol"), ("password", GOOD_PASSWORD)]
            )
            .await,
        Err("invite_revoked".into())
    );
    assert_eq!(carol.call("invite_preview", &[("token", "garbage")]).await, Err("invite_not_found".into()));

    // The token is stored hashed, never in clear.
    use sea_orm::EntityTrait;
    let rows = entity::invitations::Entity::find().all(&app.state.db).await.unwrap();
    assert!(rows
        .iter()
        .all(|r| r.token_hash != token && r.token_hash != new_token && r.token_hash.len() == 64));

    // Mia and Bob joined; Carol's invitation expired, was resent, then revoked.
    assert_eq!(overview(&owner, &org).await, (3, Some(0)));

    let audit = owner.call("audit_log", &[("org_id", &org)]).await.unwrap();
    let actions: Vec<&str> =
        audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["member.invited", "member.joined", "invite.resent", "invite.revoked"] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
});

on_both_backends!(roles_and_last_owner, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let admin = app.client().await;
    let (t, _) = invite(&owner, &org, "adam@example.com", "admin").await;
    admin
        .call("accept_invite_new_user", &[("token", &t), ("name", "Adam"), ("password", GOOD_PASSWORD)])
        .await
        .unwrap();
    let member = app.client().await;
    let (t, _) = invite(&owner, &org, "mia@example.com", "member").await;
    member
        .call("accept_invite_new_user", &[("token", &t), ("name", "Mia"), ("password", GOOD_PASSWORD)])
        .await
        .unwrap();
    let ids = |s: Value| s["user"]["id"].as_str().unwrap().to_string();
    let (owner_id, admin_id, member_id) =
        (ids(owner.session().await), ids(admin.session().await), ids(member.session().await));

    // Members cannot manage; admins cannot touch ownership.
    assert_eq!(
        member.call("change_role", &[("org_id", &org), ("user_id", &admin_id), ("role", "member")]).await,
        Err("forbidden".into())
    );
    assert_eq!(
        member
            .call("invite_member", &[("org_id", &org), ("email", "x@example.com"), ("role", "member")])
            .await,
        Err("forbidden".into())
    );
    assert_eq!(
        admin.call("change_role", &[("org_id", &org), ("user_id", &member_id), ("role", "owner")]).await,
        Err("forbidden".into())
    );
    assert_eq!(
        admin.call("change_role", &[("org_id", &org), ("user_id", &owner_id), ("role", "member")]).await,
        Err("forbidden".into())
    );
    assert_eq!(
        admin.call("remove_member", &[("org_id", &org), ("user_id", &owner_id)]).await,
        Err("forbidden".into())
    );
    assert_eq!(
        admin
            .call("invite_member", &[("org_id", &org), ("email", "boss@example.com"), ("role", "owner")])
            .await,
        Err("forbidden".into())
    );
    assert_eq!(
        admin.call("change_role", &[("org_id", &org), ("user_id", &member_id), ("role", "superuser")]).await,
        Err("validation".into())
    );
    // Every refusal above changed nothing: same roles, no pending invitation,
    // nothing in the audit log but the two invitations accepted.
    let roles: Vec<(String, String)> = owner
        .call("list_members", &[("org_id", &org)])
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap().to_string(), m["role"].as_str().unwrap().to_string()))
        .collect();
    for (email, role) in
        [("olivia@example.com", "owner"), ("adam@example.com", "admin"), ("mia@example.com", "member")]
    {
        assert!(roles.contains(&(email.to_string(), role.to_string())), "{email} is still {role}: {roles:?}");
    }
    let pending = owner.call("list_invitations", &[("org_id", &org)]).await.unwrap();
    assert!(
        !pending.to_string().contains("x@example.com") && !pending.to_string().contains("boss@example.com"),
        "refused invitations were not created: {pending}"
    );
    let audit = owner.call("audit_log", &[("org_id", &org)]).await.unwrap();
    assert!(
        !audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "member.role_changed" || e["action"] == "member.removed"),
        "{audit}"
    );
    // Admins can promote a member to admin.
    assert_eq!(
        admin
            .call("change_role", &[("org_id", &org), ("user_id", &member_id), ("role", "admin")])
            .await
            .unwrap()["role"],
        "admin"
    );

    // The last owner can neither leave nor be demoted...
    assert_eq!(
        owner.call("change_role", &[("org_id", &org), ("user_id", &owner_id), ("role", "admin")]).await,
        Err("last_owner".into())
    );
    assert_eq!(owner.call("leave_org", &[("org_id", &org)]).await, Err("last_owner".into()));
    // ...until another owner exists.
    owner.call("change_role", &[("org_id", &org), ("user_id", &admin_id), ("role", "owner")]).await.unwrap();
    owner
        .call("change_role", &[("org_id", &org), ("user_id", &owner_id), ("role", "member")])
        .await
        .expect("demote self now");
    assert_eq!(owner.session().await["current"]["role"], "member");
    // Removal.
    admin.call("remove_member", &[("org_id", &org), ("user_id", &member_id)]).await.unwrap();
    assert_eq!(member.session().await["orgs"].as_array().unwrap().len(), 0);
    assert_eq!(member.call("list_members", &[("org_id", &org)]).await, Err("not_found".into()));

    let audit = admin.call("audit_log", &[("org_id", &org)]).await.unwrap();
    let changes = audit.as_array().unwrap().iter().filter(|e| e["action"] == "member.role_changed").count();
    assert_eq!(changes, 3);
    assert!(audit.as_array().unwrap().iter().any(|e| e["action"] == "member.removed"));
    // Members cannot read the audit log.
    assert_eq!(owner.call("audit_log", &[("org_id", &org)]).await, Err("forbidden".into()));
});

on_both_backends!(cross_tenant_denial, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let alice = user(&app, "Alice", "alice@a.example").await;
    let org_a = alice.create_org("Org A").await;
    let mallory = user(&app, "Mallory", "mallory@b.example").await;
    let org_b = mallory.create_org("Org B").await;
    let alice_id = alice.session().await["user"]["id"].as_str().unwrap().to_string();

    // Server functions: reading or changing org A as a member of org B is "not found".
    for (name, args) in [
        ("org_overview", vec![("org_id", org_a.as_str())]),
        ("list_members", vec![("org_id", org_a.as_str())]),
        ("list_invitations", vec![("org_id", org_a.as_str())]),
        ("audit_log", vec![("org_id", org_a.as_str())]),
        ("switch_org", vec![("org_id", org_a.as_str())]),
        ("rename_org", vec![("org_id", org_a.as_str()), ("name", "Pwned")]),
        ("invite_member", vec![("org_id", org_a.as_str()), ("email", "m2@b.example"), ("role", "owner")]),
        ("change_role", vec![("org_id", org_a.as_str()), ("user_id", alice_id.as_str()), ("role", "member")]),
        ("remove_member", vec![("org_id", org_a.as_str()), ("user_id", alice_id.as_str())]),
        ("leave_org", vec![("org_id", org_a.as_str())]),
    ] {
        assert_eq!(mallory.call(name, &args).await, Err("not_found".into()), "{name}");
    }
    // Using her own org id with Alice's user id does not reach Alice either.
    assert_eq!(
        mallory.call("remove_member", &[("org_id", &org_b), ("user_id", &alice_id)]).await,
        Err("not_found".into())
    );
    // REST goes through the same authorization path.
    assert_eq!(mallory.rest(Method::GET, &format!("/orgs/{org_a}/members"), None).await.0, 404);
    assert_eq!(
        mallory.rest(Method::PATCH, &format!("/orgs/{org_a}"), Some(json!({"name": "Pwned"}))).await.0,
        404
    );
    assert_eq!(mallory.rest(Method::DELETE, &format!("/orgs/{org_a}/members/{alice_id}"), None).await.0, 404);
    // Nothing changed for Alice.
    let s = alice.session().await;
    assert_eq!(s["current"]["name"], "Org A");
    assert_eq!(alice.call("list_members", &[("org_id", &org_a)]).await.unwrap().as_array().unwrap().len(), 1);
    // Anonymous callers are asked to log in.
    let anon = app.client().await;
    assert_eq!(anon.call("list_members", &[("org_id", &org_a)]).await, Err("unauthenticated".into()));
    assert_eq!(anon.rest(Method::GET, "/orgs", None).await.0, 401);
});

on_both_backends!(rest_api, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let ada = user(&app, "Ada", "ada@example.com").await;
    let org = ada.create_org("Acme").await;
    let (status, health) = ada.rest(Method::GET, "/health", None).await;
    assert_eq!((status, health["database"].as_str()), (200, Some("ok")));
    let (status, orgs) = ada.rest(Method::GET, "/orgs", None).await;
    assert_eq!((status, orgs[0]["id"].as_str()), (200, Some(org.as_str())));
    let (status, body) = ada.rest(Method::PATCH, &format!("/orgs/{org}"), Some(json!({"name": ""}))).await;
    assert_eq!(
        (status, body["code"].as_str(), body["field"].as_str()),
        (422, Some("name_required"), Some("name"))
    );
    let (status, body) = ada.rest(Method::PATCH, &format!("/orgs/{org}"), Some(json!({"nom": 3}))).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation")));
    let (status, body) = ada.rest(Method::GET, "/orgs/not-a-uuid/members", None).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation")));
    let me = ada.session().await["user"]["id"].as_str().unwrap().to_string();
    let (status, body) = ada.rest(Method::DELETE, &format!("/orgs/{org}/members/{me}"), None).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("last_owner")));
    let (status, _) = ada.rest(Method::GET, "/nope", None).await;
    assert_eq!(status, 404);
});
