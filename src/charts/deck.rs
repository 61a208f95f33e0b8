//! What a run hands its reader besides the data files: the charts and
//! `report.html` (for `pivotsim run`), and the table and chart of
//! `pivotsim compare`. Pure: file names and bytes; the CLI writes them as
//! one set through [`crate::output::OutputSet`].

use crate::charts::html::{ReportImage, report_html};
use crate::charts::{self, Chart, ChartError, ChartOptions, Format};
use crate::summary::Summary;

/// A file to write: name within the output folder, and its bytes.
pub type OutFile = (String, Vec<u8>);

/// The charts of a run (none when `charts` is `None`, i.e. `--no-charts`)
/// and `report.html`, which shows the PNGs (or the SVGs when only SVG is
/// drawn) and always carries the headline table.
pub fn run_files(
    summary: &Summary,
    charts: Option<&ChartOptions>,
) -> Result<Vec<OutFile>, ChartError> {
    let mut files: Vec<OutFile> = Vec::new();
    let mut images = Vec::new();
    if let Some(opts) = charts {
        for f in charts::render_all(summary, opts)? {
            files.push((f.name, f.bytes));
        }
        let ext = if opts.format == Format::Svg {
            "svg"
        } else {
            "png"
        };
        images = Chart::ALL
            .iter()
            .map(|c| ReportImage {
                file: format!("{}.{ext}", c.stem()),
                title: c.title().to_string(),
            })
            .collect();
        for f in charts::render_drivers(summary, opts)? {
            files.push((f.name, f.bytes));
        }
        images.push(ReportImage {
            file: format!("{}.{ext}", charts::drivers::STEM),
            title: charts::drivers::TITLE.to_string(),
        });
    }
    files.push(("report.html".to_string(), report_html(summary, &images)));
    Ok(files)
}

/// The files of a comparison: `compare.csv`, each scenario's
/// `<name>.summary.json` (so the comparison can be read back) and, unless
/// `charts` is `None`, the comparison chart.
pub fn compare_files(
    summaries: &[Summary],
    charts: Option<&ChartOptions>,
) -> Result<Vec<OutFile>, ChartError> {
    let mut files = vec![(
        "compare.csv".to_string(),
        crate::report::compare::compare_csv(summaries),
    )];
    for s in summaries {
        files.push((
            format!("{}.summary.json", s.scenario),
            crate::report::summary_json(s),
        ));
    }
    if let Some(opts) = charts {
        for f in charts::render_compare(summaries, opts)? {
            files.push((f.name, f.bytes));
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::testdata::summary;

    fn names(files: &[OutFile]) -> Vec<&str> {
        files.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn no_charts_still_writes_the_report_with_the_table() {
        let files = run_files(&summary(2, 12), None).unwrap();
        assert_eq!(names(&files), ["report.html"]);
    }

    #[test]
    fn svg_only_report_links_the_svgs() {
        let files = run_files(
            &summary(2, 12),
            Some(&ChartOptions {
                format: Format::Svg,
            }),
        )
        .unwrap();
        // Every chart, the drivers chart and the report.
        assert_eq!(files.len(), Chart::ALL.len() + 2);
        let page = String::from_utf8(files.last().unwrap().1.clone()).unwrap();
        assert!(page.contains("src=\"market.svg\""));
        assert!(!page.contains(".png"));
    }
}
