//! An American put priced by Longstaff-Schwartz (2001): geometric Brownian
//! motion under the risk-neutral measure, antithetic pairs, the paper's basis
//! (a constant and the first three weighted Laguerre polynomials of S/K),
//! exercise at `--dates-per-year` dates a year. Prints the inputs, the
//! Bermudan binomial tree's price for comparison with `--tree`, and last a
//! line of JSON: `{"price": .., "se": ..}` (the standard error from the
//! antithetic pair averages).
//!
//! ```sh
//! cargo run --release --example american_put -- --spot 36 --sigma 0.2 --years 1
//! ```

use std::process::ExitCode;

use clap::Parser;
use pivotsim::lsm::LsmError;
use pivotsim::lsm::put::{self, PutSpec};

#[derive(Parser, Debug)]
#[command(about = "American put by Longstaff-Schwartz (LS 2001, Table 1 by default)")]
struct Args {
    /// Stock price today.
    #[arg(long, default_value_t = 36.0)]
    spot: f64,
    #[arg(long, default_value_t = 40.0)]
    strike: f64,
    /// Annual volatility (0.2 = 20%).
    #[arg(long, default_value_t = 0.2)]
    sigma: f64,
    /// Maturity in years.
    #[arg(long, default_value_t = 1.0)]
    years: f64,
    /// Continuously compounded risk-free rate.
    #[arg(long, default_value_t = 0.06)]
    rate: f64,
    /// Exercise dates a year (the last at maturity).
    #[arg(long, default_value_t = 50)]
    dates_per_year: u32,
    /// Paths, an even number (half of them antithetic to the other half).
    #[arg(long, default_value_t = 100_000)]
    paths: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Also price the Bermudan put on a binomial tree (10,000 steps or more).
    #[arg(long)]
    tree: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let spec = PutSpec {
        spot: args.spot,
        strike: args.strike,
        sigma: args.sigma,
        years: args.years,
        rate: args.rate,
        dates_per_year: args.dates_per_year,
    };
    let estimate = match put::price(&spec, args.paths, args.seed) {
        Ok(e) => e,
        // A bad argument names its flag: exit 2, as the CLI does.
        Err(e @ LsmError::BadInput { .. }) => {
            eprintln!("error: --{e}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    println!(
        "American put: S {} K {} sigma {} T {} r {}, {} exercise dates, {} paths (seed {})",
        spec.spot,
        spec.strike,
        spec.sigma,
        spec.years,
        spec.rate,
        estimate.dates,
        estimate.paths,
        args.seed
    );
    if args.tree {
        match spec.tree_price(put::TREE_MIN_STEPS) {
            Ok(p) => println!("binomial tree, same exercise dates: {p:.4}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
    }
    println!("{}", estimate.json_line());
    ExitCode::SUCCESS
}
