//! The tear sheet as a person sees it: rendered by a real headless browser (Debian's
//! `chromium`), it loads with no console message, fetches nothing, shows every section and
//! every chart with a non-zero size, and a screenshot is produced.
//!
//! Skips with a printed reason when no chromium is installed, unless `PRUDENTIA_CHROMIUM=1`
//! (CI sets it after installing chromium): then a missing browser fails the test.
//! `PRUDENTIA_CHROMIUM_BIN` names the browser binary; `PRUDENTIA_TEARSHEET` names an extra
//! tear sheet to check the same way (CI: the main example's `tearsheet.html`), and for that
//! file the weights chart must label at most 10 positions plus "other".
//!
//! Only the CLI is used (`--dump-dom`, `--screenshot`, `--enable-logging=stderr`): sizes are
//! measured by a probe script appended to a *copy* of the page, which writes them into the
//! DOM that `--dump-dom` prints. The tear sheet itself has no script.

use crate::common;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use prudentia_metrics::chart::Series;
use prudentia_metrics::tearsheet::TearSheet;
use prudentia_metrics::{BacktestRecord, ReportConfig};

const SECTIONS: [&str; 4] = ["summary", "charts", "decisions", "configuration"];

fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PRUDENTIA_CHROMIUM_BIN") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in [
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Runs the browser with `args` (plus the headless basics) on `page`, with a 180 s
/// watchdog; returns (stdout, stderr).
fn browse(bin: &Path, profile: &Path, args: &[String], page: &Path) -> (String, String) {
    let url = format!("file://{}", page.canonicalize().expect("page path").display());
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            panic!("chromium did not finish within 180 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (t_out.join().unwrap_or_default(), t_err.join().unwrap_or_default())
}

/// Console messages and page errors in chromium's log.
fn console_messages(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("Failed to load resource"))
        .collect()
}

const PROBE: &str = r#"<script>
window.addEventListener('load', function () {
  var out = [];
  document.querySelectorAll('figure.chart').forEach(function (f) {
    var s = f.querySelector('svg');
    var r = s ? s.getBoundingClientRect() : {width: 0, height: 0};
    out.push(f.id + '=' + Math.round(r.width) + 'x' + Math.round(r.height));
  });
  document.querySelectorAll('section').forEach(function (s) {
    var r = s.getBoundingClientRect();
    out.push('section-' + s.id + '=' + Math.round(r.width) + 'x' + Math.round(r.height));
  });
  var fetched = performance.getEntriesByType('resource').length;
  var p = document.createElement('pre');
  p.id = 'probe-result';
  // the markers are split so that they appear in the DOM only once the probe ran
  p.textContent = 'PRO' + 'BE[' + out.join(';') + ';fetched=' + fetched + ']PRO' + 'BE';
  document.body.appendChild(p);
});
</script>"#;

/// `(name, width, height)` of every chart and section, and the number of fetched resources.
fn measure(bin: &Path, profile: &Path, page: &Path) -> (Vec<(String, u32, u32)>, usize) {
    let html = std::fs::read_to_string(page).expect("read page");
    let probe_page = page.with_extension("probe.html");
    std::fs::write(&probe_page, html.replace("</body>", &format!("{PROBE}</body>"))).expect("write probe");
    let (dom, stderr) = browse(
        bin,
        profile,
        &["--window-size=1200,900".into(), "--dump-dom".into()],
        &probe_page,
    );
    let body = dom
        .split("PROBE[")
        .nth(1)
        .and_then(|s| s.split("]PROBE").next())
        .unwrap_or_else(|| panic!("the probe did not run; chromium said:\n{stderr}"));
    let mut sizes = Vec::new();
    let mut fetched = usize::MAX;
    for item in body.split(';') {
        let Some((name, v)) = item.split_once('=') else {
            continue;
        };
        if name == "fetched" {
            fetched = v.parse().expect("count");
        } else if let Some((w, h)) = v.split_once('x') {
            sizes.push((name.to_owned(), w.parse().unwrap_or(0), h.parse().unwrap_or(0)));
        }
    }
    (sizes, fetched)
}

fn png_size(path: &Path) -> (u32, u32, usize) {
    let bytes = std::fs::read(path).expect("screenshot written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");
    let w = u32::from_be_bytes(bytes[16..20].try_into().expect("width"));
    let h = u32::from_be_bytes(bytes[20..24].try_into().expect("height"));
    (w, h, bytes.len())
}

/// Checks one tear sheet file in the browser; returns the screenshot's path.
fn check_in_browser(bin: &Path, page: &Path, expected_charts: &[&str]) -> PathBuf {
    let profile = std::env::temp_dir().join(format!("prudentia-chromium-{}", std::process::id()));
    // 1. the page as shipped: no console message at all (it has no script; a failed
    //    resource load or a parse problem would show here)
    let (dom, stderr) = browse(bin, &profile, &["--dump-dom".into()], page);
    let console = console_messages(&stderr);
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(dom.contains("</html>"), "the page rendered to a DOM");
    // 2. every section and chart has a size
    let (sizes, fetched) = measure(bin, &profile, page);
    assert_eq!(fetched, 0, "the tear sheet fetched {fetched} resources");
    for s in SECTIONS {
        let found = sizes.iter().find(|(n, _, _)| n == &format!("section-{s}"));
        assert!(
            matches!(found, Some((_, w, h)) if *w > 0 && *h > 0),
            "section {s}: {found:?}"
        );
    }
    for c in expected_charts {
        let found = sizes.iter().find(|(n, _, _)| n == &format!("chart-{c}"));
        assert!(
            matches!(found, Some((_, w, h)) if *w > 200 && *h > 100),
            "chart {c}: {found:?} (all: {sizes:?})"
        );
    }
    // 3. a screenshot
    let shot = page.with_extension("png");
    let _ = std::fs::remove_file(&shot);
    let (_, stderr) = browse(
        bin,
        &profile,
        &[
            "--window-size=1100,1500".into(),
            format!("--screenshot={}", shot.display()),
        ],
        page,
    );
    let (w, h, len) = png_size(&shot);
    assert!(
        w >= 1000 && h >= 1000 && len > 10_000,
        "screenshot {w}x{h}, {len} bytes; {stderr}"
    );
    let _ = std::fs::remove_dir_all(&profile);
    println!(
        "{}: rendered, {} charts measured, screenshot {}",
        page.display(),
        expected_charts.len(),
        shot.display()
    );
    shot
}

/// Positions named in the legend of the weights chart inside a tear sheet.
fn weights_legend(html: &str) -> Vec<String> {
    let start = html.find("id=\"chart-weights\"").expect("weights chart");
    let svg = &html[start..start + html[start..].find("</svg>").expect("end of svg")];
    // legend entries are the texts right of the plotting area (x > width - 170)
    let mut out = Vec::new();
    for part in svg.split("<text").skip(1) {
        let Some(x) = part.split("x=\"").nth(1).and_then(|s| s.split('"').next()) else {
            continue;
        };
        let Ok(x) = x.parse::<f64>() else { continue };
        let text = part
            .split('>')
            .nth(1)
            .unwrap_or("")
            .split('<')
            .next()
            .unwrap_or("")
            .trim();
        if x > 1000.0 - 170.0 && !text.is_empty() {
            out.push(text.to_owned());
        }
    }
    out
}

#[test]
fn tear_sheet_renders_in_headless_chromium() {
    let Some(bin) = find_chromium() else {
        if std::env::var("PRUDENTIA_CHROMIUM").as_deref() == Ok("1") {
            panic!("PRUDENTIA_CHROMIUM=1 but no chromium binary was found (set PRUDENTIA_CHROMIUM_BIN)");
        }
        println!("SKIPPED: no chromium on PATH (install Debian's `chromium`; set PRUDENTIA_CHROMIUM=1 to require it)");
        return;
    };
    let run = common::run();
    let record = BacktestRecord {
        times: &run.times,
        returns: &run.returns,
        turnover: &run.turnover,
        decisions: &run.decisions,
        outcomes: &[],
    };
    let sheet = TearSheet::new(
        ReportConfig {
            title: "momentum book, 20 S&P 500 stocks".into(),
            drop_warmup: true,
            ..Default::default()
        },
        &record,
    )
    .unwrap()
    .with_benchmark("S&P 500", &run.benchmark)
    .unwrap()
    .with_market(Series::new("S&P 500", run.index.clone()), None)
    .unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("tearsheet.html");
    sheet.write_html(&page).unwrap();
    let all = [
        "equity",
        "underwater",
        "weights",
        "regimes",
        "monthly",
        "rolling",
        "distribution",
    ];
    check_in_browser(&bin, &page, &all);

    if let Some(extra) = std::env::var_os("PRUDENTIA_TEARSHEET") {
        let extra = PathBuf::from(extra);
        let html = std::fs::read_to_string(&extra)
            .unwrap_or_else(|e| panic!("PRUDENTIA_TEARSHEET={}: {e}", extra.display()));
        let legend = weights_legend(&html);
        let positions = legend
            .iter()
            .filter(|l| !matches!(l.as_str(), "other" | "gross exposure" | "net exposure"))
            .count();
        assert!(positions <= 10, "weights legend {legend:?}");
        assert!(legend.iter().any(|l| l == "gross exposure"), "{legend:?}");
        // check a copy, so the screenshot and probe files land in the test's directory
        let copy = dir.join("given-tearsheet.html");
        std::fs::write(&copy, html).unwrap();
        check_in_browser(&bin, &copy, &all);
    }
}
