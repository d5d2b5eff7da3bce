# Gateway (web chat, /api/chat, WeChat, voice, staff console) and the
# one-shot knowledge loader. Built on the Rasa image so every library has the
# exact version the tests ran with (aiohttp, SQLAlchemy, redis, psycopg2).
FROM rasa/rasa:3.6.21-full

USER root
WORKDIR /app
COPY requirements.txt requirements.lock /tmp/req/
RUN grep -v '^rasa==' /tmp/req/requirements.txt > /tmp/req/extra.txt \
 && python -m pip install --no-cache-dir -r /tmp/req/extra.txt -c /tmp/req/requirements.lock \
 && rm -rf /tmp/req

COPY --chown=1001:0 bot/ bot/
COPY --chown=1001:0 knowledge/ knowledge/
COPY --chown=1001:0 hotline/ hotline/
COPY --chown=1001:0 textproc/ textproc/
ENV PYTHONPATH=/app \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8080

USER 1001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"
ENTRYPOINT ["python"]
CMD ["-m", "bot"]
