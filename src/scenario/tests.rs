//! Loading the shipped scenarios, and one case per kind of bad input: each
//! asserts that the message names the file and the key.

use std::path::{Path, PathBuf};

use super::*;

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

fn load_shipped(name: &str) -> Scenario {
    load(&shipped(name)).unwrap_or_else(|err| panic!("{name}: {err}"))
}

/// One inline convertible site in the default region `US`.
const ONE_SITE: &str = r#"
[[sites]]
site_id = "a"
region = "US"
power_mw = 10
j_per_th = 20
convertible = true
"#;

/// A scratch folder holding `scenario.toml` (and a fleet CSV if given).
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new(toml: &str) -> Scratch {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("scenario.toml"), toml).expect("write scenario");
        Scratch { dir }
    }

    fn with_csv(toml: &str, csv: &str) -> Scratch {
        let scratch = Scratch::new(toml);
        std::fs::write(scratch.dir.path().join("fleet.csv"), csv).expect("write csv");
        scratch
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("scenario.toml")
    }

    fn load(&self) -> Result<Scenario, ScenarioError> {
        load(&self.path())
    }

    /// The error's message, asserting that it names the file and every one of `needles`.
    fn error(&self, needles: &[&str]) -> String {
        let message = match self.load() {
            Ok(_) => panic!("expected an error naming {needles:?}"),
            Err(err) => err.to_string(),
        };
        assert!(
            message.contains("scenario.toml"),
            "no file name in: {message}"
        );
        for needle in needles {
            assert!(message.contains(needle), "no `{needle}` in: {message}");
        }
        message
    }
}

/// An error for `ONE_SITE` plus `extra`, naming `needles`.
fn bad(extra: &str, needles: &[&str]) -> String {
    Scratch::new(&format!("{ONE_SITE}\n{extra}")).error(needles)
}

#[test]
fn reference_scenario_matches_model_section_6() {
    let s = load_shipped("cango_2026.toml");
    assert_eq!(s.name, "cango_2026");
    assert_eq!(s.sites.len(), 40);
    let power_mw: f64 = s.sites.iter().map(|site| site.power_mw).sum();
    let hashrate_ehs: f64 = s.sites.iter().map(Site::hashrate_ehs).sum();
    assert!((power_mw - 1010.0).abs() < 1e-9, "{power_mw}");
    // docs/model.md section 6 rounds it to 49.31: 540 MW at 19.0 J/TH + 470 MW at 22.5 J/TH.
    assert!(
        (hashrate_ehs - (540.0 / 19.0 + 470.0 / 22.5)).abs() < 1e-9,
        "{hashrate_ehs}"
    );
    assert_eq!(format!("{hashrate_ehs:.2}"), "49.31");
    let share = |name: &str| {
        let r = s.regions.iter().find(|r| r.name == name).unwrap();
        (r.power_usd_per_mwh, r.take_or_pay_share, r.lead_months)
    };
    assert_eq!(share("US"), (80.0, 0.2, Some(12)));
    assert_eq!(share("Oman"), (70.0, 0.15, Some(12)));
    assert_eq!(share("Paraguay"), (60.0, 0.15, Some(15)));
    assert_eq!(share("Ethiopia"), (55.0, 0.15, None));
    assert_eq!(s.sites.iter().filter(|site| site.convertible).count(), 16);
    assert_eq!(s.policies.len(), 4);
    assert_eq!(s.policies[s.baseline].name, "hold");
    assert_eq!(s.events.len(), 1);
    assert_eq!(s.events[0].month, Some(0));
    assert!(matches!(
        s.events[0].kind,
        EventKind::SellBtc {
            btc: 4451.0,
            repay_loan: true,
            price_usd: Some(68525.0)
        }
    ));
    assert_eq!(s.simulation.paths, 10_000);
    assert_eq!(s.simulation.months, 60);
    assert_eq!(s.ai.mode, AiMode::GpuCloud);
    assert_eq!(s.sha256.len(), 64);
    // Ethiopia has no lead time and none of its sites converts.
    let ethiopia = s.regions.iter().position(|r| r.name == "Ethiopia").unwrap();
    assert!(
        s.sites
            .iter()
            .filter(|site| site.region == ethiopia)
            .all(|site| !site.convertible)
    );
}

#[test]
fn reference_scenario_cholesky_reproduces_the_correlation() {
    let m = load_shipped("cango_2026.toml").market;
    for i in 0..4 {
        for j in 0..4 {
            let product: f64 = (0..4).map(|k| m.cholesky[i][k] * m.cholesky[j][k]).sum();
            assert!((product - m.correlation[i][j]).abs() < 1e-12);
            if j > i {
                assert_eq!(m.cholesky[i][j], 0.0);
            }
        }
    }
}

#[test]
fn variants_differ_from_the_reference_only_where_they_say() {
    let reference = load_shipped("cango_2026.toml");
    let no_delever = load_shipped("cango_2026_no_delever.toml");
    assert_eq!(no_delever.name, "cango_2026_no_delever");
    assert!(no_delever.events.is_empty());
    assert_eq!(
        format!("{:?}", no_delever.loan),
        format!("{:?}", reference.loan)
    );

    let colocation = load_shipped("cango_2026_colocation.toml");
    assert_eq!(colocation.ai.mode, AiMode::Colocation);
    assert_eq!(colocation.ai.facility_capex_usd_per_mw_it, 9_000_000.0);
    assert_eq!(colocation.ai.opex_usd_per_mw_it_month, 15_000.0);
    assert_eq!(colocation.ai.lease_usd_per_mw_it_year, 1_800_000.0);
    let demand = &colocation.market.ai_demand;
    assert_eq!(
        (demand.d0_mw_it, demand.growth_per_year, demand.sigma),
        (200.0, 0.20, 0.25)
    );
    assert_eq!(
        colocation.sites[0].facility_capex_usd_per_mw_it,
        9_000_000.0
    );
}

#[test]
fn smoke_scenario_resolves_site_overrides() {
    let s = load_shipped("smoke.toml");
    assert_eq!(
        (s.sites.len(), s.regions.len(), s.simulation.months),
        (5, 2, 24)
    );
    assert_eq!(s.policies.len(), 4);
    assert_eq!(s.events[0].month, Some(0));
    let site = |id: &str| s.sites.iter().find(|site| site.id == id).unwrap();
    assert_eq!(site("us-a").lead_months, Some(9));
    assert_eq!(site("us-a").facility_capex_usd_per_mw_it, 9_000_000.0);
    assert_eq!(site("us-b").lead_months, Some(6));
    assert_eq!(site("us-b").facility_capex_usd_per_mw_it, 6_000_000.0);
    assert_eq!(site("py-b").power_usd_per_mwh, 38.0);
    assert_eq!(site("py-b").uptime, 0.90);
}

#[test]
fn a_file_with_just_the_fleet_gets_the_reference_values() {
    let csv = std::fs::read_to_string(shipped("cango_fleet.csv")).unwrap();
    let minimal = Scratch::with_csv("sites_csv = \"fleet.csv\"\n", &csv)
        .load()
        .unwrap();
    let reference = load_shipped("cango_2026.toml");
    assert_eq!(minimal.name, "scenario");
    let parts = |s: &Scenario| {
        format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            s.simulation,
            s.market,
            s.mining,
            s.ai,
            s.regions,
            s.sites,
            s.treasury,
            s.loan,
            s.financing,
            s.valuation
        )
    };
    assert_eq!(parts(&minimal), parts(&reference));
    assert_eq!(minimal.policies.len(), 1);
    assert!(matches!(minimal.policies[0].kind, PolicyKind::Hold));
    assert_eq!(minimal.policies[0].name, "hold");
}

#[test]
fn mode_dependent_defaults_follow_the_mode() {
    let s = Scratch::new(&format!("{ONE_SITE}\n[ai]\nmode = \"colocation\"\n"))
        .load()
        .unwrap();
    // Facility capex is 9M in both modes (docs/model.md section 6).
    assert_eq!(s.ai.facility_capex_usd_per_mw_it, 9_000_000.0);
    assert_eq!(s.ai.opex_usd_per_mw_it_month, 15_000.0);
    assert_eq!(s.market.ai_demand.d0_mw_it, 200.0);
}

#[test]
fn overrides_patch_the_file_before_validation() {
    let scratch = Scratch::new(ONE_SITE);
    let overrides = Overrides {
        paths: Some(7),
        seed: Some(9),
        months: Some(12),
    };
    let s = load_with(&scratch.path(), &overrides).unwrap();
    assert_eq!(
        (s.simulation.paths, s.simulation.seed, s.simulation.months),
        (7, 9, 12)
    );
    let zero = Overrides {
        months: Some(0),
        ..Overrides::default()
    };
    let err = load_with(&scratch.path(), &zero).unwrap_err().to_string();
    assert!(err.contains("simulation.months"), "{err}");
}

#[test]
fn events_are_sorted_and_resolved_to_months() {
    let s = Scratch::new(&format!(
        r#"{ONE_SITE}
[simulation]
months = 12
[[events]]
kind = "sell_btc"
date = "2027-06-30"
btc = 1
[[events]]
kind = "sell_btc"
date = "2026-03-31"
btc = 2
repay_loan = false
[loan]
maturity = "2026-12-15"
"#
    ))
    .load()
    .unwrap();
    assert_eq!(s.events[0].month, Some(1));
    assert_eq!(s.events[1].month, None);
    assert!(matches!(
        s.events[0].kind,
        EventKind::SellBtc {
            repay_loan: false,
            price_usd: None,
            ..
        }
    ));
    assert_eq!(s.loan.maturity_month, Some(10));
}

#[test]
fn exact_decimal_strings_and_numbers_are_both_accepted() {
    let s = Scratch::new(&format!(
        "{ONE_SITE}\n[treasury]\ncash_usd = \"305000000.00\"\nreserve_btc = 1e3\n"
    ))
    .load()
    .unwrap();
    assert_eq!(s.treasury.cash_usd, 305_000_000.0);
    assert_eq!(s.treasury.reserve_btc, 1000.0);
    bad(
        "[treasury]\ncash_usd = \"12,5\"",
        &["treasury", "cash_usd", "12,5"],
    );
}

#[test]
fn the_hash_covers_the_fleet_csv() {
    let toml = "sites_csv = \"fleet.csv\"\n";
    let header = "site_id,region,power_mw,j_per_th,convertible\n";
    let a = Scratch::with_csv(toml, &format!("{header}a,US,10,20,true\n"));
    let b = Scratch::with_csv(toml, &format!("{header}a,US,11,20,true\n"));
    assert_ne!(a.load().unwrap().sha256, b.load().unwrap().sha256);
}

#[test]
fn csv_empty_cells_take_the_region_value() {
    let csv = "site_id,region,power_mw,j_per_th,convertible,uptime,lead_months\n\
               a,US,10,20,true,,\n\
               b,Ethiopia,10,20,true,0.5,3\n";
    let s = Scratch::with_csv("sites_csv = \"fleet.csv\"\n", csv)
        .load()
        .unwrap();
    assert_eq!(
        (s.sites[0].uptime, s.sites[0].lead_months),
        (0.92, Some(12))
    );
    assert_eq!((s.sites[1].uptime, s.sites[1].lead_months), (0.5, Some(3)));
}

#[test]
fn describe_summarises_the_reference_fleet() {
    let text = describe(&load_shipped("cango_2026.toml"));
    for needle in [
        "Scenario cango_2026",
        "40 sites, 1,010 MW, 49.31 EH/s; 16 convertible",
        "10,000 paths, seed 42",
        "gpu_cloud",
        "2026-02-09 (month 0): sell 4,451 BTC at 68,525 USD, repay the loan",
        "staged     sites_per_quarter = 2, max_sites = 16",
        "Policies (baseline hold)",
    ] {
        assert!(text.contains(needle), "no `{needle}` in:\n{text}");
    }
    assert!(text.lines().count() <= 24, "more than a screen:\n{text}");
}

// ---- bad input: every message names the file and the key ----

#[test]
fn out_of_range_numbers_name_their_key() {
    let cases = [
        (
            "[[sites]]\nsite_id = \"b\"\nregion = \"US\"\npower_mw = -5\nj_per_th = 20\nconvertible = false",
            "sites[1].power_mw",
            "expected a number in (0, 1e5], got -5",
        ),
        (
            "[[sites]]\nsite_id = \"b\"\nregion = \"US\"\npower_mw = 5\nj_per_th = 0\nconvertible = false",
            "sites[1].j_per_th",
            "in [0.01, 1e7], got 0",
        ),
        (
            "[[regions]]\nname = \"US\"\npower_usd_per_mwh = 70\nuptime = 0",
            "regions[0].uptime",
            "in (0, 1], got 0",
        ),
        ("[ai]\nu_max = 1.2", "ai.u_max", "in (0, 1]"),
        ("[ai]\npue = 0.9", "ai.pue", "in [1, 5], got 0.9"),
        (
            "[mining]\ncurtailed_opex_share = 1.5",
            "mining.curtailed_opex_share",
            "in [0, 1]",
        ),
        (
            "[treasury]\nsell_mined_fraction = -0.1",
            "treasury.sell_mined_fraction",
            "in [0, 1]",
        ),
        (
            "[financing]\ncapex_debt_share = 2",
            "financing.capex_debt_share",
            "in [0, 1]",
        ),
        (
            "[market.btc]\nsigma = -0.4",
            "market.btc.sigma",
            "in [0, 2]",
        ),
        (
            "[market.hashrate]\nsigma = -1",
            "market.hashrate.sigma",
            "in [0, 1]",
        ),
        (
            "[simulation]\npaths = 0",
            "simulation.paths",
            "an integer >= 1, got 0",
        ),
        (
            "[simulation]\npaths = 5000000000",
            "simulation.paths",
            "at most 4294967295",
        ),
        (
            "[simulation]\nmonths = -3",
            "simulation.months",
            "an integer >= 1, got -3",
        ),
        (
            "[[regions]]\nname = \"US\"\npower_usd_per_mwh = 70\nuptime = 0.9\nlead_months = 0",
            "regions[0].lead_months",
            "an integer in [1, 600], got 0",
        ),
        (
            "[loan]\ninitial_ltv = 0",
            "loan.initial_ltv",
            "in [0.01, 5]",
        ),
        (
            "[loan]\nmargin_call_ltv = 0.5",
            "loan.margin_call_ltv",
            "> loan.initial_ltv (0.6)",
        ),
        (
            "[loan]\nliquidation_ltv = 0.7",
            "loan.liquidation_ltv",
            ">= loan.margin_call_ltv (0.75)",
        ),
        (
            "[[policies]]\nkind = \"staged\"\nsites_per_quarter = 0",
            "policies[0].sites_per_quarter",
            "in [1, 1000000]",
        ),
        (
            "[[policies]]\nkind = \"threshold\"\nwindow_months = 0",
            "policies[0].window_months",
            "in [1, 600]",
        ),
        (
            "[[events]]\nkind = \"sell_btc\"\ndate = \"2026-03-01\"\nbtc = 0",
            "events[0].btc",
            "in (0, 2.1e7]",
        ),
    ];
    for (extra, key, expected) in cases {
        bad(extra, &[&format!("key `{key}`"), expected]);
    }
}

#[test]
fn non_finite_numbers_are_refused_with_their_line() {
    bad(
        "[market.btc]\nmu = nan",
        &["line", "market.btc", "mu = nan", "finite"],
    );
    bad("[market.btc]\nsigma = inf", &["sigma = inf", "finite"]);
}

#[test]
fn unknown_keys_and_kinds_are_parse_errors_naming_the_key() {
    bad(
        "[simulation]\nmonthz = 3",
        &["simulation", "monthz", "unknown field"],
    );
    bad(
        "[[policies]]\nname = \"x\"\nkind = \"yolo\"",
        &[
            "policies[0]",
            "kind = \"yolo\"",
            "unknown variant `yolo`",
            "staged",
        ],
    );
    bad(
        "[[events]]\nkind = \"burn_btc\"\ndate = \"2026-03-01\"",
        &["events[0]", "burn_btc"],
    );
    bad(
        "[ai]\nmode = \"cloud\"",
        &["ai", "mode = \"cloud\"", "gpu_cloud"],
    );
}

#[test]
fn bad_dates_name_their_key() {
    bad(
        "[simulation]\nstart = \"2026-02-30\"",
        &["simulation.start", "YYYY-MM-DD"],
    );
    bad(
        "[simulation]\nstart = \"2026-02-15\"",
        &["simulation.start", "1st of a month"],
    );
    bad(
        "[[events]]\nkind = \"sell_btc\"\ndate = \"2026-01-31\"\nbtc = 1",
        &["events[0].date", "on or after simulation.start"],
    );
    bad(
        "[loan]\nmaturity = \"soon\"",
        &["loan.maturity", "YYYY-MM-DD"],
    );
    bad(
        "[market.subsidy]\nhalvings = [\"2032-04-15\", \"2028-04-15\"]",
        &["market.subsidy.halvings[1]", "ascending"],
    );
}

#[test]
fn fleet_errors_name_the_site() {
    let site = |id: &str, region: &str| {
        format!(
            "[[sites]]\nsite_id = \"{id}\"\nregion = \"{region}\"\npower_mw = 5\nj_per_th = 20\nconvertible = true"
        )
    };
    bad(
        &site("b", "Mars"),
        &["sites[1].region", "unknown region `Mars`", "US, Oman"],
    );
    bad(
        &site("a", "US"),
        &[
            "sites[1].site_id",
            "duplicate site id `a`",
            "sites[0].site_id",
        ],
    );
    bad(
        &site("b", "Ethiopia"),
        &["sites[1].lead_months", "convertible", "Ethiopia"],
    );
    Scratch::new(&format!("sites_csv = \"fleet.csv\"\n{ONE_SITE}"))
        .error(&["key `sites_csv`", "not both"]);
    Scratch::new("[simulation]\npaths = 10\n").error(&["key `sites`", "expected a fleet"]);
}

#[test]
fn fleet_csv_errors_name_the_csv_line_and_column() {
    let toml = "sites_csv = \"fleet.csv\"\n";
    let header = "site_id,region,power_mw,j_per_th,convertible\n";
    let csv = format!("{header}a,US,10,20,true\nb,US,-5,20,true\n");
    Scratch::with_csv(toml, &csv).error(&["sites_csv (fleet.csv line 3) power_mw", "got -5"]);
    let csv = format!("{header}a,US,ten,20,true\n");
    Scratch::with_csv(toml, &csv).error(&["sites_csv (fleet.csv line 2) power_mw", "ten"]);
    let csv = format!("{header}a,US,10,20\n");
    Scratch::with_csv(toml, &csv).error(&["fleet.csv line 2"]);
    let csv = format!("{header}a,US,10,20,true\na,US,10,20,true\n");
    Scratch::with_csv(toml, &csv).error(&["sites_csv (fleet.csv line 3) site_id", "duplicate"]);
    Scratch::with_csv(toml, header).error(&["key `sites_csv`", "at least one site"]);
    for number in ["NaN", "nan", "inf", "-inf", "1e400", "1e30"] {
        let csv = format!("{header}a,US,10,{number},true\n");
        Scratch::with_csv(toml, &csv).error(&["sites_csv (fleet.csv line 2) j_per_th"]);
    }
    let csv = format!("{header}a,US,,20,true\n");
    Scratch::with_csv(toml, &csv).error(&["sites_csv (fleet.csv line 2) power_mw"]);
    let csv = "site_id,region,power_mw,j_per_th,convertible,uptime\na,US,10,20,true,inf\n";
    Scratch::with_csv(toml, csv).error(&["sites_csv (fleet.csv line 2) uptime"]);
    let csv = "site_id,region,power_mw,j_per_th,convertible\n\u{ff},US,10,20,true\n";
    let bytes: Vec<u8> = csv
        .bytes()
        .map(|b| if b == 0xc3 { 0xff } else { b })
        .collect();
    let scratch = Scratch::new(toml);
    std::fs::write(scratch.dir.path().join("fleet.csv"), bytes).unwrap();
    scratch.error(&["sites_csv (fleet.csv line 2) site_id", "UTF-8"]);
    let missing = Scratch::new(toml).load().unwrap_err().to_string();
    assert!(
        missing.contains("fleet.csv") && missing.contains("cannot read"),
        "{missing}"
    );
}

#[test]
fn fleet_csv_headers_are_checked_without_echoing_a_foreign_file() {
    let toml = "sites_csv = \"fleet.csv\"\n";
    let foreign =
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n";
    let message = Scratch::with_csv(toml, foreign).error(&[
        "sites_csv (fleet.csv line 1)",
        "does not look like a fleet CSV",
        "site_id, region, power_mw",
    ]);
    assert!(
        !message.contains("root") && !message.contains("daemon"),
        "the file's content is echoed: {message}"
    );
    Scratch::with_csv(
        toml,
        "site_id,region,powr_mw,j_per_th,convertible\na,US,10,20,true\n",
    )
    .error(&["sites_csv (fleet.csv line 1)", "unknown column `powr_mw`"]);
    Scratch::with_csv(toml, "site_id,region,j_per_th,convertible\na,US,20,true\n").error(&[
        "sites_csv (fleet.csv line 1)",
        "missing the column `power_mw`",
    ]);
    Scratch::with_csv(
        toml,
        "site_id,region,power_mw,j_per_th,convertible,uptime,uptime\na,US,10,20,true,1,1\n",
    )
    .error(&["sites_csv (fleet.csv line 1) uptime", "twice"]);
}

#[test]
fn correlation_errors_name_the_matrix() {
    let matrix = |rows: &str| format!("[market.correlation]\nmatrix = {rows}");
    bad(
        &matrix("[[1,0.3,0,0],[0.2,1,0,0],[0,0,1,0],[0,0,0,1]]"),
        &["market.correlation.matrix[1][0]", "symmetric"],
    );
    bad(
        &matrix("[[1,0,0,0],[0,0.9,0,0],[0,0,1,0],[0,0,0,1]]"),
        &["market.correlation.matrix[1][1]", "diagonal"],
    );
    bad(
        &matrix("[[1,0,0,0],[0,1,0,0],[0,0,1,1.5],[0,0,1.5,1]]"),
        &["market.correlation.matrix[2][3]", "[-1, 1]"],
    );
    bad(
        &matrix("[[1,0.9,0.9,0],[0.9,1,0,0],[0.9,0,1,0],[0,0,0,1]]"),
        &["key `market.correlation.matrix`", "positive definite"],
    );
}

#[test]
fn duplicate_policy_names_are_refused() {
    bad(
        "[[policies]]\nkind = \"hold\"\n[[policies]]\nname = \"hold\"\nkind = \"full_pivot\"",
        &["policies[1].name", "duplicate policy name `hold`"],
    );
}

#[test]
fn malformed_toml_is_a_parse_error_with_its_line() {
    bad("[loan\nrate = 0.07", &["line"]);
    let missing = load(Path::new("/nonexistent/scenario.toml")).unwrap_err();
    assert!(matches!(missing, ScenarioError::Io { .. }));
}

/// Replacing any value of the smoke scenario with junk gives a result
/// (usually an error), never a panic. Every value times every junk token.
#[test]
fn junk_values_never_panic() {
    const JUNK: &[&str] = &[
        "-1",
        "0",
        "1e400",
        "\"1e99999999\"",
        "\"-1e-99999999\"",
        "\"79228162514264337593543950336\"",
        "-9223372036854775808",
        "nan",
        "-inf",
        "\"\"",
        "\"x\"",
        "[]",
        "{}",
        "true",
        "\"2026-13-45\"",
        "\"9999-12-31\"",
        "\"-262144-01-01\"",
        "2026-02-01",
    ];
    let text = std::fs::read_to_string(shipped("smoke.toml")).unwrap();
    let scratch = Scratch::new("");
    for line in text.lines().filter(|line| line.contains(" = ")) {
        let key = line.split(" = ").next().unwrap();
        for junk in JUNK {
            let mutated = text.replacen(line, &format!("{key} = {junk}"), 1);
            std::fs::write(scratch.path(), mutated).unwrap();
            let _ = scratch.load();
        }
    }
}

#[test]
fn treasury_scenario_is_the_reference_plus_its_treasury_tools() {
    let reference = load_shipped("cango_2026.toml");
    let s = load_shipped("cango_2026_treasury.toml");
    assert_eq!(s.name, "cango_2026_treasury");
    assert_eq!(format!("{:?}", s.loan), format!("{:?}", reference.loan));
    assert_eq!(format!("{:?}", s.sites), format!("{:?}", reference.sites));
    assert_eq!(
        s.treasury.sell_to_target_ltv,
        Some(SellToTargetLtv {
            trigger_ltv: 0.70,
            target_ltv: 0.60
        })
    );
    assert!(reference.treasury.sell_to_target_ltv.is_none());
    let kinds: Vec<&str> = s.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["sell_btc", "capex_budget", "raise_equity", "draw_loan"]
    );
    let months: Vec<Option<usize>> = s.events.iter().map(|e| e.month).collect();
    assert_eq!(months, [Some(0), Some(2), Some(4), Some(7)]);
    assert!(matches!(
        s.events[2].kind,
        EventKind::RaiseEquity { usd } if usd == 50_000_000.0
    ));
    assert!(matches!(
        s.events[3].kind,
        EventKind::DrawLoan { ltv, max_usd: Some(m) } if ltv == 0.45 && m == 25_000_000.0
    ));
    assert!(matches!(
        s.events[1].kind,
        EventKind::CapexBudget { usd_per_year } if usd_per_year == 1_800_000_000.0
    ));
}

#[test]
fn treasury_events_parse_with_their_defaults() {
    let s = Scratch::new(&format!(
        r#"{ONE_SITE}
[[events]]
kind = "buy_btc"
date = "2026-03-01"
usd = "1000000.50"
[[events]]
kind = "repay_loan"
date = "2026-04-01"
usd = 5e6
[[events]]
kind = "draw_loan"
date = "2026-05-01"
ltv = 0.5
[[events]]
kind = "capex_budget"
date = "2026-06-01"
usd_per_year = 0
"#
    ))
    .load()
    .unwrap();
    assert!(matches!(
        s.events[0].kind,
        EventKind::BuyBtc { usd, price_usd: None } if usd == 1_000_000.5
    ));
    assert!(matches!(s.events[1].kind, EventKind::RepayLoan { usd } if usd == 5e6));
    assert!(matches!(
        s.events[2].kind,
        EventKind::DrawLoan { ltv, max_usd: None } if ltv == 0.5
    ));
    assert!(matches!(
        s.events[3].kind,
        EventKind::CapexBudget { usd_per_year } if usd_per_year == 0.0
    ));
}

#[test]
fn treasury_event_and_rule_errors_name_their_key() {
    let event = |body: &str| format!("[[events]]\ndate = \"2026-03-01\"\n{body}");
    bad(
        &event("kind = \"raise_equity\"\nusd = 0"),
        &["events[0].usd", "in (0, 1e12]"],
    );
    bad(
        &event("kind = \"buy_btc\"\nusd = -5"),
        &["events[0].usd", "in (0, 1e12]"],
    );
    bad(
        &event("kind = \"buy_btc\"\nusd = 5\nprice_usd = 0"),
        &["events[0].price_usd"],
    );
    bad(
        &event("kind = \"repay_loan\"\nusd = \"abc\""),
        &["events[0]", "abc"],
    );
    bad(
        &event("kind = \"draw_loan\"\nltv = 0.7"),
        &["events[0].ltv", "loan.initial_ltv", "0.7"],
    );
    bad(&event("kind = \"draw_loan\"\nltv = 0"), &["events[0].ltv"]);
    bad(
        &event("kind = \"draw_loan\"\nltv = 0.5\nmax_usd = -1"),
        &["events[0].max_usd"],
    );
    bad(
        &event("kind = \"capex_budget\"\nusd_per_year = -1"),
        &["events[0].usd_per_year", "in [0, 1e12]"],
    );
    bad(
        &event("kind = \"raise_equity\"\nusd = 5\nbtc = 1"),
        &["events[0]", "btc"],
    );
    bad(
        "[[events]]\nkind = \"raise_equity\"\ndate = \"2025-12-01\"\nusd = 5",
        &["events[0].date", "simulation.start"],
    );
    bad(
        "[treasury]\nsell_to_target_ltv = { trigger_ltv = 0.75, target_ltv = 0.6 }",
        &[
            "treasury.sell_to_target_ltv.trigger_ltv",
            "loan.margin_call_ltv",
        ],
    );
    bad(
        "[treasury]\nsell_to_target_ltv = { trigger_ltv = 0.7, target_ltv = 0.7 }",
        &[
            "treasury.sell_to_target_ltv.target_ltv",
            "treasury.sell_to_target_ltv.trigger_ltv",
        ],
    );
    bad(
        "[treasury]\nsell_to_target_ltv = { trigger_ltv = 0.7, target_ltv = 0 }",
        &["treasury.sell_to_target_ltv.target_ltv"],
    );
    bad(
        "[treasury]\nsell_to_target_ltv = { trigger_ltv = 0.7, target = 0.6 }",
        &["treasury", "target"],
    );
}

/// Every name that becomes part of a file name (the scenario's, a
/// policy's, a site's) is a plain file name: no separator, no control
/// character, not `.` or `..`, not blank, not over the length limit; the
/// error names the key.
#[test]
fn names_that_become_file_names_must_be_plain() {
    let long = "x".repeat(crate::scenario::validate::MAX_NAME_BYTES + 1);
    let bad_names = [
        "x/../../../../escape",
        "a\\\\b",
        "..",
        ".",
        "  ",
        "nul\\u0000byte",
        "new\\nline",
        long.as_str(),
    ];
    for name in bad_names {
        Scratch::new(&format!("name = \"{name}\"\n{ONE_SITE}")).error(&["key `name`", "file name"]);
        bad(
            &format!("[[policies]]\nname = \"{name}\"\nkind = \"hold\""),
            &["policies[0].name", "file name"],
        );
        let site = ONE_SITE.replace("site_id = \"a\"", &format!("site_id = \"{name}\""));
        Scratch::new(&site).error(&["site_id", "file name"]);
    }
    // At the limit, and with spaces and non-ASCII letters, a name is fine.
    let ok = "é".repeat(crate::scenario::validate::MAX_NAME_BYTES / 2);
    let s = Scratch::new(&format!("name = \"{ok}\"\n{ONE_SITE}"));
    s.load().unwrap();
}

/// `months` and `start` are bounded: a run of at most 50 years starting
/// between Bitcoin's first month and 2100 (the `--months` override too).
#[test]
fn months_and_start_are_bounded() {
    for (extra, key) in [
        ("months = 601", "simulation.months"),
        ("months = 1000000000000", "simulation.months"),
        ("start = \"2008-12-01\"", "simulation.start"),
        ("start = \"2101-01-01\"", "simulation.start"),
        ("start = \"+262142-01-01\"", "simulation.start"),
    ] {
        Scratch::new(&format!("[simulation]\n{extra}\n{ONE_SITE}")).error(&[key]);
    }
    let s = Scratch::new(&format!(
        "[simulation]\nmonths = 600\nstart = \"2100-12-01\"\n{ONE_SITE}"
    ));
    assert_eq!(s.load().unwrap().simulation.months, 600);
    let over = crate::scenario::Overrides {
        months: Some(usize::MAX),
        ..Default::default()
    };
    let e = crate::scenario::load_with(&s.dir.path().join("scenario.toml"), &over).unwrap_err();
    assert!(e.to_string().contains("simulation.months"), "{e}");
}

/// The correlation matrix must be 4 x 4: a longer or shorter row, or an
/// extra row, is named (its extra cells are not ignored, whatever they hold).
#[test]
fn the_correlation_matrix_must_be_4_by_4() {
    let row = "[1, 0.3, 0, 0.2]";
    let rows = ["[0.3, 1, 0, 0]", "[0, 0, 1, 0]", "[0.2, 0, 0, 1]"];
    let matrix = |first: &str, extra: &str| {
        format!(
            "{ONE_SITE}\n[market.correlation]\nmatrix = [{first}, {}{extra}]\n",
            rows.join(", ")
        )
    };
    Scratch::new(&matrix("[1, 0.3, 0, 0.2, \"abc\"]", "")).error(&[
        "market.correlation",
        "\"abc\"",
        "expected a number",
    ]);
    Scratch::new(&matrix("[1, 0.3, 0, 0.2, 0]", ""))
        .error(&["market.correlation.matrix[0]", "expected 4 entries, got 5"]);
    Scratch::new(&matrix("[1, 0.3, 0]", "")).error(&["matrix[0]", "got 3"]);
    Scratch::new(&matrix(row, ", [0, 0, 0, 0]")).error(&["matrix", "expected 4 rows", "got 5"]);
    Scratch::new(&matrix(row, "")).load().unwrap();
}

/// Jumps per year are bounded (1e21 used to panic in the sampler).
#[test]
fn the_jump_intensity_is_bounded() {
    for lambda in ["1e21", "1001"] {
        Scratch::new(&format!(
            "{ONE_SITE}\n[market.btc]\njump_lambda_per_year = {lambda}\n"
        ))
        .error(&["market.btc.jump_lambda_per_year", "1000"]);
    }
}

/// An input larger than 64 MiB (a device such as `/dev/zero`, or a huge
/// file) is refused with the file named, without reading it all.
#[test]
fn oversized_inputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(crate::scenario::MAX_INPUT_BYTES + 1).unwrap();
    let e = crate::scenario::load(&big).unwrap_err().to_string();
    assert!(
        e.contains("big.toml") && e.contains("larger than 64 MiB"),
        "{e}"
    );
    if std::path::Path::new("/dev/zero").exists() {
        let e = crate::scenario::load(std::path::Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("larger than 64 MiB"), "{e}");
    }
}

#[test]
fn revision_5_hashrate_keys_are_checked() {
    let hashrate = |keys: &str| format!("[market.hashrate]\n{keys}");
    bad(
        &hashrate("kappa_up_per_year = 12.5"),
        &["market.hashrate.kappa_up_per_year", "12.5"],
    );
    bad(
        &hashrate("kappa_down_per_year = -0.1"),
        &["market.hashrate.kappa_down_per_year"],
    );
    bad(
        &hashrate("capitulation = true\nkappa_exit_per_year = 13"),
        &["market.hashrate.kappa_exit_per_year"],
    );
    bad(
        &hashrate("capitulation = true\ncash_cost_share = 1.2"),
        &["market.hashrate.cash_cost_share"],
    );
    bad(
        &hashrate("capitulation = true\ncash_cost_share = 0"),
        &["market.hashrate.cash_cost_share"],
    );
    bad(
        &hashrate("machine_life_months = 0"),
        &["market.hashrate.machine_life_months", "[1, 120]"],
    );
    bad(
        &hashrate("machine_life_months = 121"),
        &["market.hashrate.machine_life_months", "[1, 120]"],
    );
    // The exit branch's keys do not matter with capitulation off.
    let off = Scratch::new(&format!(
        "{ONE_SITE}\n{}",
        hashrate("capitulation = false\ncash_cost_share = 1.2\nkappa_exit_per_year = 13")
    ))
    .load()
    .unwrap();
    assert!(!off.market.hashrate.capitulation);
    // The defaults are the reference scenario's: the revision 5 calibration
    // (its grid kept a 1-month machine life; capitulation on).
    let default = Scratch::new(ONE_SITE).load().unwrap().market.hashrate;
    assert_eq!(
        (default.machine_life_months, default.capitulation),
        (1, true)
    );
}

/// Every numeric key is bounded on both sides (issue 24): the extreme
/// values that used to pass and overflow the run's sums are refused,
/// naming the file, the key and the allowed range; the bounds themselves
/// are allowed.
#[test]
fn extreme_values_are_refused_with_their_range() {
    for (extra, key, range) in [
        (
            "[market.btc]\nmu = 3.5",
            "market.btc.mu",
            "expected a number in [-1, 1], got 3.5",
        ),
        (
            "[market.btc]\nsigma = 1e6",
            "market.btc.sigma",
            "expected a number in [0, 2], got 1000000",
        ),
        (
            "[market.btc]\ns0_usd = 1e28",
            "market.btc.s0_usd",
            "expected a number in [0.01, 1e9], got 99999999999",
        ),
        (
            "[market.ai_demand]\ngrowth_per_year = 7",
            "market.ai_demand.growth_per_year",
            "expected a number in [-1, 1], got 7",
        ),
        (
            "[market.gpu_price]\ndecline_per_year = -1.5",
            "market.gpu_price.decline_per_year",
            "expected a number in [-1, 1]",
        ),
        (
            "[market.hashrate]\nkappa_up_per_year = 13",
            "market.hashrate.kappa_up_per_year",
            "expected a number in [0, 12]",
        ),
        (
            "[market.hashrate]\nlag_months = 601",
            "market.hashrate.lag_months",
            "expected an integer in [0, 600], got 601",
        ),
        (
            "[market.fees]\nmean_btc = 101",
            "market.fees.mean_btc",
            "expected a number in [0, 100]",
        ),
        (
            "[market.subsidy]\nsubsidy_btc = 0.000000001",
            "market.subsidy.subsidy_btc",
            "expected a number in [1e-8, 50]",
        ),
        (
            "[treasury]\ncash_usd = 2e12",
            "treasury.cash_usd",
            "expected a number in [0, 1e12]",
        ),
        (
            "[treasury]\nreserve_btc = 22e6",
            "treasury.reserve_btc",
            "expected a number in [0, 2.1e7]",
        ),
        (
            "[loan]\nrate = 1.5",
            "loan.rate",
            "expected a number in [0, 1]",
        ),
        (
            "[loan]\nliquidation_ltv = 6",
            "loan.liquidation_ltv",
            "expected a number >= loan.margin_call_ltv (0.75) and <= 5, got 6",
        ),
        (
            "[ai]\ngpu_life_years = 0.01",
            "ai.gpu_life_years",
            "expected a number in [0.1, 100]",
        ),
        (
            "[valuation]\nterminal_multiple_ai = 1000",
            "valuation.terminal_multiple_ai",
            "expected a number in [0, 100]",
        ),
        (
            "[[policies]]\nkind = \"staged\"\nmax_sites = 2000000",
            "policies[0].max_sites",
            "expected an integer in [0, 1000000]",
        ),
    ] {
        bad(extra, &[&format!("key `{key}`"), range]);
    }
}

/// The jumps' yearly log-variance is bounded as a whole: many jumps must
/// be small ones (the compensating drift of 1,000 jumps of mean 1 alone is
/// e^-174,000 over 50 years). The reference's jumps, and a literature fit
/// of many small jumps, pass.
#[test]
fn the_jumps_variance_is_bounded() {
    let jumps = |lambda: &str, mean: &str, sd: &str| {
        format!(
            "{ONE_SITE}\n[market.btc]\njump_lambda_per_year = {lambda}\njump_mean = {mean}\njump_sd = {sd}\n"
        )
    };
    Scratch::new(&jumps("1000", "1", "1")).error(&[
        "key `market.btc.jump_lambda_per_year`",
        "jump_lambda_per_year * (jump_mean^2 + jump_sd^2) <= 1",
        "got 1000 * (1^2 + 1^2) = 2000",
    ]);
    Scratch::new(&jumps("6", "-0.5", "0.5")).error(&["market.btc.jump_lambda_per_year", "= 3"]);
    for ok in [
        jumps("6", "-0.03", "0.08"),
        jumps("100", "0", "0.1"),
        jumps("0.5", "-1", "1"),
    ] {
        Scratch::new(&ok).load().unwrap();
    }
}

/// At most 64 halvings (each halves the subsidy: past 1,000 of them it is
/// 0 and the hashrate's log is -inf).
#[test]
fn the_halvings_are_bounded() {
    let dates: Vec<String> = (0..65).map(|i| format!("\"{}-01-01\"", 2030 + i)).collect();
    let text = format!(
        "{ONE_SITE}\n[market.subsidy]\nhalvings = [{}]\n",
        dates.join(", ")
    );
    Scratch::new(&text).error(&["market.subsidy.halvings", "at most 64", "got 65"]);
    let text = format!(
        "{ONE_SITE}\n[market.subsidy]\nhalvings = [{}]\n",
        dates[..64].join(", ")
    );
    Scratch::new(&text).load().unwrap();
}

/// A bad number in a tagged table (`[[events]]`, `[[policies]]`) is named
/// with its own table and line: toml points such errors at the array's
/// first table, which used to be what the message named (`events[0]` for a
/// value in `events[1]`, without the key).
#[test]
fn bad_numbers_in_tagged_tables_name_their_table_and_key() {
    let events = "[[events]]\nkind = \"raise_equity\"\ndate = \"2026-03-01\"\nusd = 5\n\n\
                  [[policies]]\nkind = \"hold\"\n\n\
                  [[events]]\nkind = \"sell_btc\"\ndate = \"2026-03-01\"\nbtc = 1e300\n";
    let message = bad(
        events,
        &["in events[1]: `btc = 1e300`", "floating point `1e300`"],
    );
    assert!(message.len() < 300, "{message}");
    bad(
        &events.replace("1e300", "nan"),
        &["in events[1]: `btc = nan`", "finite"],
    );
    bad(
        "[[policies]]\nkind = \"hold\"\n\n[[policies]]\nkind = \"threshold\"\nwindow_months = 2.5  # months\n",
        &[
            "in policies[1]: `window_months = 2.5  # months`",
            "expected i64",
        ],
    );
}

/// A number a CSV cell cannot hold names its column (csv does not know it
/// for a field's own deserializer: it used to be found only by the cell's
/// text, which the message does not quote for a float).
#[test]
fn bad_numbers_in_the_fleet_csv_name_their_column() {
    for cell in ["1e300", "-1e300", "NaN", "inf", "-inf"] {
        let csv = format!(
            "site_id,region,power_mw,j_per_th,convertible\na,US,10,20,true\nb,US,{cell},20,false\n"
        );
        Scratch::with_csv("sites_csv = \"fleet.csv\"\n", &csv)
            .error(&["sites_csv (fleet.csv line 3) power_mw"]);
    }
}

/// The network's hashrate at month 0 includes the fleet's: a smaller one
/// (h0_ehs = 1e-6 against a 0.5 EH/s site) had the site mine ~1e10 BTC a
/// month and the run's sums overflow.
#[test]
fn the_network_hashrate_holds_the_fleet() {
    bad(
        "[market.hashrate]\nh0_ehs = 0.000001",
        &[
            "key `market.hashrate.h0_ehs`",
            "fleet's own hashrate, 0.5 EH/s",
            "got 0.000001",
        ],
    );
    Scratch::new(&format!("{ONE_SITE}\n[market.hashrate]\nh0_ehs = 0.5\n"))
        .load()
        .unwrap();
}
