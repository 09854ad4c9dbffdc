"use strict";
// The page: pick or drop an image, say what to keep, POST /crop, draw the crops on the image.
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
let imageFile = null;
let natural = { w: 0, h: 0 };
let drawing = false;
let dragStart = null;
let lastCrops = [];

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

function setStatus(message) { $("status").textContent = message; }

// The method list comes from the service (GET /methods), so it is always the service's own.
async function loadMethods() {
  try {
    const response = await fetch("/methods", { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`GET /methods answered ${response.status}`);
    const body = await response.json();
    const select = $("method");
    for (const m of body.methods) {
      const option = document.createElement("option");
      option.value = m.name;
      option.textContent = m.name;
      option.title = `${m.summary} (intents: ${m.intents.join(", ")})`;
      select.appendChild(option);
    }
    if (body.default) select.options[0].textContent = `service default (${body.default})`;
  } catch (err) {
    showError(`The method list could not be loaded (${err.message}); crops use the method chosen by intent.`);
  }
}

function useFile(file) {
  imageFile = file;
  showError("");
  $("results").innerHTML = "";
  lastCrops = [];
  $("debug-image").hidden = true;
  $("debug-image").removeAttribute("src");
  const url = URL.createObjectURL(file);
  const img = $("preview");
  img.onload = () => {
    natural = { w: img.naturalWidth, h: img.naturalHeight };
    $("overlay").setAttribute("viewBox", `0 0 ${natural.w} ${natural.h}`);
    $("viewer").hidden = false;
    redraw();
    setStatus(`${file.name}: ${natural.w}x${natural.h}`);
  };
  img.onerror = () => {  // the browser cannot show it; the server still says what is wrong when asked
    natural = { w: 0, h: 0 };
    $("viewer").hidden = true;
    setStatus(`${file.name}: the browser cannot show this file`);
  };
  img.src = url;
}

$("image").addEventListener("change", (e) => { if (e.target.files[0]) useFile(e.target.files[0]); });
const drop = $("drop");
["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
drop.addEventListener("drop", (e) => {
  const file = e.dataTransfer.files[0];
  if (file) useFile(file);
});

function parseSubject() {
  const parts = $("subject").value.split(",").map(Number);
  return parts.length === 4 && parts.every(Number.isFinite) ? parts : null;
}

function rect(x1, y1, x2, y2, cls) {
  const r = document.createElementNS(SVG, "rect");
  r.setAttribute("x", x1); r.setAttribute("y", y1);
  r.setAttribute("width", Math.max(0, x2 - x1)); r.setAttribute("height", Math.max(0, y2 - y1));
  r.setAttribute("class", cls);
  return r;
}

function redraw(active) {
  const svg = $("overlay");
  svg.innerHTML = "";
  const subject = parseSubject();
  if (subject) svg.appendChild(rect(...subject, "subject"));
  const size = Math.max(14, Math.round(Math.max(natural.w, natural.h) / 40));
  lastCrops.forEach((c, i) => {
    const b = c.box;
    const cls = "crop" + (c.rank === 1 ? "" : " other") + (i === active ? " active" : "");
    svg.appendChild(rect(b.x1, b.y1, b.x2, b.y2, cls));
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", b.x1 + 6); label.setAttribute("y", b.y1 + size + 4);
    label.setAttribute("font-size", size);
    label.textContent = `${i + 1}. #${c.rank}${c.ratio ? " " + c.ratio : ""} ${c.score.toFixed(3)}`;
    svg.appendChild(label);
  });
}

// Subject box: drag on the image (pointer: mouse, pen or touch), or type it; Escape stops drawing.
const stage = $("stage");
function toImage(e) {
  const r = $("preview").getBoundingClientRect();
  const x = (e.clientX - r.left) * natural.w / r.width;
  const y = (e.clientY - r.top) * natural.h / r.height;
  return [Math.round(Math.min(Math.max(x, 0), natural.w)), Math.round(Math.min(Math.max(y, 0), natural.h))];
}
function setDrawing(on) {
  drawing = on;
  $("draw-subject").setAttribute("aria-pressed", String(on));
  stage.classList.toggle("drawing", on);
  if (on) setStatus("Drag on the image to draw the subject box (Escape to stop).");
}
$("draw-subject").addEventListener("click", () => setDrawing(!drawing));
$("clear-subject").addEventListener("click", () => { $("subject").value = ""; redraw(); });
$("subject").addEventListener("input", () => redraw());
document.addEventListener("keydown", (e) => { if (e.key === "Escape" && drawing) setDrawing(false); });
stage.addEventListener("pointerdown", (e) => {
  if (!drawing) return;
  e.preventDefault();
  stage.setPointerCapture(e.pointerId);
  dragStart = toImage(e);
});
stage.addEventListener("pointermove", (e) => {
  if (!drawing || !dragStart) return;
  const [x, y] = toImage(e);
  $("subject").value = [Math.min(dragStart[0], x), Math.min(dragStart[1], y), Math.max(dragStart[0], x), Math.max(dragStart[1], y)].join(",");
  redraw();
});
stage.addEventListener("pointerup", () => {
  if (!drawing || !dragStart) return;
  dragStart = null;
  setDrawing(false);
  setStatus(`Subject box: ${$("subject").value}`);
});

$("debug").addEventListener("change", () => {
  const img = $("debug-image");
  img.hidden = !($("debug").checked && img.getAttribute("src"));
});

function extension(format) { return format === "jpeg" ? "jpg" : format; }

function showResults(body) {
  lastCrops = body.crops;
  const list = $("results");
  list.innerHTML = "";
  body.crops.forEach((c, i) => {
    const li = document.createElement("li");
    const b = c.box;
    const title = document.createElement("strong");
    title.textContent = `#${c.rank}${c.ratio ? " [" + c.ratio + "]" : ""} score ${c.score.toFixed(3)}, ` +
      `${b.width}x${b.height} at ${b.x1},${b.y1}`;
    li.appendChild(title);
    if (c.image) {
      const img = document.createElement("img");
      img.src = `data:image/${c.image_format};base64,${c.image}`;
      img.alt = `crop ${i + 1}`;
      li.prepend(img);
    }
    const p = document.createElement("p");
    p.className = "explanation";
    p.textContent = c.explanation || "";
    li.appendChild(p);
    const row = document.createElement("div");
    row.className = "row";
    const show = document.createElement("button");
    show.type = "button";
    show.textContent = "Show on image";
    show.addEventListener("click", () => redraw(i));
    show.addEventListener("focus", () => redraw(i));
    row.appendChild(show);
    if (c.image) {
      const a = document.createElement("a");
      a.href = `data:image/${c.image_format};base64,${c.image}`;
      const base = (imageFile.name.replace(/\.[^.]*$/, "") || "image");
      a.download = `${base}${c.ratio ? "_" + c.ratio.replace(":", "x") : ""}_crop${c.rank}.${extension(c.image_format)}`;
      a.textContent = `Download crop ${i + 1}`;
      a.className = "download";
      row.appendChild(a);
    }
    li.appendChild(row);
    list.appendChild(li);
  });
  const dbg = $("debug-image");
  if (body.debug_image) dbg.src = `data:image/png;base64,${body.debug_image}`;
  dbg.hidden = !($("debug").checked && body.debug_image);
  redraw();
  const warn = (body.warnings || []).join("; ");
  const n = body.crops.length;
  setStatus(`${n} crop${n === 1 ? "" : "s"} (${body.method || "method by intent"})${warn ? ". Warning: " + warn : ""}`);
}

$("crop-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  showError("");
  if (!imageFile) { showError("Choose or drop an image first."); $("image").focus(); return; }
  const form = new FormData();
  form.append("image", imageFile, imageFile.name);
  for (const id of ["text", "subject", "ratio", "size", "k", "method"]) {
    const v = $(id).value.trim();
    if (v) form.append(id, v);
  }
  const query = $("query-image").files[0];
  if (query) form.append("query_image", query, query.name);
  form.append("return_images", "true");
  form.append("debug", "true");
  $("submit").disabled = true;
  setStatus("Cropping...");
  try {
    const response = await fetch("/crop", { method: "POST", body: form, headers: { Accept: "application/json" } });
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    if (!response.ok) {
      const detail = body && body.detail ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : response.statusText;
      showError(`Error ${response.status}: ${detail}`);
      setStatus("");
      return;
    }
    showResults(body);
  } catch (err) {
    showError(`The service could not be reached: ${err}`);
    setStatus("");
  } finally {
    $("submit").disabled = false;
  }
});
loadMethods();
