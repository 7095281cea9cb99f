// codebabel playground: the page over codebabel serve's /api/* endpoints (serve/playground.py). Plain DOM, no
// build step; every text from the server is set with textContent, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  config: null,
  examples: [],
  detection: null, // {language, display_name, how} of the code in the editor; null: not known (yet)
  result: null, // {kind: "translation" | "completion", language, source: {language, code} | null}
};

async function api(path, body) {
  const headers = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) headers.Authorization = "Bearer " + key;
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await response.json();
  } catch (e) {
    throw new Error(`HTTP ${response.status} from ${path}`);
  }
  if (!response.ok) {
    if (response.status === 401) $("key-row").hidden = false;
    throw new Error(data && data.error ? data.error.message : `HTTP ${response.status} from ${path}`);
  }
  return data;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function showError(message) {
  $("error").textContent = message || "";
  $("error").hidden = !message;
}

async function busy(what, work) {
  const buttons = ["translate", "complete", "run"].map($);
  buttons.forEach((b) => { b.disabled = true; });
  $("status").textContent = what + "…";
  showError("");
  try {
    await work();
    $("status").textContent = "";
  } catch (e) {
    $("status").textContent = "";
    showError(e.message);
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

function sampling() {
  return {
    max_tokens: Number($("max-tokens").value) || 256,
    temperature: Number($("temperature").value),
    top_p: Number($("top-p").value) || 1,
  };
}

function codeRequest() {
  return { code: $("code").value, language: $("language").value || null, ...sampling() };
}

function showDetection(found) {
  state.detection = found;
  const line = $("detected");
  line.textContent = "";
  if (!found) return;
  line.append("Source language: ", element("strong", null, found.display_name), ` (${found.language}), by ${found.how}`);
}

async function detect() {
  if (!$("code").value.trim()) {
    showDetection(null);
    $("detected").textContent = "Paste code or pick an example: its language is detected.";
    return null;
  }
  const r = await api("/api/detect", codeRequest());
  showDetection(r.detection);
  return r.detection;
}

let detectTimer = null;
function codeChanged() {
  state.detection = null;
  if (state.result) { // the result belonged to the code before this edit: Run now runs the code itself
    state.result = null;
    showResult("Result", "", "");
  }
  $("run-output").textContent = "";
  $("agree").hidden = true;
  clearTimeout(detectTimer);
  detectTimer = setTimeout(() => detect().then(() => showError(""), (e) => showError(e.message)), 400);
}

function showResult(title, text, info) {
  $("result-title").textContent = title;
  $("result").value = text;
  $("result-info").textContent = info;
  $("run-output").textContent = "";
  $("agree").hidden = true;
}

function describe(r) {
  const expert = r.expert ? `, expert ${r.expert}` : "";
  const format = r.prompt_format ? `, prompt format ${r.prompt_format}` : "";
  return `${r.model}${format}${expert}: ${r.n_tokens} tokens generated (${r.finish_reason})`;
}

async function translate() {
  const r = await api("/api/translate", codeRequest());
  showDetection(r.detection);
  state.result = { kind: "translation", language: "py", source: { language: r.detection.language, code: $("code").value } };
  showResult("Translation (Python)", r.translation, describe(r));
}

async function complete() {
  const r = await api("/api/complete", codeRequest());
  showDetection(r.detection);
  state.result = { kind: "completion", language: r.detection.language, source: null };
  showResult(`Completion (${r.detection.display_name})`, r.program, describe(r));
}

function renderProgram(id, title, o) {
  const box = element("div", "program");
  box.id = id;
  box.append(element("h3", null, title));
  const line = element("p", o.status === "ok" ? "ok status" : "failed status");
  line.textContent = `${o.status}, exit status ${o.exit_status === null ? "none" : o.exit_status}, ${o.seconds} s`;
  box.append(line);
  box.append(element("div", "note", "stdout" + (o.stdout_truncated ? " (its last 2,000 characters)" : "")));
  box.append(element("pre", "stdout", o.stdout || "(nothing)"));
  if (o.stderr) {
    box.append(element("div", "note", "stderr" + (o.stderr_truncated ? " (its last 2,000 characters)" : "")));
    box.append(element("pre", "stderr", o.stderr));
  }
  return box;
}

async function run() {
  let body;
  let title;
  const result = $("result").value;
  if (state.result && result.trim()) {
    body = { program: { language: state.result.language, code: result }, source: state.result.source };
    title = state.result.kind === "translation" ? "translation" : "completion";
  } else {
    const found = $("language").value ? { language: $("language").value } : state.detection || (await detect());
    if (!found) throw new Error("nothing to run: paste a program");
    body = { program: { language: found.language, code: $("code").value }, source: null };
    title = "program";
  }
  const r = await api("/api/run", body);
  const out = $("run-output");
  out.textContent = "";
  if (r.source) out.append(renderProgram("run-source", `source (${r.source.display_name})`, r.source));
  out.append(renderProgram("run-program", `${title} (${r.program.display_name})`, r.program));
  const agree = $("agree");
  agree.hidden = r.agree === null;
  if (r.agree !== null) {
    agree.className = r.agree ? "agree" : "differ";
    agree.textContent = `outputs ${r.agree ? "agree" : "differ"}: ${r.why}`;
  }
}

function pickExample() {
  const example = state.examples[Number($("example").value)];
  if (!example) return;
  $("code").value = example.code;
  $("language").value = "";
  codeChanged();
}

async function start() {
  $("code").addEventListener("input", codeChanged);
  $("language").addEventListener("change", codeChanged);
  $("example").addEventListener("change", pickExample);
  $("translate").addEventListener("click", () => busy("translating", translate));
  $("complete").addEventListener("click", () => busy("completing", complete));
  $("run").addEventListener("click", () => busy("running", run));
  try {
    state.config = await api("/api/config");
    const c = state.config;
    const experts = c.experts.length ? `; experts ${c.experts.join(", ")} (${c.router} router)` : "";
    $("model").textContent = `model ${c.model}${experts}; translation prompt format ${c.prompt_format}; ` +
      `programs run in the sandbox for ${c.run_timeout_s} s at most`;
    $("key-row").hidden = !c.key_required;
    for (const lang of c.languages) $("language").append(new Option(`${lang.display_name} (${lang.name})`, lang.name));
    state.examples = await (await fetch("/static/examples.json")).json();
    state.examples.forEach((e, i) => $("example").append(new Option(e.name, String(i))));
    document.body.dataset.ready = "yes";
  } catch (e) {
    showError(e.message);
  }
}

document.addEventListener("DOMContentLoaded", start);
