  fetch("/readyz").then(function (r) { return r.json(); }).then(function (s) {
    document.getElementById("ready").textContent = s.status === "ready" ? "正常 / ready" : "未就绪 / not ready";
  }).catch(function () { document.getElementById("ready").textContent = "无法连接 / unreachable"; });
  fetch("/api/v1/clock").then(function (r) { return r.json(); }).then(function (c) {
    var text = new Date(c.now).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai" }) + "（北京时间）";
    if (c.rehearsal) { text += " — 演练时钟 ×" + c.speed + " / rehearsal clock, development only"; }
    document.getElementById("clock").textContent = text;
  }).catch(function () { document.getElementById("clock").textContent = "—"; });
