use super::*;
use dirsync_engine::{Counts, Mode, ReportFinding, RunStatus, Trigger};
use dirsync_model::{Code, Finding};

/// The value of the sample `key` (name and labels as written), if exported.
fn sample(text: &str, key: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

fn report(findings: &[Code], status: RunStatus) -> RunReport {
    RunReport {
        id: 1,
        trigger: Trigger::Schedule,
        mode: Mode::Apply,
        full: false,
        staging: false,
        started_at: "2026-12-07T00:00:00Z".into(),
        finished_at: "2026-12-07T00:00:01Z".into(),
        duration_ms: 1000,
        status,
        exit_code: 1,
        summary: "s".into(),
        counts: Counts::default(),
        operations: vec![],
        findings: findings
            .iter()
            .map(|c| ReportFinding::from(&Finding::new(*c, Some("CN=A,DC=x"), None, [])))
            .collect(),
        cookie_committed: true,
        operations_stored: false,
        api: Default::default(),
        verification: Default::default(),
    }
}

fn timing(method: &str, status: Option<u16>, ms: u64) -> RequestTiming<'_> {
    RequestTiming {
        method,
        status,
        elapsed: Duration::from_millis(ms),
    }
}

#[test]
fn fresh_metrics_keep_the_former_names_and_values() {
    let m = Metrics::new();
    let t = m.encode(&Gauges {
        uptime: Duration::from_secs(42),
        last_exit: Some(2),
        last_finished_unix: Some(1_700_000_000),
        last_duration_secs: 1.5,
        next_full_unix: Some(1_800_000_000),
        ..Gauges::default()
    });
    for (key, v) in [
        ("dirsync_up", 1.0),
        ("dirsync_uptime_seconds", 42.0),
        ("dirsync_sync_in_progress", 0.0),
        ("dirsync_runs_total{status=\"success\"}", 0.0),
        ("dirsync_runs_total{status=\"errors\"}", 0.0),
        ("dirsync_runs_total{status=\"failed\"}", 0.0),
        ("dirsync_runs_total{status=\"threshold\"}", 0.0),
        ("dirsync_last_run_exit_code", 2.0),
        ("dirsync_last_run_timestamp_seconds", 1.7e9),
        ("dirsync_last_success_timestamp_seconds", 0.0),
        ("dirsync_last_run_duration_seconds", 1.5),
        ("dirsync_last_run_changes", 0.0),
        ("dirsync_last_run_errors", 0.0),
        ("dirsync_last_run_warnings", 0.0),
        (
            "dirsync_next_sync_timestamp_seconds{kind=\"incremental\"}",
            0.0,
        ),
        ("dirsync_next_sync_timestamp_seconds{kind=\"full\"}", 1.8e9),
    ] {
        assert_eq!(sample(&t, key), Some(v), "{key}:\n{t}");
    }
    assert!(t.contains("# TYPE dirsync_runs counter\n"), "{t}");
    assert!(t.contains("# TYPE dirsync_run_duration_seconds histogram\n"));
    assert!(
        t.contains("# HELP dirsync_up 1 while the dirsync service runs.\n"),
        "{t}"
    );
    assert_eq!(
        sample(&t, "dirsync_run_duration_seconds_count{kind=\"full\"}"),
        Some(0.0)
    );
    assert!(t.contains("# UNIT dirsync_run_duration_seconds seconds\n"));
    assert!(t.ends_with("# EOF\n"), "{t}");
}

#[test]
fn api_latency_histogram_buckets_by_method_and_outcome() {
    let m = Metrics::new();
    for t in [
        timing("GET", Some(200), 3),
        timing("GET", Some(200), 7),
        timing("GET", Some(200), 900),
        timing("POST", Some(503), 12),
        timing("PUT", None, 30_000),
        timing("MKCOL", Some(302), 1),
    ] {
        m.api_request(&t);
    }
    let t = m.encode(&Gauges::default());
    let get = |s: &str| {
        let key = format!("dirsync_api_request_duration_seconds_{s}");
        sample(&t, &key).unwrap_or_else(|| panic!("{key} missing:\n{t}"))
    };
    let ok = ",method=\"GET\",outcome=\"2xx\"}";
    // Cumulative buckets: 3 ms in le=0.005; 7 ms from le=0.01; 900 ms from le=1.28.
    assert_eq!(get(&format!("bucket{{le=\"0.005\"{ok}")), 1.0);
    assert_eq!(get(&format!("bucket{{le=\"0.01\"{ok}")), 2.0);
    assert_eq!(get(&format!("bucket{{le=\"0.64\"{ok}")), 2.0);
    assert_eq!(get(&format!("bucket{{le=\"1.28\"{ok}")), 3.0);
    assert_eq!(get(&format!("bucket{{le=\"+Inf\"{ok}")), 3.0);
    assert_eq!(get(&format!("count{{{}", &ok[1..])), 3.0);
    assert!((get(&format!("sum{{{}", &ok[1..])) - 0.91).abs() < 1e-9);
    assert_eq!(
        get("count{method=\"POST\",outcome=\"5xx\"}"),
        1.0,
        "a failed attempt is timed too"
    );
    assert_eq!(get("count{method=\"PUT\",outcome=\"error\"}"), 1.0);
    assert_eq!(
        get("bucket{le=\"40.96\",method=\"PUT\",outcome=\"error\"}"),
        1.0
    );
    assert_eq!(get("count{method=\"other\",outcome=\"3xx\"}"), 1.0);
}

#[test]
fn finished_runs_count_by_status_time_by_kind_and_count_findings_by_code() {
    let m = Metrics::new();
    let r = report(
        &[Code::InvalidMail, Code::InvalidMail, Code::AddressInUse],
        RunStatus::ObjectErrors,
    );
    m.run_finished(false, Duration::from_millis(1500), Ok(&r));
    m.run_finished(true, Duration::from_secs(3 * 3600), Ok(&r));
    m.run_finished(false, Duration::from_millis(200), Err(()));
    let t = m.encode(&Gauges::default());
    let get = |key: &str| sample(&t, key).unwrap_or_else(|| panic!("{key} missing:\n{t}"));
    assert_eq!(get("dirsync_runs_total{status=\"errors\"}"), 2.0);
    assert_eq!(get("dirsync_runs_total{status=\"failed\"}"), 1.0);
    assert_eq!(get("dirsync_runs_total{status=\"success\"}"), 0.0);
    let bucket = |le: &str, kind: &str| {
        get(&format!(
            "dirsync_run_duration_seconds_bucket{{le=\"{le}\",kind=\"{kind}\"}}"
        ))
    };
    assert_eq!(bucket("0.25", "incremental"), 1.0);
    assert_eq!(bucket("1.0", "incremental"), 1.0);
    assert_eq!(bucket("2.0", "incremental"), 2.0);
    assert_eq!(bucket("131072.0", "incremental"), 2.0);
    assert_eq!(
        get("dirsync_run_duration_seconds_count{kind=\"incremental\"}"),
        2.0
    );
    // Three hours: above the 8192 s bucket, within 16384 s.
    assert_eq!(bucket("8192.0", "full"), 0.0);
    assert_eq!(bucket("16384.0", "full"), 1.0);
    assert_eq!(
        get("dirsync_run_duration_seconds_sum{kind=\"full\"}"),
        10800.0
    );
    for (code, n) in [(Code::InvalidMail, 4.0), (Code::AddressInUse, 2.0)] {
        let key = format!(
            "dirsync_findings_total{{code=\"{}\",severity=\"{}\"}}",
            code.as_str(),
            code.severity()
        );
        assert_eq!(get(&key), n, "{key}");
    }
}

/// Every metric the Grafana dashboard queries (in a panel or a variable) is
/// exported, once something has been observed for the families that start
/// empty.
#[test]
fn dashboard_queries_only_exported_metrics() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../packaging/grafana-dashboard.json"
    );
    let dash: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut strings = Vec::new();
    collect_strings(&dash, &mut strings);
    let mut queried = std::collections::BTreeSet::new();
    for s in &strings {
        let mut rest = s.as_str();
        while let Some(i) = rest.find("dirsync_") {
            let name: String = rest[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[i + name.len()..];
            queried.insert(name);
        }
    }
    assert!(queried.len() >= 10, "{queried:?}");

    let m = Metrics::new();
    let r = report(&[Code::InvalidMail], RunStatus::ObjectErrors);
    m.run_finished(true, Duration::from_secs(5), Ok(&r));
    m.api_request(&timing("GET", Some(200), 5));
    let t = m.encode(&Gauges::default());
    let exported: std::collections::BTreeSet<&str> = t
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    for name in &queried {
        assert!(
            exported.contains(name.as_str()),
            "the dashboard queries {name}, which /metrics does not export:\n{t}"
        );
    }
}

fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Object(m) => m.values().for_each(|v| collect_strings(v, out)),
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}
