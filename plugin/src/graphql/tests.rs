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
    assert_eq!(error(&body(&q)), "request expands to more than 1000 selections");
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
    let q = r#"query($p: ID = "dflt/path", $o: Input = {a: "x", b: {c: 2}}) { project(fullPath: $p, o: $o) { id } }"#;
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
    let e = error(deep.as_bytes());
    assert!(e.starts_with(&format!("body is not valid JSON: nests deeper than {MAX_PARSER_DEPTH} levels")), "{e}");
}

#[test]
fn long_input_is_cut_in_messages() {
    let name = "N".repeat(500);
    let b = serde_json::json!({"query": "{ a }", "operationName": name});
    let e = error(b.to_string().as_bytes());
    assert!(e.len() < 150 && e.contains("…"), "{e}");
}

fn tree(fields: &[SubField]) -> String {
    let parts: Vec<String> = fields
        .iter()
        .map(|f| if f.object { format!("{} {{ {} }}", f.name, tree(&f.selections)) } else { f.name.clone() })
        .collect();
    parts.join(" ")
}

#[test]
fn nested_selections_are_kept_with_fragments_expanded() {
    let q = r#"{ project(fullPath: "a") { id issues { nodes { ...I } } ... on Project { group { name } } } }
               fragment I on Issue { title author { username } }"#;
    let f = fields(q);
    assert_eq!(tree(&f[0].selections), "id issues { nodes { title author { username } } } group { name }");
}

#[test]
fn merged_root_fields_keep_every_selection() {
    let f = fields(r#"{ currentUser { id } currentUser { groupMemberships { nodes { id } } } }"#);
    assert_eq!(f.len(), 1);
    assert_eq!(tree(&f[0].selections), "id groupMemberships { nodes { id } }");
}

#[test]
fn nested_fragment_cycles_are_errors() {
    let q = r#"{ project(fullPath: "a") { ...P } } fragment P on Project { group { ...G } }
               fragment G on Group { projects { nodes { ...P } } }"#;
    assert_eq!(error(&body(q)), r#"fragment cycle through "P""#);
}

#[test]
fn field_depth_is_bounded() {
    let nest = |n: usize| format!("{{ a {} b {} }}", "{ a ".repeat(n - 1), "} ".repeat(n - 1));
    assert!(root_fields(&body(&nest(MAX_FIELD_DEPTH + 1))).is_ok());
    assert_eq!(error(&body(&nest(MAX_FIELD_DEPTH + 2))), "fields nest deeper than 20 levels");
}

#[test]
fn nested_selections_count_against_the_budget() {
    let many: String = (0..MAX_SELECTIONS).map(|i| format!("f{i} ")).collect();
    assert_eq!(
        error(&body(&format!(r#"{{ project(fullPath: "a") {{ {many} }} }}"#))),
        "request expands to more than 1000 selections"
    );
    // A fragment spread ten times in each of three levels: counted every time.
    let q = r#"{ project(fullPath: "a") { ...A ...A ...A ...A ...A ...A ...A ...A ...A ...A } }
        fragment A on Project { ...B ...B ...B ...B ...B ...B ...B ...B ...B ...B }
        fragment B on Project { ...C ...C ...C ...C ...C ...C ...C ...C ...C ...C }
        fragment C on Project { id }"#;
    assert_eq!(error(&body(q)), "request expands to more than 1000 selections");
}

#[test]
fn aliases_are_bounded() {
    let ok: String = (0..MAX_ALIASES).map(|i| format!("a{i}: id ")).collect();
    assert!(root_fields(&body(&format!(r#"{{ project(fullPath: "a") {{ {ok} }} }}"#))).is_ok());
    let too_many: String = (0..=MAX_ALIASES).map(|i| format!("a{i}: id ")).collect();
    let q = format!(r#"{{ project(fullPath: "a") {{ {too_many} }} }}"#);
    assert_eq!(error(&body(&q)), "request uses more than 100 aliases");
}

#[test]
fn batches_are_bounded() {
    let entry = serde_json::json!({"query": "{ currentUser { id } }"});
    let ok = Json::Array(vec![entry.clone(); MAX_BATCH_ENTRIES]);
    assert_eq!(root_fields(ok.to_string().as_bytes()).unwrap().len(), 1);
    let big = Json::Array(vec![entry; 500]);
    assert_eq!(error(big.to_string().as_bytes()), "batch holds 500 requests, more than 10");
}

#[test]
fn variables_are_bounded_when_read() {
    let keys: Map<String, Json> = (0..MAX_VARIABLE_VALUES).map(|i| (format!("k{i}"), Json::from(i))).collect();
    let q = "query($v: Input) { currentUser { id } }";
    let b = with_vars(q, serde_json::json!({ "v": keys }));
    assert_eq!(error(&b), "variables hold more than 1000 values");
    let b = with_vars(q, serde_json::json!({ "v": vec![1; MAX_VARIABLE_VALUES] }));
    assert_eq!(error(&b), "variables hold more than 1000 values");
    // Far over the limits, the body is refused while it is read, at the first
    // value over them: its cost is that of the values before.
    let keys: Map<String, Json> = (0..26_000).map(|i| (format!("{i:x}"), Json::from(0))).collect();
    let b = with_vars(q, serde_json::json!({ "v": keys }));
    let limit = MAX_VARIABLE_VALUES + 16 * MAX_BATCH_ENTRIES;
    let e = error(&b);
    assert!(e.starts_with(&format!("body is not valid JSON: holds more than {limit} values at line 1 column ")), "{e}");
}

#[test]
fn a_variable_used_by_many_fields_is_counted_each_time() {
    let keys: Map<String, Json> = (0..100).map(|i| (format!("k{i}"), Json::from(i))).collect();
    let uses: String = (0..20).map(|i| format!("f{i}(v: $v) ")).collect();
    let b = with_vars(&format!("query($v: Input) {{ {uses} }}"), serde_json::json!({ "v": keys }));
    assert_eq!(error(&b), "root field arguments resolve to more than 1000 values");
}

#[test]
fn argument_paths_include_nulls_and_lists() {
    let q = r#"mutation($i: I!) { m(input: $i) { errors } }"#;
    let vars = serde_json::json!({"i": {"fullPath": "g", "a": null, "b": [1], "c": {"d": true}}});
    let f = root_fields(&with_vars(q, vars)).unwrap();
    let paths: Vec<&str> = f[0].argument_paths().collect();
    assert_eq!(paths, ["input.a", "input.b", "input.c.d", "input.fullPath"]);
    let f = fields(r#"mutation { m(input: {fullPath: "g", x: null, y: [1]}) { errors } }"#);
    assert_eq!(f[0].argument_paths().collect::<Vec<_>>(), ["input.fullPath", "input.x", "input.y"]);
}
