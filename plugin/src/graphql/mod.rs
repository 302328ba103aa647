//! GraphQL requests (`POST /api/graphql`): which top-level fields a request asks for.
//!
//! A GraphQL request is authorized field by field: every field at the root of the
//! executed operation (`project`, `createIssue`, …) is one thing the token must be
//! allowed to do, and the argument that names its target (`fullPath`,
//! `input.projectPath`, a global id) tells where; the fields selected below each
//! root field are authorized too, by the type they are selected on. [`root_fields`]
//! turns a request body into that list, each root field with its selection tree;
//! it knows nothing about the engine, the catalog or the schema, and the mapping of
//! fields to permissions lives elsewhere.
//!
//! What it does, conservatively (an authorization check must never see less than
//! the server will execute):
//! - the body is a JSON object `{"query", "variables", "operationName"}` or a JSON
//!   array of them (a multiplexed batch: the fields of every entry are returned);
//!   `variables` may also be a JSON string holding an object, as GitLab accepts;
//! - the operation is chosen by `operationName`, which is required when the document
//!   holds several operations;
//! - fragment spreads and inline fragments are expanded, at the root and below,
//!   recursively, with cycle detection and a nesting limit (a type condition is
//!   not used: the fields are read as fields of the enclosing type);
//! - `@include` / `@skip` are ignored: a field that might be skipped is still returned;
//! - arguments are resolved against the variables (and the operation's declared
//!   defaults) and flattened to dotted keys, so `createIssue(input: $input)` with
//!   `{"input": {"projectPath": "a/b"}}` answers `input.projectPath` = `a/b`;
//! - identical fields (same name, alias and arguments) are returned once, with
//!   their selections put together;
//! - anything ambiguous (an argument given twice, two fragments of one name, an
//!   argument path reachable two ways) is an error, never a guess.
//!
//! Below the root, the selection tree is kept (field names and which fields have
//! a selection set of their own), so that the engine can authorize every field
//! that returns an object, not only the root ones.
//!
//! Limits, as a defence against hostile input, all checked while reading and
//! before any field is decided; every violation is an error: [`MAX_BODY_BYTES`],
//! [`MAX_QUERY_BYTES`], [`MAX_BATCH_ENTRIES`], [`MAX_ROOT_FIELDS`],
//! [`MAX_FRAGMENT_DEPTH`], [`MAX_PARSER_DEPTH`], [`MAX_FIELD_DEPTH`],
//! [`MAX_SELECTIONS`], [`MAX_ALIASES`], [`MAX_VARIABLE_VALUES`] and
//! [`MAX_ARGUMENT_VALUES`]. The work of one request is linear in these bounds: a
//! variable is counted once when read and once per use, never copied unboundedly.
//!
//! **Parser.** `apollo-parser` (0.8), chosen over `graphql-parser` and
//! `async-graphql-parser` because: it is maintained by Apollo for their router, which
//! faces untrusted documents, and so has a configurable recursion limit (the other
//! two recurse without bound, so a deeply nested document can overflow the small
//! wasm stack); it is a hand-written recursive-descent parser whose dependencies
//! (`rowan`, `memchr`, `thiserror`) are plain `std` code with no OS features, so it
//! builds for `wasm32-unknown-unknown` as is; and it stays small in the component,
//! where `graphql-parser`'s `combine` combinators monomorphise into a lot of code and
//! `async-graphql-parser` brings `pest` with its generated grammar plus
//! `async-graphql-value`. It reports every syntax error with a byte offset, which
//! [`GraphqlError::Syntax`] turns into a line and column.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use apollo_parser::Parser;
use apollo_parser::cst;
use serde_json::{Map, Value as Json};

use crate::strict_json;

/// The largest request body accepted, in bytes (256 KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// The largest GraphQL document (`query`) accepted, in bytes (64 KiB).
pub const MAX_QUERY_BYTES: usize = 64 * 1024;
/// The most entries a batch (a JSON array of requests) may hold; GitLab's own
/// web client batches at most 10 queries per request.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// The most root fields a request may select, summed over a batch.
pub const MAX_ROOT_FIELDS: usize = 100;
/// How deeply fragments may nest inside one another.
pub const MAX_FRAGMENT_DEPTH: usize = 16;
/// How deeply selection sets, values and types may nest in a document (the
/// parser's recursion limit).
pub const MAX_PARSER_DEPTH: usize = 64;
/// How deeply fields may nest below the root (GitLab refuses queries deeper
/// than 20 from signed-in users).
pub const MAX_FIELD_DEPTH: usize = 20;
/// How many selections (fields, spreads, inline fragments, at any depth, each
/// fragment counted every time it is spread) a request may expand to, summed
/// over a batch; bounds the work a fragment fan-out can cause.
pub const MAX_SELECTIONS: usize = 1000;
/// How many aliases a request may use, summed over a batch.
pub const MAX_ALIASES: usize = 100;
/// How many values (strings, numbers, booleans, nulls, list and object members)
/// the variables of a request may hold, summed over a batch.
pub const MAX_VARIABLE_VALUES: usize = 1000;
/// The limits a GraphQL request body's JSON is read within, counted while it is
/// read: the variables' values of a whole batch and, per entry, room for the
/// query, the operation name and the small objects clients add (`extensions`).
/// A body over them could not pass the limits above anyway; refusing it while
/// reading keeps its cost at that of the first values read.
pub(crate) const JSON_LIMITS: strict_json::Limits =
    strict_json::Limits { values: MAX_VARIABLE_VALUES + 16 * MAX_BATCH_ENTRIES, depth: MAX_PARSER_DEPTH };
/// How many argument values the root fields of a request may resolve to,
/// summed over a batch: a variable used by many fields is counted each time.
pub const MAX_ARGUMENT_VALUES: usize = 1000;

/// The kind of operation a root field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OperationKind {
    /// A read (`query { … }` or the shorthand `{ … }`).
    Query,
    /// A write (`mutation { … }`).
    Mutation,
    /// A subscription (`subscription { … }`); returned so that it can be denied.
    Subscription,
}

impl OperationKind {
    /// The keyword: `query`, `mutation` or `subscription`.
    pub fn name(self) -> &'static str {
        match self {
            OperationKind::Query => "query",
            OperationKind::Mutation => "mutation",
            OperationKind::Subscription => "subscription",
        }
    }
}

impl fmt::Display for OperationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One field selected at the root of an executed operation, with its arguments
/// resolved (variables substituted) and flattened to dotted keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootField {
    /// The kind of the operation the field was selected in.
    pub kind: OperationKind,
    /// The field's name in the schema (`project`), never the alias.
    pub name: String,
    /// The alias the client gave it (`p` in `p: project(…)`), if any.
    pub alias: Option<String>,
    /// String-valued arguments by dotted path (`input.projectPath`).
    arguments: BTreeMap<String, String>,
    /// Every argument path given a value, null and lists included.
    paths: BTreeSet<String>,
    /// The fields selected below it (empty for a field without a selection set).
    pub selections: Vec<SubField>,
}

/// A field selected below the root, with the fields selected below it in turn.
/// Arguments are not kept: which namespace a nested field reaches is a property
/// of the field (catalog data), not of its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubField {
    /// The field's name in the schema, never the alias.
    pub name: String,
    /// Whether it has a selection set, hence returns an object (or a list of them).
    pub object: bool,
    /// The fields selected below it, after fragment expansion.
    pub selections: Vec<SubField>,
}

impl RootField {
    /// The value of an argument by dotted path (`fullPath`, `input.projectPath`,
    /// `id`), as a string: strings as they are, numbers in decimal, booleans as
    /// `true`/`false`, enum values by name. `None` when absent, null, a list, or an
    /// object (ask for one of its members instead).
    pub fn argument(&self, dotted: &str) -> Option<&str> {
        self.arguments.get(dotted).map(String::as_str)
    }

    /// Every string-valued argument, as (dotted path, value), ordered by path.
    pub fn arguments(&self) -> impl Iterator<Item = (&str, &str)> {
        self.arguments.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Every dotted argument path the field gives a value, whatever the value
    /// (null, a list, or a string-valued one), ordered.
    pub fn argument_paths(&self) -> impl Iterator<Item = &str> {
        self.paths.iter().map(String::as_str)
    }

    /// The key of the field in the response: the alias if any, else the name.
    pub fn response_key(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }
}

/// Why a request body could not be turned into root fields. Every error means
/// the request must be denied. Messages are lower-case and quote the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphqlError {
    /// The body is larger than [`MAX_BODY_BYTES`].
    BodyTooLarge {
        /// The body's size in bytes.
        size: usize,
    },
    /// The body is not JSON (the parser's message).
    InvalidJson(String),
    /// The body, or an entry of a batch, is not a JSON object.
    NotAnObject {
        /// What was found instead (`an array`, `a string`, …).
        found: &'static str,
    },
    /// The body is an empty JSON array.
    EmptyBatch,
    /// The request has no `query` member.
    MissingQuery,
    /// `query` is not a string.
    QueryNotString {
        /// What was found instead.
        found: &'static str,
    },
    /// `variables` is neither an object, null, nor a string holding an object.
    BadVariables {
        /// What was found instead.
        found: &'static str,
    },
    /// `variables` is a string but not JSON (the parser's message).
    VariablesNotJson(String),
    /// `operationName` is neither a string nor null.
    BadOperationName {
        /// What was found instead.
        found: &'static str,
    },
    /// The document is larger than [`MAX_QUERY_BYTES`].
    QueryTooLarge {
        /// The document's size in bytes.
        size: usize,
    },
    /// The document is not valid GraphQL syntax.
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in characters) of the error.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The document nests deeper than [`MAX_PARSER_DEPTH`].
    TooDeep,
    /// The document holds a type-system definition (schema language).
    NotExecutable {
        /// The kind of definition found (`ObjectTypeDefinition`, …).
        kind: &'static str,
    },
    /// The document holds no operation.
    NoOperation,
    /// The document holds several operations and no `operationName` chose one.
    OperationRequired {
        /// How many operations the document holds.
        count: usize,
    },
    /// No operation has the name `operationName` gave.
    OperationNotFound(String),
    /// Several operations have the name `operationName` gave.
    DuplicateOperation(String),
    /// Two fragments have the same name.
    DuplicateFragment(String),
    /// A spread names a fragment the document does not define.
    UndefinedFragment(String),
    /// A fragment spreads itself, directly or through others.
    FragmentCycle(String),
    /// Fragments nest deeper than [`MAX_FRAGMENT_DEPTH`].
    FragmentTooDeep,
    /// The request expands to more than [`MAX_SELECTIONS`] selections.
    TooManySelections,
    /// The batch holds more than [`MAX_BATCH_ENTRIES`] entries.
    TooManyBatchEntries {
        /// How many entries it holds.
        count: usize,
    },
    /// Fields nest deeper than [`MAX_FIELD_DEPTH`] below the root.
    FieldsTooDeep,
    /// The request uses more than [`MAX_ALIASES`] aliases.
    TooManyAliases,
    /// The variables hold more than [`MAX_VARIABLE_VALUES`] values.
    TooManyVariableValues,
    /// The root fields' arguments resolve to more than [`MAX_ARGUMENT_VALUES`] values.
    TooManyArgumentValues,
    /// The request selects more than [`MAX_ROOT_FIELDS`] distinct root fields.
    TooManyFields,
    /// A root field's argument uses a variable the operation does not declare.
    UndeclaredVariable(String),
    /// A root field's argument uses a variable that is neither provided nor defaulted.
    MissingVariable(String),
    /// A variable's default value refers to a variable.
    VariableInDefault(String),
    /// An argument path of a root field has more than one value.
    DuplicateArgument {
        /// The root field.
        field: String,
        /// The dotted argument path.
        argument: String,
    },
    /// The parser accepted the document but a node lacks a part it must have.
    Malformed(&'static str),
    /// An entry of a batch failed.
    Batch {
        /// The entry's 0-based index in the array.
        index: usize,
        /// What went wrong with it.
        error: Box<GraphqlError>,
    },
}

/// Writes user input quoted and escaped, cut to a readable length.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX_CHARS: usize = 80;
        match self.0.char_indices().nth(MAX_CHARS) {
            None => write!(f, "{:?}", self.0),
            Some((cut, _)) => write!(f, "{:?}…", &self.0[..cut]),
        }
    }
}

impl fmt::Display for GraphqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use GraphqlError::*;
        match self {
            BodyTooLarge { size } => write!(f, "body exceeds {MAX_BODY_BYTES} bytes ({size} bytes)"),
            InvalidJson(e) => write!(f, "body is not valid JSON: {e}"),
            NotAnObject { found } => write!(f, "a GraphQL request must be a JSON object, not {found}"),
            EmptyBatch => f.write_str("batch holds no request"),
            MissingQuery => f.write_str("request has no \"query\""),
            QueryNotString { found } => write!(f, "\"query\" must be a string, not {found}"),
            BadVariables { found } => write!(f, "\"variables\" must be an object or null, not {found}"),
            VariablesNotJson(e) => write!(f, "\"variables\" is a string that is not a JSON object: {e}"),
            BadOperationName { found } => write!(f, "\"operationName\" must be a string or null, not {found}"),
            QueryTooLarge { size } => write!(f, "document exceeds {MAX_QUERY_BYTES} bytes ({size} bytes)"),
            Syntax { line, column, message } => write!(f, "syntax error at line {line}, column {column}: {message}"),
            TooDeep => write!(f, "document nests deeper than {MAX_PARSER_DEPTH} levels"),
            NotExecutable { kind } => {
                write!(f, "document may hold only operations and fragments, not a type system definition ({kind})")
            }
            NoOperation => f.write_str("document has no operation"),
            OperationRequired { count } => write!(f, "document has {count} operations; operationName is required"),
            OperationNotFound(name) => write!(f, "operation {} not found in the document", Quoted(name)),
            DuplicateOperation(name) => write!(f, "operation {} is defined more than once", Quoted(name)),
            DuplicateFragment(name) => write!(f, "fragment {} is defined more than once", Quoted(name)),
            UndefinedFragment(name) => write!(f, "fragment {} is not defined", Quoted(name)),
            FragmentCycle(name) => write!(f, "fragment cycle through {}", Quoted(name)),
            FragmentTooDeep => write!(f, "fragments nest deeper than {MAX_FRAGMENT_DEPTH} levels"),
            TooManySelections => write!(f, "request expands to more than {MAX_SELECTIONS} selections"),
            TooManyBatchEntries { count } => {
                write!(f, "batch holds {count} requests, more than {MAX_BATCH_ENTRIES}")
            }
            FieldsTooDeep => write!(f, "fields nest deeper than {MAX_FIELD_DEPTH} levels"),
            TooManyAliases => write!(f, "request uses more than {MAX_ALIASES} aliases"),
            TooManyVariableValues => write!(f, "variables hold more than {MAX_VARIABLE_VALUES} values"),
            TooManyArgumentValues => {
                write!(f, "root field arguments resolve to more than {MAX_ARGUMENT_VALUES} values")
            }
            TooManyFields => write!(f, "request selects more than {MAX_ROOT_FIELDS} root fields"),
            UndeclaredVariable(name) => {
                write!(f, "variable {} is not declared by the operation", Quoted(&format!("${name}")))
            }
            MissingVariable(name) => write!(f, "variable {} is not provided", Quoted(&format!("${name}"))),
            VariableInDefault(name) => {
                write!(f, "a default value refers to variable {}", Quoted(&format!("${name}")))
            }
            DuplicateArgument { field, argument } => {
                write!(f, "argument {} of field {} is given more than once", Quoted(argument), Quoted(field))
            }
            Malformed(what) => write!(f, "document is malformed: {what}"),
            Batch { index, error } => write!(f, "batch entry {index}: {error}"),
        }
    }
}

impl std::error::Error for GraphqlError {}

/// The root fields a GraphQL request body selects, in document order (a batch:
/// entry after entry), each distinct field once.
///
/// Errors for anything that is not a well-formed request within the limits; an
/// error means deny.
pub fn root_fields(body: &[u8]) -> Result<Vec<RootField>, GraphqlError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(GraphqlError::BodyTooLarge { size: body.len() });
    }
    let text = std::str::from_utf8(body).map_err(|e| GraphqlError::InvalidJson(e.to_string()))?;
    let json = strict_json::parse_within(text, JSON_LIMITS).map_err(GraphqlError::InvalidJson)?;
    let mut out = Vec::new();
    let mut budget = Budget::default();
    match &json {
        Json::Array(entries) => {
            if entries.is_empty() {
                return Err(GraphqlError::EmptyBatch);
            }
            if entries.len() > MAX_BATCH_ENTRIES {
                return Err(GraphqlError::TooManyBatchEntries { count: entries.len() });
            }
            for (index, entry) in entries.iter().enumerate() {
                request_fields(entry, &mut budget, &mut out)
                    .map_err(|error| GraphqlError::Batch { index, error: Box::new(error) })?;
            }
        }
        single => request_fields(single, &mut budget, &mut out)?,
    }
    Ok(out)
}

/// What the request has used so far of the limits summed over a batch.
#[derive(Default)]
struct Budget {
    selections: usize,
    aliases: usize,
    variable_values: usize,
    argument_values: usize,
}

impl Budget {
    /// Counts `n` more values in variables.
    fn variable_values(&mut self, value: &Json) -> Result<(), GraphqlError> {
        self.variable_values += 1;
        if self.variable_values > MAX_VARIABLE_VALUES {
            return Err(GraphqlError::TooManyVariableValues);
        }
        match value {
            Json::Array(items) => items.iter().try_for_each(|v| self.variable_values(v)),
            Json::Object(map) => map.values().try_for_each(|v| self.variable_values(v)),
            _ => Ok(()),
        }
    }
}

/// Names a JSON value's type for messages.
fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// Adds the root fields of one request object to `out`.
fn request_fields(request: &Json, budget: &mut Budget, out: &mut Vec<RootField>) -> Result<(), GraphqlError> {
    let Json::Object(request) = request else {
        return Err(GraphqlError::NotAnObject { found: json_kind(request) });
    };
    let query = match request.get("query") {
        None => return Err(GraphqlError::MissingQuery),
        Some(Json::String(query)) => query,
        Some(other) => return Err(GraphqlError::QueryNotString { found: json_kind(other) }),
    };
    let empty = Map::new();
    let parsed: Map<String, Json>;
    let variables = match request.get("variables") {
        None | Some(Json::Null) => &empty,
        Some(Json::Object(map)) => map,
        Some(Json::String(text)) if text.trim().is_empty() => &empty,
        Some(Json::String(text)) => match strict_json::parse_within(text, JSON_LIMITS) {
            Ok(Json::Object(map)) => {
                parsed = map;
                &parsed
            }
            Ok(other) => return Err(GraphqlError::VariablesNotJson(format!("it holds {}", json_kind(&other)))),
            Err(e) => return Err(GraphqlError::VariablesNotJson(e)),
        },
        Some(other) => return Err(GraphqlError::BadVariables { found: json_kind(other) }),
    };
    let operation_name = match request.get("operationName") {
        None | Some(Json::Null) => None,
        Some(Json::String(name)) => Some(name.as_str()),
        Some(other) => return Err(GraphqlError::BadOperationName { found: json_kind(other) }),
    };
    variables.values().try_for_each(|v| budget.variable_values(v))?;
    document_fields(query, variables, operation_name, budget, out)
}

/// The 1-based line and column (in characters) of a byte offset in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The text of an optional name node.
fn name_text(name: Option<cst::Name>) -> Option<String> {
    name.map(|n| n.text().to_string())
}

/// Adds the root fields of the selected operation of one document to `out`.
fn document_fields(
    query: &str,
    variables: &Map<String, Json>,
    operation_name: Option<&str>,
    budget: &mut Budget,
    out: &mut Vec<RootField>,
) -> Result<(), GraphqlError> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(GraphqlError::QueryTooLarge { size: query.len() });
    }
    let tree = Parser::new(query).recursion_limit(MAX_PARSER_DEPTH).parse();
    if let Some(error) = tree.errors().next() {
        if error.is_limit() {
            return Err(GraphqlError::TooDeep);
        }
        let (line, column) = line_column(query, error.index());
        let message = match error.data() {
            "" => error.message().to_owned(),
            data => format!("{}, found {}", error.message(), Quoted(data)),
        };
        return Err(GraphqlError::Syntax { line, column, message });
    }

    let mut operations = Vec::new();
    let mut fragments = HashMap::new();
    for definition in tree.document().definitions() {
        match definition {
            cst::Definition::OperationDefinition(operation) => operations.push(operation),
            cst::Definition::FragmentDefinition(fragment) => {
                let name = name_text(fragment.fragment_name().and_then(|n| n.name()))
                    .ok_or(GraphqlError::Malformed("a fragment has no name"))?;
                if fragments.contains_key(&name) {
                    return Err(GraphqlError::DuplicateFragment(name));
                }
                fragments.insert(name, fragment);
            }
            other => return Err(GraphqlError::NotExecutable { kind: other.kind() }),
        }
    }

    let operation = match operation_name {
        Some(wanted) => {
            let mut named = operations.iter().filter(|op| name_text(op.name()).as_deref() == Some(wanted));
            let found = named.next().ok_or_else(|| GraphqlError::OperationNotFound(wanted.to_owned()))?;
            if named.next().is_some() {
                return Err(GraphqlError::DuplicateOperation(wanted.to_owned()));
            }
            found
        }
        None => match operations.as_slice() {
            [] => return Err(GraphqlError::NoOperation),
            [only] => only,
            many => return Err(GraphqlError::OperationRequired { count: many.len() }),
        },
    };

    let kind = match operation.operation_type() {
        None => OperationKind::Query,
        Some(t) if t.query_token().is_some() => OperationKind::Query,
        Some(t) if t.mutation_token().is_some() => OperationKind::Mutation,
        Some(t) if t.subscription_token().is_some() => OperationKind::Subscription,
        Some(_) => return Err(GraphqlError::Malformed("an operation has an unknown type")),
    };

    let mut declared = HashMap::new();
    for definition in operation.variable_definitions().iter().flat_map(|d| d.variable_definitions()) {
        let name = name_text(definition.variable().and_then(|v| v.name()))
            .ok_or(GraphqlError::Malformed("a variable definition has no name"))?;
        declared.insert(name, definition.default_value().and_then(|d| d.value()));
    }

    let selections = operation.selection_set().ok_or(GraphqlError::Malformed("an operation has no selection set"))?;
    let mut expansion = Expansion { kind, variables, declared, fragments, stack: Vec::new(), budget, out };
    expansion.root(&selections, 0)
}

/// The walk over one operation's selections.
struct Expansion<'a> {
    kind: OperationKind,
    variables: &'a Map<String, Json>,
    /// Declared variables with their default values.
    declared: HashMap<String, Option<cst::Value>>,
    fragments: HashMap<String, cst::FragmentDefinition>,
    /// Named fragments being expanded, outermost first.
    stack: Vec<String>,
    budget: &'a mut Budget,
    out: &'a mut Vec<RootField>,
}

/// One selection of a set, with fragments not yet expanded.
enum Step {
    Field(cst::Field),
    /// A selection set to expand in place, and the named fragment it belongs
    /// to (to pop from the stack afterwards).
    Fragment(cst::SelectionSet, Option<String>),
}

impl Expansion<'_> {
    /// Counts one selection against the budget and sorts it into a field or a
    /// fragment to expand, `fragments` deep in fragments.
    fn step(&mut self, selection: cst::Selection, fragments: usize) -> Result<Step, GraphqlError> {
        self.budget.selections += 1;
        if self.budget.selections > MAX_SELECTIONS {
            return Err(GraphqlError::TooManySelections);
        }
        match selection {
            cst::Selection::Field(field) => Ok(Step::Field(field)),
            cst::Selection::FragmentSpread(spread) => {
                let name = name_text(spread.fragment_name().and_then(|n| n.name()))
                    .ok_or(GraphqlError::Malformed("a fragment spread has no name"))?;
                if self.stack.contains(&name) {
                    return Err(GraphqlError::FragmentCycle(name));
                }
                if fragments >= MAX_FRAGMENT_DEPTH {
                    return Err(GraphqlError::FragmentTooDeep);
                }
                let inner = self
                    .fragments
                    .get(&name)
                    .ok_or_else(|| GraphqlError::UndefinedFragment(name.clone()))?
                    .selection_set()
                    .ok_or(GraphqlError::Malformed("a fragment has no selection set"))?;
                self.stack.push(name.clone());
                Ok(Step::Fragment(inner, Some(name)))
            }
            cst::Selection::InlineFragment(fragment) => {
                if fragments >= MAX_FRAGMENT_DEPTH {
                    return Err(GraphqlError::FragmentTooDeep);
                }
                let inner = fragment
                    .selection_set()
                    .ok_or(GraphqlError::Malformed("an inline fragment has no selection set"))?;
                Ok(Step::Fragment(inner, None))
            }
        }
    }

    /// The name of a field, counting its alias against the budget.
    fn field_name(&mut self, field: &cst::Field) -> Result<(String, Option<String>), GraphqlError> {
        let name = name_text(field.name()).ok_or(GraphqlError::Malformed("a field has no name"))?;
        let alias = match field.alias() {
            None => None,
            Some(alias) => {
                self.budget.aliases += 1;
                if self.budget.aliases > MAX_ALIASES {
                    return Err(GraphqlError::TooManyAliases);
                }
                Some(name_text(alias.name()).ok_or(GraphqlError::Malformed("an alias has no name"))?)
            }
        };
        Ok((name, alias))
    }

    /// Visits the root selection set, `fragments` deep in fragments.
    fn root(&mut self, set: &cst::SelectionSet, fragments: usize) -> Result<(), GraphqlError> {
        for selection in set.selections() {
            match self.step(selection, fragments)? {
                Step::Field(field) => self.root_field(&field)?,
                Step::Fragment(inner, name) => {
                    self.root(&inner, fragments + 1)?;
                    if name.is_some() {
                        self.stack.pop();
                    }
                }
            }
        }
        Ok(())
    }

    /// The fields of a selection set below the root, `depth` fields below it
    /// and `fragments` deep in fragments, added to `out`.
    fn nested(
        &mut self,
        set: &cst::SelectionSet,
        depth: usize,
        fragments: usize,
        out: &mut Vec<SubField>,
    ) -> Result<(), GraphqlError> {
        if depth > MAX_FIELD_DEPTH {
            return Err(GraphqlError::FieldsTooDeep);
        }
        for selection in set.selections() {
            match self.step(selection, fragments)? {
                Step::Field(field) => {
                    let (name, _) = self.field_name(&field)?;
                    let mut selections = Vec::new();
                    let set = field.selection_set();
                    if let Some(inner) = &set {
                        self.nested(inner, depth + 1, fragments, &mut selections)?;
                    }
                    out.push(SubField { name, object: set.is_some(), selections });
                }
                Step::Fragment(inner, name) => {
                    self.nested(&inner, depth, fragments + 1, out)?;
                    if name.is_some() {
                        self.stack.pop();
                    }
                }
            }
        }
        Ok(())
    }

    /// Records one root field with its resolved arguments and its selections.
    fn root_field(&mut self, field: &cst::Field) -> Result<(), GraphqlError> {
        let (name, alias) = self.field_name(field)?;
        let mut arguments = Arguments {
            field: &name,
            values: BTreeMap::new(),
            other_paths: BTreeSet::new(),
            budget: &mut *self.budget,
        };
        if let Some(list) = field.arguments() {
            let mut seen = BTreeSet::new();
            for argument in list.arguments() {
                let key = name_text(argument.name()).ok_or(GraphqlError::Malformed("an argument has no name"))?;
                if !seen.insert(key.clone()) {
                    return Err(GraphqlError::DuplicateArgument { field: name.clone(), argument: key });
                }
                let value = argument.value().ok_or(GraphqlError::Malformed("an argument has no value"))?;
                value_into(self.variables, &self.declared, &value, key, &mut arguments, false)?;
            }
        }
        let mut paths = arguments.other_paths;
        paths.extend(arguments.values.keys().cloned());
        let arguments = arguments.values;
        let mut selections = Vec::new();
        if let Some(inner) = field.selection_set() {
            self.nested(&inner, 1, self.stack.len(), &mut selections)?;
        }
        // GraphQL merges fields of one response key; their selections add up.
        let same =
            |f: &&mut RootField| f.kind == self.kind && f.name == name && f.alias == alias && f.arguments == arguments;
        if let Some(existing) = self.out.iter_mut().find(same) {
            existing.paths.extend(paths);
            existing.selections.extend(selections);
            return Ok(());
        }
        if self.out.len() >= MAX_ROOT_FIELDS {
            return Err(GraphqlError::TooManyFields);
        }
        self.out.push(RootField { kind: self.kind, name, alias, arguments, paths, selections });
        Ok(())
    }
}

/// Flattens a GraphQL value found at `key` into `arguments`; `in_default` is
/// set while reading a variable's default value, where variables may not occur.
fn value_into(
    variables: &Map<String, Json>,
    declared: &HashMap<String, Option<cst::Value>>,
    value: &cst::Value,
    key: String,
    arguments: &mut Arguments<'_>,
    in_default: bool,
) -> Result<(), GraphqlError> {
    match value {
        cst::Value::Variable(variable) => {
            let name = name_text(variable.name()).ok_or(GraphqlError::Malformed("a variable has no name"))?;
            if in_default {
                return Err(GraphqlError::VariableInDefault(name));
            }
            let Some(default) = declared.get(&name) else {
                return Err(GraphqlError::UndeclaredVariable(name));
            };
            match (variables.get(&name), default) {
                (Some(json), _) => arguments.json(json, key),
                (None, Some(default)) => value_into(variables, declared, default, key, arguments, true),
                (None, None) => Err(GraphqlError::MissingVariable(name)),
            }
        }
        cst::Value::StringValue(s) => arguments.insert(key, String::from(s)),
        cst::Value::IntValue(i) => {
            let text = i.int_token().ok_or(GraphqlError::Malformed("an integer has no digits"))?;
            arguments.insert(key, text.text().to_owned())
        }
        cst::Value::FloatValue(x) => {
            let text = x.float_token().ok_or(GraphqlError::Malformed("a float has no digits"))?;
            arguments.insert(key, text.text().to_owned())
        }
        cst::Value::BooleanValue(b) => arguments.insert(key, b.true_token().is_some().to_string()),
        cst::Value::EnumValue(e) => {
            let text = name_text(e.name()).ok_or(GraphqlError::Malformed("an enum value has no name"))?;
            arguments.insert(key, text)
        }
        cst::Value::NullValue(_) | cst::Value::ListValue(_) => arguments.other(key),
        cst::Value::ObjectValue(object) => {
            let mut seen = BTreeSet::new();
            for member in object.object_fields() {
                let name = name_text(member.name()).ok_or(GraphqlError::Malformed("an object field has no name"))?;
                let path = format!("{key}.{name}");
                if !seen.insert(name) {
                    return Err(GraphqlError::DuplicateArgument { field: arguments.field.to_owned(), argument: path });
                }
                let inner = member.value().ok_or(GraphqlError::Malformed("an object field has no value"))?;
                value_into(variables, declared, &inner, path, arguments, in_default)?;
            }
            Ok(())
        }
    }
}

/// The string-valued arguments of one field being collected.
struct Arguments<'a> {
    field: &'a str,
    values: BTreeMap<String, String>,
    /// Paths given a null or a list (the others are in `values`).
    other_paths: BTreeSet<String>,
    budget: &'a mut Budget,
}

impl Arguments<'_> {
    /// Records a path given a null or a list.
    fn other(&mut self, key: String) -> Result<(), GraphqlError> {
        self.count()?;
        self.other_paths.insert(key);
        Ok(())
    }

    /// Counts one more resolved value against the budget.
    fn count(&mut self) -> Result<(), GraphqlError> {
        self.budget.argument_values += 1;
        if self.budget.argument_values > MAX_ARGUMENT_VALUES {
            return Err(GraphqlError::TooManyArgumentValues);
        }
        Ok(())
    }

    /// Records a value; a path already recorded is ambiguous, hence an error.
    fn insert(&mut self, key: String, value: String) -> Result<(), GraphqlError> {
        self.count()?;
        if self.values.contains_key(&key) {
            return Err(GraphqlError::DuplicateArgument { field: self.field.to_owned(), argument: key });
        }
        self.values.insert(key, value);
        Ok(())
    }

    /// Flattens a JSON variable value found at `key` (serde_json bounds its nesting).
    fn json(&mut self, value: &Json, key: String) -> Result<(), GraphqlError> {
        match value {
            Json::String(s) => self.insert(key, s.clone()),
            Json::Number(n) => self.insert(key, n.to_string()),
            Json::Bool(b) => self.insert(key, b.to_string()),
            Json::Null | Json::Array(_) => self.other(key),
            Json::Object(map) => {
                self.count()?;
                for (name, inner) in map {
                    self.json(inner, format!("{key}.{name}"))?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests;
