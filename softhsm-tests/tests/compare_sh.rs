//! `bench/compare.sh` end to end, cut short: one run of 300 ms per load and 300
//! idle connections instead of 10,000, the debug builds of `keygate` and of the
//! PKCS#11 library, `--no-write`. Every target it starts (Keygate software, pkcs11
//! resident and wrapped, with `[audit] sync = "changes"`, PyKMIP's server, raw
//! cryptoki, the library) must answer every load without an error, and the table
//! must carry every row and every goal. No figure is checked: this is the script
//! working, not a benchmark.

use softhsm_tests::{python, run_with_timeout, shim, workspace_root};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The `keygate` binary next to this test's target directory.
fn keygate_bin() -> PathBuf {
    let lib = shim::library();
    let bin = lib.with_file_name("keygate");
    assert!(
        bin.is_file(),
        "{} is missing: build it with `cargo build -p keygate` (running the whole \
         workspace's tests does)",
        bin.display()
    );
    bin
}

#[test]
fn compare_sh_runs_every_target_and_load_without_errors() {
    let root = workspace_root();
    let before = std::fs::read(root.join("BENCHMARKS.md")).expect("read BENCHMARKS.md");
    let mut cmd = Command::new(root.join("bench/compare.sh"));
    cmd.args([
        "--runs",
        "1",
        "--duration",
        "300ms",
        "--idle",
        "300",
        "--no-write",
    ])
    .env("KEYGATE_BIN", keygate_bin())
    .env("KEYGATE_PKCS11_LIB", shim::library())
    .env("KEYGATE_PYTHON", python());
    let done = run_with_timeout(cmd, Duration::from_secs(300));
    assert!(
        done.status.success(),
        "compare.sh failed ({:?}):\n{}\n{}",
        done.status,
        done.stdout,
        done.stderr
    );
    let table = &done.stdout;
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| load") && !l.starts_with("| goal"))
        .collect();
    for target in [
        "Keygate software",
        "Keygate pkcs11 resident (SoftHSM2)",
        "Keygate pkcs11 wrapped (SoftHSM2)",
        "raw cryptoki on SoftHSM2",
        "PyKMIP server",
        "PKCS#11 library -> Keygate resident (SoftHSM2)",
        "audit sync = changes",
    ] {
        assert!(
            rows.iter().any(|r| r.contains(target)),
            "no row for {target}:\n{table}"
        );
    }
    // Load rows: ops/s measured, and "0 / N" errors with N > 0.
    let loads: Vec<&&str> = rows
        .iter()
        .filter(|r| r.matches('|').count() == 8)
        .collect();
    assert_eq!(loads.len(), 21, "{table}");
    for row in loads {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_ne!(cells[4], "–", "not measured: {row}");
        let errors = cells[7].split_whitespace().collect::<Vec<_>>();
        assert_eq!(errors.first(), Some(&"0"), "errors: {row}");
        assert_ne!(errors.get(2), Some(&"0"), "no operation: {row}");
    }
    for goal in ["P1", "P2", "P3", "P4", "P5", "P8", "PKCS#11"] {
        assert!(
            rows.iter()
                .any(|r| r.starts_with(&format!("| {goal} |")) && !r.contains("not measured")),
            "goal {goal} not measured:\n{table}"
        );
    }
    assert_eq!(
        std::fs::read(root.join("BENCHMARKS.md")).expect("read BENCHMARKS.md"),
        before,
        "--no-write must leave BENCHMARKS.md alone"
    );
}
