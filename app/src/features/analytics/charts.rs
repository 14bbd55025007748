//! The dashboard's charts, drawn by leptos-chartistry: a line chart over
//! days and a bar chart over named categories. Colours read on light and
//! dark backgrounds alike; text takes the page's colour (`style/main.css`,
//! `.chart`). The server renders a placeholder: a chart is measured, and
//! drawn, in the browser.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_chartistry::{
    AspectRatio, AxisMarker, Bar, Chart, Colour, IntoEdge as _, IntoInner as _, Legend, Line, Period, Series,
    TickFormat, TickLabels, Timestamps, Tooltip, TooltipPlacement, YGridLine,
};

/// Indigo, emerald and amber: distinct in both themes and for the common
/// colour-vision differences.
pub const PALETTE: [Colour; 3] = [
    Colour::from_rgb(0x63, 0x66, 0xF1),
    Colour::from_rgb(0x10, 0xB9, 0x81),
    Colour::from_rgb(0xF5, 0x9E, 0x0B),
];

/// One day's values, one per line.
#[derive(Debug, Clone, PartialEq)]
pub struct DayPoint {
    pub day: DateTime<Utc>,
    pub values: Vec<f64>,
}

/// Lines over days: `names[i]` is the line of `values[i]`.
#[component]
pub fn DaysChart(
    #[prop(into)] data: Signal<Vec<DayPoint>>,
    names: Vec<String>,
    #[prop(optional)] min_y: Option<f64>,
) -> impl IntoView {
    let mut series = Series::new(|p: &DayPoint| p.day);
    for (i, name) in names.into_iter().enumerate() {
        let line = Line::new(move |p: &DayPoint| p.values.get(i).copied().unwrap_or(f64::NAN))
            .with_name(name)
            .with_colour(PALETTE[i % PALETTE.len()])
            .with_width(2.0);
        series = series.line(line);
    }
    let series = series.with_min_y(min_y.unwrap_or(0.0));
    let x_ticks =
        TickLabels::from_generator(Timestamps::<Utc>::from_period(Period::Day).with_strftime("%d/%m"));
    let tooltip = Tooltip::new(
        TooltipPlacement::LeftCursor,
        Timestamps::<Utc>::from_period(Period::Day).with_strftime("%Y-%m-%d"),
        TickLabels::aligned_floats(),
    );
    view! {
        <div class="chart" aria-hidden="true">
            <Chart
                aspect_ratio=AspectRatio::from_env_width(260.0)
                series=series
                data=data
                left=TickLabels::aligned_floats()
                bottom=vec![x_ticks.into_edge(), Legend::middle().into_edge()]
                inner=[AxisMarker::left_edge().into_inner(), AxisMarker::bottom_edge().into_inner(), YGridLine::default().into_inner()]
                tooltip=tooltip
            />
        </div>
    }
    .into_any()
}

#[derive(Debug, Clone, PartialEq)]
struct Slot {
    at: f64,
    value: f64,
}

/// Bars, one per category (`labels[i]` names `values[i]`).
#[component]
pub fn BarsChart(labels: Vec<String>, #[prop(into)] values: Signal<Vec<f64>>, name: String) -> impl IntoView {
    let data = Signal::derive(move || {
        values.get().into_iter().enumerate().map(|(i, v)| Slot { at: i as f64, value: v }).collect::<Vec<_>>()
    });
    let format = move |x: &f64, _: &dyn TickFormat<Tick = f64>| {
        if x.fract() != 0.0 || *x < 0.0 {
            return String::new();
        }
        labels.get(*x as usize).cloned().unwrap_or_default()
    };
    let x_labels = TickLabels::aligned_floats().with_format(format);
    let series = Series::new(|s: &Slot| s.at)
        .bar(Bar::new(|s: &Slot| s.value).with_name(name).with_colour(PALETTE[0]))
        .with_min_y(0.0);
    view! {
        <div class="chart" aria-hidden="true">
            <Chart
                aspect_ratio=AspectRatio::from_env_width(240.0)
                series=series
                data=data
                left=TickLabels::aligned_floats()
                bottom=x_labels.clone()
                inner=[AxisMarker::left_edge().into_inner(), AxisMarker::bottom_edge().into_inner(), YGridLine::default().into_inner()]
                tooltip=Tooltip::new(TooltipPlacement::LeftCursor, x_labels, TickLabels::aligned_floats())
            />
        </div>
    }
    .into_any()
}
