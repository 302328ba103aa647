//! The finegrain permission catalog.
//!
//! The catalog is data: which raw permissions exist and who holds them, which
//! assignable permissions a token may select and what they expand to, which REST
//! endpoint needs which permissions at which boundary, the custom-role abilities,
//! and the legacy token scopes. The data lives in `catalog/data/*.tsv`, generated
//! from GitLab's public reference by `catalog/generate.py`; this crate gives it
//! types, loads it and checks that every name in it resolves.
//!
//! The engine never reads these files: the host compiles the catalog into the
//! policy bundle, so a new catalog ships like new policy data.

pub mod docs;
mod load;
mod model;

pub use load::CatalogError;
pub use model::*;

/// The data files compiled into this crate, by file name.
const BUILTIN_FILES: [(&str, &str); 8] = [
    ("permissions.tsv", include_str!("../data/permissions.tsv")),
    ("assignable.tsv", include_str!("../data/assignable.tsv")),
    ("endpoints.tsv", include_str!("../data/endpoints.tsv")),
    ("abilities.tsv", include_str!("../data/abilities.tsv")),
    ("ability_aliases.tsv", include_str!("../data/ability_aliases.tsv")),
    ("legacy_scopes.tsv", include_str!("../data/legacy_scopes.tsv")),
    ("graphql.tsv", include_str!("../data/graphql.tsv")),
    ("graphql_types.tsv", include_str!("../data/graphql_types.tsv")),
];

impl Catalog {
    /// The catalog shipped with this build of finegrain.
    pub fn builtin() -> Result<Catalog, CatalogError> {
        Catalog::from_sources(|file| {
            BUILTIN_FILES
                .iter()
                .find(|(name, _)| *name == file)
                .map(|(_, text)| (*text).to_owned())
                .ok_or_else(|| CatalogError::new(format!("catalog/data/{file}"), 0, "file missing"))
        })
    }

    /// Loads the catalog from a directory holding the eight data files.
    pub fn from_dir(dir: &std::path::Path) -> Result<Catalog, CatalogError> {
        Catalog::from_sources(|file| {
            let path = dir.join(file);
            std::fs::read_to_string(&path)
                .map_err(|err| CatalogError::new(path.display().to_string(), 0, err.to_string()))
        })
    }
}
