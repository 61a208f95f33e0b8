use super::*;
use crate::charts::testdata::summary;

/// The axis descriptions each chart must carry (units included).
fn axis_labels(chart: Chart) -> &'static [&'static str] {
    match chart {
        Chart::RevenueFan => &["Revenue per month ($M)", "Jan 2027"],
        Chart::RevenueExpected => &["Revenue per month ($M)", "AI inference"],
        Chart::ReserveDrawdown => &["BTC reserve (BTC)", "Max drawdown of net reserve (USD)"],
        Chart::Allocation => &["Power (MW)"],
        Chart::PolicyCompare => &["NPV", "P(margin call)", "P(liquidation)", "P(distress)"],
        Chart::Market => &["USD per BTC", "USD per PH/s per day", "MW of IT load"],
    }
}

/// SVG escapes `&`, `<`, `>` and quotes; our titles and labels use none but
/// `(`/`)`, which stay as they are.
fn assert_contains(svg: &str, needle: &str, chart: Chart) {
    assert!(
        svg.contains(needle),
        "{}: SVG lacks {needle:?}",
        chart.stem()
    );
}

#[test]
fn every_chart_renders_to_svg_with_title_axes_and_footer() {
    let s = summary(3, 24);
    for chart in Chart::ALL {
        let svg = svg(chart, &s).unwrap();
        assert_contains(&svg, chart.title(), chart);
        for label in axis_labels(chart) {
            assert_contains(&svg, label, chart);
        }
        assert_contains(&svg, "Scenario demo", chart);
        assert_contains(&svg, "seed 42", chart);
        assert_contains(&svg, "2026-02-03 14:05 UTC", chart);
        // The market is shared by the policies: it names none.
        if chart != Chart::Market {
            for p in &s.policies {
                assert_contains(&svg, &p.name, chart);
            }
        }
    }
}

#[test]
fn formats_pick_the_files() {
    let s = summary(2, 12);
    let names = |format| {
        render_all(&s, &ChartOptions { format })
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect::<Vec<_>>()
    };
    assert!(names(Format::Svg).iter().all(|n| n.ends_with(".svg")));
    let both = names(Format::Both);
    assert_eq!(both.len(), 2 * Chart::ALL.len());
    assert!(both.contains(&"revenue_fan.png".to_string()));
    assert!(both.contains(&"market.svg".to_string()));
}

#[test]
fn comparison_chart_names_every_scenario() {
    let mut b = summary(3, 24);
    b.scenario = "demo_no_delever".to_string();
    let svg = compare_svg(&[summary(3, 24), b]).unwrap();
    for needle in [
        compare::TITLE,
        "demo_no_delever",
        "NPV",
        "P(liquidation)",
        "Revenue",
    ] {
        assert!(svg.contains(needle), "compare SVG lacks {needle:?}");
    }
}

#[test]
fn money_axis_uses_one_unit() {
    let m = style::MoneyAxis::for_range(0.0, 40e6);
    assert_eq!(m.fmt(12e6), "$12M");
    assert_eq!(m.fmt(0.0), "$0");
    assert_eq!(m.unit(), "$M");
    let b = style::MoneyAxis::for_range(-0.5e9, 2.5e9);
    assert_eq!(b.fmt(1.5e9), "$1.5B");
    assert_eq!(b.fmt(-0.5e9), "-$0.5B");
}

#[test]
fn month_ticks_fit_the_width() {
    let dates: Vec<String> = summary(1, 60)
        .market
        .months
        .iter()
        .map(|m| m.date.clone())
        .collect();
    // About the width of `Jan 2028` at the tick size.
    let label_px = 115.0;
    let wide = style::month_ticks(&dates, 1600, label_px);
    let narrow = style::month_ticks(&dates, 400, label_px);
    // Yearly exactly when a year's width holds a label and the gap.
    let px_per_month = |w: f64| w / 59.0;
    for w in [600u32, 650, 700, 760] {
        let yearly = style::month_ticks(&dates, w, label_px).len() == 5;
        let room = 12.0 * px_per_month(w as f64) >= label_px + 16.0;
        assert_eq!(yearly, room, "width {w}");
    }
    assert!(wide.len() > narrow.len());
    assert!(!narrow.is_empty());
    // Yearly or coarser ticks fall on January.
    for t in &narrow {
        assert!(
            dates[*t as usize].contains("-01-01"),
            "{}",
            dates[*t as usize]
        );
    }
    assert_eq!(
        style::month_position(&dates, "2028-04-15").map(|x| x.floor()),
        Some(26.0)
    );
}

/// Pixels of `img` exactly in `color`.
fn pixels_of(img: &image::RgbImage, color: RGBColor) -> usize {
    let RGBColor(r, g, b) = color;
    img.pixels().filter(|p| p.0 == [r, g, b]).count()
}

/// The demo charts (every chart of a four-policy, five-year run, and the
/// comparison of two such runs) as PNGs: slide size, inked well beyond the
/// frame and text, and (but the market, which names no policy) in every
/// policy's colour. With `PIVOTSIM_CHART_DIR` set, the charts are also
/// written there, PNG and SVG, to look at or to compare byte for byte
/// before and after a change to the drawing code:
/// `PIVOTSIM_CHART_DIR=/tmp/charts cargo test charts::tests::demo_charts`.
#[test]
fn demo_charts_are_slide_size_pngs_inked_in_every_policys_colour() {
    let s = summary(4, 60);
    let mut b = summary(4, 60);
    b.scenario = "demo_no_delever".to_string();
    let mut files = render_all(&s, &ChartOptions::default()).unwrap();
    files.extend(render_compare(&[s.clone(), b], &ChartOptions::default()).unwrap());
    assert_eq!(files.len(), 2 * (Chart::ALL.len() + 1));
    for f in files.iter().filter(|f| f.name.ends_with(".png")) {
        let img = image::load_from_memory_with_format(&f.bytes, image::ImageFormat::Png)
            .unwrap_or_else(|e| panic!("{}: {e}", f.name))
            .to_rgb8();
        assert_eq!((img.width(), img.height()), (1920, 1080), "{}", f.name);
        let white = pixels_of(&img, WHITE);
        let inked = img.pixels().len() - white;
        assert!(
            inked > img.pixels().len() / 50 && white > img.pixels().len() / 4,
            "{}: {inked} inked pixels of {}",
            f.name,
            img.pixels().len()
        );
        if f.name != "market.png" {
            for (i, p) in s.policies.iter().enumerate() {
                let n = pixels_of(&img, style::policy_color(i));
                assert!(n > 200, "{}: {} ({n} pixels in its colour)", f.name, p.name);
            }
        }
    }
    if let Ok(dir) = std::env::var("PIVOTSIM_CHART_DIR") {
        let dir = std::path::Path::new(&dir);
        std::fs::create_dir_all(dir).unwrap();
        for f in &files {
            std::fs::write(dir.join(&f.name), &f.bytes).unwrap();
        }
    }
}

/// The drivers chart: title, the policies but the baseline, the drivers'
/// labels, the axis, the footer; a PNG of slide size. With
/// `PIVOTSIM_CHART_DIR` set it is written there too (see the demo test).
#[test]
fn drivers_chart_names_policies_drivers_and_axes() {
    let s = summary(4, 24);
    let svg = drivers_svg(&s).unwrap();
    for needle in [
        drivers::TITLE,
        "staged minus hold",
        "full_pivot minus hold",
        "BTC return",
        "GPU-hour price",
        "not explained",
        "Decile of the driver (1 = lowest 10% of paths)",
        "Scenario demo",
        "seed 42",
    ] {
        assert!(svg.contains(needle), "drivers SVG lacks {needle:?}");
    }
    // One block per policy but the baseline.
    let headers = svg.lines().filter(|l| l.ends_with(" minus hold")).count();
    assert_eq!(headers, 3);
    let files = render_drivers(&s, &ChartOptions::default()).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["drivers.png", "drivers.svg"]);
    let img = image::load_from_memory_with_format(&files[0].bytes, image::ImageFormat::Png)
        .unwrap()
        .to_rgb8();
    assert_eq!((img.width(), img.height()), (1920, 1080));
    for (i, _) in s.drivers[0].drivers.iter().enumerate() {
        let n = pixels_of(&img, drivers::driver_color(i));
        assert!(n > 200, "driver {i}: {n} pixels in its colour");
    }
    if let Ok(dir) = std::env::var("PIVOTSIM_CHART_DIR") {
        let dir = std::path::Path::new(&dir);
        std::fs::create_dir_all(dir).unwrap();
        for f in &files {
            std::fs::write(dir.join(&f.name), &f.bytes).unwrap();
        }
    }
}

/// Five policies lay out in two columns; a constant driver draws no line
/// and says so; a run with only the baseline draws a note.
#[test]
fn drivers_chart_handles_many_policies_constants_and_none() {
    let mut s = summary(6, 12);
    let d = &mut s.drivers[0].drivers[4];
    d.note = "constant".to_string();
    d.contribution_to_variance = 0.0;
    d.decile_mean_usd = std::iter::once(Some(1e6)).chain([None; 9]).collect();
    let svg = drivers_svg(&s).unwrap();
    assert!(svg.contains("sixth minus hold"));
    if let Ok(dir) = std::env::var("PIVOTSIM_CHART_DIR") {
        let png = png_of(Job::Drivers(&s)).unwrap();
        std::fs::write(std::path::Path::new(&dir).join("drivers_six.png"), png).unwrap();
    }
    assert!(svg.contains("constant"), "no constant note");
    let only = summary(1, 12);
    assert!(only.drivers.is_empty());
    let svg = drivers_svg(&only).unwrap();
    assert!(svg.contains("no difference to explain"));
}
