//! JSON that refuses an object key given twice, and that counts as it reads.
//! Ruby's parser keeps the last of two equal keys and other readers keep the
//! first; an authorization check must not pick one, so a duplicated key is an
//! error (at any depth). The values and the nesting are counted while the text
//! is read, so a document over its [`Limits`] is refused before the rest of it
//! is built (a 26,000-key object is never made).

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value as Json};

/// Bounds on a JSON document, checked while it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most values it may hold: every scalar, array and object counts one
    /// (so do the members of arrays and objects, being values).
    pub values: usize,
    /// How deeply arrays and objects may nest.
    pub depth: usize,
}

/// The limits of any JSON request body that is not a GraphQL request (those
/// have their own, `graphql::JSON_LIMITS`): far above what a REST body of
/// GitLab's carries, and a bound on the work of reading 256 KiB of `[0,0,…]`.
pub const BODY_LIMITS: Limits = Limits { values: 100_000, depth: 64 };

/// What a document has used of its limits so far.
struct Budget {
    limits: Limits,
    values: Cell<usize>,
    depth: Cell<usize>,
}

impl Budget {
    fn count<E: de::Error>(&self) -> Result<(), E> {
        let values = self.values.get() + 1;
        if values > self.limits.values {
            return Err(E::custom(format_args!("holds more than {} values", self.limits.values)));
        }
        self.values.set(values);
        Ok(())
    }

    fn enter<E: de::Error>(&self) -> Result<(), E> {
        let depth = self.depth.get() + 1;
        if depth > self.limits.depth {
            return Err(E::custom(format_args!("nests deeper than {} levels", self.limits.depth)));
        }
        self.depth.set(depth);
        Ok(())
    }

    fn leave(&self) {
        self.depth.set(self.depth.get().saturating_sub(1));
    }
}

/// Reads one value, counting it against the budget.
struct Strict<'b>(&'b Budget);

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Json;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json, E> {
        self.0.count()?;
        Ok(Json::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json, E> {
        self.0.count()?;
        Ok(Json::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json, E> {
        self.0.count()?;
        Ok(Json::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        self.0.count()?;
        Ok(Json::from(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json, E> {
        self.0.count()?;
        Ok(Json::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Json, E> {
        self.0.count()?;
        Ok(Json::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        self.0.count()?;
        Ok(Json::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Json, E> {
        self.visit_unit()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        self.0.count()?;
        self.0.enter()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Strict(self.0))? {
            items.push(item);
        }
        self.0.leave();
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        self.0.count()?;
        self.0.enter()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                // The key is not quoted: it could be a secret pasted in the wrong place.
                return Err(de::Error::custom("an object key is given twice"));
            }
            let value = map.next_value_seed(Strict(self.0))?;
            out.insert(key, value);
        }
        self.0.leave();
        Ok(Json::Object(out))
    }
}

/// Parses JSON text, refusing duplicated keys and stopping at the first value
/// or level over `limits`.
pub fn parse_within(text: &str, limits: Limits) -> Result<Json, String> {
    let budget = Budget { limits, values: Cell::new(0), depth: Cell::new(0) };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = Strict(&budget).deserialize(&mut deserializer).map_err(|e| e.to_string())?;
    deserializer.end().map_err(|e| e.to_string())?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Json, String> {
        parse_within(text, BODY_LIMITS)
    }

    #[test]
    fn duplicated_keys_are_refused_at_any_depth() {
        assert!(parse(r#"{"query":"a","query":"b"}"#).unwrap_err().contains("an object key is given twice"));
        assert!(parse(r#"{"v":{"x":1,"x":2}}"#).is_err());
        assert!(parse(r#"[{"a":1},{"a":1}]"#).is_ok());
        assert_eq!(parse(r#"{"a":[1,2.5,null,true,"s"]}"#).unwrap(), serde_json::json!({"a":[1,2.5,null,true,"s"]}));
        assert!(parse(r#"{"a":1} x"#).is_err(), "trailing text");
    }

    #[test]
    fn values_and_depth_are_counted_while_reading() {
        let limits = Limits { values: 5, depth: 2 };
        assert!(parse_within(r#"{"a":[1,2],"b":3}"#, limits).is_ok());
        assert!(parse_within(r#"{"a":[1,2],"b":{}}"#, limits).is_ok());
        assert!(parse_within(r#"{"a":[1,2,3],"b":4}"#, limits).unwrap_err().starts_with("holds more than 5 values"));
        assert!(parse_within(r#"[[[1]]]"#, limits).unwrap_err().starts_with("nests deeper than 2 levels"));
        assert!(parse_within(r#"[[1],[2]]"#, limits).is_ok(), "depth is the nesting, not the total");
        assert!(parse_within(r#"[{"a":1}]"#, limits).is_ok());
        assert!(parse_within(r#"[{"a":{}}]"#, limits).unwrap_err().starts_with("nests deeper than 2 levels"));
        // The error comes at the first value over the limit, wherever the document ends.
        let huge = format!("[{}]", vec!["0"; 100_000].join(","));
        let error = parse_within(&huge, limits).unwrap_err();
        let column: usize = error.rsplit(' ').next().and_then(|c| c.parse().ok()).unwrap_or(usize::MAX);
        assert!(error.starts_with("holds more than 5 values at line 1 column ") && column < 12, "{error}");
    }
}
