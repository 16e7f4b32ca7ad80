# Sourced by the tests that sign approvals, after lib.sh.
# people NAME...: each a person with a git identity (NAME@example.org) and an ed25519 key made by
# ssh-keygen, in $TRASH/NAME; as NAME CMD...: run CMD as that person; signers NAME...: their lines
# for .xtrk/allowed_signers.
command -v ssh-keygen >/dev/null 2>&1 || skip_all "ssh-keygen is not installed"
people() {
	for who in "$@"; do
		mkdir -p "$TRASH/$who"
		ssh-keygen -q -t ed25519 -N "" -C "$who" -f "$TRASH/$who/key"
		git config -f "$TRASH/$who/.gitconfig" user.name "$who"
		git config -f "$TRASH/$who/.gitconfig" user.email "$who@example.org"
		git config -f "$TRASH/$who/.gitconfig" user.signingkey "$TRASH/$who/key"
	done
}
as() { who=$1; shift; HOME=$TRASH/$who GIT_CONFIG_GLOBAL=$TRASH/$who/.gitconfig "$@"; }
signers() { for who in "$@"; do echo "$who@example.org $(cat "$TRASH/$who/key.pub")"; done; }
