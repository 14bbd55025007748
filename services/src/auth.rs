//! Accounts: email + password (argon2id) and OAuth identities.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use domain::{validation, ErrorCode, Locale};
use entity::{email_verifications, oauth_accounts, password_credentials, users};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter,
};
use std::sync::OnceLock;

use crate::{new_id, now, ServiceError, ServiceResult};

pub use entity::users::Model as UserModel;

pub struct SignUp<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password: &'a str,
    pub locale: Locale,
}

/// Hashes with argon2id and the OWASP-recommended defaults of the crate
/// (19 MiB, 2 iterations, 1 lane); parameters live in the PHC string, so they
/// can be raised later without invalidating existing hashes.
pub fn hash_password(password: &str) -> ServiceResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| {
        tracing::error!(error = %e, "argon2 hashing failed");
        ServiceError::internal()
    })
}

/// Argon2 costs ~20 MiB and tens of milliseconds of CPU: run it on the
/// blocking pool so request threads keep serving while it works.
pub async fn hash_password_blocking(password: &str) -> ServiceResult<String> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| ServiceError::internal())?
}

pub async fn verify_password_blocking(password: &str, phc: &str) -> bool {
    let (password, phc) = (password.to_string(), phc.to_string());
    tokio::task::spawn_blocking(move || verify_password(&password, &phc)).await.unwrap_or(false)
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A real hash to verify against when the account does not exist, so that a
/// wrong email and a wrong password take the same time (no user enumeration).
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password-0").unwrap_or_default())
}

pub async fn find_by_email<C: ConnectionTrait>(db: &C, email: &str) -> ServiceResult<Option<users::Model>> {
    Ok(users::Entity::find().filter(users::Column::Email.eq(email)).one(db).await?)
}

/// Creates a user with a password. Validates everything before touching the
/// database; the user and credential rows are written in one transaction.
pub async fn sign_up(db: &DatabaseConnection, input: SignUp<'_>) -> ServiceResult<users::Model> {
    let email = validation::normalize_email(input.email)?;
    let name = validation::normalize_name("name", input.name)?;
    validation::check_password(input.password, Some(&email))?;
    crate::passwords::check_strength(input.password, &[&email, &name])?;
    if find_by_email(db, &email).await?.is_some() {
        return Err(ServiceError::field(ErrorCode::EmailTaken, "email"));
    }
    let hash = hash_password_blocking(input.password).await?;
    let txn = crate::db::begin_write(db).await?;
    let user = insert_user(&txn, &email, &name, input.locale, false).await.map_err(|e| {
        // Two sign-ups racing for one address: the unique index decides.
        if e.code == ErrorCode::Conflict {
            ServiceError::field(ErrorCode::EmailTaken, "email")
        } else {
            e
        }
    })?;
    insert_password(&txn, user.id, hash).await?;
    txn.commit().await?;
    Ok(user)
}

/// What a sign-up did, when the answer must not tell which (see
/// [`sign_up_private`]).
#[derive(Debug)]
pub enum SignUpOutcome {
    /// A new account (not yet verified).
    Created(users::Model),
    /// The address already had an account: nothing was changed.
    Existing(users::Model),
}

/// Sign-up that does not reveal whether an address has an account: an
/// existing address is not an error but [`SignUpOutcome::Existing`], after
/// the same validation and the same password hashing work as a new one (so
/// the answer takes as long). The caller answers both alike and e-mails the
/// address: a verification link, or "you already have an account".
pub async fn sign_up_private(db: &DatabaseConnection, input: SignUp<'_>) -> ServiceResult<SignUpOutcome> {
    let email = validation::normalize_email(input.email)?;
    let name = validation::normalize_name("name", input.name)?;
    validation::check_password(input.password, Some(&email))?;
    crate::passwords::check_strength(input.password, &[&email, &name])?;
    if let Some(existing) = find_by_email(db, &email).await? {
        let _ = hash_password_blocking(input.password).await?;
        return Ok(SignUpOutcome::Existing(existing));
    }
    match sign_up(db, input).await {
        Ok(user) => Ok(SignUpOutcome::Created(user)),
        // Lost a race with another sign-up for the same address.
        Err(e) if e.code == ErrorCode::EmailTaken => match find_by_email(db, &email).await? {
            Some(existing) => Ok(SignUpOutcome::Existing(existing)),
            None => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// How long an e-mail verification link stays valid.
pub const VERIFY_TTL_HOURS: i64 = 48;

/// A fresh verification token for `user_id` (only its hash is stored).
pub async fn issue_verification(db: &DatabaseConnection, user_id: uuid::Uuid) -> ServiceResult<String> {
    let token = crate::tokens::random_token();
    let at = now();
    email_verifications::Entity::insert(email_verifications::ActiveModel {
        token_hash: Set(crate::tokens::hash_token(&token)),
        user_id: Set(user_id),
        created_at: Set(at),
        expires_at: Set(at + chrono::Duration::hours(VERIFY_TTL_HOURS)),
    })
    .exec_without_returning(db)
    .await?;
    Ok(token)
}

/// Follows a verification link: marks the address verified and spends every
/// link of that user. Unknown, used or expired tokens are all `NotFound`.
pub async fn verify_email(db: &DatabaseConnection, token: &str) -> ServiceResult<users::Model> {
    let not_found = || ServiceError::new(ErrorCode::NotFound);
    if token.len() > 128 {
        return Err(not_found());
    }
    let txn = crate::db::begin_write(db).await?;
    let row = email_verifications::Entity::find_by_id(crate::tokens::hash_token(token))
        .one(&txn)
        .await?
        .ok_or_else(not_found)?;
    if row.expires_at < now() {
        return Err(not_found());
    }
    email_verifications::Entity::delete_many()
        .filter(email_verifications::Column::UserId.eq(row.user_id))
        .exec(&txn)
        .await?;
    let user = users::Entity::find_by_id(row.user_id).one(&txn).await?.ok_or_else(not_found)?;
    let mut am = user.into_active_model();
    am.email_verified = Set(true);
    am.updated_at = Set(now());
    let user = am.update(&txn).await?;
    txn.commit().await?;
    Ok(user)
}

pub(crate) async fn insert_password<C: ConnectionTrait>(
    db: &C,
    user_id: uuid::Uuid,
    hash: String,
) -> ServiceResult<()> {
    password_credentials::Entity::insert(password_credentials::ActiveModel {
        user_id: Set(user_id),
        password_hash: Set(hash),
        updated_at: Set(now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub(crate) async fn insert_user<C: ConnectionTrait>(
    db: &C,
    email: &str,
    name: &str,
    locale: Locale,
    email_verified: bool,
) -> ServiceResult<users::Model> {
    let at = now();
    let user = users::ActiveModel {
        id: Set(new_id()),
        email: Set(email.to_string()),
        name: Set(name.to_string()),
        locale: Set(locale.as_str().to_string()),
        email_verified: Set(email_verified),
        last_org_id: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    };
    Ok(user.insert(db).await?)
}

/// Checks an email and password. Every failure is the same `InvalidCredentials`.
pub async fn log_in<C: ConnectionTrait>(db: &C, email: &str, password: &str) -> ServiceResult<users::Model> {
    let invalid = || ServiceError::new(ErrorCode::InvalidCredentials);
    if password.len() > validation::PASSWORD_MAX_BYTES {
        return Err(invalid());
    }
    let email = match validation::normalize_email(email) {
        Ok(e) => e,
        Err(_) => return Err(invalid()),
    };
    let user = find_by_email(db, &email).await?;
    let credential = match &user {
        Some(u) => password_credentials::Entity::find_by_id(u.id).one(db).await?,
        None => None,
    };
    let phc = credential.as_ref().map(|c| c.password_hash.as_str()).unwrap_or_else(|| dummy_hash());
    let password_ok = verify_password_blocking(password, phc).await;
    match (user, credential, password_ok) {
        (Some(user), Some(_), true) => Ok(user),
        _ => Err(invalid()),
    }
}

/// What an OpenID Connect provider told us about the person signing in.
#[derive(Debug, Clone)]
pub struct OauthIdentity {
    pub provider: String,
    pub subject: String,
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// Who an external identity signed in as.
#[derive(Debug)]
pub struct OauthSignIn {
    pub user: users::Model,
    /// The account existed with an unproven email and its password was just
    /// voided: whoever is signed in to it with that password must be signed
    /// out too (the caller owns the sessions).
    pub took_over: bool,
}

/// Signs in with an external identity: a known (provider, subject) signs in
/// its user; otherwise a *verified* email links to the existing account with
/// that email, or creates a new one. Unverified emails are refused: linking on
/// them would let anyone take over an account by claiming its address.
pub async fn oauth_sign_in(
    db: &DatabaseConnection,
    identity: OauthIdentity,
    locale: Locale,
) -> ServiceResult<OauthSignIn> {
    if let Some(link) = oauth_accounts::Entity::find()
        .filter(oauth_accounts::Column::Provider.eq(&identity.provider))
        .filter(oauth_accounts::Column::Subject.eq(&identity.subject))
        .one(db)
        .await?
    {
        let user =
            users::Entity::find_by_id(link.user_id).one(db).await?.ok_or_else(ServiceError::internal)?;
        return Ok(OauthSignIn { user, took_over: false });
    }
    if !identity.email_verified {
        return Err(ServiceError::new(ErrorCode::OauthEmailUnverified));
    }
    let email = validation::normalize_email(&identity.email)
        .map_err(|_| ServiceError::new(ErrorCode::OauthFailed))?;
    let txn = crate::db::begin_write(db).await?;
    let mut took_over = false;
    let user = match find_by_email(&txn, &email).await? {
        Some(existing) => {
            if !existing.email_verified {
                took_over = true;
                // Whoever registered this address never proved they own it:
                // the verified owner takes it over, and the unproven password
                // goes (else a squatter could keep logging in).
                password_credentials::Entity::delete_by_id(existing.id).exec(&txn).await?;
                let mut am = existing.into_active_model();
                am.email_verified = Set(true);
                am.updated_at = Set(now());
                am.update(&txn).await?
            } else {
                existing
            }
        }
        None => {
            let fallback = email.split('@').next().unwrap_or("user").to_string();
            let name = identity
                .name
                .as_deref()
                .and_then(|n| validation::normalize_name("name", n).ok())
                .unwrap_or(fallback);
            insert_user(&txn, &email, &name, locale, true).await?
        }
    };
    oauth_accounts::Entity::insert(oauth_accounts::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user.id),
        provider: Set(identity.provider.clone()),
        subject: Set(identity.subject.clone()),
        email: Set(email),
        created_at: Set(now()),
    })
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(OauthSignIn { user, took_over })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_round_trip() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("x", "not a phc string"));
    }
}
