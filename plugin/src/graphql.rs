//! GraphQL requests (`POST /api/graphql`): which top-level fields a request asks for.
//!
//! A GraphQL request is authorized field by field: every field at the root of the
//! executed operation (`project`, `createIssue`, …) is one thing the token must be
//! allowed to do, and the argument that names its target (`fullPath`,
//! `input.projectPath`, a global id) tells where. [`root_fields`] turns a request body
//! into that list; it knows nothing about the engine, the catalog or the schema, and
//! the mapping of fields to permissions lives elsewhere.
//!
//! What it does, conservatively (an authorization check must never see less than
//! the server will execute):
//! - the body is a JSON object `{"query", "variables", "operationName"}` or a JSON
//!   array of them (a multiplexed batch: the fields of every entry are returned);
//!   `variables` may also be a JSON string holding an object, as GitLab accepts;
//! - the operation is chosen by `operationName`, which is required when the document
//!   holds several operations;
//! - fragment spreads and inline fragments at the root are expanded, recursively, with
//!   cycle detection and a nesting limit;
//! - `@include` / `@skip` are ignored: a field that might be skipped is still returned;
//! - arguments are resolved against the variables (and the operation's declared
//!   defaults) and flattened to dotted keys, so `createIssue(input: $input)` with
//!   `{"input": {"projectPath": "a/b"}}` answers `input.projectPath` = `a/b`;
//! - identical fields (same name, alias and arguments) are returned once;
//! - anything ambiguous (an argument given twice, two fragments of one name, an
//!   argument path reachable two ways) is an error, never a guess.
//!
//! Limits, as a defence against hostile input; every violation is an error:
//! [`MAX_BODY_BYTES`], [`MAX_QUERY_BYTES`], [`MAX_ROOT_FIELDS`],
//! [`MAX_FRAGMENT_DEPTH`], [`MAX_PARSER_DEPTH`] and [`MAX_ROOT_SELECTIONS`].
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

/// The largest request body accepted, in bytes (256 KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// The largest GraphQL document (`query`) accepted, in bytes (64 KiB).
pub const MAX_QUERY_BYTES: usize = 64 * 1024;
/// The most root fields a request may select, summed over a batch.
pub const MAX_ROOT_FIELDS: usize = 100;
/// How deeply fragments may nest inside one another at the root of an operation.
pub const MAX_FRAGMENT_DEPTH: usize = 16;
/// How deeply selection sets, values and types may nest in a document (the
/// parser's recursion limit; GitLab itself refuses queries deeper than 20).
pub const MAX_PARSER_DEPTH: usize = 64;
/// How many root-level selections (fields, spreads, inline fragments) the
/// expansion of one operation may visit; bounds the work a fragment fan-out can cause.
pub const MAX_ROOT_SELECTIONS: usize = 1000;

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
    /// Expanding the operation's root visits more than [`MAX_ROOT_SELECTIONS`] selections.
    TooManySelections,
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
            TooManySelections => {
                write!(f, "operation expands to more than {MAX_ROOT_SELECTIONS} selections at its root")
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
    let json: Json = serde_json::from_slice(body).map_err(|e| GraphqlError::InvalidJson(e.to_string()))?;
    let mut out = Vec::new();
    match &json {
        Json::Array(entries) => {
            if entries.is_empty() {
                return Err(GraphqlError::EmptyBatch);
            }
            for (index, entry) in entries.iter().enumerate() {
                request_fields(entry, &mut out)
                    .map_err(|error| GraphqlError::Batch { index, error: Box::new(error) })?;
            }
        }
        single => request_fields(single, &mut out)?,
    }
    Ok(out)
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
fn request_fields(request: &Json, out: &mut Vec<RootField>) -> Result<(), GraphqlError> {
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
        Some(Json::String(text)) => match serde_json::from_str::<Json>(text) {
            Ok(Json::Object(map)) => {
                parsed = map;
                &parsed
            }
            Ok(other) => return Err(GraphqlError::VariablesNotJson(format!("it holds {}", json_kind(&other)))),
            Err(e) => return Err(GraphqlError::VariablesNotJson(e.to_string())),
        },
        Some(other) => return Err(GraphqlError::BadVariables { found: json_kind(other) }),
    };
    let operation_name = match request.get("operationName") {
        None | Some(Json::Null) => None,
        Some(Json::String(name)) => Some(name.as_str()),
        Some(other) => return Err(GraphqlError::BadOperationName { found: json_kind(other) }),
    };
    document_fields(query, variables, operation_name, out)
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
    let mut expansion = Expansion { kind, variables, declared, fragments, stack: Vec::new(), visited: 0, out };
    expansion.selection_set(&selections, 0)
}

/// The walk over one operation's root selections.
struct Expansion<'a> {
    kind: OperationKind,
    variables: &'a Map<String, Json>,
    /// Declared variables with their default values.
    declared: HashMap<String, Option<cst::Value>>,
    fragments: HashMap<String, cst::FragmentDefinition>,
    /// Named fragments being expanded, outermost first.
    stack: Vec<String>,
    /// Root-level selections visited so far.
    visited: usize,
    out: &'a mut Vec<RootField>,
}

impl Expansion<'_> {
    /// Visits a root-level selection set, `depth` fragments deep.
    fn selection_set(&mut self, set: &cst::SelectionSet, depth: usize) -> Result<(), GraphqlError> {
        for selection in set.selections() {
            self.visited += 1;
            if self.visited > MAX_ROOT_SELECTIONS {
                return Err(GraphqlError::TooManySelections);
            }
            match selection {
                cst::Selection::Field(field) => self.field(&field)?,
                cst::Selection::FragmentSpread(spread) => {
                    let name = name_text(spread.fragment_name().and_then(|n| n.name()))
                        .ok_or(GraphqlError::Malformed("a fragment spread has no name"))?;
                    if self.stack.contains(&name) {
                        return Err(GraphqlError::FragmentCycle(name));
                    }
                    if depth >= MAX_FRAGMENT_DEPTH {
                        return Err(GraphqlError::FragmentTooDeep);
                    }
                    let inner = self
                        .fragments
                        .get(&name)
                        .ok_or_else(|| GraphqlError::UndefinedFragment(name.clone()))?
                        .selection_set()
                        .ok_or(GraphqlError::Malformed("a fragment has no selection set"))?;
                    self.stack.push(name);
                    self.selection_set(&inner, depth + 1)?;
                    self.stack.pop();
                }
                cst::Selection::InlineFragment(fragment) => {
                    if depth >= MAX_FRAGMENT_DEPTH {
                        return Err(GraphqlError::FragmentTooDeep);
                    }
                    let inner = fragment
                        .selection_set()
                        .ok_or(GraphqlError::Malformed("an inline fragment has no selection set"))?;
                    self.selection_set(&inner, depth + 1)?;
                }
            }
        }
        Ok(())
    }

    /// Records one root field with its resolved arguments.
    fn field(&mut self, field: &cst::Field) -> Result<(), GraphqlError> {
        let name = name_text(field.name()).ok_or(GraphqlError::Malformed("a field has no name"))?;
        let alias = match field.alias() {
            None => None,
            Some(alias) => Some(name_text(alias.name()).ok_or(GraphqlError::Malformed("an alias has no name"))?),
        };
        let mut arguments = Arguments { field: &name, values: BTreeMap::new() };
        if let Some(list) = field.arguments() {
            let mut seen = BTreeSet::new();
            for argument in list.arguments() {
                let key = name_text(argument.name()).ok_or(GraphqlError::Malformed("an argument has no name"))?;
                if !seen.insert(key.clone()) {
                    return Err(GraphqlError::DuplicateArgument { field: name.clone(), argument: key });
                }
                let value = argument.value().ok_or(GraphqlError::Malformed("an argument has no value"))?;
                self.value(&value, key, &mut arguments, false)?;
            }
        }
        let root = RootField { kind: self.kind, name: name.clone(), alias, arguments: arguments.values };
        if !self.out.contains(&root) {
            if self.out.len() >= MAX_ROOT_FIELDS {
                return Err(GraphqlError::TooManyFields);
            }
            self.out.push(root);
        }
        Ok(())
    }

    /// Flattens a GraphQL value found at `key` into `arguments`; `in_default` is
    /// set while reading a variable's default value, where variables may not occur.
    fn value(
        &self,
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
                let Some(default) = self.declared.get(&name) else {
                    return Err(GraphqlError::UndeclaredVariable(name));
                };
                match (self.variables.get(&name), default) {
                    (Some(json), _) => arguments.json(json, key),
                    (None, Some(default)) => self.value(default, key, arguments, true),
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
            cst::Value::NullValue(_) | cst::Value::ListValue(_) => Ok(()),
            cst::Value::ObjectValue(object) => {
                let mut seen = BTreeSet::new();
                for member in object.object_fields() {
                    let name =
                        name_text(member.name()).ok_or(GraphqlError::Malformed("an object field has no name"))?;
                    let path = format!("{key}.{name}");
                    if !seen.insert(name) {
                        return Err(GraphqlError::DuplicateArgument {
                            field: arguments.field.to_owned(),
                            argument: path,
                        });
                    }
                    let inner = member.value().ok_or(GraphqlError::Malformed("an object field has no value"))?;
                    self.value(&inner, path, arguments, in_default)?;
                }
                Ok(())
            }
        }
    }
}

/// The string-valued arguments of one field being collected.
struct Arguments<'a> {
    field: &'a str,
    values: BTreeMap<String, String>,
}

impl Arguments<'_> {
    /// Records a value; a path already recorded is ambiguous, hence an error.
    fn insert(&mut self, key: String, value: String) -> Result<(), GraphqlError> {
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
            Json::Null | Json::Array(_) => Ok(()),
            Json::Object(map) => {
                for (name, inner) in map {
                    self.json(inner, format!("{key}.{name}"))?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(query: &str) -> Vec<u8> {
        serde_json::json!({ "query": query }).to_string().into_bytes()
    }

    fn with_vars(query: &str, variables: Json) -> Vec<u8> {
        serde_json::json!({ "query": query, "variables": variables }).to_string().into_bytes()
    }

    fn fields(query: &str) -> Vec<RootField> {
        match root_fields(&body(query)) {
            Ok(fields) => fields,
            Err(e) => panic!("{query}: {e}"),
        }
    }

    fn names(fields: &[RootField]) -> Vec<&str> {
        fields.iter().map(|f| f.name.as_str()).collect()
    }

    fn error(body: &[u8]) -> String {
        match root_fields(body) {
            Ok(fields) => panic!("expected an error, got {fields:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn simple_query_with_argument() {
        let f = fields(r#"query { project(fullPath: "acme/api") { id name } }"#);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, OperationKind::Query);
        assert_eq!(f[0].name, "project");
        assert_eq!(f[0].alias, None);
        assert_eq!(f[0].argument("fullPath"), Some("acme/api"));
        assert_eq!(f[0].argument("id"), None);
        assert_eq!(f[0].response_key(), "project");
    }

    #[test]
    fn shorthand_query_and_several_fields() {
        let f = fields(r#"{ currentUser { username } group(fullPath: "acme") { id } __typename }"#);
        assert_eq!(names(&f), ["currentUser", "group", "__typename"]);
        assert!(f.iter().all(|f| f.kind == OperationKind::Query));
    }

    #[test]
    fn kinds_and_their_names() {
        assert_eq!(fields("mutation { echo }")[0].kind, OperationKind::Mutation);
        let sub = fields(r#"subscription { issuableUpdated(issuableId: "gid://gitlab/Issue/1") { id } }"#);
        assert_eq!(sub[0].kind, OperationKind::Subscription);
        assert_eq!(OperationKind::Query.name(), "query");
        assert_eq!(OperationKind::Mutation.name(), "mutation");
        assert_eq!(OperationKind::Subscription.to_string(), "subscription");
    }

    #[test]
    fn aliases() {
        let f = fields(r#"{ p: project(fullPath: "x") { id } q: project(fullPath: "y") { id } }"#);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].name, "project");
        assert_eq!(f[0].alias.as_deref(), Some("p"));
        assert_eq!(f[0].response_key(), "p");
        assert_eq!(f[0].argument("fullPath"), Some("x"));
        assert_eq!(f[1].alias.as_deref(), Some("q"));
        assert_eq!(f[1].argument("fullPath"), Some("y"));
    }

    #[test]
    fn identical_fields_are_returned_once() {
        let f = fields(
            r#"{ ...A ...B currentUser { id } } fragment A on Query { currentUser { name } } fragment B on Query { currentUser { id } }"#,
        );
        assert_eq!(names(&f), ["currentUser"]);
        let f = fields(r#"{ project(fullPath: "a") { id } project(fullPath: "b") { id } }"#);
        assert_eq!(f.len(), 2, "different arguments are different fields");
    }

    #[test]
    fn named_fragment_at_root() {
        let f = fields(r#"query { ...F } fragment F on Query { project(fullPath: "a/b") { id } }"#);
        assert_eq!(names(&f), ["project"]);
        assert_eq!(f[0].argument("fullPath"), Some("a/b"));
    }

    #[test]
    fn fragments_defined_before_use_and_nested_fields_are_ignored() {
        let f = fields(
            r#"fragment P on Project { id mergeRequests { nodes { iid } } }
               query { project(fullPath: "a/b") { ...P } }"#,
        );
        assert_eq!(names(&f), ["project"]);
    }

    #[test]
    fn inline_fragments() {
        let f = fields(r#"{ ... on Query { group(fullPath: "g") { id } } ... { currentUser { id } } }"#);
        assert_eq!(names(&f), ["group", "currentUser"]);
    }

    #[test]
    fn nested_fragments() {
        let f = fields(
            r#"{ ...A }
               fragment A on Query { ...B ... on Query { ...C } }
               fragment B on Query { project(fullPath: "b") { id } }
               fragment C on Query { c: group(fullPath: "c") { id } }"#,
        );
        assert_eq!(names(&f), ["project", "group"]);
        assert_eq!(f[1].alias.as_deref(), Some("c"));
    }

    #[test]
    fn same_fragment_twice_is_not_a_cycle() {
        let f = fields(r#"{ ...A ... { ...A } } fragment A on Query { currentUser { id } }"#);
        assert_eq!(names(&f), ["currentUser"]);
    }

    #[test]
    fn fragment_cycles() {
        assert_eq!(error(&body("{ ...A } fragment A on Query { ...A }")), r#"fragment cycle through "A""#);
        assert_eq!(
            error(&body("{ ...A } fragment A on Query { ...B } fragment B on Query { ... { ...A } }")),
            r#"fragment cycle through "A""#
        );
    }

    #[test]
    fn undefined_and_duplicate_fragments() {
        assert_eq!(error(&body("{ ...F }")), r#"fragment "F" is not defined"#);
        assert_eq!(
            error(&body("{ ...F } fragment F on Query { a } fragment F on Query { b }")),
            r#"fragment "F" is defined more than once"#
        );
    }

    #[test]
    fn fragment_depth_limit() {
        // A chain of n named fragments: F0 spreads F1 … F(n-1) selects a field.
        let chain = |n: usize| {
            let mut q = String::from("{ ...F0 }");
            for i in 0..n {
                if i + 1 < n {
                    q.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i + 1));
                } else {
                    q.push_str(&format!(" fragment F{i} on Query {{ currentUser {{ id }} }}"));
                }
            }
            q
        };
        assert_eq!(names(&fields(&chain(MAX_FRAGMENT_DEPTH))), ["currentUser"]);
        assert_eq!(error(&body(&chain(MAX_FRAGMENT_DEPTH + 1))), "fragments nest deeper than 16 levels");
        let inline = format!("{{ {} currentUser {{ id }} {} }}", "... { ".repeat(17), "} ".repeat(17));
        assert_eq!(error(&body(&inline)), "fragments nest deeper than 16 levels");
    }

    #[test]
    fn fragment_fan_out_is_bounded() {
        // Each fragment spreads the next ten times: 10^4 visits without the budget.
        let mut q = String::from("{ ...F0 }");
        for i in 0..4 {
            q.push_str(&format!(" fragment F{i} on Query {{ {} }}", format!("...F{} ", i + 1).repeat(10)));
        }
        q.push_str(" fragment F4 on Query { currentUser { id } }");
        assert_eq!(error(&body(&q)), "operation expands to more than 1000 selections at its root");
    }

    #[test]
    fn operations_and_operation_name() {
        let doc = r#"query A { project(fullPath: "a") { id } } mutation B { echo } query C { currentUser { id } }"#;
        assert_eq!(error(&body(doc)), "document has 3 operations; operationName is required");
        let pick = |name: &str| serde_json::json!({ "query": doc, "operationName": name }).to_string().into_bytes();
        let f = root_fields(&pick("B")).unwrap();
        assert_eq!((f[0].kind, f[0].name.as_str()), (OperationKind::Mutation, "echo"));
        assert_eq!(names(&root_fields(&pick("C")).unwrap()), ["currentUser"]);
        assert_eq!(error(&pick("Foo")), r#"operation "Foo" not found in the document"#);
        // A single operation is used whether or not it is named.
        let one = serde_json::json!({ "query": "query Only { echo }", "operationName": null });
        assert_eq!(names(&root_fields(one.to_string().as_bytes()).unwrap()), ["echo"]);
        let named = serde_json::json!({ "query": "query Only { echo }", "operationName": "Only" });
        assert_eq!(names(&root_fields(named.to_string().as_bytes()).unwrap()), ["echo"]);
        // …but an anonymous one cannot be chosen by a name.
        let anon = serde_json::json!({ "query": "{ echo }", "operationName": "X" });
        assert_eq!(error(anon.to_string().as_bytes()), r#"operation "X" not found in the document"#);
        let dup = serde_json::json!({ "query": "query X { a } query X { b }", "operationName": "X" });
        assert_eq!(error(dup.to_string().as_bytes()), r#"operation "X" is defined more than once"#);
        assert_eq!(error(&body("fragment F on Query { a }")), "document has no operation");
    }

    #[test]
    fn scalar_variables() {
        let q = r#"query($path: ID!, $n: Int, $b: Boolean, $x: Float) { project(fullPath: $path, n: $n, b: $b, x: $x) { id } }"#;
        let f = root_fields(&with_vars(q, serde_json::json!({"path": "a/b", "n": 42, "b": true, "x": 1.5}))).unwrap();
        assert_eq!(f[0].argument("fullPath"), Some("a/b"));
        assert_eq!(f[0].argument("n"), Some("42"));
        assert_eq!(f[0].argument("b"), Some("true"));
        assert_eq!(f[0].argument("x"), Some("1.5"));
    }

    #[test]
    fn literal_scalars() {
        let f = fields(
            r#"{ f(s: "x\u00e9\n", i: -7, fl: 2.5e3, t: true, no: false, e: OPENED, n: null, l: ["a", "b"], bs: """ block """) }"#,
        );
        let f = &f[0];
        assert_eq!(f.argument("s"), Some("xé\n"));
        assert_eq!(f.argument("i"), Some("-7"));
        assert_eq!(f.argument("fl"), Some("2.5e3"));
        assert_eq!(f.argument("t"), Some("true"));
        assert_eq!(f.argument("no"), Some("false"));
        assert_eq!(f.argument("e"), Some("OPENED"));
        assert_eq!(f.argument("n"), None);
        assert_eq!(f.argument("l"), None);
        assert_eq!(f.argument("bs"), Some(" block "), "the spec trims blank lines, not spaces");
        assert_eq!(f.arguments().count(), 7);
    }

    #[test]
    fn object_arguments_are_flattened() {
        let f = fields(
            r#"mutation { createIssue(input: {projectPath: "a/b", title: "t", labels: ["x"], meta: {deep: {er: 1}}}) { issue { iid } } }"#,
        );
        let f = &f[0];
        assert_eq!(f.argument("input.projectPath"), Some("a/b"));
        assert_eq!(f.argument("input.title"), Some("t"));
        assert_eq!(f.argument("input.labels"), None);
        assert_eq!(f.argument("input.meta.deep.er"), Some("1"));
        assert_eq!(f.argument("input"), None, "an object has no string value");
    }

    #[test]
    fn object_variables_are_flattened() {
        let q = r#"mutation($input: CreateIssueInput!) { createIssue(input: $input) { issue { iid } } }"#;
        let vars = serde_json::json!({"input": {"projectPath": "a/b", "iid": 3, "nested": {"ok": false}, "n": null}});
        let f = root_fields(&with_vars(q, vars)).unwrap();
        assert_eq!(f[0].argument("input.projectPath"), Some("a/b"));
        assert_eq!(f[0].argument("input.iid"), Some("3"));
        assert_eq!(f[0].argument("input.nested.ok"), Some("false"));
        assert_eq!(f[0].argument("input.n"), None);
    }

    #[test]
    fn variables_nested_in_literal_objects() {
        let q = r#"mutation($p: ID!, $iid: String!) { mergeRequestSetDraft(input: {projectPath: $p, iid: $iid, draft: true}) { errors } }"#;
        let f = root_fields(&with_vars(q, serde_json::json!({"p": "g/p", "iid": "12"}))).unwrap();
        assert_eq!(f[0].argument("input.projectPath"), Some("g/p"));
        assert_eq!(f[0].argument("input.iid"), Some("12"));
        assert_eq!(f[0].argument("input.draft"), Some("true"));
    }

    #[test]
    fn variables_may_be_a_json_string() {
        let b = serde_json::json!({"query": "query($p: ID!) { project(fullPath: $p) { id } }", "variables": "{\"p\": \"a/b\"}"});
        assert_eq!(root_fields(b.to_string().as_bytes()).unwrap()[0].argument("fullPath"), Some("a/b"));
        let b = serde_json::json!({"query": "{ echo }", "variables": ""});
        assert_eq!(names(&root_fields(b.to_string().as_bytes()).unwrap()), ["echo"]);
        let b = serde_json::json!({"query": "{ echo }", "variables": "[1]"});
        assert_eq!(
            error(b.to_string().as_bytes()),
            "\"variables\" is a string that is not a JSON object: it holds an array"
        );
        let b = serde_json::json!({"query": "{ echo }", "variables": 5});
        assert_eq!(error(b.to_string().as_bytes()), "\"variables\" must be an object or null, not a number");
    }

    #[test]
    fn default_values() {
        let q =
            r#"query($p: ID = "dflt/path", $o: Input = {a: "x", b: {c: 2}}) { project(fullPath: $p, o: $o) { id } }"#;
        let f = root_fields(&with_vars(q, serde_json::json!({}))).unwrap();
        assert_eq!(f[0].argument("fullPath"), Some("dflt/path"));
        assert_eq!(f[0].argument("o.a"), Some("x"));
        assert_eq!(f[0].argument("o.b.c"), Some("2"));
        // A provided value wins, and an explicit null is not replaced by the default.
        let f = root_fields(&with_vars(q, serde_json::json!({"p": "given", "o": null}))).unwrap();
        assert_eq!(f[0].argument("fullPath"), Some("given"));
        assert_eq!(f[0].argument("o.a"), None);
        // No variables at all: the defaults apply.
        assert_eq!(root_fields(&body(q)).unwrap()[0].argument("fullPath"), Some("dflt/path"));
    }

    #[test]
    fn missing_and_undeclared_variables() {
        let q = r#"query($p: ID!) { project(fullPath: $p) { id } }"#;
        assert_eq!(error(&body(q)), r#"variable "$p" is not provided"#);
        assert_eq!(error(&with_vars(q, serde_json::json!({"other": 1}))), r#"variable "$p" is not provided"#);
        let q = r#"{ project(fullPath: $p) { id } }"#;
        assert_eq!(
            error(&with_vars(q, serde_json::json!({"p": "a"}))),
            r#"variable "$p" is not declared by the operation"#
        );
        // Variables used only below the root are not resolved.
        let q = r#"query($n: Int!) { project(fullPath: "a") { issues(first: $n) { nodes { iid } } } }"#;
        assert_eq!(names(&root_fields(&body(q)).unwrap()), ["project"]);
    }

    #[test]
    fn variables_inside_fragments() {
        let q = r#"query($p: ID!) { ...F } fragment F on Query { project(fullPath: $p) { id } }"#;
        let f = root_fields(&with_vars(q, serde_json::json!({"p": "x/y"}))).unwrap();
        assert_eq!(f[0].argument("fullPath"), Some("x/y"));
    }

    #[test]
    fn global_ids() {
        let q = r#"mutation($id: ProjectID!) { projectSettingsUpdate(input: {fullPath: "a/b"}) { errors } deleteThing(input: {id: $id}) { errors } }"#;
        let f = root_fields(&with_vars(q, serde_json::json!({"id": "gid://gitlab/Project/1"}))).unwrap();
        assert_eq!(f[1].argument("input.id"), Some("gid://gitlab/Project/1"));
        let f = fields(r#"{ workItem(id: "gid://gitlab/WorkItem/77") { title } }"#);
        assert_eq!(f[0].argument("id"), Some("gid://gitlab/WorkItem/77"));
    }

    #[test]
    fn duplicate_arguments_are_errors() {
        assert_eq!(
            error(&body(r#"{ project(fullPath: "a", fullPath: "b") { id } }"#)),
            r#"argument "fullPath" of field "project" is given more than once"#
        );
        assert_eq!(
            error(&body(r#"mutation { m(input: {projectPath: "a", projectPath: "b"}) { errors } }"#)),
            r#"argument "input.projectPath" of field "m" is given more than once"#
        );
        // A JSON key with a dot that collides with a nested member.
        let q = r#"mutation($i: I!) { m(input: $i) { errors } }"#;
        let vars = serde_json::json!({"i": {"a.b": "x", "a": {"b": "y"}}});
        assert_eq!(error(&with_vars(q, vars)), r#"argument "input.a.b" of field "m" is given more than once"#);
    }

    #[test]
    fn directives_keep_the_field() {
        let q = r#"query($skip: Boolean!) { project(fullPath: "a") @skip(if: $skip) { id } ...F @include(if: false) }
                   fragment F on Query { currentUser { id } }"#;
        let f = root_fields(&with_vars(q, serde_json::json!({"skip": true}))).unwrap();
        assert_eq!(names(&f), ["project", "currentUser"]);
    }

    #[test]
    fn batches() {
        let b = serde_json::json!([
            {"query": r#"{ project(fullPath: "a") { id } }"#},
            {"query": "mutation($i: X!) { createIssue(input: $i) { errors } }", "variables": {"i": {"projectPath": "b"}}},
        ]);
        let f = root_fields(b.to_string().as_bytes()).unwrap();
        assert_eq!(names(&f), ["project", "createIssue"]);
        assert_eq!(f[1].kind, OperationKind::Mutation);
        assert_eq!(f[1].argument("input.projectPath"), Some("b"));
        assert_eq!(error(b"[]"), "batch holds no request");
        let b = serde_json::json!([{"query": "{ a }"}, {"query": "{ ...G }"}]);
        assert_eq!(error(b.to_string().as_bytes()), r#"batch entry 1: fragment "G" is not defined"#);
        assert_eq!(error(b"[1]"), "batch entry 0: a GraphQL request must be a JSON object, not a number");
    }

    #[test]
    fn malformed_json_and_request_shapes() {
        assert!(error(b"{").starts_with("body is not valid JSON: "));
        assert!(error(b"").starts_with("body is not valid JSON: "));
        assert!(error(b"\xff\xfe").starts_with("body is not valid JSON: "));
        assert_eq!(error(b"\"query\""), "a GraphQL request must be a JSON object, not a string");
        assert_eq!(error(b"{}"), "request has no \"query\"");
        assert_eq!(error(br#"{"query": 5}"#), "\"query\" must be a string, not a number");
        assert_eq!(
            error(br#"{"query": "{ a }", "operationName": 1}"#),
            "\"operationName\" must be a string or null, not a number"
        );
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let e = error(&body("query {\n  project(fullPath: \"a\") {\n    id\n  ]\n}"));
        assert!(e.starts_with("syntax error at line 4, column 3: "), "{e}");
        let e = error(&body("{ project(fullPath: ) }"));
        assert!(e.starts_with("syntax error at line 1, column "), "{e}");
        let e = error(&body(r#"{ f(s: "\q") }"#));
        assert!(e.starts_with("syntax error at line 1, column "), "{e}");
        let e = error(&body(r#"{ f(s: "\u{110000}") }"#));
        assert!(e.starts_with("syntax error"), "{e}");
        let e = error(&body(""));
        assert!(e.starts_with("syntax error") || e == "document has no operation", "{e}");
        assert_eq!(line_column("ab\ncdé\nf", 7), (2, 4));
        assert_eq!(line_column("é", 1), (1, 1));
    }

    #[test]
    fn schema_language_is_refused() {
        assert_eq!(
            error(&body("type Query { a: Int } { a }")),
            "document may hold only operations and fragments, not a type system definition (ObjectTypeDefinition)"
        );
    }

    #[test]
    fn limits() {
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(error(&big), "body exceeds 262144 bytes (262145 bytes)");
        let long = format!("{{ a }}{}", " ".repeat(MAX_QUERY_BYTES));
        assert_eq!(error(&body(&long)), "document exceeds 65536 bytes (65541 bytes)");
        let ok: String = (0..MAX_ROOT_FIELDS).map(|i| format!("f{i} ")).collect();
        assert_eq!(fields(&format!("{{ {ok} }}")).len(), MAX_ROOT_FIELDS);
        let too_many: String = (0..=MAX_ROOT_FIELDS).map(|i| format!("f{i} ")).collect();
        assert_eq!(error(&body(&format!("{{ {too_many} }}"))), "request selects more than 100 root fields");
        // Summed over a batch.
        let half: String = (0..60).map(|i| format!("f{i} ")).collect();
        let other: String = (60..120).map(|i| format!("f{i} ")).collect();
        let b = serde_json::json!([{"query": format!("{{ {half} }}")}, {"query": format!("{{ {other} }}")}]);
        assert_eq!(error(b.to_string().as_bytes()), "batch entry 1: request selects more than 100 root fields");
        let deep = format!("{{ {} }}", "a { ".repeat(200) + "b" + &" }".repeat(200));
        assert_eq!(error(&body(&deep)), "document nests deeper than 64 levels");
        let deep_value = format!("{{ f(a: {}1{}) }}", "[".repeat(500), "]".repeat(500));
        assert_eq!(error(&body(&deep_value)), "document nests deeper than 64 levels");
    }

    #[test]
    fn hostile_json_nesting_is_an_error_not_a_crash() {
        let deep = format!("{{\"query\": \"{{ a }}\", \"variables\": {}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(error(deep.as_bytes()).starts_with("body is not valid JSON: recursion limit exceeded"));
    }

    #[test]
    fn long_input_is_cut_in_messages() {
        let name = "N".repeat(500);
        let b = serde_json::json!({"query": "{ a }", "operationName": name});
        let e = error(b.to_string().as_bytes());
        assert!(e.len() < 150 && e.contains("…"), "{e}");
    }
}
