//! The world's tokens: as they travel in a bundle (a compact [`TokenTable`]) and
//! as the engine holds them once loaded ([`TokenRec`], [`DigestIndex`],
//! [`NameIndex`]).
//!
//! A million tokens share a few dozen permission sets, a few thousand users and
//! namespaces: the table names each of those once and refers to them by index,
//! keeps every token's name in one string and every digest in one byte string,
//! and carries the token ids sorted by digest and by name, so loading checks
//! the order (which also proves there are no duplicates) instead of building
//! hash maps, and a lookup is a binary search.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::api::{Grant, GrantAccess, Timestamp, TokenKind};
use crate::world::Token;

/// Bytes encoded as one byte string rather than one element at a time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Blob, D::Error> {
        struct BlobVisitor;
        impl<'de> Visitor<'de> for BlobVisitor {
            type Value = Blob;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Blob, E> {
                Ok(Blob(v.to_vec()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Blob, E> {
                Ok(Blob(v))
            }
        }
        deserializer.deserialize_byte_buf(BlobVisitor)
    }
}

/// How a grant reaches namespaces, as a number in the table.
const ACCESS_NAMES: [&str; 5] = ["personal_projects", "all_memberships", "selected_memberships", "user", "instance"];

/// One token in the table.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenRow {
    /// Index into [`TokenTable::users`].
    pub user: u32,
    pub expires: Option<Timestamp>,
    pub revoked: bool,
    /// A legacy token's scopes: an index into [`TokenTable::sets`].
    pub legacy: Option<u32>,
    /// How many of [`TokenTable::grants`] are this token's (they follow the
    /// previous token's).
    pub grants: u32,
}

/// One grant of a fine-grained token.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrantRow {
    /// Index into the access names (`personal_projects` … `instance`).
    pub access: u8,
    /// Its assignable permissions: an index into [`TokenTable::sets`].
    pub set: u32,
    /// How many of [`TokenTable::grant_namespaces`] it selects.
    pub namespaces: u32,
}

/// The world's tokens as a bundle carries them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenTable {
    /// Every token's name, end to end.
    pub names: String,
    /// Where each token's name ends in `names`.
    pub name_ends: Vec<u32>,
    /// The tokens' SHA-256 digests, 32 bytes each, in ascending order: the
    /// engine searches them in place.
    pub digests: Blob,
    /// The token id of each digest in `digests`.
    pub by_digest: Vec<u32>,
    /// Token ids ordered by name.
    pub by_name: Vec<u32>,
    pub rows: Vec<TokenRow>,
    pub grants: Vec<GrantRow>,
    /// Indexes into `namespaces`, for each selected-memberships grant in turn.
    pub grant_namespaces: Vec<u32>,
    /// Usernames the tokens name, each once.
    pub users: Vec<String>,
    /// Groups and projects the grants name (as written), each once.
    pub namespaces: Vec<String>,
    /// Permission and scope lists, each once.
    pub sets: Vec<Vec<String>>,
}

/// Gives each distinct value an index, in order of first use.
struct Interner<K> {
    ids: HashMap<K, u32>,
    values: Vec<K>,
}

impl<K: std::hash::Hash + Eq + Clone> Interner<K> {
    fn new() -> Self {
        Interner { ids: HashMap::new(), values: Vec::new() }
    }

    fn id(&mut self, value: &K) -> u32 {
        if let Some(id) = self.ids.get(value) {
            return *id;
        }
        let id = to_u32(self.values.len());
        self.ids.insert(value.clone(), id);
        self.values.push(value.clone());
        id
    }
}

/// A table index; tables beyond 4 billion entries are not representable.
fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn access_code(access: &GrantAccess) -> u8 {
    match access {
        GrantAccess::PersonalProjects => 0,
        GrantAccess::AllMemberships => 1,
        GrantAccess::SelectedMemberships(_) => 2,
        GrantAccess::User => 3,
        GrantAccess::Instance => 4,
    }
}

impl TokenTable {
    /// The table of `tokens`, in their order.
    pub fn from_tokens(tokens: &[Token]) -> TokenTable {
        let (mut users, mut namespaces, mut sets) = (Interner::new(), Interner::new(), Interner::new());
        let mut table = TokenTable::default();
        for token in tokens {
            table.names.push_str(&token.name);
            table.name_ends.push(to_u32(table.names.len()));
            let (legacy, grants) = match &token.kind {
                TokenKind::Legacy(scopes) => (Some(sets.id(scopes)), 0),
                TokenKind::FineGrained(grants) => {
                    for grant in grants {
                        let selected = match &grant.access {
                            GrantAccess::SelectedMemberships(paths) => paths.as_slice(),
                            _ => &[],
                        };
                        for path in selected {
                            table.grant_namespaces.push(namespaces.id(path));
                        }
                        table.grants.push(GrantRow {
                            access: access_code(&grant.access),
                            set: sets.id(&grant.permissions),
                            namespaces: to_u32(selected.len()),
                        });
                    }
                    (None, to_u32(grants.len()))
                }
            };
            let user = users.id(&token.user);
            table.rows.push(TokenRow { user, expires: token.expires, revoked: token.revoked, legacy, grants });
        }
        let mut by_digest: Vec<u32> = (0..to_u32(tokens.len())).collect();
        by_digest.sort_unstable_by_key(|i| tokens[*i as usize].digest);
        let mut by_name = by_digest.clone();
        by_name.sort_unstable_by(|a, b| tokens[*a as usize].name.cmp(&tokens[*b as usize].name));
        for id in &by_digest {
            table.digests.0.extend_from_slice(&tokens[*id as usize].digest);
        }
        table.by_digest = by_digest;
        table.by_name = by_name;
        table.users = users.values;
        table.namespaces = namespaces.values;
        table.sets = sets.values;
        table
    }

    /// How many tokens.
    pub fn count(&self) -> usize {
        self.rows.len()
    }

    /// Token `i`'s name range in `names` (after [`TokenTable::check_shape`]).
    pub fn name_range(&self, i: usize) -> (u32, u32) {
        (if i == 0 { 0 } else { self.name_ends[i - 1] }, self.name_ends[i])
    }

    /// The `k`th digest in ascending order (after [`TokenTable::check_shape`]).
    pub fn sorted_digest(&self, k: usize) -> &[u8] {
        &self.digests.0[k * 32..k * 32 + 32]
    }

    /// Checks that every length and index agrees, so that reading the table
    /// afterwards cannot go out of bounds.
    pub fn check_shape(&self) -> Result<(), String> {
        let n = self.rows.len();
        let bad = |what: &str| Err(format!("bundle token table: {what}"));
        if self.name_ends.len() != n || self.digests.0.len() != n * 32 {
            return bad("the name or digest column does not have one entry per token");
        }
        let mut start = 0;
        for end in &self.name_ends {
            let end = *end as usize;
            if end < start || end > self.names.len() || !self.names.is_char_boundary(end) {
                return bad("a name ends outside the names");
            }
            start = end;
        }
        for index in [&self.by_digest, &self.by_name] {
            let mut seen = vec![false; n];
            let once = |i: &u32| seen.get_mut(*i as usize).is_some_and(|s| !std::mem::replace(s, true));
            if index.len() != n || !index.iter().all(once) {
                return bad("an index does not list every token once");
            }
        }
        let mut grants = 0usize;
        for row in &self.rows {
            grants += row.grants as usize;
            let set_ok = row.legacy.is_none_or(|s| (s as usize) < self.sets.len());
            if (row.user as usize) >= self.users.len() || !set_ok || (row.legacy.is_some() && row.grants != 0) {
                return bad("a token refers to a user or scope list the table does not have");
            }
        }
        if grants != self.grants.len() {
            return bad("the grant counts do not add up");
        }
        let mut selected = 0usize;
        for grant in &self.grants {
            selected += grant.namespaces as usize;
            let access_ok = usize::from(grant.access) < ACCESS_NAMES.len();
            if !access_ok || (grant.set as usize) >= self.sets.len() || (grant.access != 2 && grant.namespaces != 0) {
                return bad("a grant has an unknown access or permission list");
            }
        }
        if selected != self.grant_namespaces.len()
            || self.grant_namespaces.iter().any(|ns| *ns as usize >= self.namespaces.len())
        {
            return bad("the selected namespaces do not add up");
        }
        Ok(())
    }

    /// The tokens again, as a world lists them.
    pub fn to_tokens(&self) -> Result<Vec<Token>, String> {
        self.check_shape()?;
        let (mut grant, mut selected) = (0usize, 0usize);
        let mut digests = vec![[0u8; 32]; self.count()];
        for (k, id) in self.by_digest.iter().enumerate() {
            digests[*id as usize].copy_from_slice(self.sorted_digest(k));
        }
        let mut tokens = Vec::with_capacity(self.count());
        for (i, row) in self.rows.iter().enumerate() {
            let kind = match row.legacy {
                Some(set) => TokenKind::Legacy(self.sets[set as usize].clone()),
                None => {
                    let rows = &self.grants[grant..grant + row.grants as usize];
                    grant += rows.len();
                    let grants = rows
                        .iter()
                        .map(|g| {
                            let paths = &self.grant_namespaces[selected..selected + g.namespaces as usize];
                            selected += paths.len();
                            let paths = paths.iter().map(|p| self.namespaces[*p as usize].clone()).collect();
                            Grant { access: access_of(g.access, paths), permissions: self.sets[g.set as usize].clone() }
                        })
                        .collect();
                    TokenKind::FineGrained(grants)
                }
            };
            let (start, end) = self.name_range(i);
            tokens.push(Token {
                name: self.names[start as usize..end as usize].to_owned(),
                user: self.users[row.user as usize].clone(),
                digest: digests[i],
                kind,
                expires: row.expires,
                revoked: row.revoked,
            });
        }
        Ok(tokens)
    }
}

/// The access of code `code` (checked by `check_shape`), with its selected paths.
pub fn access_of(code: u8, paths: Vec<String>) -> GrantAccess {
    match code {
        0 => GrantAccess::PersonalProjects,
        1 => GrantAccess::AllMemberships,
        2 => GrantAccess::SelectedMemberships(paths),
        3 => GrantAccess::User,
        _ => GrantAccess::Instance,
    }
}

/// A token's name: a slice of the one string all names share, turned into a
/// `String` only when someone asks.
#[derive(Clone)]
pub struct TokenName {
    names: Arc<str>,
    start: u32,
    end: u32,
}

impl TokenName {
    /// The name `names[start..end]` (a range `check_shape` accepted).
    pub fn new(names: &Arc<str>, (start, end): (u32, u32)) -> TokenName {
        TokenName { names: Arc::clone(names), start, end }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        self.names.get(self.start as usize..self.end as usize).unwrap_or_default()
    }
}

impl fmt::Debug for TokenName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for TokenName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Token ids by digest: the table's sorted digests, searched in place by
/// bisection.
#[derive(Default)]
pub struct DigestIndex {
    /// Ascending, 32 bytes each.
    digests: Vec<u8>,
    /// The token id of each digest.
    ids: Vec<usize>,
}

impl DigestIndex {
    /// The index over digests whose ascending order has been checked.
    pub fn new(digests: Vec<u8>, ids: Vec<usize>) -> DigestIndex {
        DigestIndex { digests, ids }
    }

    /// The token with this digest. Each step compares the first eight bytes
    /// as one number, and the whole digest only when they are equal.
    pub fn get(&self, digest: &[u8; 32]) -> Option<&usize> {
        let key = prefix(digest);
        let (mut low, mut high) = (0, self.ids.len());
        while low < high {
            let mid = low + (high - low) / 2;
            let entry = &self.digests[mid * 32..mid * 32 + 32];
            match prefix(entry).cmp(&key).then_with(|| entry.cmp(digest.as_slice())) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return self.ids.get(mid),
            }
        }
        None
    }

    /// Every token's digest, in token order.
    pub fn digests(&self) -> Vec<[u8; 32]> {
        let mut out = vec![[0; 32]; self.ids.len()];
        for (k, id) in self.ids.iter().enumerate() {
            out[*id].copy_from_slice(&self.digests[k * 32..k * 32 + 32]);
        }
        out
    }
}

/// Token ids by name: a sorted array searched by bisection. Each entry keeps
/// the first eight bytes of its name as a number, so most steps compare two
/// integers instead of two strings.
#[derive(Default)]
pub struct NameIndex {
    names: Arc<str>,
    /// `(start, end, id)`, ordered by the name `names[start..end]`.
    entries: Vec<(u32, u32, usize)>,
    /// [`prefix`] of each entry's name, in the same order (ascending, as a
    /// name's prefix never decreases when the name grows in byte order).
    prefixes: Vec<u64>,
}

/// The first eight bytes of `name`, big-endian, zero-padded: comparing two of
/// them agrees with comparing the names, except that equal prefixes say nothing.
fn prefix(name: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let n = name.len().min(8);
    bytes[..n].copy_from_slice(&name[..n]);
    u64::from_be_bytes(bytes)
}

impl NameIndex {
    /// The index of a table whose `by_name` order has been checked.
    pub fn new(names: Arc<str>, entries: Vec<(u32, u32, usize)>) -> NameIndex {
        let mut index = NameIndex { names, entries, prefixes: Vec::new() };
        index.prefixes = index.entries.iter().map(|e| prefix(index.name(e).as_bytes())).collect();
        index
    }

    fn name(&self, (start, end, _): &(u32, u32, usize)) -> &str {
        self.names.get(*start as usize..*end as usize).unwrap_or_default()
    }

    /// The token with this name.
    pub fn get(&self, name: &str) -> Option<&usize> {
        let key = prefix(name.as_bytes());
        let (mut low, mut high) = (0, self.entries.len());
        while low < high {
            let mid = low + (high - low) / 2;
            let order = self.prefixes[mid].cmp(&key).then_with(|| self.name(&self.entries[mid]).cmp(name));
            match order {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Some(&self.entries[mid].2),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(name: &str, digest: u8, kind: TokenKind) -> Token {
        Token { name: name.into(), user: "alice".into(), digest: [digest; 32], kind, expires: Some(9), revoked: false }
    }

    fn tokens() -> Vec<Token> {
        let read = vec!["read_branch".to_owned()];
        let grant = |access| Grant { access, permissions: read.clone() };
        vec![
            token("b", 3, TokenKind::FineGrained(vec![grant(GrantAccess::SelectedMemberships(vec!["acme".into()]))])),
            token("a", 1, TokenKind::Legacy(vec!["api".into()])),
            token("c", 2, TokenKind::FineGrained(vec![grant(GrantAccess::User), grant(GrantAccess::Instance)])),
        ]
    }

    #[test]
    fn the_table_round_trips_and_shares_what_repeats() {
        let table = TokenTable::from_tokens(&tokens());
        assert_eq!(table.to_tokens().unwrap(), tokens());
        assert_eq!(table.sets.len(), 2, "one permission list, one scope list");
        assert_eq!(table.users, ["alice"]);
        assert_eq!(table.by_digest, [1, 2, 0]);
        assert_eq!(table.by_name, [1, 0, 2]);
    }

    #[test]
    fn a_table_that_does_not_add_up_is_refused() {
        let mut table = TokenTable::from_tokens(&tokens());
        table.grants.pop();
        assert!(table.check_shape().unwrap_err().contains("grant counts"));
        let mut table = TokenTable::from_tokens(&tokens());
        table.by_name[0] = 7;
        assert!(table.to_tokens().unwrap_err().contains("index"));
        let mut table = TokenTable::from_tokens(&tokens());
        table.name_ends[2] = 99;
        assert!(table.check_shape().is_err());
    }

    #[test]
    fn indexes_find_by_bisection() {
        let names: Arc<str> = Arc::from("abc");
        let index = NameIndex::new(names.clone(), vec![(0, 1, 1), (1, 2, 0), (2, 3, 2)]);
        assert_eq!(index.get("b"), Some(&0));
        assert_eq!(index.get("d"), None);
        assert_eq!(TokenName::new(&names, (1, 3)).to_string(), "bc");
        let digests = DigestIndex::new([[1u8; 32], [2; 32]].concat(), vec![1, 0]);
        assert_eq!(digests.get(&[2; 32]), Some(&0));
        assert_eq!(digests.get(&[3; 32]), None);
        assert_eq!(digests.digests(), [[2; 32], [1; 32]]);
    }

    #[test]
    fn names_that_share_their_first_eight_bytes_are_found_by_the_whole_name() {
        let mut all =
            vec!["a", "ab", "ab\0", "ab\0x", "abcdefgh", "abcdefgh-1", "abcdefgh-2", "abcdefghi", "b", "tok13332"];
        all.sort_unstable();
        let names: Arc<str> = all.concat().into();
        let mut start = 0;
        let entries = all
            .iter()
            .enumerate()
            .map(|(id, n)| {
                start += n.len();
                ((start - n.len()) as u32, start as u32, id)
            })
            .collect();
        let index = NameIndex::new(names, entries);
        for (id, name) in all.iter().enumerate() {
            assert_eq!(index.get(name), Some(&id), "{name:?}");
        }
        for missing in ["", "abc", "abcdefgh-3", "abcdefg", "tok1333", "zz"] {
            assert_eq!(index.get(missing), None, "{missing:?}");
        }
    }
}
