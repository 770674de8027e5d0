//! The KPI strip: orders per minute, traded volume, fill rate and open orders, each with its
//! trend over the last minutes (the `kpis` channel's history), live.

use leptos::prelude::*;

use super::{events::Kpis, sparkline};
use crate::components::fixed;

/// `value` with thousands separated by a thin space, no decimals: `12 345`.
pub fn grouped(value: f64) -> String {
    let digits = fixed(value, 0, false);
    let (sign, digits) = match digits.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", digits.as_str()),
    };
    let mut out = String::from(sign);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

/// One KPI: its name, its value now (`show`), its trend (`pick` over the history). Plain
/// functions rather than closures: the four share one copy of this component in the wasm.
#[component]
fn Kpi(
    name: &'static str,
    id: &'static str,
    kpis: RwSignal<Vec<Kpis>>,
    show: fn(&Kpis) -> String,
    pick: fn(&Kpis) -> f64,
) -> impl IntoView {
    let value = move || kpis.with(|k| k.last().map_or_else(|| "—".to_string(), show));
    let trend = move || kpis.with(|k| sparkline(&k.iter().map(pick).collect::<Vec<_>>()));
    view! {
        <section class="card kpi" data-testid="kpi" data-kpi=id>
            <h2>{name}</h2>
            <p class="kpi-value" data-testid="kpi-value">{value}</p>
            <div class="trend" inner_html=trend></div>
        </section>
    }
}

/// The four KPIs from `kpis` (oldest first; the last is now).
#[component]
pub fn KpiStrip(kpis: RwSignal<Vec<Kpis>>) -> impl IntoView {
    view! {
        <div class="grid kpis" data-testid="kpis">
            <Kpi
                name="Orders / min"
                id="orders"
                kpis
                show=|k| k.orders_per_min.to_string()
                pick=|k| f64::from(k.orders_per_min)
            />
            <Kpi name="Volume, last hour" id="volume" kpis show=|k| grouped(k.volume) pick=|k| k.volume/>
            <Kpi
                name="Fill rate, last hour"
                id="fill-rate"
                kpis
                show=|k| k.fill_rate.map_or_else(|| "—".to_string(), |r| format!("{r} %"))
                pick=|k| f64::from(k.fill_rate.unwrap_or(0))
            />
            <Kpi
                name="Open orders"
                id="open"
                kpis
                show=|k| k.open.to_string()
                pick=|k| f64::from(k.open)
            />
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::grouped;

    /// Thousands are grouped, decimals dropped, signs kept.
    #[test]
    fn grouped_thousands() {
        assert_eq!(grouped(0.0), "0");
        assert_eq!(grouped(999.4), "999");
        assert_eq!(grouped(1234.5), "1\u{2009}235");
        assert_eq!(grouped(12_345_678.0), "12\u{2009}345\u{2009}678");
        assert_eq!(grouped(-1000.0), "-1\u{2009}000");
    }
}
