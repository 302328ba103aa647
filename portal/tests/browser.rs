//! The token pages of a live portal, used in headless Chromium as a person
//! would: sign in, fill the creation form, see the secret once, find the token
//! in the list and revoke it. Every step's screenshot is checked (a rendered
//! page, not a blank one) and its DOM, after the pages' scripts ran, checked
//! for what the step must show.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::cdp::{Browser, chromium};
use common::{Server, make_store, scratch};
use serde_json::json;

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 1800;

/// Takes a screenshot of the page as `NAME.png`, checks that it is a rendered
/// page of the window's width, and returns the page's DOM.
fn snapshot(browser: &mut Browser, out: &Path, name: &str) -> String {
    let png = browser.screenshot(&out.join(format!("{name}.png")));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.get(12..16) == Some(b"IHDR"), "{name}.png is not a PNG");
    let width = png.get(16..20).map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    assert_eq!(width, Some(WIDTH), "{name}.png has the window's width");
    // A blank page compresses to a few kilobytes; a rendered one does not.
    assert!(png.len() > 20_000, "{name}.png is {} bytes: not a rendered page", png.len());
    browser.dom()
}

/// Runs `script` in the page, as a person's clicks and typing.
fn act(browser: &mut Browser, script: &str) {
    browser.eval(script).unwrap_or_else(|e| panic!("{script}: {e}"));
}

fn screenshots_dir() -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("portal-screenshots");
    std::fs::create_dir_all(&out).unwrap();
    out
}

#[test]
fn a_person_uses_the_live_token_pages_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        assert!(std::env::var("CI").is_err(), "CI needs Debian's chromium (.ci/run installs it)");
        eprintln!("skipping: no chromium on PATH");
        return;
    };
    let dir = scratch("browser");
    let (store, tokens) = make_store(&dir);
    let events = dir.join("events.jsonl");
    let server = Server::start(&store, &events);
    let base = format!("{}/-/tokens", server.url);
    let out = screenshots_dir();

    // The sign-in page as `chromium --dump-dom` prints it from the live server.
    let dumped = Command::new("timeout")
        .args(["120", &chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        .arg(format!("--user-data-dir={}", dir.join("dump-profile").display()))
        .args(["--dump-dom", &format!("{base}/sign_in")])
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&dumped.stdout);
    assert!(
        dom.contains(r#"<input id="token" name="token" type="password""#) && dom.contains(r#"name="csrf""#),
        "{dom}"
    );

    let mut browser = Browser::launch(&chromium, &dir.join("profile"), WIDTH, HEIGHT);
    // Signed out, the list sends to the sign-in page.
    browser.open(&base);
    browser.wait_for("location.pathname === '/-/tokens/sign_in'", "the sign-in page");
    let dom = snapshot(&mut browser, &out, "live-sign-in");
    assert!(dom.contains("Use one of your existing personal access tokens"), "{dom}");

    let secret = json!(tokens.alice_api);
    act(&mut browser, &format!("document.getElementById('token').value = {secret}"));
    browser.submit("document.querySelector('form[action$=\"/sign_in\"] button').click()", "signing in");
    browser.wait_for("location.pathname === '/-/tokens' && document.body.innerText.includes('laptop')", "the list");
    let dom = snapshot(&mut browser, &out, "live-list");
    assert!(dom.contains("reader") && !dom.contains("bobs-laptop") && !dom.contains("glpat-"), "{dom}");

    browser.open(&format!("{base}/new"));
    let dom = snapshot(&mut browser, &out, "live-create");
    assert!(
        dom.contains("Beta") && dom.contains(r#"id="legacy-fields" class="hidden""#),
        "the script hides the legacy scopes"
    );
    assert!(dom.contains("acme/platform/api") && !dom.contains("secret-lab"), "only alice's namespaces are offered");

    // Typing into the permission search hides what does not match.
    act(
        &mut browser,
        "var b = document.getElementById('perm-filter'); b.value = 'protect_branch'; b.dispatchEvent(new Event('input'))",
    );
    let dom = snapshot(&mut browser, &out, "live-create-filtered");
    let row = |perm: &str| dom.split("<tr").find(|r| r.contains(&format!("value=\"{perm}\""))).unwrap_or("").to_owned();
    assert!(!row("protect_branch").contains("class=\"hidden\""), "the match stays visible");
    assert!(row("read_job").contains("class=\"hidden\""), "other rows are hidden");
    act(
        &mut browser,
        "var b = document.getElementById('perm-filter'); b.value = ''; b.dispatchEvent(new Event('input'))",
    );

    // Fill the form as a person would, and create the token.
    act(&mut browser, "document.getElementById('name').value = 'deploy'");
    for choice in [
        "#kind-fine",
        "input[name=access][value=selected]",
        "input[name=namespace][value='acme/platform']",
        "input[name=permission][value=read_user]",
        "input[name=permission][value=read_job]",
    ] {
        act(&mut browser, &format!("document.querySelector({}).click()", json!(choice)));
    }
    browser.submit("document.querySelector('form[action$=\"/new\"] button[type=submit]').click()", "creating");
    browser.wait_for("document.body.innerText.includes('Make sure you save it')", "the new token's secret");
    let dom = snapshot(&mut browser, &out, "live-secret");
    let at = dom.find("glpat-").expect("the secret is on the page");
    let created: String =
        dom[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).collect();
    let event = std::fs::read_to_string(&events).unwrap();
    assert!(event.contains("\"token_created\"") && event.contains("selected_memberships"), "{event}");

    // The list shows it, without its secret; revoking it asks for no more.
    browser.open(&base);
    let dom = snapshot(&mut browser, &out, "live-list-created");
    assert!(dom.contains("<strong>deploy</strong>") && !dom.contains(&created), "listed, without its secret");
    browser.submit("document.querySelector('button[aria-label=\"Revoke deploy\"]').click()", "revoking");
    browser.wait_for("document.body.innerText.includes('Token \"deploy\" was revoked.')", "the revocation");
    snapshot(&mut browser, &out, "live-revoked");
    eprintln!("screenshots in {}", out.display());
}
