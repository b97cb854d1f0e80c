// Rebuilds JSON Schemas of the prometheus-operator kinds ServiceMonitor and PrometheusRule
// (monitoring.coreos.com/v1) from the npm package @kubernetes-models/prometheus-operator, for
// tests/helm (see tests/helm/schemas/README.md). Run through tools/extract-prometheus-crd-schemas.sh,
// which installs the pinned packages and acorn into a scratch folder first.
//
// The package ships no JSON form of its schemas: each _schemas/<Type>.js is an Ajv "standalone"
// validator compiled from the type's OpenAPI v3 schema. Its code is regular: every schema node is a
// function `validateN(data, …)` that
//   - reports each failed keyword as `{instancePath, schemaPath: "#/<keyword>", keyword, params}`
//     (type, required, enum, format, pattern, minLength, maxLength, minItems, maxItems, minimum,
//     maximum, oneOf, anyOf), with the keyword's value in `params`;
//   - validates a property X by calling another node on `data.X` (parentDataProperty: "X"), array
//     items by calling one on `data[i0]` in a loop, map values by calling one on `data[key0]` in a
//     `for…in`, and a $ref / oneOf / anyOf member by calling one on `data` itself;
//   - allows null where the check is guarded by `null !== data`.
// This script parses that code with acorn and turns every function back into a JSON Schema node
// (draft 2020-12). Node types are read from the error `params`, never guessed; any construct it
// does not know stops it with an error, so a new package version cannot be half-read silently.
//
// Output: one self-contained schema per kind: the exported validator of each _schemas module
// (prometheus-operator's own types and the Kubernetes types they use from
// @kubernetes-models/apimachinery and kubernetes-models) becomes an entry of `$defs`, named after its
// module; module-internal helper nodes are inlined. Two adjustments, both recorded in the README:
//   - strict: every place where an object with declared properties is checked (the document, a
//     property's value, an array item) gets `unevaluatedProperties: false`, so an unknown or
//     misspelt field is refused, as the API server's strict field validation and kubernetes-validate's
//     strict schemas do (the generated code itself lets unknown fields through);
//   - RE2's inline `(?i)` in the middle of a pattern (not valid in Python's `re`) becomes the
//     scoped group `(?i:…)` covering the rest of the enclosing group, which RE2 means by it.
//
// Usage: node tools/extract-prometheus-crd-schemas.mjs NODE_MODULES_DIR OUT_DIR
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const [nodeModules, outDir] = process.argv.slice(2);
if (!nodeModules || !outDir) {
  console.error("usage: node extract-prometheus-crd-schemas.mjs NODE_MODULES_DIR OUT_DIR");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(nodeModules), "noop.js"));
const acorn = require("acorn");

const PACKAGE = "@kubernetes-models/prometheus-operator";
const KINDS = {
  ServiceMonitor: "ComGithubPrometheusOperatorPrometheusOperatorPkgApisMonitoringV1ServiceMonitor",
  PrometheusRule: "ComGithubPrometheusOperatorPrometheusOperatorPkgApisMonitoringV1PrometheusRule",
};

function fail(msg) {
  throw new Error(msg);
}

// ---- module loading --------------------------------------------------------------------------

function resolveModule(spec, fromFile) {
  let file;
  if (spec.startsWith(".")) {
    file = path.resolve(path.dirname(fromFile), spec);
  } else {
    file = path.join(path.resolve(nodeModules), spec);
  }
  if (!file.endsWith(".js")) file += ".js";
  if (!fs.existsSync(file)) fail(`cannot find module ${spec} (from ${fromFile}) at ${file}`);
  return file;
}

function moduleName(file) {
  return path.basename(file, ".js");
}

const modules = new Map(); // file -> parsed module

function loadModule(file) {
  if (modules.has(file)) return modules.get(file);
  const source = fs.readFileSync(file, "utf8");
  const ast = acorn.parse(source, { ecmaVersion: "latest", sourceType: "module" });
  const mod = { file, name: moduleName(file), source, functions: new Map(), imports: new Map(), consts: new Map(), exported: null };
  for (const stmt of ast.body) {
    if (stmt.type === "ImportDeclaration") {
      for (const s of stmt.specifiers) {
        if (s.type === "ImportSpecifier" && s.imported.name === "validate") {
          mod.imports.set(s.local.name, resolveModule(stmt.source.value, file));
        }
        // other imports (formats, ucs2length, re2) are runtime helpers: their meaning is in `params`
      }
    } else if (stmt.type === "FunctionDeclaration") {
      mod.functions.set(stmt.id.name, stmt);
    } else if (stmt.type === "VariableDeclaration") {
      for (const d of stmt.declarations) {
        if (d.init && d.id.type === "Identifier") mod.consts.set(d.id.name, d.init);
      }
    } else if (stmt.type === "ExportNamedDeclaration" && stmt.declaration?.type === "VariableDeclaration") {
      for (const d of stmt.declaration.declarations) {
        if (d.id.name === "validate" && d.init.type === "Identifier") mod.exported = d.init.name;
      }
    }
  }
  if (!mod.exported) fail(`${file}: no \`export const validate = validateN\``);
  modules.set(file, mod);
  return mod;
}

// A literal expression (object/array/string/number/boolean/null, identifiers of module consts).
function literal(mod, node) {
  switch (node.type) {
    case "Literal":
      return node.value;
    case "ArrayExpression":
      return node.elements.map((e) => literal(mod, e));
    case "ObjectExpression": {
      const out = {};
      for (const p of node.properties) {
        const key = p.key.type === "Identifier" ? p.key.name : p.key.value;
        out[key] = literal(mod, p.value);
      }
      return out;
    }
    case "UnaryExpression":
      if (node.operator === "-") return -literal(mod, node.argument);
      if (node.operator === "!" && node.argument.type === "Literal") return !node.argument.value;
      break;
    case "Identifier":
      if (mod.consts.has(node.name)) return literal(mod, mod.consts.get(node.name));
      break;
  }
  fail(`${mod.file}: not a literal: ${mod.source.slice(node.start, node.end).slice(0, 120)}`);
}

// ---- AST walking -------------------------------------------------------------------------------

function walk(node, visit, ancestors = []) {
  if (!node || typeof node.type !== "string") return;
  visit(node, ancestors);
  const next = ancestors.concat([node]);
  for (const key of Object.keys(node)) {
    if (key === "start" || key === "end") continue;
    const v = node[key];
    if (Array.isArray(v)) v.forEach((c) => walk(c, visit, next));
    else if (v && typeof v.type === "string") walk(v, visit, next);
  }
}

function isNullGuard(node) {
  // `null !== data`
  return (
    node.type === "BinaryExpression" &&
    node.operator === "!==" &&
    node.left.type === "Literal" && node.left.value === null &&
    node.right.type === "Identifier" && node.right.name === "data"
  );
}

function conjuncts(node) {
  if (node.type === "LogicalExpression" && node.operator === "&&") return [...conjuncts(node.left), ...conjuncts(node.right)];
  return [node];
}

// Is `child` (a descendant of `ancestors`) reached only when `null !== data`?
function guardedByNotNull(ancestors, child) {
  const chain = ancestors.concat([child]);
  for (let i = 0; i < ancestors.length; i++) {
    const a = ancestors[i];
    const below = chain[i + 1];
    if (a.type === "IfStatement" && below === a.consequent && conjuncts(a.test).some(isNullGuard)) return true;
    if (a.type === "LogicalExpression" && a.operator === "&&" && below === a.right && conjuncts(a.left).some(isNullGuard)) return true;
  }
  return false;
}

function propOf(obj, name) {
  return obj.properties.find((p) => p.type === "Property" && ((p.key.type === "Identifier" && p.key.name === name) || p.key.value === name));
}

// ---- decompiling one function into a schema node ------------------------------------------------

const KNOWN_KEYWORDS = new Set([
  "type", "required", "enum", "format", "pattern", "minLength", "maxLength", "minItems", "maxItems",
  "minimum", "maximum", "oneOf", "anyOf", "const",
]);

function decompile(mod, fnName, ctx, stack = []) {
  const key = `${mod.file}#${fnName}`;
  if (stack.includes(key)) fail(`recursive helper ${key}`);
  const fn = mod.functions.get(fnName);
  if (!fn) fail(`${mod.file}: no function ${fnName}`);

  const node = {};
  let nullable = false;
  const types = [];
  const required = [];
  const properties = {};
  const sameData = []; // member schemas applied to the same value
  let items = null;
  let additional = null;
  let combinator = null; // "oneOf" | "anyOf"

  const calleeSchema = (name) => {
    if (mod.functions.has(name)) return decompile(mod, name, ctx, stack.concat([key]));
    if (mod.imports.has(name)) return ctx.ref(mod.imports.get(name));
    fail(`${mod.file}: ${fnName} calls unknown ${name}`);
  };

  walk(fn.body, (n, ancestors) => {
    // error objects: {instancePath, schemaPath, keyword, params}
    if (n.type === "ObjectExpression" && propOf(n, "schemaPath") && propOf(n, "keyword")) {
      const schemaPath = literal(mod, propOf(n, "schemaPath").value);
      const keyword = literal(mod, propOf(n, "keyword").value);
      if (schemaPath !== `#/${keyword}`) fail(`${mod.file}: ${fnName}: inlined subschema ${schemaPath} not supported`);
      if (!KNOWN_KEYWORDS.has(keyword)) fail(`${mod.file}: ${fnName}: unknown keyword ${keyword}`);
      // oneOf/anyOf report run-time values (passingSchemas); every other keyword a literal
      const params = keyword === "oneOf" || keyword === "anyOf" ? {} : literal(mod, propOf(n, "params").value);
      switch (keyword) {
        case "type":
          for (const t of [].concat(params.type)) if (!types.includes(t)) types.push(t);
          if (guardedByNotNull(ancestors, n)) nullable = true;
          break;
        case "required":
          if (!required.includes(params.missingProperty)) required.push(params.missingProperty);
          break;
        case "enum":
          node.enum = params.allowedValues;
          break;
        case "const":
          node.const = params.allowedValue;
          break;
        case "format":
          node.format = params.format;
          break;
        case "pattern":
          node.pattern = params.pattern;
          break;
        case "minLength": case "maxLength": case "minItems": case "maxItems":
          node[keyword] = params.limit;
          break;
        case "minimum":
          node[params.comparison === ">" ? "exclusiveMinimum" : "minimum"] = params.limit;
          break;
        case "maximum":
          node[params.comparison === "<" ? "exclusiveMaximum" : "maximum"] = params.limit;
          break;
        case "oneOf": case "anyOf":
          combinator = keyword;
          break;
      }
      return;
    }
    // calls of other nodes
    if (n.type === "CallExpression" && n.callee.type === "Identifier" && /^validate\d+$/.test(n.callee.name)) {
      const [arg, opts] = n.arguments;
      const guarded = guardedByNotNull(ancestors, n);
      if (arg.type === "Identifier" && arg.name === "data") {
        sameData.push({ schema: calleeSchema(n.callee.name), guarded });
        return;
      }
      if (arg.type !== "MemberExpression" || arg.object.type !== "Identifier" || arg.object.name !== "data") {
        fail(`${mod.file}: ${fnName}: call on ${mod.source.slice(arg.start, arg.end)} not supported`);
      }
      const pdp = propOf(opts, "parentDataProperty").value;
      if (pdp.type === "Literal") {
        properties[pdp.value] = calleeSchema(n.callee.name);
      } else if (pdp.type === "Identifier" && /^i\d+$/.test(pdp.name)) {
        items = calleeSchema(n.callee.name);
      } else if (pdp.type === "Identifier" && /^key\d+$/.test(pdp.name)) {
        additional = calleeSchema(n.callee.name);
      } else {
        fail(`${mod.file}: ${fnName}: parentDataProperty ${mod.source.slice(pdp.start, pdp.end)} not supported`);
      }
    }
  });

  if (types.length) node.type = types.length === 1 ? types[0] : types;
  if (Object.keys(properties).length) node.properties = properties;
  if (required.length) node.required = required;
  if (items) node.items = items;
  if (additional) node.additionalProperties = additional;

  let result = node;
  if (combinator) {
    if (sameData.length < 2) fail(`${mod.file}: ${fnName}: ${combinator} with ${sameData.length} members`);
    result[combinator] = sameData.map((m) => m.schema);
  } else if (sameData.length) {
    // $ref-like: the node is (also) the callee's schema; `null !== data && validateK(data)` allows null
    const members = sameData.map((m) => (m.guarded ? nullableOf(m.schema) : m.schema));
    if (Object.keys(node).length === 0 && members.length === 1) {
      result = members[0];
    } else {
      result.allOf = members;
    }
  }
  if (nullable) result = nullableOf(result);
  return result;
}

// Allow null: in the node's own `type` when it has one (its other checks, as in the compiled code,
// still apply to null), else around the whole node (`null !== data && validateK(data)`).
function nullableOf(schema) {
  if (schema.type !== undefined) {
    const types = [].concat(schema.type);
    if (!types.includes("null")) types.push("null");
    const out = { ...schema, type: types };
    if (out.enum && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return out;
  }
  return { anyOf: [{ type: "null" }, schema] };
}

// ---- post-processing -----------------------------------------------------------------------------

// RE2 `(?i)` after the start of a pattern applies to the rest of the enclosing group; Python's `re`
// accepts global flags only at the very start, but has the scoped form `(?i:…)`.
function pythonCompatiblePattern(p) {
  let out = p;
  for (;;) {
    const at = out.indexOf("(?i)", 1);
    if (at < 0) {
      // `^(?i)…` at the very start: a global flag after `^` is also refused; move it in front.
      if (out.startsWith("^(?i)")) return "(?i)^" + out.slice(5);
      return out;
    }
    if (at === 1 && out.startsWith("^")) {
      out = "(?i)^" + out.slice(5);
      continue;
    }
    // find the end of the enclosing group
    let depth = 0;
    let end = out.length;
    let inClass = false;
    for (let i = at + 4; i < out.length; i++) {
      const c = out[i];
      if (c === "\\") { i++; continue; }
      if (inClass) { if (c === "]") inClass = false; continue; }
      if (c === "[") { inClass = true; continue; }
      if (c === "(") depth++;
      else if (c === ")") {
        if (depth === 0) { end = i; break; }
        depth--;
      }
    }
    out = out.slice(0, at) + "(?i:" + out.slice(at + 4, end) + ")" + out.slice(end);
  }
}

// Does the node (through $ref, allOf, anyOf, oneOf) declare properties of an object?
function declaresProperties(node, defs, seen = new Set()) {
  if (!node || typeof node !== "object") return false;
  if (node.properties) return true;
  if (node.$ref) {
    const name = node.$ref.replace("#/$defs/", "");
    if (seen.has(name)) return false;
    seen.add(name);
    return declaresProperties(defs[name], defs, seen);
  }
  return ["allOf", "anyOf", "oneOf"].some((k) => (node[k] || []).some((m) => declaresProperties(m, defs, seen)));
}

// `usage`: the node is where a value is checked (the document, a property's value, an array item, a
// map value) rather than a part composed into another node (a $defs body, an allOf/anyOf member).
// Only there does `unevaluatedProperties: false` go: it then sees the properties of every composed
// part (Go's embedded structs become allOf members), so putting it on the parts would refuse the
// properties of the whole.
function postProcess(schema, defs, usage) {
  if (Array.isArray(schema)) return schema.map((s) => postProcess(s, defs, false));
  if (!schema || typeof schema !== "object") return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "properties") {
      out[k] = Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, postProcess(pv, defs, true)]));
    } else if (k === "$defs") {
      out[k] = Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, postProcess(pv, defs, false)]));
    } else if (k === "items" || k === "additionalProperties") {
      out[k] = postProcess(v, defs, true);
    } else if (k === "enum" || k === "const" || k === "required") {
      out[k] = v;
    } else if (k === "pattern") {
      out[k] = pythonCompatiblePattern(v);
    } else {
      out[k] = postProcess(v, defs, false);
    }
  }
  if (usage && out.additionalProperties === undefined && declaresProperties(schema, defs)) {
    out.unevaluatedProperties = false;
  }
  return out;
}

// ---- driver --------------------------------------------------------------------------------------

function extract(kind, moduleBase) {
  const defs = {};
  const pending = [];
  const ctx = {
    ref(file) {
      const name = moduleName(file);
      if (!(name in defs)) {
        defs[name] = null; // reserved: recursion-safe
        pending.push(file);
      }
      return { $ref: `#/$defs/${name}` };
    },
  };
  const rootFile = resolveModule(`${PACKAGE}/_schemas/${moduleBase}`, path.join(nodeModules, "x.js"));
  const root = ctx.ref(rootFile);
  while (pending.length) {
    const file = pending.shift();
    const mod = loadModule(file);
    defs[mod.name] = decompile(mod, mod.exported, ctx);
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(nodeModules, PACKAGE, "package.json"), "utf8"));
  return postProcess({
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $comment:
      `monitoring.coreos.com/v1 ${kind}: decompiled from ${PACKAGE}@${pkg.version} _schemas/${moduleBase}.js ` +
      `by tools/extract-prometheus-crd-schemas.sh (strict: unknown properties refused). Do not edit; see README.md.`,
    ...root,
    $defs: Object.fromEntries(Object.entries(defs).sort(([a], [b]) => a.localeCompare(b))),
  }, defs, true);
}

fs.mkdirSync(outDir, { recursive: true });
for (const [kind, moduleBase] of Object.entries(KINDS)) {
  const schema = extract(kind, moduleBase);
  const out = path.join(outDir, `${kind.toLowerCase()}-monitoring-v1.json`);
  fs.writeFileSync(out, JSON.stringify(schema, null, 1) + "\n");
  console.error(`wrote ${out} (${Object.keys(schema.$defs).length} definitions)`);
}
