//! Template variables in prompts, first messages and scripts:
//! `Hello {{prospect.first_name}}, this is {{agent.name}}.`
//!
//! Three entry points, one grammar:
//! - [`Template::parse`] is strict and runs at save time: an unknown variable
//!   or an unclosed `{{` is an error that names the culprit.
//! - [`highlight`] never fails: the editor colours known, unknown and broken
//!   placeholders while the user types.
//! - [`Template::render`] fills the variables for one prospect (preview, calls)
//!   and reports which known variables had no value.
//!
//! A lone `{` or `}` is plain text; whitespace inside the braces is ignored
//! (`{{ today }}` is `{{today}}`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Longest accepted `custom.<name>`, matching the data-schema field names.
pub const MAX_IDENT_CHARS: usize = 64;

/// The fields of a prospect a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProspectField {
    FirstName,
    LastName,
    FullName,
    Company,
    Title,
    Phone,
    Email,
}

impl ProspectField {
    pub const ALL: [ProspectField; 7] = [
        ProspectField::FirstName,
        ProspectField::LastName,
        ProspectField::FullName,
        ProspectField::Company,
        ProspectField::Title,
        ProspectField::Phone,
        ProspectField::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProspectField::FirstName => "first_name",
            ProspectField::LastName => "last_name",
            ProspectField::FullName => "full_name",
            ProspectField::Company => "company",
            ProspectField::Title => "title",
            ProspectField::Phone => "phone",
            ProspectField::Email => "email",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// A variable a template may reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Var {
    Prospect(ProspectField),
    /// A prospect custom field (`{{custom.budget}}`).
    Custom(String),
    /// A variable the call was placed with (`{{call.offer}}`): a campaign's
    /// per-prospect values, or the API caller's.
    Call(String),
    AgentName,
    /// Today's date in the conversation's language.
    Today,
}

impl Var {
    /// Parses the text between the braces (already trimmed).
    pub fn parse(name: &str) -> Option<Var> {
        match name {
            "agent.name" => return Some(Var::AgentName),
            "today" => return Some(Var::Today),
            _ => {}
        }
        if let Some(field) = name.strip_prefix("prospect.") {
            return ProspectField::parse(field).map(Var::Prospect);
        }
        if let Some(field) = name.strip_prefix("custom.") {
            return is_ident(field).then(|| Var::Custom(field.to_string()));
        }
        if let Some(field) = name.strip_prefix("call.") {
            return is_ident(field).then(|| Var::Call(field.to_string()));
        }
        None
    }

    /// The canonical name, as written between the braces.
    pub fn name(&self) -> String {
        match self {
            Var::Prospect(f) => format!("prospect.{}", f.as_str()),
            Var::Custom(f) => format!("custom.{f}"),
            Var::Call(f) => format!("call.{f}"),
            Var::AgentName => "agent.name".into(),
            Var::Today => "today".into(),
        }
    }

    /// Every fixed variable, for the editor's "insert variable" menu.
    pub fn builtins() -> Vec<Var> {
        let mut all: Vec<Var> = ProspectField::ALL.into_iter().map(Var::Prospect).collect();
        all.push(Var::AgentName);
        all.push(Var::Today);
        all
    }
}

/// `[a-z][a-z0-9_]*`, at most [`MAX_IDENT_CHARS`]: the shape of field names.
pub fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && s.len() <= MAX_IDENT_CHARS
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TemplateError {
    /// `{{name}}` where `name` is not a variable we know.
    #[error("unknown variable {{{{{name}}}}} at byte {offset}")]
    UnknownVariable { name: String, offset: usize },
    /// `{{` without a matching `}}`.
    #[error("unclosed {{{{ at byte {offset}")]
    Unclosed { offset: usize },
}

impl TemplateError {
    /// What the user should see quoted: the variable name, or `{{`.
    pub fn detail(&self) -> String {
        match self {
            TemplateError::UnknownVariable { name, .. } => format!("{{{{{name}}}}}"),
            TemplateError::Unclosed { .. } => "{{".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Var(Var),
}

/// A parsed, valid template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
}

/// What fills the variables for one render.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenderContext {
    /// Prospect values by [`ProspectField::as_str`]; absent or empty = missing.
    pub prospect: BTreeMap<String, String>,
    pub custom: BTreeMap<String, String>,
    /// The variables the call was placed with (`{{call.<name>}}`).
    #[serde(default)]
    pub call: BTreeMap<String, String>,
    pub agent_name: String,
    /// Already formatted for the conversation's locale.
    pub today: String,
}

impl RenderContext {
    fn value(&self, var: &Var) -> Option<String> {
        let v = match var {
            Var::Prospect(ProspectField::FullName) => {
                let first = self.prospect.get("first_name").map(|s| s.trim()).unwrap_or("");
                let last = self.prospect.get("last_name").map(|s| s.trim()).unwrap_or("");
                format!("{first} {last}").trim().to_string()
            }
            Var::Prospect(f) => self.prospect.get(f.as_str()).cloned().unwrap_or_default(),
            Var::Custom(f) => self.custom.get(f).cloned().unwrap_or_default(),
            Var::Call(f) => self.call.get(f).cloned().unwrap_or_default(),
            Var::AgentName => self.agent_name.clone(),
            Var::Today => self.today.clone(),
        };
        (!v.trim().is_empty()).then_some(v)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rendered {
    pub text: String,
    /// Known variables that had no value (rendered as empty text), in order of first use.
    pub missing: Vec<String>,
}

impl Template {
    /// Strict parse: the first unknown variable or unclosed `{{` is an error.
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let mut segments = Vec::new();
        for token in tokenize(src) {
            match token.kind {
                TokenKind::Text => push_text(&mut segments, &src[token.span.clone()]),
                TokenKind::Var(var) => segments.push(Segment::Var(var)),
                TokenKind::Unknown(name) => {
                    return Err(TemplateError::UnknownVariable { name, offset: token.span.start })
                }
                TokenKind::Unclosed => return Err(TemplateError::Unclosed { offset: token.span.start }),
            }
        }
        Ok(Template { segments })
    }

    /// The variables used, each once, in order of first use.
    pub fn variables(&self) -> Vec<Var> {
        let mut out: Vec<Var> = Vec::new();
        for s in &self.segments {
            if let Segment::Var(v) = s {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
        }
        out
    }

    pub fn render(&self, ctx: &RenderContext) -> Rendered {
        let mut text = String::new();
        let mut missing: Vec<String> = Vec::new();
        for s in &self.segments {
            match s {
                Segment::Text(t) => text.push_str(t),
                Segment::Var(v) => match ctx.value(v) {
                    Some(value) => text.push_str(&value),
                    None => {
                        let name = v.name();
                        if !missing.contains(&name) {
                            missing.push(name);
                        }
                    }
                },
            }
        }
        Rendered { text, missing }
    }
}

fn push_text(segments: &mut Vec<Segment>, text: &str) {
    if let Some(Segment::Text(prev)) = segments.last_mut() {
        prev.push_str(text);
    } else {
        segments.push(Segment::Text(text.to_string()));
    }
}

/// Parses and renders in one step, for callers that hold raw text.
pub fn render(src: &str, ctx: &RenderContext) -> Result<Rendered, TemplateError> {
    Ok(Template::parse(src)?.render(ctx))
}

/// Renders a text that was validated when saved: it parses, so this never
/// fails; were it somehow not to, the text is kept as written rather than lost.
pub fn fill(src: &str, ctx: &RenderContext) -> String {
    render(src, ctx).map(|r| r.text).unwrap_or_else(|_| src.to_string())
}

/// Checks a template at save time; `field` names the form field in the error.
pub fn validate(field: &str, src: &str) -> Result<(), crate::error::FieldError> {
    Template::parse(src).map(|_| ()).map_err(|e| {
        let code = match e {
            TemplateError::UnknownVariable { .. } => crate::ErrorCode::TemplateUnknownVariable,
            TemplateError::Unclosed { .. } => crate::ErrorCode::TemplateUnclosed,
        };
        crate::error::FieldError::new(field, code).with_detail(e.detail())
    })
}

/// How the editor should show a piece of the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HighlightKind {
    Text,
    Variable,
    Unknown,
    Unclosed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HighlightSpan {
    pub text: String,
    pub kind: HighlightKind,
}

/// Splits the source into spans for the editor overlay. Concatenating the
/// spans' text gives back the source exactly.
pub fn highlight(src: &str) -> Vec<HighlightSpan> {
    tokenize(src)
        .into_iter()
        .map(|t| HighlightSpan {
            text: src[t.span].to_string(),
            kind: match t.kind {
                TokenKind::Text => HighlightKind::Text,
                TokenKind::Var(_) => HighlightKind::Variable,
                TokenKind::Unknown(_) => HighlightKind::Unknown,
                TokenKind::Unclosed => HighlightKind::Unclosed,
            },
        })
        .collect()
}

enum TokenKind {
    Text,
    Var(Var),
    Unknown(String),
    Unclosed,
}

struct Token {
    span: std::ops::Range<usize>,
    kind: TokenKind,
}

/// The one scanner behind parse, render and highlight.
fn tokenize(src: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut pos = 0;
    while pos < src.len() {
        let Some(mut open) = src[pos..].find("{{").map(|i| pos + i) else {
            tokens.push(Token { span: pos..src.len(), kind: TokenKind::Text });
            break;
        };
        // In `{{{x}}}` the placeholder is the innermost `{{`; extra braces are text.
        while src[open + 2..].starts_with('{') {
            open += 1;
        }
        if open > pos {
            tokens.push(Token { span: pos..open, kind: TokenKind::Text });
        }
        let inner_start = open + 2;
        // A placeholder ends at the first `}}`; a new `{{` before it means this
        // one was never closed. Looking for `}}` only up to that `{{` keeps the
        // scan linear: `{{a{{a{{a…` would otherwise search to the end each time.
        let reopen = src[inner_start..].find("{{").map(|i| inner_start + i);
        let close = src[inner_start..reopen.unwrap_or(src.len())].find("}}").map(|i| inner_start + i);
        match close {
            Some(close) => {
                let name = src[inner_start..close].trim();
                let kind = match Var::parse(name) {
                    Some(var) => TokenKind::Var(var),
                    None => TokenKind::Unknown(name.to_string()),
                };
                tokens.push(Token { span: open..close + 2, kind });
                pos = close + 2;
            }
            _ => {
                let end = reopen.unwrap_or(src.len());
                tokens.push(Token { span: open..end, kind: TokenKind::Unclosed });
                pos = end;
            }
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RenderContext {
        RenderContext {
            prospect: [("first_name", "Ada"), ("last_name", "Lovelace"), ("company", "Analytical Ltd")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            custom: [("budget".to_string(), "40k".to_string())].into_iter().collect(),
            call: [("offer".to_string(), "20 % off".to_string())].into_iter().collect(),
            agent_name: "Max".into(),
            today: "25/11/2026".into(),
        }
    }

    #[test]
    fn a_calls_own_variables_render_by_name() {
        assert_eq!(Var::parse("call.offer"), Some(Var::Call("offer".into())));
        assert_eq!(Var::parse("call."), None);
        assert_eq!(Var::parse("call.Offer"), None, "names are lower-case identifiers");
        let t =
            Template::parse("{{prospect.first_name}}, {{call.offer}} until Friday{{call.missing}}").unwrap();
        let r = t.render(&ctx());
        assert_eq!(r.text, "Ada, 20 % off until Friday");
        assert_eq!(r.missing, vec!["call.missing".to_string()]);
    }

    #[test]
    fn renders_every_kind_of_variable() {
        let t = Template::parse(
            "Hi {{prospect.first_name}} ({{ prospect.full_name }}) of {{prospect.company}}, \
             {{agent.name}} here on {{today}}; budget {{custom.budget}}.",
        )
        .unwrap();
        let r = t.render(&ctx());
        assert_eq!(r.text, "Hi Ada (Ada Lovelace) of Analytical Ltd, Max here on 25/11/2026; budget 40k.");
        assert!(r.missing.is_empty());
    }

    #[test]
    fn missing_values_render_empty_and_are_reported_once() {
        let r = render("{{prospect.title}}|{{custom.car}}|{{prospect.title}}", &ctx()).unwrap();
        assert_eq!(r.text, "||");
        assert_eq!(r.missing, vec!["prospect.title".to_string(), "custom.car".to_string()]);
        // Whitespace-only values count as missing too.
        let mut c = ctx();
        c.prospect.insert("title".into(), "  ".into());
        assert_eq!(render("{{prospect.title}}", &c).unwrap().missing, vec!["prospect.title"]);
    }

    #[test]
    fn unknown_variables_are_named_with_their_position() {
        assert_eq!(
            Template::parse("Hello {{prospect.nickname}}").unwrap_err(),
            TemplateError::UnknownVariable { name: "prospect.nickname".into(), offset: 6 }
        );
        for bad in
            ["{{}}", "{{ }}", "{{agent}}", "{{custom.}}", "{{custom.Budget}}", "{{custom.a-b}}", "{{Today}}"]
        {
            assert!(
                matches!(Template::parse(bad), Err(TemplateError::UnknownVariable { .. })),
                "{bad} should be unknown"
            );
        }
        let long = format!("{{{{custom.{}}}}}", "a".repeat(MAX_IDENT_CHARS + 1));
        assert!(Template::parse(&long).is_err());
    }

    #[test]
    fn unclosed_placeholders_are_errors() {
        assert_eq!(
            Template::parse("Hi {{prospect.first_name").unwrap_err(),
            TemplateError::Unclosed { offset: 3 }
        );
        assert_eq!(
            Template::parse("{{today {{agent.name}}").unwrap_err(),
            TemplateError::Unclosed { offset: 0 }
        );
    }

    #[test]
    fn lone_braces_and_plain_text_pass_through() {
        let src = "JSON {\"a\": 1} and } {single} — ünïcödé ✓";
        assert_eq!(render(src, &ctx()).unwrap().text, src);
        assert_eq!(render("", &ctx()).unwrap().text, "");
        // `}}` alone is text, `{{{today}}}` keeps the outer braces.
        assert_eq!(render("a}}b", &ctx()).unwrap().text, "a}}b");
        assert_eq!(render("{{{today}}}", &ctx()).unwrap().text, "{25/11/2026}");
    }

    #[test]
    fn variables_lists_each_once_in_order() {
        let t = Template::parse("{{today}} {{agent.name}} {{today}} {{custom.x}}").unwrap();
        assert_eq!(t.variables(), vec![Var::Today, Var::AgentName, Var::Custom("x".into())]);
    }

    #[test]
    fn every_builtin_round_trips_through_its_name() {
        for v in Var::builtins() {
            assert_eq!(Var::parse(&v.name()), Some(v.clone()));
        }
    }

    #[test]
    fn highlight_covers_the_source_exactly() {
        let src = "Hi {{prospect.first_name}}, {{nope}} and {{today";
        let spans = highlight(src);
        assert_eq!(spans.iter().map(|s| s.text.as_str()).collect::<String>(), src);
        let kinds: Vec<_> = spans.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            vec![
                HighlightKind::Text,
                HighlightKind::Variable,
                HighlightKind::Text,
                HighlightKind::Unknown,
                HighlightKind::Text,
                HighlightKind::Unclosed
            ]
        );
    }

    #[test]
    fn validate_maps_to_field_errors_with_detail() {
        let e = validate("system_prompt", "x {{prospect.age}}").unwrap_err();
        assert_eq!(e.field, "system_prompt");
        assert_eq!(e.code, crate::ErrorCode::TemplateUnknownVariable);
        assert_eq!(e.detail.as_deref(), Some("{{prospect.age}}"));
        assert!(validate("first_message", "ok {{today}}").is_ok());
    }
}

/// Property tests: any text is safe to parse, highlight and render, and the
/// three entry points agree with each other.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    /// Pieces of the template syntax, so generated sources hit placeholders,
    /// nested and unclosed braces, whitespace and near-miss names.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => prop::sample::select(vec![
                "{{", "}}", "{", "}", "{{{", "}}}", " ", "\n", "|", "\"", ",", "today", "agent.name",
                "prospect.", "prospect.first_name", "prospect.full_name", "prospect.nickname", "custom.",
                "custom.budget", "custom.a_1", "custom.Budget", "Today", "{{today}}", "{{ agent.name }}",
                "{{custom.x}}", "{{nope}}", "é", "✓", "\u{0}",
            ])
            .prop_map(str::to_string),
            1 => "\\PC{0,8}",
        ]
    }

    fn source() -> impl Strategy<Value = String> {
        prop_oneof![prop::collection::vec(piece(), 0..48).prop_map(|p| p.concat()), "\\PC{0,512}",]
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![Just(String::new()), Just("  ".to_string()), "\\PC{0,24}", "\\{\\{[a-z.]{0,12}\\}\\}"]
    }

    fn context() -> impl Strategy<Value = RenderContext> {
        (value(), value(), value(), value(), value(), value()).prop_map(
            |(first, last, company, budget, agent_name, today)| RenderContext {
                prospect: [("first_name", first), ("last_name", last), ("company", company)]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                custom: [("budget".to_string(), budget)].into_iter().collect(),
                call: BTreeMap::new(),
                agent_name,
                today,
            },
        )
    }

    fn longest_value(ctx: &RenderContext) -> usize {
        let values = ctx.prospect.values().chain(ctx.custom.values());
        let longest = values.map(String::len).chain([ctx.agent_name.len(), ctx.today.len()]).max();
        // `full_name` joins two values with a space.
        2 * longest.unwrap_or(0) + 1
    }

    /// A piece of a template built on purpose: text or a variable.
    #[derive(Debug, Clone)]
    enum Part {
        Text(String),
        Var(Var, bool),
    }

    fn part() -> impl Strategy<Value = Part> {
        let var = prop_oneof![
            prop::sample::select(Var::builtins()),
            "[a-z][a-z0-9_]{0,20}".prop_map(Var::Custom),
            Just(Var::Custom("budget".into())),
        ];
        prop_oneof![
            // No `{` in text: two pieces side by side must not form a `{{`.
            "[^{]{0,16}".prop_map(Part::Text),
            (var, any::<bool>()).prop_map(|(v, spaced)| Part::Var(v, spaced)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, max_shrink_iters: 64, ..ProptestConfig::default() })]

        #[test]
        fn highlight_partitions_the_source_and_agrees_with_parse(src in source()) {
            let spans = highlight(&src);
            prop_assert_eq!(spans.iter().map(|s| s.text.as_str()).collect::<String>(), src.as_str());
            prop_assert!(spans.iter().all(|s| !s.text.is_empty()));
            prop_assert!(spans.len() <= src.len());
            let first_bad = spans
                .iter()
                .scan(0, |offset, s| {
                    let at = *offset;
                    *offset += s.text.len();
                    Some((at, s))
                })
                .find(|(_, s)| matches!(s.kind, HighlightKind::Unknown | HighlightKind::Unclosed));
            match (Template::parse(&src), first_bad) {
                (Ok(t), None) => {
                    let vars = spans.iter().filter(|s| s.kind == HighlightKind::Variable).count();
                    prop_assert!(t.variables().len() <= vars);
                }
                (Err(TemplateError::UnknownVariable { offset, .. }), Some((at, s))) => {
                    prop_assert_eq!(offset, at);
                    prop_assert_eq!(s.kind, HighlightKind::Unknown);
                }
                (Err(TemplateError::Unclosed { offset }), Some((at, s))) => {
                    prop_assert_eq!(offset, at);
                    prop_assert_eq!(s.kind, HighlightKind::Unclosed);
                    prop_assert!(s.text.starts_with("{{"));
                }
                (parsed, bad) => prop_assert!(false, "parse {:?} but first bad span {:?}", parsed, bad),
            }
            // Each variable span is a template of exactly that one variable.
            for s in spans.iter().filter(|s| s.kind == HighlightKind::Variable) {
                let t = Template::parse(&s.text);
                prop_assert!(matches!(&t, Ok(t) if t.variables().len() == 1), "{:?}", s.text);
            }
            prop_assert_eq!(validate("f", &src).is_ok(), Template::parse(&src).is_ok());
        }

        #[test]
        fn rendering_is_bounded_and_reports_missing_values_once(src in source(), ctx in context()) {
            let Ok(t) = Template::parse(&src) else { return Ok(()) };
            let r = t.render(&ctx);
            let vars = highlight(&src).iter().filter(|s| s.kind == HighlightKind::Variable).count();
            prop_assert!(r.text.len() <= src.len() + vars * longest_value(&ctx));
            let names: Vec<String> = t.variables().iter().map(Var::name).collect();
            for (i, m) in r.missing.iter().enumerate() {
                prop_assert!(names.contains(m));
                prop_assert!(!r.missing[..i].contains(m));
            }
        }

        #[test]
        fn text_without_placeholders_renders_unchanged(src in "[^{]{0,256}|\\PC{0,256}", ctx in context()) {
            prop_assume!(!src.contains("{{"));
            let r = render(&src, &ctx).unwrap();
            prop_assert_eq!(r.text, src);
            prop_assert!(r.missing.is_empty());
        }

        #[test]
        fn variable_values_are_inserted_verbatim(v in "\\PC{0,64}|\\{\\{[a-z. ]{0,16}\\}\\}", before in "[^{]{0,8}", after in "[^{]{0,8}") {
            let ctx = RenderContext { agent_name: v.clone(), ..RenderContext::default() };
            let r = render(&format!("{before}{{{{agent.name}}}}{after}"), &ctx).unwrap();
            if v.trim().is_empty() {
                prop_assert_eq!(r.text, format!("{before}{after}"));
                prop_assert_eq!(r.missing, vec!["agent.name".to_string()]);
            } else {
                // A value that looks like a placeholder is not expanded again.
                prop_assert_eq!(r.text, format!("{before}{v}{after}"));
                prop_assert!(r.missing.is_empty());
            }
        }

        #[test]
        fn built_templates_render_as_their_parts(parts in prop::collection::vec(part(), 0..16), ctx in context()) {
            let mut src = String::new();
            let mut want = String::new();
            let mut missing: Vec<String> = Vec::new();
            for p in &parts {
                match p {
                    Part::Text(t) => {
                        src.push_str(t);
                        want.push_str(t);
                    }
                    Part::Var(v, spaced) => {
                        let pad = if *spaced { " " } else { "" };
                        src.push_str(&format!("{{{{{pad}{}{pad}}}}}", v.name()));
                        match ctx.value(v) {
                            Some(value) => want.push_str(&value),
                            None if !missing.contains(&v.name()) => missing.push(v.name()),
                            None => {}
                        }
                    }
                }
            }
            let r = render(&src, &ctx).unwrap();
            prop_assert_eq!(r.text, want);
            prop_assert_eq!(r.missing, missing);
        }

        #[test]
        fn custom_names_round_trip(name in "[a-z][a-z0-9_]{0,80}|\\PC{0,16}") {
            match Var::parse(&format!("custom.{name}")) {
                Some(v) => {
                    prop_assert!(is_ident(&name));
                    prop_assert_eq!(Var::parse(&v.name()), Some(v));
                }
                None => prop_assert!(!is_ident(&name)),
            }
        }
    }

    /// `{{a{{a{{a…` used to search to the end of the text for `}}` at each
    /// `{{`: quadratic in the length, on every keystroke in the editor.
    #[test]
    fn many_unclosed_placeholders_are_scanned_in_linear_time() {
        let src = "{{a".repeat(200_000);
        let started = std::time::Instant::now();
        assert_eq!(highlight(&src).len(), 200_000);
        assert_eq!(Template::parse(&src).unwrap_err(), TemplateError::Unclosed { offset: 0 });
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
