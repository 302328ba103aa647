//! The pages, driven with curl (forms with their CSRF tokens, a cookie jar);
//! `browser.rs` uses them live in headless Chromium.

mod common;

use std::path::Path;

use common::{Answer, Server, csrf, curl, make_store, scratch};

/// curl with the cookie jar of one browser.
fn browser(jar: &Path, args: &[&str]) -> Answer {
    let jar = jar.to_str().unwrap();
    curl(&[&["-b", jar, "-c", jar][..], args].concat())
}

#[test]
fn a_person_signs_in_creates_a_token_sees_it_once_and_revokes_it() {
    let dir = scratch("pages");
    let (store, tokens) = make_store(&dir);
    let events = dir.join("events.jsonl");
    let server = Server::start(&store, &events);
    let base = format!("{}/-/tokens", server.url);
    let jar = dir.join("cookies.txt");

    // Signed out: the list sends to the sign-in page, which sets the cookie.
    let list = browser(&jar, &[&base]);
    assert_eq!(list.status, 303, "{}", list.headers);
    assert!(list.headers.contains("location: /-/tokens/sign_in"), "{}", list.headers);
    let sign_in = browser(&jar, &[&format!("{base}/sign_in")]);
    assert_eq!(sign_in.status, 200);
    let cookie = sign_in.headers.lines().find(|l| l.starts_with("set-cookie:")).expect("a session cookie").to_owned();
    for flag in ["httponly", "samesite=strict", "path=/-/tokens", "max-age="] {
        assert!(cookie.contains(flag), "the cookie lacks {flag}: {cookie}");
    }
    let token = csrf(&sign_in.body);

    // A wrong CSRF token, a token that may not read tokens: refused.
    let forged = browser(
        &jar,
        &["--data-urlencode", &format!("token={}", tokens.alice_api), "-d", "csrf=0", &format!("{base}/sign_in")],
    );
    assert_eq!(forged.status, 403, "{}", forged.body);
    let bad = browser(&jar, &["-d", &format!("csrf={token}"), "-d", "token=glpat-nothing", &format!("{base}/sign_in")]);
    assert_eq!(bad.status, 401);
    assert!(bad.body.contains("cannot sign in with this token"), "{}", bad.body);
    assert!(!bad.body.contains("glpat-nothing"), "the typed secret is not shown back");

    // Sign in: a new session id, then the list.
    let signed = browser(
        &jar,
        &[
            "--data-urlencode",
            &format!("token={}", tokens.alice_api),
            "-d",
            &format!("csrf={token}"),
            &format!("{base}/sign_in"),
        ],
    );
    assert_eq!(signed.status, 303, "{}", signed.body);
    let list = browser(&jar, &[&base]);
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("laptop") && list.body.contains("reader") && !list.body.contains("bobs-laptop"));
    assert!(!list.body.contains("glpat-"), "no secret in the list");
    let session_csrf = csrf(&list.body);
    assert_ne!(session_csrf, token, "signing in starts a new session");

    // The creation page: types, scopes, namespaces alice can access, the matrix.
    let new = browser(&jar, &[&format!("{base}/new")]);
    assert_eq!(new.status, 200);
    for text in [
        "Fine-grained token",
        "Beta",
        "Legacy token",
        "Selected groups and projects",
        "acme/platform/api",
        "opensource",
        "name=\"crud:repository\"",
        "value=\"read_job\"",
        "value=\"read_api\"",
    ] {
        assert!(new.body.contains(text), "the creation page lacks {text:?}");
    }
    assert!(!new.body.contains("secret-lab"), "a private group alice is not in is not offered");

    // Create: the secret shown once; the event written; a mistake keeps the form.
    let fields = [
        "name=deploy",
        "kind=fine_grained",
        "access=selected",
        "namespace=acme/platform",
        "crud:repository=view",
        "permission=read_user",
        "permission=read_job",
    ];
    let mut args: Vec<String> = fields.iter().flat_map(|f| ["-d".to_owned(), f.to_string()]).collect();
    args.extend(["-d".into(), format!("csrf={session_csrf}"), format!("{base}/new")]);
    let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
    let created = browser(&jar, &args_ref);
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(created.body.contains("Make sure you save it"), "{}", created.body);
    let secret_at = created.body.find("glpat-").expect("the secret is on the page");
    let secret: String =
        created.body[secret_at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    assert!(created.headers.contains("cache-control: no-store"));
    let event = std::fs::read_to_string(&events).unwrap();
    assert!(event.contains("\"token_created\"") && event.contains("selected_memberships"), "{event}");
    let me = curl(&[
        "-H",
        &format!("PRIVATE-TOKEN: {secret}"),
        &format!("{}/api/v4/personal_access_tokens/self", server.url),
    ]);
    assert_eq!(me.status, 403, "the new token lacks read_personal_access_token: {}", me.body);
    let again = browser(&jar, &args_ref);
    assert_eq!(again.status, 422);
    assert!(again.body.contains("token name &quot;deploy&quot; is already used"), "{}", again.body);
    assert!(again.body.contains(r#"value="acme/platform" checked"#), "the form keeps its choices");

    let list = browser(&jar, &[&base]);
    assert!(list.body.contains("deploy") && !list.body.contains(&secret), "listed, without its secret");

    // Revoke needs the CSRF token; with it, the token is revoked.
    let id = list_id(&list.body, "deploy");
    let forged = browser(&jar, &["-d", "csrf=nope", &format!("{base}/{id}/revoke")]);
    assert_eq!(forged.status, 403);
    let revoked = browser(&jar, &["-d", &format!("csrf={session_csrf}"), &format!("{base}/{id}/revoke")]);
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert!(revoked.body.contains("Token &quot;deploy&quot; was revoked."), "{}", revoked.body);
    assert_eq!(
        curl(&["-H", &format!("PRIVATE-TOKEN: {secret}"), &format!("{}/api/v4/personal_access_tokens", server.url)])
            .status,
        401
    );

    // Rotating the token you signed in with shows its new secret and signs you out.
    let own = list_id(&list.body, "laptop");
    let rotated = browser(&jar, &["-d", &format!("csrf={session_csrf}"), &format!("{base}/{own}/rotate")]);
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert!(rotated.body.contains("was rotated") && rotated.body.contains("glpat-"));
    assert_eq!(browser(&jar, &[&base]).status, 303, "the session ended with its token");
}

#[test]
fn a_token_that_may_only_read_cannot_create() {
    let dir = scratch("reader");
    let (store, tokens) = make_store(&dir);
    let server = Server::start(&store, &dir.join("events.jsonl"));
    let base = format!("{}/-/tokens", server.url);
    let jar = dir.join("cookies.txt");
    let token = csrf(&browser(&jar, &[&format!("{base}/sign_in")]).body);
    let signed = browser(
        &jar,
        &[
            "--data-urlencode",
            &format!("token={}", tokens.alice_reader),
            "-d",
            &format!("csrf={token}"),
            &format!("{base}/sign_in"),
        ],
    );
    assert_eq!(signed.status, 303);
    let new = browser(&jar, &[&format!("{base}/new")]);
    assert_eq!(new.status, 403, "{}", new.body);
    assert!(new.body.contains("create_user_personal_access_token"), "{}", new.body);
}

/// The store id in a list row's revoke form for the token called `name`.
fn list_id(page: &str, name: &str) -> String {
    let row = page.split("<tr").find(|r| r.contains(&format!("<strong>{name}</strong>"))).expect("a row");
    let at = row.find("/-/tokens/").unwrap() + 10;
    row[at..].split('/').next().unwrap().to_owned()
}
