//! What the host says when the guest fails, and the bounds on what the guest
//! may say: every reason detail the host passes on is one line of at most
//! [`MAX_DETAIL`] bytes, and a decision carries at most [`MAX_REASONS`] reasons.
//! Backtraces and full error chains go to the host's log (the `log` crate,
//! target `finegrain`), never into a decision.

use std::time::Duration;

use finegrain_engine::api as native;

/// Longest reason detail passed on, in bytes. Far above any detail the engine
/// writes (its longest lists every raw permission, about 30 KB), so only a
/// broken or hostile component is cut, and hosts agree with the native engine.
pub const MAX_DETAIL: usize = 64 << 10;
/// Most reasons one decision carries: above the engine's own bound (one reason
/// per GraphQL field, at most 1000 selections per request).
pub const MAX_REASONS: usize = 4096;
/// Most explanation steps passed on.
pub const MAX_STEPS: usize = 1024;

/// The first line of `text`, cut to at most `MAX_DETAIL` bytes on a character boundary.
pub fn one_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.len() <= MAX_DETAIL {
        return line.to_owned();
    }
    let mut end = MAX_DETAIL;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

/// A decision from the guest, held to the bounds above.
pub fn bounded(mut decision: native::Decision) -> native::Decision {
    decision.reasons.truncate(MAX_REASONS);
    for detail in decision.reasons.iter_mut().filter_map(|r| r.detail.as_mut()) {
        if detail.len() > MAX_DETAIL || detail.contains('\n') {
            *detail = one_line(detail);
        }
    }
    decision
}

/// Explanation steps from the guest, held to the bounds above.
pub fn bounded_steps(mut steps: Vec<String>) -> Vec<String> {
    steps.truncate(MAX_STEPS);
    steps.iter_mut().filter(|s| s.len() > MAX_DETAIL || s.contains('\n')).for_each(|s| *s = one_line(s));
    steps
}

/// One line saying why a guest call failed; the whole error goes to the log.
pub fn describe(error: &wasmtime::Error, deadline: Duration) -> String {
    log::warn!(target: "finegrain", "the engine failed: {error:?}");
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => {
            format!("the engine ran past its deadline of {} ms and was interrupted", deadline.as_millis())
        }
        Some(trap) => {
            let trap = trap.to_string();
            one_line(&format!("the engine trapped: {}", trap.trim_start_matches("wasm trap: ")))
        }
        None => one_line(&format!("the engine failed: {error}")),
    }
}

/// The decision returned when the guest itself failed: deny, fail closed.
pub fn engine_failure(detail: String, revision: u64) -> native::Decision {
    native::Decision {
        effect: native::Effect::Deny,
        reasons: vec![native::Reason { code: "engine_failure".into(), detail: Some(detail) }],
        required_permissions: Vec::new(),
        accepted_permissions: Vec::new(),
        boundary: None,
        namespace: None,
        revision,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_cut_to_one_bounded_line() {
        assert_eq!(one_line("first\nsecond"), "first");
        let long = "é".repeat(MAX_DETAIL);
        let cut = one_line(&long);
        assert!(cut.len() <= MAX_DETAIL + '…'.len_utf8());
        assert!(cut.ends_with('…'));
    }
}
