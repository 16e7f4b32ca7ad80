#!/bin/sh
# Turn files into C arrays for the report page: embed.sh SRCDIR NAME=PATH... > report_assets.c
# Each NAME becomes `const unsigned char xtrk_asset_NAME[]` (NUL-terminated) and
# `const size_t xtrk_asset_NAME_len` (without the NUL); PATH is relative to SRCDIR.
set -e
srcdir=$1
shift
echo '/* Made by src/lib/report/embed.sh from the files named below; do not edit. */'
echo '#include <stddef.h>'
for spec in "$@"; do
	name=${spec%%=*}
	path=${spec#*=}
	echo
	echo "/* $path */"
	echo "const unsigned char xtrk_asset_${name}[] = {"
	od -An -v -tx1 "$srcdir/$path" | sed -e 's/[0-9a-f][0-9a-f]/0x&,/g' -e 's/^ */\t/' -e 's/ *$//'
	echo '	0x00'
	echo '};'
	echo "const size_t xtrk_asset_${name}_len = sizeof(xtrk_asset_${name}) - 1;"
done
