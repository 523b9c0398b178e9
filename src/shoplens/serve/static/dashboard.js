// ShopLens dashboard: one panel per domain, each drawn from the REST API of the same server.
// A panel says which parts of the state it depends on ("user", "item", "query", "load") and is redrawn
// when one of them changes; adding a capability is one router on the server and one `panel(...)` here.
"use strict";

const state = { user: null, item: null, query: "" };
const panels = [];

// --------------------------------------------------------------------------------------------- helpers
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c != null) el.append(c instanceof Node ? c : String(c));
  return el;
}

async function api(path, params = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params)) {
    for (const one of [].concat(v)) if (one != null && one !== "") url.searchParams.append(k, one);
  }
  const key = localStorage.getItem("shoplens-key");
  const reply = await fetch(url, { headers: key ? { "X-API-Key": key } : {} });
  const body = await reply.json().catch(() => ({}));
  if (!reply.ok) throw new Error(typeof body.detail === "string" ? body.detail : `${reply.status} ${reply.statusText}`);
  return body;
}

const fmt = (x, digits = 2) => (x == null || Number.isNaN(x) ? "–" : Number(x).toFixed(digits));
const pct = (x) => (x == null ? "–" : `${Math.round(100 * x)}%`);

function itemLink(id, title) {
  return h("a", { class: "item", "data-item": id, title: id, onclick: () => select({ item: id }) }, title || id);
}

async function titles(ids) {
  const unique = [...new Set(ids.filter((i) => i != null))];
  if (!unique.length) return {};
  const found = await api("/items", { id: unique });
  return Object.fromEntries(found.items.map((row) => [String(row.item_id), row]));
}

function bars(rows, label, value) {
  const max = Math.max(...rows.map(value), 1e-9);
  return h("div", {}, rows.map((row) => h("div", { class: "bar" },
    h("span", {}, label(row)),
    h("span", {}, h("span", { class: "fill", style: `width:${(100 * value(row)) / max}%` })),
    h("span", { class: "muted" }, pct(value(row))))));
}

// What the CLI prints on stderr as `warning: ...` (a result's `warnings` list, or churn's one `warning`):
// the same words, above the result they qualify.
function warningList(r) {
  const all = [].concat(r.warnings || [], r.warning || []);
  return all.length ? h("ul", { class: "warnings" }, all.map((w) => h("li", {}, "warning: ", w))) : null;
}

// --------------------------------------------------------------------------------------------- panels
function panel(id, title, on, render) {
  const body = h("div", { class: "body" });
  const section = h("section", { class: "panel", id }, h("h2", {}, title), body);
  document.getElementById("panels").append(section);
  panels.push({ on, draw: async () => {
    body.replaceChildren(h("span", { class: "muted" }, "loading …"));
    try {
      const content = await render();
      body.replaceChildren(...[].concat(content));
    } catch (error) {
      body.replaceChildren(h("span", { class: "error" }, error.message));
    }
    section.dataset.ready = "1";
  } });
}

function select(change) {
  Object.assign(state, change);
  if (change.user) document.getElementById("user").value = change.user;
  for (const p of panels) if (p.on.some((k) => k in change)) p.draw();
}

panel("profile", "Interest profile", ["user"], async () => {
  const p = await api(`/profile/${encodeURIComponent(state.user)}`);
  const rfm = p.rfm || {};
  return [
    h("p", {}, h("b", {}, p.user_id), ` · ${rfm.segment || "no segment"} · ${p.events} events · `,
      `${rfm.purchases ?? 0} purchases · spend ${fmt(rfm.spend)}`),
    h("h3", {}, "Categories"), bars(p.categories || [], (r) => r.name, (r) => r.share),
    h("h3", {}, "Interests"),
    h("ul", {}, (p.interests || []).map((i) => h("li", {}, h("b", {}, i.category), ` ${pct(i.share)} — `,
      h("span", { class: "muted" }, (i.keywords || []).join(" · "))))),
    p.drift && p.drift.distance != null
      ? h("p", { class: "muted" }, `drift ${fmt(p.drift.distance)} · rising: ${p.drift.rising.join(", ") || "–"}`
        + ` · fading: ${p.drift.fading.join(", ") || "–"}`) : null,
  ];
});

panel("history", "Recent activity", ["user"], async () => {
  const r = await api(`/history/${encodeURIComponent(state.user)}`, { limit: 12 });
  return h("table", {}, r.events.map((e) => h("tr", {},
    h("td", { class: "muted" }, String(e.ts).slice(0, 16).replace("T", " ")), h("td", {}, e.event),
    h("td", {}, e.item_id ? itemLink(String(e.item_id), e.title) : ""))));
});

panel("recommendations", "Recommended for this user", ["user"], async () => {
  const r = await api("/recommend", { user: state.user, k: 10, explain: true });
  const info = await titles(r.recommendations.flatMap((x) => [x.item_id, ...(x.because || []).map((b) => b.item_id)]));
  const name = (id) => (info[id] && info[id].title) || id;
  return [
    h("ol", { id: "recommendation-list" }, r.recommendations.map((x) => h("li", {}, itemLink(x.item_id, name(x.item_id)),
      h("div", { class: "because" }, "because of: ", (x.because || []).map((b) => name(b.item_id)).join(" · ") || "–")))),
    h("p", { class: "muted" }, `model ${r.model} · version ${r.version} · source ${r.source}`),
  ];
});

panel("search", "Search", ["query", "user"], async () => {
  if (!state.query) return h("span", { class: "muted" }, "type a query above (English or 中文)");
  const r = await api("/search", { q: state.query, user: state.user, k: 10 });
  if (!r.items.length) return h("span", { class: "muted" }, r.reason || "no results");
  return [
    h("ol", { id: "search-results" }, r.items.map((x) => h("li", {}, itemLink(String(x.item_id), x.title),
      h("span", { class: "muted" }, ` ${x.category || ""} · ${fmt(x.price)}`)))),
    h("p", { class: "muted" }, (r.notes || []).join(" · ")),
  ];
});

panel("product", "Product", ["item"], async () => {
  if (!state.item) return h("span", { class: "muted" }, "click a product to see it here");
  const info = await titles([state.item]);
  const row = info[state.item];
  if (!row) return h("span", { class: "error" }, `item ${state.item} is not in the catalogue`);
  const similar = await api("/similar-items", { item: state.item, k: 6 }).catch(() => ({ similar: [] }));
  const names = await titles(similar.similar.map((s) => s.item_id));
  return [
    h("h3", { id: "product-title" }, row.title),
    h("p", { class: "muted" }, `${row.category || ""} · ${row.brand || ""} · price ${fmt(row.price)}`),
    row.description ? h("p", {}, String(row.description).slice(0, 300)) : null,
    h("h3", {}, "Similar items"),
    h("ul", {}, similar.similar.map((s) => h("li", {}, itemLink(s.item_id, (names[s.item_id] || {}).title),
      h("span", { class: "muted" }, ` ${fmt(s.similarity)}`)))),
  ];
});

panel("reviews", "Review insights", ["item"], async () => {
  if (!state.item) return h("span", { class: "muted" }, "click a product to see what its reviews say");
  let r;
  try { r = await api("/reviews/analyze", { item: state.item, top: 4 }); }
  catch (error) { return h("span", { class: "muted" }, error.message); }
  const side = (rows, cls) => h("ul", {}, rows.map((a) => h("li", {}, h("b", { class: cls }, a.aspect),
    ` ${a.mentions}× (${pct(a.share)}) `, h("span", { class: "muted" }, `“${a.example}”`))));
  return [
    h("p", {}, `${r.n_reviews} reviews · mean rating ${fmt(r.mean_rating)}`),
    h("h3", {}, "Pros"), side(r.top_positive, "pos"),
    h("h3", {}, "Cons"), side(r.top_negative, "neg"),
    h("p", { class: "muted" }, "keywords: " + r.keywords.join(" · ")),
  ];
});

panel("forecast", "Demand forecast", ["load", "series"], async () => {
  const r = await api("/forecast", { level: "category", horizon: 28, series: state.series });
  const chooser = h("select", { onchange: (e) => select({ series: e.target.value }) },
    r.series_by_volume.map((s) => h("option", s === r.series ? { value: s, selected: "" } : { value: s }, s)));
  return [warningList(r), chooser, forecastChart(r), h("p", { class: "muted" },
    `model ${r.series_model || r.model} · 80% interval · ` + (r.notes || []).join(" · "))];
});

function forecastChart(r) {
  const W = 560, H = 220, pad = 34;
  const hist = r.history.map((p) => [Date.parse(p.ds), p.y]);
  const fc = r.forecast.map((p) => [Date.parse(p.ds), p.yhat, p.yhat_lo80, p.yhat_hi80]);
  const xs = [...hist, ...fc].map((p) => p[0]);
  const ys = [...hist.map((p) => p[1]), ...fc.flatMap((p) => [p[2] ?? p[1], p[3] ?? p[1]])];
  const [x0, x1, y1] = [Math.min(...xs), Math.max(...xs), Math.max(...ys, 1)];
  const X = (t) => pad + ((t - x0) / Math.max(x1 - x0, 1)) * (W - 2 * pad);
  const Y = (v) => H - pad + 10 - (v / y1) * (H - 2 * pad);
  const line = (pts, i) => pts.map((p, j) => `${j ? "L" : "M"}${X(p[0]).toFixed(1)},${Y(p[i]).toFixed(1)}`).join("");
  const band = fc.length ? line(fc, 3) + fc.slice().reverse().map((p) => `L${X(p[0]).toFixed(1)},${Y(p[2]).toFixed(1)}`).join("") + "Z" : "";
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="forecast chart">
    <path d="${band}" fill="#2f6fde" fill-opacity="0.15"/>
    <path d="${line(hist, 1)}" fill="none" stroke="#1d2433" stroke-width="1.4"/>
    <path d="${line(fc, 1)}" fill="none" stroke="#2f6fde" stroke-width="2"/>
    <text x="${pad}" y="14">${y1.toFixed(0)}</text><text x="${pad}" y="${H - 6}">${new Date(x0).toISOString().slice(0, 10)}</text>
    <text x="${W - pad - 70}" y="${H - 6}">${new Date(x1).toISOString().slice(0, 10)}</text></svg>`;
  return h("div", { id: "forecast-chart" }, new DOMParser().parseFromString(svg, "image/svg+xml").documentElement);
}

panel("churn", "Churn risk", ["load"], async () => {
  const r = await api("/churn", { budget: 12 });
  const warned = warningList(r.summary || {});
  if (!r.at_risk.length) return [warned, h("span", { class: "muted" }, "no customer at risk")];
  const columns = Object.keys(r.at_risk[0]).slice(0, 5);
  return [warned, h("p", { class: "muted" }, `model ${(r.summary || {}).model || ""}`),
    h("table", {}, h("tr", {}, columns.map((c) => h("th", {}, c))),
    r.at_risk.map((row) => h("tr", {}, columns.map((c) => {
      const v = row[c];
      if (c === "user_id") return h("td", {}, h("a", { class: "item", onclick: () => select({ user: String(v) }) }, v));
      return h("td", { class: typeof v === "number" ? "num" : "" }, typeof v === "number" ? fmt(v) : v);
    }))))];
});

// --------------------------------------------------------------------------------------------- start
document.getElementById("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  select({ query: document.getElementById("query").value.trim() });
});
document.getElementById("user").addEventListener("change", (event) => select({ user: event.target.value.trim() }));
document.getElementById("query").addEventListener("input", async (event) => {
  const r = await api("/suggest", { prefix: event.target.value, k: 8 }).catch(() => ({ suggestions: [] }));
  document.getElementById("suggestions").replaceChildren(...r.suggestions.map((s) => h("option", { value: s.query })));
});

(async () => {
  const health = await api("/healthz").catch(() => ({}));
  document.getElementById("workspace").textContent = health.workspace ? `workspace ${health.workspace}` : "";
  const users = await api("/users", { limit: 30 }).catch(() => ({ users: [] }));
  document.getElementById("users").replaceChildren(...users.users.map((u) => h("option", { value: u.user_id })));
  const first = new URLSearchParams(location.search).get("user") || (users.users[0] || {}).user_id;
  select({ load: true, ...(first ? { user: String(first) } : {}) });
})();
