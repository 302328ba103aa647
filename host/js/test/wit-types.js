// Reads wit/authz.wit and the TypeScript declarations (index.d.ts by hand,
// generated/interfaces/*.d.ts by jco) far enough to compare them: records and
// their fields, enums and variants and their cases, the authorizer's methods.
// Used by wit-types.test.js; a plain reader, not a WIT or TypeScript parser.

/** `http-request` -> `HttpRequest`. */
export const pascal = (name) => name.split("-").map((w) => w[0].toUpperCase() + w.slice(1)).join("");
/** `ref-name` -> `ref_name` (the JSON spelling of fields and cases). */
export const snake = (name) => name.replaceAll("-", "_");
/** `check-http` -> `checkHttp` (jco's spelling of fields and methods). */
export const camel = (name) => name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());

/** `text` split on `sep` outside <>, () and []. */
function splitTop(text, sep) {
  const parts = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if ("<([{".includes(c)) depth++;
    else if (">)]}".includes(c) && !(c === ">" && text[i - 1] === "-")) depth--;
    else if (c === sep && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter(Boolean);
}

/**
 * The declarations of a WIT file: {records: Map(name -> [{name, type}]),
 * enums: Map(name -> [case]), variants: Map(name -> [{name, payload}]),
 * resources: Map(name -> [{name, isStatic}])}.
 */
export function parseWit(text) {
  const code = text.replace(/\/\/[^\n]*/g, "").replace(/\/\*[\s\S]*?\*\//g, "");
  const wit = { records: new Map(), enums: new Map(), variants: new Map(), resources: new Map() };
  for (const [, kind, name, body] of code.matchAll(/\b(record|enum|variant|resource)\s+([a-z][a-z0-9-]*)\s*\{([^{}]*)\}/g)) {
    if (kind === "record") {
      wit.records.set(
        name,
        splitTop(body, ",").map((f) => {
          const m = f.match(/^([a-z][a-z0-9-]*)\s*:\s*(.+)$/s);
          if (!m) throw new Error(`wit: cannot read field ${JSON.stringify(f)} of record ${name}`);
          return { name: m[1], type: m[2].replace(/\s+/g, " ") };
        }),
      );
    } else if (kind === "enum") {
      wit.enums.set(name, splitTop(body, ","));
    } else if (kind === "variant") {
      wit.variants.set(
        name,
        splitTop(body, ",").map((c) => {
          const m = c.match(/^([a-z][a-z0-9-]*)\s*(\(.*\))?$/s);
          if (!m) throw new Error(`wit: cannot read case ${JSON.stringify(c)} of variant ${name}`);
          return { name: m[1], payload: Boolean(m[2]) };
        }),
      );
    } else {
      wit.resources.set(
        name,
        splitTop(body, ";").map((f) => {
          const m = f.match(/^([a-z][a-z0-9-]*)\s*:\s*(static\s+)?func\b/);
          if (!m) throw new Error(`wit: cannot read method ${JSON.stringify(f)} of resource ${name}`);
          return { name: m[1], isStatic: Boolean(m[2]) };
        }),
      );
    }
  }
  return wit;
}

/**
 * The exported declarations of a .d.ts file: {interfaces: Map(name -> Map(field ->
 * {optional, type})), classes: Map(name -> Set(method)), types: Map(name -> text)}.
 * Fields may end with `;` (by hand) or `,` (jco), one per line.
 */
export function parseDts(text) {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/[^\n]*/g, "");
  const dts = { interfaces: new Map(), classes: new Map(), types: new Map() };
  for (const [, kind, name, body] of code.matchAll(/export\s+(interface|class)\s+(\w+)[^{]*\{([\s\S]*?)\n\}/g)) {
    if (kind === "interface") {
      const fields = new Map();
      for (const [, field, optional, type] of body.matchAll(/^\s*(\w+)(\?)?\s*:\s*(.+?)[;,]?\s*$/gm)) {
        fields.set(field, { optional: Boolean(optional), type });
      }
      dts.interfaces.set(name, fields);
    } else {
      const methods = new Set();
      for (const [, method] of body.matchAll(/^\s*(?:static\s+)?(\w+)\s*(?:<[^>]*>)?\s*\(/gm)) methods.add(method);
      for (const [, method] of body.matchAll(/^\s*\[Symbol\.(\w+)\]\s*\(/gm)) methods.add(`Symbol.${method}`);
      dts.classes.set(name, methods);
    }
  }
  for (const [, name, body] of code.matchAll(/export\s+type\s+(\w+)\s*=([^;]*);/g)) dts.types.set(name, body);
  return dts;
}

/** The string literals of a type alias, following references to other aliases of `dts`. */
export function literals(dts, name, seen = new Set()) {
  const out = new Set();
  if (seen.has(name) || !dts.types.has(name)) return out;
  seen.add(name);
  const body = dts.types.get(name);
  for (const [, , value] of body.matchAll(/(["'])([^"']*)\1/g)) out.add(value);
  for (const [ref] of body.matchAll(/\b[A-Z]\w*\b/g)) for (const v of literals(dts, ref, seen)) out.add(v);
  return out;
}

/** The keys of the object types of a type alias (`{ secret: string } | { name: string }` -> secret, name). */
export function objectKeys(dts, name) {
  const body = dts.types.get(name) ?? "";
  return new Set([...body.matchAll(/\{\s*(\w+)\s*:/g)].map((m) => m[1]));
}

const isOption = (type) => /^option</.test(type);

/**
 * What index.d.ts (`host`, parsed) lacks or has too much against the WIT (`wit`,
 * parsed): a list of sentences, empty when they agree. `hostOnly` names the
 * enum cases the host adds on its own ({ReasonCode: ["engine_failure"]});
 * `classes` the classes whose methods must cover the resource `authorizer`.
 */
export function compare(wit, host, { hostOnly = {}, classes = ["Authorizer"] } = {}) {
  const problems = [];
  for (const [record, fields] of wit.records) {
    const ts = host.interfaces.get(pascal(record));
    if (!ts) {
      problems.push(`record ${record}: no interface ${pascal(record)}`);
      continue;
    }
    for (const f of fields) {
      const field = ts.get(snake(f.name));
      if (!field) problems.push(`record ${record}: ${pascal(record)} has no field ${snake(f.name)}`);
      else if (isOption(f.type) && !field.optional && !/\bnull\b/.test(field.type)) {
        problems.push(`record ${record}: ${pascal(record)}.${snake(f.name)} is ${f.type} but neither optional nor nullable`);
      }
    }
    const known = new Set(fields.map((f) => snake(f.name)));
    for (const name of ts.keys()) {
      if (!known.has(name)) problems.push(`record ${record}: ${pascal(record)}.${name} is not a field of the WIT record`);
    }
  }
  for (const [name, cases] of wit.enums) {
    const type = pascal(name);
    if (!host.types.has(type)) {
      problems.push(`enum ${name}: no type ${type}`);
      continue;
    }
    const have = literals(host, type);
    const want = new Set([...cases.map(snake), ...(hostOnly[type] ?? [])]);
    for (const c of want) if (!have.has(c)) problems.push(`enum ${name}: ${type} lacks "${c}"`);
    for (const c of have) if (!want.has(c)) problems.push(`enum ${name}: ${type} has "${c}", no case of the WIT enum`);
  }
  for (const [name, cases] of wit.variants) {
    const type = pascal(name);
    if (!host.types.has(type)) {
      problems.push(`variant ${name}: no type ${type}`);
      continue;
    }
    const bare = literals(host, type);
    const keys = objectKeys(host, type);
    for (const c of cases) {
      const ok = c.payload ? keys.has(snake(c.name)) : bare.has(snake(c.name));
      if (!ok) problems.push(`variant ${name}: ${type} lacks ${c.payload ? `{ ${snake(c.name)}: … }` : `"${snake(c.name)}"`}`);
    }
    const known = new Set(cases.map((c) => snake(c.name)));
    for (const c of [...bare, ...keys]) {
      if (!known.has(c)) problems.push(`variant ${name}: ${type} has ${c}, no case of the WIT variant`);
    }
  }
  const methods = wit.resources.get("authorizer") ?? [];
  for (const cls of classes) {
    const have = host.classes.get(cls);
    if (!have) {
      problems.push(`resource authorizer: no class ${cls}`);
      continue;
    }
    for (const m of methods) {
      if (!have.has(camel(m.name))) problems.push(`resource authorizer: ${cls} has no method ${camel(m.name)}`);
    }
  }
  return problems;
}

/**
 * What jco's declarations (`jco`, parsed generated/interfaces/*.d.ts) lack
 * against the WIT: generated/ was transpiled from a component of another WIT.
 */
export function compareJco(wit, jco) {
  const problems = [];
  for (const [record, fields] of wit.records) {
    const ts = jco.interfaces.get(pascal(record));
    if (!ts) problems.push(`jco: no interface ${pascal(record)}`);
    else {
      const want = fields.map((f) => camel(f.name));
      const have = [...ts.keys()];
      if (JSON.stringify(want) !== JSON.stringify(have)) problems.push(`jco: ${pascal(record)} has ${have}, the WIT ${want}`);
    }
  }
  for (const [name, cases] of wit.enums) {
    const have = [...literals(jco, pascal(name))];
    if (JSON.stringify(have) !== JSON.stringify(cases)) problems.push(`jco: ${pascal(name)} is ${have}, the WIT ${cases}`);
  }
  return problems;
}
