#!/usr/bin/env bash
# Installs what the serving tests need besides .NET: the official openai npm package, into the
# folder the tests own (tests/Harness.Serving.Tests/node/node_modules), at the version its
# package.json pins. A no-op when it is there. Called by ./run.sh test; needs node and npm.
set -euo pipefail
cd "$(dirname "$0")/../tests/Harness.Serving.Tests/node"
want=$(sed -n 's/.*"openai": "\([^"]*\)".*/\1/p' package.json)
have=$(sed -n 's/.*"version": "\([^"]*\)".*/\1/p' node_modules/openai/package.json 2>/dev/null | head -n 1 || true)
if [ "$have" = "$want" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "serving-test-deps: npm is missing (Debian: apt-get install -y nodejs npm)" >&2
  exit 1
fi
echo "serving-test-deps: npm install openai@$want into $(pwd)" >&2
npm install --no-audit --no-fund --no-package-lock --loglevel=error >&2
