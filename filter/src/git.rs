//! The ref updates of a push, read from the start of a `git-receive-pack`
//! request body.
//!
//! A push body is a list of pkt-lines (`<4 hex digits: length><payload>`):
//! optional `shallow <oid>` lines, one command per ref
//! (`<old-oid> <new-oid> <refname>`, the first followed by `\0` and the
//! client's capabilities), a flush-pkt `0000`, then the pack (a body of just
//! `0000` is git's probe before a large push). Only the
//! commands are read; the pack streams through untouched. Anything else (a
//! push certificate, a malformed line, commands longer than
//! [`MAX_COMMAND_BYTES`]) is refused: the filter cannot read it the way the
//! Git server would.

use finegrain_engine::api::{Decision, RefUpdate};

/// The most command bytes read before the pack starts (about 10,000 refs).
pub const MAX_COMMAND_BYTES: usize = 1 << 20;

/// The commands of a push and where the pack starts.
#[derive(Debug, PartialEq, Eq)]
pub struct Commands {
    pub updates: Vec<RefUpdate>,
    /// The capabilities the client asked for on the first command.
    pub capabilities: Vec<String>,
    /// Bytes of the body taken by the commands and the flush-pkt.
    pub length: usize,
}

/// Parses the commands at the start of `body`. `Ok(None)`: not all there yet.
/// The caller must pass the force flag separately; the filter cannot know it.
pub fn parse_commands(body: &[u8]) -> Result<Option<Commands>, String> {
    let mut at = 0;
    let mut updates = Vec::new();
    let mut capabilities = Vec::new();
    loop {
        let Some(head) = body.get(at..at + 4) else { return pending(at) };
        let head = std::str::from_utf8(head).map_err(|_| "a pkt-line length is not hexadecimal".to_owned())?;
        let length =
            usize::from_str_radix(head, 16).map_err(|_| format!("pkt-line length {head:?} is not hexadecimal"))?;
        if length == 0 {
            // No command at all is git's probe before a chunked push.
            return Ok(Some(Commands { updates, capabilities, length: at + 4 }));
        }
        if length < 5 {
            return Err(format!("pkt-line length {head:?} is too short"));
        }
        let Some(payload) = body.get(at + 4..at + length) else { return pending(at + length) };
        at += length;
        let line = std::str::from_utf8(payload).map_err(|_| "a push command is not UTF-8".to_owned())?;
        let line = line.strip_suffix('\n').unwrap_or(line);
        if line.starts_with("shallow ") {
            continue;
        }
        let (command, caps) = line.split_once('\0').unwrap_or((line, ""));
        if updates.is_empty() {
            capabilities = caps.split(' ').filter(|c| !c.is_empty()).map(str::to_owned).collect();
            if capabilities.iter().any(|c| c == "push-options") {
                // GitLab acts on push options as the pusher (create or merge a
                // merge request, skip secret detection): more than a push is
                // decided on here.
                return Err("push options (git push -o) are not decided by finegrain; push without them".into());
            }
        }
        updates.push(parse_command(command)?);
    }
}

fn pending(needed: usize) -> Result<Option<Commands>, String> {
    if needed > MAX_COMMAND_BYTES {
        Err(format!("the push commands are longer than {MAX_COMMAND_BYTES} bytes"))
    } else {
        Ok(None)
    }
}

fn parse_command(command: &str) -> Result<RefUpdate, String> {
    let mut parts = command.splitn(3, ' ');
    let (Some(old), Some(new), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("{:?} is not a push command (old-id new-id ref)", clip(command)));
    };
    for id in [old, new] {
        if !matches!(id.len(), 40 | 64) || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{:?} is not an object id", clip(id)));
        }
    }
    if !name.starts_with("refs/") || name.contains(['\0', ' ']) {
        return Err(format!("{:?} is not a full ref name", clip(name)));
    }
    Ok(RefUpdate { old_id: old.into(), new_id: new.into(), name: name.into(), force: false })
}

/// At most 80 characters of hostile text, for an error message.
fn clip(text: &str) -> String {
    text.chars().take(80).collect()
}

/// One pkt-line holding `payload`.
pub fn pkt_line(payload: &str) -> String {
    format!("{:04x}{payload}", payload.len() + 4)
}

/// The answer git understands for a refused push: every ref rejected with
/// the reason (`! [remote rejected] main -> main (branch_protected: …)`) and,
/// when the client reads side-band, each reason as a `remote:` line on its
/// terminal. `None` when the client asked for no status report: then the
/// plain 403 is all it can show.
pub fn refusal(commands: &Commands, decision: &Decision) -> Option<Vec<u8>> {
    let reports = commands.capabilities.iter().any(|c| c == "report-status" || c == "report-status-v2");
    if !reports {
        return None;
    }
    let first = decision.reasons.first().map(|r| format!("{}: {}", r.code, r.text()));
    let why = one_line(first.as_deref().unwrap_or("refused"));
    let mut report = pkt_bytes(b"unpack ok\n");
    for update in &commands.updates {
        report.extend(pkt_bytes(format!("ng {} {why}\n", update.name).as_bytes()));
    }
    report.extend_from_slice(b"0000");
    if !commands.capabilities.iter().any(|c| c == "side-band-64k" || c == "side-band") {
        return Some(report);
    }
    let mut answer = Vec::new();
    for reason in &decision.reasons {
        let line = format!("\u{2}finegrain: push refused: {}: {}\n", reason.code, one_line(reason.text()));
        answer.extend(pkt_bytes(line.as_bytes()));
    }
    // Band 1 carries the report; 1000 bytes per packet keeps under either band's limit.
    for chunk in report.chunks(1000) {
        let mut payload = vec![1u8];
        payload.extend_from_slice(chunk);
        answer.extend(pkt_bytes(&payload));
    }
    answer.extend_from_slice(b"0000");
    Some(answer)
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ").chars().take(900).collect()
}

fn pkt_bytes(payload: &[u8]) -> Vec<u8> {
    let mut line = format!("{:04x}", payload.len() + 4).into_bytes();
    line.extend_from_slice(payload);
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZERO: &str = "0000000000000000000000000000000000000000";
    const ONE: &str = "1111111111111111111111111111111111111111";

    #[test]
    fn commands_are_read_up_to_the_flush_and_the_pack_is_left() {
        let body = format!(
            "{}{}0000PACK...",
            pkt_line(&format!("{ZERO} {ONE} refs/heads/main\0report-status side-band-64k\n")),
            pkt_line(&format!("{ONE} {ZERO} refs/tags/v1\n"))
        );
        let commands = parse_commands(body.as_bytes()).unwrap().unwrap();
        assert_eq!(commands.updates.len(), 2);
        assert_eq!(commands.updates[0].name, "refs/heads/main");
        assert_eq!(commands.updates[1].new_id, ZERO);
        assert_eq!(commands.capabilities, ["report-status", "side-band-64k"]);
        assert_eq!(&body[commands.length..], "PACK...");
        // Cut anywhere before the flush, it asks for more.
        for cut in 0..commands.length {
            assert_eq!(parse_commands(&body.as_bytes()[..cut]).unwrap(), None, "cut at {cut}");
        }
    }

    #[test]
    fn a_refusal_rejects_every_ref_and_tells_the_terminal_why() {
        let body = format!("{}0000", pkt_line(&format!("{ZERO} {ONE} refs/heads/main\0report-status side-band-64k\n")));
        let commands = parse_commands(body.as_bytes()).unwrap().unwrap();
        let decision = Decision {
            effect: finegrain_engine::api::Effect::Deny,
            reasons: vec![finegrain_engine::api::Reason {
                code: "branch_protected".into(),
                detail: Some("main is protected".into()),
            }],
            required_permissions: vec![],
            accepted_permissions: vec![],
            boundary: None,
            namespace: None,
            revision: 1,
        };
        let answer = String::from_utf8(refusal(&commands, &decision).unwrap()).unwrap();
        assert!(answer.contains("\u{2}finegrain: push refused: branch_protected: main is protected\n"), "{answer:?}");
        assert!(answer.contains("\u{1}000eunpack ok\n"), "{answer:?}");
        assert!(answer.contains("ng refs/heads/main branch_protected: main is protected\n"), "{answer:?}");
        assert!(answer.ends_with("0000"));
        let plain = Commands { capabilities: vec![], ..commands };
        assert_eq!(refusal(&plain, &decision), None);
    }

    #[test]
    fn malformed_commands_are_refused() {
        assert!(parse_commands(b"zzzz").unwrap_err().contains("not hexadecimal"));
        assert!(parse_commands(b"0000").unwrap().unwrap().updates.is_empty(), "git's probe");
        let bad = format!("{}0000", pkt_line("push-cert\0caps\n"));
        assert!(parse_commands(bad.as_bytes()).is_err());
        let relative = format!("{}0000", pkt_line(&format!("{ZERO} {ONE} main\n")));
        assert!(parse_commands(relative.as_bytes()).unwrap_err().contains("full ref name"));
        let huge = format!("{:04x}", 0xffff);
        let mut body = Vec::new();
        while body.len() <= MAX_COMMAND_BYTES {
            body.extend_from_slice(pkt_line(&format!("{ZERO} {ONE} refs/heads/{}\n", "x".repeat(900))).as_bytes());
        }
        body.extend_from_slice(huge.as_bytes());
        assert!(parse_commands(&body).unwrap_err().contains("longer than"));
    }

    #[test]
    fn push_options_are_refused() {
        let line = format!("{} {} refs/heads/f\0report-status push-options\n", "0".repeat(40), "1".repeat(40));
        let body = format!("{:04x}{line}0000", line.len() + 4);
        let error = parse_commands(body.as_bytes()).unwrap_err();
        assert!(error.contains("push options"), "{error}");
    }
}
