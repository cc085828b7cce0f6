# GPU worker: the VLM reader (queue `gpu`). PyPI's torch wheels bring their CUDA runtime;
# the host needs the NVIDIA driver and container toolkit.
# --pool solo: tasks run in the worker process itself, so nothing forks after CUDA is
# initialised (a forked child cannot use its parent's CUDA context). Scale with more pods.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends poppler-utils fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY docproc ./docproc
COPY workers ./workers
COPY schemas ./schemas
RUN pip install --no-cache-dir ".[cluster,vlm]"

RUN useradd --create-home --uid 10001 docproc && mkdir -p /data /models && chown docproc /data
USER docproc
# The model is mounted at /models/vlm (never downloaded at run time); warm it at start.
ENV PYTHONUNBUFFERED=1 DOCPROC_ARTIFACTS=/data/artifacts \
    DOCPROC_WARM_OPTIONS='{"reader": {"kind": "vlm", "vlm_model": "/models/vlm"}}'

CMD ["celery", "-A", "workers.app", "worker", "-Q", "gpu", "--pool", "solo", "--loglevel", "INFO", \
     "--without-gossip", "--without-mingle"]
