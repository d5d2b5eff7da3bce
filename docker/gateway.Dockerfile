# Gateway (web chat, /api/chat, WeChat, voice, staff console), the one-shot
# knowledge loader and the retention job. Its own environment, not Rasa's: current
# aiohttp with the security fixes (requirements-gateway.txt, exact versions in
# requirements-gateway.lock). Nothing here imports Rasa.
FROM python:3.10.19-slim-bookworm

# espeak-ng: the server-side voice for /api/tts.
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 1001 --gid 0 --no-create-home --home-dir /app app

WORKDIR /app
COPY requirements-gateway.txt requirements-gateway.lock /tmp/req/
RUN python -m pip install --no-cache-dir -r /tmp/req/requirements-gateway.txt \
      -c /tmp/req/requirements-gateway.lock \
 && rm -rf /tmp/req

COPY --chown=1001:0 settings.py stage_timing.py ./
COPY --chown=1001:0 bot/ bot/
COPY --chown=1001:0 knowledge/ knowledge/
COPY --chown=1001:0 hotline/ hotline/
COPY --chown=1001:0 textproc/ textproc/
COPY --chown=1001:0 retention/ retention/
# The jieba dictionary of place names and insurance terms (retrieval, suggestions).
COPY --chown=1001:0 data/dict/ data/dict/
ENV PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8080

USER 1001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"
ENTRYPOINT ["python"]
CMD ["-m", "bot"]
