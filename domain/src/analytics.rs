//! What the managers' analytics dashboard shows: calls by AI agents and by
//! reps through the copilot, over a date range, with the previous period
//! of the same length beside it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The longest range one dashboard reads (a year and a day).
pub const MAX_DAYS: i64 = 366;

/// Which calls: `[from, until]` (whole UTC days), optionally one campaign,
/// one agent or one rep (a rep's filter keeps only copilot calls, an
/// agent's or campaign's only AI calls).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AnalyticsQuery {
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub campaign_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    pub rep_id: Option<Uuid>,
}

/// Headline figures for a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Totals {
    pub calls: u64,
    pub ai_calls: u64,
    pub rep_calls: u64,
    /// Someone (or a machine) picked up.
    pub connected: u64,
    /// A person picked up (not a voicemail).
    pub answered: u64,
    pub meetings: u64,
    pub connect_rate: Option<f64>,
    pub answer_rate: Option<f64>,
    /// Seconds, over calls that connected.
    pub avg_duration_s: Option<f64>,
    /// -1 to 1, over analysed calls.
    pub avg_sentiment: Option<f64>,
    /// Once billing meters calls.
    pub cost_per_meeting: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayRow {
    pub day: NaiveDate,
    pub calls: u64,
    pub connected: u64,
    pub meetings: u64,
    pub avg_sentiment: Option<f64>,
}

/// One stage of the funnel: how many calls got at least this far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FunnelStage {
    /// `dialled`, `connected`, `conversation` (30 s or more), `interested`
    /// (interested, callback or meeting), `meeting`.
    pub stage: String,
    pub count: u64,
}

/// One caller on a leaderboard: an AI agent or a rep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Leader {
    pub id: Uuid,
    pub name: String,
    pub calls: u64,
    pub connected: u64,
    pub meetings: u64,
    pub meeting_rate: Option<f64>,
    pub avg_duration_s: Option<f64>,
    /// 0–10, the mean of its calls' phase scores.
    pub avg_score: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhaseAverage {
    pub phase: crate::copilot::script::Phase,
    /// 0–10; none when no analysed call reached the phase.
    pub average: Option<f64>,
    pub scored: u64,
}

/// An agent's voice latency: end of the caller's speech to the agent's
/// first audio, over its replies in the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentLatency {
    pub agent_id: Uuid,
    pub name: String,
    pub replies: u64,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dashboard {
    pub from: NaiveDate,
    pub until: NaiveDate,
    pub totals: Totals,
    /// The period of the same length just before.
    pub previous: Totals,
    pub days: Vec<DayRow>,
    pub funnel: Vec<FunnelStage>,
    pub agents: Vec<Leader>,
    pub reps: Vec<Leader>,
    pub phases: Vec<PhaseAverage>,
    pub latency: Vec<AgentLatency>,
}

/// The tables the dashboard exports as CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AnalyticsTable {
    Days,
    Funnel,
    Agents,
    Reps,
    Phases,
    Latency,
}

impl AnalyticsTable {
    pub const ALL: [AnalyticsTable; 6] = [
        AnalyticsTable::Days,
        AnalyticsTable::Funnel,
        AnalyticsTable::Agents,
        AnalyticsTable::Reps,
        AnalyticsTable::Phases,
        AnalyticsTable::Latency,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AnalyticsTable::Days => "days",
            AnalyticsTable::Funnel => "funnel",
            AnalyticsTable::Agents => "agents",
            AnalyticsTable::Reps => "reps",
            AnalyticsTable::Phases => "phases",
            AnalyticsTable::Latency => "latency",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

fn cell(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_default()
}

/// A CSV field: quoted when needed, and a leading formula character
/// neutralised (a rep named "=HYPERLINK(…)" stays text in a spreadsheet).
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

impl Dashboard {
    /// One of the dashboard's tables as CSV (a header line first).
    pub fn csv(&self, table: AnalyticsTable) -> String {
        let mut out = String::new();
        let mut line = |cols: Vec<String>| {
            out.push_str(&cols.join(","));
            out.push_str("\r\n");
        };
        match table {
            AnalyticsTable::Days => {
                line(["day", "calls", "connected", "meetings", "avg_sentiment"].map(String::from).to_vec());
                for d in &self.days {
                    line(vec![
                        d.day.to_string(),
                        d.calls.to_string(),
                        d.connected.to_string(),
                        d.meetings.to_string(),
                        cell(d.avg_sentiment),
                    ]);
                }
            }
            AnalyticsTable::Funnel => {
                line(vec!["stage".into(), "count".into()]);
                for s in &self.funnel {
                    line(vec![s.stage.clone(), s.count.to_string()]);
                }
            }
            AnalyticsTable::Agents | AnalyticsTable::Reps => {
                line(
                    [
                        "id",
                        "name",
                        "calls",
                        "connected",
                        "meetings",
                        "meeting_rate",
                        "avg_duration_s",
                        "avg_score",
                    ]
                    .map(String::from)
                    .to_vec(),
                );
                let rows = if table == AnalyticsTable::Agents { &self.agents } else { &self.reps };
                for r in rows {
                    line(vec![
                        r.id.to_string(),
                        field(&r.name),
                        r.calls.to_string(),
                        r.connected.to_string(),
                        r.meetings.to_string(),
                        cell(r.meeting_rate),
                        cell(r.avg_duration_s),
                        cell(r.avg_score),
                    ]);
                }
            }
            AnalyticsTable::Phases => {
                line(vec!["phase".into(), "average".into(), "scored".into()]);
                for p in &self.phases {
                    line(vec![p.phase.as_str().into(), cell(p.average), p.scored.to_string()]);
                }
            }
            AnalyticsTable::Latency => {
                line(["agent_id", "name", "replies", "p50_ms", "p90_ms"].map(String::from).to_vec());
                for l in &self.latency {
                    line(vec![
                        l.agent_id.to_string(),
                        field(&l.name),
                        l.replies.to_string(),
                        cell(l.p50_ms),
                        cell(l.p90_ms),
                    ]);
                }
            }
        }
        out
    }
}

/// The `q`-th quantile (0–1) of `values`, nearest rank.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    Some(values[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile(&mut v, 0.5), Some(5.0));
        assert_eq!(quantile(&mut v, 0.9), Some(9.0));
        assert_eq!(quantile(&mut [], 0.5), None);
        assert_eq!(quantile(&mut [7.0], 0.9), Some(7.0));
    }

    #[test]
    fn csv_quotes_and_defuses_names() {
        let d = Dashboard {
            from: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            until: NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
            totals: Totals::default(),
            previous: Totals::default(),
            days: vec![],
            funnel: vec![],
            agents: vec![Leader {
                id: Uuid::nil(),
                name: "=HYPERLINK(\"x\"), Max".into(),
                calls: 3,
                connected: 2,
                meetings: 1,
                meeting_rate: Some(1.0 / 3.0),
                avg_duration_s: None,
                avg_score: Some(7.5),
            }],
            reps: vec![],
            phases: vec![],
            latency: vec![],
        };
        let csv = d.csv(AnalyticsTable::Agents);
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("id,name,calls,connected,meetings,meeting_rate,avg_duration_s,avg_score")
        );
        assert_eq!(
            lines.next(),
            Some("00000000-0000-0000-0000-000000000000,\"'=HYPERLINK(\"\"x\"\"), Max\",3,2,1,0.333,,7.500")
        );
    }
}
