//! The SDR copilot: one screen, three columns.
//! - left: the call queue, the selected prospect's profile, history and
//!   pre-call brief;
//! - centre: the script phase by phase (progress, manual next/previous,
//!   automatic advance), the live transcript, starting and ending a session,
//!   and the softphone when the rep calls the prospect from here;
//! - right: objection cards as they are detected, techniques for the current
//!   phase, and a knowledge search.
//!
//! The session's state lives in signals fed by its live event stream; the
//! URL (`?p=<prospect>&s=<session>`) makes the screen reloadable.
//! Keyboard: Alt+→ / Alt+← move through the phases.

mod end_call;
mod knowledge;
mod microphone;
mod queue;
mod script;
mod softphone;
mod transcript;

use knowledge::KnowledgePanel;
use queue::{ProspectPanel, QueuePanel};
use script::ScriptPanel;

use domain::call_views::SuperviseMode;
use domain::copilot::objection::Detection;
use domain::copilot::outcome::CallOutcome;
use domain::copilot::script::Phase;
use domain::copilot::views::{CopilotEvent, HandlerCard, SessionView, TranscriptLine};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use send_wrapper::SendWrapper;
use uuid::Uuid;

use super::api;
use crate::features::auth::session::use_current_org;
use crate::i18n::{t_string, use_i18n};
use crate::live::LiveStream;

/// What the page keeps of a running session.
#[derive(Clone, Copy)]
struct Live {
    session: RwSignal<Option<SessionView>>,
    phase: RwSignal<Phase>,
    progress: RwSignal<u8>,
    lines: RwSignal<Vec<TranscriptLine>>,
    partial: RwSignal<Option<TranscriptLine>>,
    cards: RwSignal<Vec<(i64, Detection, Option<HandlerCard>)>>,
    ended: RwSignal<Option<CallOutcome>>,
    /// The live audio source failed (the session goes on).
    source_error: RwSignal<Option<domain::ErrorCode>>,
    /// Managers on the rep's call now: name and how.
    supervisors: RwSignal<Vec<(String, SuperviseMode)>>,
}

impl Live {
    fn new() -> Self {
        Live {
            session: RwSignal::new(None),
            phase: RwSignal::new(Phase::Opening),
            progress: RwSignal::new(0),
            lines: RwSignal::new(Vec::new()),
            partial: RwSignal::new(None),
            cards: RwSignal::new(Vec::new()),
            ended: RwSignal::new(None),
            source_error: RwSignal::new(None),
            supervisors: RwSignal::new(Vec::new()),
        }
    }

    /// Replaces everything with a session as loaded (history included).
    fn load(&self, s: SessionView) {
        self.lines.set(Vec::new());
        self.cards.set(Vec::new());
        self.partial.set(None);
        self.supervisors.set(Vec::new());
        self.phase.set(s.phase);
        self.progress.set(s.progress);
        self.ended.set(s.outcome.filter(|_| s.ended_at.is_some()));
        for ev in s.events.clone() {
            self.apply(ev);
        }
        self.phase.set(s.phase);
        self.progress.set(s.progress);
        self.session.set(Some(s));
    }

    /// Applies one event, idempotently (the stream and the HTTP answer may both deliver it).
    fn apply(&self, ev: CopilotEvent) {
        match ev {
            CopilotEvent::Transcript(line) if !line.is_final => self.partial.set(Some(line)),
            CopilotEvent::Transcript(line) => {
                self.partial.set(None);
                self.lines.update(|l| {
                    if !l.iter().any(|x| x.seq == line.seq) {
                        l.push(line);
                    }
                });
            }
            CopilotEvent::Phase { advance, progress, .. } => {
                self.phase.set(advance.to);
                self.progress.set(progress);
            }
            CopilotEvent::Objection { seq, detection, handler } => self.cards.update(|c| {
                if !c.iter().any(|(s, d, _)| *s == seq && d.kind == detection.kind) {
                    c.insert(0, (seq, detection, handler));
                }
            }),
            CopilotEvent::Ended { outcome } => self.ended.set(Some(outcome)),
            CopilotEvent::SourceError { code } => self.source_error.set(Some(code)),
            CopilotEvent::Supervisor { name, mode, joined, .. } => self.supervisors.update(|list| {
                // Replayed history included: the last word per manager and mode wins.
                list.retain(|(n, m)| !(n == &name && *m == mode));
                if joined {
                    list.push((name, mode));
                }
            }),
        }
    }
}

#[component]
pub fn CopilotPage() -> impl IntoView {
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let query = use_query_map();
    let prospect_id = Memo::new(move |_| query.read().get("p").and_then(|s| s.parse::<Uuid>().ok()));
    let session_id = Memo::new(move |_| query.read().get("s").and_then(|s| s.parse::<Uuid>().ok()));
    let refresh_queue = RwSignal::new(0u32);
    let queue = Resource::new(move || refresh_queue.get(), move |_| api::queue(org_id));
    let live = Live::new();

    // Load the session named in the URL, then follow its live stream.
    let session = Resource::new(
        move || session_id.get(),
        move |s| async move {
            match s {
                Some(s) => api::get_session(org_id, s).await.map(Some),
                None => Ok(None),
            }
        },
    );
    Effect::new(move |_| {
        if let Some(Ok(s)) = session.get() {
            match s {
                Some(s) => live.load(s),
                None => live.session.set(None),
            }
        }
    });
    // JS handles live in the browser only: the slot is `None` during SSR, and
    // the wrapper keeps the browser's value on its one thread.
    let stream = StoredValue::new(None::<SendWrapper<LiveStream>>);
    Effect::new(move |_| {
        let sid = session_id.get();
        stream.set_value(None);
        if let Some(sid) = sid {
            let opened = RwSignal::new(0u32);
            let s = LiveStream::open(
                &api::events_url(org_id, sid),
                move |ev: CopilotEvent| live.apply(ev),
                // A reconnection may have missed events: reload the stored history.
                move || {
                    if opened.get_untracked() > 0 {
                        session.refetch();
                    }
                    opened.update(|n| *n += 1);
                },
            );
            stream.set_value(s.map(SendWrapper::new));
        }
    });

    view! {
        <div class="grid gap-4 lg:grid-cols-[18rem_minmax(0,1fr)_20rem]" data-testid="copilot">
            <aside class="space-y-4" data-testid="copilot-brief" aria-label=move || t_string!(use_i18n(), copilot.brief_column).to_string()>
                <QueuePanel queue prospect_id/>
                {move || prospect_id.get().map(|p| view! { <ProspectPanel org_id prospect_id=p refresh=refresh_queue/> })}
            </aside>
            <section class="space-y-4" data-testid="copilot-script">
                <ScriptPanel org_id prospect_id session_id live refresh_queue/>
            </section>
            <aside class="space-y-4" data-testid="copilot-knowledge">
                <KnowledgePanel org_id live/>
            </aside>
        </div>
    }
    .into_any()
}
