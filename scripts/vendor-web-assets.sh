#!/bin/sh
# Regenerates the browser libraries the web console serves from the npm
# registry, pinned by web/package-lock.json: Apache ECharts (the common build:
# line, bar, pie and the components they use) and its licence. The output is
# committed, so `make run` needs no npm; run this to upgrade ECharts.
set -eu
cd "$(dirname "$0")/../web"
npm ci --no-audit --no-fund
mkdir -p ../crates/aftercare/src/web/assets
cp node_modules/echarts/dist/echarts.common.min.js ../crates/aftercare/src/web/assets/echarts.min.js
cp node_modules/echarts/LICENSE ../crates/aftercare/src/web/assets/echarts.LICENSE
echo "vendored echarts $(node -p 'require("./node_modules/echarts/package.json").version')"
