/*
 * The rehearsal report page: everything is drawn from the JSON report embedded in
 * <script id="report-data"> (docs/REPORT.md), with Chart.js and its annotation plugin (inlined).
 * After drawing, the figures carry what a test can check without reading canvas pixels:
 * #timeline-figure[data-groups] (kexecs drawn), #dma-figure[data-points] (DMA samples drawn),
 * and body[data-rendered="ok"].
 */
(function () {
  'use strict';

  function showError(msg) {
    var box = document.getElementById('errors');
    box.hidden = false;
    box.appendChild(el('div', {}, msg));
    document.body.setAttribute('data-rendered', 'error');
  }
  window.addEventListener('error', function (e) { showError('page error: ' + e.message); });

  // ---- small DOM and number helpers ------------------------------------------------------------
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    [].concat(children === undefined ? [] : children).forEach(function (c) {
      e.appendChild(c instanceof Node ? c : document.createTextNode(c === null ? '' : String(c)));
    });
    return e;
  }
  function row(cells, header) {
    return el('tr', {}, cells.map(function (c) {
      var cell = c && typeof c === 'object' && !(c instanceof Node) ? c : { v: c };
      return el(header ? 'th' : 'td', cell.num ? { class: 'num' } : (cell.cls ? { class: cell.cls } : {}), cell.v);
    }));
  }
  function num(v) { return { v: v, num: true }; }
  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function ms(v) {
    if (!isNum(v)) { return '–'; }
    return (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) + ' ms';
  }
  function int(v) { return isNum(v) ? v.toLocaleString('en-US') : '–'; }
  function bytes(v) {
    if (!isNum(v)) { return '–'; }
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (i === 0 || v >= 100 ? v.toFixed(0) : v.toFixed(2)) + ' ' + u[i];
  }
  function ratio(a, b) {
    if (!isNum(a) || !isNum(b) || b <= 0) { return '–'; }
    var r = a / b;
    return (r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toPrecision(2)) + '×';
  }
  function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

  var report = JSON.parse(document.getElementById('report-data').textContent);
  var kexecs = (report.kexecs || []).filter(function (k) { return k && typeof k === 'object'; });
  var checks = report.checks || [];

  function kexecName(k, i) { return 'kexec ' + (i + 1) + ': ' + k.kind + ', ' + k.strategy; }
  function timelineEnd(k) {
    return (k.timeline || []).reduce(function (m, p) { return Math.max(m, p.startMs + p.ms); }, 0);
  }

  // ---- verdict and settings --------------------------------------------------------------------
  function drawHeader() {
    var failed = checks.filter(function (c) { return !c.passed; });
    var v = document.getElementById('verdict');
    var pass = report.passed === true;
    v.textContent = pass ? 'PASS' : report.aborted ? 'FAIL: the rehearsal could not complete' : 'FAIL';
    v.className = 'verdict ' + (pass ? 'pass' : 'fail');
    document.getElementById('summary').textContent = pass
      ? checks.length + ' checks held across ' + kexecs.length + ' kexecs: no descriptor written on reattach, '
        + 'tables identical, DMA never faulted.'
      : failed.length + ' of ' + checks.length + ' checks failed' + (report.aborted ? ': ' + report.aborted : '.');
    var plan = report.plan || {};
    var setup = report.setup || {};
    var t = document.getElementById('settings');
    [
      ['started', report.startedAt],
      ['driver', report.driver],
      ['kexecs', kexecs.map(function (k) { return k.kind; }).join(', ')],
      ['restore strategy', report.strategy],
      ['crash kill points', (report.killPoints || []).join(', ')],
      ['seed', report.seed],
      ['guest memory', bytes(plan.guestMemoryBytes)],
      ['4 KiB mappings', int(plan.smallMappings) + ' (small region) + ' + int(plan.largeMappings) + ' (bulk region), the same in both domains'],
      ['setup', setup.vmid === undefined ? '–' : 'VMID ' + setup.vmid + ', PASIDs ' + JSON.stringify(setup.pasids)
        + ', mapped in ' + ms(setup.mapMs) + ' (' + int(setup.descriptorWrites) + ' descriptors written)'],
      ['java', report.java],
      ['mount', report.mount],
      ['report schema', 'version ' + report.schemaVersion]
    ].forEach(function (kv) { t.appendChild(el('tr', {}, [el('th', {}, kv[0]), el('td', {}, kv[1] === undefined ? '–' : kv[1])])); });
  }

  // ---- timeline --------------------------------------------------------------------------------
  // colours for the phases the report has today and issue 13's finer ones; anything else cycles
  var PHASE_COLOURS = {
    handover: '#8250df', quiesce: '#8250df', serialise: '#a475f9', oldHostExit: '#6e7781', kill: '#cf222e',
    jvmStart: '#d4a72c', bootWarmup: '#bf8700', mount: '#fb8f44', registryRecovery: '#e16f24',
    kernelObjects: '#2da44e', bootOther: '#8c959f', domainAttach: '#0969da', reestablish: '#54aeff',
    hotswap: '#0598a8', reattachOther: '#afb8c1', vmmResumed: '#116329', harnessHash: '#8c959f',
    vmmState: '#6639ba', guestMemory: '#8a4600', harnessVmmReads: '#8c959f', harnessCommand: '#8c959f',
    harnessArchive: '#8c959f'
  };
  var SPARE = ['#bc4c00', '#0550ae', '#8a4600', '#6639ba', '#1a7f37', '#953800'];
  function phaseColour(id, n) { return PHASE_COLOURS[id] || SPARE[n % SPARE.length]; }
  function hatch(colour) {
    var c = document.createElement('canvas');
    c.width = 8; c.height = 8;
    var g = c.getContext('2d');
    g.strokeStyle = colour; g.lineWidth = 2;
    g.beginPath(); g.moveTo(0, 8); g.lineTo(8, 0); g.stroke();
    return g.createPattern(c, 'repeat');
  }
  function legendName(p) {
    // per-container labels ("domain attach vm0-c0") share one legend entry named without the file
    return p.phase === 'domainAttach' ? 'domain attach' : p.phase === 'reestablish' ? 'live-update MAP_DMA'
      : p.phase === 'hotswap' ? 'hotswap' : p.phase === 'harnessHash' ? 'rehearsal: hash tables (harness)' : p.label;
  }

  function timelineChart(theme) {
    var byKey = {};
    var order = [];
    var ids = [];
    kexecs.forEach(function (k, i) {
      var seen = {};
      (k.timeline || []).forEach(function (p) {
        var n = seen[p.phase] = (seen[p.phase] || 0) + 1;
        var key = p.phase + '#' + n;
        if (!byKey[key]) {
          if (ids.indexOf(p.phase) < 0) { ids.push(p.phase); }
          var colour = phaseColour(p.phase, ids.indexOf(p.phase));
          byKey[key] = {
            label: legendName(p), phase: p.phase, data: kexecs.map(function () { return null; }),
            entries: kexecs.map(function () { return null; }),
            backgroundColor: p.owner === 'harness' ? hatch(colour) : colour,
            borderColor: colour, borderWidth: p.owner === 'harness' ? 1 : 0,
            grouped: false, barPercentage: 0.7, categoryPercentage: 1.0,
            firstOfPhase: order.filter(function (o) { return byKey[o].phase === p.phase; }).length === 0
          };
          order.push(key);
        }
        byKey[key].data[i] = [p.startMs, p.startMs + p.ms];
        byKey[key].entries[i] = p;
      });
    });
    var box = document.getElementById('timeline-box');
    box.style.height = Math.max(160, 70 + 48 * kexecs.length) + 'px';
    var chart = new Chart(document.getElementById('timeline-chart'), {
      type: 'bar',
      data: { labels: kexecs.map(kexecName), datasets: order.map(function (k) { return byKey[k]; }) },
      options: {
        indexAxis: 'y', maintainAspectRatio: false, animation: false,
        scales: {
          x: { type: 'linear', min: 0, title: { display: true, text: 'ms since the VM stopped', color: theme.fg },
            ticks: { color: theme.fg }, grid: { color: theme.grid } },
          y: { ticks: { color: theme.fg }, grid: { color: theme.grid } }
        },
        plugins: {
          legend: { position: 'bottom', labels: { color: theme.fg, boxWidth: 14,
            filter: function (item, data) { return data.datasets[item.datasetIndex].firstOfPhase; } } },
          tooltip: { callbacks: { label: function (ctx) {
            var p = ctx.dataset.entries[ctx.dataIndex];
            return p ? p.label + ': ' + ms(p.ms) + ' (from ' + ms(p.startMs) + ')' : '';
          } } }
        }
      }
    });
    var groups = 0;
    kexecs.forEach(function (k, i) {
      var drawn = chart.data.datasets.some(function (d, di) {
        var e = chart.getDatasetMeta(di).data[i];
        return d.data[i] !== null && e && isFinite(e.width) && e.width > 0;
      });
      if (drawn) { groups++; }
    });
    document.getElementById('timeline-figure').setAttribute('data-groups', groups);
    return chart;
  }

  function timelineTable() {
    var t = document.getElementById('timeline-table');
    t.appendChild(row(['#', 'kind', 'strategy', num('blackout w/o harness'), num('harness'), num('JVM start'), num('boot'),
      num('domain attach'), num('MAP_DMA re-est.'), num('longest DMA gap'), num('DMAs so far')], true));
    kexecs.forEach(function (k, i) {
      var sum = function (ids, owner) {
        return (k.timeline || []).filter(function (p) { return owner ? p.owner === owner : ids.indexOf(p.phase) >= 0; })
          .reduce(function (s, p) { return s + p.ms; }, 0);
      };
      var harness = sum(null, 'harness');
      var dev = k.device || {};
      var kind = k.killPoint ? el('span', {}, [k.kind, el('div', { class: 'sub' }, 'kill point: ' + k.killPoint)]) : k.kind;
      t.appendChild(row([i + 1, { v: kind, cls: 'wide' }, k.strategy, num(ms(timelineEnd(k) - harness)), num(ms(harness)),
        num(ms(k.jvmStartMs)), num(ms(k.bootMs)), num(ms(sum(['domainAttach']))), num(ms(sum(['reestablish']))),
        num(ms(isNum(dev.windowMaxGapMicros) ? dev.windowMaxGapMicros / 1000 : NaN)), num(int(dev.translations))]));
    });
  }

  // ---- device DMA ------------------------------------------------------------------------------
  function dmaChart(theme) {
    var s = report.deviceSeries;
    var figure = document.getElementById('dma-figure');
    if (!s || !s.dmas || s.dmas.length === 0) {
      figure.setAttribute('data-points', 0);
      document.getElementById('dma-summary').textContent = 'This report has no device time series.';
      return null;
    }
    var rate = [];
    var gaps = [];
    var faults = [];
    var perSecond = 1000 / s.intervalMs;
    for (var i = 0; i < s.dmas.length; i++) {
      var x = (s.startMs + (i + 0.5) * s.intervalMs) / 1000;
      rate.push({ x: x, y: s.dmas[i] * perSecond / 1000 });
      gaps.push({ x: x, y: s.maxGapMicros[i] > 0 ? s.maxGapMicros[i] / 1000 : null });
      if (s.faults && s.faults[i] > 0) { faults.push({ x: x, y: s.faults[i] }); }
    }
    var annotations = {};
    kexecs.forEach(function (k, i) {
      if (!isNum(k.atMs)) { return; }
      annotations['kexec' + i] = {
        type: 'box', xMin: k.atMs / 1000, xMax: (k.atMs + Math.max(timelineEnd(k), 1)) / 1000,
        backgroundColor: theme.band, borderColor: theme.rate, borderWidth: 1, borderDash: [2, 2],
        label: { display: true, content: 'kexec ' + (i + 1) + ' ' + k.kind, position: { x: 'start', y: 'start' },
          color: theme.fg, font: { size: 11 } }
      };
      if (isNum(k.killAtMs)) {
        annotations['kill' + i] = {
          type: 'line', xMin: k.killAtMs / 1000, xMax: k.killAtMs / 1000, borderColor: theme.kill, borderWidth: 2,
          borderDash: [5, 3],
          label: { display: true, content: 'SIGKILL', position: 'start', color: '#ffffff', backgroundColor: theme.kill,
            font: { size: 10 } }
        };
      }
    });
    var datasets = [
      { label: 'DMAs per second (thousands)', data: rate, yAxisID: 'y', borderColor: theme.rate,
        backgroundColor: theme.rate, borderWidth: 1.5, pointRadius: 0, tension: 0 },
      { label: 'longest gap between translations (ms, log)', data: gaps, yAxisID: 'gap', borderColor: theme.gap,
        backgroundColor: theme.gap, showLine: false, pointRadius: 2, pointHoverRadius: 4 }
    ];
    if (faults.length > 0) {
      datasets.push({ label: 'faults', data: faults, yAxisID: 'y', borderColor: theme.kill,
        backgroundColor: theme.kill, showLine: false, pointRadius: 5, pointStyle: 'triangle' });
    }
    var chart = new Chart(document.getElementById('dma-chart'), {
      type: 'line',
      data: { datasets: datasets },
      options: {
        maintainAspectRatio: false, animation: false, parsing: true, normalized: true,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        scales: {
          x: { type: 'linear', title: { display: true, text: 's since the rehearsal started', color: theme.fg },
            ticks: { color: theme.fg }, grid: { color: theme.grid } },
          y: { type: 'linear', position: 'left', min: 0,
            title: { display: true, text: 'thousand DMAs / s', color: theme.rate },
            ticks: { color: theme.fg }, grid: { color: theme.grid } },
          gap: { type: 'logarithmic', position: 'right',
            title: { display: true, text: 'longest gap, ms', color: theme.gap },
            ticks: { color: theme.fg, callback: function (v) {
              // decades only: 0.1, 1, 10, 100, 1000 ms
              var e = Math.log10(v);
              return Math.abs(e - Math.round(e)) < 1e-9 ? (v < 1 ? v.toString() : v.toFixed(0)) : '';
            } }, grid: { drawOnChartArea: false } }
        },
        plugins: {
          legend: { position: 'bottom', labels: { color: theme.fg, boxWidth: 14 } },
          annotation: { annotations: annotations }
        }
      }
    });
    figure.setAttribute('data-points', chart.getDatasetMeta(0).data.length);
    var d = report.device || {};
    var worst = Math.max.apply(null, s.maxGapMicros) / 1000;
    document.getElementById('dma-summary').textContent = s.dmas.length + ' intervals of ' + s.intervalMs + ' ms; '
      + int(d.translations) + ' DMAs in all, ' + int(d.faults) + ' faults, longest gap ' + ms(worst) + '.';
    return chart;
  }

  // ---- reattach versus replay -------------------------------------------------------------------
  function compareTable() {
    var t = document.getElementById('compare');
    var cmp = report.reattachVersusRebuild || {};
    var names = Object.keys(cmp);
    if (names.length === 0) {
      t.appendChild(row(['no adopt kexec in this run: nothing to compare']));
      return;
    }
    t.appendChild(row(['domain', num('4 KiB mappings'), num('domain attach (best)'), num('live-update MAP_DMA'),
      num('reattach total'), num('replay rebuild'), num('rebuild / attach'), num('rebuild / reattach')], true));
    names.forEach(function (n) {
      var c = cmp[n];
      var total = c.domainAttachMs + c.liveUpdateReestablishMs;
      t.appendChild(row([n, num(int(c.mappings4k)),
        num(ms(c.domainAttachMs) + ' (of ' + c.adoptSamples + ')'), num(ms(c.liveUpdateReestablishMs)),
        num(ms(total)), num(ms(c.replayRebuildMs)),
        num(ratio(c.replayRebuildMs, c.domainAttachMs)), num(ratio(c.replayRebuildMs, total))]));
    });
  }

  // ---- checks ------------------------------------------------------------------------------------
  function checksTable() {
    var failed = checks.filter(function (c) { return !c.passed; }).length;
    document.getElementById('checks-summary').textContent = (checks.length - failed) + ' passed, ' + failed + ' failed.';
    var t = document.getElementById('checks');
    t.appendChild(row(['', 'check', 'evidence'], true));
    var phase = null;
    checks.forEach(function (c) {
      if (c.phase !== phase) {
        phase = c.phase;
        t.appendChild(el('tr', { class: 'group' }, [el('td', { colspan: 3 }, phase)]));
      }
      var r = el('tr', c.passed ? {} : { class: 'failed' }, [
        el('td', { class: 'status ' + (c.passed ? 'ok' : 'bad') }, c.passed ? '✓ ok' : '✗ FAIL'),
        el('td', {}, c.name), el('td', { class: 'evidence' }, c.detail)]);
      t.appendChild(r);
    });
  }

  // ---- domains -----------------------------------------------------------------------------------
  function domainsTable() {
    var t = document.getElementById('domains');
    var ds = report.domains || [];
    if (ds.length === 0) {
      t.appendChild(row(['no domain walk in this report (the rehearsal did not reach its end)']));
      return;
    }
    var sizes = [];
    ds.forEach(function (d) {
      Object.keys(d.leaves || {}).forEach(function (k) { if (sizes.indexOf(k) < 0) { sizes.push(k); } });
    });
    t.appendChild(row(['table file', 'format', 'devices'].concat(sizes.map(function (z) { return num(z + ' pages'); }))
      .concat([num('mapped'), num('table pages'), num('problems')]), true));
    ds.forEach(function (d) {
      if (d.problem) {
        t.appendChild(row([d.file, { v: d.problem, cls: 'evidence' }]));
        return;
      }
      t.appendChild(row([{ v: d.file, cls: 'mono' }, d.format, (d.devices || []).join(', ')]
        .concat(sizes.map(function (z) {
          var n = (d.leaves || {})[z] || 0;
          return num(n === 0 ? '–' : int(n) + ' (' + bytes((d.bytesByPageSize || {})[z]) + ')');
        }))
        .concat([num(bytes(d.mappedBytes)), num(int(d.tablePages)), num(d.problems)])));
    });
  }

  // ---- charts follow the theme (and print in light colours) --------------------------------------
  var charts = [];
  function theme(print) {
    if (print) {
      return { fg: '#000000', grid: 'rgba(0,0,0,0.15)', band: 'rgba(9,105,218,0.15)', kill: '#cf222e',
        rate: '#0969da', gap: '#bf3989' };
    }
    return { fg: cssVar('--fg'), grid: cssVar('--grid'), band: cssVar('--band'), kill: cssVar('--kill'),
      rate: cssVar('--rate'), gap: cssVar('--gap') };
  }
  function drawCharts(print) {
    charts.forEach(function (c) { if (c) { c.destroy(); } });
    var th = theme(print);
    Chart.defaults.color = th.fg;
    charts = [timelineChart(th), dmaChart(th)];
  }

  if (typeof Chart === 'undefined') {
    throw new Error('Chart.js is missing from the page');
  }
  var plugin = window['chartjs-plugin-annotation'];
  if (plugin) { Chart.register(plugin); }
  drawHeader();
  timelineTable();
  compareTable();
  checksTable();
  domainsTable();
  drawCharts(false);
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', function () { drawCharts(false); });
  window.addEventListener('beforeprint', function () { drawCharts(true); });
  window.addEventListener('afterprint', function () { drawCharts(false); });
  if (document.body.getAttribute('data-rendered') !== 'error') {
    document.body.setAttribute('data-rendered', 'ok');
  }
})();
