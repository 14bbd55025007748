//! Authentication server functions: thin wrappers over `services::auth`.

use leptos::prelude::*;
use leptos::server_fn::codec::PostUrl;

use super::types::{LoginSettings, SessionInfo};
use crate::csrf::CsrfClient;
use crate::AppError;

#[cfg(feature = "ssr")]
mod imp {
    use super::*;
    use crate::features::auth::types::{OrgDto, UserDto};
    use crate::ssr::{current_user_id, server_ctx};
    use domain::{ErrorCode, Locale};

    pub fn user_dto(u: &services::auth::UserModel) -> UserDto {
        UserDto {
            id: u.id,
            email: u.email.clone(),
            name: u.name.clone(),
            locale: Locale::parse(&u.locale).unwrap_or_default(),
        }
    }

    pub async fn session_info() -> Result<Option<SessionInfo>, AppError> {
        let user_id = match current_user_id().await {
            Ok(id) => id,
            Err(e) if e.code == ErrorCode::Unauthenticated => return Ok(None),
            Err(e) => return Err(e),
        };
        let ctx = server_ctx()?;
        let (user, orgs, memberships) = match services::orgs::identity_of(&ctx.db, user_id).await {
            Ok(found) => found,
            // The account was deleted under a live session: treat as logged out.
            Err(e) if e.code == ErrorCode::Unauthenticated => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        crate::ssr::RequestMemo::remember(memberships);
        let orgs: Vec<OrgDto> = orgs.into_iter().map(OrgDto::from).collect();
        let current = user
            .last_org_id
            .and_then(|id| orgs.iter().find(|o| o.id == id).cloned())
            .or_else(|| orgs.first().cloned());
        Ok(Some(SessionInfo { user: user_dto(&user), orgs, current }))
    }

    /// The language the visitor is reading in, for new accounts.
    pub fn request_locale() -> Locale {
        use_context::<http::request::Parts>()
            .and_then(|p| crate::i18n::visitor_locale(&p.headers))
            .unwrap_or_default()
    }
}

#[cfg(feature = "ssr")]
pub use imp::{request_locale, session_info, user_dto};

/// The current visitor, or `None` when logged out.
#[server(client = CsrfClient, endpoint = "get_session")]
pub async fn get_session() -> Result<Option<SessionInfo>, AppError> {
    session_info().await
}

#[server(client = CsrfClient, endpoint = "login_options")]
pub async fn login_options() -> Result<LoginSettings, AppError> {
    let ctx = crate::ssr::server_ctx()?;
    Ok(LoginSettings { google: ctx.google_enabled, dev_login: ctx.dev_login })
}

/// Creates an account. Answers `true` when the visitor is now signed in
/// (no mail server: the embedded setup), `false` when a link went to the
/// address instead. With a mail server the answer is the same whether or not
/// the address already had an account (its owner is e-mailed instead), so
/// sign-up cannot be used to find out who has one.
#[server(client = CsrfClient, input = PostUrl, endpoint = "sign_up")]
pub async fn sign_up(name: String, email: String, password: String) -> Result<bool, AppError> {
    use services::auth::{SignUp, SignUpOutcome};
    let ctx = crate::ssr::server_ctx()?;
    // Per IP, counted before the (argon2) work: a script cannot mint
    // accounts or burn CPU faster than this.
    if let Some(ip) = crate::ssr::client_ip().await {
        crate::ssr::limit(&ctx.signup_limiter, &format!("ip:{ip}"), ctx.signup_max_per_ip)?;
    }
    let input = SignUp { email: &email, name: &name, password: &password, locale: request_locale() };
    if !ctx.mailer.is_configured() {
        // Nothing can reach the address: sign in at once. (Without a mail
        // server, a taken address has to be said: see README, Security.)
        let user = services::auth::sign_up(&ctx.db, input).await?;
        crate::ssr::start_session(user.id, &user.locale).await?;
        return Ok(true);
    }
    let base = ctx.public_url.trim_end_matches('/').to_string();
    // Both answers leave before any mail is sent, so delivery time does not
    // tell them apart either.
    let mailer = ctx.mailer.clone();
    match services::auth::sign_up_private(&ctx.db, input).await? {
        SignUpOutcome::Created(user) => {
            let token = services::auth::issue_verification(&ctx.db, user.id).await?;
            let link = format!("{base}/auth/verify-email?token={token}");
            tokio::spawn(async move {
                mailer.send_verification(&user.email, user.locale == "fr", &link).await;
            });
        }
        SignUpOutcome::Existing(user) => {
            let link = format!("{base}/login");
            tokio::spawn(async move {
                mailer.send_account_exists(&user.email, user.locale == "fr", &link).await;
            });
        }
    }
    Ok(false)
}

#[server(client = CsrfClient, input = PostUrl, endpoint = "log_in")]
pub async fn log_in(email: String, password: String) -> Result<(), AppError> {
    use crate::login_throttle::Admission;
    let ctx = crate::ssr::server_ctx()?;
    let ip = crate::ssr::client_ip().await;
    // Every attempt counts against the client's address, before any work.
    if let Some(ip) = ip {
        crate::ssr::limit(&ctx.login_limiter, &format!("ip:{ip}"), crate::ssr::LOGIN_MAX_PER_IP)?;
    }
    // Failures count per (account, client): a stranger failing on this
    // address is refused, the owner elsewhere is not. Malformed input cannot
    // match an account, so it only counts against the IP.
    let client = ip.unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let account = domain::validation::normalize_email(&email).ok();
    if let Some(account) = &account {
        match ctx.login_throttle.admit(account, client) {
            Admission::Refused(retry_after) => return Err(crate::ssr::too_many(retry_after)),
            Admission::Proceed(delay) if !delay.is_zero() => tokio::time::sleep(delay).await,
            Admission::Proceed(_) => {}
        }
    }
    match services::auth::log_in(&ctx.db, &email, &password).await {
        Ok(user) => {
            if let Some(account) = &account {
                ctx.login_throttle.succeeded(account, client);
            }
            crate::ssr::start_session(user.id, &user.locale).await
        }
        Err(e) => {
            if let (Some(account), domain::ErrorCode::InvalidCredentials) = (&account, e.code) {
                ctx.login_throttle.failed(account, client);
            }
            Err(e.into())
        }
    }
}

#[server(client = CsrfClient, endpoint = "log_out")]
pub async fn log_out() -> Result<(), AppError> {
    let session = crate::ssr::session().await?;
    session.flush().await.map_err(|e| {
        tracing::error!(error = %e, "session flush failed");
        AppError::new(domain::ErrorCode::Internal)
    })
}

/// Development login: only when `HANDOO_DEV_LOGIN` is set; refused otherwise.
#[server(client = CsrfClient, input = PostUrl, endpoint = "dev_login")]
pub async fn dev_login(email: String) -> Result<(), AppError> {
    use domain::ErrorCode;
    let ctx = crate::ssr::server_ctx()?;
    if !ctx.dev_login {
        return Err(AppError::new(ErrorCode::DevLoginDisabled));
    }
    let email = domain::validation::normalize_email(&email).map_err(AppError::from)?;
    // Only the seeded demo accounts, never an arbitrary user.
    if !services::seed::DEMO_USERS.iter().any(|(e, _, _)| *e == email) {
        return Err(AppError::new(ErrorCode::NotFound));
    }
    let user = services::auth::find_by_email(&ctx.db, &email)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    crate::ssr::start_session(user.id, &user.locale).await
}

/// The demo users offered by the development login.
#[server(client = CsrfClient, endpoint = "dev_login_users")]
pub async fn dev_login_users() -> Result<Vec<(String, String)>, AppError> {
    let ctx = crate::ssr::server_ctx()?;
    if !ctx.dev_login {
        return Err(AppError::new(domain::ErrorCode::DevLoginDisabled));
    }
    Ok(services::seed::DEMO_USERS.iter().map(|(e, n, _)| (e.to_string(), n.to_string())).collect())
}

#[server(client = CsrfClient, input = PostUrl, endpoint = "set_locale")]
pub async fn set_locale(locale: String) -> Result<(), AppError> {
    let locale = domain::Locale::parse(&locale)
        .ok_or_else(|| AppError::field(domain::ErrorCode::Validation, "locale"))?;
    let user_id = crate::ssr::current_user_id().await?;
    let ctx = crate::ssr::server_ctx()?;
    services::users::set_locale(&ctx.db, user_id, locale).await?;
    crate::ssr::set_locale_cookie(locale.as_str());
    Ok(())
}
