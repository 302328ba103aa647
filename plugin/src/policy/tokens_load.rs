//! Loading the token table into the policy: every reference resolved once per
//! distinct value (a user, a namespace, a permission list), not once per token;
//! the table's digest and name orders checked, which also rules out duplicates.

use std::cmp::Ordering;
use std::sync::Arc;

use finegrain_catalog::Boundary;

use super::{Access, GrantRec, NsKind, Policy, TokenRec, TokenRights};
use crate::api::{Grant, GrantAccess, TokenKind};
use crate::permset::PermSet;
use crate::tokens::{DigestIndex, NameIndex, TokenName, TokenTable, access_of};
use crate::world::{Token, World};

/// A permission list resolved against the catalog.
struct PermList {
    /// Assignable permission ids, in the list's order.
    ids: Vec<usize>,
    raw: Arc<PermSet>,
}

/// A list from the table, resolved the first time a grant or token uses it:
/// `None` until then, then the resolved list or the first name that does not
/// resolve.
type Resolved<T> = Option<Result<T, String>>;

impl Policy {
    /// Loads the token table (after users and namespaces).
    pub(super) fn load_tokens(&mut self, mut table: TokenTable) -> Result<(), String> {
        table.check_shape()?;
        let names: Arc<str> = Arc::from(table.names.as_str());
        let users: Vec<Option<usize>> = table.users.iter().map(|u| self.user_ids.get(u).copied()).collect();
        let namespaces: Vec<Option<usize>> = table
            .namespaces
            .iter()
            .map(|p| self.lookup_namespace(p).filter(|ns| self.namespaces[*ns].kind != NsKind::Personal))
            .collect();
        let mut perm_lists: Vec<Resolved<Arc<PermList>>> = vec![None; table.sets.len()];
        let mut scope_lists: Vec<Resolved<Arc<[usize]>>> = vec![None; table.sets.len()];
        let (mut grant, mut selected) = (0usize, 0usize);
        self.tokens.reserve_exact(table.count());
        for (i, row) in table.rows.iter().enumerate() {
            let place = || format!("tokens[{i}]");
            let user = users[row.user as usize]
                .ok_or_else(|| format!("{}.user: unknown user {:?}", place(), table.users[row.user as usize]))?;
            let rights = match row.legacy {
                Some(set) => {
                    let set = set as usize;
                    if table.sets[set].is_empty() {
                        return Err(format!("{}.scopes: a legacy token needs at least one scope", place()));
                    }
                    match scope_lists[set].get_or_insert_with(|| self.resolve_scopes(&table.sets[set])) {
                        Ok(ids) => TokenRights::Legacy(Arc::clone(ids)),
                        Err(s) => return Err(format!("{}.scopes: unknown scope {s:?}", place())),
                    }
                }
                None => {
                    if row.grants == 0 {
                        return Err(format!("{}.grants: a fine-grained token needs at least one grant", place()));
                    }
                    let rows = &table.grants[grant..grant + row.grants as usize];
                    grant += rows.len();
                    let mut grants = Vec::with_capacity(rows.len());
                    for (j, g) in rows.iter().enumerate() {
                        let place = format!("{}.grants[{j}]", place());
                        let selection = &table.grant_namespaces[selected..selected + g.namespaces as usize];
                        selected += selection.len();
                        let access = self.grant_access(&place, g.access, selection, &namespaces, &table)?;
                        let set = g.set as usize;
                        if table.sets[set].is_empty() {
                            return Err(format!("{place}.permissions: a grant needs at least one permission"));
                        }
                        let list =
                            match perm_lists[set].get_or_insert_with(|| self.resolve_permissions(&table.sets[set])) {
                                Ok(list) => Arc::clone(list),
                                Err(name) => {
                                    return Err(format!("{place}.permissions: unknown assignable permission {name:?}"));
                                }
                            };
                        self.check_boundaries(&place, g.access, &list)?;
                        grants.push(GrantRec { access, raw: Arc::clone(&list.raw), set: g.set });
                    }
                    TokenRights::FineGrained(grants.into_boxed_slice())
                }
            };
            let name = TokenName::new(&names, table.name_range(i));
            self.tokens.push(TokenRec { name, user, rights, expires: row.expires, revoked: row.revoked });
        }
        self.grant_lists = perm_lists
            .into_iter()
            .map(|r| match r {
                Some(Ok(list)) => list.ids.clone(),
                _ => Vec::new(),
            })
            .collect();
        // What the indexes do not need goes before they are built.
        (table.users, table.namespaces, table.sets) = (Vec::new(), Vec::new(), Vec::new());
        (table.rows, table.grants, table.grant_namespaces) = (Vec::new(), Vec::new(), Vec::new());
        self.index_tokens(table, names)
    }

    /// Builds the digest and name indexes from the table's orders, checking
    /// them; the digests move into their index as they are.
    fn index_tokens(&mut self, table: TokenTable, names: Arc<str>) -> Result<(), String> {
        // `rows` is gone by now: the digest column gives the count.
        for k in 1..table.by_digest.len() {
            match table.sorted_digest(k - 1).cmp(table.sorted_digest(k)) {
                Ordering::Less => {}
                Ordering::Equal => {
                    let later = table.by_digest[k - 1].max(table.by_digest[k]);
                    return Err(format!("tokens[{later}].secret: another token has the same secret"));
                }
                Ordering::Greater => return Err("bundle token table: the digests are out of order".into()),
            }
        }
        let mut by_name = Vec::with_capacity(table.by_name.len());
        let name = |i: u32| {
            let (start, end) = table.name_range(i as usize);
            &table.names[start as usize..end as usize]
        };
        for pair in table.by_name.windows(2) {
            match name(pair[0]).cmp(name(pair[1])) {
                Ordering::Less => {}
                Ordering::Equal => {
                    let later = pair[0].max(pair[1]);
                    return Err(format!("tokens[{later}].name: duplicate token name {:?}", name(later)));
                }
                Ordering::Greater => return Err("bundle token table: the names are out of order".into()),
            }
        }
        for id in &table.by_name {
            let (start, end) = table.name_range(*id as usize);
            by_name.push((start, end, *id as usize));
        }
        self.token_by_name = NameIndex::new(names, by_name);
        let ids = table.by_digest.iter().map(|id| *id as usize).collect();
        self.token_by_digest = DigestIndex::new(table.digests.0, ids);
        Ok(())
    }

    /// A scope list's ids, or the first unknown scope.
    fn resolve_scopes(&self, names: &[String]) -> Result<Arc<[usize]>, String> {
        let mut ids = Vec::with_capacity(names.len());
        for name in names {
            match self.scope_ids.get(name) {
                Some(id) => ids.push(*id),
                None => return Err(name.clone()),
            }
        }
        Ok(ids.into())
    }

    /// A permission list's ids and raw permissions, or the first unknown name.
    fn resolve_permissions(&self, names: &[String]) -> Result<Arc<PermList>, String> {
        let mut ids = Vec::with_capacity(names.len());
        let mut raw = PermSet::with_capacity(self.catalog.permissions.len());
        for name in names {
            let Some(index) = self.assignable_ids.get(name) else {
                return Err(name.clone());
            };
            ids.push(*index);
            for id in &self.assignable_raw[*index] {
                raw.insert(*id);
            }
        }
        Ok(Arc::new(PermList { ids, raw: Arc::new(raw) }))
    }

    /// A grant's access, its selected namespaces resolved.
    fn grant_access(
        &mut self,
        place: &str,
        code: u8,
        selection: &[u32],
        namespaces: &[Option<usize>],
        table: &TokenTable,
    ) -> Result<Access, String> {
        Ok(match access_of(code, Vec::new()) {
            GrantAccess::PersonalProjects => Access::PersonalProjects,
            GrantAccess::AllMemberships => Access::AllMemberships,
            GrantAccess::SelectedMemberships(_) => {
                if selection.is_empty() {
                    return Err(format!(
                        "{place}.namespaces: selected_memberships needs at least one group or project"
                    ));
                }
                let start = u32::try_from(self.grant_ns.len()).map_err(|_| "too many selected namespaces")?;
                for ns in selection {
                    let path = &table.namespaces[*ns as usize];
                    let id = namespaces[*ns as usize]
                        .ok_or_else(|| format!("{place}.namespaces: unknown group or project {path:?}"))?;
                    self.grant_ns.push(id);
                }
                let end = u32::try_from(self.grant_ns.len()).map_err(|_| "too many selected namespaces")?;
                Access::Selected { start, end }
            }
            GrantAccess::User => Access::User,
            GrantAccess::Instance => Access::Instance,
        })
    }

    /// Checks that each permission of a grant applies at its access's boundaries.
    fn check_boundaries(&self, place: &str, code: u8, list: &PermList) -> Result<(), String> {
        let access = access_of(code, Vec::new());
        let allowed = access.boundaries();
        for index in &list.ids {
            let assignable = &self.catalog.assignable[*index];
            if !assignable.boundaries.iter().any(|b| allowed.contains(b)) {
                let at: Vec<&str> = assignable.boundaries.iter().map(|b: &Boundary| b.name()).collect();
                return Err(format!(
                    "{place}.permissions: {:?} does not apply to access {} (it applies at {})",
                    assignable.name,
                    access.name(),
                    at.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The world as loaded, its tokens rebuilt from the token records.
    pub fn world(&self) -> World {
        let digests = self.token_by_digest.digests();
        let tokens = self.tokens.iter().zip(digests).map(|(t, digest)| self.token(t, digest)).collect();
        World { tokens, ..self.world.clone() }
    }

    fn token(&self, token: &TokenRec, digest: [u8; 32]) -> Token {
        let kind = match &token.rights {
            TokenRights::Legacy(scopes) => {
                TokenKind::Legacy(scopes.iter().map(|s| self.catalog.legacy_scopes[*s].name.clone()).collect())
            }
            TokenRights::FineGrained(grants) => TokenKind::FineGrained(
                grants
                    .iter()
                    .map(|g| Grant {
                        access: self.grant_access_of(&g.access),
                        permissions: self.grant_lists[g.set as usize]
                            .iter()
                            .map(|a| self.catalog.assignable[*a].name.clone())
                            .collect(),
                    })
                    .collect(),
            ),
        };
        Token {
            name: token.name.to_string(),
            user: self.users[token.user].username.clone(),
            digest,
            kind,
            expires: token.expires,
            revoked: token.revoked,
        }
    }

    fn grant_access_of(&self, access: &Access) -> GrantAccess {
        match access {
            Access::PersonalProjects => GrantAccess::PersonalProjects,
            Access::AllMemberships => GrantAccess::AllMemberships,
            Access::Selected { start, end } => GrantAccess::SelectedMemberships(
                self.grant_ns[*start as usize..*end as usize]
                    .iter()
                    .map(|ns| self.namespaces[*ns].path.clone())
                    .collect(),
            ),
            Access::User => GrantAccess::User,
            Access::Instance => GrantAccess::Instance,
        }
    }
}

#[cfg(test)]
mod tests {
    use finegrain_catalog::Catalog;

    use super::*;
    use crate::world::{Group, User, Visibility};

    fn token(name: &str, digest: u8, access: GrantAccess, permissions: &[&str]) -> Token {
        let permissions = permissions.iter().map(|p| (*p).to_owned()).collect();
        Token {
            name: name.into(),
            user: "alice".into(),
            digest: [digest; 32],
            kind: TokenKind::FineGrained(vec![Grant { access, permissions }]),
            expires: None,
            revoked: false,
        }
    }

    fn world(tokens: Vec<Token>) -> World {
        World {
            users: vec![User { username: "alice".into(), id: None, admin: false, active: true }],
            groups: vec![Group { path: "acme".into(), id: None, visibility: Visibility::Private }],
            tokens,
            ..World::default()
        }
    }

    fn load(tokens: Vec<Token>) -> Result<Policy, String> {
        Policy::new(Catalog::builtin().unwrap(), world(tokens))
    }

    fn acme() -> GrantAccess {
        GrantAccess::SelectedMemberships(vec!["acme".into()])
    }

    #[test]
    fn errors_name_the_token_and_field() {
        let twice = load(vec![token("a", 1, acme(), &["read_branch"]), token("b", 1, acme(), &["read_branch"])]);
        assert_eq!(twice.err().unwrap(), "tokens[1].secret: another token has the same secret");
        let named = load(vec![token("a", 1, acme(), &["read_branch"]), token("a", 2, acme(), &["read_branch"])]);
        assert_eq!(named.err().unwrap(), "tokens[1].name: duplicate token name \"a\"");
        let nowhere = GrantAccess::SelectedMemberships(vec!["nowhere".into()]);
        let unknown = load(vec![token("a", 1, nowhere, &["read_branch"])]);
        assert_eq!(unknown.err().unwrap(), "tokens[0].grants[0].namespaces: unknown group or project \"nowhere\"");
        let mut stranger = token("a", 1, acme(), &["read_branch"]);
        stranger.user = "mallory".into();
        assert_eq!(load(vec![stranger]).err().unwrap(), "tokens[0].user: unknown user \"mallory\"");
        let misplaced = load(vec![token("a", 1, GrantAccess::User, &["read_branch"])]).err().unwrap();
        assert!(
            misplaced.starts_with("tokens[0].grants[0].permissions: \"read_branch\" does not apply to access user")
        );
        let made_up = load(vec![token("a", 1, acme(), &["read_everything"])]).err().unwrap();
        assert_eq!(made_up, "tokens[0].grants[0].permissions: unknown assignable permission \"read_everything\"");
    }

    #[test]
    fn grants_with_the_same_permissions_share_one_set() {
        let policy =
            load(vec![token("a", 1, acme(), &["read_branch"]), token("b", 2, acme(), &["read_branch"])]).unwrap();
        let raw = |t: usize| match &policy.tokens[t].rights {
            TokenRights::FineGrained(grants) => Arc::clone(&grants[0].raw),
            TokenRights::Legacy(_) => panic!("a fine-grained token"),
        };
        assert!(Arc::ptr_eq(&raw(0), &raw(1)));
        assert_eq!(policy.token_by_name.get("b"), Some(&1));
        assert_eq!(policy.token_by_digest.get(&[1; 32]), Some(&0));
        assert_eq!(policy.tokens[1].name.as_str(), "b");
    }

    #[test]
    fn the_world_comes_back_as_it_was_loaded() {
        let tokens = vec![
            token("b", 9, acme(), &["read_branch", "push_code"]),
            Token { kind: TokenKind::Legacy(vec!["api".into()]), ..token("a", 3, acme(), &[]) },
        ];
        let policy = load(tokens.clone()).unwrap();
        assert!(policy.world.tokens.is_empty(), "no second copy of the tokens");
        assert_eq!(policy.world(), world(tokens));
    }
}
