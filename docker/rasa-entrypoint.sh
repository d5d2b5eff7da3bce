#!/bin/sh
# Start the Rasa server with the token from the environment (never baked into
# the image or written in docker-compose.yml). Rasa refuses unset ${VAR}s in
# endpoints.production.yml, so a missing variable fails at start-up.
set -eu
if [ -z "${RASA_TOKEN:-}" ]; then
  echo "rasa: RASA_TOKEN is not set (see .env.example); the HTTP API must not run open" >&2
  exit 64
fi
exec rasa run \
  --enable-api \
  --auth-token "$RASA_TOKEN" \
  --model models/assistant.tar.gz \
  --endpoints endpoints.production.yml \
  --credentials credentials.yml \
  --port "${RASA_PORT:-5005}" \
  "$@"
