//! `RUN/charts/<workload>.svg`: one grouped bar chart per workload (plotters' SVG backend).
//!
//! The x axis has a slot per (size, pass), each with a bar per system side by side: the median
//! over repeats (its value written above it), with a whisker from the lowest to the highest
//! repeat when there are several.
//! The y axis is the workload's headline unit (MB/s, IOPS or ops/s), from 0. A legend on the
//! right names the systems; the reference profile (`local`, the ceiling) is grey. A slot where
//! a system's every repeat failed shows `failed` in its place. Text is SVG `<text>` (the SVG
//! viewer's sans-serif font), so no font file is needed to draw it.
//!
//! When the ceiling (`local`) is more than [`OFF_SCALE`] times the best compared system, the
//! axis is scaled to the compared systems and the ceiling's bar is cut at the top with its
//! value and `↑` printed there: a ceiling hundreds of times higher (a RAM disk against a
//! network file system) would otherwise flatten every system to the axis.

use super::summary::{size_rank, Group, REFERENCE_PROFILE};
use crate::orchestration::bench::cell::Pass;
use crate::orchestration::bench::metrics::{grouped, Measure};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The chart's size in pixels: the plot, and the legend's column to its right.
const HEIGHT: u32 = 480;
const LEGEND_WIDTH: u32 = 230;
/// Width per (size, pass) slot, at least `MIN_PLOT_WIDTH` in all.
const SLOT_WIDTH: u32 = 60;
const MIN_PLOT_WIDTH: u32 = 560;

/// How many times the best compared value the ceiling may be before its bar is cut.
pub const OFF_SCALE: f64 = 3.0;

/// The reference profile's colour.
const GREY: RGBColor = RGBColor(150, 150, 150);

/// The SVG text of `workload`'s chart from its `groups`, systems in `systems`' order.
///
/// Errors: `None` when no group has a value to draw (every cell failed); `Some(Err)` when
/// plotters fails (its message).
pub fn render(workload: &str, groups: &[&Group], systems: &[String], baseline: Option<&str>) -> Option<Result<String, String>> {
    let measure = groups.iter().find_map(|g| g.measure)?;
    let top_of = |reference: bool| groups.iter().filter(|g| (g.system == REFERENCE_PROFILE) == reference).filter_map(|g| g.headline()).map(|s| s.max).fold(0.0_f64, f64::max);
    let (compared, ceiling) = (top_of(false), top_of(true));
    let top = if compared > 0.0 && ceiling > compared * OFF_SCALE { compared } else { compared.max(ceiling) };
    let mut slots: Vec<(&str, Pass)> = groups.iter().map(|g| (g.size.as_str(), g.pass)).collect();
    slots.sort_by_key(|(s, p)| (size_rank(s), *p));
    slots.dedup();
    let shown: Vec<&String> = systems.iter().filter(|s| groups.iter().any(|g| &g.system == *s)).collect();
    let mut svg = String::new();
    let drawn = draw(&mut svg, Chart { workload, measure, groups, slots: &slots, systems: &shown, baseline, y_top: if top > 0.0 { top * 1.1 } else { 1.0 } });
    Some(drawn.map(|()| svg).map_err(|e| format!("drawing the {workload} chart: {e}")))
}

/// What one chart shows.
struct Chart<'a> {
    workload: &'a str,
    measure: Measure,
    groups: &'a [&'a Group],
    /// (size, pass) in x order.
    slots: &'a [(&'a str, Pass)],
    systems: &'a [&'a String],
    baseline: Option<&'a str>,
    /// The y axis's top, in the measure's unit.
    y_top: f64,
}

fn draw(svg: &mut String, c: Chart<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let Chart { workload, measure, groups, slots, systems, baseline, y_top } = c;
    let plot_width = (SLOT_WIDTH * (systems.len() as u32).max(2) * slots.len() as u32).max(MIN_PLOT_WIDTH);
    let root = SVGBackend::with_string(svg, (plot_width + LEGEND_WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot, legend) = root.split_horizontally(plot_width);
    let n = slots.len() as f64;
    let mut chart = ChartBuilder::on(&plot)
        .caption(format!("{workload}: {}, median of repeats (whiskers: min–max)", measure.unit()), ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5..n - 0.5, 0.0..y_top)?;
    let slot_name = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < slots.len() {
            let (size, pass) = slots[i as usize];
            format!("{size} · {}", pass.name())
        } else {
            String::new()
        }
    };
    // Axis numbers to a precision the axis's range needs.
    let decimals = if y_top >= 100.0 { 0 } else if y_top >= 1.0 { 1 } else { 3 };
    let value_label = |v: &f64| grouped(*v, decimals);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .x_labels(slots.len())
        .x_label_formatter(&slot_name)
        .y_label_formatter(&value_label)
        .y_desc(measure.unit())
        .x_desc("size · pass")
        .axis_desc_style(("sans-serif", 15))
        .label_style(("sans-serif", 13))
        .draw()?;

    let width = 0.8 / systems.len() as f64;
    for (k, system) in systems.iter().enumerate() {
        let colour = colour(k, system);
        for (i, (size, pass)) in slots.iter().enumerate() {
            let Some(g) = groups.iter().find(|g| &g.system == *system && g.size == *size && g.pass == *pass) else { continue };
            let x0 = i as f64 - 0.4 + k as f64 * width;
            let (x1, mid) = (x0 + width * 0.9, x0 + width * 0.45);
            match g.headline() {
                Some(s) if s.median > y_top => {
                    // Off scale (the ceiling, see the module doc): cut, with its value on top.
                    chart.draw_series(std::iter::once(Rectangle::new([(x0, 0.0), (x1, y_top)], colour.filled())))?;
                    let label = format!("{} ↑", if s.median >= 100.0 { grouped(s.median, 0) } else { measure.format(s.median) });
                    let style = ("sans-serif", 10).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
                    chart.draw_series(std::iter::once(Text::new(label, (mid, y_top * 0.99), style)))?;
                }
                Some(s) => {
                    chart.draw_series(std::iter::once(Rectangle::new([(x0, 0.0), (x1, s.median)], colour.filled())))?;
                    if s.n > 1 && s.max <= y_top {
                        chart.draw_series(std::iter::once(ErrorBar::new_vertical(mid, s.min, s.median, s.max, BLACK.stroke_width(1), 8)))?;
                    }
                    // The median above the bar (and its whisker), whole units from 100 on.
                    let label = if s.median >= 100.0 { grouped(s.median, 0) } else { measure.format(s.median) };
                    let style = ("sans-serif", 10).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Bottom));
                    chart.draw_series(std::iter::once(Text::new(label, (mid, s.max.max(s.median) + y_top * 0.01), style)))?;
                }
                None if g.ok == 0 => {
                    let style = ("sans-serif", 11).into_font().color(&RED).transform(FontTransform::Rotate270);
                    chart.draw_series(std::iter::once(Text::new("failed", (mid, y_top * 0.02), style)))?;
                }
                None => {}
            }
        }
    }
    // The legend: a swatch and the system's name per line.
    for (k, system) in systems.iter().enumerate() {
        let y = 60 + 26 * k as i32;
        legend.draw(&Rectangle::new([(10, y - 7), (26, y + 7)], colour(k, system).filled()))?;
        let name = match (system.as_str() == REFERENCE_PROFILE, Some(system.as_str()) == baseline) {
            (true, _) => format!("{system} (ceiling)"),
            (false, true) => format!("{system} (baseline)"),
            (false, false) => system.to_string(),
        };
        legend.draw(&Text::new(name, (34, y - 7), ("sans-serif", 14)))?;
    }
    root.present()?;
    Ok(())
}

/// A compared system's colour by its place; the reference profile's is grey.
fn colour(k: usize, system: &str) -> RGBColor {
    if system == REFERENCE_PROFILE {
        return GREY;
    }
    let c = Palette99::pick(k).to_rgba();
    RGBColor(c.0, c.1, c.2)
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{failed, ok};
    use super::super::summary::groups;
    use super::*;

    #[test]
    fn a_chart_names_its_systems_unit_and_slots_and_marks_failures() {
        let cells = [
            ok("ganesha", "small", Pass::Cold, 1, 100.0, &[]),
            ok("ganesha", "small", Pass::Cold, 2, 120.0, &[]),
            ok("juicefs", "small", Pass::Cold, 1, 150.0, &[]),
            failed("juicefs", "small", Pass::Warm, 1, "died"),
            ok("ganesha", "small", Pass::Warm, 1, 130.0, &[]),
            ok("local", "small", Pass::Cold, 1, 400.0, &[]),
        ];
        let groups = groups(&cells, None);
        let refs: Vec<&Group> = groups.iter().collect();
        let systems = ["ganesha".to_string(), "juicefs".to_string(), "local".to_string()];
        let svg = render("seq-read", &refs, &systems, Some("ganesha")).unwrap().unwrap();
        assert!(svg.starts_with("<svg "), "{svg}");
        for text in ["seq-read: MB/s, median of repeats", ">\nMB/s\n<", "ganesha (baseline)", ">\njuicefs\n<", "local (ceiling)", "small · cold", "small · warm", ">\nfailed\n<"] {
            assert!(svg.contains(text), "{text:?} missing from\n{svg}");
        }
        // Four bars (three in cold, one in warm), each a filled rectangle of its system's colour.
        let bars = svg.matches("<rect").count();
        assert!(bars >= 4 + 3, "{bars} rects in\n{svg}");
        let all_failed = groups.iter().filter(|g| g.ok == 0).collect::<Vec<_>>();
        assert!(render("seq-read", &all_failed, &systems, None).is_none());
        // 400 is under 3 × 150: drawn to scale, no cut.
        assert!(!svg.contains("↑"), "{svg}");
    }

    #[test]
    fn a_ceiling_far_above_the_systems_is_cut_with_its_value_printed() {
        let cells = [ok("ganesha", "small", Pass::Cold, 1, 100.0, &[]), ok("local", "small", Pass::Cold, 1, 25_000.0, &[])];
        let groups = groups(&cells, None);
        let refs: Vec<&Group> = groups.iter().collect();
        let svg = render("seq-read", &refs, &["ganesha".to_string(), "local".to_string()], None).unwrap().unwrap();
        assert!(svg.contains("25 000 ↑"), "{svg}");
        // The axis is the system's: its top label is near 100, not 25 000.
        assert!(!svg.contains(">\n25 000\n<") && svg.contains(">\n100\n<"), "{svg}");
    }
}
