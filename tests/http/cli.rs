//! The plugin binary's `diff` subcommand report, on the peer's three versions.

use bk_plugin_kit::http::diff_report;
use bk_plugin_kit::registry;

use bk_plugin_tests as _;

#[test]
fn diff_classifies_every_change_and_suggests_a_version() {
    let report = diff_report(registry(), "1.0.0", "1.1.0").unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert!(lines[0].starts_with("1.0.0 -> 1.1.0: "), "{report}");
    // 1.1.0 has other required inputs than 1.0.0: breaking, so 2.0.0 is suggested.
    assert!(
        lines.iter().any(|l| l.starts_with("  BREAKING   inputs.")),
        "{report}"
    );
    assert_eq!(
        lines.last().unwrap(),
        &"suggested version after 1.0.0: 2.0.0 or later (1.1.0: too small a step)"
    );
    assert_eq!(
        diff_report(registry(), "2.0.0", "2.0.0").unwrap(),
        "2.0.0 -> 2.0.0: no schema change\n"
    );
    let unknown = diff_report(registry(), "1.0.0", "9.9.9").unwrap_err();
    assert_eq!(unknown.requested, "9.9.9");
}
