//! The pages as HTML text. Every value from a user or the store goes through
//! [`esc`].

use std::collections::BTreeMap;
use std::fmt::Write;

use finegrain_engine::api::Timestamp;
use finegrain_engine::catalog::{Catalog, CrudVerb};
use finegrain_store::{NamespaceChoice, Settings, TokenInfo};

use crate::form::Draft;
use crate::style::{CSS, SCRIPT};

/// HTML-escapes text for element content and quoted attributes (the
/// catalog's escaper, which the reference page uses too).
pub fn esc(text: &str) -> String {
    finegrain_engine::catalog::docs::escape_html(text)
}

/// What every page's frame needs.
pub struct Frame<'a> {
    pub base: &'a str,
    /// The signed-in user, for the header.
    pub user: Option<&'a str>,
    /// The session's CSRF token.
    pub csrf: &'a str,
}

impl Frame<'_> {
    /// A whole page around `body`.
    pub fn page(&self, title: &str, body: &str) -> String {
        let who = match self.user {
            Some(user) => format!(
                r#"<span class="who">Signed in as <strong>{}</strong></span>
<form method="post" action="{}/sign_out">{}<button type="submit">Sign out</button></form>"#,
                esc(user),
                self.base,
                self.csrf_field()
            ),
            None => String::new(),
        };
        format!(
            r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · finegrain</title><style>{CSS}</style></head>
<body><header class="top"><span class="brand">finegrain</span><span>Access tokens</span>{who}</header>
<main id="content">{body}</main><script>{SCRIPT}</script></body></html>"#,
            title = esc(title)
        )
    }

    /// The list page's address: the base, or `/` at the root.
    pub fn home(&self) -> &str {
        if self.base.is_empty() { "/" } else { self.base }
    }

    /// The hidden CSRF field every form carries.
    pub fn csrf_field(&self) -> String {
        format!(r#"<input type="hidden" name="csrf" value="{}">"#, esc(self.csrf))
    }
}

/// An error banner, or nothing.
pub fn alert(kind: &str, message: Option<&str>) -> String {
    message.map_or_else(String::new, |m| format!(r#"<div class="alert {kind}" role="alert">{}</div>"#, esc(m)))
}

/// The sign-in page.
pub fn sign_in(frame: &Frame, error: Option<&str>) -> String {
    let body = format!(
        r#"<h1>Sign in</h1><p class="lead">Use one of your existing personal access tokens to manage your tokens.</p>
{}<div class="card"><form method="post" action="{}/sign_in">{}
<label for="token">Personal access token</label>
<input id="token" name="token" type="password" autocomplete="off" required>
<div class="actions"><button class="btn primary" type="submit">Sign in</button></div></form></div>"#,
        alert("error", error),
        frame.base,
        frame.csrf_field()
    );
    frame.page("Sign in", &body)
}

/// The list of the user's tokens.
pub fn list(frame: &Frame, tokens: &[TokenInfo], now: Timestamp, notice: Option<&str>) -> String {
    let mut rows = String::new();
    for t in tokens.iter().rev() {
        let status = t.status(now);
        let kind = if t.kind_name() == "legacy" { "Legacy" } else { "Fine-grained" };
        let actions = if t.revoked_at.is_none() {
            format!(
                r#"<form method="post" action="{base}/{id}/rotate">{csrf}<button class="btn small" type="submit">Rotate</button></form>
<form method="post" action="{base}/{id}/revoke">{csrf}<button class="btn small danger" type="submit" aria-label="Revoke {label}">Revoke</button></form>"#,
                base = frame.base,
                id = t.id,
                csrf = frame.csrf_field(),
                label = esc(&t.label)
            )
        } else {
            String::new()
        };
        let _ = write!(
            rows,
            r#"<tr data-search="{search}"><td><strong>{label}</strong><div class="muted">{desc}</div></td><td>{kind}</td>
<td>{scopes}</td><td class="date">{created}</td><td class="date">{last}</td><td class="date">{expires}</td><td><span class="badge {status}">{status}</span></td><td>{actions}</td></tr>"#,
            search = esc(&t.label.to_lowercase()),
            label = esc(&t.label),
            desc = esc(t.description.as_deref().unwrap_or("")),
            scopes = esc(&summary(t)),
            created = finegrain_store::format_date(t.created_at),
            last = t.last_used_at.map_or_else(|| "Never".to_owned(), finegrain_store::format_date),
            expires = t.expires.map_or_else(|| "Never".to_owned(), finegrain_store::format_date),
        );
    }
    let table = if tokens.is_empty() {
        r#"<p class="muted">You have no tokens yet.</p>"#.to_owned()
    } else {
        format!(
            r#"<label for="token-filter">Search tokens</label><input id="token-filter" type="search" data-filter="tokens">
<table id="tokens"><thead><tr><th scope="col">Token name</th><th scope="col">Type</th><th scope="col">Scopes</th>
<th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">Status</th><th scope="col"><span class="hidden">Actions</span></th></tr></thead>
<tbody>{rows}</tbody></table>"#
        )
    };
    let body = format!(
        r#"<h1>Personal access tokens</h1><p class="lead">Tokens let tools and scripts use the API and Git over HTTP as you.</p>
{}<div class="actions" style="margin:0 0 1rem"><a class="btn primary" href="{}/new">Add new token</a></div>
<div class="card">{table}</div>"#,
        alert("success", notice),
        frame.base
    );
    frame.page("Personal access tokens", &body)
}

/// A short text for what a token may do.
fn summary(t: &TokenInfo) -> String {
    match &t.kind {
        finegrain_engine::api::TokenKind::Legacy(scopes) => scopes.join(", "),
        finegrain_engine::api::TokenKind::FineGrained(grants) => grants
            .iter()
            .map(|g| format!("{}: {} permission(s)", g.access.name(), g.permissions.len()))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// The page that shows a new secret, once.
pub fn secret(frame: &Frame, name: &str, secret: &str, expires: Option<Timestamp>, rotated: bool) -> String {
    let what = if rotated { "rotated" } else { "created" };
    let body = format!(
        r#"<h1>Your new personal access token</h1>
<div class="alert success" role="status">Token <strong>{name}</strong> was {what}.{expiry}</div>
<div class="card"><label for="new-token">Token</label><div id="new-token" class="secret">{secret}</div>
<p class="warn"><strong>Make sure you save it — you won't be able to access it again.</strong></p>
<div class="actions"><a class="btn primary" href="{home}">Back to your tokens</a></div></div>"#,
        name = esc(name),
        expiry = expires.map_or_else(
            || " It does not expire.".to_owned(),
            |t| format!(" It expires on {}.", finegrain_store::format_date(t))
        ),
        secret = esc(secret),
        home = frame.home(),
    );
    frame.page("New token", &body)
}

/// What the creation page shows.
pub struct CreatePage<'a> {
    pub catalog: &'a Catalog,
    pub settings: &'a Settings,
    pub namespaces: &'a [NamespaceChoice],
    pub today: Timestamp,
    pub draft: &'a Draft,
    pub error: Option<&'a str>,
}

/// The creation page: type, scope, resources × actions, expiry.
pub fn create(frame: &Frame, p: &CreatePage) -> String {
    let d = p.draft;
    let checked = |on: bool| if on { " checked" } else { "" };
    let body = format!(
        r#"<h1>Add a personal access token</h1>{error}
<form method="post" action="{base}/new" class="card">{csrf}
<label for="name">Token name</label><input id="name" name="name" type="text" maxlength="100" required value="{name}">
<label for="description">Description <span class="hint">(optional)</span></label>
<textarea id="description" name="description" rows="2">{description}</textarea>
{expiry}
<fieldset><legend>Token type</legend>
<label class="choice"><input type="radio" name="kind" id="kind-fine" value="fine_grained"{fine}><span><strong>Fine-grained token <span class="badge beta">Beta</span></strong>
<span class="hint">Only the resources and actions you choose, only in the groups and projects you choose.</span></span></label>
<label class="choice"><input type="radio" name="kind" id="kind-legacy" value="legacy"{legacy}><span><strong>Legacy token</strong>
<span class="hint">Broad scopes such as api or read_repository, everywhere you have access.</span></span></label></fieldset>
<div id="fine-grained-fields">{scope}{crud}{matrix}</div>
<div id="legacy-fields">{legacy_scopes}</div>
<div class="actions"><button class="btn primary" type="submit">Create token</button><a class="btn" href="{home}">Cancel</a></div>
</form>"#,
        error = alert("error", p.error),
        base = frame.base,
        csrf = frame.csrf_field(),
        home = frame.home(),
        name = esc(&d.name),
        description = esc(&d.description),
        expiry = expiry(p),
        fine = checked(d.kind != "legacy"),
        legacy = checked(d.kind == "legacy"),
        scope = scope(p),
        crud = crud(p),
        matrix = matrix(p),
        legacy_scopes = legacy_scopes(p),
    );
    frame.page("Add a personal access token", &body)
}

fn expiry(p: &CreatePage) -> String {
    let day = |days: u32| finegrain_store::format_date(p.today + i64::from(days) * 86_400);
    let default = day(p.settings.default_lifetime_days);
    let value = if p.draft.expires.is_empty() { default.clone() } else { p.draft.expires.clone() };
    let (max, hint, never) = match p.settings.max_lifetime_days {
        Some(m) => (
            format!(r#" max="{}""#, day(m)),
            format!("Default {default}; at most {m} days, until {}.", day(m)),
            String::new(),
        ),
        None => (
            String::new(),
            format!("Default {default}."),
            format!(
                r#"<label class="choice"><input type="checkbox" name="never"{}><span>No expiry date</span></label>"#,
                if p.draft.never { " checked" } else { "" }
            ),
        ),
    };
    format!(
        r#"<label for="expires">Expiration date <span class="hint">{hint}</span></label>
<input id="expires" name="expires" type="date" min="{min}" value="{value}"{max}>{never}"#,
        min = day(1),
        value = esc(&value),
    )
}

fn scope(p: &CreatePage) -> String {
    let d = p.draft;
    let radio = |value: &str, title: &str, hint: &str| {
        format!(
            r#"<label class="choice"><input type="radio" name="access" value="{value}"{}><span><strong>{title}</strong><span class="hint">{hint}</span></span></label>"#,
            if d.access == value { " checked" } else { "" }
        )
    };
    let mut items = String::new();
    for ns in p.namespaces {
        let on = if d.namespaces.contains(&ns.path) { " checked" } else { "" };
        let _ = write!(
            items,
            r#"<li data-search="{search}"><label><input type="checkbox" name="namespace" value="{path}"{on}>{path}<span class="kind">{kind}</span></label></li>"#,
            search = esc(&ns.path.to_lowercase()),
            path = esc(&ns.path),
            kind = if ns.is_project { "project" } else { "group" },
        );
    }
    format!(
        r#"<fieldset><legend>Scope</legend>{}{}{}
<label for="ns-filter">Search groups and projects <span class="hint">({} you can access)</span></label>
<input id="ns-filter" type="search" data-filter="namespaces" placeholder="Filter by path">
<ul id="namespaces" class="namespaces">{items}</ul></fieldset>"#,
        radio("personal_projects", "Personal projects", "The projects in your own namespace."),
        radio("all_memberships", "All memberships", "Every group and project you are a member of."),
        radio("selected", "Selected groups and projects", "Only the ones ticked below (and what is under them)."),
        p.namespaces.len()
    )
}

/// Resources with CRUD verbs (the catalog's `crud` column).
fn crud(p: &CreatePage) -> String {
    let resources: std::collections::BTreeSet<&str> =
        p.catalog.permissions.iter().filter_map(|perm| perm.crud.as_ref().map(|(r, _)| r.as_str())).collect();
    let mut rows = String::new();
    for resource in resources {
        let picked = p.draft.crud.iter().find(|(r, _)| r == resource).map_or("", |(_, v)| v.as_str());
        let mut cells = format!(
            r#"<td><label><input type="radio" name="crud:{r}" value=""{}>No access</label></td>"#,
            if picked.is_empty() { " checked" } else { "" },
            r = esc(resource)
        );
        for verb in [CrudVerb::View, CrudVerb::Write, CrudVerb::Delete, CrudVerb::Manage] {
            let _ = write!(
                cells,
                r#"<td><label><input type="radio" name="crud:{r}" value="{v}"{on}>{v}</label></td>"#,
                r = esc(resource),
                v = verb.name(),
                on = if picked == verb.name() { " checked" } else { "" }
            );
        }
        let _ = write!(rows, "<tr><td>{}</td>{cells}</tr>", esc(resource));
    }
    format!(
        r#"<fieldset><legend>Resources by access level</legend>
<table class="matrix"><thead><tr><th scope="col">Resource</th><th scope="col" colspan="5">Access</th></tr></thead><tbody>{rows}</tbody></table></fieldset>"#
    )
}

/// A category's resources, each with its `(action, permission)` pairs.
type Resources<'a> = BTreeMap<&'a str, Vec<(&'a str, &'a str)>>;

/// Named permissions: resources × actions, grouped by category.
fn matrix(p: &CreatePage) -> String {
    let mut by_category: BTreeMap<&str, Resources> = BTreeMap::new();
    for a in &p.catalog.assignable {
        by_category.entry(&a.category).or_default().entry(&a.resource).or_default().push((&a.action, &a.name));
    }
    let mut sections = String::new();
    for (category, resources) in by_category {
        let mut rows = String::new();
        let mut any_on = false;
        for (resource, actions) in resources {
            let mut cells = String::new();
            let mut search = resource.to_owned();
            for (action, name) in actions {
                let on = p.draft.permissions.iter().any(|x| x == name);
                any_on |= on;
                search.push(' ');
                search.push_str(name);
                let _ = write!(
                    cells,
                    r#"<label title="{n}"><input type="checkbox" name="permission" value="{n}"{c}>{a}</label>"#,
                    n = esc(name),
                    a = esc(action),
                    c = if on { " checked" } else { "" }
                );
            }
            let _ = write!(
                rows,
                r#"<tr data-search="{s}"><td>{r}</td><td>{cells}</td></tr>"#,
                s = esc(&search),
                r = esc(resource)
            );
        }
        let _ = write!(
            sections,
            r#"<details{open}><summary>{title}</summary><div><table class="matrix"><tbody>{rows}</tbody></table></div></details>"#,
            open = if any_on { " open" } else { "" },
            title = esc(&readable(category)),
        );
    }
    format!(
        r#"<fieldset><legend>Permissions by resource and action</legend>
<label for="perm-filter">Search permissions</label><input id="perm-filter" type="search" data-filter="permissions" placeholder="for example branch or read_issue">
<div id="permissions">{sections}</div></fieldset>"#
    )
}

fn legacy_scopes(p: &CreatePage) -> String {
    let mut items = String::new();
    for s in &p.catalog.legacy_scopes {
        let _ = write!(
            items,
            r#"<label class="choice"><input type="checkbox" name="scope" value="{n}"{c}><span>{n}</span></label>"#,
            n = esc(&s.name),
            c = if p.draft.scopes.contains(&s.name) { " checked" } else { "" }
        );
    }
    format!(r#"<fieldset><legend>Scopes</legend>{items}</fieldset>"#)
}

/// `system_access` → `System access`.
fn readable(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A page that says why something was refused.
pub fn refused(frame: &Frame, message: &str) -> String {
    let body = format!(
        r#"<h1>Not allowed</h1>{}<p><a class="btn" href="{}">Back to your tokens</a></p>"#,
        alert("error", Some(message)),
        frame.home()
    );
    frame.page("Not allowed", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_names() {
        assert_eq!(esc(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(readable("system_access"), "System access");
        assert_eq!(readable(""), "");
    }
}
