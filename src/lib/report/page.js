/*
 * The xtrk report page: reads the runs from the JSON in #xtrk-data and builds the runs table,
 * the charts (uPlot) and the tags and notes.  Everything from the runs is shown as text
 * (textContent, attribute values), never parsed as markup.  What the page did is written as JSON
 * into #xtrk-state (rows shown, charts drawn, script errors) for tests and curious readers.
 * The address may hold #sort=[-]COLUMN&filter=TEXT&x=PARAM&y=METRIC to open the table sorted and
 * filtered and the param-against-metric chart on those fields.
 */
(function () {
	"use strict";
	var state = { ready: false, runs: 0, rows: 0, order: [], charts: 0, drawn: 0, points: {}, max: {}, errors: [] };
	var stateEl = document.createElement("pre");
	stateEl.id = "xtrk-state";
	stateEl.hidden = true;
	document.body.appendChild(stateEl);
	function publish() {
		stateEl.textContent = JSON.stringify(state);
	}
	window.addEventListener("error", function (e) {
		state.errors.push(String(e.message) + " (line " + e.lineno + ")");
		publish();
	});
	publish();

	function el(tag, cls, text) {
		var e = document.createElement(tag);
		if (cls)
			e.className = cls;
		if (text != null)
			e.textContent = String(text);
		return e;
	}

	var data = JSON.parse(document.getElementById("xtrk-data").textContent);
	var runs = data.runs, nruns = runs.length;
	state.runs = nruns;

	/*
	 * The series block (#xtrk-series: base64 of zlib-compressed bytes) as an ArrayBuffer, inflated
	 * by the browser.  A line {o, n, st, vt} in it: n steps then n values, each array stored byte
	 * plane by byte plane; steps "d4" (int32 differences from the one before) or "f8", values "i4",
	 * "f4" or "f8", all little-endian.
	 */
	function inflate(text) {
		var bin = atob(text), bytes = new Uint8Array(bin.length);
		for (var i = 0; i < bin.length; i++)
			bytes[i] = bin.charCodeAt(i);
		if (typeof DecompressionStream === "undefined")
			return Promise.reject(new Error("this browser cannot inflate the series (no DecompressionStream)"));
		return new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"))).arrayBuffer();
	}
	function planes(bytes, at, n, w) {
		var out = new Uint8Array(n * w);
		for (var k = 0; k < w; k++)
			for (var i = 0; i < n; i++)
				out[i * w + k] = bytes[at + k * n + i];
		return new DataView(out.buffer);
	}
	function decodeLine(bytes, d) {
		var n = d.n, sw = d.st === "d4" ? 4 : 8, vw = d.vt === "f8" ? 8 : 4;
		var sv = planes(bytes, d.o, n, sw), vv = planes(bytes, d.o + n * sw, n, vw);
		var steps = new Float64Array(n), vals = new Float64Array(n), at = 0;
		for (var i = 0; i < n; i++) {
			if (sw === 4) {
				at += sv.getInt32(i * 4, true);
				steps[i] = at;
			} else {
				steps[i] = sv.getFloat64(i * 8, true);
			}
			vals[i] = d.vt === "i4" ? vv.getInt32(i * 4, true) : d.vt === "f4" ? vv.getFloat32(i * 4, true) :
				vv.getFloat64(i * 8, true);
		}
		return { steps: steps, vals: vals, reduced: d.n < d.of, logged: d.of };
	}

	function shortId(id) {
		return id.slice(0, 12);
	}
	function runLabel(r) {
		return shortId(r.id) + (r.tags.length ? " (" + r.tags.join(",") + ")" : "");
	}
	/* Distinct colours, well apart however many runs there are. */
	function colour(i) {
		return "hsl(" + Math.round((i * 137.508) % 360) + ", 70%, 45%)";
	}

	var root = el("main");
	document.body.appendChild(root);
	root.appendChild(el("h1", null, data.title));
	var nmetrics = data.metrics.length;
	root.appendChild(el("p", "summary", nruns + " run" + (nruns === 1 ? "" : "s") + ", " + nmetrics +
		" metric" + (nmetrics === 1 ? "" : "s") + " logged step by step"));

	/* ---- the runs table ---- */
	var visible = [];
	for (var v = 0; v < nruns; v++)
		visible.push(true);
	var charts = [];

	var sec = el("section", "runs");
	root.appendChild(sec);
	sec.appendChild(el("h2", null, "Runs"));
	var filter = el("input", "filter");
	filter.type = "search";
	filter.placeholder = "filter: text any cell holds";
	filter.setAttribute("aria-label", "filter runs");
	sec.appendChild(filter);
	var wrap = el("div", "tablewrap");
	sec.appendChild(wrap);
	var table = el("table"), thead = el("thead"), tbody = el("tbody"), hr = el("tr");
	table.appendChild(thead);
	table.appendChild(tbody);
	thead.appendChild(hr);
	wrap.appendChild(table);

	var sortCol = -1, sortDesc = false;
	data.columns.forEach(function (name, c) {
		var th = el("th", null, name);
		th.title = "sort by " + name;
		th.addEventListener("click", function () {
			sortDesc = sortCol === c ? !sortDesc : false;
			sortCol = c;
			render();
		});
		hr.appendChild(th);
	});

	var rows = runs.map(function (r, i) {
		var tr = el("tr"), text = [];
		tr.style.setProperty("--run-colour", colour(i));
		r.cells.forEach(function (v, c) {
			var s = v == null ? "" : typeof v === "number" ? String(v) : v;
			var td = el("td", typeof v === "number" ? "num" : null, data.columns[c] === "id" ? shortId(s) : s);
			if (data.columns[c] === "id") {
				td.title = s;
				td.className = "id";
			}
			tr.appendChild(td);
			text.push(s.toLowerCase());
		});
		return { tr: tr, text: text.join("\u0000"), run: i };
	});

	function cmp(a, b) {
		var x = runs[a.run].cells[sortCol], y = runs[b.run].cells[sortCol];
		if (x == null || y == null)
			return (x == null) - (y == null); /* runs without the field last, either way */
		var c = typeof x === "number" && typeof y === "number" ? x - y :
			typeof x === "number" ? -1 : typeof y === "number" ? 1 : x < y ? -1 : x > y ? 1 : 0;
		return sortDesc ? -c : c;
	}

	function render() {
		var q = filter.value.toLowerCase(), list = rows.slice();
		if (sortCol >= 0)
			list.sort(function (a, b) { return cmp(a, b) || a.run - b.run; });
		while (tbody.firstChild)
			tbody.removeChild(tbody.firstChild);
		state.order = [];
		list.forEach(function (r) {
			var show = !q || r.text.indexOf(q) >= 0;
			if (show !== visible[r.run]) {
				visible[r.run] = show;
				charts.forEach(function (ch) {
					var si = ch.seriesOf[r.run];
					if (si)
						ch.u.setSeries(si, { show: show });
				});
			}
			if (show) {
				tbody.appendChild(r.tr);
				state.order.push(shortId(runs[r.run].id));
			}
		});
		Array.prototype.forEach.call(hr.children, function (th, c) {
			th.className = c === sortCol ? (sortDesc ? "sorted desc" : "sorted asc") : "";
		});
		state.rows = tbody.children.length;
		publish();
	}
	filter.addEventListener("input", render);

	/* #sort=[-]COLUMN&filter=TEXT */
	var hash = new URLSearchParams(location.hash.replace(/^#/, ""));
	if (hash.get("sort")) {
		var sname = hash.get("sort"), desc = sname.charAt(0) === "-";
		sortCol = data.columns.indexOf(desc ? sname.slice(1) : sname);
		sortDesc = desc;
	}
	if (hash.get("filter"))
		filter.value = hash.get("filter");

	/* ---- the charts: one per metric, each run a line ---- */
	var csec = el("section", "charts");
	root.appendChild(csec);
	csec.appendChild(el("h2", null, "Metrics by step"));
	if (!nmetrics)
		csec.appendChild(el("p", "none", "No run here logged a step series."));
	var maxPoints = data.display_points || 10000;
	var loading = el("p", "none", nmetrics ? "Reading the series\u2026" : "");
	if (nmetrics)
		csec.appendChild(loading);

	/* The points of one line to draw: every point up to maxPoints, else each stretch's lowest and highest. */
	function linePoints(steps, vals) {
		var n = steps.length;
		if (n <= maxPoints)
			return [Array.from(steps), Array.from(vals), n];
		var xs = [], ys = [], buckets = Math.max(1, Math.floor(maxPoints / 2));
		for (var b = 0; b < buckets; b++) {
			var lo = Math.floor(b * n / buckets), hi = Math.floor((b + 1) * n / buckets);
			if (lo >= hi)
				continue;
			var mn = lo, mx = lo;
			for (var k = lo + 1; k < hi; k++) {
				if (vals[k] < vals[mn])
					mn = k;
				if (vals[k] > vals[mx])
					mx = k;
			}
			var first = Math.min(mn, mx), second = Math.max(mn, mx);
			xs.push(steps[first]);
			ys.push(vals[first]);
			if (second !== first) {
				xs.push(steps[second]);
				ys.push(vals[second]);
			}
		}
		return [xs, ys, n];
	}

	function exact(u, v) {
		return v == null ? "\u2013" : String(v);
	}

	function chartWidth() {
		return Math.max(320, Math.min(1100, csec.clientWidth - 24)); /* inside a chart box's padding and border */
	}

	/* Past this many points in one chart, its lines are drawn on a grid shared by all of them. */
	var GRID_ABOVE = 400000;

	/*
	 * Lines on one grid of `cols` columns across the steps: each line by its lowest and highest
	 * logged value in each column (in the order logged), at the column's two x positions.  Every
	 * line then has the same x values, which keeps a chart of a thousand lines light to draw
	 * (uPlot aligns its lines on the union of their x values).
	 */
	function onGrid(lines, cols) {
		var lo = Infinity, hi = -Infinity;
		lines.forEach(function (l) {
			if (l.steps.length) {
				lo = Math.min(lo, l.steps[0]);
				hi = Math.max(hi, l.steps[l.steps.length - 1]);
			}
		});
		var span = hi > lo ? hi - lo : 1, xs = new Array(2 * cols);
		for (var c = 0; c < cols; c++) {
			xs[2 * c] = lo + c * span / cols;
			xs[2 * c + 1] = lo + (c + 0.5) * span / cols;
		}
		var table = [xs];
		lines.forEach(function (l) {
			var ys = new Array(2 * cols).fill(null), mn = -1, mx = -1, cur = -1;
			function flush() {
				if (cur < 0)
					return;
				var first = Math.min(mn, mx), second = Math.max(mn, mx);
				ys[2 * cur] = l.vals[first];
				if (second !== first)
					ys[2 * cur + 1] = l.vals[second];
			}
			for (var i = 0; i < l.steps.length; i++) {
				var col = Math.min(cols - 1, Math.floor((l.steps[i] - lo) / span * cols));
				if (col !== cur) {
					flush();
					cur = col;
					mn = mx = i;
				} else {
					if (l.vals[i] < l.vals[mn])
						mn = i;
					if (l.vals[i] > l.vals[mx])
						mx = i;
				}
			}
			flush();
			table.push(ys);
		});
		return table;
	}

	function seriesCharts(block) {
		var bytes = new Uint8Array(block);
		data.metrics.forEach(function (metric) {
			var lines = [], series = [{ label: "step", value: exact }], seriesOf = {}, shown = 0, sampled = 0,
				reduced = 0, top = null, total = 0;
			data.series.forEach(function (s, i) {
				if (!s || !s.m[metric] || !s.m[metric].n)
					return;
				var line = decodeLine(bytes, s.m[metric]);
				line.run = i;
				lines.push(line);
				total += line.steps.length;
				if (line.reduced)
					reduced++;
				for (var k = 0; k < line.vals.length; k++)
					if (top === null || line.vals[k] > top)
						top = line.vals[k];
			});
			if (!lines.length)
				return;
			var grid = total > GRID_ABOVE, cols = Math.max(200, Math.min(2000, chartWidth())), table;
			if (grid) {
				table = onGrid(lines, cols);
				shown = lines.length * 2 * cols;
			} else {
				var tables = lines.map(function (line) {
					var p = linePoints(line.steps, line.vals);
					if (!line.reduced && p[2] > p[0].length)
						sampled++;
					shown += p[0].length;
					return [p[0], p[1]];
				});
				table = uPlot.join(tables);
			}
			lines.forEach(function (line) {
				seriesOf[line.run] = series.length;
				/* a 1-pixel line is drawn many times faster than a wider one: for many lines, where it matters */
				series.push({ label: runLabel(runs[line.run]), stroke: colour(line.run), width: lines.length > 20 ? 1 : 1.5,
					value: exact, spanGaps: true, show: visible[line.run] });
			});
			var box = el("div", "chart");
			csec.appendChild(box);
			box.appendChild(el("h3", null, metric));
			if (grid)
				box.appendChild(el("p", "note", lines.length + " lines, " + total + " points: drawn on " + cols +
					" columns across the steps, each line by its lowest and highest value in each column, so no " +
					"spike is lost; hover shows those values at the column's step" +
					(reduced ? "; this file keeps only each stretch's lowest and highest point for " + reduced +
						" of them (every point: xtrk series RUN, or xtrk report --all-points)" : "")));
			else if (sampled || reduced)
				box.appendChild(el("p", "note", (sampled + reduced) + " line" + (sampled + reduced === 1 ? " is" : "s are") +
					" drawn from the lowest and highest point of each stretch of steps, so no spike is lost" +
					(reduced ? "; this file keeps only those points for " + reduced + " of them (every point: " +
						"xtrk series RUN, or xtrk report --all-points)" : "") + "; hover values are logged values"));
			var u = new uPlot({
				width: chartWidth(), height: 300,
				scales: { x: { time: false } },
				series: series,
				legend: { live: true },
				cursor: { focus: { prox: 16 } },
				focus: { alpha: 0.3 }
			}, table, box);
			charts.push({ u: u, metric: metric, seriesOf: seriesOf, grid: grid ? cols : 0 });
			state.points[metric] = shown;
			state.max[metric] = top;
			state.grid = state.grid || {};
			state.grid[metric] = grid ? cols : 0;
		});
	}
	window.addEventListener("resize", function () {
		charts.forEach(function (ch) { ch.u.setSize({ width: chartWidth(), height: 300 }); });
	});

	/* ---- a param against a metric: one point per run ---- */
	var pnames = [], mnames = [], seenName = {};
	runs.forEach(function (r) {
		Object.keys(r.num).forEach(function (k) {
			if (seenName[k])
				return;
			seenName[k] = true;
			(k.indexOf("params") === 0 ? pnames : mnames).push(k);
		});
	});
	pnames.sort();
	mnames.sort();
	if (pnames.length && mnames.length) {
		var ssec = el("section", "scatter");
		root.appendChild(ssec);
		ssec.appendChild(el("h2", null, "Params against metrics"));
		var pick = el("p", "pick");
		function chooser(names, label) {
			var sel = el("select");
			sel.setAttribute("aria-label", label);
			names.forEach(function (n, i) {
				var opt = el("option", null, n);
				opt.value = String(i);
				sel.appendChild(opt);
			});
			pick.appendChild(el("span", null, label + " "));
			pick.appendChild(sel);
			pick.appendChild(el("span", null, "  "));
			return sel;
		}
		var xsel = chooser(pnames, "x:"), ysel = chooser(mnames, "y:");
		ssec.appendChild(pick);
		var sbox = el("div", "chart");
		ssec.appendChild(sbox);
		var scatter = null;
		var drawScatter = function () {
			var xk = pnames[+xsel.value], yk = mnames[+ysel.value], pts = [];
			runs.forEach(function (r, i) {
				if (visible[i] && typeof r.num[xk] === "number" && typeof r.num[yk] === "number")
					pts.push([r.num[xk], r.num[yk], i]);
			});
			pts.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
			var xs = pts.map(function (p) { return p[0]; }), ys = pts.map(function (p) { return p[1]; });
			if (scatter)
				scatter.destroy();
			scatter = new uPlot({
				width: chartWidth(), height: 300,
				scales: { x: { time: false } },
				series: [{ label: xk, value: exact },
					{ label: yk, value: exact, stroke: "hsl(215, 70%, 45%)", fill: "hsl(215, 70%, 45%)",
						paths: function () { return null; },
						points: { show: true, size: 8, stroke: "hsl(215, 70%, 45%)", fill: "hsl(215, 70%, 60%)" } }]
			}, [xs, ys], sbox);
			state.scatter = { x: xk, y: yk, points: pts.length };
			publish();
		};
		xsel.addEventListener("change", drawScatter);
		ysel.addEventListener("change", drawScatter);
		filter.addEventListener("input", drawScatter);
		/* By default the param the runs vary most: the most distinct values (the first name of a tie). */
		var most = -1;
		pnames.forEach(function (k, i) {
			var seen = {}, n = 0;
			runs.forEach(function (r) {
				if (typeof r.num[k] === "number" && !seen[r.num[k]]) {
					seen[r.num[k]] = true;
					n++;
				}
			});
			if (n > most) {
				most = n;
				xsel.value = String(i);
			}
		});
		if (hash.get("x") && pnames.indexOf(hash.get("x")) >= 0)
			xsel.value = String(pnames.indexOf(hash.get("x")));
		if (hash.get("y") && mnames.indexOf(hash.get("y")) >= 0)
			ysel.value = String(mnames.indexOf(hash.get("y")));
		charts.scatter = function () { return scatter; };
		charts.redrawScatter = drawScatter;
	}

	/* ---- stages, tags, messages and notes ---- */
	var nsec = el("section", "notes");
	var any = false;
	nsec.appendChild(el("h2", null, "Stages, tags, messages and notes"));
	runs.forEach(function (r, i) {
		if (!r.tags.length && !r.notes.length && !r.message && !r.stage)
			return;
		any = true;
		var card = el("article", "run");
		card.style.setProperty("--run-colour", colour(i));
		var h = el("h3");
		h.appendChild(el("code", null, shortId(r.id)));
		h.appendChild(el("span", "exp", " " + r.experiment));
		if (r.stage)
			h.appendChild(el("span", "stage", "stage: " + r.stage));
		r.tags.forEach(function (t) { h.appendChild(el("span", "tag", t)); });
		card.appendChild(h);
		if (r.message)
			card.appendChild(el("p", "message", r.message));
		r.notes.forEach(function (n) { card.appendChild(el("p", "note", n)); });
		nsec.appendChild(card);
	});
	if (any)
		root.appendChild(nsec);

	/* What views.js (the next script) builds on. */
	window.xtrkPage = { data: data, runs: runs, root: root, charts: charts, state: state, publish: publish, el: el,
		colour: colour, shortId: shortId, runLabel: runLabel, visible: visible };

	render();
	if (charts.redrawScatter)
		charts.redrawScatter(); /* after render(): with the address's filter applied */

	/* Whether each chart has drawn: coloured pixels (the lines; axes and grid are grey) in its plot. */
	function countDrawn() {
		var drawn = 0;
		charts.forEach(function (ch) {
			var cv = ch.u.ctx.canvas, b = ch.u.bbox, px = 0;
			var img = ch.u.ctx.getImageData(b.left, b.top, Math.max(1, b.width), Math.max(1, b.height)).data;
			for (var i = 0; i < img.length; i += 4) {
				var hi = Math.max(img[i], img[i + 1], img[i + 2]), lo = Math.min(img[i], img[i + 1], img[i + 2]);
				if (img[i + 3] > 0 && hi - lo > 40)
					px++;
			}
			ch.pixels = px;
			if (px > 0 && cv.width > 0)
				drawn++;
		});
		state.drawn = drawn;
		if (charts.scatter) {
			var su = charts.scatter(), sb = su.bbox, sp = 0;
			var sim = su.ctx.getImageData(sb.left, sb.top, Math.max(1, sb.width), Math.max(1, sb.height)).data;
			for (var q = 0; q < sim.length; q += 4)
				if (sim[q + 3] > 0 && Math.max(sim[q], sim[q + 1], sim[q + 2]) - Math.min(sim[q], sim[q + 1], sim[q + 2]) > 40)
					sp++;
			state.scatter.pixels = sp;
		}
		state.pixels = charts.map(function (ch) { return ch.pixels; });
		state.charts = charts.length;
		state.ready = true;
		state.ms = Math.round(performance.now()); /* from the start of the page's load */
		publish();
	}
	function drawnSoon() {
		requestAnimationFrame(function () { setTimeout(countDrawn, 0); });
	}
	var blockEl = document.getElementById("xtrk-series");
	if (nmetrics && blockEl) {
		var packed = blockEl.textContent.trim();
		blockEl.textContent = ""; /* read once: megabytes of text the page need not keep */
		inflate(packed).then(function (block) {
			csec.removeChild(loading);
			seriesCharts(block);
			drawnSoon();
		}).catch(function (e) {
			loading.textContent = "The series could not be read: " + e.message;
			state.errors.push("series: " + e.message);
			drawnSoon();
		});
	} else {
		drawnSoon();
	}
})();
