//! The store as a library: schema versions, settings, names, and the token
//! lifecycle's errors, each leaving the store as it was.

use std::path::PathBuf;

use finegrain_engine::api::{Grant, GrantAccess, TokenKind, Update};
use finegrain_engine::world::{self, Visibility, World};
use finegrain_store::{
    ExistingTokens, Expiry, GrantRequest, PermissionChoice, Store, StoreError, TokenRequest, TokenSelector,
};

const NOW: i64 = 1_795_262_400; // 2026-11-21T12:00:00Z

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("finegrain-store-lib-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("store.db")
}

fn small_world() -> World {
    let user = |name: &str, active| world::User { username: name.into(), id: None, admin: false, active };
    World {
        users: vec![user("ann", true), user("ben", false)],
        groups: vec![world::Group { path: "corp".into(), id: Some(7), visibility: Visibility::Private }],
        projects: vec![world::Project {
            path: "corp/app".into(),
            id: Some(70),
            visibility: Visibility::Private,
            protected_branches: Vec::new(),
            protected_tags: Vec::new(),
        }],
        members: vec![world::Member {
            user: "ann".into(),
            namespace: "corp".into(),
            role: "developer".into(),
            expires: None,
        }],
        ..World::default()
    }
}

fn store(name: &str) -> Store {
    let mut store = Store::open(&scratch(name)).unwrap();
    store.import(&small_world(), NOW, ExistingTokens::Refuse).unwrap();
    store
}

fn request(name: &str, access: GrantAccess, permissions: &[&str]) -> TokenRequest {
    TokenRequest {
        owner: "ann".into(),
        name: name.into(),
        description: Some("for the build".into()),
        scopes: Vec::new(),
        grants: vec![GrantRequest {
            access,
            permissions: permissions.iter().map(|p| PermissionChoice::parse(p)).collect(),
        }],
        expires: Expiry::Default,
    }
}

#[test]
fn a_new_store_is_at_the_current_schema_version_and_reopens_unchanged() {
    let path = scratch("schema");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), finegrain_store::schema::current_version());
    let settings = store.settings().unwrap();
    assert_eq!((settings.token_prefix.as_str(), settings.default_lifetime_days), ("glpat-", 30));
    assert_eq!(settings.max_lifetime_days, Some(365));
    drop(store);
    let mut store = Store::open_existing(&path).unwrap();
    store.import(&small_world(), NOW, ExistingTokens::Refuse).unwrap();
    drop(store);
    let store = Store::open_existing(&path).unwrap();
    assert_eq!(store.world().unwrap().users.len(), 2);
}

#[test]
fn a_store_from_a_newer_finegrain_is_refused() {
    let path = scratch("newer");
    drop(Store::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let error = Store::open_existing(&path).err().unwrap();
    assert_eq!(error.to_string(), "the store has schema version 99, newer than this finegrain knows (1)");
}

#[test]
fn a_missing_store_is_not_created_by_open_existing() {
    let path = scratch("missing").with_file_name("nothing-here.db");
    let error = Store::open_existing(&path).err().unwrap();
    assert!(matches!(error, StoreError::NoStore { .. }), "{error}");
    assert!(!path.exists());
}

#[test]
fn tokens_round_trip_through_the_world() {
    let mut store = store("roundtrip");
    let created = store
        .create_token(&request("build", GrantAccess::SelectedMemberships(vec!["70".into()]), &["read_branch"]), NOW)
        .unwrap();
    let token = store.token(created.id).unwrap();
    assert_eq!(token.description.as_deref(), Some("for the build"));
    assert_eq!(
        token.kind,
        TokenKind::FineGrained(vec![Grant {
            // A namespace given by id is kept as its full path.
            access: GrantAccess::SelectedMemberships(vec!["corp/app".into()]),
            permissions: vec!["read_branch".into()],
        }])
    );
    assert_eq!(token.status(NOW), "active");
    assert_eq!(finegrain_store::format_date(token.expires.unwrap()), "2026-12-21");
    let world = store.world().unwrap();
    let stored = world.tokens.iter().find(|t| t.name == "build").unwrap();
    assert_eq!(stored.digest, created.secret.digest());
    assert_eq!(store.find_by_secret(created.secret.expose()).unwrap().map(|t| t.id), Some(created.id));
    assert!(store.find_by_secret("glpat-guess").unwrap().is_none());
    assert!(matches!(&created.updates[..], [Update::AddToken(t)] if t.name == "build"));
}

#[test]
fn lifecycle_errors_leave_the_store_as_it_was() {
    let mut store = store("errors");
    let created = store.create_token(&request("ci", GrantAccess::AllMemberships, &["read_branch"]), NOW).unwrap();
    let before = (store.world().unwrap(), store.revision().unwrap());

    let revoke = |store: &mut Store, selector| store.revoke(&selector, NOW).unwrap_err().to_string();
    assert_eq!(revoke(&mut store, TokenSelector::Id(999)), "no token 999");
    assert_eq!(
        revoke(&mut store, TokenSelector::Owned { user: "ann".into(), name: "cd".into() }),
        "no token \"cd\" of user \"ann\""
    );
    let mut named = request("ci", GrantAccess::AllMemberships, &["read_branch"]);
    assert_eq!(
        store.create_token(&named, NOW).unwrap_err().to_string(),
        format!("token name \"ci\" is already used by token {}; choose another --name", created.id)
    );
    named.name = "ci~2".into();
    assert_eq!(
        store.create_token(&named, NOW).unwrap_err().to_string(),
        "token name \"ci~2\" contains '~', which finegrain keeps for rotated tokens"
    );
    named.name = "   ".into();
    assert_eq!(store.create_token(&named, NOW).unwrap_err().to_string(), "token name \"   \" is empty");
    let mut blocked = request("b", GrantAccess::AllMemberships, &["read_branch"]);
    blocked.owner = "ben".into();
    assert_eq!(
        store.create_token(&blocked, NOW).unwrap_err().to_string(),
        "user \"ben\" is blocked; a blocked user cannot get new tokens"
    );
    let mut dated = request("d", GrantAccess::AllMemberships, &["read_branch"]);
    dated.expires = Expiry::Days(400);
    assert_eq!(
        store.create_token(&dated, NOW).unwrap_err().to_string(),
        "expiry 2027-12-26 is beyond the maximum lifetime of 365 days (latest allowed: 2027-11-21)"
    );
    for (key, value, message) in [
        ("color", "blue", "unknown setting \"color\" (token_prefix, default_lifetime_days or max_lifetime_days)"),
        (
            "max_lifetime_days",
            "10",
            "setting \"max_lifetime_days\": \"10\": the default lifetime would exceed the maximum lifetime",
        ),
        (
            "token_prefix",
            "a b",
            "setting \"token_prefix\": \"a b\": token prefix \"a b\" must be 1 to 20 characters of a-z, A-Z, 0-9, '-' and '_'",
        ),
    ] {
        assert_eq!(store.set_setting(key, value).unwrap_err().to_string(), message);
    }
    assert_eq!((store.world().unwrap(), store.revision().unwrap()), before);
}

#[test]
fn rotation_keeps_the_rights_and_revokes_the_old_token_together() {
    let mut store = store("rotation");
    let first = store.create_token(&request("ci", GrantAccess::AllMemberships, &["repository:view"]), NOW).unwrap();
    let later = NOW + 10 * 86_400;
    let second = store.rotate(&TokenSelector::Owned { user: "ann".into(), name: "ci".into() }, later).unwrap();
    let third = store.rotate(&TokenSelector::Id(second.id), later).unwrap();
    // The name stays the owner's; only the engine's unique name changes.
    assert_eq!((second.name.as_str(), third.name.as_str()), ("ci", "ci"));
    assert_eq!((second.engine_name.as_str(), third.engine_name.as_str()), ("ci~2", "ci~3"));
    let (old, new) = (store.token(first.id).unwrap(), store.token(third.id).unwrap());
    assert_eq!(old.status(later), "revoked");
    assert_eq!(new.kind, old.kind);
    assert_eq!((new.label.as_str(), new.rotated_from), ("ci", Some(second.id)));
    assert_eq!(finegrain_store::format_date(new.expires.unwrap()), "2026-12-31");
    assert_eq!(third.event.event, "token_rotated");
    assert_eq!(
        store.rotate(&TokenSelector::Id(first.id), later).unwrap_err().to_string(),
        format!("token {} is already revoked", first.id)
    );
}

#[test]
fn an_import_keeps_the_tokens_unless_asked_to_replace_them() {
    let mut store = store("import-replace");
    store.create_token(&request("ci", GrantAccess::AllMemberships, &["repository:view"]), NOW).unwrap();
    let before = store.world().unwrap();
    let error = store.import(&small_world(), NOW, ExistingTokens::Refuse).unwrap_err();
    assert!(matches!(error, StoreError::WouldDropTokens { count: 1 }), "{error:?}");
    assert!(error.to_string().contains("--replace"), "{error}");
    assert_eq!(store.world().unwrap(), before);
    let summary = store.import(&small_world(), NOW, ExistingTokens::Replace).unwrap();
    assert_eq!(summary.tokens, 0);
    assert!(store.world().unwrap().tokens.is_empty());
}

#[test]
fn selectable_namespaces_are_the_ones_creation_accepts() {
    let store = store("selectable");
    let paths = |user: &str| -> Vec<(String, bool)> {
        store.selectable_namespaces(user, NOW).unwrap().into_iter().map(|n| (n.path, n.is_project)).collect()
    };
    assert_eq!(paths("ann"), [("corp".to_owned(), false), ("corp/app".to_owned(), true)]);
    assert!(paths("ben").is_empty(), "no membership, nothing public");
}
