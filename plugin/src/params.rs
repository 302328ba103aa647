//! Request parameters as Rack reads them (`Rack::QueryParser`), for the query
//! string and for form-encoded bodies.
//!
//! The rules followed, each with a test below that names it:
//! - pairs are separated by `&`; Rack 2 (which GitLab has long run) also splits
//!   on `;`, Rack 3 does not, so a parameter the engine cares about that only
//!   a `;` split reveals is ambiguous and refused;
//! - `+` is a space, then `%XX` escapes are decoded, in keys as in values; a bad
//!   escape is a 400 in Rack and malformed here;
//! - a key's name is what comes before its first `[`: `a[]` appends to a list,
//!   `a[b]` builds a hash, `a[][b]` a list of hashes; Rack 2 also drops leading
//!   brackets (`[a]` is `a`), Rack 3 does not, so such keys are ambiguous;
//! - a plain key given twice keeps the last value in Rack; the engine refuses a
//!   parameter it reads that is given twice.
//!
//! Errors never quote a value: a value may be a secret.

use serde_json::{Map, Value as Json};

/// Why parameters could not be read as GitLab reads them.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    /// GitLab would refuse the request (a 400) or the engine cannot read it.
    Malformed(String),
    /// GitLab's reading depends on its version or on an order the engine does
    /// not want to guess.
    Ambiguous(String),
}

/// The most parameters one query string or form body may hold (Rack's own
/// default limit is 4096 per level).
pub const MAX_PARAMS: usize = 1024;

/// One decoded `key=value` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// The decoded key, brackets included (`a[b]`).
    pub key: String,
    /// The decoded value; `None` for a bare key without `=`.
    pub value: Option<String>,
    /// Only Rack 2's `;` separator splits this pair from the one before it.
    pub after_semicolon: bool,
}

impl Pair {
    /// The parameter name as Rack 2 reads it: leading brackets dropped, up to
    /// the first `[` or `]`.
    pub fn name(&self) -> &str {
        rack_name(&self.key)
    }

    /// Whether the key is a plain name, without brackets.
    pub fn is_plain(&self) -> bool {
        !self.key.contains(['[', ']'])
    }
}

/// The name Rack 2 files a key under.
pub fn rack_name(key: &str) -> &str {
    let trimmed = key.trim_start_matches(['[', ']']);
    let end = trimmed.find(['[', ']']).unwrap_or(trimmed.len());
    &trimmed[..end]
}

/// Decodes one form component: `+` is a space, `%XX` an escaped byte. The
/// result must be UTF-8 without control characters (GitLab's
/// `HandleMalformedStrings` refuses the rest).
pub fn form_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok())?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    let decoded = String::from_utf8(out).ok()?;
    (!decoded.chars().any(char::is_control)).then_some(decoded)
}

/// Splits and decodes a query string: Rack splits it on `&` and on `;`.
/// `what` names it in errors ("the query string").
pub fn parse_pairs(text: &str, what: &str) -> Result<Vec<Pair>, ReadError> {
    split_pairs(text, what, true)
}

/// Splits and decodes a form body: Rack splits it on `&` only, so a `;` is part
/// of the value (`_method=PUT;` names no method).
pub fn parse_form(text: &str, what: &str) -> Result<Vec<Pair>, ReadError> {
    split_pairs(text, what, false)
}

fn split_pairs(text: &str, what: &str, semicolons: bool) -> Result<Vec<Pair>, ReadError> {
    let mut pairs = Vec::new();
    for amp_piece in text.split('&') {
        let pieces = if semicolons { amp_piece.split(';').collect() } else { vec![amp_piece] };
        for (i, piece) in pieces.into_iter().enumerate() {
            if piece.is_empty() {
                continue;
            }
            if pairs.len() == MAX_PARAMS {
                return Err(ReadError::Malformed(format!("{what} has more than {MAX_PARAMS} parameters")));
            }
            let number = pairs.len() + 1;
            let bad =
                || ReadError::Malformed(format!("parameter {number} of {what} is not valid percent-encoded UTF-8"));
            let (key, value) = match piece.split_once('=') {
                Some((k, v)) => (form_decode(k).ok_or_else(bad)?, Some(form_decode(v).ok_or_else(bad)?)),
                None => (form_decode(piece).ok_or_else(bad)?, None),
            };
            pairs.push(Pair { key, value, after_semicolon: i > 0 });
        }
    }
    Ok(pairs)
}

/// The pairs filed under `name`, refusing the spellings Rack versions read
/// differently (a `;` split, leading brackets).
pub fn named<'p>(pairs: &'p [Pair], name: &str, what: &str) -> Result<Vec<&'p Pair>, ReadError> {
    let found: Vec<&Pair> = pairs.iter().filter(|p| p.name() == name).collect();
    for pair in &found {
        if pair.after_semicolon {
            return Err(ReadError::Ambiguous(format!(
                "{what} carries {name} after a `;`, which Rack 2 reads as a separator and Rack 3 does not"
            )));
        }
        if pair.key.starts_with(['[', ']']) {
            return Err(ReadError::Ambiguous(format!(
                "{what} spells {name} with leading brackets, which Rack 2 drops and Rack 3 keeps"
            )));
        }
    }
    Ok(found)
}

/// The single plain value of `name`: `None` when absent; refused when given
/// twice or as a list or hash.
pub fn single<'p>(pairs: &'p [Pair], name: &str, what: &str) -> Result<Option<&'p str>, ReadError> {
    let found = named(pairs, name, what)?;
    let Some(last) = found.last() else { return Ok(None) };
    if found.iter().any(|p| !p.is_plain()) {
        return Err(ReadError::Ambiguous(format!("{what} gives {name} as a list or hash")));
    }
    // Rack keeps the last value; the same value twice leaves nothing to choose.
    if found.iter().any(|p| p.value != last.value) {
        return Err(ReadError::Ambiguous(format!("{what} gives {name} more than once, with different values")));
    }
    Ok(Some(last.value.as_deref().unwrap_or("")))
}

/// The parameters filed under `name`, nested as Rack nests them (`a[]`,
/// `a[b]`, `a[][b]`), as JSON: strings, lists and objects. Refuses a value
/// given twice and the key shapes Rack versions read differently.
pub fn nested(pairs: &[Pair], name: &str, what: &str) -> Result<Option<Json>, ReadError> {
    let found = named(pairs, name, what)?;
    let mut root: Option<Json> = None;
    for pair in found {
        let value = Json::String(pair.value.clone().unwrap_or_default());
        let rest = &pair.key[name.len()..];
        let path = bracket_path(rest).ok_or_else(|| {
            ReadError::Ambiguous(format!("{what} has a key for {name} that Rack versions read differently"))
        })?;
        insert(&mut root, &path, value).map_err(|why| {
            let message = format!("{what}: parameter {name}: {why}");
            // Rack keeps the last of two values: a choice the engine does not make.
            if why == GIVEN_TWICE { ReadError::Ambiguous(message) } else { ReadError::Malformed(message) }
        })?;
    }
    Ok(root)
}

const GIVEN_TWICE: &str = "given more than once";

/// One step of a nested key.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// `[]`
    Push,
    /// `[key]`
    Key(String),
}

/// `[a][b]`, `[]` or `[][b]` as steps; `None` for any other shape (Rack
/// versions read deeper list shapes differently).
fn bracket_path(mut rest: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let end = inner.find(']')?;
        let key = &inner[..end];
        if key.contains('[') {
            return None;
        }
        steps.push(if key.is_empty() { Step::Push } else { Step::Key(key.to_owned()) });
        rest = &inner[end + 1..];
    }
    let lists = steps.iter().filter(|s| **s == Step::Push).count();
    let plain_list = matches!(steps.as_slice(), [Step::Push] | [Step::Push, Step::Key(_)]);
    (lists == 0 || plain_list).then_some(steps)
}

/// Places one value at `path` under `slot`, as Rack does.
fn insert(slot: &mut Option<Json>, path: &[Step], value: Json) -> Result<(), String> {
    match path {
        [] if slot.is_none() => {
            *slot = Some(value);
            Ok(())
        }
        [] => Err(GIVEN_TWICE.into()),
        [Step::Push, rest @ ..] => {
            let Json::Array(items) = slot.get_or_insert_with(|| Json::Array(Vec::new())) else {
                return Err("is both a list and something else".into());
            };
            match rest {
                [] => items.push(value),
                // `a[][b]=1&a[][c]=2` fills the last hash until one of its keys repeats.
                [Step::Key(key)] => match items.last_mut() {
                    Some(Json::Object(last)) if !last.contains_key(key) => {
                        last.insert(key.clone(), value);
                    }
                    _ => items.push(Json::Object(Map::from_iter([(key.clone(), value)]))),
                },
                _ => return Err("has a list shape Rack versions read differently".into()),
            }
            Ok(())
        }
        [Step::Key(key), rest @ ..] => {
            let Json::Object(map) = slot.get_or_insert_with(|| Json::Object(Map::new())) else {
                return Err("is both a hash and something else".into());
            };
            let mut cell = map.remove(key);
            let result = insert(&mut cell, rest, value);
            if let Some(cell) = cell {
                map.insert(key.clone(), cell);
            }
            result
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<Pair> {
        parse_pairs(text, "the query string").unwrap()
    }

    #[test]
    fn rack_splits_on_ampersand_and_rack2_also_on_semicolon() {
        let p = pairs("a=1&b=2;c=3");
        assert_eq!(p.iter().map(|p| p.key.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(!p[1].after_semicolon && p[2].after_semicolon);
        let err = single(&p, "c", "the query string").unwrap_err();
        assert!(matches!(err, ReadError::Ambiguous(m) if m.contains("after a `;`")));
    }

    #[test]
    fn rack_decodes_plus_as_space_and_percent_escapes_in_keys_and_values() {
        let p = pairs("private%5Ftoken=a+b%2Bc&x");
        assert_eq!(p[0].key, "private_token");
        assert_eq!(p[0].value.as_deref(), Some("a b+c"));
        assert_eq!(p[1].value, None);
    }

    #[test]
    fn rack_refuses_bad_escapes_and_errors_never_quote_the_value() {
        for text in ["private_token=glpat-%zz", "private_token=glpat-%", "private_token=glpat-%FF", "t=glpat-%0A"] {
            let err = parse_pairs(text, "the query string").unwrap_err();
            let ReadError::Malformed(message) = err else { panic!("{text}") };
            assert!(!message.contains("glpat"), "{message}");
        }
    }

    #[test]
    fn rack_keeps_the_last_of_two_plain_values_so_the_engine_refuses_both() {
        let p = pairs("query=a&query=b");
        assert!(matches!(single(&p, "query", "q"), Err(ReadError::Ambiguous(m)) if m.contains("more than once")));
        assert_eq!(single(&pairs("query=a"), "query", "q"), Ok(Some("a")));
        assert_eq!(single(&pairs("query=a&query=a"), "query", "q"), Ok(Some("a")));
    }

    #[test]
    fn rack2_drops_leading_brackets_rack3_keeps_them() {
        let p = pairs("[private_token]=x");
        assert_eq!(p[0].name(), "private_token");
        assert!(matches!(named(&p, "private_token", "q"), Err(ReadError::Ambiguous(_))));
    }

    #[test]
    fn rack_nests_lists_hashes_and_lists_of_hashes() {
        let p = pairs("_json[][query]=a&_json[][operationName]=A&_json[][query]=b&v[x][y]=1&l[]=1&l[]=2");
        assert_eq!(
            nested(&p, "_json", "q").unwrap().unwrap(),
            serde_json::json!([{"query": "a", "operationName": "A"}, {"query": "b"}])
        );
        assert_eq!(nested(&p, "v", "q").unwrap().unwrap(), serde_json::json!({"x": {"y": "1"}}));
        assert_eq!(nested(&p, "l", "q").unwrap().unwrap(), serde_json::json!(["1", "2"]));
        assert_eq!(nested(&p, "absent", "q").unwrap(), None);
        let clash = pairs("v[x]=1&v[]=2");
        assert!(matches!(nested(&clash, "v", "q"), Err(ReadError::Malformed(_))));
        let twice = pairs("v[x]=1&v[x]=2");
        assert!(matches!(nested(&twice, "v", "q"), Err(ReadError::Ambiguous(m)) if m.contains("more than once")));
    }
}
