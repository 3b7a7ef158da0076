// The dashboard shell: keeps Telegram's initData, loads pages as HTML fragments, posts forms.
// Every request carries "Authorization: tma <initData>"; the server checks the signature.
(function () {
  "use strict";
  var KEY = "creatorbot.initData";
  function readInitData() {
    var tg = window.Telegram && window.Telegram.WebApp;
    if (tg && tg.initData) return tg.initData;
    var hash = window.location.hash.replace(/^#/, "");
    var params = new URLSearchParams(hash);
    var data = params.get("tgWebAppData");
    if (data) {
      sessionStorage.setItem(KEY, data);
      history.replaceState(null, "", window.location.pathname + window.location.search + "#overview");
      return data;
    }
    return sessionStorage.getItem(KEY) || "";
  }
  var initData = readInitData();
  var main = document.getElementById("page");
  var current = "overview";

  function show(html) {
    main.innerHTML = html;
    document.querySelectorAll("#tabs a").forEach(function (a) {
      a.classList.toggle("on", a.dataset.page === current);
    });
  }

  function request(method, path, body) {
    return fetch("api/" + path, {
      method: method, body: body, credentials: "omit",
      headers: { "Authorization": "tma " + initData }
    }).then(function (resp) {
      return resp.text().then(function (text) {
        if (resp.status === 401) {
          show('<p class="error">' + "Not authorised: open the dashboard from the bot's button in Telegram." + "</p>");
          throw new Error("401");
        }
        if (!resp.ok) throw new Error(text);
        return text;
      });
    });
  }

  function load(page, query) {
    current = page;
    main.setAttribute("aria-busy", "true");
    return request("GET", "page/" + page + (query ? "?" + query : "")).then(function (html) {
      show(html);
      main.setAttribute("aria-busy", "false");
      main.dataset.loaded = page;
    }).catch(function (err) {
      main.setAttribute("aria-busy", "false");
      if (err.message !== "401") show('<p class="error">Could not load the page.</p>');
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.dataset.action) return;
    event.preventDefault();
    var data = new FormData(form);
    if (event.submitter && event.submitter.name) data.append(event.submitter.name, event.submitter.value);
    if (form.dataset.method === "get") {
      load(form.dataset.action.replace(/^page\//, ""), new URLSearchParams(data).toString());
      return;
    }
    main.setAttribute("aria-busy", "true");
    request("POST", form.dataset.action, new URLSearchParams(data)).then(function (html) {
      current = form.dataset.page || current;
      show(html);
      main.setAttribute("aria-busy", "false");
      main.dataset.loaded = current;
    }).catch(function () { main.setAttribute("aria-busy", "false"); });
  });

  function route() {
    var page = window.location.hash.replace(/^#/, "") || "overview";
    if (!document.querySelector('#tabs a[data-page="' + page + '"]')) page = "overview";
    load(page);
  }
  window.addEventListener("hashchange", route);
  document.getElementById("tabs").addEventListener("click", function (event) {
    var link = event.target.closest("a[data-page]");
    if (link && "#" + link.dataset.page === window.location.hash) {
      event.preventDefault();
      load(link.dataset.page);  // tapping the open tab refreshes it
    }
  });
  route();
})();
