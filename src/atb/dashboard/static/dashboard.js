// atb dashboard: polls the read-only JSON and redraws in place (no reload). Every value from
// a store is written with textContent, never as HTML.
"use strict";

(function () {
  const POLL_MS = Number(document.body.dataset.pollMs) || 2000;
  const TOKEN = new URLSearchParams(window.location.search).get("token");
  let selected = null; // "store-session", e.g. "0-1"
  let inFlight = false;

  function api(path) {
    const headers = TOKEN ? { Authorization: "Bearer " + TOKEN } : {};
    return fetch(path, { headers: headers, cache: "no-store" }).then(function (response) {
      if (!response.ok) {
        throw new Error(path + " answered " + response.status);
      }
      return response.json();
    });
  }

  // --- formatting -------------------------------------------------------------------------
  function money(value) {
    return value === null || value === undefined
      ? "–"
      : value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  function price(value) {
    return value === null || value === undefined
      ? "–"
      : value.toLocaleString("en-US", { maximumSignificantDigits: 10 });
  }
  function pct(value) {
    return value === null || value === undefined ? "–" : (value * 100).toFixed(2) + " %";
  }
  function when(text) {
    return text ? text.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC") : "–";
  }
  function seconds(value) {
    if (value === null || value === undefined) return "–";
    if (value < 120) return value.toFixed(1) + " s";
    if (value < 7200) return (value / 60).toFixed(1) + " min";
    if (value < 172800) return (value / 3600).toFixed(1) + " h";
    return (value / 86400).toFixed(1) + " days";
  }

  // --- small DOM helpers ------------------------------------------------------------------
  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }
  function fillBody(table, items, render) {
    const body = document.querySelector(table + " tbody");
    const rows = items.map(function (item) {
      const row = document.createElement("tr");
      render(row, item);
      return row;
    });
    if (!rows.length) {
      const row = document.createElement("tr");
      row.className = "empty";
      const td = cell(row, "none");
      td.colSpan = document.querySelectorAll(table + " thead th").length;
      rows.push(row);
    }
    body.replaceChildren.apply(body, rows);
  }
  function facts(list, pairs) {
    const dl = document.querySelector(list);
    const nodes = [];
    pairs.forEach(function (pair) {
      const dt = document.createElement("dt");
      dt.textContent = pair[0];
      const dd = document.createElement("dd");
      dd.textContent = pair[1];
      if (pair[2]) dd.id = pair[2];
      nodes.push(dt, dd);
    });
    dl.replaceChildren.apply(dl, nodes);
  }
  function badge(id, state, text) {
    const element = document.getElementById(id);
    element.className = "badge " + state;
    element.dataset.state = state;
    element.textContent = text;
  }
  function signClass(value) {
    return value > 0 ? "num gain" : value < 0 ? "num loss" : "num";
  }

  // --- the sessions table ------------------------------------------------------------------
  function renderOverview(document_) {
    const rows = [];
    document_.stores.forEach(function (store) {
      store.sessions.forEach(function (session) {
        rows.push(Object.assign({ key: store.index + "-" + session.id, store: store }, session));
      });
    });
    if (selected === null && rows.length) {
      const running = rows.find(function (row) { return row.liveness.state === "running"; });
      selected = (running || rows[0]).key;
    }
    fillBody("#sessions", rows, function (row, session) {
      row.dataset.session = session.key;
      row.dataset.state = session.liveness.state;
      row.setAttribute("aria-selected", String(session.key === selected));
      const first = document.createElement("td");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = session.id + (document_.stores.length > 1 ? " (store " + session.store.index + ")" : "");
      button.setAttribute("aria-label", "Show session " + session.id + " " + session.strategy + " " + session.symbol);
      button.addEventListener("click", function () { select(session.key); });
      first.appendChild(button);
      row.appendChild(first);
      cell(row, session.strategy);
      cell(row, session.symbol + (session.portfolio ? " (portfolio " + session.portfolio + ")" : ""));
      cell(row, session.timeframe);
      const state = cell(row, "");
      const tag = document.createElement("span");
      tag.className = "badge " + session.liveness.state;
      tag.textContent = session.liveness.state;
      tag.title = session.liveness.detail;
      state.appendChild(tag);
      cell(row, when(session.last_bar_time));
      cell(row, String(session.bars), "num");
      cell(row, money(session.equity), "num");
      cell(row, pct(session.return), signClass(session.return));
      cell(row, String(session.trades), "num");
      cell(row, session.real ? "live trading" : "paper");
    });
    const choice = document.getElementById("session-select");
    const options = rows.map(function (session) {
      const option = document.createElement("option");
      option.value = session.key;
      option.textContent = "Session " + session.id + " — " + session.strategy + " " + session.symbol + " " + session.timeframe;
      option.selected = session.key === selected;
      return option;
    });
    choice.replaceChildren.apply(choice, options);
    return rows.length;
  }

  // --- one session ----------------------------------------------------------------------------
  function chart(id, series, title, format) {
    if (typeof Plotly === "undefined") {
      document.getElementById(id).textContent = "charts unavailable (plotly.js did not load)";
      return;
    }
    const trace = { x: series.t, y: series.v, type: "scatter", mode: "lines", line: { width: 1.5, color: "#1f4e9c" }, name: title };
    const layout = {
      margin: { l: 60, r: 15, t: 10, b: 35 },
      yaxis: { tickformat: format, title: { text: title } },
      xaxis: { type: "date" },
      paper_bgcolor: "#ffffff",
      plot_bgcolor: "#ffffff",
      font: { color: "#1a1a1a" },
    };
    Plotly.react(id, [trace], layout, { displaylogo: false, responsive: true });
    document.getElementById(id).dataset.points = String(series.t.length);
  }

  function renderDetail(detail) {
    const session = detail.session;
    const summary = detail.summary;
    document.getElementById("detail").hidden = false;
    document.getElementById("detail-heading").textContent =
      "Session " + session.id + ": " + session.strategy + " " + session.symbol + " " + session.timeframe;
    badge("liveness-badge", detail.liveness.state, detail.liveness.state + " — " + detail.liveness.detail);
    renderParity(detail.parity);
    facts("#summary", [
      ["Bars processed", String(summary.bars), "summary-bars"],
      ["Last bar", when(session.last_bar_time), "summary-last-bar"],
      ["Equity", money(summary.equity), "summary-equity"],
      ["Cash", money(summary.cash)],
      ["Return", pct(summary.return)],
      ["Drawdown now", pct(summary.drawdown)],
      ["Max drawdown", pct(summary.max_drawdown)],
      ["Trades", String(summary.trades), "summary-trades"],
      ["Close-only", summary.close_only ? "yes (max drawdown reached)" : "no"],
      ["Parameters", JSON.stringify(session.params)],
      ["Store", detail.store.path],
    ]);
    chart("equity-chart", detail.charts.equity, "equity", ",.2f");
    chart("drawdown-chart", detail.charts.drawdown, "drawdown", ".2%");
    document.getElementById("equity-caption").textContent =
      "Equity at each bar's close (" + detail.charts.equity.t.length + " of " + detail.charts.points + " points drawn)";

    const position = detail.position;
    document.getElementById("position-none").hidden = position !== null;
    document.getElementById("position").hidden = position === null;
    fillBody("#position", position ? [position] : [], function (row, p) {
      cell(row, p.side);
      cell(row, price(p.quantity), "num");
      cell(row, price(p.entry_price), "num");
      cell(row, when(p.entry_time));
      cell(row, price(p.stop_loss), "num");
      cell(row, price(p.take_profit), "num");
      cell(row, p.trailing ? "trailing" : p.breakeven ? "breakeven" : "no");
      cell(row, money(p.unrealized_pnl), signClass(p.unrealized_pnl));
    });
    const ladder = position ? position.ladder : [];
    document.getElementById("ladder").hidden = ladder.length === 0;
    fillBody("#ladder", ladder, function (row, level) {
      cell(row, level.kind);
      cell(row, String(level.rung), "num");
      cell(row, price(level.price), "num");
    });
    fillBody("#pending", detail.pending, function (row, order) {
      cell(row, order.order_id);
      cell(row, when(order.created_at));
      cell(row, order.intent);
      cell(row, order.reason);
    });
    fillBody("#trades", detail.trades, function (row, trade) {
      cell(row, trade.id);
      cell(row, trade.side);
      cell(row, when(trade.entry_time) + " @ " + price(trade.entry_price));
      cell(row, when(trade.exit_time) + " @ " + price(trade.exit_price));
      cell(row, price(trade.quantity), "num");
      cell(row, money(trade.pnl), signClass(trade.pnl));
      cell(row, trade.exit_reason);
      const legs = cell(row, "");
      const box = document.createElement("details");
      const label = document.createElement("summary");
      label.textContent = trade.legs.length + " leg" + (trade.legs.length === 1 ? "" : "s");
      box.appendChild(label);
      const list = document.createElement("ol");
      trade.legs.forEach(function (leg) {
        const item = document.createElement("li");
        item.textContent = when(leg.time) + " " + leg.kind + " " + leg.action + " " + price(leg.quantity) +
          " @ " + price(leg.price) + ", fee " + money(leg.fee) + " (" + leg.reason + ")";
        list.appendChild(item);
      });
      box.appendChild(list);
      legs.appendChild(box);
    });
    const eventRow = function (row, event) {
      cell(row, String(event.seq), "num");
      cell(row, when(event.time));
      cell(row, event.kind);
      cell(row, event.text);
    };
    fillBody("#events", detail.events, eventRow);
    fillBody("#rejections", detail.rejections, eventRow);

    const health = detail.health;
    facts("#health", [
      ["Process", health.running ? "pid " + health.pid + " on " + health.host : "none running"],
      ["Last bar", when(health.last_bar_time)],
      ["Last bar closed", when(health.last_bar_close)],
      ["Feed lag (now − last close)", seconds(health.feed_lag_seconds), "health-lag"],
      ["Store last written", when(health.last_write) + " (" + seconds(health.last_write_seconds) + " ago)"],
      ["Store size", (health.store_bytes / 1048576).toFixed(1) + " MB"],
    ]);
    const account = detail.account;
    if (account.mode === "paper") {
      facts("#account", [["Mode", "paper (simulated fills: no exchange account)", "account-mode"]]);
    } else {
      const quality = account.fill_quality;
      const bps = quality.price_bps_against;
      facts("#account", [
        ["Mode", "live trading", "account-mode"],
        ["Reconciliation", account.reconciliation],
        ["Held outside the session", price(account.baseline.outside_base) + " " + account.baseline.base_asset + ", " +
          money(account.baseline.outside_quote) + " " + account.baseline.quote_asset],
        ["Adopted", account.baseline.adopted || "nothing"],
        ["Orders by status", JSON.stringify(account.orders)],
        ["Open orders on the exchange", String(account.open_orders.length)],
        ["Fills paired with the simulation", quality.paired_fills + " (" + quality.unpaired_fills + " the model would not have made)"],
        ["Price deviation (bps against you)", bps ? "median " + bps.median.toFixed(2) + ", p90 " + bps.p90.toFixed(2) : "–"],
        ["Suggested costs.slippage", quality.suggested_slippage === null ? "–" : String(quality.suggested_slippage)],
      ]);
    }
  }

  function renderParity(parity) {
    const detail = document.getElementById("parity-detail");
    if (parity.state === "identical") {
      badge("parity-badge", "identical", "parity: identical");
      detail.textContent = "Identical to the backtest of the same candles, as of " + parity.as_of + ": " +
        parity.bars + " bars, " + parity.events + (parity.decisions_only ? " decisions" : " events") + " compared." +
        (parity.warnings.length ? " Note: " + parity.warnings.join("; ") + "." : "");
    } else if (parity.state === "diverged") {
      const first = parity.first_divergence;
      badge("parity-badge", "diverged", "parity: diverged at " + when(first.time));
      detail.textContent = "First divergence (as of " + parity.as_of + ", " + parity.total_divergences +
        " in all): " + first.stream + " #" + first.index + " at " + when(first.time) + " — live: " + first.live +
        "; backtest: " + first.backtest;
    } else if (parity.state === "computing") {
      badge("parity-badge", "computing", "parity: computing…");
      detail.textContent = "Replaying the session's candles through the backtest…";
    } else {
      badge("parity-badge", "unavailable", "parity: unavailable");
      detail.textContent = parity.reason;
    }
  }

  // --- the loop -----------------------------------------------------------------------------
  function select(key) {
    selected = key;
    refresh();
  }

  function refresh() {
    if (inFlight) return;
    inFlight = true;
    const status = document.getElementById("status");
    api("/api/overview")
      .then(function (document_) {
        const count = renderOverview(document_);
        document.body.dataset.updated = document_.generated_at;
        status.textContent = count + " session" + (count === 1 ? "" : "s") + " · updated " + when(document_.generated_at);
        if (selected === null) return null;
        const parts = selected.split("-");
        return api("/api/stores/" + parts[0] + "/sessions/" + parts[1]).then(renderDetail);
      })
      .catch(function (error) {
        status.textContent = "update failed: " + error.message + " (retrying)";
      })
      .finally(function () {
        inFlight = false;
      });
  }

  document.getElementById("session-select").addEventListener("change", function (event) {
    select(event.target.value);
  });
  refresh();
  window.setInterval(function () {
    if (!document.getElementById("pause").checked) refresh();
  }, POLL_MS);
})();
