#!/bin/sh
# make install into a scratch prefix: the program, man pages, bash completion and the Python
# package work from there; make uninstall leaves no file behind; pip installs contrib/python offline.
. "$(dirname "$0")/lib.sh"

P=$TRASH/prefix
unset MAKEFLAGS MFLAGS MAKELEVEL  # a make of its own, not part of the make check that started us
# The Python package follows the prefix by default; a folder given to configure --with-python-sitedir
# stays outside it, so this test moves it under the prefix itself rather than write outside $TRASH.
site_arg=
case $(sed -n 's/^pythonsitedir = //p' "$XTRK_TEST_BUILDDIR/Makefile" 2>/dev/null) in
"\${prefix}"/* | "\${exec_prefix}"/* | "\${libdir}"/*) ;;
*) site_arg="pythonsitedir=$P/site" ;;
esac
[ -f "$XTRK_TEST_BUILDDIR/Makefile" ] || skip_all "no build folder to install from"

check "make install puts xtrk, its man pages, the completion and the Python package under the prefix" '
	make -s -C "$XTRK_TEST_BUILDDIR" install prefix="$P" $site_arg
	site=$(dirname "$(find "$P" -path "*/xtrk/__init__.py")")
	site=${site%/xtrk}
	test -x "$P/bin/xtrk"
	test -f "$P/share/man/man1/xtrk-log.1"
	test -f "$P/share/man/man5/xtrk-format.5"
	test -f "$P/share/bash-completion/completions/xtrk"
	case $site in "$P"/*) ;; *) echo "python package outside the prefix: $site"; exit 1;; esac
	test -f "$site/xtrk/__init__.py"
'
site=$(dirname "$(find "$P" -path '*/xtrk/__init__.py' 2>/dev/null)")
site=${site%/xtrk}
installed_path() { PATH="$P/bin:$PATH" PYTHONPATH="$site" "$@"; }

check "the tour runs from the installed program, found on PATH" '
	mkdir proj && cd proj
	git init -q . && echo "lr: 0.1" > params.yaml && git add params.yaml && git commit -qm one
	installed_path sh -c "command -v xtrk" > where
	test "$(cat where)" = "$P/bin/xtrk"
	installed_path xtrk init -q
	installed_path xtrk commit-run -q -e tour -P params.yaml --tag first
	installed_path xtrk log > log.out
	grep tour log.out
	installed_path xtrk --version | grep "^xtrk [0-9]"
'

check "man finds the installed pages" '
	command -v man >/dev/null || skip "no man program"
	MANPAGER=cat PAGER=cat man -M "$P/share/man" xtrk-log > man.out 2>/dev/null
	grep -i "xtrk.log" man.out
'

check "the installed Python package imports and records a run with the installed program" '
	cd proj
	unset PYTHONDONTWRITEBYTECODE  # as for a user: the import leaves __pycache__ for uninstall to remove
	installed_path python3 -c "import xtrk, sys; assert xtrk.__file__.startswith(sys.argv[1]), xtrk.__file__" "$site"
	installed_path python3 -c "
import xtrk
with xtrk.start(experiment=\"py\", params={\"lr\": 0.5}) as run:
    run.log_metric(\"loss\", 0.25)
print(run.id)" > id
	installed_path xtrk show "$(cat id)" | grep "0.25"
	ls "$site"/xtrk/__pycache__/*.pyc
'

check "the installed completion completes commands, options and tag names" '
	cd proj
	installed_path bash -ec "
		. \"$P/share/bash-completion/completions/xtrk\"
		c() { COMP_WORDS=(\"\$@\"); COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _xtrk xtrk || return 1; echo \"\${COMPREPLY[*]}\"; }
		test \"\$(c xtrk com)\" = commit-run
		test \"\$(c xtrk log --whe)\" = --where
		c xtrk show fir | grep -x first
		complete -p xtrk | grep _xtrk
	"
'

check "make uninstall removes every installed file" '
	make -s -C "$XTRK_TEST_BUILDDIR" uninstall prefix="$P" $site_arg
	find "$P" -type f > left
	test ! -s left || { cat left; exit 1; }
'

check "pip installs contrib/python offline (no index), and the package imports from there" '
	python3 -m pip --version >/dev/null 2>&1 || skip "no pip for python3"
	cp -R "$XTRK_TEST_SRCDIR/contrib/python" src && chmod -R u+w src
	rm -rf src/tests
	PIP_CONFIG_FILE=/dev/null python3 -m pip install -q --no-index --no-cache-dir --disable-pip-version-check \
		--target "$TRASH/target" ./src
	test -f "$TRASH/target/xtrk/__init__.py"
	ls "$TRASH"/target/xtrk-*.dist-info/METADATA
	grep -x "Version: $("$XTRK_BIN" --version | sed "s/^xtrk //")" "$TRASH"/target/xtrk-*.dist-info/METADATA
	cd / && PYTHONPATH="$TRASH/target" python3 -c "import xtrk, sys; assert xtrk.__file__.startswith(sys.argv[1]), xtrk.__file__" "$TRASH/target"
'
finish
