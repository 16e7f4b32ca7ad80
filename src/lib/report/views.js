/*
 * The report's further views, built on what page.js publishes as window.xtrkPage: parallel
 * coordinates over the runs' numeric params and metrics (uPlot), a two-run comparison (params,
 * metrics, data, environment, source patch) and the lineage graph.  Everything from the runs is
 * shown as text (textContent, attribute values), never parsed as markup.  What they show is
 * written into the page's state: state.parallel, state.compare, state.lineage.
 * The address may hold #a=RUN&b=RUN (an ID, a unique start of one, or a tag) to compare two runs.
 */
(function () {
	"use strict";
	var page = window.xtrkPage;
	if (!page)
		return;
	var data = page.data, runs = page.runs, root = page.root, state = page.state, el = page.el;
	var nruns = runs.length;
	var notes = root.querySelector("section.notes");

	/* A section placed before the notes (or last, when there are none). */
	function section(cls, title) {
		var s = el("section", cls);
		root.insertBefore(s, notes);
		s.appendChild(el("h2", null, title));
		return s;
	}
	function width(box) {
		return Math.max(320, Math.min(1100, box.clientWidth - 24));
	}
	function text(v) {
		if (v === undefined)
			return "\u2013"; /* absent */
		if (v === null)
			return "null";
		return typeof v === "string" ? v : JSON.stringify(v);
	}
	function same(x, y) {
		return JSON.stringify(x) === JSON.stringify(y);
	}
	function detail(r) {
		return r.detail || { params: {}, metrics: {}, data: [], env: {}, source: {} };
	}

	/* ---- parallel coordinates: an axis per numeric param and metric, a line per run ---- */
	var MAX_AXES = 24;
	(function parallel() {
		var pn = [], mn = [], seen = {}, has = {};
		runs.forEach(function (r) {
			Object.keys(r.num || {}).forEach(function (k) {
				if (typeof r.num[k] !== "number" || !isFinite(r.num[k]))
					return;
				has[k] = (has[k] || 0) + 1;
				if (seen[k])
					return;
				seen[k] = true;
				(k.indexOf("params.") === 0 ? pn : mn).push(k);
			});
		});
		pn.sort();
		mn.sort();
		var all = pn.concat(mn), axes = all.slice(0, MAX_AXES);
		var lines = runs.filter(function (r) {
			return axes.some(function (k) { return typeof r.num[k] === "number" && isFinite(r.num[k]); });
		}).length;
		if (axes.length < 2 || lines < 2)
			return;
		var sec = section("parallel", "Parallel coordinates");
		sec.appendChild(el("p", "note", "Each run is a line across its numeric params and metrics; each axis spans " +
			"its own lowest to highest value (shown under its name). Hover a line for the values as logged." +
			(all.length > axes.length ? " The first " + axes.length + " of " + all.length + " fields are shown." : "")));
		var ranges = axes.map(function (k) {
			var lo = Infinity, hi = -Infinity;
			runs.forEach(function (r) {
				var v = r.num[k];
				if (typeof v === "number" && isFinite(v)) {
					lo = Math.min(lo, v);
					hi = Math.max(hi, v);
				}
			});
			return [lo, hi];
		});
		function norm(a, v) {
			var lo = ranges[a][0], hi = ranges[a][1];
			return hi > lo ? (v - lo) / (hi - lo) : 0.5;
		}
		function cut(s) {
			return s.length > 22 ? s.slice(0, 21) + "\u2026" : s;
		}
		var xs = axes.map(function (k, a) { return a; }), table = [xs];
		var series = [{ label: "field", value: function (u, v) { return v == null ? "\u2013" : axes[v]; } }];
		var seriesOf = {}, real = [];
		runs.forEach(function (r, i) {
			var ys = axes.map(function (k, a) {
				var v = r.num[k];
				return typeof v === "number" && isFinite(v) ? norm(a, v) : null;
			});
			if (!ys.some(function (y) { return y !== null; }))
				return;
			seriesOf[i] = series.length;
			real.push(axes.map(function (k) { return typeof r.num[k] === "number" ? r.num[k] : null; }));
			var mine = real[real.length - 1];
			series.push({ label: page.runLabel(r), stroke: page.colour(i), width: 1.5, spanGaps: true, show: page.visible[i],
				value: function (u, v, si, idx) { return idx == null || mine[idx] == null ? "\u2013" : String(mine[idx]); } });
			table.push(ys);
		});
		var box = el("div", "chart");
		sec.appendChild(box);
		var u = new uPlot({
			width: width(sec), height: 300,
			scales: { x: { time: false, range: [-0.25, axes.length - 0.75] }, y: { range: [-0.05, 1.05] } },
			axes: [
				{ splits: function () { return xs; }, size: 62, grid: { show: true },
					values: function (u, splits) {
						return splits.map(function (a) {
							return axes[a] === undefined ? "" : cut(axes[a]) + "\n" + ranges[a][0] + " \u2013 " + ranges[a][1];
						});
					} },
				{ show: false }
			],
			series: series,
			legend: { live: true },
			cursor: { focus: { prox: 16 } },
			focus: { alpha: 0.3 }
		}, table, box);
		page.charts.push({ u: u, metric: "parallel", seriesOf: seriesOf });
		state.charts = page.charts.length;
		state.parallel = { axes: axes, lines: series.length - 1, ranges: ranges, fields: all.length };
	})();

	/* ---- two runs side by side ---- */
	/* A run named by its ID, a unique start of one (4 or more hex digits) or a tag: its index, else -1. */
	function resolve(name) {
		if (!name)
			return -1;
		var found = -1, n = 0;
		runs.forEach(function (r, i) {
			if (r.id === name || r.tags.indexOf(name) >= 0) {
				found = i;
				n = 1;
			}
		});
		if (found >= 0)
			return found;
		if (/^[0-9a-f]{4,32}$/.test(name))
			runs.forEach(function (r, i) {
				if (r.id.indexOf(name) === 0) {
					found = i;
					n++;
				}
			});
		return n === 1 ? found : -1;
	}

	var csec = null, asel, bsel, cbody;
	function row(tbl, name, av, bv, changed, cls) {
		var tr = el("tr", changed ? "changed" : null);
		tr.appendChild(el("td", "mark", changed ? "\u2260" : ""));
		tr.appendChild(el("th", null, name));
		tr.appendChild(el("td", cls, av));
		tr.appendChild(el("td", cls, bv));
		if (changed)
			tr.title = "differs";
		tbl.appendChild(tr);
	}
	function table(title, labels) {
		cbody.appendChild(el("h3", null, title));
		var t = el("table", "cmp"), head = el("tr");
		head.appendChild(el("th", "mark", ""));
		head.appendChild(el("th", null, labels[0]));
		head.appendChild(el("th", null, labels[1]));
		head.appendChild(el("th", null, labels[2]));
		t.appendChild(head);
		cbody.appendChild(t);
		return t;
	}
	/* Rows of two flat objects; the keys whose values differ (or one lacks). */
	function pairs(title, a, b, labels) {
		var keys = Object.keys(a).concat(Object.keys(b).filter(function (k) { return !(k in a); })).sort();
		var changed = [];
		var t = table(title, labels);
		keys.forEach(function (k) {
			var ch = !same(a[k], b[k]);
			if (ch)
				changed.push(k);
			row(t, k, text(a[k]), text(b[k]), ch, null);
		});
		if (!keys.length)
			cbody.appendChild(el("p", "none", "None recorded."));
		return changed;
	}
	function bytesText(n) {
		if (typeof n !== "number")
			return "";
		var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
		while (n >= 1024 && i < u.length - 1) {
			n /= 1024;
			i++;
		}
		return (i ? n.toFixed(1) : String(n)) + " " + u[i];
	}
	function entryText(e) {
		if (!e)
			return "\u2013";
		return text(e.path) + "  " + (e.id ? String(e.id).slice(0, 12) : "(no ID)") + (e.kind === "tree" ? " (folder)" : "") +
			(typeof e.bytes === "number" ? "  " + bytesText(e.bytes) : "");
	}
	function patchOf(r) {
		var id = detail(r).source.patch;
		return id ? { id: id, p: (data.patches || {})[id] || null } : null;
	}
	function patchBox(r, label) {
		var box = el("div", "patch"), pt = patchOf(r);
		box.appendChild(el("h4", null, label + " " + page.shortId(r.id)));
		if (!pt) {
			box.appendChild(el("p", "none", "No uncommitted changes recorded."));
			return box;
		}
		var p = pt.p;
		if (!p || p.error) {
			box.appendChild(el("p", "note", "The patch " + pt.id + " cannot be shown" + (p && p.error ? ": " + p.error : ".")));
			return box;
		}
		var info = "patch " + pt.id + ", " + bytesText(p.bytes);
		if (p.cut)
			info += "; only its first " + bytesText(shownBytes(p)) + " are in this report";
		if (p.replaced)
			info += "; " + p.replaced + " byte" + (p.replaced === 1 ? " that is" : "s that are") + " not UTF-8 shown as \ufffd";
		box.appendChild(el("p", "note", info));
		box.appendChild(el("pre", "diff", p.text));
		return box;
	}
	function shownBytes(p) {
		return new TextEncoder().encode(p.text).length;
	}

	function compare(ai, bi) {
		var a = runs[ai], b = runs[bi], da = detail(a), db = detail(b), ch = {};
		var labels = ["", "A " + page.shortId(a.id), "B " + page.shortId(b.id)];
		while (cbody.firstChild)
			cbody.removeChild(cbody.firstChild);
		labels[0] = "param";
		ch.params = pairs("Params", da.params, db.params, labels);
		labels[0] = "metric";
		ch.metrics = pairs("Metrics (final)", da.metrics, db.metrics, labels);

		/* data, models and artifacts: paired by group and name */
		labels[0] = "name";
		var t = table("Data, models and artifacts", labels), keyed = {}, order = [];
		[[da.data, 0], [db.data, 1]].forEach(function (side) {
			(side[0] || []).forEach(function (e) {
				var k = e.group + "\u0000" + e.name;
				if (!keyed[k]) {
					keyed[k] = [null, null];
					order.push(k);
				}
				if (!keyed[k][side[1]])
					keyed[k][side[1]] = e;
			});
		});
		ch.data = [];
		order.forEach(function (k) {
			var ea = keyed[k][0], eb = keyed[k][1], e = ea || eb;
			var differs = !ea || !eb || ea.id !== eb.id || ea.path !== eb.path || ea.kind !== eb.kind;
			if (differs)
				ch.data.push(e.group + "/" + e.name);
			row(t, e.group.replace(/s$/, "") + " " + text(e.name), entryText(ea), entryText(eb), differs, "mono");
		});
		if (!order.length)
			cbody.appendChild(el("p", "none", "None recorded."));

		/* the environment, then the packages that differ */
		labels[0] = "";
		t = table("Environment", labels);
		ch.env = [];
		["os", "cpu", "memory", "gpus", "python", "packages", "host", "container", "xtrk"].forEach(function (k) {
			var av = da.env[k], bv = db.env[k];
			if (av == null && bv == null)
				return;
			var differs = !same(av, bv);
			if (differs)
				ch.env.push(k);
			var f = k === "memory" ? bytesText : text;
			row(t, k, av == null ? "\u2013" : f(av), bv == null ? "\u2013" : f(bv), differs, null);
		});
		var pa = (data.packages || {})[da.env.packages_set] || {}, pb = (data.packages || {})[db.env.packages_set] || {};
		if (da.env.packages_set !== db.env.packages_set) {
			Object.keys(pa).concat(Object.keys(pb).filter(function (k) { return !(k in pa); })).sort().forEach(function (k) {
				if (pa[k] === pb[k])
					return;
				ch.env.push("package " + k);
				row(t, "package " + k, text(pa[k]), text(pb[k]), true, null);
			});
		}

		/* source */
		labels[0] = "";
		t = table("Source", labels);
		ch.source = [];
		["repository", "commit", "branch", "dirty", "patch"].forEach(function (k) {
			var av = da.source[k], bv = db.source[k];
			var differs = !same(av, bv);
			if (differs)
				ch.source.push(k);
			row(t, k, text(av), text(bv), differs, k === "commit" || k === "patch" ? "mono" : null);
		});
		cbody.appendChild(el("h3", null, "Uncommitted changes (the source patch)"));
		var two = el("div", "patches");
		two.appendChild(patchBox(a, "A"));
		two.appendChild(patchBox(b, "B"));
		cbody.appendChild(two);

		var pA = patchOf(a), pB = patchOf(b);
		state.compare = { a: a.id, b: b.id, changed: ch,
			patch: { a: pA && pA.p ? pA.p.text.length : null, b: pB && pB.p ? pB.p.text.length : null } };
		page.publish();
	}

	function hashPick() {
		var h = new URLSearchParams(location.hash.replace(/^#/, "")), pick = [-1, -1], missing = [];
		["a", "b"].forEach(function (k, n) {
			var v = h.get(k);
			if (v === null)
				return;
			pick[n] = resolve(v);
			if (pick[n] < 0)
				missing.push(v);
		});
		return { pick: pick, missing: missing };
	}
	if (nruns >= 2) {
		csec = section("compare", "Two runs side by side");
		var pickp = el("p", "pick");
		function chooser(label) {
			var s = el("select");
			s.setAttribute("aria-label", "run " + label);
			runs.forEach(function (r, i) {
				var o = el("option", null, page.runLabel(r) + " " + r.experiment);
				o.value = String(i);
				s.appendChild(o);
			});
			pickp.appendChild(el("span", null, label + " "));
			pickp.appendChild(s);
			pickp.appendChild(el("span", null, "  "));
			return s;
		}
		asel = chooser("A:");
		bsel = chooser("B:");
		csec.appendChild(pickp);
		var warn = el("p", "note");
		csec.appendChild(warn);
		cbody = el("div", "cmpbody");
		csec.appendChild(cbody);
		/* Without an address: the table's first two rows as shown. */
		var firstTwo = [];
		(state.order || []).forEach(function (sid) {
			runs.forEach(function (r, i) {
				if (firstTwo.length < 2 && page.shortId(r.id) === sid && firstTwo.indexOf(i) < 0)
					firstTwo.push(i);
			});
		});
		for (var d = 0; firstTwo.length < 2; d++)
			if (firstTwo.indexOf(d) < 0)
				firstTwo.push(d);
		var fromHash = function () {
			var hp = hashPick();
			warn.textContent = hp.missing.length ? "No run here is named " + hp.missing.join(" or ") + "." : "";
			asel.value = String(hp.pick[0] >= 0 ? hp.pick[0] : firstTwo[0]);
			bsel.value = String(hp.pick[1] >= 0 ? hp.pick[1] : firstTwo[1]);
			compare(+asel.value, +bsel.value);
			if (hp.missing.length) {
				state.compare.missing = hp.missing;
				page.publish();
			}
		};
		var onPick = function () {
			compare(+asel.value, +bsel.value);
			var h = new URLSearchParams(location.hash.replace(/^#/, ""));
			h.set("a", runs[+asel.value].id);
			h.set("b", runs[+bsel.value].id);
			try {
				history.replaceState(null, "", "#" + h.toString());
			} catch (e) { /* a page opened where the address cannot change */ }
		};
		asel.addEventListener("change", onPick);
		bsel.addEventListener("change", onPick);
		window.addEventListener("hashchange", fromHash);
		fromHash();
	}

	/* ---- lineage: runs joined to the runs they derive from ---- */
	(function lineage() {
		var byId = {}, edges = [], nodes = {}, order = [];
		runs.forEach(function (r, i) { byId[r.id] = i; });
		function node(id) {
			if (!nodes[id]) {
				nodes[id] = { id: id, run: id in byId ? byId[id] : -1, parents: [], children: [] };
				order.push(id);
			}
			return nodes[id];
		}
		runs.forEach(function (r) {
			(r.parents || []).forEach(function (p, k) {
				var via = (r.parent_via || [])[k] || "parent";
				edges.push({ from: p, to: r.id, via: via });
				node(p).children.push(r.id);
				node(r.id).parents.push({ id: p, via: via });
			});
		});
		var sec = section("lineage", "Lineage");
		state.lineage = { nodes: order.length, edges: edges, layers: 0, outside: 0 };
		if (!edges.length) {
			sec.appendChild(el("p", "none", "No run here derives from another: none names a parent, and none used " +
				"as a dataset what another of these runs made."));
			page.publish();
			return;
		}
		sec.appendChild(el("p", "note", "Each run is a box, after the runs it derives from (its parent, or the run " +
			"that made one of its datasets). Dashed: a run not in this report." +
			(nruns > order.length ? " " + (nruns - order.length) + " run" + (nruns - order.length === 1 ? "" : "s") +
				" of the report with no link to another left out." : "")));
		/* the layer of a node: one after its deepest parent (a cycle through data is cut where it closes) */
		var layer = {}, onPath = {};
		order.forEach(function (id) {
			var stack = [[id, 0]];
			while (stack.length) {
				var top = stack[stack.length - 1], n = nodes[top[0]];
				if (layer[n.id] !== undefined) {
					stack.pop();
					continue;
				}
				onPath[n.id] = true;
				if (top[1] < n.parents.length) {
					var p = n.parents[top[1]++].id;
					if (layer[p] === undefined && !onPath[p])
						stack.push([p, 0]);
					continue;
				}
				var l = 0;
				n.parents.forEach(function (q) {
					if (layer[q.id] !== undefined)
						l = Math.max(l, layer[q.id] + 1);
				});
				layer[n.id] = l;
				delete onPath[n.id];
				stack.pop();
			}
		});
		var nlayers = 0;
		order.forEach(function (id) { nlayers = Math.max(nlayers, layer[id] + 1); });
		var graph = el("div", "lgraph"), cols = [], boxes = {};
		sec.appendChild(graph);
		var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
		svg.setAttribute("class", "ledges");
		svg.setAttribute("aria-hidden", "true");
		graph.appendChild(svg);
		for (var c = 0; c < nlayers; c++) {
			cols.push(el("div", "lcol"));
			graph.appendChild(cols[c]);
		}
		var outside = 0;
		order.forEach(function (id) {
			var n = nodes[id], r = n.run >= 0 ? runs[n.run] : null;
			var b = el("div", r ? "lnode" : "lnode outside");
			if (r)
				b.style.setProperty("--run-colour", page.colour(n.run));
			else
				outside++;
			b.title = id;
			b.appendChild(el("code", null, page.shortId(id)));
			if (r) {
				b.appendChild(el("span", "exp", " " + r.experiment));
				r.tags.forEach(function (t) { b.appendChild(el("span", "tag", t)); });
				if (r.message)
					b.appendChild(el("div", "msg", r.message.length > 80 ? r.message.slice(0, 79) + "\u2026" : r.message));
			} else {
				b.appendChild(el("div", "msg", "not in this report"));
			}
			n.parents.forEach(function (p) {
				b.appendChild(el("div", "from", "\u2190 " + page.shortId(p.id) + " (" + p.via + ")"));
			});
			cols[layer[id]].appendChild(b);
			boxes[id] = b;
		});
		state.lineage.layers = nlayers;
		state.lineage.outside = outside;
		/* the edges: a curve from the right of a parent's box to the left of its child's */
		function drawEdges() {
			while (svg.firstChild)
				svg.removeChild(svg.firstChild);
			var g = graph.getBoundingClientRect(), drawn = 0;
			svg.setAttribute("width", String(graph.scrollWidth));
			svg.setAttribute("height", String(graph.scrollHeight));
			edges.forEach(function (e) {
				var f = boxes[e.from].getBoundingClientRect(), t = boxes[e.to].getBoundingClientRect();
				var x1 = f.right - g.left + graph.scrollLeft, y1 = f.top + f.height / 2 - g.top;
				var x2 = t.left - g.left + graph.scrollLeft, y2 = t.top + t.height / 2 - g.top;
				if (layer[e.from] >= layer[e.to]) /* a cycle's closing edge: around, from left to left */
					x1 = f.left - g.left + graph.scrollLeft;
				var mid = (x1 + x2) / 2, path = document.createElementNS("http://www.w3.org/2000/svg", "path");
				path.setAttribute("d", "M" + x1 + "," + y1 + " C" + mid + "," + y1 + " " + mid + "," + y2 + " " + x2 + "," + y2);
				path.setAttribute("class", "ledge");
				var tt = document.createElementNS("http://www.w3.org/2000/svg", "title");
				tt.textContent = page.shortId(e.from) + " \u2192 " + page.shortId(e.to) + " (" + e.via + ")";
				path.appendChild(tt);
				svg.appendChild(path);
				drawn++;
			});
			state.lineage.drawn = drawn;
			page.publish();
		}
		drawEdges();
		window.addEventListener("resize", drawEdges);
	})();

	page.publish();
})();
