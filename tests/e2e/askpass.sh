#!/bin/sh
# SPDX-License-Identifier: MIT
# SSH_ASKPASS for the end-to-end suite: ssh runs it once per keyboard-interactive prompt
# with the prompt as $1. It answers from E2E_PASSWORD / E2E_CODE and appends each prompt
# to E2E_ASKPASS_LOG, so a test can tell which questions were asked, in which order.
[ -n "${E2E_ASKPASS_LOG:-}" ] && printf '%s\n' "$1" >>"$E2E_ASKPASS_LOG"
case $1 in
*[Pp]assword*) printf '%s\n' "${E2E_PASSWORD:-}" ;;
*[Vv]erification\ code*) printf '%s\n' "${E2E_CODE:-}" ;;
*) echo "askpass: unexpected prompt: $1" >&2; exit 1 ;;
esac
