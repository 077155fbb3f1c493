/* clik owner dashboard: signs in with an owner token and shows what the owner API answers.
 *
 * Every figure comes from /api/analytics/stats/* with the token, so PostgreSQL's row-level
 * security decides what this page can show. The token lives in sessionStorage (this tab only)
 * and travels only in the Authorization header, never in a URL. No framework, no build step;
 * the chart is uPlot (vendored from npm). Text goes into the page with textContent only.
 */
(function () {
  "use strict";

  var API = "/api/analytics/stats/";
  var TOKEN_KEY = "clik:dashboard-token";
  var MAX_DAYS = 366;
  var DAY_MS = 86400000;
  var NUMBER = new Intl.NumberFormat("en-US");
  var ONE_DECIMAL = new Intl.NumberFormat("en-US", {
    minimumFractionDigits: 1, maximumFractionDigits: 1,
  });
  var DAY_LABEL = new Intl.DateTimeFormat("en-US", {
    month: "short", day: "numeric", timeZone: "UTC",
  });
  var METRICS = ["sessions", "page_views", "clicks", "contact_clicks", "contact_rate"];
  var DAY_COLUMNS = ["total_sessions", "total_page_views", "total_clicks", "contact_clicks"];
  var SERIES = [
    { key: "total_page_views", label: "Page views", color: "#1f5fbf" },
    { key: "total_sessions", label: "Sessions", color: "#0f8a5f" },
    { key: "total_clicks", label: "Clicks", color: "#b35c00" },
    { key: "contact_clicks", label: "Contact clicks", color: "#a3238e" },
  ];

  var page = {};
  var chart = null;
  var csvUrl = null;
  var loadNumber = 0; // answers of an older load are ignored
  var shown = null; // what the page shows now: the source of the CSV

  // --- dates (UTC days as YYYY-MM-DD) ----------------------------------------------------

  function todayUtc() {
    return new Date().toISOString().slice(0, 10);
  }

  function addDays(day, days) {
    return new Date(Date.parse(day + "T00:00:00Z") + days * DAY_MS).toISOString().slice(0, 10);
  }

  function daysBetween(first, last) {
    return Math.round((Date.parse(last + "T00:00:00Z") - Date.parse(first + "T00:00:00Z")) / DAY_MS);
  }

  function isDay(text) {
    return /^\d{4}-\d{2}-\d{2}$/.test(text) && !isNaN(Date.parse(text + "T00:00:00Z")) &&
      new Date(Date.parse(text + "T00:00:00Z")).toISOString().slice(0, 10) === text;
  }

  // --- numbers -----------------------------------------------------------------------------

  function formatRate(rate) {
    return rate === null ? "–" : ONE_DECIMAL.format(rate);
  }

  function formatValue(metric, totals) {
    return metric === "contact_rate" ? formatRate(totals.contact_rate) : NUMBER.format(totals[metric]);
  }

  /** The change of a figure against the previous period, as shown under it. */
  function describeChange(metric, current, previous) {
    var now = current[metric];
    var before = previous[metric];
    if (metric === "contact_rate") {
      if (now === null || before === null) return { text: "no rate to compare", trend: "flat" };
      var points = Math.round((now - before) * 10) / 10;
      return {
        text: (points > 0 ? "+" : points < 0 ? "−" : "±") + ONE_DECIMAL.format(Math.abs(points)) +
          " pp vs previous period",
        trend: points > 0 ? "up" : points < 0 ? "down" : "flat",
      };
    }
    if (before === 0) {
      return now === 0 ? { text: "no change vs previous period", trend: "flat" }
        : { text: "new (previous period: 0)", trend: "up" };
    }
    var percent = Math.round(((now - before) / before) * 1000) / 10;
    return {
      text: (percent > 0 ? "+" : percent < 0 ? "−" : "±") + ONE_DECIMAL.format(Math.abs(percent)) +
        "% vs previous period",
      trend: percent > 0 ? "up" : percent < 0 ? "down" : "flat",
    };
  }

  // --- the owner API -----------------------------------------------------------------------

  function ApiError(status, message) {
    this.status = status;
    this.message = message;
  }

  function get(path, params) {
    var query = params ? "?" + new URLSearchParams(params).toString() : "";
    return fetch(API + path + query, {
      headers: { Authorization: "Bearer " + sessionStorage.getItem(TOKEN_KEY) },
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) throw new ApiError(response.status, body.error || response.statusText);
        return body;
      });
    }, function () {
      throw new ApiError(0, "the service did not answer; check the connection and try again");
    });
  }

  // --- sign-in -------------------------------------------------------------------------------

  function showAlert(message) {
    page.alert.textContent = message;
  }

  function signIn(token, measured) {
    sessionStorage.setItem(TOKEN_KEY, token);
    if (measured) performance.mark("clik:sign-in");
    page.board.dataset.state = "loading";
    return get("user-codes").then(function (answer) {
      showAlert("");
      page.token.value = "";
      showBoard(answer.user_codes);
      if (!answer.user_codes.length) {
        showAlert("This owner holds no user codes yet: `clik owner add` gives an owner its cards.");
        page.board.dataset.state = "empty";
        return;
      }
      return load().then(function () {
        if (measured && page.board.dataset.state === "ready") {
          performance.mark("clik:figures");
          performance.measure("clik:sign-in-to-figures", "clik:sign-in", "clik:figures");
        }
      });
    }, function (error) {
      signOut();
      showAlert(error.status === 401
        ? "Sign-in failed: " + error.message + ". Check the token, or ask for a new one."
        : "Sign-in failed: " + error.message + ".");
      page.token.focus();
    });
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    loadNumber += 1;
    page.board.hidden = true;
    page.board.dataset.state = "idle";
    page.signIn.hidden = false;
    page.signOut.hidden = true;
    page.userCode.replaceChildren();
    clearFigures();
    showAlert("");
  }

  function showBoard(userCodes) {
    page.signIn.hidden = true;
    page.board.hidden = false;
    page.signOut.hidden = false;
    page.userCode.replaceChildren.apply(page.userCode, userCodes.map(function (code) {
      var option = document.createElement("option");
      option.value = code;
      option.textContent = code;
      return option;
    }));
    page.from.max = page.to.max = todayUtc();
    var linked = linkedRange();
    if (linked.user_code && userCodes.indexOf(linked.user_code) >= 0) {
      page.userCode.value = linked.user_code;
    }
    if (isDay(linked.from || "") && isDay(linked.to || "")) {
      page.from.value = linked.from;
      page.to.value = linked.to;
    } else if (!page.from.value || !page.to.value) {
      setPreset(30);
    }
  }

  // The range (never the token) is kept in the address's fragment, so a view can be
  // bookmarked or reloaded; the fragment is never sent to a server.
  function linkedRange() {
    var fields = new URLSearchParams(location.hash.slice(1));
    return { user_code: fields.get("user_code"), from: fields.get("from"), to: fields.get("to") };
  }

  function linkRange(range) {
    history.replaceState(null, "", "#" + new URLSearchParams(range).toString());
  }

  // --- range ---------------------------------------------------------------------------------

  function setPreset(days) {
    var last = todayUtc();
    page.to.value = last;
    page.from.value = addDays(last, 1 - days);
  }

  function markPreset() {
    var last = todayUtc();
    page.presets.forEach(function (button) {
      var days = Number(button.dataset.preset);
      var pressed = page.to.value === last && page.from.value === addDays(last, 1 - days);
      button.setAttribute("aria-pressed", String(pressed));
    });
  }

  /** The chosen range, or null after showing why it cannot be asked for. */
  function chosenRange() {
    var first = page.from.value;
    var last = page.to.value;
    if (!isDay(first) || !isDay(last)) {
      showAlert("Choose both days of the range (From and To).");
      return null;
    }
    if (first > last) {
      showAlert("The range starts after it ends: From must be on or before To.");
      return null;
    }
    if (daysBetween(first, last) + 1 > MAX_DAYS) {
      showAlert("A range covers at most " + MAX_DAYS + " days.");
      return null;
    }
    return { user_code: page.userCode.value, from: first, to: last };
  }

  // --- loading and showing ---------------------------------------------------------------------

  function load() {
    var range = chosenRange();
    markPreset();
    if (!range) return Promise.resolve();
    linkRange(range);
    var number = ++loadNumber;
    page.board.dataset.state = "loading";
    page.board.setAttribute("aria-busy", "true");
    page.status.textContent = "Loading " + range.from + " to " + range.to + "…";
    return Promise.all([
      get("summary", range), get("days", range), get("share-codes", range),
      get("page-types", range), get("click-targets", range),
    ]).then(function (answers) {
      if (number !== loadNumber) return;
      showAlert("");
      show({
        range: range, summary: answers[0], days: answers[1].rows, shareCodes: answers[2].rows,
        pageTypes: answers[3].rows, clickTargets: answers[4].rows,
      });
      page.board.dataset.state = "ready";
    }, function (error) {
      if (number !== loadNumber) return;
      if (error.status === 401) {
        signOut();
        showAlert("Signed out: " + error.message + ". Sign in with a valid token.");
        return;
      }
      page.board.dataset.state = "error";
      clearFigures();
      showAlert("Could not load the figures: " + error.message + ".");
    }).then(function () {
      if (number === loadNumber) page.board.removeAttribute("aria-busy");
    });
  }

  function show(data) {
    shown = data;
    var current = data.summary.current;
    var previous = data.summary.previous;
    METRICS.forEach(function (metric) {
      document.querySelector('[data-metric="' + metric + '"]').textContent =
        formatValue(metric, current);
      var change = describeChange(metric, current, previous);
      var element = document.querySelector('[data-change="' + metric + '"]');
      element.textContent = change.text;
      element.dataset.trend = change.trend;
      element.dataset.previous = metric === "contact_rate"
        ? formatRate(previous.contact_rate) : String(previous[metric]);
    });
    var computed = current.latest_computed_at
      ? " Figures computed " + current.latest_computed_at.slice(0, 16).replace("T", " ") + " UTC."
      : "";
    page.status.textContent = data.range.user_code + ": " + data.range.from + " to " +
      data.range.to + (page.compare.checked
        ? ", compared with " + previous.from + " to " + previous.to : "") + "." + computed;
    showProvisional(data.days);
    drawChart(data.days, data.range);
    fillDaysTable(data.days);
    fillTable("share_codes", data.shareCodes, function (row) {
      return [row.share_code === null ? "(none)" : row.share_code, row.total_sessions,
        row.total_page_views, row.total_clicks];
    });
    var views = data.pageTypes.reduce(function (sum, row) { return sum + row.view_count; }, 0);
    fillTable("page_types", data.pageTypes, function (row) {
      return [row.page_type, row.view_count,
        views ? ONE_DECIMAL.format((100 * row.view_count) / views) + "%" : "–"];
    });
    fillTable("click_targets", data.clickTargets, function (row) {
      return [row.click_target, row.click_category === null ? "(none)" : row.click_category,
        row.click_count];
    });
    offerCsv(data);
  }

  /** Empties every figure, so nothing on the page belongs to a range that failed to load. */
  function clearFigures() {
    shown = null;
    page.status.textContent = "";
    page.provisionalNote.textContent = "";
    METRICS.forEach(function (metric) {
      document.querySelector('[data-metric="' + metric + '"]').textContent = "–";
      document.querySelector('[data-change="' + metric + '"]').textContent = "";
    });
    document.querySelectorAll("table tbody").forEach(function (body) { body.replaceChildren(); });
    if (chart) chart.destroy();
    chart = null;
    ["days", "from", "to", "totals", "provisional"].forEach(function (key) {
      delete page.chart.dataset[key];
    });
    if (csvUrl) URL.revokeObjectURL(csvUrl);
    csvUrl = null;
    page.csv.href = "#";
    page.csv.setAttribute("aria-disabled", "true");
  }

  function showProvisional(days) {
    // Provisional: today, and a day the 02:00 UTC run has not finalized yet (so, between
    // midnight and 02:00 UTC, yesterday too).
    var provisional = days.filter(function (day) { return day.provisional; });
    var utcToday = new Date().toISOString().slice(0, 10);
    var notes = provisional.map(function (day) {
      if (day.date !== utcToday) {
        return day.date + " (UTC) is provisional until the 02:00 UTC run finalizes it.";
      }
      var note = "Today (" + day.date + ", UTC) is provisional: its figures grow until the " +
        "day is finalized at 02:00 UTC tomorrow.";
      var quiet = !day.total_sessions && !day.total_page_views && !day.total_clicks;
      if (quiet) {
        var finalized = days.filter(function (other) {
          return !other.provisional &&
            (other.total_sessions || other.total_page_views || other.total_clicks);
        }).pop();
        note += " It has no figures yet (they appear once the pipeline refreshes today)" +
          (finalized ? "; the latest day with figures is " + finalized.date + "." : ".");
      }
      return note;
    });
    page.provisionalNote.textContent = notes.join(" ");
    var last = provisional[provisional.length - 1];
    page.chart.dataset.provisional = last ? last.date : "";
  }

  function cell(tag, value) {
    var element = document.createElement(tag);
    element.textContent = typeof value === "number" ? NUMBER.format(value) : value;
    if (typeof value === "number" || /^[\d.,]+%$/.test(value)) element.className = "number";
    return element;
  }

  function fillTable(name, rows, columns) {
    var body = document.querySelector('table[data-breakdown="' + name + '"] tbody');
    if (!rows.length) {
      var empty = document.createElement("td");
      empty.colSpan = body.parentElement.querySelectorAll("thead th").length;
      empty.className = "empty";
      empty.textContent = "Nothing in this range.";
      var row = document.createElement("tr");
      row.appendChild(empty);
      body.replaceChildren(row);
      return;
    }
    body.replaceChildren.apply(body, rows.map(function (row) {
      var line = document.createElement("tr");
      columns(row).forEach(function (value, index) {
        line.appendChild(cell(index === 0 ? "th" : "td", value));
      });
      line.firstChild.scope = "row";
      return line;
    }));
  }

  function fillDaysTable(days) {
    var body = document.querySelector('table[data-table="days"] tbody');
    body.replaceChildren.apply(body, days.slice().reverse().map(function (day) {
      var line = document.createElement("tr");
      var label = cell("th", day.provisional ? day.date + " (provisional)" : day.date);
      label.scope = "row";
      line.appendChild(label);
      DAY_COLUMNS.forEach(function (key) { line.appendChild(cell("td", day[key])); });
      if (day.provisional) line.className = "provisional";
      return line;
    }));
  }

  // --- chart -------------------------------------------------------------------------------------

  function chartSize() {
    var width = Math.max(page.chart.clientWidth, 240);
    return { width: width, height: width < 520 ? 220 : 280 };
  }

  function drawChart(days, range) {
    var data = [days.map(function (day) { return Date.parse(day.date + "T00:00:00Z") / 1000; })]
      .concat(SERIES.map(function (series) {
        return days.map(function (day) { return day[series.key]; });
      }));
    page.chart.dataset.days = String(days.length);
    page.chart.dataset.from = range.from;
    page.chart.dataset.to = range.to;
    page.chart.dataset.totals = SERIES.map(function (series) {
      return series.key + "=" + data[SERIES.indexOf(series) + 1].reduce(function (a, b) { return a + b; }, 0);
    }).join(" ");
    if (typeof uPlot !== "function") {
      page.chart.textContent = "The chart library did not load; the figures are in the table below.";
      return;
    }
    if (chart) chart.destroy();
    var size = chartSize();
    chart = new uPlot({
      width: size.width,
      height: size.height,
      // Days are UTC days: the axis must not shift them into the browser's time zone.
      tzDate: function (seconds) { return uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"); },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      legend: { live: true },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(4, max * 1.1)]; } } },
      axes: [
        {
          stroke: "#555", grid: { stroke: "#eee" }, ticks: { stroke: "#ddd" },
          // Ticks on whole days only (a day is the unit of every figure), labelled in UTC.
          incrs: [1, 2, 7, 14, 28, 56, 91, 182].map(function (days) { return days * 86400; }),
          values: function (u, ticks) {
            return ticks.map(function (t) { return DAY_LABEL.format(new Date(t * 1000)); });
          },
        },
        { stroke: "#555", grid: { stroke: "#eee" }, ticks: { stroke: "#ddd" },
          values: function (u, ticks) { return ticks.map(function (t) { return NUMBER.format(t); }); },
          size: 50 },
      ],
      series: [{ label: "Day", value: "{YYYY}-{MM}-{DD}" }].concat(SERIES.map(function (series) {
        return {
          label: series.label, stroke: series.color, width: 2,
          points: { show: days.length <= 45, size: 5, fill: series.color },
          value: function (u, v) { return v === null ? "–" : NUMBER.format(v); },
        };
      })),
      hooks: { drawClear: [shadeProvisionalDay(days)] },
    }, data, page.chart);
  }

  /** A uPlot hook that shades the provisional day (today) behind the lines. */
  function shadeProvisionalDay(days) {
    return function (u) {
      var today = days.filter(function (day) { return day.provisional; })[0];
      if (!today) return;
      var at = Date.parse(today.date + "T00:00:00Z") / 1000;
      var half = 43200;
      var left = u.valToPos(at - half, "x", true);
      var right = u.valToPos(at + half, "x", true);
      var context = u.ctx;
      context.save();
      context.fillStyle = "rgba(255, 193, 7, 0.18)";
      context.fillRect(left, u.bbox.top, right - left, u.bbox.height);
      context.fillStyle = "#8a6100";
      context.font = Math.round(11 * devicePixelRatio) + "px system-ui, sans-serif";
      // The label goes beside the band, on the side with room (today is usually the last day).
      var roomOnLeft = left - u.bbox.left > 90 * devicePixelRatio;
      context.textAlign = roomOnLeft ? "right" : "left";
      var gap = 4 * devicePixelRatio;
      context.fillText("provisional", roomOnLeft ? left - gap : right + gap,
        u.bbox.top + 14 * devicePixelRatio);
      context.restore();
    };
  }

  // --- CSV -----------------------------------------------------------------------------------------

  /** A CSV field; text a spreadsheet would run as a formula gets a leading quote mark. */
  function csvField(value) {
    var text = value === null || value === undefined ? "" : String(value);
    if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = "'" + text;
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function toCsv(data) {
    var current = data.summary.current;
    var previous = data.summary.previous;
    var rate = function (totals) {
      return totals.contact_rate === null ? "" : (Math.round(totals.contact_rate * 10) / 10).toFixed(1);
    };
    var sections = [
      [["user_code", "from", "to", "previous_from", "previous_to"],
        [data.range.user_code, data.range.from, data.range.to, previous.from, previous.to]],
      [["metric", "value", "previous"]].concat(METRICS.map(function (metric) {
        return metric === "contact_rate" ? [metric, rate(current), rate(previous)]
          : [metric, current[metric], previous[metric]];
      })),
      [["date", "sessions", "page_views", "clicks", "contact_clicks", "provisional"]]
        .concat(data.days.map(function (day) {
          return [day.date, day.total_sessions, day.total_page_views, day.total_clicks,
            day.contact_clicks, String(day.provisional)];
        })),
      [["share_code", "sessions", "page_views", "clicks"]].concat(data.shareCodes.map(function (row) {
        return [row.share_code, row.total_sessions, row.total_page_views, row.total_clicks];
      })),
      [["page_type", "page_views"]].concat(data.pageTypes.map(function (row) {
        return [row.page_type, row.view_count];
      })),
      [["click_target", "click_category", "clicks"]].concat(data.clickTargets.map(function (row) {
        return [row.click_target, row.click_category, row.click_count];
      })),
    ];
    return sections.map(function (rows) {
      return rows.map(function (row) { return row.map(csvField).join(",") + "\r\n"; }).join("");
    }).join("\r\n");
  }

  function offerCsv(data) {
    if (csvUrl) URL.revokeObjectURL(csvUrl);
    csvUrl = URL.createObjectURL(new Blob([toCsv(data)], { type: "text/csv;charset=utf-8" }));
    page.csv.href = csvUrl;
    page.csv.download = "clik-" + data.range.user_code.replace(/[^A-Za-z0-9_-]/g, "_") + "-" +
      data.range.from + "-" + data.range.to + ".csv";
    page.csv.removeAttribute("aria-disabled");
  }

  // --- wiring ------------------------------------------------------------------------------------

  function start() {
    page = {
      alert: document.getElementById("alert"),
      signIn: document.getElementById("sign-in"),
      signInForm: document.getElementById("sign-in-form"),
      token: document.getElementById("token"),
      board: document.getElementById("board"),
      controls: document.getElementById("controls"),
      userCode: document.getElementById("user_code"),
      from: document.getElementById("from"),
      to: document.getElementById("to"),
      presets: Array.prototype.slice.call(document.querySelectorAll("[data-preset]")),
      status: document.getElementById("status"),
      chart: document.querySelector('[data-chart="daily"]'),
      provisionalNote: document.getElementById("provisional-note"),
      csv: document.querySelector('[data-export="csv"]'),
      compare: document.getElementById("compare"),
      signOut: document.querySelector('[data-action="sign-out"]'),
    };
    page.signInForm.addEventListener("submit", function (event) {
      event.preventDefault(); // the token must never be sent as a form (or end up in a URL)
      var token = page.token.value.trim();
      if (!token) {
        showAlert("Enter your owner token.");
        return;
      }
      signIn(token, true);
    });
    page.controls.addEventListener("submit", function (event) {
      event.preventDefault();
      load();
    });
    page.userCode.addEventListener("change", load);
    var compare = function () {
      page.board.classList.toggle("comparing", page.compare.checked);
      if (shown) show(shown);
    };
    page.compare.addEventListener("change", compare);
    compare();
    var typing = null;
    [page.from, page.to].forEach(function (input) {
      input.addEventListener("change", function () {
        // A date input fires `change` per edited part: wait until the typing stops.
        clearTimeout(typing);
        typing = setTimeout(load, 350);
      });
    });
    page.presets.forEach(function (button) {
      button.addEventListener("click", function () {
        clearTimeout(typing);
        setPreset(Number(button.dataset.preset));
        load();
      });
    });
    page.csv.addEventListener("click", function (event) {
      if (!shown) event.preventDefault();
    });
    page.signOut.addEventListener("click", function () {
      signOut();
      page.token.focus();
    });
    if (typeof ResizeObserver === "function") {
      var lastWidth = 0;
      new ResizeObserver(function () {
        var size = chartSize();
        if (chart && size.width !== lastWidth) {
          lastWidth = size.width;
          chart.setSize(size);
        }
      }).observe(page.chart);
    }
    var kept = sessionStorage.getItem(TOKEN_KEY);
    if (kept) signIn(kept, false);
  }

  start();
})();
