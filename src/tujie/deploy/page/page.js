// tujie serve: the page to try a model. It posts to ./predict on this server and nowhere else.
// Modes (chosen by the server, in the JSON config in <head>): "draw" (a canvas for small grayscale
// image models such as MNIST), "text" (a box to type a review), "json" (samples as JSON).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("tujie-config").textContent);
  var S = config.strings;
  function $(id) { return document.getElementById(id); }

  Array.prototype.forEach.call(document.querySelectorAll("[data-text]"), function (el) {
    el.textContent = S[el.getAttribute("data-text")] || "";
  });
  $("model-line").textContent = config.model + " · " + S.classes + " " + config.classes.length +
    (config.input_shape.length ? " · " + S.input_shape + " (" + config.input_shape.join(", ") + ")" : "") +
    (config.backend ? " · " + S.backend + " " + config.backend : "");

  // ---- the probability bars: one row per class, in the model's order, so rows never jump
  var rows = {};
  config.classes.forEach(function (name) {
    var row = document.createElement("div"), label = document.createElement("span"),
        track = document.createElement("span"), fill = document.createElement("span"), value = document.createElement("span");
    row.className = "bar"; label.className = "name"; track.className = "track"; fill.className = "fill"; value.className = "value";
    row.setAttribute("data-class", name); row.setAttribute("data-p", "0");
    label.textContent = name; label.title = name; value.textContent = "";
    track.appendChild(fill); row.appendChild(label); row.appendChild(track); row.appendChild(value);
    $("bars").appendChild(row);
    rows[name] = {row: row, fill: fill, value: value};
  });

  var answers = 0;
  function waiting() {
    $("answer").textContent = S.waiting;
    $("answer").removeAttribute("data-label");
    Object.keys(rows).forEach(function (name) {
      rows[name].fill.style.width = "0"; rows[name].value.textContent = "";
      rows[name].row.setAttribute("data-p", "0"); rows[name].row.classList.remove("best");
    });
  }

  function show(prediction) {
    $("error").hidden = true;
    Object.keys(rows).forEach(function (name) {
      var p = prediction.probabilities[name] || 0;
      rows[name].fill.style.width = (100 * p).toFixed(2) + "%";
      rows[name].value.textContent = (100 * p).toFixed(1) + "%";
      rows[name].row.setAttribute("data-p", String(p));
      rows[name].row.classList.toggle("best", name === prediction.label);
    });
    var answer = $("answer"), strong = document.createElement("strong");
    answer.textContent = S.prediction + (config.lang === "zh" ? "：" : ": ");
    strong.textContent = prediction.label;
    answer.appendChild(strong);
    answer.appendChild(document.createTextNode(" (" + (100 * prediction.confidence).toFixed(1) + "%)"));
    answer.setAttribute("data-label", prediction.label);
    answers += 1;
    document.body.setAttribute("data-answers", String(answers));
  }

  function refused(detail) {
    $("error").textContent = S.refused + (config.lang === "zh" ? "" : " ") + detail;
    $("error").hidden = false;
  }

  // ---- one request at a time; while one is out, only the newest waiting input is kept
  var busy = false, next = null;
  function ask(request) {
    if (busy) { next = request; return; }
    busy = true;
    var url = "predict" + (request.query || "");
    fetch(url, {method: "POST", headers: request.headers || {}, body: request.body})
      .then(function (response) {
        return response.json().then(function (data) { return {ok: response.ok, status: response.status, data: data}; });
      })
      .then(function (reply) {
        if (reply.ok) { show(reply.data.predictions[0]); } else { refused(reply.data.detail || ("HTTP " + reply.status)); }
      })
      .catch(function (error) { refused(String(error)); })
      .then(function () {
        busy = false;
        if (next) { var waitingRequest = next; next = null; ask(waitingRequest); }
      });
  }
  function askJson(text) { ask({body: text, headers: {"Content-Type": "application/json"}}); }

  // ---- draw: strokes on a 280×280 canvas, sent as the model's small image, MNIST's way
  function setupDrawing() {
    var pad = $("pad"), context = pad.getContext("2d");
    var side = config.draw.side, box = config.draw.box;
    var small = document.createElement("canvas");
    small.width = side; small.height = side;
    var smallContext = small.getContext("2d", {willReadFrequently: true});
    var preview = $("preview"), previewContext = preview.getContext("2d");
    var drawing = false, last = null, timer = null;

    function clear() {
      context.fillStyle = "#000"; context.fillRect(0, 0, pad.width, pad.height);
      previewContext.fillStyle = "#000"; previewContext.fillRect(0, 0, preview.width, preview.height);
      next = null; waiting();
    }
    function at(event) {
      var rect = pad.getBoundingClientRect();
      return {x: (event.clientX - rect.left) * pad.width / rect.width, y: (event.clientY - rect.top) * pad.height / rect.height};
    }
    function stroke(from, to) {
      context.strokeStyle = "#fff"; context.lineWidth = pad.width / 14;  // about 2 pixels of 28, as MNIST's pen
      context.lineCap = "round"; context.lineJoin = "round";
      context.beginPath(); context.moveTo(from.x, from.y); context.lineTo(to.x, to.y); context.stroke();
    }
    function soon() { if (timer === null) { timer = setTimeout(function () { timer = null; send(); }, 40); } }

    // MNIST's preprocessing: the ink's bounding box scaled to fit box×box (aspect kept, anti-aliased),
    // then placed in side×side with its centre of mass in the middle.
    function place(x0, y0, w, h, scale, dx, dy) {
      smallContext.fillStyle = "#000"; smallContext.fillRect(0, 0, side, side);
      smallContext.imageSmoothingEnabled = true; smallContext.imageSmoothingQuality = "high";
      smallContext.drawImage(pad, x0, y0, w, h, (side - w * scale) / 2 + dx, (side - h * scale) / 2 + dy, w * scale, h * scale);
      return smallContext.getImageData(0, 0, side, side).data;
    }
    function sample() {
      var W = pad.width, H = pad.height, pixels = context.getImageData(0, 0, W, H).data;
      var x0 = W, y0 = H, x1 = -1, y1 = -1;
      for (var y = 0; y < H; y++) {
        for (var x = 0; x < W; x++) {
          if (pixels[(y * W + x) * 4] > 24) { if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y; }
        }
      }
      if (x1 < 0) { return null; }  // nothing drawn yet
      var w = x1 - x0 + 1, h = y1 - y0 + 1, scale = box / Math.max(w, h);
      var data = place(x0, y0, w, h, scale, 0, 0), mass = 0, cx = 0, cy = 0;
      for (var i = 0; i < side * side; i++) {
        var v = data[i * 4]; mass += v; cx += v * (i % side + 0.5); cy += v * (Math.floor(i / side) + 0.5);
      }
      if (mass > 0) { data = place(x0, y0, w, h, scale, Math.round(side / 2 - cx / mass), Math.round(side / 2 - cy / mass)); }
      previewContext.imageSmoothingEnabled = false;
      previewContext.drawImage(small, 0, 0, preview.width, preview.height);
      var image = [];
      for (var r = 0; r < side; r++) {
        var line = [];
        for (var c = 0; c < side; c++) { line.push(Math.round(data[(r * side + c) * 4] / 255 * 1000) / 1000); }
        image.push(line);
      }
      return config.input_shape.length === 3 ? [image] : image;  // (1, H, W) or (H, W)
    }
    function send() {
      var image = sample();
      if (image) { askJson(JSON.stringify({inputs: [image]})); }
    }

    pad.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      drawing = true; last = at(event);
      if (pad.setPointerCapture) { try { pad.setPointerCapture(event.pointerId); } catch (ignored) { /* synthetic pointers */ } }
      stroke(last, {x: last.x + 0.01, y: last.y}); soon();
    });
    pad.addEventListener("pointermove", function (event) {
      if (!drawing) { return; }
      var point = at(event); stroke(last, point); last = point; soon();
    });
    function end() { if (drawing) { drawing = false; soon(); } }
    pad.addEventListener("pointerup", end);
    pad.addEventListener("pointercancel", end);
    pad.addEventListener("pointerleave", end);
    $("clear").addEventListener("click", clear);
    clear();
  }

  function setupText() {
    var box = $("review"), timer = null;
    box.placeholder = S.text_placeholder;
    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        if (box.value.trim()) { askJson(JSON.stringify({inputs: [box.value]})); } else { waiting(); }
      }, 200);
    });
  }

  function setupJson() {
    var box = $("json-input");
    box.value = config.example;
    $("send").addEventListener("click", function () { askJson(box.value); });
  }

  function setupUpload() {
    if (!config.grayscale) { $("invert-label").hidden = true; }
    $("file").addEventListener("change", function () {
      var file = $("file").files[0];
      if (!file) { return; }
      var form = new FormData();
      form.append("file", file);
      ask({body: form, query: $("invert").checked ? "?invert=true" : ""});
    });
  }

  waiting();
  $(config.mode).hidden = false;
  ({draw: setupDrawing, text: setupText, json: setupJson})[config.mode]();
  if (config.upload) { $("upload").hidden = false; setupUpload(); }
  document.body.setAttribute("data-ready", "1");
})();
