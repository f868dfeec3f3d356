// Page review on the status page: jobs (paginated, scanner and hot folder apart), the pages of a job
// with their thumbnails and flags, the larger view with the crop and content boxes, the operator's
// marks, the technician's decisions on held record files, and the scan press followed to its job.
// Uses the page's helpers ($, esc, row, time, session, act, refresh) from status.html.
"use strict";

const review = {
  kind: "scanner", offset: 0, limit: 8, total: 0,
  jobId: null, pinned: false, pages: [], jobState: "", lastLoad: 0,
  ticket: null, followJob: null,
};

// The words come from the station's message catalogue (GET /api/messages, design §1.1 M8), filled here
// from the values each names. Until it loads, or if it cannot, a label shows its code: the page still works.
const MESSAGES = {all: null};

async function loadMessages() {
  try {
    const r = await fetch("/api/messages");
    if (r.ok) MESSAGES.all = (await r.json()).messages;
  } catch (e) { /* labels show their codes */ }
}

// A value is a string or number, or {vi, en} when it is itself a word (a job's state).
function fill(text, values, lang) {
  return text.replace(/\{\{|\}\}|\{(\w+)(?::[^{}]*)?\}/g, (m, name) => {
    if (m === "{{" || m === "}}") return m[0];
    if (!values || !(name in values)) return m;
    const v = values[name];
    return String(v !== null && typeof v === "object" ? v[lang] : v);
  });
}

// "vi / en" as HTML, the English dimmed.
function msg(code, values) {
  const m = MESSAGES.all && MESSAGES.all[code];
  return m ? `${esc(fill(m.vi, values, "vi"))} <span class="en">/ ${esc(fill(m.en, values, "en"))}</span>`
    : `<code>${esc(code)}</code>`;
}

// "vi / en" as plain text (attributes).
function msgText(code, values) {
  const m = MESSAGES.all && MESSAGES.all[code];
  return m ? `${fill(m.vi, values, "vi")} / ${fill(m.en, values, "en")}` : code;
}

// Both languages of a message apart, as a value another message is filled with.
function msgWords(code) {
  const m = MESSAGES.all && MESSAGES.all[code];
  return m ? {vi: m.vi, en: m.en} : {vi: code, en: code};
}

const JOB_STATE = {running: "status.review.job_state.running", paused: "status.review.job_state.paused",
                   done: "status.review.job_state.done", interrupted: "status.review.job_state.interrupted",
                   failed: "status.review.job_state.failed", cancelled: "status.review.job_state.cancelled"};
const jobState = (state) => JOB_STATE[state] ? msg(JOB_STATE[state]) : esc(state);
const stateWords = (state) => JOB_STATE[state] ? msgWords(JOB_STATE[state]) : state;

const LEVEL = (l) => ["info", "warning", "error"].includes(l) ? l : "warning";
const both = (m) => m ? `${esc(m.vi)} <span class="en">/ ${esc(m.en)}</span>` : "";
const action = (m) => m && m.action_vi ? `<div class="action">${esc(m.action_vi)} <span class="en">/ ${esc(m.action_en)}</span></div>` : "";

async function getJSON(path) {
  const r = await fetch(path, {cache: "no-store"});
  if (!r.ok) throw new Error(path + " " + r.status);
  return r.json();
}

async function post(path, body) {
  if (!session.csrf_token) { location.href = LOGIN; return null; }
  const r = await fetch(path, {method: "POST", headers: {"X-CSRF-Token": session.csrf_token,
                                                     "Content-Type": "application/json"}, body: JSON.stringify(body || {})});
  if (r.status === 401) { await loadSession(); location.href = LOGIN; return null; }
  let data;
  try { data = await r.json(); } catch (e) { data = {error: await r.text()}; }
  return {ok: r.ok, status: r.status, data};
}

// ------------------------------------------------------------------ jobs list
async function loadJobs() {
  try {
    const d = await getJSON(`/api/jobs?kind=${review.kind}&offset=${review.offset}&limit=${review.limit}`);
    review.total = d.total;
    $("jobs").innerHTML = row(["#", msg("status.review.col_state"), msg("status.review.col_pages"), msg("status.review.col_started")]) +
      (d.jobs.length ? d.jobs.map((j) => `<tr data-job="${j.id}" class="pick${j.id === review.jobId ? " chosen" : ""}">` +
        `<td>${j.id}</td><td>${jobState(j.state)}${j.message ? `<br><span class="en">${esc(j.message)}</span>` : ""}` +
        `${j.source.startsWith("hotfolder:") ? `<br><span class="en">${esc(j.source.slice(10).split("#")[0])}</span>` : ""}</td>` +
        `<td>${j.pages}${j.marked ? ` <span class="warning">(−${j.marked})</span>` : ""}</td><td>${time(j.started_at)}</td></tr>`).join("")
        : row(["—", msg("status.review.none"), "", ""]));
    const last = Math.min(review.offset + review.limit, d.total);
    $("jobs-nav").innerHTML = `<button id="jobs-newer" ${review.offset ? "" : "disabled"}>${msg("status.review.newer")}</button>` +
      `<span>${d.total ? review.offset + 1 : 0}–${last} / ${d.total}</span>` +
      `<button id="jobs-older" ${last < d.total ? "" : "disabled"}>${msg("status.review.older")}</button>`;
    $("jobs-newer").onclick = () => { review.offset = Math.max(0, review.offset - review.limit); loadJobs(); };
    $("jobs-older").onclick = () => { review.offset += review.limit; loadJobs(); };
    for (const tr of document.querySelectorAll("#jobs tr[data-job]")) {
      tr.onclick = () => { review.pinned = true; showJob(Number(tr.dataset.job)); };
    }
    if (review.jobId === null && d.jobs.length) showJob(d.jobs[0].id);
  } catch (e) { /* the status poll shows lost contact */ }
}


// ------------------------------------------------------------------ pages of a job
async function showJob(id) {
  review.jobId = id;
  try {
    const j = await getJSON(`/api/jobs/${id}`);
    review.pages = j.pages;
    review.jobState = j.state;
    review.lastLoad = Date.now();
    $("pages-title").textContent = msgText("status.review.job_title", {job: j.id, count: j.pages.length, state: stateWords(j.state)});
    $("pages").innerHTML = j.pages.length ? j.pages.map(pageCard).join("") : `<p>${msg("status.review.no_page_yet")}</p>`;
    for (const el of document.querySelectorAll("#pages [data-view]")) el.onclick = () => openView(Number(el.dataset.view));
    for (const el of document.querySelectorAll("#pages [data-mark]")) {
      el.onclick = () => markPage(Number(el.dataset.page), el.dataset.mark);
    }
    for (const el of document.querySelectorAll("#pages [data-starts]")) {
      el.onclick = () => moveSeparator(Number(el.dataset.page), el.dataset.starts);
    }
    for (const tr of document.querySelectorAll("#jobs tr[data-job]")) tr.classList.toggle("chosen", Number(tr.dataset.job) === id);
  } catch (e) { /* keep what is shown */ }
}

function flagList(p) {
  if (!p.flags.length) return p.state === "captured" ? `<li class="en">${msg("status.review.processing")}</li>` : `<li class="info">${msg("status.review.no_warning")}</li>`;
  return p.flags.map((f) => `<li class="${LEVEL(f.level)}" data-flag="${esc(f.flag || f.code)}">${esc(f.vi)} <span class="en">/ ${esc(f.en)}</span></li>`).join("");
}

function markButtons(p) {
  if (p.mark) {
    return `<div class="mark">${p.mark === "remove" ? msg("status.review.marked_remove") : msg("status.review.marked_rescan")}</div>` +
      `<button data-mark="keep" data-page="${p.id}">${msg("status.review.keep")}</button>`;
  }
  if (p.state === "captured") return "";
  return `<button data-mark="remove" data-page="${p.id}">${msg("status.review.remove")}</button>` +
    `<button data-mark="rescan" data-page="${p.id}">${msg("status.review.rescan")}</button>`;
}

const SEPARATOR_OPEN = ["open", "closed", "held", "empty"];

function separatorButtons(p) {
  if (session.role !== "technician" || p.role !== "content" || !SEPARATOR_OPEN.includes(p.file_state)) return "";
  const b = (starts, label) => `<button class="sep" data-starts="${starts}" data-page="${p.id}">${label}</button>`;
  const where = p.starts === "file" ? msg("status.review.first_of_file", {file: p.file})
    : p.starts === "document" ? msg("status.review.first_of_document", {file: p.file, doc: p.doc}) : "";
  return `<div class="separator">${where ? `<div class="info">${where}</div>` : ""}` +
    (p.starts ? b("none", msg("status.review.join_before")) : b("document", msg("status.review.start_document"))) +
    (p.starts !== "file" ? b("file", msg("status.review.start_file")) : "") + "</div>";
}

async function moveSeparator(id, starts) {
  const r = await post(`/api/pages/${id}/separator`, {starts});
  if (!r) return;
  const m = r.data.message;
  $("mark-result").innerHTML = m ? `<div class="${LEVEL(m.level)}">${both(m)}</div>${action(m)}` : esc(r.data.error || r.status);
  if (review.jobId !== null) showJob(review.jobId);
  refresh();
}

function pageCard(p) {
  const img = p.thumb ? `<img src="${p.thumb}" alt="${esc(msgText("status.review.page", {seq: p.seq}))}" data-view="${p.id}" loading="lazy">`
    : `<div class="noimg" data-view="${p.id}">${p.state === "captured" ? "…" : "—"}</div>`;
  return `<figure class="page${p.mark ? " marked" : ""}" id="page-${p.id}" data-seq="${p.seq}">${img}` +
    `<figcaption><b>${msg("status.review.page", {seq: p.seq})}</b>${roleLabel(p)}` +
    `<ul class="flags">${flagList(p)}</ul>${markButtons(p)}${separatorButtons(p)}</figcaption></figure>`;
}

// The page's role in its record file, unless a flag already says it (a blank page: "blank" once, not twice).
function roleLabel(p) {
  if (!p.role || p.flags.some((f) => f.flag === p.role)) return "";
  return ` <span class="en" data-role="${esc(p.role)}">${ROLE_OF_PAGE[p.role] ? msgText(ROLE_OF_PAGE[p.role]) : esc(p.role)}</span>`;
}
const ROLE_OF_PAGE = {cover: "status.review.role.cover", patch: "status.review.role.patch", blank: "status.review.role.blank",
                      content: "status.review.role.content", damaged: "status.review.role.damaged",
                      removed: "status.review.role.removed"};

async function markPage(id, mark) {
  const r = await post(`/api/pages/${id}/mark`, {mark});
  if (!r) return;
  const m = r.data.message;
  $("mark-result").innerHTML = m ? `<div class="${LEVEL(m.level)}">${both(m)}</div>${action(m)}` : esc(r.data.error || r.status);
  if (review.jobId !== null) showJob(review.jobId);
  loadJobs();
}

function polygon(points, cls) {
  return points ? `<polygon class="${cls}" points="${points.map((p) => p.join(",")).join(" ")}"/>` : "";
}

function openView(id) {
  const p = review.pages.find((x) => x.id === id);
  if (!p) return;
  const box = $("view");
  const size = p.view_size || [p.width, p.height];
  $("view-body").innerHTML = (p.view
    ? `<div class="viewer"><img src="${p.view}" alt="${esc(msgText("status.review.page", {seq: p.seq}))}">` +
      `<svg viewBox="0 0 ${size[0]} ${size[1]}" preserveAspectRatio="none">${polygon(p.crop, "crop")}${polygon(p.content, "content")}</svg></div>` +
      `<p class="legend"><span class="crop">▭</span> ${msg("status.review.legend_crop")} · <span class="content">▭</span> ${msg("status.review.legend_content")}</p>`
    : `<p>${msg("status.review.no_image")}</p>`) +
    `<h3>${msg("status.review.view_title", {job: p.job_id, seq: p.seq})} · ${p.width}×${p.height} px · ${p.dpi} dpi</h3>` +
    `<ul class="flags">${p.flags.map((f) => `<li class="${LEVEL(f.level)}">${both(f)}${action(f)}</li>`).join("") || flagList(p)}</ul>` +
    `<div class="view-actions">${markButtons(p)}</div>`;
  for (const el of document.querySelectorAll("#view-body [data-mark]")) {
    el.onclick = async () => { await markPage(Number(el.dataset.page), el.dataset.mark); box.close(); };
  }
  box.showModal();
}

// ------------------------------------------------------------------ held record files
function heldCard(h) {
  const tech = session.role === "technician";
  const c = h.cover || {};
  const thumbs = (h.pages || []).filter((p) => p.role !== "removed").slice(0, 6).map((p) =>
    `<img class="mini" src="/pages/${p.id}/thumb.jpg" alt="${p.id}" onerror="this.remove()">`).join("");
  const field = (name, label, value) => `<label>${msg(label)}<input name="${name}" value="${esc(value || "")}" ${tech ? "" : "disabled"}></label>`;
  return `<div class="held" id="held-${h.id}" data-id="${h.id}"><div><b>#${h.id}</b> ${esc(h.file_code || "")}</div>` +
    `<div class="${LEVEL(h.level)}">${esc(h.message)}</div>` +
    (h.action_vi ? `<div class="action">${esc(h.action_vi)} <span class="en">/ ${esc(h.action_en)}</span></div>` : "") +
    `<div class="minis">${thumbs}</div>` +
    `<form class="confirm">${field("file_code", "status.review.file_code", c.file_code)}` +
    `${field("paper_file_code", "status.review.paper_file_code", c.paper_file_code)}` +
    `${field("title", "status.review.title", c.title)}` +
    (tech ? `<button type="submit" name="confirm">${msg("status.review.confirm")}</button>` +
            `<button type="button" class="release">${msg("status.review.release")}</button>`
          : `<p class="en">${msg("status.review.technician_confirms")}</p>`) +
    `<div class="held-result"></div></form></div>`;
}

async function decide(id, cover) {
  const r = await post(`/api/records/${id}/confirm`, cover ? {cover} : {});
  if (!r) return;
  const out = document.querySelector(`#held-${id} .held-result`);
  if (out) out.innerHTML = r.ok ? `<span class="info">${msg("status.review.confirmed", {code: r.data.file_code})}</span>`
                                : `<span class="error">${esc(r.data.error || r.status)}</span>`;
  if (r.ok) { $("records-result").innerHTML = `<span class="info">${msg("status.review.file_confirmed", {file: id})}</span>`; refresh(); }
}

let heldShown = "";
review.renderHeld = function (r) {
  const key = JSON.stringify([session.role, !!MESSAGES.all, (r.held || []).map((h) => [h.id, h.message, h.cover, h.page_count])]);
  if (key === heldShown) return;  // typing in a form must survive the poll
  heldShown = key;
  $("records").innerHTML = (r.held && r.held.length ? r.held.map(heldCard).join("") : `<p>${msg("status.review.none")}</p>`) +
    `<p class="en">${msg("status.review.ocr", {waiting: r.ocr_backlog ?? 0, done: r.ocr_pages ?? 0})}</p>`;
  for (const form of document.querySelectorAll("#records form.confirm")) {
    const id = Number(form.closest(".held").dataset.id);
    form.onsubmit = (ev) => {
      ev.preventDefault();
      const cover = {};
      for (const input of form.querySelectorAll("input")) if (input.value.trim()) cover[input.name] = input.value.trim();
      decide(id, cover);
    };
    const rel = form.querySelector(".release");
    if (rel) rel.onclick = () => decide(id, null);
  }
};

// ------------------------------------------------------------------ scan button and its job
review.renderScan = function (s) {
  const sc = s.scanners[0];
  const none = MESSAGES.all && MESSAGES.all["status.review.no_scanner"];
  const blocked = !sc ? (none || {level: "error", vi: "status.review.no_scanner", en: ""}) : sc.scan_blocked;
  $("scan").disabled = !!blocked;
  $("scan-reason").innerHTML = blocked ? `<div class="${LEVEL(blocked.level)}">${both(blocked)}</div>` +
    (blocked.state ? `<div>${both(blocked.state)}</div>${action(blocked.state)}` : action(blocked)) : "";
  if (review.ticket !== null && sc) {
    const job = sc.tickets && sc.tickets[String(review.ticket)];
    if (job && review.followJob !== job) {
      review.followJob = job;
      review.pinned = false;
    }
  }
  if (review.followJob !== null) followJob();
  const current = sc && sc.job_id;
  if (current && !review.pinned && review.jobId !== current) showJob(current);
  else if (review.jobId !== null && (review.jobState === "running" || review.pages.some((p) => p.state === "captured"))
           && Date.now() - review.lastLoad > 1500) showJob(review.jobId);
};

async function followJob() {
  try {
    const j = await getJSON(`/api/jobs?kind=all&offset=0&limit=50`);
    const job = j.jobs.find((x) => x.id === review.followJob);
    if (!job) return;
    const running = job.state === "running";
    $("action-result").innerHTML = `<div class="${running ? "info" : job.state === "done" ? "info" : "warning"}">` +
      `${msg("status.review.job_progress", {job: job.id, count: job.pages, state: stateWords(job.state)})}</div>` +
      (job.message ? `<div class="en">${esc(job.message)}</div>` : "");
    if (!running) { review.ticket = null; review.followJob = null; loadJobs(); }
  } catch (e) { /* next poll */ }
}

async function pressScan() {
  const r = await post("/api/scan", {});
  if (!r) return;
  const m = r.data.message;
  $("action-result").innerHTML = m ? `<div class="${r.ok ? "info" : LEVEL(m.level)}">${both(m)}</div>` +
    (m.state ? `<div>${both(m.state)}</div>${action(m.state)}` : "") : esc(r.data.error || r.status);
  if (r.ok) { review.ticket = r.data.ticket; review.followJob = null; }
  refresh();
}

// ------------------------------------------------------------------ details, readable
function readable(v, depth) {
  if (v === null || v === undefined || v === "") return "—";
  if (typeof v === "boolean") return v ? msg("status.review.yes") : msg("status.review.no");
  if (typeof v !== "object") return esc(v);
  if (Array.isArray(v)) return v.length ? (depth > 2 ? esc(v.length + " …") : "<ul>" + v.map((x) => `<li>${readable(x, depth + 1)}</li>`).join("") + "</ul>") : "—";
  const keys = Object.keys(v);
  if (!keys.length) return "—";
  if (depth > 2) return esc(keys.length + " …");
  return "<table class=\"kv\">" + keys.map((k) => `<tr><th>${esc(k.replace(/_/g, " "))}</th><td>${readable(v[k], depth + 1)}</td></tr>`).join("") + "</table>";
}
review.details = (value) => readable(value, 0);

review.init = async function () {
  await loadMessages();
  for (const b of document.querySelectorAll("#job-kinds button")) {
    b.onclick = () => {
      review.kind = b.dataset.kind; review.offset = 0;
      for (const o of document.querySelectorAll("#job-kinds button")) o.classList.toggle("chosen", o === b);
      loadJobs();
    };
  }
  $("view-close").onclick = () => $("view").close();
  $("scan").onclick = pressScan;
  loadJobs();
  setInterval(loadJobs, 5000);
};
