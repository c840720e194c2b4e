#!/usr/bin/env bash
# Install the prerequisites of bench/httpapi.py. Idempotent; everything but wrk goes under bench/.work/ (git-ignored).
#   wrk                  Debian package (the load generator)
#   bench/.work/py       venv with fastapi, uvicorn[standard], mangum   (targets a and d)
#   bench/.work/chalice  venv with chalice                              (target c)
#   bench/.work/sls      serverless 3 + serverless-offline 13 from npm  (target d)
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v wrk >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    $sudo apt-get install -y -q wrk
fi

venv() {  # venv DIR PACKAGE...
    [ -x "$1/bin/python" ] || uv venv -q --python 3.11 "$1"
    uv pip install -q --python "$1" "${@:2}"
}
venv .work/py fastapi 'uvicorn[standard]' mangum
venv .work/chalice chalice

mkdir -p .work/sls
cp targets/sls/package.json .work/sls/
(cd .work/sls && npm install --no-audit --no-fund --loglevel=error)

echo "bench prerequisites installed"
