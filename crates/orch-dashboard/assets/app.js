// orch dashboard: renders the REST views and refreshes them on every event of the live
// feed. No framework, no build step; every value from the server goes in as text, never
// as HTML.
"use strict";

const STATUSES = ["pending", "ready", "running", "verifying", "awaiting_review", "merging", "completed",
  "failed", "escalated", "blocked", "skipped", "cancelled"];
const ACTIVITY_KEPT = 200;

const app = {
  token: null,          // the per-run token, from the URL fragment; never sent in a URL
  canAnswer: false,     // the server accepted the token
  lastSeq: 0,           // newest event seen: a reconnect resumes after it
  selected: null,       // task id shown in the detail panel
  tasks: new Map(),     // id -> row
  tasksSeq: 0,          // the event the task list is up to date with: deltas start there
  socket: null,
  retryMs: 500,
  refreshTimer: null,
  refreshAgain: false,
  logTimer: null,
  run: null,
  runFetchedAt: 0,
};

// ---- small DOM helpers ----------------------------------------------------------------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
const $ = (id) => document.getElementById(id);
const pill = (status) => el("span", { class: `pill s-${status}`, dataset: { status } }, status);
const pct = (q) => (q === null || q === undefined ? "–" : `${Math.round(q * 100)}%`);

function duration(ms) {
  if (ms === null || ms === undefined) return "–";
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}h ${String(m).padStart(2, "0")}m` : m ? `${m}m ${String(r).padStart(2, "0")}s` : `${r}s`;
}
const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour12: false });

// ---- the token --------------------------------------------------------------------------
function readToken() {
  const params = new URLSearchParams(location.hash.slice(1));
  const fromUrl = params.get("token");
  if (fromUrl) {
    sessionStorage.setItem("orch-token", fromUrl);
    // Out of the address bar (and of screenshots and history) as soon as it is read.
    history.replaceState(null, "", location.pathname + location.search);
  }
  app.token = sessionStorage.getItem("orch-token");
}

async function api(path, options = {}) {
  const headers = Object.assign({ Accept: "application/json" }, options.headers || {});
  if (app.token) headers.Authorization = `Bearer ${app.token}`;
  const response = await fetch(path, Object.assign({}, options, { headers, cache: "no-store" }));
  if (response.status === 204) return null;
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const err = new Error(body.message || `${response.status} ${response.statusText}`);
    err.status = response.status;
    throw err;
  }
  return body;
}

async function checkToken() {
  if (!app.token) {
    app.canAnswer = false;
  } else {
    try { await api("/api/auth"); app.canAnswer = true; } catch (_) { app.canAnswer = false; }
  }
  $("auth-note").textContent = app.canAnswer
    ? "· you can answer"
    : "· read-only: open the URL `orch dashboard` printed (with #token=…) to answer";
}

function banner(text) {
  const b = $("banner");
  b.hidden = !text;
  b.textContent = text || "";
}

// ---- header -------------------------------------------------------------------------------
function renderState(s) {
  $("plan-name").textContent = s.plan ? s.plan.name : "no plan";
  $("fig-wave").textContent = s.wave ? `${s.wave} / ${s.wave_count}` : s.total ? "done" : "–";
  $("fig-completed").textContent = `${s.completed} / ${s.total}`;
  $("fig-pending").textContent = s.pending;
  $("fig-active").textContent = s.active;
  $("fig-stuck").textContent = s.stuck;
  $("fig-sessions").textContent = s.active_sessions;
  $("fig-messages").textContent = s.open_messages;
  $("fig-messages").classList.toggle("hot", s.open_messages > 0);
  const spent = s.cost_usd === null ? null : `$${s.cost_usd.toFixed(2)}`;
  $("fig-cost").textContent = s.budget_usd ? `${spent || "$0.00"} / $${s.budget_usd.toFixed(2)}` : (spent || "–");
  $("fig-cost").classList.toggle("hot", !!s.budget_usd && s.cost_usd >= s.budget_usd);
  $("progress-bar").style.width = s.total ? `${(100 * s.completed) / s.total}%` : "0";
  app.run = s.run;
  app.runFetchedAt = Date.now();
  $("run-state").textContent = s.run
    ? (s.run.outcome ? `run ${s.run.outcome}` : `running · ${s.run.agent} × ${s.run.parallel}`)
    : "not run yet";
  tickElapsed();
}

function tickElapsed() {
  const run = app.run;
  if (!run) { $("fig-elapsed").textContent = "–"; return; }
  const extra = run.outcome ? 0 : Date.now() - app.runFetchedAt;
  $("fig-elapsed").textContent = duration(run.elapsed_ms + extra);
}

// ---- tasks --------------------------------------------------------------------------------
function renderTasks(epics) {
  app.tasks.clear();
  const root = $("tasks");
  root.replaceChildren();
  if (!epics.length) {
    root.append(el("p", { class: "muted" }, "No plan imported yet."));
    return;
  }
  for (const epic of epics) {
    root.append(el("div", { class: "epic" }, `${epic.id} · ${epic.name} `,
      el("span", { class: "muted", dataset: { epicDone: epic.id } })));
    const body = el("tbody");
    for (const t of epic.tasks) {
      app.tasks.set(t.id, t);
      body.append(el("tr", {
        class: `task${t.id === app.selected ? " selected" : ""}`,
        dataset: { task: t.id, status: t.status },
        onclick: () => select(t.id),
      },
      el("td", {}, el("code", {}, t.id)),
      el("td", {}, t.title),
      el("td", {}, pill(t.status)),
      el("td", { class: "num" }, t.wave),
      el("td", { class: "num" }, t.attempts),
      el("td", { class: "num" }, pct(t.quality))));
    }
    root.append(el("table", {},
      el("thead", {}, el("tr", {}, ["Task", "Title", "Status", "Wave", "Tries", "Quality"]
        .map((h, i) => el("th", { class: i >= 3 ? "num" : null }, h)))),
      body));
  }
  countDone();
  renderGraph(epics);
}

// The "done/total" beside each epic's name, from the rows as they are now.
function countDone() {
  const counts = new Map();
  for (const t of app.tasks.values()) {
    const c = counts.get(t.epic) || [0, 0];
    c[0] += t.status === "completed" ? 1 : 0;
    c[1] += 1;
    counts.set(t.epic, c);
  }
  for (const span of document.querySelectorAll("[data-epic-done]")) {
    const [done, total] = counts.get(span.dataset.epicDone) || [0, 0];
    span.textContent = `${done}/${total}`;
  }
}

// ---- dependency graph: one column per wave, edges from dependency to dependent ------------
function renderGraph(epics) {
  const NS = "http://www.w3.org/2000/svg";
  const svg = (tag, attrs) => {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    return n;
  };
  const all = epics.flatMap((e) => e.tasks);
  const root = $("graph");
  root.replaceChildren();
  if (!all.length) return;
  const W = 150, H = 24, GX = 46, GY = 10, TOP = 22;
  const waves = new Map();
  for (const t of all) {
    if (!waves.has(t.wave)) waves.set(t.wave, []);
    waves.get(t.wave).push(t);
  }
  const order = [...waves.keys()].sort((a, b) => a - b);
  const pos = new Map();
  order.forEach((w, col) => waves.get(w).forEach((t, row) => {
    pos.set(t.id, { x: col * (W + GX) + 4, y: TOP + row * (H + GY) });
  }));
  const rows = Math.max(...order.map((w) => waves.get(w).length));
  const width = order.length * (W + GX), height = TOP + rows * (H + GY);
  const canvas = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
  order.forEach((w, col) => {
    const label = svg("text", { x: col * (W + GX) + 4, y: 12, class: "wave-label" });
    label.textContent = `wave ${w}`;
    canvas.append(label);
  });
  for (const t of all) {
    const to = pos.get(t.id);
    for (const d of t.depends_on) {
      const from = pos.get(d);
      if (!from) continue;
      const x1 = from.x + W, y1 = from.y + H / 2, x2 = to.x, y2 = to.y + H / 2, mx = (x1 + x2) / 2;
      canvas.append(svg("path", { d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}` }));
    }
  }
  for (const t of all) {
    const p = pos.get(t.id);
    const g = svg("g", { class: `node${t.id === app.selected ? " selected" : ""}`, "data-node": t.id, "data-status": t.status });
    const rect = svg("rect", { x: p.x, y: p.y, width: W, height: H, rx: 5, fill: `var(--${t.status})` });
    const title = svg("title", {});
    title.textContent = `${t.id}: ${t.title} (${t.status})`;
    const label = svg("text", { x: p.x + 8, y: p.y + 16 });
    label.textContent = t.id.length > 20 ? `${t.id.slice(0, 19)}…` : t.id;
    g.append(rect, title, label);
    g.addEventListener("click", () => select(t.id));
    canvas.append(g);
  }
  root.append(canvas);
}

function renderLegend() {
  $("legend").replaceChildren(...STATUSES.map(pill));
}

// ---- task detail --------------------------------------------------------------------------
function select(id) {
  app.selected = id;
  document.querySelectorAll("tr.task").forEach((r) => r.classList.toggle("selected", r.dataset.task === id));
  document.querySelectorAll(".graph .node").forEach((n) => n.classList.toggle("selected", n.dataset.node === id));
  $("detail-section").hidden = false;
  loadDetail();
}

async function loadDetail() {
  const id = app.selected;
  if (!id) return;
  let d;
  try { d = await api(`/api/tasks/${encodeURIComponent(id)}`); } catch (e) {
    $("detail").replaceChildren(el("p", { class: "error" }, e.message));
    return;
  }
  if (id !== app.selected) return;
  $("detail-title").textContent = `${d.id} · ${d.title}`;
  const latest = d.attempts_detail[d.attempts_detail.length - 1];
  const parts = [
    el("dl", { class: "facts" },
      el("dt", {}, "Status"), el("dd", {}, pill(d.status)),
      el("dt", {}, "Epic / wave"), el("dd", {}, `${d.epic} / ${d.wave}`),
      el("dt", {}, "Depends on"), el("dd", {}, d.depends_on.length ? d.depends_on.join(", ") : "nothing"),
      el("dt", {}, "Files"), el("dd", {}, d.files.length ? d.files.join(", ") : "–"),
      d.messages.length ? [el("dt", {}, "PM messages"), el("dd", {}, d.messages.join(", "))] : null),
    d.description ? el("p", {}, d.description) : null,
  ];
  if (d.attach) {
    parts.push(el("div", { class: "attach" }, "Attach:", el("code", { id: "attach-command" }, d.attach),
      el("button", { class: "link", type: "button", onclick: () => navigator.clipboard && navigator.clipboard.writeText(d.attach) }, "copy")));
  } else if (latest && !latest.ended_at) {
    parts.push(el("div", { class: "attach" }, "Follow:", el("code", {}, `orch session logs ${d.id} --follow`)));
  }
  if (d.attempts_detail.length) {
    const gated = [...d.attempts_detail].reverse().find((a) => Object.keys(a.breakdown).length || Object.keys(a.skipped).length);
    if (gated) parts.push(el("h3", { class: "muted" }, `Quality gate, attempt ${gated.attempt}`), bars(gated));
    parts.push(el("table", {},
      el("thead", {}, el("tr", {}, ["#", "Agent", "Result", "Quality", "Cost", "Agent time", "Summary"].map((h) => el("th", {}, h)))),
      el("tbody", {}, d.attempts_detail.map((a) => el("tr", { dataset: { attempt: a.attempt } },
        el("td", {}, a.attempt), el("td", {}, a.agent),
        el("td", {}, a.result || (a.ended_at ? "ended" : "running…")),
        el("td", { class: "num" }, pct(a.quality)),
        el("td", { class: "num" }, a.cost_usd === null ? "–" : `$${a.cost_usd.toFixed(3)}`),
        el("td", { class: "num" }, duration(a.agent_ms)),
        el("td", {}, a.summary || ""))))));
  } else {
    parts.push(el("p", { class: "muted" }, "Not attempted yet."));
  }
  const log = el("pre", { class: "log", id: "log" }, "…");
  if (d.attempts_detail.length) parts.push(el("h3", { class: "muted" }, "Log (tail)"), log);
  $("detail").replaceChildren(...parts.flat().filter(Boolean));
  if (d.attempts_detail.length) loadLog(d.id);
}

function bars(attempt) {
  const rows = [];
  for (const [dim, score] of Object.entries(attempt.breakdown)) {
    const level = score < 0.5 ? " low" : score < 0.8 ? " mid" : "";
    rows.push(el("span", {}, dim),
      el("div", { class: `bar${level}`, dataset: { dimension: dim } }, el("div", { style: `width:${Math.round(score * 100)}%` })),
      el("span", { class: "num" }, pct(score)));
  }
  for (const [dim, why] of Object.entries(attempt.skipped)) {
    rows.push(el("span", { class: "muted" }, dim), el("span", { class: "skipped" }, `skipped: ${why}`));
  }
  const extra = attempt.gate_failures.length ? el("p", { class: "error" }, attempt.gate_failures.join("; ")) : null;
  return [el("div", { class: "bars" }, rows), extra];
}

async function loadLog(id) {
  clearTimeout(app.logTimer);
  let tail;
  try { tail = await api(`/api/tasks/${encodeURIComponent(id)}/log?tail=200`); } catch (e) { return; }
  const pre = $("log");
  if (!pre || id !== app.selected) return;
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.textContent = (tail.truncated ? "…\n" : "") + (tail.lines.join("\n") || "(empty)");
  if (atBottom) pre.scrollTop = pre.scrollHeight;
  // The log is not in the event log: while the session runs, poll it.
  if (tail.running) app.logTimer = setTimeout(() => loadLog(id), 1500);
}

// ---- PM messages --------------------------------------------------------------------------
function renderMessages(messages) {
  const root = $("messages");
  root.replaceChildren();
  const open = messages.filter((m) => ["open", "notified", "awaiting_decision"].includes(m.state));
  const closed = messages.filter((m) => !open.includes(m)).slice(0, 5);
  if (!open.length) root.append(el("p", { class: "muted" }, "No questions waiting for you."));
  for (const m of open.concat(closed)) root.append(messageCard(m, open.includes(m)));
}

function messageCard(m, pending) {
  const note = el("textarea", { class: "note", placeholder: "Note for the agent (optional)", "aria-label": `note for ${m.id}` });
  const status = el("div", { class: "decision" });
  const options = m.options.map((o) => el("div", { class: `option${o.recommended ? " recommended" : ""}`, dataset: { option: o.key } },
    el("div", { class: "head" },
      el("span", { class: "key" }, o.key), el("span", {}, o.title),
      o.recommended ? el("span", { class: "badge" }, "recommended") : null,
      pending ? el("button", {
        class: "choose", type: "button", disabled: !app.canAnswer,
        title: app.canAnswer ? `Answer ${o.key}` : "Open the URL with the token to answer",
        dataset: { answer: `${m.id}:${o.key}` },
        onclick: (ev) => answer(m.id, o.key, note.value, ev.target, status),
      }, `Choose ${o.key}`) : null),
    o.pros.length || o.cons.length ? el("ul", {},
      o.pros.map((p) => el("li", { class: "pro" }, p)),
      o.cons.map((c) => el("li", { class: "con" }, c))) : null,
    el("div", { class: "action" }, actionText(o.action))));
  const decided = m.option ? el("div", { class: "decision" }, `Decided: ${m.option}${m.note ? ` — ${m.note}` : ""} (${m.state})`) : null;
  return el("div", { class: `message${pending ? "" : " closed"}`, dataset: { message: m.id, state: m.state } },
    el("div", { class: "meta" }, `${m.id} · ${m.task} · ${m.kind} · ${m.state} · ${clock(m.created_at)}`),
    el("div", { class: "question" }, m.question),
    m.context && m.context.summary ? el("div", { class: "muted" }, m.context.summary) : null,
    el("div", { class: "options" }, options),
    pending && app.canAnswer ? note : null,
    decided, status);
}

function actionText(action) {
  if (!action) return "";
  const { type, ...rest } = action;
  const words = Object.values(rest).filter((v) => typeof v === "string" || typeof v === "number").join(" ");
  const detail = words.length > 140 ? `${words.slice(0, 139)}…` : words;
  return `→ ${String(type || "").replaceAll("_", " ")}${detail ? `: ${detail}` : ""}`;
}

async function answer(id, option, note, button, status) {
  button.disabled = true;
  status.className = "decision";
  status.textContent = "sending…";
  try {
    const r = await api(`/api/messages/${encodeURIComponent(id)}/answer`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ option, note: note || null }),
    });
    status.textContent = `Answered ${option}: the runner will ${r.action}`;
    stale.messages = true;
    scheduleRefresh();
  } catch (e) {
    status.className = "decision error";
    status.textContent = e.message;
    button.disabled = false;
  }
}

// ---- reviews --------------------------------------------------------------------------------
// Verified work waiting for a human (`review = "human"`): the diff file by file, approve or
// reject with a note. Writes need the token, like answers.
const openReviews = new Map(); // task -> expanded diff shown

function renderReviews(data) {
  const section = $("reviews-section");
  const root = $("reviews");
  const reviews = data.reviews || [];
  $("fig-reviews").textContent = data.pending || 0;
  $("fig-reviews").classList.toggle("hot", (data.pending || 0) > 0);
  section.hidden = reviews.length === 0;
  root.replaceChildren();
  const pending = reviews.filter((r) => r.state === "pending");
  const decided = reviews.filter((r) => r.state !== "pending").slice(0, 5);
  if (!pending.length) root.append(el("p", { class: "muted" }, "Nothing waiting for your review."));
  for (const r of pending.concat(decided)) root.append(reviewCard(r));
}

function reviewCard(r) {
  const pending = r.state === "pending";
  const status = el("div", { class: "decision" });
  const note = el("textarea", { class: "note", placeholder: "What should change (required to reject)", "aria-label": `review note for ${r.task}` });
  const diff = el("div", { class: "diff-files", dataset: { diffFor: r.task } });
  const toggle = el("button", { class: "link", type: "button", onclick: () => loadDiff(r.task, diff, toggle) }, "show diff");
  const decide = (verdict) => (ev) => decideReview(r.task, verdict, note.value, ev.target, status);
  const title = app.canAnswer ? null : "Open the URL with the token to review";
  const buttons = pending ? el("span", { class: "buttons" },
    el("button", { class: "approve", type: "button", disabled: !app.canAnswer, title, dataset: { review: `${r.task}:approve` }, onclick: decide("approve") }, "Approve"),
    el("button", { class: "reject", type: "button", disabled: !app.canAnswer, title, dataset: { review: `${r.task}:reject` }, onclick: decide("reject") }, "Reject")) : null;
  const card = el("div", { class: `review${pending ? "" : " closed"}`, dataset: { reviewTask: r.task, state: r.state } },
    el("div", { class: "head" }, el("strong", {}, r.task), el("span", {}, r.title || ""), buttons),
    el("div", { class: "meta" }, `attempt ${r.attempt} · commit ${r.sha.slice(0, 10)} · ${r.state}${r.decided_by ? ` by ${r.decided_by}` : ""}${r.note ? ` — ${r.note}` : ""}`),
    toggle, diff, pending && app.canAnswer ? note : null, status);
  if (openReviews.has(r.task)) loadDiff(r.task, diff, toggle);
  return card;
}

async function loadDiff(task, root, toggle) {
  if (root.childElementCount && !openReviews.has(task)) { root.replaceChildren(); toggle.textContent = "show diff"; return; }
  openReviews.set(task, true);
  toggle.textContent = "hide diff";
  try {
    const data = await api(`/api/reviews/${encodeURIComponent(task)}`);
    const d = data.diff;
    root.replaceChildren(el("div", { class: "meta" },
      `${d.files.length} file${d.files.length === 1 ? "" : "s"} · +${d.additions} −${d.deletions}${data.quality !== null && data.quality !== undefined ? ` · quality ${pct(data.quality)}` : ""}${d.truncated ? " · diff cut (too long)" : ""}`),
      ...d.files.map((f) => fileDiff(f)));
  } catch (e) {
    root.replaceChildren(el("div", { class: "error" }, e.message));
  }
  toggle.onclick = () => { openReviews.delete(task); root.replaceChildren(); toggle.textContent = "show diff"; toggle.onclick = () => loadDiff(task, root, toggle); };
}

function fileDiff(f) {
  const lang = languageOf(f.path);
  const pre = el("pre", { class: "diff" });
  if (f.binary) pre.append(el("span", { class: "line meta" }, "binary file"));
  for (const line of f.patch.split("\n")) {
    if (line === "") continue;
    let cls = "line";
    if (line.startsWith("@@")) cls += " hunk";
    else if (line.startsWith("diff --git") || line.startsWith("index ") || line.startsWith("+++") || line.startsWith("---") || line.startsWith("new file") || line.startsWith("deleted file")) cls += " meta";
    else if (line.startsWith("+")) cls += " add";
    else if (line.startsWith("-")) cls += " del";
    const span = el("span", { class: cls });
    if (cls === "line" || cls.endsWith("add") || cls.endsWith("del")) {
      span.append(line.slice(0, 1));
      highlight(line.slice(1), lang).forEach((n) => span.append(n));
    } else {
      span.append(line);
    }
    pre.append(span);
  }
  return el("details", { class: "file", open: true, dataset: { file: f.path } },
    el("summary", {}, `${f.path} `, el("span", { class: "adds" }, `+${f.additions}`), " ", el("span", { class: "dels" }, `−${f.deletions}`), ` · ${f.status}`),
    pre);
}

// A small highlighter: keywords, strings, comments and numbers of the common languages. The
// text is split into text nodes with classes, never parsed as HTML.
const KEYWORDS = {
  rust: "as async await break const continue crate dyn else enum extern false fn for if impl in let loop match mod move mut pub ref return self Self static struct super trait true type unsafe use where while",
  python: "and as assert async await break class continue def del elif else except False finally for from global if import in is lambda None nonlocal not or pass raise return True try while with yield",
  js: "async await break case catch class const continue default delete do else export extends false finally for function if import in instanceof let new null return super switch this throw true try typeof undefined var void while yield",
  go: "break case chan const continue default defer else fallthrough for func go goto if import interface map package range return select struct switch type var nil true false",
  shell: "case do done elif else esac fi for function if in then until while",
};
function languageOf(path) {
  const ext = (path.split(".").pop() || "").toLowerCase();
  return { rs: "rust", py: "python", js: "js", mjs: "js", ts: "js", tsx: "js", jsx: "js", go: "go", sh: "shell", bash: "shell" }[ext] || null;
}
function highlight(text, lang) {
  if (!lang) return [document.createTextNode(text)];
  const words = new Set(KEYWORDS[lang].split(" "));
  const comment = lang === "python" || lang === "shell" ? "#" : "//";
  const out = [];
  const re = /("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\b\d[\d_.]*\b|\b[A-Za-z_][A-Za-z0-9_]*\b)/g;
  const cut = text.indexOf(comment);
  const code = cut >= 0 ? text.slice(0, cut) : text;
  let last = 0;
  for (const m of code.matchAll(re)) {
    if (m.index > last) out.push(document.createTextNode(code.slice(last, m.index)));
    const t = m[0];
    const cls = t[0] === '"' || t[0] === "'" ? "str" : /^\d/.test(t) ? "num" : words.has(t) ? "kw" : null;
    out.push(cls ? el("span", { class: cls }, t) : document.createTextNode(t));
    last = m.index + t.length;
  }
  if (last < code.length) out.push(document.createTextNode(code.slice(last)));
  if (cut >= 0) out.push(el("span", { class: "com" }, text.slice(cut)));
  return out;
}

async function decideReview(task, verdict, note, button, status) {
  if (verdict === "reject" && !note.trim()) {
    status.className = "decision error";
    status.textContent = "Say what should change: the note is what the next attempt is told.";
    return;
  }
  button.disabled = true;
  status.className = "decision";
  status.textContent = "sending…";
  try {
    await api(`/api/reviews/${encodeURIComponent(task)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ verdict, note: note || null }),
    });
    status.textContent = verdict === "approve" ? "Approved: the runner merges this commit." : "Rejected: the task runs again with your note.";
    stale.reviews = true;
    scheduleRefresh();
  } catch (e) {
    status.className = "decision error";
    status.textContent = e.message;
    button.disabled = false;
  }
}

// ---- refresh and the live feed -----------------------------------------------------------
// What the next refresh reads again. The header is cheap and always read; the task list
// and the messages only when an event says they changed.
// The whole task list is read once (and again only when a delta cannot say what changed,
// e.g. another plan was imported); after that only the rows an event touched.
const stale = { tasks: true, taskRows: false, messages: true, reviews: true };

async function refresh() {
  const wantTasks = stale.tasks, wantRows = stale.taskRows && !stale.tasks;
  const wantMessages = stale.messages, wantReviews = stale.reviews;
  stale.tasks = stale.taskRows = stale.messages = stale.reviews = false;
  try {
    const [state, tasks, changed, messages, reviews] = await Promise.all([
      api("/api/state"),
      wantTasks ? api("/api/tasks") : null,
      wantRows ? api(`/api/tasks?since=${app.tasksSeq}`) : null,
      wantMessages ? api("/api/messages") : null,
      wantReviews ? api("/api/reviews") : null,
    ]);
    renderState(state);
    if (tasks) {
      renderTasks(tasks.epics);
      app.tasksSeq = tasks.last_seq;
    }
    if (changed) applyChanges(changed);
    if (messages) renderMessages(messages.messages);
    if (reviews) renderReviews(reviews);
    banner(null);
    return state;
  } catch (e) {
    stale.tasks ||= wantTasks;
    stale.taskRows ||= wantRows;
    stale.messages ||= wantMessages;
    stale.reviews ||= wantReviews;
    banner(e.status === 401 ? "This dashboard needs its token: open the URL `orch dashboard` printed." : `Cannot read the dashboard: ${e.message}`);
    throw e;
  }
}

// One refresh at a time, at most every 250 ms: a burst of events costs one round of reads.
function scheduleRefresh() {
  if (app.refreshTimer) {
    // An event during a refresh may not be in what it read: go again after it.
    app.refreshAgain = true;
    return;
  }
  app.refreshAgain = false;
  app.refreshTimer = setTimeout(async () => {
    try {
      await refresh();
      if (app.selected) await loadDetail();
    } catch (_) { /* the banner says why */ }
    app.refreshTimer = null;
    if (app.refreshAgain) scheduleRefresh();
  }, 250);
}

// Changes are applied in place (table row, graph node): on a plan of thousands of tasks, a
// burst of them must not re-read and re-draw everything.
function paintTask(task) {
  const row = document.querySelector(`tr[data-task="${CSS.escape(task.id)}"]`);
  if (row) {
    row.dataset.status = task.status;
    row.children[1].textContent = task.title;
    row.children[2].replaceChildren(pill(task.status));
    row.children[4].textContent = task.attempts;
    row.children[5].textContent = pct(task.quality);
  }
  const node = document.querySelector(`.graph [data-node="${CSS.escape(task.id)}"]`);
  if (node) {
    node.dataset.status = task.status;
    node.querySelector("rect").setAttribute("fill", `var(--${task.status})`);
    node.querySelector("title").textContent = `${task.id}: ${task.title} (${task.status})`;
  }
}

// The status an event names, at once; the rest of the row comes with the next delta.
function applyStatus(id, status) {
  const task = app.tasks.get(id);
  if (!task) { stale.tasks = true; return; }
  task.status = status;
  paintTask(task);
  countDone();
}

// `GET /api/tasks?since=…`: the rows that changed. A row that would move (another wave,
// epic or dependencies) or is new needs the whole list drawn again.
function applyChanges(changed) {
  if (changed.reload) { stale.tasks = true; scheduleRefresh(); return; }
  for (const row of changed.tasks) {
    const task = app.tasks.get(row.id);
    const moved = !task || task.wave !== row.wave || task.epic !== row.epic
      || task.depends_on.join() !== row.depends_on.join();
    if (moved) { stale.tasks = true; continue; }
    Object.assign(task, row);
    paintTask(task);
  }
  app.tasksSeq = Math.max(app.tasksSeq, changed.last_seq);
  countDone();
  if (stale.tasks) scheduleRefresh();
}

function invalidate(ev) {
  switch (ev.kind) {
    case "task_status_changed": applyStatus(ev.task, ev.to); stale.taskRows = true; break;
    case "message_changed": stale.messages = true; break;
    case "review_requested": case "review_decided": stale.reviews = true; break;
    case "attempt_started": case "attempt_finished": case "merged": stale.taskRows = true; break;
    case "plan_imported": stale.tasks = true; break;
    default: break;
  }
}

function describe(e) {
  const ev = e.event;
  switch (ev.kind) {
    case "task_status_changed": return `${ev.task}: ${ev.from} → ${ev.to}${ev.reason ? ` (${ev.reason})` : ""}`;
    case "attempt_started": return `${ev.task}: attempt ${ev.attempt} started (${ev.agent})`;
    case "attempt_finished": return `${ev.task}: attempt ${ev.attempt} ${ev.result}${ev.quality !== undefined && ev.quality !== null ? `, quality ${pct(ev.quality)}` : ""}`;
    case "message_changed": return `${ev.message} about ${ev.task}: ${ev.state}`;
    case "merged": return `${ev.task}: merged`;
    case "review_requested": return `${ev.task}: verified, waiting for your review`;
    case "review_decided": return `${ev.task}: ${ev.verdict} by ${ev.by}${ev.note ? ` (${ev.note})` : ""}`;
    case "remote_command": return `${ev.platform} ${ev.user}: ${ev.command} (${ev.outcome.replaceAll("_", " ")})`;
    case "run_control": return `${ev.action} by ${ev.by}`;
    case "budget_reached": return `budget reached: ${ev.scope} ($${ev.spent_usd.toFixed(2)} of $${ev.limit_usd.toFixed(2)})`;
    case "run_started": return `run started: ${ev.agent} × ${ev.parallel}`;
    case "run_finished": return `run ${ev.outcome} after ${duration(ev.elapsed_ms)}`;
    case "plan_imported": return `plan ${ev.plan} imported: ${ev.tasks} tasks`;
    default: return `${ev.kind.replaceAll("_", " ")}${ev.task ? ` ${ev.task}` : ""}`;
  }
}

function addActivity(e) {
  const list = $("activity");
  list.prepend(el("li", { dataset: { seq: e.seq } }, el("span", { class: "at" }, clock(e.at)), describe(e)));
  while (list.children.length > ACTIVITY_KEPT) list.lastChild.remove();
}

function onEvent(e) {
  if (e.seq <= app.lastSeq) return; // the server never repeats one; be safe anyway
  app.lastSeq = e.seq;
  addActivity(e);
  invalidate(e.event);
  scheduleRefresh();
}

function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  let url = `${proto}://${location.host}/ws?after=${app.lastSeq}`;
  if (app.token) url += `&token=${encodeURIComponent(app.token)}`;
  const socket = new WebSocket(url);
  app.socket = socket;
  socket.onopen = () => {
    app.retryMs = 500;
    $("conn").dataset.state = "live";
    $("conn").textContent = "live";
  };
  socket.onmessage = (m) => { try { onEvent(JSON.parse(m.data)); } catch (_) { /* not an event */ } };
  socket.onclose = () => {
    $("conn").dataset.state = "reconnecting";
    $("conn").textContent = "reconnecting…";
    setTimeout(connect, app.retryMs);
    app.retryMs = Math.min(app.retryMs * 2, 10000);
  };
}

async function start() {
  readToken();
  renderLegend();
  $("detail-close").addEventListener("click", () => {
    app.selected = null;
    clearTimeout(app.logTimer);
    $("detail-section").hidden = true;
  });
  await checkToken();
  let state = null;
  for (let wait = 500; !state; wait = Math.min(wait * 2, 10000)) {
    try { state = await refresh(); } catch (e) {
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  // The recent past for the activity list, then live from where it ends.
  const history = await api(`/api/events?after=${Math.max(0, state.last_seq - 50)}&limit=50`).catch(() => null);
  // (What the first refresh already shows: listed, not applied again.)
  if (history) history.events.filter((e) => e.seq <= state.last_seq).forEach(addActivity);
  app.lastSeq = state.last_seq;
  connect();
  setInterval(tickElapsed, 1000);
}

start();
