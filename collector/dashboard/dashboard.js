// The collector's dashboard: reads GET /v1/metrics, /v1/metrics/explain,
// /v1/environments and /v1/events from the same origin, draws a tile per
// figure (Pulse's four or DORA's five), five trend charts (Chart.js, served
// by the collector itself; the fifth splits lead time into its phases), the records behind a chosen figure and the
// window's events, for the chosen system and environments. No outside
// requests. Dates are ISO dates, UTC, like everything else.
"use strict";

const $ = (id) => document.getElementById(id);
const LEVELS = { elite: "Elite", high: "High", medium: "Medium", low: "Low" };
const charts = {};
let knownSystems = [];
// GET /v1/environments: the collector's production set and every
// environment seen (by system).
let environments = { production: [], environments: [] };

function duration(s) {
  if (s === null || s === undefined) return "no data";
  const pad = (n) => String(n).padStart(2, "0");
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m " + pad(s % 60) + "s";
  if (s < 86400) return Math.floor(s / 3600) + "h " + pad(Math.floor((s % 3600) / 60)) + "m";
  return Math.floor(s / 86400) + "d " + pad(Math.floor((s % 86400) / 3600)) + "h";
}

function percent(rate) {
  return rate === null ? "no data" : (Math.round(rate * 1000) / 10).toFixed(1) + "%";
}

function perDay(v) {
  if (v === null) return "no data";
  if (v >= 1) return v.toFixed(2) + " / day";
  if (v * 7 >= 1) return (v * 7).toFixed(2) + " / week";
  return (v * 30).toFixed(2) + " / month";
}

function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

function utc(t) { return t ? t.replace("T", " ").replace("Z", "") : "–"; }

function headers() {
  const key = sessionStorage.getItem("pulse-api-key");
  return key ? { Authorization: "Bearer " + key } : {};
}

async function getJson(path) {
  const res = await fetch(path, { headers: headers(), cache: "no-store" });
  if (res.status === 401) {
    $("key-form").hidden = false;
    throw new Error("it needs an API key: enter it below.");
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || res.status + " " + res.statusText);
  return body;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

// Buckets a window may hold (the collector's limit): long windows by week or month.
function fitBucket() {
  if (!DATE.test($("from").value) || !DATE.test($("to").value)) return;
  const days = (Date.parse($("to").value) - Date.parse($("from").value)) / 86400000 + 1;
  if ($("bucket").value === "day" && days > 3700) $("bucket").value = "week";
  if ($("bucket").value === "week" && days / 7 > 3700) $("bucket").value = "month";
}

function query() {
  fitBucket();
  const p = new URLSearchParams();
  for (const id of ["system", "environment", "team", "from", "to", "bucket"]) if ($(id).value) p.set(id, $(id).value);
  if ($("model").value === "dora") p.set("model", "dora");
  return p;
}

// The figure whose records are shown (?explain=), if any.
let explained = new URLSearchParams(location.search).get("explain") || "";
let lastMetrics = null;

// The environments counted: the chosen ones, else the production set.
function counted(m) { return m.environments; }

function otherEnvironments(m) {
  const names = new Set();
  for (const e of environments.environments)
    if ((!m.system || e.system === m.system) && !m.environments.includes(e.environment)) names.add(e.environment);
  return [...names].sort();
}

function fillEnvironments(selected) {
  const sel = $("environment");
  const names = [...new Set(environments.environments.map((e) => e.environment))].sort();
  sel.replaceChildren(new Option("Production (" + environments.production.join(", ") + ")", ""));
  for (const n of names) sel.add(new Option(n, n, n === selected, n === selected));
  if (names.length > 1 && names.length <= 32) {
    const all = names.join(",");
    sel.add(new Option("All environments", all, all === selected, all === selected));
  }
  if (selected && sel.value !== selected) sel.add(new Option(selected, selected, true, true));
}

function setTile(name, value, level, detail) {
  $(name + "-value").textContent = value;
  const l = $(name + "-level");
  l.textContent = level ? LEVELS[level] : "";
  l.className = "level" + (level ? " " + level : "");
  $(name + "-detail").textContent = detail;
}

// Why a tile is empty: the environments counted, and others that have data.
function noDeployments(m, elsewhere) {
  let why = "no deployments to " + counted(m).join(", ") + " in this window";
  if (elsewhere && elsewhere.deployments > 0)
    why += "; " + plural(elsewhere.deployments, "deployment") + " in " + elsewhere.names.join(", ") + " (choose it above)";
  return why;
}

function reasonsSummary(r) {
  const parts = [];
  for (const [k, word] of [["incident", "incident"], ["rollback", "rollback"], ["revert", "revert"], ["mark", "mark"]])
    if (r[k]) parts.push(plural(r[k], word));
  return parts.length ? " (" + parts.join(", ") + ")" : "";
}

function showFigures(m, elsewhere) {
  const f = m.overall, dora = m.model === "dora";
  const df = f.deployment_frequency, lt = f.lead_time, cfr = f.change_failure_rate;
  setTile("frequency", perDay(df.per_day), df.level, df.deployments === 0 ? noDeployments(m, elsewhere)
    : plural(df.deployments, "deployment") + " on " + df.deployment_days + " of " + plural(df.days, "day"));
  setTile("lead", duration(lt.median_seconds), lt.level,
    lt.changes === 0 ? "no deployed changes in this window" : "median of " + plural(lt.changes, "change"));
  $("lead-phases").textContent = phasesText(lt.phases, " · ");
  $("tile-recovery").dataset.metric = dora ? "failed_deployment_recovery_time" : "time_to_recover";
  $("recovery-title").textContent = dora ? "Failed deployment recovery time" : "Time to recover";
  $("failure-title").textContent = dora ? "Change fail rate" : "Change failure rate";
  $("tile-rework").hidden = !dora;
  if (dora) {
    const fdrt = f.failed_deployment_recovery_time, rw = f.deployment_rework_rate;
    setTile("recovery", duration(fdrt.median_seconds), fdrt.level,
      fdrt.recovered + fdrt.unrecovered === 0 ? "no failed deployments in this window"
        : "median of " + plural(fdrt.recovered, "recovered failure") +
          (fdrt.unrecovered ? ", " + fdrt.unrecovered + " not recovered yet" : ""));
    setTile("failure", percent(cfr.rate), cfr.level, cfr.deployments === 0 ? noDeployments(m, elsewhere)
      : cfr.failed_deployments + " of " + plural(cfr.deployments, "deployment") + " failed" + reasonsSummary(cfr.reasons));
    setTile("rework", percent(rw.rate), null, rw.deployments === 0 ? noDeployments(m, elsewhere)
      : rw.rework_deployments + " of " + plural(rw.deployments, "deployment") + " were unplanned fixes (no DORA bands)");
  } else {
    const ttr = f.time_to_recover;
    setTile("recovery", duration(ttr.median_seconds), ttr.level, ttr.incidents === 0
      ? "no incidents reported in this window: is pulse-incident connected?"
      : "median of " + plural(ttr.incidents, "incident") + ", mean " + duration(ttr.mean_seconds));
    setTile("failure", percent(cfr.rate), cfr.level, cfr.deployments === 0 ? noDeployments(m, elsewhere)
      : cfr.failed_deployments + " of " + plural(cfr.deployments, "deployment") + " followed by an incident");
  }
  $("footer").textContent = "All times UTC. Levels follow " + (dora ? "the " + m.edition : "Pulse's definitions") +
    "; “no data” means the window has nothing to measure.";
  const q = f.data_quality, notes = [];
  if (q.non_positive_lead_times) notes.push(plural(q.non_positive_lead_times, "change") + " with a lead time of zero or below (left out)");
  if (q.changes_without_time) notes.push(plural(q.changes_without_time, "shipped change") + " with no known time");
  if (q.incidents_without_deployment) notes.push(plural(q.incidents_without_deployment, "incident") + " with no earlier deployment");
  $("quality").textContent = notes.length ? "Data quality: " + notes.join("; ") + "." : "";
}

// "coding 2h 00m · review 1d 03h · deploy 45m 00s"; "" when no phase is known.
const PHASES = [["coding", "#1a73e8"], ["review", "#b06000"], ["deploy", "#137333"]];
function phasesText(phases, separator) {
  if (!phases || PHASES.every(([name]) => phases[name] === null)) return "";
  return PHASES.map(([name]) => name + " " + (phases[name] === null ? "–" : duration(phases[name]))).join(separator);
}

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function showSystems(m) {
  const dora = m.model === "dora";
  const heads = ["System", "Deployment frequency", "Lead time", dora ? "Failed deployment recovery" : "Time to recover",
    dora ? "Change fail rate" : "Change failure rate"].concat(dora ? ["Rework rate"] : []);
  const head = $("systems").tHead.rows[0];
  head.replaceChildren();
  for (const h of heads) head.append(Object.assign(document.createElement("th"), { textContent: h }));
  const body = $("systems").tBodies[0];
  body.replaceChildren();
  for (const s of m.systems) {
    const r = body.insertRow();
    r.dataset.system = s.system;
    const lvl = (x) => (x.level ? " (" + LEVELS[x.level] + ")" : "");
    const recovery = dora ? s.failed_deployment_recovery_time : s.time_to_recover;
    cell(r, s.system);
    cell(r, perDay(s.deployment_frequency.per_day) + lvl(s.deployment_frequency));
    cell(r, duration(s.lead_time.median_seconds) + lvl(s.lead_time));
    cell(r, duration(recovery.median_seconds) + lvl(recovery));
    cell(r, percent(s.change_failure_rate.rate) + lvl(s.change_failure_rate));
    if (dora) cell(r, percent(s.deployment_rework_rate.rate));
  }
}

function drawChart(id, type, labels, data, color, integers) {
  if (typeof Chart === "undefined") return;
  if (charts[id]) charts[id].destroy();
  charts[id] = new Chart($(id), {
    type,
    data: { labels, datasets: [{ data, borderColor: color, backgroundColor: color, spanGaps: true, tension: 0 }] },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: integers ? { precision: 0 } : {} } },
    },
  });
}

// The unit that fits the largest of some durations: seconds, minutes, hours or days.
function durationUnit(seconds) {
  const max = Math.max(0, ...seconds.filter((s) => s !== null));
  return max >= 3 * 86400 ? ["days", 86400] : max >= 3 * 3600 ? ["hours", 3600]
    : max >= 180 ? ["minutes", 60] : ["seconds", 1];
}
const inUnit = (s, size) => (s === null ? null : Math.round((s / size) * 100) / 100);

function durationSeries(id, captionId, title, labels, seconds, color) {
  const [unit, size] = durationUnit(seconds);
  $(captionId).textContent = title + " (" + unit + ")";
  drawChart(id, "line", labels, seconds.map((s) => inUnit(s, size)), color);
}

// Coding, review and deploy medians per bucket, one line each.
function phasesSeries(labels, points) {
  if (typeof Chart === "undefined") return;
  const series = PHASES.map(([name]) => points.map((p) => p.lead_time.phases[name]));
  const [unit, size] = durationUnit(series.flat());
  $("caption-phases").textContent = "Lead time phases, median (" + unit + ")";
  if (charts["chart-phases"]) charts["chart-phases"].destroy();
  charts["chart-phases"] = new Chart($("chart-phases"), {
    type: "line",
    data: { labels, datasets: PHASES.map(([name, color], i) => ({ label: name, data: series[i].map((s) => inUnit(s, size)),
      borderColor: color, backgroundColor: color, spanGaps: true, tension: 0 })) },
    options: { animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { legend: { display: true, position: "bottom", labels: { boxWidth: 12 } } }, scales: { y: { beginAtZero: true } } },
  });
}

function showSeries(m) {
  const points = m.series.points, dora = m.model === "dora";
  const labels = points.map((p) => p.start.slice(0, 10));
  drawChart("chart-frequency", "bar", labels, points.map((p) => p.deployment_frequency.deployments), "#1a73e8", true);
  durationSeries("chart-lead", "caption-lead", "Lead time, median", labels, points.map((p) => p.lead_time.median_seconds), "#137333");
  durationSeries("chart-recovery", "caption-recovery", dora ? "Failed deployment recovery, median" : "Time to recover, median",
    labels, points.map((p) => (dora ? p.failed_deployment_recovery_time : p.time_to_recover).median_seconds), "#b06000");
  $("caption-failure").textContent = dora ? "Change fail rate (%)" : "Change failure rate (%)";
  drawChart("chart-failure", "line", labels,
    points.map((p) => (p.change_failure_rate.rate === null ? null : Math.round(p.change_failure_rate.rate * 1000) / 10)), "#c5221f");
  phasesSeries(labels, points);
}

// The window's latest deployments and incidents, for the same system and environments.
async function showEvents(m) {
  const p = new URLSearchParams({ limit: "20", since: m.window.from, until: m.window.to,
    environment: counted(m).join(",") });
  if (m.system) p.set("system", m.system);
  if (m.team) p.set("team", m.team);  // its deployments, and the incidents attributed to them
  const [deps, incs] = await Promise.all([
    getJson("/v1/events?type=deployment&" + p),
    getJson("/v1/events?type=incident&" + p),
  ]);
  const db = $("deployments").tBodies[0];
  db.replaceChildren();
  for (const d of deps.events) {
    const r = db.insertRow();
    cell(r, utc(d.time_created));
    cell(r, d.system);
    cell(r, d.environment);
    const id = cell(r, d.run_url ? "" : d.id);
    if (d.run_url) {  // the collector accepts http(s) URLs only
      const a = document.createElement("a");
      a.href = d.run_url;
      a.rel = "noopener noreferrer";
      a.textContent = d.id;
      a.title = "the CI run that deployed it";
      id.append(a);
    }
    const shown = d.changes.slice(0, 5).map((c) => c.slice(0, 12)).join(" ");
    const more = d.changes.length > 5 ? " +" + (d.changes.length - 5) : "";
    const td = cell(r, d.changes.length + " ");
    const code = document.createElement("code");
    code.textContent = shown + more;
    td.append(code);
  }
  if (!deps.events.length) cell(db.insertRow(), "none in this window").colSpan = 5;
  const ib = $("incidents").tBodies[0];
  ib.replaceChildren();
  for (const i of incs.events) {
    const r = ib.insertRow();
    cell(r, utc(i.time_created));
    cell(r, i.system);
    cell(r, i.environment);
    cell(r, i.id);
    const secs = i.time_resolved ? (Date.parse(i.time_resolved) - Date.parse(i.time_created)) / 1000 : null;
    cell(r, secs === null ? "open" : duration(secs));
  }
  if (!incs.events.length) cell(ib.insertRow(), "none in this window").colSpan = 5;
}

// With no deployments counted: how many the other environments have.
async function elsewhere(m) {
  if (m.overall.deployment_frequency.deployments > 0) return null;
  const names = otherEnvironments(m);
  if (!names.length || names.length > 32) return null;
  const p = new URLSearchParams({ from: m.window.from, to: m.window.to, bucket: "month", environment: names.join(",") });
  if (m.system) p.set("system", m.system);
  const other = await getJson("/v1/metrics?" + p);
  return { deployments: other.overall.deployment_frequency.deployments, names };
}

const TITLES = {
  deployment_frequency: "Deployments counted", lead_time: "Changes and their lead times",
  time_to_recover: "Incidents and their recovery", change_failure_rate: "Failed deployments and why",
  failed_deployment_recovery_time: "Failed deployments and their recovery", deployment_rework_rate: "Rework deployments and why",
};

// "incident I1; rolled back by P3": what decided a record, for people.
function reasonText(r) {
  switch (r.reason) {
    case "incident": return "incident " + r.incident;
    case "rollback": return r.by ? "rolled back by " + r.by : "a rollback";
    case "revert": return r.by ? "reverted by " + r.by : "ships a revert";
    case "fix": return "fixes " + (r.fixes || "a deployment not stored");
    case "during incident": return "made while incident " + r.incident + " was open";
    case "mark": return [r.status ? "marked " + r.status : "", r.fixed_by ? "fixed by " + r.fixed_by : ""].filter(Boolean).join(", ");
    default: return r.reason;
  }
}

function recordRow(metric, r) {
  if (metric === "lead_time")
    return [utc(r.deployed), r.system, r.environment, r.change.slice(0, 12),
      "deployed by " + (r.deployment || "–") + "; " + r.time_source + " time " + utc(r.time) + "; lead time " +
        duration(r.lead_seconds) + (phasesText(r.phases, ", ") ? " (" + phasesText(r.phases, ", ") + ")" : "")];
  if (metric === "time_to_recover")
    return [utc(r.time), r.system, r.environment, r.incident,
      "recovered in " + duration(r.seconds) + (r.deployment ? "; after deployment " + r.deployment : "; no earlier deployment")];
  const why = (r.reasons || []).map(reasonText);
  if ("recovery_seconds" in r)
    why.push(r.recovery_seconds === null ? "not recovered yet" : "recovered in " + duration(r.recovery_seconds));
  return [utc(r.time), r.system, r.environment, r.deployment, why.join("; ")];
}

// The records behind one figure, a page at a time.
async function showExplained(m, append) {
  const box = $("drilldown");
  for (const t of document.querySelectorAll(".tile")) t.classList.toggle("chosen", t.dataset.metric === explained);
  if (!explained) { box.hidden = true; return; }
  const p = new URLSearchParams({ metric: explained, from: m.window.from, to: m.window.to, model: m.model, limit: "100",
    environment: counted(m).join(",") });
  if (m.system) p.set("system", m.system);
  if (m.team) p.set("team", m.team);
  const body = $("drilldown-table").tBodies[0];
  if (append) p.set("cursor", body.dataset.next);
  const page = await getJson("/v1/metrics/explain?" + p);
  box.hidden = false;
  $("drilldown-title").textContent = TITLES[explained] || explained;
  const head = $("drilldown-table").tHead.rows[0];
  head.replaceChildren();
  const what = explained === "lead_time" ? "Change" : explained === "time_to_recover" ? "Incident" : "Deployment";
  for (const h of ["Time (UTC)", "System", "Environment", what, "Why"]) head.append(Object.assign(document.createElement("th"), { textContent: h }));
  if (!append) body.replaceChildren();
  for (const r of page.records) {
    const row = body.insertRow();
    for (const v of recordRow(explained, r)) cell(row, v);
  }
  if (!page.count) cell(body.insertRow(), "nothing counted in this window").colSpan = 5;
  body.dataset.next = page.next === null ? "" : String(page.next);
  $("drilldown-more").hidden = page.next === null;
  const left = page.left_out_count ? "; " + plural(page.left_out_count, "change") + " left out (" +
    [...new Set(page.left_out.map((x) => x.reason))].join("; ") + ")" : "";
  $("drilldown-summary").textContent = plural(page.count, "record") + ", showing " + body.rows.length + left;
}

// The window is empty but events exist before it: offer the 90 days up to the latest.
async function offerWindow(m) {
  const o = m.overall;
  $("offer").hidden = true;
  if (o.deployment_frequency.deployments || o.lead_time.changes || (o.time_to_recover || {}).incidents) return;
  const p = new URLSearchParams({ limit: "1", until: m.window.from });
  if (m.system) p.set("system", m.system);
  const older = await getJson("/v1/events?" + p);
  const latest = older.events.length && (older.events[0].time_created || older.events[0].time_pushed);
  if (!latest) return;
  const to = latest.slice(0, 10);
  const from = new Date(Date.parse(to) - 89 * 86400000).toISOString().slice(0, 10);
  $("offer-text").textContent = "Nothing in this window; the latest earlier event is from " + to + ".";
  $("offer-button").textContent = "Show " + from + " to " + to;
  $("offer-button").onclick = () => { $("from").value = from; $("to").value = to; load(); };
  $("offer").hidden = false;
}

function fillTeams(teams, selected) {
  const sel = $("team");
  sel.replaceChildren(new Option("All teams", ""));
  for (const t of teams) sel.add(new Option(t, t, t === selected, t === selected));
  if (selected && sel.value !== selected) sel.add(new Option(selected, selected, true, true));
}

function fillSystems(systems, selected) {
  for (const s of systems) if (!knownSystems.includes(s)) knownSystems.push(s);
  knownSystems.sort();
  const sel = $("system");
  sel.replaceChildren(new Option("All systems", ""));
  for (const s of knownSystems) sel.add(new Option(s, s, s === selected, s === selected));
}

async function load() {
  const status = $("status");
  status.className = "";
  status.textContent = "Loading…";
  for (const id of ["from", "to"])
    if ($(id).value && !DATE.test($(id).value)) {
      status.className = "error";
      status.textContent = (id === "from" ? "From" : "To") + ": enter a date as YYYY-MM-DD (UTC).";
      return;
    }
  const p = query();
  const shown = new URLSearchParams(p);
  if (explained) shown.set("explain", explained);
  history.replaceState(null, "", shown.toString() ? "?" + shown : location.pathname);
  try {
    const [m, envs, teams] = await Promise.all([getJson("/v1/metrics?" + p), getJson("/v1/environments"),
      getJson("/v1/teams")]);
    environments = envs;
    fillTeams(teams.teams, p.get("team") || "");
    fillEnvironments(p.get("environment") || "");
    $("key-form").hidden = true;
    const toDate = new Date(Date.parse(m.window.to) - 1000).toISOString().slice(0, 10);
    if (!$("from").value) $("from").value = m.window.from.slice(0, 10);
    if (!$("to").value) $("to").value = toDate;
    $("window").textContent = (m.system || "All systems") + (m.team ? " · team " + m.team : "") + " · " +
      counted(m).join(", ") + " · " +
      utc(m.window.from) + " to " + utc(m.window.to) + " UTC";
    fillSystems(m.systems.map((s) => s.system).concat(environments.environments.map((e) => e.system)), m.system || "");
    showFigures(m, await elsewhere(m));
    for (const o of $("model").options) o.defaultSelected = o.value === m.model;
    showSystems(m);
    showSeries(m);
    if (explained && !document.querySelector('.tile[data-metric="' + explained + '"]:not([hidden])')) explained = "";
    lastMetrics = m;
    await Promise.all([showEvents(m), showExplained(m, false), offerWindow(m)]);
    status.textContent = "";
    // Whether the page is wider than the screen (phones): for people debugging layouts, and the tests.
    document.body.dataset.overflow = String(document.documentElement.scrollWidth > document.documentElement.clientWidth);
    document.body.dataset.loaded = "true";
  } catch (e) {
    status.className = "error";
    status.textContent = "Could not load the metrics: " + e.message;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const p = new URLSearchParams(location.search);
  for (const id of ["from", "to", "bucket", "model"]) if (p.get(id)) $(id).value = p.get(id);
  if (p.get("system")) fillSystems([p.get("system")], p.get("system"));
  if (p.get("environment")) fillEnvironments(p.get("environment"));
  if (p.get("team")) fillTeams([p.get("team")], p.get("team"));
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  $("system").addEventListener("change", load);
  $("environment").addEventListener("change", load);
  $("team").addEventListener("change", load);
  $("bucket").addEventListener("change", load);
  $("model").addEventListener("change", load);
  for (const tile of document.querySelectorAll(".tile[data-metric]")) {
    const choose = () => { explained = explained === tile.dataset.metric ? "" : tile.dataset.metric; load(); };
    tile.addEventListener("click", choose);
    tile.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); choose(); } });
  }
  $("drilldown-close").addEventListener("click", () => { explained = ""; load(); });
  $("drilldown-more").addEventListener("click", () => { if (lastMetrics) showExplained(lastMetrics, true); });
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem("pulse-api-key", $("key").value);
    $("key").value = "";
    load();
  });
  load();
});
