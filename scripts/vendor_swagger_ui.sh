#!/usr/bin/env bash
# Re-creates place_recognition/service/static/swagger/ from the swagger-ui-dist npm package, so
# that the service's /docs page needs no CDN. Run it from the repository root to update the
# vendored copy: bash scripts/vendor_swagger_ui.sh [VERSION]
set -euo pipefail
version="${1:-5.35.0}"
target="place_recognition/service/static/swagger"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "swagger-ui-dist@${version}" >/dev/null && tar xzf swagger-ui-dist-*.tgz)
mkdir -p "$target"
for file in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE; do
  cp "$work/package/$file" "$target/$file"
done
# The bundle's last line points browsers at a source map that is not vendored: drop it.
sed -i '/^\/\/# sourceMappingURL=/d' "$target/swagger-ui-bundle.js" "$target/swagger-ui.css"
echo "swagger-ui-dist ${version}" > "$target/VERSION"
(cd "$target" && sha256sum swagger-ui-bundle.js swagger-ui.css >> VERSION)
