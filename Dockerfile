# NN Studio — one app replica: `streamlit run app.py` on port 8501.
#
#   docker build -t nn-studio .
#   docker run --rm -p 8501:8501 --cpus 2 --memory 4g nn-studio      # then open http://localhost:8501
#
# Several replicas behind a sticky load balancer: deploy/compose.yaml (HAProxy) or deploy/k8s/.
# Sizing: measure with bench/load_test.py (RSS per session, samples/s with K trainings at once). At
# most one training per CPU runs at once (NNSTUDIO_MAX_TRAININGS overrides it; the CPUs are read from
# the container's CPU limit), the others queue.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# An unprivileged user that owns nothing in /app: the app cannot change its own code or data.
RUN groupadd --system --gid 10001 nnstudio \
 && useradd --system --uid 10001 --gid nnstudio --home-dir /home/nnstudio --create-home nnstudio

WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install -r requirements.txt

# The app, its engine, the shipped MNIST files and the pretrained model (.dockerignore keeps tests,
# benchmarks, docs and git history out).
COPY . .

USER nnstudio
EXPOSE 8501

# python:3.11-slim has no curl; Python's urllib does the same. /_stcore/health answers "ok" once the
# server accepts sessions.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status != 200)"]

# The rest of the production settings live in .streamlit/config.toml; STREAMLIT_* environment
# variables override them (e.g. STREAMLIT_SERVER_COOKIE_SECRET, the same on every replica).
CMD ["streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501"]
