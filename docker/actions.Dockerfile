# Action server: answers from the knowledge base, hand-off tickets.
FROM rasa/rasa-sdk:3.6.2

USER root
WORKDIR /app
# The SDK image has no database drivers, pydantic (settings.py) or our text tools; pinned as in
# requirements.lock.
COPY requirements.lock /tmp/requirements.lock
RUN python -m pip install --no-cache-dir -c /tmp/requirements.lock \
      SQLAlchemy PyYAML jieba opencc psycopg2-binary pydantic \
 && rm /tmp/requirements.lock

COPY --chown=1001:0 settings.py stage_timing.py ./
COPY --chown=1001:0 actions/ actions/
COPY --chown=1001:0 knowledge/ knowledge/
COPY --chown=1001:0 hotline/ hotline/
COPY --chown=1001:0 textproc/ textproc/
# rasa_sdk loads its plugins from this package: the engine opens and closes with the server.
COPY --chown=1001:0 rasa_sdk_plugins/ rasa_sdk_plugins/
ENV PYTHONPATH=/app

USER 1001
EXPOSE 5055
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5055/health', timeout=4)"
# The base image's entrypoint runs `python -m rasa_sdk`.
CMD ["start", "--actions", "actions", "--port", "5055"]
