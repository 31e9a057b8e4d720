// Bill upload with a progress bar (XHR upload events) and a table of row-numbered errors.
(function () {
  "use strict";
  var form = document.getElementById("bill-upload");
  if (!form) { return; }
  var bar = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
  var table = document.getElementById("upload-errors");
  var body = table.querySelector("tbody");

  function showErrors(detail, errors) {
    status.textContent = detail || "上传失败。";
    status.className = "error";
    body.innerHTML = "";
    (errors || []).forEach(function (e) {
      var tr = document.createElement("tr");
      [e.row, e.column, e.message].forEach(function (value, i) {
        var td = document.createElement("td");
        td.textContent = value === undefined || value === null ? "" : String(value);
        if (i === 0) { td.className = "num"; }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    table.hidden = !(errors && errors.length);
  }

  // A large file is read by a worker: poll its state and show the rows read so far.
  function follow(url) {
    status.textContent = "文件已接收，排队等待处理…";
    bar.removeAttribute("value");
    var poll = new XMLHttpRequest();
    poll.open("GET", url);
    poll.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    poll.addEventListener("load", function () {
      var state = {};
      try { state = JSON.parse(poll.responseText); } catch (err) { state = { state: "failed", detail: "服务器返回 " + poll.status }; }
      if (state.state === "done") {
        status.textContent = "已保存，正在打开对账结果…";
        status.className = "ok";
        window.location.assign(state.result_url || url);
      } else if (state.state === "failed") {
        showErrors(state.detail, state.errors);
      } else {
        status.textContent = (state.state === "running" ? "正在校验与对账，已读取 " + (state.rows_read || 0) + " 行…" : "排队等待处理…");
        window.setTimeout(function () { follow(url); }, 2000);
      }
    });
    poll.addEventListener("error", function () { window.setTimeout(function () { follow(url); }, 5000); });
    poll.send();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.max = e.total;
        bar.value = e.loaded;
        status.textContent = "正在上传 " + Math.floor((e.loaded * 100) / e.total) + "%";
      }
    });
    xhr.upload.addEventListener("load", function () { status.textContent = "上传完成，正在校验与对账…"; });
    xhr.addEventListener("load", function () {
      var answer = {};
      try { answer = JSON.parse(xhr.responseText); } catch (err) { answer = { detail: "服务器返回 " + xhr.status }; }
      if (xhr.status === 201 && answer.url) {
        status.textContent = "已保存，正在打开对账结果…";
        status.className = "ok";
        window.location.assign(answer.url);
      } else if (xhr.status === 202 && answer.status_url) {
        follow(answer.status_url);
      } else {
        showErrors(answer.detail, answer.errors);
      }
    });
    xhr.addEventListener("error", function () { showErrors("网络错误，上传未完成。", []); });
    bar.hidden = false;
    bar.value = 0;
    table.hidden = true;
    status.className = "";
    xhr.send(new FormData(form));
  });
})();
