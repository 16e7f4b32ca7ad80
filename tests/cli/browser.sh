# Browser helpers for the report tests (sourced after lib.sh): Debian's headless chromium
# (XTRK_TEST_CHROMIUM names another, or a missing one to try the skips).
chromium=${XTRK_TEST_CHROMIUM:-chromium}
# The page's own account of what it did (#xtrk-state), from the DOM after its scripts ran.
page_state() { # DOM file -> the state JSON
	python3 -c '
import html, re, sys
m = re.search(r"<pre id=\"xtrk-state\"[^>]*>([^<]*)</pre>", open(sys.argv[1]).read())
print(html.unescape(m.group(1)) if m else "{}")' "$1"
}
# A headless Chromium on a loaded machine can dump the DOM before the page has inflated its series
# and drawn the charts: up to 3 loads, the first whose page says it is ready with every chart drawn
# (else the last).
browse() { # URL -> DOM on stdout
	local try=1
	while :; do
		timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,2000 \
			--virtual-time-budget=10000 --user-data-dir="$TRASH/chrome" --dump-dom "$1" 2>/dev/null > "$TRASH/dom.try" || true
		page_state "$TRASH/dom.try" > "$TRASH/state.try"
		if [ $try -ge 3 ] || python3 -c "import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s.get(\"ready\") and s.get(\"drawn\") == s.get(\"charts\") else 1)" "$TRASH/state.try"; then
			cat "$TRASH/dom.try"
			return 0
		fi
		echo "# charts not all drawn yet (load $try): loading again" >&2
		try=$((try + 1))
	done
}
need_browser() { command -v "$chromium" >/dev/null 2>&1 || skip "$chromium is not installed (apt-get install chromium)"; }
