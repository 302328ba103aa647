//! What a component says about itself: its name (`component-name` section),
//! its producers, and the OCI-style annotation sections host/build.rs adds
//! (`version`, `licenses`, `description`, `source`, `homepage`), all read from
//! the outermost component only, never from the modules inside it.

use anyhow::{Result, anyhow};
use wasmparser::{ComponentName, KnownCustom, Parser, Payload};

/// The annotation sections shown by `finegrain component`, in order.
pub const ANNOTATIONS: [&str; 5] = ["version", "licenses", "description", "source", "homepage"];

/// A component's identity.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Identity {
    pub name: Option<String>,
    /// `(annotation, value)` for each annotation present, in [`ANNOTATIONS`] order.
    pub annotations: Vec<(&'static str, String)>,
    /// `field: name version` for each entry of the producers section.
    pub producers: Vec<String>,
}

/// Reads the identity of a component.
pub fn identity(bytes: &[u8]) -> Result<Identity> {
    let bad = |e: wasmparser::BinaryReaderError| anyhow!("not a valid component: {e}");
    let mut identity = Identity::default();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let section = match payload.map_err(bad)? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => {
                depth += 1;
                continue;
            }
            Payload::End(_) => {
                depth = depth.saturating_sub(1);
                continue;
            }
            Payload::CustomSection(section) if depth == 0 => section,
            _ => continue,
        };
        match section.as_known() {
            KnownCustom::ComponentName(names) => {
                for name in names {
                    if let ComponentName::Component { name, .. } = name.map_err(bad)? {
                        identity.name = Some(name.to_owned());
                    }
                }
            }
            KnownCustom::Producers(fields) => {
                for field in fields {
                    let field = field.map_err(bad)?;
                    for value in field.values {
                        let value = value.map_err(bad)?;
                        identity.producers.push(format!("{}: {} {}", field.name, value.name, value.version));
                    }
                }
            }
            _ => {
                if let Some(name) = ANNOTATIONS.iter().find(|n| **n == section.name()) {
                    let text = String::from_utf8_lossy(section.data()).into_owned();
                    identity.annotations.retain(|(n, _)| n != name);
                    identity.annotations.push((name, text));
                }
            }
        }
    }
    identity.annotations.sort_by_key(|(name, _)| ANNOTATIONS.iter().position(|n| n == name));
    Ok(identity)
}
