//! Token introspection: the "what can this token do" view, token ∩ user, per
//! namespace.

use finegrain_catalog::Boundary;

use crate::api::{AccessEntry, Timestamp, TokenRef, TokenReport};
use crate::permset::PermSet;
use crate::policy::{Access, NsKind, Policy, TokenRights};

impl Policy {
    /// Reports what a token may do at time `at`.
    pub fn inspect(&self, token: &TokenRef, at: Timestamp) -> Result<TokenReport, String> {
        let index = match token {
            TokenRef::Secret(secret) => self.token_by_digest.get(&crate::world::secret_digest(secret)),
            TokenRef::Name(name) => self.token_by_name.get(name),
        };
        let token = &self.tokens[*index.ok_or("no such token")?];
        let user = &self.users[token.user];
        let status = crate::api::token_status(token.revoked, token.expires, user.active, at);
        let (kind, scopes) = match &token.rights {
            TokenRights::Legacy(s) => {
                ("legacy", s.iter().map(|s| self.catalog.legacy_scopes[*s].name.clone()).collect())
            }
            TokenRights::FineGrained(_) => ("fine_grained", Vec::new()),
        };
        let access = if status == "active" { self.access_entries(token.user, &token.rights, at) } else { Vec::new() };
        Ok(TokenReport {
            name: token.name.to_string(),
            user: user.username.clone(),
            kind: kind.to_owned(),
            status: status.to_owned(),
            expires: token.expires,
            scopes,
            access,
        })
    }

    fn access_entries(&self, user: usize, rights: &TokenRights, at: Timestamp) -> Vec<AccessEntry> {
        let mut entries = Vec::new();
        for (ns, namespace) in self.namespaces.iter().enumerate() {
            let boundary = match namespace.kind {
                NsKind::Project => Boundary::Project,
                NsKind::Group => Boundary::Group,
                NsKind::Personal => continue,
            };
            let token_side = match rights {
                TokenRights::Legacy(scopes) => {
                    if !self.can_access(user, ns, at) {
                        continue;
                    }
                    self.union_scopes(scopes)
                }
                TokenRights::FineGrained(grants) => {
                    let mut set = PermSet::default();
                    let mut any = false;
                    for grant in grants {
                        let covers = self.grant_reach(&grant.access, user, ns, at).is_some();
                        if covers {
                            set.union_with(&grant.raw);
                            any = true;
                        }
                    }
                    if !any {
                        continue;
                    }
                    set
                }
            };
            let permissions = self.effective(user, &token_side, Some(ns), boundary, at);
            if !permissions.is_empty() {
                entries.push(AccessEntry { boundary, namespace: Some(namespace.path.clone()), permissions });
            }
        }
        for boundary in [Boundary::User, Boundary::Instance] {
            let token_side = match rights {
                TokenRights::Legacy(scopes) => self.union_scopes(scopes),
                TokenRights::FineGrained(grants) => {
                    let mut set = PermSet::default();
                    for grant in grants {
                        if matches!(
                            (&grant.access, boundary),
                            (Access::User, Boundary::User) | (Access::Instance, Boundary::Instance)
                        ) {
                            set.union_with(&grant.raw);
                        }
                    }
                    set
                }
            };
            let permissions = self.effective(user, &token_side, None, boundary, at);
            if !permissions.is_empty() {
                entries.push(AccessEntry { boundary, namespace: None, permissions });
            }
        }
        entries
    }

    fn union_scopes(&self, scopes: &[usize]) -> PermSet {
        let mut set = PermSet::default();
        for s in scopes {
            set.union_with(&self.scope_perms[*s]);
        }
        set
    }

    /// Assignable permissions valid at `boundary` whose raw permissions the
    /// token side covers and the user holds.
    fn effective(
        &self,
        user: usize,
        token_side: &PermSet,
        ns: Option<usize>,
        boundary: Boundary,
        at: Timestamp,
    ) -> Vec<String> {
        let standing = ns.map(|ns| (ns, self.standing(user, ns, at)));
        let place = standing.as_ref().map(|(ns, s)| (*ns, s));
        self.catalog
            .assignable
            .iter()
            .enumerate()
            .filter(|(a, assignable)| {
                let raw = &self.assignable_raw[*a];
                assignable.boundaries.contains(&boundary)
                    && !raw.is_empty()
                    && token_side.contains_all(raw)
                    && raw.iter().all(|p| self.user_holds(user, *p, place, boundary))
            })
            .map(|(_, assignable)| assignable.name.clone())
            .collect()
    }
}
