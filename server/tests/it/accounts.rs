//! Accounts and sessions through the HTTP boundary, on SQLite and PostgreSQL.

use crate::common;

use common::{Backend, TestApp, GOOD_PASSWORD};

on_both_backends!(sign_up_log_in_log_out, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let c = app.client().await;
    assert_eq!(c.session().await, serde_json::Value::Null, "anonymous visitor has no session");

    c.sign_up("Ada Lovelace", "Ada@Example.com", GOOD_PASSWORD).await.expect("sign up");
    let s = c.session().await;
    assert_eq!(s["user"]["email"], "ada@example.com", "email is normalised");
    assert_eq!(s["orgs"].as_array().unwrap().len(), 0);

    c.call("log_out", &[]).await.expect("log out");
    assert_eq!(c.session().await, serde_json::Value::Null);

    assert_eq!(c.log_in("ada@example.com", "wrong password here").await, Err("invalid_credentials".into()));
    assert_eq!(c.log_in("nobody@example.com", GOOD_PASSWORD).await, Err("invalid_credentials".into()));
    c.log_in(" ADA@example.com ", GOOD_PASSWORD).await.expect("log in");
    assert_eq!(c.session().await["user"]["name"], "Ada Lovelace");
});

on_both_backends!(bad_sign_ups_change_nothing, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let c = app.client().await;
    c.sign_up("Ada", "ada@example.com", GOOD_PASSWORD).await.unwrap();
    let other = app.client().await;
    assert_eq!(other.sign_up("Imposter", "ADA@example.com", GOOD_PASSWORD).await, Err("email_taken".into()));
    assert_eq!(other.sign_up("Bob", "bob@example.com", "short").await, Err("weak_password".into()));
    assert_eq!(other.sign_up("Bob", "bob@example.com", "password1234").await, Err("weak_password".into()));
    assert_eq!(other.sign_up("Bob", "not-an-email", GOOD_PASSWORD).await, Err("invalid_email".into()));
    assert_eq!(other.sign_up("   ", "bob@example.com", GOOD_PASSWORD).await, Err("name_required".into()));
    // Malformed form input (missing field) is a validation error, not a crash.
    assert!(other.call("sign_up", &[("name", "Bob")]).await.is_err());
    // None of the failures created an account or a session.
    assert_eq!(other.session().await, serde_json::Value::Null);
    assert_eq!(other.log_in("bob@example.com", GOOD_PASSWORD).await, Err("invalid_credentials".into()));
});

/// A log-in attempt arriving through a trusted proxy for `client`.
async fn log_in_from(c: &common::Client, client: &str, email: &str, password: &str) -> (u16, String) {
    let res = c
        .http
        .post(format!("{}/api/log_in", c.base))
        .header("x-csrf-token", &c.csrf)
        .header("accept", "application/json")
        .header("x-forwarded-for", client)
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

on_both_backends!(a_stranger_cannot_lock_the_owner_out, |backend: Backend| async move {
    let Some(app) = TestApp::spawn_with(backend, &[("HANDOO_TRUSTED_PROXIES", "127.0.0.1")]).await else {
        return;
    };
    let owner = app.client().await;
    owner.sign_up("Ada", "ada@example.com", GOOD_PASSWORD).await.unwrap();
    owner.call("log_out", &[]).await.unwrap();
    let attacker = app.client().await;
    for _ in 0..server::LOGIN_MAX_FAILURES {
        let (status, body) =
            log_in_from(&attacker, "203.0.113.9", "ada@example.com", "wrong password!!").await;
        assert_eq!(status, 401, "{body}");
    }
    // The failing client is refused, even with the right password…
    let (status, body) = log_in_from(&attacker, "203.0.113.9", "ada@example.com", GOOD_PASSWORD).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("rate_limited"), "{body}");
    // …while the owner, on another network, logs in at once.
    let (status, body) = log_in_from(&owner, "198.51.100.7", "ada@example.com", GOOD_PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert!(owner.session().await["user"]["email"] == "ada@example.com");
});

on_both_backends!(an_account_under_attack_slows_down_instead_of_locking, |backend: Backend| async move {
    let Some(app) = TestApp::spawn_with(backend, &[("HANDOO_TRUSTED_PROXIES", "127.0.0.1")]).await else {
        return;
    };
    let owner = app.client().await;
    owner.sign_up("Ada", "ada@example.com", GOOD_PASSWORD).await.unwrap();
    owner.call("log_out", &[]).await.unwrap();
    let bot = app.client().await;
    // Many addresses, a few guesses each: none is refused outright.
    for i in 0..4 {
        for _ in 0..3 {
            let (status, _) =
                log_in_from(&bot, &format!("203.0.113.{i}"), "ada@example.com", "guess guess guess").await;
            assert_eq!(status, 401);
        }
    }
    // A client that has been failing now waits before its password is checked.
    let started = std::time::Instant::now();
    let (status, _) = log_in_from(&bot, "203.0.113.1", "ada@example.com", "guess guess guess").await;
    assert_eq!(status, 401);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(500),
        "no slowdown: {:?}",
        started.elapsed()
    );
    // The owner still gets in.
    let (status, body) = log_in_from(&owner, "198.51.100.7", "ada@example.com", GOOD_PASSWORD).await;
    assert_eq!(status, 200, "{body}");
});

on_both_backends!(sign_up_is_rate_limited_per_ip, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let c = app.client().await;
    // Every attempt counts, failed ones too (they are counted before any work).
    for i in 0..server::SIGNUP_MAX_PER_IP - 1 {
        let email = format!("user{i}@example.com");
        assert_eq!(c.sign_up("Bot", &email, "short").await, Err("weak_password".into()));
    }
    c.sign_up("Last", "last@example.com", GOOD_PASSWORD).await.expect("the budget's last sign-up");
    let other = app.client().await;
    assert_eq!(
        other.sign_up("Too many", "more@example.com", GOOD_PASSWORD).await,
        Err("rate_limited".into())
    );
    let (status, _) = other
        .call_without_csrf(
            "sign_up",
            &[("name", "Again"), ("email", "again@example.com"), ("password", GOOD_PASSWORD)],
            Some(&other.csrf),
        )
        .await;
    assert_eq!(status, 429);
    // The refused sign-ups created nothing.
    assert_eq!(other.log_in("more@example.com", GOOD_PASSWORD).await, Err("invalid_credentials".into()));
});

on_both_backends!(csrf_is_required_for_state_changes, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let c = app.client().await;
    c.sign_up("Ada", "ada@example.com", GOOD_PASSWORD).await.unwrap();
    let (status, res) = c.call_without_csrf("create_org", &[("name", "Sneaky")], None).await;
    assert_eq!((status, res), (403, Err("csrf_missing".into())));
    // Typed errors carry their HTTP status (not a blanket 500).
    let anon = app.client().await;
    let (status, res) = anon
        .call_without_csrf(
            "list_members",
            &[("org_id", "00000000-0000-0000-0000-000000000000")],
            Some(&anon.csrf),
        )
        .await;
    assert_eq!((status, res), (401, Err("unauthenticated".into())));
    let (status, res) =
        c.call_without_csrf("create_org", &[("name", "Sneaky")], Some("x".repeat(43).as_str())).await;
    assert_eq!((status, res), (403, Err("csrf_invalid".into())));
    // A no-JS form post may carry the token as a field instead.
    let (status, res) =
        c.call_without_csrf("create_org", &[("name", "Via form"), ("_csrf", c.csrf.as_str())], None).await;
    assert_eq!(status, 200, "{res:?}");
    let orgs = c.session().await["orgs"].as_array().unwrap().clone();
    assert_eq!(orgs.len(), 1, "only the form post with a token created an org");
    assert_eq!(orgs[0]["name"], "Via form");
});

on_both_backends!(dev_login_is_off_by_default, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let c = app.client().await;
    assert_eq!(
        c.call("dev_login", &[("email", "owner@demo.handoo.test")]).await,
        Err("dev_login_disabled".into())
    );
    assert_eq!(c.call("dev_login_users", &[]).await, Err("dev_login_disabled".into()));
    assert_eq!(c.session().await, serde_json::Value::Null);

    let Some(app) =
        TestApp::spawn_with(backend, &[("HANDOO_DEV_LOGIN", "true"), ("HANDOO_SEED_DEMO", "true")]).await
    else {
        return;
    };
    let c = app.client().await;
    c.call("dev_login", &[("email", "owner@demo.handoo.test")]).await.expect("dev login when enabled");
    // Even when enabled it only opens the demo accounts.
    let other = app.client().await;
    other.sign_up("Real", "real@example.com", GOOD_PASSWORD).await.unwrap();
    other.call("log_out", &[]).await.unwrap();
    assert_eq!(other.call("dev_login", &[("email", "real@example.com")]).await, Err("not_found".into()));
    assert_eq!(c.session().await["current"]["name"], "Demo Motors");
});

on_both_backends!(session_cookie_is_hardened, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let c = app.client().await;
    let res = c
        .http
        .post(format!("{}/api/sign_up", c.base))
        .header("x-csrf-token", &c.csrf)
        .form(&[("name", "Ada"), ("email", "ada@example.com"), ("password", GOOD_PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> =
        res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    let session = cookies.iter().find(|c| c.starts_with("handoo_session=")).expect("session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Lax"), "{session}");
    assert!(!session.contains("Secure"), "plain http in tests: {session}");
});

on_both_backends!(https_cookies_carry_the_host_prefix, |backend: Backend| async move {
    let Some(app) = TestApp::spawn_with(backend, &[("HANDOO_COOKIE_SECURE", "true")]).await else { return };
    let http = reqwest::Client::new();
    let base = app.base.clone();
    let res = http.get(format!("{base}/login")).send().await.unwrap();
    let set: Vec<String> =
        res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    let csrf = set.iter().find(|c| c.starts_with("__Host-handoo_csrf=")).expect("prefixed csrf cookie");
    assert!(csrf.contains("Secure") && csrf.contains("Path=/") && !csrf.contains("Domain"), "{csrf}");
    let token = csrf.split(';').next().unwrap().split_once('=').unwrap().1.to_string();

    let sign_up = |cookie: String, token: String| {
        let http = http.clone();
        let url = format!("{base}/api/sign_up");
        async move {
            http.post(url)
                .header("cookie", cookie)
                .header("x-csrf-token", token)
                .form(&[("name", "Ada"), ("email", "ada@example.com"), ("password", GOOD_PASSWORD)])
                .send()
                .await
                .unwrap()
        }
    };
    // A token planted under the unprefixed name (what a sibling subdomain could set) is ignored.
    let planted = sign_up(format!("handoo_csrf={token}"), token.clone()).await;
    assert_eq!(planted.status(), 403);
    assert_eq!(planted.json::<serde_json::Value>().await.unwrap()["code"], "csrf_missing");

    let ok = sign_up(format!("__Host-handoo_csrf={token}"), token.clone()).await;
    assert_eq!(ok.status(), 200);
    let set: Vec<String> =
        ok.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    let session = set.iter().find(|c| c.starts_with("__Host-handoo_session=")).expect("prefixed session");
    assert!(session.contains("Secure") && session.contains("HttpOnly"), "{session}");
});

on_both_backends!(component_gallery_is_off_by_default, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let c = app.client().await;
    assert_eq!(c.get("/dev/gallery").await.status(), 404);
    assert_eq!(c.get("/dev/gallery/").await.status(), 404);

    let Some(app) = TestApp::spawn_with(backend, &[("HANDOO_COMPONENT_GALLERY", "true")]).await else {
        return;
    };
    let c = app.client().await;
    let res = c.get("/dev/gallery").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    for section in ["buttons", "inputs", "badges", "cards", "tabs", "table", "overlays"] {
        assert!(html.contains(&format!("data-testid=\"gallery-{section}\"")), "section {section} missing");
    }
});

/// A sign-up attempt (weak password: refused by validation, after the
/// limiter counted it) arriving through a proxy that reports `forwarded_for`.
async fn sign_up_via_proxy(c: &common::Client, forwarded_for: &str, email: &str) -> u16 {
    c.http
        .post(format!("{}/api/sign_up", c.base))
        .header("x-csrf-token", &c.csrf)
        .header("accept", "application/json")
        .header("x-forwarded-for", forwarded_for)
        .form(&[("name", "Bot"), ("email", email), ("password", "short")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

on_both_backends!(behind_a_trusted_proxy_each_visitor_has_its_own_budget, |backend: Backend| async move {
    let Some(app) = TestApp::spawn_with(backend, &[("HANDOO_TRUSTED_PROXIES", "127.0.0.1")]).await else {
        return;
    };
    let c = app.client().await;
    for i in 0..server::SIGNUP_MAX_PER_IP {
        assert_ne!(sign_up_via_proxy(&c, "198.51.100.1", &format!("a{i}@example.com")).await, 429);
    }
    assert_eq!(
        sign_up_via_proxy(&c, "198.51.100.1", "a@example.com").await,
        429,
        "that visitor's budget is spent"
    );
    // A hop the visitor wrote itself (left of what our proxy appended) changes nothing.
    assert_eq!(sign_up_via_proxy(&c, "203.0.113.5, 198.51.100.1", "b@example.com").await, 429);
    // Another visitor behind the same proxy is not affected.
    assert_ne!(sign_up_via_proxy(&c, "198.51.100.2", "c@example.com").await, 429);
});

on_both_backends!(forwarded_for_is_ignored_unless_the_peer_is_trusted, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let c = app.client().await;
    // Each attempt claims a new address; without a trusted proxy they all count against the socket's.
    for i in 0..server::SIGNUP_MAX_PER_IP {
        assert_ne!(
            sign_up_via_proxy(&c, &format!("198.51.100.{i}"), &format!("a{i}@example.com")).await,
            429
        );
    }
    assert_eq!(sign_up_via_proxy(&c, "198.51.100.250", "z@example.com").await, 429);
});

on_both_backends!(oversized_server_function_bodies_are_refused, |backend: Backend| async move {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(app) = TestApp::spawn(backend).await else { return };
    let c = app.client().await;
    c.sign_up("Ada Lovelace", "ada@example.com", GOOD_PASSWORD).await.expect("sign up");
    // Only the headers of a body one byte over the cap: refused from its
    // declared length, before (and without) reading it, with our error.
    let addr = app.base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST /api/set_locale HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nx-csrf-token: {}\r\nCookie: {}\r\nConnection: close\r\n\r\n",
        server::SERVER_FN_MAX_BODY + 1,
        c.csrf,
        c.http_cookie_header(&app.base)
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    // Read the answer (the server may keep the socket open for the body it
    // will never read: stop at the end of the JSON).
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&buf).contains('}') {
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), tcp.read(&mut chunk))
            .await
            .unwrap_or_else(|_| panic!("no full answer: {:?}", String::from_utf8_lossy(&buf)))
            .unwrap();
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("request_too_large"), "{text}");
    // The session is unharmed.
    assert_eq!(c.session().await["user"]["email"], "ada@example.com");
});

/// The server renders in the language cookie's language when it names one we
/// have, otherwise in the best match for Accept-Language (q-weights count),
/// otherwise in English; the browser hydrates in the `<html lang>` it chose.
#[tokio::test]
async fn pages_render_in_the_cookie_language_then_accept_language() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else { return };
    let http = reqwest::Client::new();
    let lang_of = |cookie: Option<&'static str>, accept: Option<&'static str>| {
        let (http, url) = (http.clone(), format!("{}/login", app.base));
        async move {
            let mut req = http.get(url);
            if let Some(c) = cookie {
                req = req.header("cookie", c);
            }
            if let Some(a) = accept {
                req = req.header("accept-language", a);
            }
            let html = req.send().await.unwrap().text().await.unwrap();
            let tag = html.split("<html").nth(1).and_then(|s| s.split('>').next()).unwrap_or_default();
            let lang = tag.split("lang=\"").nth(1).and_then(|s| s.split('"').next()).map(str::to_string);
            (lang.expect("html lang"), html)
        }
    };
    let (lang, html) = lang_of(None, None).await;
    assert_eq!(lang, "en");
    assert!(html.contains("Log in"));
    let (lang, html) = lang_of(Some("i18n_pref_locale=fr"), Some("en-GB,en;q=0.9")).await;
    assert_eq!(lang, "fr", "the cookie wins over the header");
    assert!(html.contains("Se connecter"), "the page itself is French");
    assert_eq!(lang_of(None, Some("de-DE, en;q=0.5, fr-CA;q=0.8")).await.0, "fr", "best weighted match");
    assert_eq!(lang_of(None, Some("de, es")).await.0, "en", "nothing we have: English");
    assert_eq!(
        lang_of(Some("i18n_pref_locale=xx"), Some("fr")).await.0,
        "fr",
        "a cookie naming no language is ignored"
    );
    assert_eq!(lang_of(Some("other=1; i18n_pref_locale=EN"), Some("fr")).await.0, "en");

    // Signing up from a French browser (no cookie yet) makes a French account:
    // the pages after sign-up stay in the language of the pages before it.
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let fr = reqwest::Client::builder().cookie_provider(jar.clone()).build().unwrap();
    let page = fr
        .get(format!("{}/signup", app.base))
        .header("accept-language", "fr-FR,fr;q=0.9")
        .send()
        .await
        .unwrap();
    let csrf = common::extract_meta_csrf(&page.text().await.unwrap()).expect("csrf");
    let res = fr
        .post(format!("{}/api/sign_up", app.base))
        .header("x-csrf-token", csrf)
        .header("accept-language", "fr-FR,fr;q=0.9")
        .form(&[("name", "Fleur"), ("email", "fleur@example.com"), ("password", GOOD_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "sign up: {}", res.status());
    let cookies = reqwest::cookie::CookieStore::cookies(&*jar, &app.base.parse().unwrap()).unwrap();
    assert!(cookies.to_str().unwrap().contains("i18n_pref_locale=fr"), "{cookies:?}");
}

/// GETs a page as a browser would (HTML accepted, redirects not followed).
async fn page(c: &common::Client, path: &str) -> (u16, Option<String>, String) {
    let res = c.http.get(format!("{}{path}", c.base)).header("accept", "text/html").send().await.unwrap();
    let status = res.status().as_u16();
    let location = res.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
    (status, location, res.text().await.unwrap())
}

/// The text right inside the element marked `data-testid="{id}"`.
fn testid_text<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html.find(&format!(r#"data-testid="{id}""#)).unwrap_or_else(|| panic!("no {id} in {html}"));
    let start = at + html[at..].find('>').unwrap() + 1;
    &html[start..start + html[start..].find('<').unwrap()]
}

// The signed-in shell waits for the session on the server (a `Suspend`), so
// the first response is the finished page for the right person, and a
// visitor without a session is redirected before any HTML is sent.
on_both_backends!(
    signed_in_pages_render_whole_and_visitors_are_sent_to_log_in,
    |backend: Backend| async move {
        let Some(app) = TestApp::spawn(backend).await else { return };
        let visitor = app.client().await;
        for path in ["/app", "/app/prospects", "/app/members?tab=invites"] {
            let (status, location, _) = page(&visitor, path).await;
            assert_eq!(status, 302, "{path}: a visitor is redirected");
            let next =
                format!("/login?next={}", path.replace('/', "%2F").replace('?', "%3F").replace('=', "%3D"));
            assert_eq!(location.as_deref(), Some(next.as_str()), "{path}: back to the page after logging in");
        }

        let c = app.client().await;
        c.sign_up("Grace <Hopper>", "grace@example.com", GOOD_PASSWORD).await.unwrap();
        c.create_org("Compilers & Co").await;
        let (status, _, html) = page(&c, "/app").await;
        assert_eq!(status, 200);
        assert_eq!(testid_text(&html, "current-org"), "Compilers &amp; Co", "{html}");
        assert!(html.contains("Grace &lt;Hopper&gt;"), "the user's name, escaped");
        assert_eq!(testid_text(&html, "member-count"), "1", "the overview loaded before sending");
        assert!(!html.contains("animate-pulse"), "no skeleton in a finished page");

        // Another member's page shows their own organisation, never this one.
        let other = app.client().await;
        other.sign_up("Alan", "alan@example.com", GOOD_PASSWORD).await.unwrap();
        other.create_org("Bletchley").await;
        let (_, _, html) = page(&other, "/app").await;
        assert_eq!(testid_text(&html, "current-org"), "Bletchley");
        assert!(!html.contains("Compilers"), "nothing of another tenant");
    }
);
