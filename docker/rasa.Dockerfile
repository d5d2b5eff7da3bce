# Rasa server: NLU + dialogue, trained inside the image so it is self-contained.
# Built by docker-compose.yml (service `rasa`, scalable); the API is internal only.
FROM rasa/rasa:3.6.21-full

USER root
WORKDIR /app
# Our tokenizer needs OpenCC and jieba; versions come from requirements.txt/.lock
# (rasa itself is already in the base image, so it is filtered out).
COPY requirements.txt requirements.lock /tmp/req/
RUN grep -v '^rasa==' /tmp/req/requirements.txt > /tmp/req/extra.txt \
 && python -m pip install --no-cache-dir -r /tmp/req/extra.txt -c /tmp/req/requirements.lock \
 && rm -rf /tmp/req

# The pipeline's own components (textproc/, nlu/) and the tuned tracker store
# (stack/, with what it imports); tests/deploy/test_images.py checks the list.
COPY --chown=1001:0 settings.py stage_timing.py ./
COPY --chown=1001:0 textproc/ textproc/
COPY --chown=1001:0 nlu/ nlu/
COPY --chown=1001:0 stack/ stack/
COPY --chown=1001:0 knowledge/ knowledge/
COPY --chown=1001:0 hotline/ hotline/
COPY --chown=1001:0 config.yml domain.yml endpoints.production.yml credentials.yml ./
COPY --chown=1001:0 data/ data/
COPY --chown=1001:0 docker/rasa-entrypoint.sh /app/docker/rasa-entrypoint.sh
ENV PYTHONPATH=/app \
    RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=2

USER 1001
# Train at build time: the model is part of the image, so every replica runs
# the same model and no host path is mounted.
RUN rasa train --fixed-model-name assistant --out models && rm -rf .rasa

EXPOSE 5005
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5005/', timeout=4)"
ENTRYPOINT ["/app/docker/rasa-entrypoint.sh"]
