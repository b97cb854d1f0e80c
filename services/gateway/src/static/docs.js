(function () {
  "use strict";
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { if (k === "class") e.className = attrs[k]; else e.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }
  function resolve(spec, schema, depth) {
    if (!schema || depth > 6) return schema;
    if (schema.$ref) {
      var name = schema.$ref.split("/").pop();
      return resolve(spec, (spec.components.schemas || {})[name], depth + 1);
    }
    var out = Array.isArray(schema) ? [] : {};
    Object.keys(schema).forEach(function (k) {
      var v = schema[k];
      out[k] = (v && typeof v === "object") ? resolve(spec, v, depth + 1) : v;
    });
    return out;
  }
  function pre(obj) { return el("pre", {}, [JSON.stringify(obj, null, 2)]); }
  fetch("/openapi.json").then(function (r) { return r.json(); }).then(function (spec) {
    document.getElementById("title").textContent = spec.info.title;
    document.getElementById("version").textContent = "v" + spec.info.version + " · OpenAPI " + spec.openapi;
    document.getElementById("description").textContent = spec.info.description || "";
    var byTag = {};
    Object.keys(spec.paths).forEach(function (path) {
      Object.keys(spec.paths[path]).forEach(function (method) {
        var op = spec.paths[path][method];
        var tag = (op.tags && op.tags[0]) || "default";
        (byTag[tag] = byTag[tag] || []).push({ path: path, method: method, op: op });
      });
    });
    var root = document.getElementById("ops");
    var tagDesc = {};
    (spec.tags || []).forEach(function (t) { tagDesc[t.name] = t.description; });
    Object.keys(byTag).forEach(function (tag) {
      root.appendChild(el("h2", {}, [tagDesc[tag] || tag]));
      byTag[tag].forEach(function (o) {
        var body = el("div", { class: "body" }, []);
        if (o.op.description || o.op.summary) body.appendChild(el("p", {}, [o.op.description || o.op.summary]));
        if (o.op.security) body.appendChild(el("p", { class: "lock" }, ["需要 Bearer 令牌 / requires a bearer token"]));
        if (o.op.parameters && o.op.parameters.length) {
          var t = el("table", {}, [el("tr", {}, [el("th", {}, ["参数 / parameter"]), el("th", {}, ["位置 / in"]), el("th", {}, ["说明 / description"])])]);
          o.op.parameters.forEach(function (p) { t.appendChild(el("tr", {}, [el("td", {}, [el("code", {}, [p.name])]), el("td", {}, [p.in]), el("td", {}, [p.description || ""])])); });
          body.appendChild(t);
        }
        var rb = o.op.requestBody && o.op.requestBody.content && o.op.requestBody.content["application/json"];
        if (rb) {
          body.appendChild(el("h4", {}, ["请求体 / request body"]));
          if (rb.example) { body.appendChild(el("p", {}, ["示例 / example"])); body.appendChild(pre(rb.example)); }
          body.appendChild(pre(resolve(spec, rb.schema, 0)));
        }
        body.appendChild(el("h4", {}, ["响应 / responses"]));
        var rt = el("table", {}, []);
        Object.keys(o.op.responses || {}).forEach(function (code) {
          var r = o.op.responses[code];
          rt.appendChild(el("tr", {}, [el("td", {}, [el("code", {}, [code])]), el("td", {}, [r.description || ""])]));
        });
        body.appendChild(rt);
        var s = el("summary", {}, [el("span", { class: "m " + o.method }, [o.method]), el("code", {}, [o.path]), el("span", {}, [o.op.summary || ""])]);
        root.appendChild(el("details", {}, [s, body]));
      });
    });
  }).catch(function (e) {
    document.getElementById("description").textContent = "无法加载 /openapi.json / could not load it: " + e;
  });
})();
