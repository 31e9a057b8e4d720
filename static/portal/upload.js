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
