ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# The bot's image: serving dependencies only (LiteRT, OpenCV headless, PTB), never TensorFlow.
# Install steps mirror `make run`: a virtualenv, then `pip install -e .` of this project.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv

WORKDIR /app

# Dependencies in their own layer, so editing the code does not reinstall them: the list is
# read from pyproject.toml's [project.dependencies] (the serving set, no extras). The base
# image's pip installs into the venv (--python), which keeps pip and setuptools out of it (~25 MB).
COPY pyproject.toml ./
RUN python3 -m venv --without-pip "$VIRTUAL_ENV" \
 && python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && python3 -m pip --python "$VIRTUAL_ENV/bin/python" install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt \
 && cd "$VIRTUAL_ENV"/lib/python3*/site-packages \
 && find . -type d -name tests -prune -exec rm -rf {} + \
 && find . -name '*.c' -delete \
 && find matplotlib fontTools -type d -name __pycache__ -prune -exec rm -rf {} +
# Above, in the same layer (so they never reach the image): the packages' own test suites and C
# sources, and the bytecode of matplotlib and fontTools, which only /diary imports (compiled in
# memory on its first use): ~45 MB.

# The code, the models and the catalog. Editable, like `make run`: recommender.paths finds
# models/ and data/ beside the packages in /app.
COPY LICENSE THIRD_PARTY.md ./
COPY bot ./bot
COPY recommender ./recommender
COPY models ./models
COPY data ./data
# matplotlib's font cache (for /diary) built once here, in a directory the bot user owns below.
ENV MPLCONFIGDIR=/opt/mplconfig
RUN python3 -m pip --python "$VIRTUAL_ENV/bin/python" install --no-deps -e . \
 && "$VIRTUAL_ENV/bin/python" -m compileall -q bot recommender \
 && "$VIRTUAL_ENV/bin/python" -c "import matplotlib.font_manager" \
 && "$VIRTUAL_ENV/bin/python" -c "import sys, bot.config, recommender.pipeline; assert 'tensorflow' not in sys.modules" \
 && "$VIRTUAL_ENV/bin/python" -c "from bot.i18n import Languages; print('languages:', *[l.code for l in Languages.load()])"
ENV PATH=/opt/venv/bin:$PATH

# Unprivileged user; the only writable place is the /data volume (SQLite history + WAL).
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home --shell /usr/sbin/nologin bot \
 && mkdir -p /data && chown bot:bot /data && chown -R bot:bot /opt/mplconfig
ENV DATABASE_PATH=/data/mood.sqlite3
VOLUME ["/data"]
USER bot

# The running bot writes a heartbeat into its database every 30 s while it receives updates;
# `--health` fails when it is older than 90 s (hung or stopped) — no network call, no token use.
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
  CMD ["python", "-m", "bot", "--health"]

# Webhook mode listens on PORT (8080) when WEBHOOK_URL is set; polling needs no port.
EXPOSE 8080
CMD ["python", "-m", "bot"]
