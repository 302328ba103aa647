//! Every scenario file (examples/ and tests/scenarios/) runs through the
//! engine component, and every case must meet its expectation.

use finegrain_host::scenario;
use finegrain_tests::{EXAMPLE_TIME, host, scenario_files};

#[test]
fn every_scenario_case_passes_through_the_component() {
    let mut failures = Vec::new();
    let mut total = 0;
    for path in scenario_files() {
        let policy = finegrain_host::load_policy(&path).unwrap_or_else(|e| panic!("{e}"));
        let cases = policy.file.expect("a YAML file").cases;
        assert!(!cases.is_empty(), "{} has no cases", path.display());
        let mut authorizer = host().load(&policy.bundle).expect("bundle loads");
        for outcome in scenario::run(&mut authorizer, &cases, EXAMPLE_TIME) {
            total += 1;
            if !outcome.passed {
                failures.push(format!(
                    "{}: {}: expected {}, got {} {:?}",
                    path.display(),
                    outcome.name,
                    outcome.expected,
                    scenario::summary(&outcome.decision),
                    outcome.decision.reasons
                ));
            }
        }
    }
    // The real number of cases: a deleted or emptied scenario file is noticed.
    assert!(total >= 1411, "only {total} cases found; 1411 are written");
    assert!(failures.is_empty(), "{} of {total} cases failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn a_case_with_the_wrong_expectation_fails() {
    // The runner must be able to fail: flip one expectation and check it is caught.
    let path = finegrain_tests::workspace().join("examples/acme.yaml");
    let policy = finegrain_host::load_policy(&path).unwrap();
    let mut cases = policy.file.unwrap().cases;
    cases.truncate(1);
    cases[0].expect_allow = !cases[0].expect_allow;
    let mut authorizer = host().load(&policy.bundle).unwrap();
    let outcomes = scenario::run(&mut authorizer, &cases, EXAMPLE_TIME);
    assert!(!outcomes[0].passed);

    cases[0].expect_allow = !cases[0].expect_allow;
    cases[0].reasons = vec!["token_revoked".into()];
    let outcomes = scenario::run(&mut authorizer, &cases, EXAMPLE_TIME);
    assert!(!outcomes[0].passed, "a reason the decision lacks must fail the case");
}
