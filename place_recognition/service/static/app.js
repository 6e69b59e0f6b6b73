// The service's page: a photo's top places, the browser camera streamed over the WebSocket, and
// the places plotted by their coordinates. Everything comes from this server; no CDN, no tiles.
"use strict";

const API = "/api/v1";
const $ = (id) => document.getElementById(id);
let places = [];
let highlighted = null;

function apiKey() { return sessionStorage.getItem("apiKey") || ""; }

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (apiKey()) headers["X-API-Key"] = apiKey();
  const response = await fetch(API + path, Object.assign({}, options, { headers }));
  if (response.status === 401) { askForKey(); throw new Error("an API key is needed"); }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body.error || response.statusText);
  }
  return response;
}

function askForKey() {
  $("key-form").hidden = false;
  $("status").textContent = "this server needs an API key";
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("apiKey", $("key-input").value);
  $("key-form").hidden = true;
  start();
});

async function thumbnailUrl(id) {
  const response = await api(`/images/${encodeURIComponent(id)}/thumbnail`);
  return URL.createObjectURL(await response.blob());
}

async function showResults(answer) {
  const list = $("results");
  list.replaceChildren();
  for (const place of answer.top_k) {
    const item = document.createElement("li");
    item.className = "result";
    item.dataset.label = place.label;
    const image = document.createElement("img");
    image.alt = place.label;
    thumbnailUrl(place.id).then((url) => { image.src = url; }).catch(() => {});
    const text = document.createElement("div");
    const known = place.rank === 0 && answer.known;
    text.innerHTML = `<div class="label ${known ? "known" : ""}"></div><div></div>`;
    text.children[0].textContent = `${place.rank + 1}. ${place.label}`;
    text.children[1].textContent = `similarity ${place.score.toFixed(3)}` +
      (place.lat !== null ? ` · ${place.lat.toFixed(5)}, ${place.lon.toFixed(5)}` : "");
    item.append(image, text);
    list.append(item);
  }
  const verdict = document.createElement("li");
  verdict.id = "verdict";
  verdict.className = answer.known ? "known" : "unknown";
  verdict.textContent = answer.known ? `place: ${answer.label}`
    : `unknown place (best similarity below ${answer.threshold.toFixed(3)})`;
  list.prepend(verdict);
  highlight(answer.known ? answer.label : null);
}

async function recognize(file) {
  $("preview").src = URL.createObjectURL(file);
  $("preview").hidden = false;
  $("results").innerHTML = "<li>looking&hellip;</li>";
  const form = new FormData();
  form.append("image", file);
  try {
    const response = await api("/recognize?k=5", { method: "POST", body: form });
    await showResults(await response.json());
  } catch (error) {
    $("results").innerHTML = "";
    const item = document.createElement("li");
    item.className = "unknown";
    item.textContent = `error: ${error.message}`;
    $("results").append(item);
  }
}

$("file-input").addEventListener("change", (event) => {
  if (event.target.files.length) recognize(event.target.files[0]);
});
const drop = $("drop");
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  if (event.dataTransfer.files.length) recognize(event.dataTransfer.files[0]);
});

// --- live camera over the WebSocket: one frame in flight at a time --------------------------
let socket = null;

async function startLive() {
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  const video = $("video");
  video.srcObject = stream;
  await video.play();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const key = apiKey() ? `?key=${encodeURIComponent(apiKey())}` : "";
  socket = new WebSocket(`${scheme}://${location.host}${API}/stream${key}`);
  socket.onopen = () => sendFrame(video);
  socket.onmessage = (event) => { showLive(JSON.parse(event.data)); sendFrame(video); };
  socket.onclose = (event) => {
    $("live-label").textContent = event.code === 1008 ? "the API key was refused" : "stream closed";
    $("live-button").textContent = "start the camera";
    socket = null;
  };
  $("live-button").textContent = "stop the camera";
}

function sendFrame(video) {
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth || 640;
  canvas.height = video.videoHeight || 480;
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  canvas.toBlob((blob) => { if (blob && socket) socket.send(blob); }, "image/jpeg", 0.8);
}

function showLive(answer) {
  const label = $("live-label");
  if (answer.error) { label.textContent = `error: ${answer.error}`; return; }
  const best = answer.top_k[0];
  label.className = answer.known ? "known" : "unknown";
  label.textContent = answer.known ? `${answer.label} ${best.score.toFixed(3)}`
    : `unknown place (nearest ${best ? best.label : "-"})`;
  const sequence = answer.sequence;
  const line = $("live-sequence");
  line.className = sequence && sequence.known ? "known" : "unknown";
  line.textContent = !sequence ? "" : sequence.known
    ? `route: ${sequence.label} (confidence ${sequence.confidence.toFixed(2)})`
    : `route: unsure (confidence ${sequence.confidence.toFixed(2)})`;
  highlight(sequence && sequence.known ? sequence.label : (answer.known ? answer.label : null));
}

$("live-button").addEventListener("click", () => {
  if (socket) {
    socket.close();
    const tracks = $("video").srcObject ? $("video").srcObject.getTracks() : [];
    tracks.forEach((track) => track.stop());
  } else {
    startLive().catch((error) => { $("live-label").textContent = `camera: ${error.message}`; });
  }
});

// --- the places, plotted locally by latitude and longitude ----------------------------------
function drawMap() {
  const canvas = $("map");
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  const located = places.filter((place) => place.lat !== null && place.lon !== null);
  $("map-note").textContent = located.length
    ? `${located.length} of ${places.length} places have coordinates`
    : `${places.length} places; none has coordinates (places.csv lat, lon)`;
  if (!located.length) return;
  const lats = located.map((p) => p.lat), lons = located.map((p) => p.lon);
  const [minLat, maxLat, minLon, maxLon] = [Math.min(...lats), Math.max(...lats),
    Math.min(...lons), Math.max(...lons)];
  const pad = 24, w = canvas.width - 2 * pad - 64, h = canvas.height - 2 * pad;  // room for labels
  const x = (lon) => pad + (maxLon > minLon ? (lon - minLon) / (maxLon - minLon) : 0.5) * w;
  const y = (lat) => pad + (maxLat > minLat ? (maxLat - lat) / (maxLat - minLat) : 0.5) * h;
  for (const place of located) {
    const here = place.label === highlighted;
    context.fillStyle = here ? "#81c995" : "#8ab4f8";
    context.beginPath();
    context.arc(x(place.lon), y(place.lat), here ? 7 : 4, 0, 2 * Math.PI);
    context.fill();
    context.fillStyle = "#e8eaed";
    context.font = "11px sans-serif";
    context.fillText(place.label, x(place.lon) + 8, y(place.lat) + 4);
  }
}

function highlight(label) { highlighted = label; drawMap(); }

async function start() {
  try {
    const health = await (await api("/health")).json();
    $("status").textContent =
      `${health.images} images · ${health.model} on ${health.device} (${health.precision})`;
    const page = await (await api("/places?limit=1000")).json();
    places = page.places;
    drawMap();
  } catch (error) {
    if (!$("key-form").hidden) return;
    $("status").textContent = `error: ${error.message}`;
  }
}

start();
