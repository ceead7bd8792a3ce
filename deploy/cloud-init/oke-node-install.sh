#!/usr/bin/env bash
# Installs credential-provider-oke on an OKE worker node and starts the node with it.
#
# Use it as (or from) the node pool's cloud-init user data, in place of OKE's default
#   curl ... oke_init_script | base64 --decode >/var/run/oke-init.sh; bash /var/run/oke-init.sh
# It:
#   1. picks the executable for this CPU (uname -m: x86_64 -> amd64, aarch64 -> arm64);
#   2. takes it, the kubelet config and SHA256SUMS from CREDENTIAL_PROVIDER_URL_BASE (a release, or
#      an Object Storage pre-authenticated request ending in /o/) or from CREDENTIAL_PROVIDER_SOURCE_DIR
#      (offline: baked into the image or copied beforehand);
#   3. when a minisign public key is configured, refuses SHA256SUMS unless SHA256SUMS.minisig is a
#      valid signature by that key (checked with openssl: OKE images have no minisign);
#   4. refuses anything whose SHA-256 is not the one in SHA256SUMS;
#   5. installs both atomically (temporary file in the same folder, then rename) and records them in
#      .install/state.json as `credential-provider-oke install` does, so the DaemonSet may upgrade
#      them (your own config, CREDENTIAL_PROVIDER_CONFIG_FILE, is not recorded: it is not replaced);
#   6. runs OKE's /var/run/oke-init.sh with the two kubelet flags added to --kubelet-extra-args,
#      keeping the operator's own arguments;
#   7. checks the running kubelet's command line for both flags, and fails loudly if one is missing:
#      otherwise pulls silently go anonymous (oracle-devrel/oke-credential-provider-for-ocir#6).
#
# Arguments are passed on to oke-init.sh; a --kubelet-extra-args among them is merged with ours.
# Settings (environment variables). Every *_DIR/*_FILE/*_SCRIPT value is a path on the node;
# ROOT is put in front of each when this script touches the file system (tests use a fake root),
# never in the flags given to the kubelet.
#   CREDENTIAL_PROVIDER_URL_BASE    https://.../<version>   (online), or
#   CREDENTIAL_PROVIDER_SOURCE_DIR  /opt/credential-provider-oke  (offline); exactly one of the two
#   CREDENTIAL_PROVIDER_MINISIGN_KEY      the release's minisign public key: the base64 line of its
#                                         minisign.pub (RWQ...); then SHA256SUMS must be signed by it
#   CREDENTIAL_PROVIDER_MINISIGN_KEY_FILE or a minisign.pub file on the node; set at most one of the two
#   CREDENTIAL_PROVIDER_CONFIG_FILE your own kubelet CredentialProviderConfig to install instead of
#                                   the released credential-provider-config.yaml (not checksummed:
#                                   it comes from your own user data)
#   CREDENTIAL_PROVIDER_BIN_DIR     default /etc/kubernetes/credential-provider/bin
#   CREDENTIAL_PROVIDER_CONFIG      default /etc/kubernetes/credential-provider/config.yaml
#   KUBELET_EXTRA_ARGS              more kubelet flags for oke-init.sh
#   OKE_INIT_SCRIPT                 default /var/run/oke-init.sh (fetched from IMDS when absent)
#   OKE_INIT_URL                    default http://169.254.169.254/opc/v2/instance/metadata/oke_init_script
#   RUN_OKE_INIT                    default true; false when something else starts the kubelet
#   VERIFY_KUBELET_FLAGS            default: same as RUN_OKE_INIT
#   KUBELET_WAIT_SECONDS            default 300: how long to wait for a kubelet with both flags
#   KUBELET_POLL_SECONDS            default 5
#   PROC_DIR                        default /proc
#   ROOT                            default empty (the real root)
set -euo pipefail
umask 022

readonly NAME=credential-provider-oke
readonly RELEASED_CONFIG_NAME=credential-provider-config.yaml
readonly CONFIG_FLAG=--image-credential-provider-config
readonly BIN_DIR_FLAG=--image-credential-provider-bin-dir

ROOT="${ROOT:-}"
URL_BASE="${CREDENTIAL_PROVIDER_URL_BASE:-}"
SOURCE_DIR="${CREDENTIAL_PROVIDER_SOURCE_DIR:-}"
OWN_CONFIG_FILE="${CREDENTIAL_PROVIDER_CONFIG_FILE:-}"
MINISIGN_KEY="${CREDENTIAL_PROVIDER_MINISIGN_KEY:-}"
MINISIGN_KEY_FILE="${CREDENTIAL_PROVIDER_MINISIGN_KEY_FILE:-}"
BIN_DIR="${CREDENTIAL_PROVIDER_BIN_DIR:-/etc/kubernetes/credential-provider/bin}"
CONFIG_FILE="${CREDENTIAL_PROVIDER_CONFIG:-/etc/kubernetes/credential-provider/config.yaml}"
OKE_INIT_SCRIPT="${OKE_INIT_SCRIPT:-/var/run/oke-init.sh}"
OKE_INIT_URL="${OKE_INIT_URL:-http://169.254.169.254/opc/v2/instance/metadata/oke_init_script}"
RUN_OKE_INIT="${RUN_OKE_INIT:-true}"
VERIFY_KUBELET_FLAGS="${VERIFY_KUBELET_FLAGS:-$RUN_OKE_INIT}"
KUBELET_WAIT_SECONDS="${KUBELET_WAIT_SECONDS:-300}"
KUBELET_POLL_SECONDS="${KUBELET_POLL_SECONDS:-5}"
PROC_DIR="${PROC_DIR:-/proc}"

log() { printf '%s install: %s\n' "$NAME" "$*" >&2; }
die() {
  printf '%s install: ERROR: %s\n' "$NAME" "$*" >&2
  exit 1
}

# is_true NAME: whether the setting NAME is true; dies naming it when it is neither true nor false.
is_true() {
  case "${!1}" in
    true | yes | 1) return 0 ;;
    false | no | 0) return 1 ;;
    *) die "$1 must be true or false, not '${!1}'" ;;
  esac
}

STAGING=""
cleanup() {
  if [[ -n "$STAGING" ]]; then rm -rf -- "$STAGING"; fi
}
trap cleanup EXIT

# amd64/arm64 are the release asset suffixes; anything else has no executable, so stop here rather
# than install a binary the CPU cannot run.
detect_arch() {
  local machine
  machine="$(uname -m)"
  case "$machine" in
    x86_64 | amd64) echo amd64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) die "unsupported CPU architecture '$machine' (uname -m); $NAME is built for x86_64 and aarch64" ;;
  esac
}

# Copies or downloads one release file into the staging folder; $2 (optional) says why it must exist.
fetch() {
  local name="$1" why="${2:+; $2}" error
  if [[ -n "$SOURCE_DIR" ]]; then
    [[ -f "$ROOT$SOURCE_DIR/$name" ]] || die "$SOURCE_DIR/$name does not exist (CREDENTIAL_PROVIDER_SOURCE_DIR)$why"
    cp -- "$ROOT$SOURCE_DIR/$name" "$STAGING/$name"
  else
    command -v curl >/dev/null || die "curl is needed to download from CREDENTIAL_PROVIDER_URL_BASE"
    # --retry-all-errors is not in every curl on OKE images; these retries cover the usual
    # "network not up yet" moments of early boot. curl's own message goes into our one line.
    if ! error="$(curl --fail --silent --show-error --location --retry 5 --retry-delay 2 --retry-connrefused \
      --connect-timeout 10 --max-time 300 --output "$STAGING/$name" "${URL_BASE%/}/$name" 2>&1)"; then
      error="${error%$'\n'}"
      die "could not download ${URL_BASE%/}/$name (${error##*$'\n'})$why"
    fi
  fi
}

# ---- minisign signature of SHA256SUMS, checked with openssl ----
# Minisign's formats: a public key is base64 of "Ed", an 8-byte key id and a 32-byte Ed25519 key. A
# signature file is 4 lines: "untrusted comment: ...", base64 of an algorithm ("ED": Ed25519 over
# the file's BLAKE2b-512 digest; "Ed": legacy, over the file itself), the key id and a 64-byte
# signature, "trusted comment: <text>", and base64 of the global signature: Ed25519 over the
# 64 signature bytes followed by <text>, which makes the trusted comment as trustworthy as the file.

# An Ed25519 public key as DER SubjectPublicKeyInfo is this fixed prefix and the 32 key bytes.
readonly ED25519_SPKI_PREFIX=302a300506032b6570032100
# RFC 8032 section 7.1, TEST 2: proves this openssl verifies Ed25519 over raw input before a failed
# verification is taken to mean a bad signature.
readonly ED25519_TEST_KEY=3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c
readonly ED25519_TEST_MESSAGE=72
readonly ED25519_TEST_SIGNATURE=92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00

unhex() {
  local digits="$1" escaped=""
  while [[ -n "$digits" ]]; do
    escaped+="\\x${digits:0:2}"
    digits="${digits:2}"
  done
  printf '%b' "$escaped"
}
hex() { od -An -v -tx1 | tr -d ' \n'; }
size_of() { wc -c <"$1" | tr -d ' '; }

# Minisign prints a key id as a little-endian number in upper-case hex without leading zeros (as in
# minisign.pub's comment).
key_id_text() {
  local bytes="$1" text=""
  while [[ -n "$bytes" ]]; do
    text="${bytes:0:2}$text"
    bytes="${bytes:2}"
  done
  text="${text#"${text%%[!0]*}"}"
  text="${text^^}"
  printf '%s\n' "${text:-0}"
}

# decode_base64 TEXT FILE SIZE: writes the bytes of TEXT to FILE; fails unless they are SIZE bytes.
decode_base64() {
  printf '%s' "$1" | base64 --decode >"$2" 2>/dev/null || return 1
  [[ "$(size_of "$2")" == "$3" ]]
}

# ed25519_verify KEY_PEM MESSAGE_FILE SIGNATURE_FILE
ed25519_verify() {
  openssl pkeyutl -verify -pubin -inkey "$1" -rawin -in "$2" -sigfile "$3" >/dev/null 2>&1
}

# write_ed25519_pem KEY_HEX PEM_FILE
write_ed25519_pem() {
  {
    printf '%s\n' '-----BEGIN PUBLIC KEY-----'
    unhex "$ED25519_SPKI_PREFIX$1" | base64 -w 0
    printf '\n%s\n' '-----END PUBLIC KEY-----'
  } >"$2"
}

require_openssl() {
  local dir="$1"
  command -v openssl >/dev/null ||
    die "openssl is needed to check the minisign signature of SHA256SUMS (a minisign key is configured); install it or remove the key setting"
  [[ "$(openssl dgst -blake2b512 -binary </dev/null 2>/dev/null | wc -c | tr -d ' ')" == 64 ]] ||
    die "this openssl ($(openssl version 2>&1)) has no BLAKE2b-512; it cannot check the minisign signature of SHA256SUMS (OpenSSL 1.1.1 or later needed)"
  write_ed25519_pem "$ED25519_TEST_KEY" "$dir/test.pem"
  unhex "$ED25519_TEST_MESSAGE" >"$dir/test.msg"
  unhex "$ED25519_TEST_SIGNATURE" >"$dir/test.sig"
  ed25519_verify "$dir/test.pem" "$dir/test.msg" "$dir/test.sig" ||
    die "this openssl ($(openssl version 2>&1)) cannot verify Ed25519 signatures; it cannot check the minisign signature of SHA256SUMS (OpenSSL 1.1.1 or later needed)"
}

# The configured public key's base64 line, or nothing when no key is configured.
configured_public_key() {
  [[ -z "$MINISIGN_KEY" || -z "$MINISIGN_KEY_FILE" ]] ||
    die "set only one of CREDENTIAL_PROVIDER_MINISIGN_KEY and CREDENTIAL_PROVIDER_MINISIGN_KEY_FILE"
  if [[ -n "$MINISIGN_KEY_FILE" ]]; then
    [[ -f "$ROOT$MINISIGN_KEY_FILE" ]] || die "$MINISIGN_KEY_FILE does not exist (CREDENTIAL_PROVIDER_MINISIGN_KEY_FILE)"
    # minisign.pub: an untrusted comment line, then the key.
    local line
    line="$(sed -n 2p -- "$ROOT$MINISIGN_KEY_FILE")"
    printf '%s\n' "${line%$'\r'}"
  else
    printf '%s\n' "$MINISIGN_KEY"
  fi
}

# Refuses SHA256SUMS (and so everything) unless SHA256SUMS.minisig is a valid signature by the
# configured key. Without a key, says that nothing was checked.
verify_sums_signature() {
  local key dir lines algorithm key_id signed_by trusted
  key="$(configured_public_key)"
  if [[ -z "$key" ]]; then
    log "no minisign public key configured (CREDENTIAL_PROVIDER_MINISIGN_KEY): the signature of SHA256SUMS was not checked"
    return 0
  fi
  dir="$STAGING/.minisign"
  mkdir -- "$dir"
  # "Ed" is 4564 in hex; bytes are compared as hex because a shell string cannot hold a NUL.
  if ! decode_base64 "$key" "$dir/key" 42 || [[ "$(head -c 2 -- "$dir/key" | hex)" != 4564 ]]; then
    die "the configured minisign public key is not one (expected the base64 line of a minisign.pub, RWQ...)"
  fi
  key_id="$(tail -c +3 -- "$dir/key" | head -c 8 | hex)"
  require_openssl "$dir"
  write_ed25519_pem "$(tail -c 32 -- "$dir/key" | hex)" "$dir/key.pem"

  fetch SHA256SUMS.minisig "a minisign key is configured, so SHA256SUMS must come with its signature; refusing to install"
  mapfile -t lines <"$STAGING/SHA256SUMS.minisig"
  lines=("${lines[@]%$'\r'}")
  if ! { ((${#lines[@]} >= 4)) && [[ "${lines[0]}" == "untrusted comment: "* && "${lines[2]}" == "trusted comment: "* ]] &&
    decode_base64 "${lines[1]}" "$dir/signature" 74 && decode_base64 "${lines[3]}" "$dir/global" 64; }; then
    die "SHA256SUMS.minisig is not a minisign signature file; refusing to install"
  fi
  algorithm="$(head -c 2 -- "$dir/signature" | hex)"
  case "$algorithm" in
    4544) openssl dgst -blake2b512 -binary -- "$STAGING/SHA256SUMS" >"$dir/message" ;; # ED
    4564) cp -- "$STAGING/SHA256SUMS" "$dir/message" ;;                                 # Ed (legacy)
    *) die "SHA256SUMS.minisig uses a signature algorithm this script does not know (not ED or Ed); refusing to install" ;;
  esac
  signed_by="$(tail -c +3 -- "$dir/signature" | head -c 8 | hex)"
  [[ "$signed_by" == "$key_id" ]] ||
    die "SHA256SUMS.minisig was made with key $(key_id_text "$signed_by"), not the configured key $(key_id_text "$key_id"); refusing to install"
  tail -c 64 -- "$dir/signature" >"$dir/signature.bytes"
  ed25519_verify "$dir/key.pem" "$dir/message" "$dir/signature.bytes" ||
    die "the signature of SHA256SUMS does not verify with key $(key_id_text "$key_id"): SHA256SUMS was changed after signing; refusing to install"
  trusted="${lines[2]#trusted comment: }"
  { cat -- "$dir/signature.bytes"; printf '%s' "$trusted"; } >"$dir/global.message"
  ed25519_verify "$dir/key.pem" "$dir/global.message" "$dir/global" ||
    die "the trusted comment of SHA256SUMS.minisig does not verify with key $(key_id_text "$key_id"): it was changed after signing; refusing to install"
  log "signature of SHA256SUMS verified (minisign key $(key_id_text "$key_id"), trusted comment: $trusted)"
}

# The expected SHA-256 of one file according to SHA256SUMS (sha256sum format, text or binary mode).
expected_sha256() {
  local name="$1" sum file
  while read -r sum file; do
    if [[ "$file" == "$name" || "$file" == "*$name" ]]; then
      printf '%s\n' "$sum"
      return 0
    fi
  done <"$STAGING/SHA256SUMS"
  return 1
}

verify() {
  local name="$1" expected actual
  expected="$(expected_sha256 "$name")" || die "SHA256SUMS has no entry for $name; refusing to install it"
  actual="$(sha256sum -- "$STAGING/$name")"
  actual="${actual%% *}"
  [[ "$actual" == "$expected" ]] ||
    die "SHA-256 mismatch for $name: expected $expected, got $actual; refusing to install it"
  log "verified $name ($actual)"
}

# Temporary file in the destination folder, then rename: the kubelet (which may exec the provider at
# any moment on a re-run) sees the old file or the new one, never a partial one.
install_atomically() {
  local source="$1" destination="$2" mode="$3" tmp
  mkdir -p -- "$(dirname -- "$destination")"
  tmp="$(mktemp -- "$(dirname -- "$destination")/.$NAME.XXXXXX")"
  if ! { cp -- "$source" "$tmp" && chmod "$mode" "$tmp" && mv -f -- "$tmp" "$destination"; }; then
    rm -f -- "$tmp"
    die "could not install $destination"
  fi
}

install_files() {
  local arch="$1" binary="$NAME-linux-$1"
  [[ -n "$URL_BASE" || -n "$SOURCE_DIR" ]] ||
    die "set CREDENTIAL_PROVIDER_URL_BASE (download) or CREDENTIAL_PROVIDER_SOURCE_DIR (local files)"
  [[ -z "$URL_BASE" || -z "$SOURCE_DIR" ]] ||
    die "set only one of CREDENTIAL_PROVIDER_URL_BASE and CREDENTIAL_PROVIDER_SOURCE_DIR"
  STAGING="$(mktemp -d "${TMPDIR:-/tmp}/$NAME.XXXXXX")"

  fetch SHA256SUMS
  verify_sums_signature
  fetch "$binary"
  verify "$binary"
  local config_source
  if [[ -n "$OWN_CONFIG_FILE" ]]; then
    [[ -f "$ROOT$OWN_CONFIG_FILE" ]] || die "$OWN_CONFIG_FILE does not exist (CREDENTIAL_PROVIDER_CONFIG_FILE)"
    config_source="$ROOT$OWN_CONFIG_FILE"
  else
    fetch "$RELEASED_CONFIG_NAME"
    verify "$RELEASED_CONFIG_NAME"
    config_source="$STAGING/$RELEASED_CONFIG_NAME"
  fi

  # Everything is verified; only now touch the node's folders.
  install_atomically "$STAGING/$binary" "$ROOT$BIN_DIR/$NAME" 0755
  install_atomically "$config_source" "$ROOT$CONFIG_FILE" 0644
  log "installed $BIN_DIR/$NAME and $CONFIG_FILE"
  # Catches a binary this node cannot run (wrong CPU, missing loader) now, not at the first pull.
  # The state is written first either way, so that the DaemonSet may still replace a broken one.
  local version="" runs=true
  version="$("$ROOT$BIN_DIR/$NAME" --version 2>&1)" || runs=false
  local config_sha256=""
  [[ -n "$OWN_CONFIG_FILE" ]] || config_sha256="$(sha256_of "$config_source")"
  write_install_state "$(sha256_of "$STAGING/$binary")" "$config_sha256" "$([[ "$runs" == false ]] || printf '%s' "${version%%$'\n'*}")"
  [[ "$runs" == true ]] || die "$BIN_DIR/$NAME does not run on this node: $version"
  log "runs: $version"
}

sha256_of() {
  local sum
  sum="$(sha256sum -- "$1")"
  printf '%s\n' "${sum%% *}"
}

# A JSON string: backslash and quote escaped; control characters are refused by the callers.
json_string() {
  local text="${1//\\/\\\\}"
  printf '"%s"' "${text//\"/\\\"}"
}

# Writes the record that `credential-provider-oke install` keeps, in its format (InstallState in
# src/install/install.ts, version 1; test/e2e/install.test.ts checks that install accepts this
# file): with it, the DaemonSet's install treats these files as its own and upgrades them. The
# config is recorded only when it is the released one, so that install does not replace an
# operator's own config unless told to (--adopt). No "previous": nothing is kept for rollback here.
write_install_state() {
  local exe_sha256="$1" config_sha256="$2" version_line state_dir
  version_line="$(printf '%s' "$3" | LC_ALL=C tr -d '\000-\037\177')"
  state_dir="$(dirname -- "$BIN_DIR")/.install"
  {
    printf '{\n  "version": 1,\n  "files": {\n'
    printf '    %s: {\n      "sha256": "%s"' "$(json_string "$BIN_DIR/$NAME")" "$exe_sha256"
    [[ -z "$version_line" ]] || printf ',\n      "versionLine": %s' "$(json_string "$version_line")"
    printf '\n    }'
    [[ -z "$config_sha256" ]] || printf ',\n    %s: {\n      "sha256": "%s"\n    }' "$(json_string "$CONFIG_FILE")" "$config_sha256"
    printf '\n  }\n}\n'
  } >"$STAGING/state.json"
  install_atomically "$STAGING/state.json" "$ROOT$state_dir/state.json" 0644
  if [[ -n "$config_sha256" ]]; then
    log "recorded both files in $state_dir/state.json: credential-provider-oke install (the DaemonSet) may upgrade them"
  else
    log "recorded $BIN_DIR/$NAME in $state_dir/state.json; your own $CONFIG_FILE is not recorded: install replaces it only with --adopt"
  fi
}

ensure_oke_init() {
  [[ -f "$ROOT$OKE_INIT_SCRIPT" ]] && return 0
  log "fetching $OKE_INIT_SCRIPT from $OKE_INIT_URL"
  local tmp
  mkdir -p -- "$(dirname -- "$ROOT$OKE_INIT_SCRIPT")"
  tmp="$(mktemp -- "$ROOT$OKE_INIT_SCRIPT.XXXXXX")"
  if ! curl --fail --silent --show-error --location --retry 10 --retry-delay 2 --retry-connrefused \
    -H 'Authorization: Bearer Oracle' "$OKE_INIT_URL" | base64 --decode >"$tmp"; then
    rm -f -- "$tmp"
    die "could not fetch the OKE init script from $OKE_INIT_URL"
  fi
  mv -f -- "$tmp" "$ROOT$OKE_INIT_SCRIPT"
}

# Splits the script's arguments into those for oke-init.sh and the kubelet extra args (the
# operator's, then ours), before anything is installed, so a bad combination changes nothing.
OKE_INIT_ARGS=()
KUBELET_ARGS=""
prepare_oke_init_args() {
  local extra="${KUBELET_EXTRA_ARGS:-}"
  while (($# > 0)); do
    case "$1" in
      --kubelet-extra-args)
        (($# >= 2)) || die "--kubelet-extra-args needs a value"
        extra="${extra:+$extra }$2"
        shift 2
        ;;
      --kubelet-extra-args=*)
        extra="${extra:+$extra }${1#--kubelet-extra-args=}"
        shift
        ;;
      *)
        OKE_INIT_ARGS+=("$1")
        shift
        ;;
    esac
  done
  # Two values for one flag: the kubelet would silently take the last; make the operator choose.
  case " $extra" in
    *" $CONFIG_FLAG"* | *" $BIN_DIR_FLAG"*)
      die "the kubelet extra args already set $CONFIG_FLAG or $BIN_DIR_FLAG; remove them, this script sets both"
      ;;
  esac
  KUBELET_ARGS="${extra:+$extra }$BIN_DIR_FLAG=$BIN_DIR $CONFIG_FLAG=$CONFIG_FILE"
}

# Runs oke-init.sh with the operator's arguments and one --kubelet-extra-args holding theirs and
# ours. The flag and its value go as two words: `--kubelet-extra-args="..."` was the form in the
# original plugin's issue #6, where the kubelet came up without the flags.
run_oke_init() {
  ensure_oke_init
  log "running bash $OKE_INIT_SCRIPT ${OKE_INIT_ARGS[*]:+${OKE_INIT_ARGS[*]} }--kubelet-extra-args \"$KUBELET_ARGS\""
  bash "$ROOT$OKE_INIT_SCRIPT" ${OKE_INIT_ARGS[@]+"${OKE_INIT_ARGS[@]}"} --kubelet-extra-args "$KUBELET_ARGS" ||
    die "$OKE_INIT_SCRIPT failed (exit $?)"
}

# Prints why the kubelet with command line file $1 lacks our flags, or nothing when it has both.
# Accepts `--flag=value` and `--flag value`, as the kubelet's flag parser does.
missing_flags() {
  local cmdline="$1" arg previous="" bin_dir_seen="" config_seen=""
  # /proc/<pid>/cmdline is argv, each argument NUL-terminated.
  while IFS= read -r -d '' arg || [[ -n "$arg" ]]; do
    case "$previous" in
      "$BIN_DIR_FLAG") bin_dir_seen="$arg" ;;
      "$CONFIG_FLAG") config_seen="$arg" ;;
    esac
    case "$arg" in
      "$BIN_DIR_FLAG="*) bin_dir_seen="${arg#*=}" ;;
      "$CONFIG_FLAG="*) config_seen="${arg#*=}" ;;
    esac
    previous="$arg"
  done <"$cmdline"
  # A trailing slash is the same folder to the kubelet.
  if [[ -z "$bin_dir_seen" ]]; then
    echo "$BIN_DIR_FLAG is missing"
  elif [[ "${bin_dir_seen%/}" != "${BIN_DIR%/}" ]]; then
    echo "$BIN_DIR_FLAG is '$bin_dir_seen', not '$BIN_DIR'"
  fi
  if [[ -z "$config_seen" ]]; then
    echo "$CONFIG_FLAG is missing"
  elif [[ "$config_seen" != "$CONFIG_FILE" ]]; then
    echo "$CONFIG_FLAG is '$config_seen', not '$CONFIG_FILE'"
  fi
}

# Command-line files of running processes whose program is named kubelet.
kubelet_cmdlines() {
  local cmdline argv0
  for cmdline in "$ROOT$PROC_DIR"/[0-9]*/cmdline; do
    [[ -r "$cmdline" ]] || continue
    IFS= read -r -d '' argv0 <"$cmdline" || [[ -n "$argv0" ]] || continue
    [[ "${argv0##*/}" == kubelet ]] && printf '%s\n' "$cmdline"
  done
  return 0
}

# Polls until every kubelet process has both flags (oke-init may start and restart it), or fails
# after KUBELET_WAIT_SECONDS naming what is missing.
verify_kubelet() {
  local deadline=$((SECONDS + KUBELET_WAIT_SECONDS)) cmdline line found joined
  local -a problems=()
  while :; do
    problems=()
    found=""
    while IFS= read -r cmdline; do
      found=yes
      while IFS= read -r line; do problems+=("$line"); done < <(missing_flags "$cmdline")
    done < <(kubelet_cmdlines)
    if [[ -n "$found" && ${#problems[@]} -eq 0 ]]; then
      log "the running kubelet has $BIN_DIR_FLAG=$BIN_DIR and $CONFIG_FLAG=$CONFIG_FILE"
      return 0
    fi
    ((SECONDS < deadline)) || break
    sleep "$KUBELET_POLL_SECONDS"
  done
  if [[ -z "$found" ]]; then
    die "no kubelet process found in $PROC_DIR after ${KUBELET_WAIT_SECONDS}s; images from OCIR will not get credentials"
  fi
  printf -v joined '%s; ' "${problems[@]}"
  die "the running kubelet was started without the credential provider: ${joined%; }." \
    "Images from OCIR will be pulled anonymously and fail. Check how $OKE_INIT_SCRIPT passes --kubelet-extra-args" \
    "and whether another cloud-init part runs oke-init.sh again (docs/install.md)."
}

main() {
  local arch
  # Settings are checked before anything is fetched or installed.
  is_true RUN_OKE_INIT || true
  is_true VERIFY_KUBELET_FLAGS || true
  [[ "$KUBELET_WAIT_SECONDS" =~ ^[0-9]+$ ]] || die "KUBELET_WAIT_SECONDS must be a whole number of seconds"
  [[ "$BIN_DIR$CONFIG_FILE" != *[[:cntrl:]]* ]] || die "CREDENTIAL_PROVIDER_BIN_DIR and CREDENTIAL_PROVIDER_CONFIG must not contain control characters"
  arch="$(detect_arch)"
  log "architecture $arch"
  prepare_oke_init_args "$@"
  install_files "$arch"
  if is_true RUN_OKE_INIT; then
    run_oke_init
  else
    log "RUN_OKE_INIT=false: start the kubelet with $BIN_DIR_FLAG=$BIN_DIR $CONFIG_FLAG=$CONFIG_FILE"
  fi
  if is_true VERIFY_KUBELET_FLAGS; then verify_kubelet; fi
  log "done"
}

main "$@"
