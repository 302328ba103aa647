//! JSON that refuses an object key given twice. Ruby's parser keeps the last
//! of two equal keys and other readers keep the first; an authorization check
//! must not pick one, so a duplicated key is an error (at any depth).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value as Json};

/// A JSON value built with duplicate-key detection.
struct Strict(Json);

impl<'de> de::Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Strict, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
        Ok(Strict(Json::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
        Ok(Strict(Json::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
        Ok(Strict(Json::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Strict, E> {
        Ok(Strict(Json::from(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
        Ok(Strict(Json::String(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Strict, E> {
        Ok(Strict(Json::String(v)))
    }
    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict(Json::Null))
    }
    fn visit_none<E>(self) -> Result<Strict, E> {
        Ok(Strict(Json::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Strict(Json::Array(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if out.contains_key(&key) {
                // The key is not quoted: it could be a secret pasted in the wrong place.
                return Err(de::Error::custom("an object key is given twice"));
            }
            out.insert(key, value);
        }
        Ok(Strict(Json::Object(out)))
    }
}

/// Parses JSON text, refusing duplicated keys.
pub fn parse(text: &str) -> Result<Json, String> {
    serde_json::from_str::<Strict>(text).map(|s| s.0).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicated_keys_are_refused_at_any_depth() {
        assert!(parse(r#"{"query":"a","query":"b"}"#).unwrap_err().contains("an object key is given twice"));
        assert!(parse(r#"{"v":{"x":1,"x":2}}"#).is_err());
        assert!(parse(r#"[{"a":1},{"a":1}]"#).is_ok());
        assert_eq!(parse(r#"{"a":[1,2.5,null,true,"s"]}"#).unwrap(), serde_json::json!({"a":[1,2.5,null,true,"s"]}));
    }
}
